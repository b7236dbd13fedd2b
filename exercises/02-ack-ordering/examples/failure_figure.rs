//! Draws the starter's failure for the book: `cargo xtask figures` runs this
//! and writes `book/src/figures/ack-ordering-failure.mmd`; `cargo xtask
//! verify` runs it again and fails if the committed figure differs.
//!
//! It runs the `lost-message` check and prints its shortest failing run (the
//! events of the lost order) as a mermaid sequence diagram.

use std::process::ExitCode;

fn main() -> ExitCode {
    let report = ack_ordering::rubric::lost_message().run_with(None, None);
    match report.failure {
        Some(failure) => {
            print!("{}", failure.mermaid);
            ExitCode::SUCCESS
        }
        None => {
            eprintln!(
                "`lost-message` passes, so there is no failure to draw: is src/consumer.rs the \
                 shipped starter?\n{}",
                report.text
            );
            ExitCode::FAILURE
        }
    }
}

//! Draws the starter's failure for the book: `cargo xtask figures` runs this
//! and writes `book/src/figures/hello-broker-failure.mmd`; `cargo xtask
//! verify` runs it again and fails if the committed figure differs.
//!
//! It runs the `unsettled-message` check and prints its shortest failing run
//! (the greeting, received and never completed) as a mermaid sequence
//! diagram.

use std::process::ExitCode;

fn main() -> ExitCode {
    let report = hello_broker::rubric::unsettled_message().run_with(None, None);
    match report.failure {
        Some(failure) => {
            print!("{}", failure.mermaid);
            ExitCode::SUCCESS
        }
        None => {
            eprintln!(
                "`unsettled-message` passes, so there is no failure to draw: is src/hello.rs \
                 the shipped starter?\n{}",
                report.text
            );
            ExitCode::FAILURE
        }
    }
}

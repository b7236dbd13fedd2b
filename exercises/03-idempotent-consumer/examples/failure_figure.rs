//! Draws the starter's failure for the book: `cargo xtask figures` runs this
//! and writes `book/src/figures/idempotent-consumer-failure.mmd`; `cargo
//! xtask verify` runs it again and fails if the committed figure differs.
//!
//! It runs the `duplicate-side-effect` check and prints its shortest failing
//! run (the events of the signup that was emailed twice) as a mermaid
//! sequence diagram.

use std::process::ExitCode;

fn main() -> ExitCode {
    let report = idempotent_consumer::rubric::duplicate_side_effect().run_with(None, None);
    match report.failure {
        Some(failure) => {
            print!("{}", failure.mermaid);
            ExitCode::SUCCESS
        }
        None => {
            eprintln!(
                "`duplicate-side-effect` passes, so there is no failure to draw: is \
                 src/consumer.rs the shipped starter?\n{}",
                report.text
            );
            ExitCode::FAILURE
        }
    }
}

//! Draws the starter's failure for the book: `cargo xtask figures` runs this
//! and writes `book/src/figures/claim-check-failure.mmd` (the diagram) and
//! `book/src/figures/claim-check-report.txt` (with the argument `report`:
//! the check's report, as `cargo test` prints it); `cargo xtask verify` runs
//! it again and fails if a committed file differs.
//!
//! Both come from the `oversized-message` check: its report, and its
//! failing run (the run without faults: the broker refuses the contract
//! the first time it is sent) as a mermaid sequence diagram.

use std::process::ExitCode;

fn main() -> ExitCode {
    let report = claim_check::rubric::oversized_message()
        // The command a learner sees in `cargo test`'s report (this example
        // is not a test, so the check cannot work it out).
        .replay_command("cargo test -p claim-check -- oversized_message --exact")
        .run_with(None, None);
    match (report.failure, std::env::args().nth(1).as_deref()) {
        (Some(_), Some("report")) => {
            print!("{}", report.text);
            ExitCode::SUCCESS
        }
        (Some(failure), _) => {
            print!("{}", failure.mermaid);
            ExitCode::SUCCESS
        }
        (None, _) => {
            eprintln!(
                "`oversized-message` passes, so there is no failure to draw: is src/claim.rs \
                 the shipped starter?\n{}",
                report.text
            );
            ExitCode::FAILURE
        }
    }
}

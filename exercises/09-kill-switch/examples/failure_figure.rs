//! Draws the starter's failure for the book: `cargo xtask figures` runs this
//! and writes `book/src/figures/kill-switch-failure.mmd` (the diagram) and
//! `book/src/figures/kill-switch-report.txt` (with the argument `report`:
//! the check's report, as `cargo test` prints it); `cargo xtask verify` runs
//! it again and fails if a committed file differs.
//!
//! Both come from the `poison-storm` check: its report, and the timeline of
//! the first good order that ended in the dead-letter queue, as a mermaid
//! sequence diagram.

use std::process::ExitCode;

fn main() -> ExitCode {
    let report = kill_switch::rubric::poison_storm()
        // The command a learner sees in `cargo test`'s report (this example
        // is not a test, so the check cannot work it out).
        .replay_command("cargo test -p kill-switch -- poison_storm --exact")
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
                "`poison-storm` passes, so there is no failure to draw: is src/consumer.rs the \
                 shipped starter?\n{}",
                report.text
            );
            ExitCode::FAILURE
        }
    }
}

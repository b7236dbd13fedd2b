//! Draws the starter's failure for the book: `cargo xtask figures` runs this
//! and writes `book/src/figures/capstone-failure.mmd` (the diagram) and
//! `book/src/figures/capstone-report.txt` (with the argument `report`: the
//! check's report, as `cargo test` prints it); `cargo xtask verify` runs it
//! again and fails if a committed file differs.
//!
//! Both come from the `lost-event` check: its report, and its shortest
//! failing run (a crash right after the runtime completed a request whose
//! payment it had committed, before it published the event) as a mermaid
//! sequence diagram.

use std::process::ExitCode;

fn main() -> ExitCode {
    let report = capstone::rubric::lost_event()
        // The command a learner sees in `cargo test`'s report (this example
        // is not a test, so the check cannot work it out).
        .replay_command("cargo test -p capstone -- lost_event --exact")
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
                "`lost-event` passes, so there is no failure to draw: is src/runtime.rs the \
                 shipped starter?\n{}",
                report.text
            );
            ExitCode::FAILURE
        }
    }
}

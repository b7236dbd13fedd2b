//! Draws the starter's failure for the book: `cargo xtask figures` runs this
//! and writes `book/src/figures/hello-broker-failure.mmd` (the diagram) and
//! `book/src/figures/hello-broker-report.txt` (with the argument `report`:
//! the check's report, as `cargo test` prints it); `cargo xtask verify` runs
//! it again and fails if a committed file differs.
//!
//! The report is the `unsettled-message` check's, as a learner first sees it.
//! Chapter 2 is where a learner watches their first crash, so the diagram is
//! that check replayed with one crash: the receiver dies right after its
//! first receive (`crash-after@1`). The greeting comes back when its lock
//! expires, is printed, and, never completed, comes back again and again.

use std::process::ExitCode;

use broker::fault::{Fault, FaultPlan};
use broker::grading::Replay;

fn main() -> ExitCode {
    let check = hello_broker::rubric::unsettled_message()
        // The command a learner sees in `cargo test`'s report.
        .replay_command("cargo test -p hello-broker -- unsettled_message --exact");
    let (report, what) = match std::env::args().nth(1).as_deref() {
        Some("report") => (check.run_with(None, None), "the check"),
        _ => {
            let replay = Replay::format(check.name(), 0, &FaultPlan::single(1, Fault::CrashAfter));
            (
                check.run_with(Some(&replay), None),
                "its replay with crash-after@1",
            )
        }
    };
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
                "`unsettled-message` passes ({what}), so there is no failure to draw: is \
                 src/hello.rs the shipped starter?\n{}",
                report.text
            );
            ExitCode::FAILURE
        }
    }
}

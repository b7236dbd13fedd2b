//! Draws the starter's failure for the book: `cargo xtask figures` runs this
//! and writes `book/src/figures/hello-broker-failure.mmd`; `cargo xtask
//! verify` runs it again and fails if the committed figure differs.
//!
//! Chapter 2 is where a learner watches their first crash, so the figure is
//! the `unsettled-message` check replayed with one crash: the receiver dies
//! right after its first receive (`crash-after@1`). The greeting comes back
//! when its lock expires, is printed, and, never completed, comes back again
//! and again.

use std::process::ExitCode;

use broker::fault::{Fault, FaultPlan};
use broker::grading::Replay;

fn main() -> ExitCode {
    let check = hello_broker::rubric::unsettled_message();
    let replay = Replay::format(check.name(), 0, &FaultPlan::single(1, Fault::CrashAfter));
    let report = check.run_with(Some(&replay), None);
    match report.failure {
        Some(failure) => {
            print!("{}", failure.mermaid);
            ExitCode::SUCCESS
        }
        None => {
            eprintln!(
                "`unsettled-message` passes with `{replay}`, so there is no failure to draw: is \
                 src/hello.rs the shipped starter?\n{}",
                report.text
            );
            ExitCode::FAILURE
        }
    }
}

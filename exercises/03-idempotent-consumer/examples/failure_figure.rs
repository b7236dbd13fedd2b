//! Draws the starter's failure for the book: `cargo xtask figures` runs this
//! and writes `book/src/figures/idempotent-consumer-failure.mmd` (the
//! diagram) and `book/src/figures/idempotent-consumer-report.txt` (with the
//! argument `report`: the check's report, as `cargo test` prints it);
//! `cargo xtask verify` runs it again and fails if a committed file differs.
//!
//! Both come from the `duplicate-side-effect` check: its report, and its
//! shortest failing run (the events of the signup that was emailed twice) as
//! a mermaid sequence diagram.

use std::process::ExitCode;

fn main() -> ExitCode {
    let report = idempotent_consumer::rubric::duplicate_side_effect()
        // The command a learner sees in `cargo test`'s report.
        .replay_command("cargo test -p idempotent-consumer -- duplicate_side_effect --exact")
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
                "`duplicate-side-effect` passes, so there is no failure to draw: is \
                 src/consumer.rs the shipped starter?\n{}",
                report.text
            );
            ExitCode::FAILURE
        }
    }
}

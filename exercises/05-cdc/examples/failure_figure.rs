//! Draws the starter's failure for the book: `cargo xtask figures` runs this
//! and writes `book/src/figures/cdc-failure.mmd` (the diagram) and
//! `book/src/figures/cdc-report.txt` (with the argument `report`: the
//! check's report, as `cargo test` prints it); `cargo xtask verify` runs it
//! again and fails if a committed file differs.
//!
//! Both come from the `lost-event` check: its report, and its shortest
//! failing run as a mermaid sequence diagram. The report's timeline shows
//! only the lost order's own events; the story of a CDC failure is in the
//! tailer's, which concern no single order. So the diagram replays that
//! run and draws the order's events together with the tailer's, up to the
//! tailer's first look at the feed after its restart: the moment it no
//! longer sees the order.

use std::process::ExitCode;

use broker::simulation::{Exploration, run_with};
use broker::trace::{Operation, TraceEvent, render_mermaid};
use cdc::scenario::{TAILER_SERVICE, scenario};

fn main() -> ExitCode {
    let report = cdc::rubric::lost_event()
        // The command a learner sees in `cargo test`'s report (this example
        // is not a test, so the check cannot work it out).
        .replay_command("cargo test -p cdc -- lost_event --exact")
        .run_with(None, None);
    let Some(failure) = report.failure else {
        eprintln!(
            "`lost-event` passes, so there is no failure to draw: is src/tailer.rs the shipped \
             starter?\n{}",
            report.text
        );
        return ExitCode::FAILURE;
    };
    if std::env::args().nth(1).as_deref() == Some("report") {
        print!("{}", report.text);
        return ExitCode::SUCCESS;
    }
    let run = match run_with(
        &scenario(),
        &failure.plan,
        failure.seed,
        Exploration::default().watchdog,
    ) {
        Ok(run) => run,
        Err(interrupted) => {
            eprintln!("the failing run could not be replayed: {interrupted}");
            return ExitCode::FAILURE;
        }
    };
    let order = failure.message_id.unwrap_or_default();
    print!("{}", render_mermaid(&order_and_tailer(&run.events, &order)));
    ExitCode::SUCCESS
}

/// The events about `order`, and the tailer's until its first read of the
/// feed after a restart.
fn order_and_tailer(events: &[TraceEvent], order: &str) -> Vec<TraceEvent> {
    let mut chosen = Vec::new();
    let mut restarted = false;
    let mut tailer_done = false;
    for event in events {
        let tailers = &*event.actor == TAILER_SERVICE && !tailer_done;
        if event.concerns(order) || tailers {
            chosen.push(event.clone());
        }
        if tailers {
            match event.operation {
                Operation::Start if event.note.is_some() => restarted = true,
                Operation::ReadChanges if restarted => tailer_done = true,
                _ => {}
            }
        }
    }
    chosen
}

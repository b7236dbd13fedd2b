//! The grading toolkit: checks named after anomalies, worth points.
//!
//! A [`Check`] is a [`Scenario`](crate::simulation::Scenario), an
//! [`Exploration`](crate::simulation::Exploration) (by default
//! [`Exploration::graded`](crate::simulation::Exploration::graded): the
//! happy path, every crash point, and 500 seeded random fault plans, or as
//! many as `EDA_SEEDS` says, from the seed `EDA_SEED` says) and one or more
//! invariants over each run's trace and final state. Its name is the anomaly
//! it catches: `lost-message`, `duplicate-side-effect`, `stale-overwrite`,
//! `lost-update`, `out-of-order`, `resurrected-delete`, `poison-storm`,
//! `unsettled-message`, …
//!
//! One call in a `#[test]` runs it: [`Check::assert`] fails the test with
//! the report when any run breaks an invariant, panics, gets stuck, or hangs
//! (without a panic hook, so no backtrace under it). The report gives the
//! anomaly in one sentence, how many runs were explored and failed, the
//! shortest failing run (the shortest timeline: events of the affected
//! message only, a cycle repeated four times or more folded to its first and
//! last occurrence), its seed, plan and crash point, and the one command that
//! replays that run:
//!
//! ```text
//! check `lost-message` FAILED (0 of 3 points)
//!
//! message `order-1` was settled on `orders`, but its processing never took effect: it is lost.
//!
//! The grader explored 15 runs (1 without faults, 14 at crash points); 4 failed.
//! Shortest failing run: run 5 of 15, a crash point: seed 0, plan crash-after@1, 6 service operations (#0 to #5), of which #5 was still waiting when the run ended.
//! Crash point: crash after #1 (consumer complete orders order-1)
//!
//! Timeline of `order-1` (only the events about it; the replay shows the whole run):
//!     +00:00:00.000      setup     send      orders  order-1  ok  seq 1
//!     +00:00:00.000  #0  consumer  receive   orders  order-1  ok  seq 1, delivery 1
//!     +00:00:00.000  #1  consumer  complete  orders  order-1  ok  seq 1  [fault: crash-after]
//!     +00:00:00.000  #1  consumer  CRASH     orders  order-1  after complete  [fault: crash-after]
//!     +00:00:01.000      consumer  start     -       -        restarted: memory empty
//!
//! Replay this run (prints the whole trace and its diagram):
//!     EDA_REPLAY='lost-message:seed=0:plan=crash-after@1' cargo test -p ack-ordering -- lost_message --exact
//! ```
//!
//! Runs are counted from 1 (the first is the one without faults), and the
//! operations are the services' numbered operations (`#n`), each with a
//! crash point before and after it; one still waiting when the run ended
//! (a receive on an empty queue) has a number but no line.
//!
//! # The contracts other tools rely on
//!
//! - `EDA_SEEDS=<n>` / `EDA_SEED=<first>`: how many random fault plans a
//!   graded check explores, and where their seeds start
//!   ([`Exploration::graded`](crate::simulation::Exploration::graded)).
//!   `EDA_SEEDS=5000 cargo test -p <exercise>` before calling it done.
//! - A check given the learner's file ([`Check::learner_file`]) fails when
//!   the file keeps state outside the service ([`source`]).
//! - `EDA_REPLAY=<check>:seed=<n>:plan=<plan>`: the check of that name runs
//!   only that run and prints its whole trace and mermaid diagram
//!   ([`replay`]).
//! - `EDA_GRADE_REPORT_DIR=<dir>`: every check writes
//!   `<dir>/<check>.json` = `{"check": name, "points": what the check is
//!   worth, "passed": bool, "report": the text above}`; `cargo xtask grade`
//!   builds the score table from these files.
//!
//! # Example
//!
//! ```
//! use broker::grading::{Check, invariants};
//! use broker::simulation::{Exploration, Scenario, ServiceCtx};
//! use broker::{BrokerError, Message, QueueOptions};
//!
//! // The mistake: settle first, then do the work.
//! async fn ack_first(ctx: ServiceCtx) -> Result<(), BrokerError> {
//!     loop {
//!         let order = ctx.receive("orders").await?;
//!         ctx.complete(&order).await?;
//!         let result = Message::new(format!("{}-done", order.message_id()), "ok")
//!             .with_correlation_id(order.message_id());
//!         ctx.send("results", result).await?;
//!     }
//! }
//!
//! let scenario = Scenario::new("orders")
//!     .queue("orders", QueueOptions::default())
//!     .queue("results", QueueOptions::default())
//!     .message("orders", Message::new("order-1", "teapot"))
//!     .service("consumer", ack_first);
//! let check = Check::new("lost-message", 3)
//!     .scenario(scenario)
//!     .exploration(Exploration::every_crash_point())
//!     .invariant(invariants::no_lost_message("orders", invariants::result_published_to("results")));
//!
//! let report = check.run(); // in a #[test]: check.assert();
//! assert!(!report.passed);
//! assert!(report.text.contains("crash after #1"));
//! ```

mod check;
pub mod invariants;
pub mod replay;
mod shared;
pub mod source;
pub mod teeth;
mod violation;

pub use check::{Check, CheckReport, Failure, Invariant, REPLAY_VAR, REPORT_DIR_VAR, RunKind};
pub use replay::Replay;
pub use violation::Violation;

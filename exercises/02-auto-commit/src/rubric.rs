//! The rubric: the graded checks of `auto-commit` and what each is worth.
//! Do not edit: this is the grader. `tests/checks.rs` runs each check as one
//! `#[test]`; the book's failure figure is drawn from [`lost_message`].
//!
//! Each check is a [`Check`]: the scenario of [`crate::scenario`], the runs
//! to explore, and the invariant every run must keep. A failing check prints
//! the anomaly, the shortest run that shows it, and the command that replays
//! that run.

use crate::order::{INVOICES, Invoice, ORDERS};
use crate::scenario::{SERVICE, scenario};
use broker::grading::{Check, Violation, invariants};
use broker::simulation::Run;
use broker::trace::Operation;

/// The file the learner edits, as the grader reads it for state kept
/// outside the service (see [`Check::learner_file`]).
const LEARNER_FILE: &str = "src/consumer.rs";
#[cfg(not(feature = "solution"))]
const LEARNER_SOURCE: &str = include_str!("consumer.rs");
#[cfg(feature = "solution")]
const LEARNER_SOURCE: &str = include_str!("../solution/consumer.rs");

/// A check of this exercise: it reads the learner's file first, then
/// explores the run without faults, every crash point, every fault point
/// and the seeded random fault plans (lost replies, delays, an unavailable
/// broker, outages, duplicate deliveries, more crashes: `EDA_SEEDS` of
/// them, 500 by default).
fn check(name: &str, points: u32) -> Check {
    Check::new(name, points)
        .learner_file(LEARNER_FILE, LEARNER_SOURCE)
        .scenario(scenario())
}

/// No order may disappear: whatever crashes or fails, each order ends with
/// its invoice published, or is still in the topic, uncommitted, for the
/// next consumer of the group to handle.
pub fn lost_message() -> Check {
    check("lost-message", 10).invariant(invariants::no_lost_message(ORDERS, invoice_published))
}

/// Whether an invoice for `order_id` reached `invoices`, by what it says:
/// an invoice whose `order_id` is the order's, whatever its message id and
/// correlation id, or a message that names the order as its correlation id.
fn invoice_published(run: &Run, order_id: &str) -> bool {
    run.published_for(INVOICES, order_id)
        || run.remaining(INVOICES).iter().any(|envelope| {
            envelope
                .body_json::<Invoice>()
                .is_ok_and(|invoice| invoice.order_id == order_id)
        })
}

/// Every order is committed by the end of the run, whatever crashed or
/// failed: a consumer that turned the timer off must commit each order
/// itself, or the group never moves past it.
pub fn unsettled_message() -> Check {
    check("unsettled-message", 5).invariant(every_order_committed)
}

/// `unsettled-message`: no order is left in `orders` at the end. The report
/// says how often the order was handed out and whether anything ever
/// committed one, because "never settled" alone does not tell a consumer
/// that commits too rarely from one that never commits.
fn every_order_committed(run: &Run) -> Result<(), Violation> {
    let remaining = run.remaining(ORDERS);
    let Some(left) = remaining.first() else {
        return Ok(());
    };
    let id = left.message_id();
    let committed_any = run.events.iter().any(|event| {
        event.target.as_deref() == Some(ORDERS)
            && event.outcome.is_ok()
            && matches!(event.operation, Operation::Complete | Operation::AutoCommit)
    });
    let deliveries = left.delivery_count;
    let times = if deliveries == 1 {
        "once".to_string()
    } else {
        format!("{deliveries} times")
    };
    let why = if committed_any {
        format!(
            "some orders were committed, but not `{id}`: every path through the loop that has \
             published an order's invoice must end by committing that order"
        )
    } else {
        format!(
            "`{SERVICE}` never committed an order, and no timer did: with `enable.auto.commit` \
             off, committing is the consumer's job, once the invoice is published"
        )
    };
    Err(Violation::for_message(
        id,
        format!(
            "the offset of `{id}` was never committed on `{ORDERS}`: the group was handed it \
             {times} and it is still uncommitted at the end, so it keeps coming back to be priced \
             again. {why}"
        ),
    ))
}

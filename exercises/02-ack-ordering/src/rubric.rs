//! The rubric: the graded checks of `ack-ordering` and what each is worth.
//! Do not edit: this is the grader. `tests/checks.rs` runs each check as one
//! `#[test]`; the book's failure figure is drawn from [`lost_message`].
//!
//! Each check is a [`Check`]: the scenario of [`crate::scenario`], the runs
//! to explore, and the invariant every run must keep. A failing check prints
//! the anomaly, the shortest run that shows it, and the command that replays
//! that run.

use crate::order::{INVOICES, ORDERS};
use crate::scenario::{SERVICE, scenario};
use broker::grading::{Check, Violation, invariants};
use broker::simulation::{Exploration, Run};
use broker::trace::Operation;
use broker::{DEFAULT_LOCK_DURATION, dead_letter_path};

/// No order may disappear: at every crash point, and under 20 random fault
/// plans (more when `EDA_RANDOM_PLANS` says so), each order ends with its
/// invoice published, or is still in the queue (or its dead-letter queue)
/// for someone to handle.
pub fn lost_message() -> Check {
    Check::new("lost-message", 10)
        .scenario(scenario())
        .exploration(Exploration::default().with_random_plans(random_plans()))
        .invariant(invariants::no_lost_message(
            ORDERS,
            invariants::result_published_to(INVOICES),
        ))
}

/// Every order is settled by the consumer by the end of the run, whatever
/// crashed: nothing is left locked or waiting in `orders`, and nothing was
/// dead-lettered by the broker for being delivered too often.
pub fn unsettled_message() -> Check {
    Check::new("unsettled-message", 5)
        .scenario(scenario())
        .exploration(Exploration::every_crash_point())
        .invariant(consumer_settles)
        .invariant(invariants::no_unsettled_message(ORDERS))
        .invariant(no_dead_letter)
}

/// Slow work keeps its lock: with no fault at all, no order's lock expires
/// while the consumer is still pricing it (which would hand the order to
/// another consumer mid-flight and price it twice).
pub fn lock_expired() -> Check {
    Check::new("lock-expired", 10)
        .scenario(scenario())
        .exploration(Exploration::happy_path())
        .invariant(consumer_settles)
        .invariant(no_lock_expired_mid_flight)
}

/// Not yet meaningful: the consumer never settled an order itself. In
/// receive-and-delete mode the broker settles each order as it hands it out,
/// so no order is ever left unsettled and no lock can expire: the checks
/// that need a lock would pass without any work. They score once the
/// consumer holds locks (peek-lock) and settles what it receives.
fn consumer_settles(run: &Run) -> Result<(), Violation> {
    let settled = run.events.iter().any(|event| {
        &*event.actor == SERVICE
            && event.target.as_deref() == Some(ORDERS)
            && matches!(
                event.operation,
                Operation::Complete | Operation::Abandon | Operation::DeadLetter | Operation::Defer
            )
    });
    if settled {
        Ok(())
    } else {
        Err(Violation::new(format!(
            "not yet meaningful: `{SERVICE}` never settled an order on `{ORDERS}` itself (in \
             receive-and-delete mode the broker settles on delivery, so it never holds a lock). \
             This check scores once the consumer receives in peek-lock mode and completes its \
             orders"
        )))
    }
}

/// `lock-expired`: a lock on `orders` expired although the service holding
/// it never crashed.
fn no_lock_expired_mid_flight(run: &Run) -> Result<(), Violation> {
    let crashed = run
        .events
        .iter()
        .any(|event| event.operation == Operation::Crash && &*event.actor == SERVICE);
    let expired = run.events.iter().find(|event| {
        event.operation == Operation::LockExpired && event.target.as_deref() == Some(ORDERS)
    });
    match (expired, crashed) {
        (Some(event), false) => {
            let id = event.message_id.as_deref().unwrap_or("?");
            Err(Violation::for_message(
                id,
                format!(
                    "the lock on `{id}` expired after {} s although `{SERVICE}` never crashed: it was \
                     neither completed nor renewed in time, so the broker handed the order out again. \
                     Slow work must renew its lock",
                    DEFAULT_LOCK_DURATION.as_secs()
                ),
            ))
        }
        _ => Ok(()),
    }
}

/// `unsettled-message`, the other way: the broker dead-lettered an order
/// because it was delivered too many times without being completed.
fn no_dead_letter(run: &Run) -> Result<(), Violation> {
    match run.remaining(&dead_letter_path(ORDERS)).first() {
        Some(envelope) => Err(Violation::for_message(
            envelope.message_id(),
            format!(
                "`{}` ended in the dead-letter queue after {} deliveries: the consumer never \
                 completed it, so the broker gave up on it",
                envelope.message_id(),
                envelope.delivery_count
            ),
        )),
        None => Ok(()),
    }
}

/// How many random fault plans the checks that use them explore: 20, or
/// `EDA_RANDOM_PLANS` (`cargo xtask verify` asks for many more, to prove the
/// solution on many more seeds than a learner waits for).
fn random_plans() -> u64 {
    std::env::var("EDA_RANDOM_PLANS")
        .ok()
        .and_then(|plans| plans.parse().ok())
        .unwrap_or(20)
}

//! The rubric: the graded checks of `ack-ordering` and what each is worth.
//! Do not edit: this is the grader. `tests/checks.rs` runs each check as one
//! `#[test]`; the book's failure figure is drawn from [`lock_expired`].
//!
//! Each check is a [`Check`]: the scenario of [`crate::scenario`], the runs
//! to explore, and the invariant every run must keep. A failing check prints
//! the anomaly, the shortest run that shows it, and the command that replays
//! that run.

use crate::order::{INVOICES, Invoice, ORDERS};
use crate::scenario::{SERVICE, scenario};
use broker::DEFAULT_LOCK_DURATION;
use broker::clock::format_offset;
use broker::fault::Fault;
use broker::grading::{Check, Violation, invariants};
use broker::simulation::Run;
use broker::trace::{Operation, Outcome, TraceEvent};

/// The file the learner edits, as the grader reads it for state kept
/// outside the service (see [`Check::learner_file`]).
const LEARNER_FILE: &str = "src/consumer.rs";
#[cfg(not(feature = "solution"))]
const LEARNER_SOURCE: &str = include_str!("consumer.rs");
#[cfg(feature = "solution")]
const LEARNER_SOURCE: &str = include_str!("../solution/consumer.rs");

/// A check of this exercise: it reads the learner's file first, then
/// explores the run without faults, every crash point and the seeded random
/// fault plans (lost replies, delays, an unavailable broker, outages,
/// duplicate deliveries, more crashes: `EDA_SEEDS` of them, 500 by default).
fn check(name: &str, points: u32) -> Check {
    Check::new(name, points)
        .learner_file(LEARNER_FILE, LEARNER_SOURCE)
        .scenario(scenario())
}

/// No order may disappear: whatever crashes or fails, each order ends with
/// its invoice published, or is still in the queue (or its dead-letter
/// queue) for someone to handle. The starter passes it; it catches a fix
/// that ends the lock trouble by settling the order before its work is
/// done (the `auto-commit` exercise's lesson), so it is worth less here.
pub fn lost_message() -> Check {
    check("lost-message", 5).invariant(invariants::no_lost_message(ORDERS, invoice_published))
}

/// Whether an invoice for `order_id` reached `invoices`, by what it says:
/// an invoice whose `order_id` is the order's, whatever its message id and
/// correlation id (a consumer that builds the invoice message itself need
/// not set either), or a message that names the order as its correlation
/// id.
fn invoice_published(run: &Run, order_id: &str) -> bool {
    run.published_for(INVOICES, order_id)
        || run.remaining(INVOICES).iter().any(|envelope| {
            envelope
                .body_json::<Invoice>()
                .is_ok_and(|invoice| invoice.order_id == order_id)
        })
}

/// Every order is settled by the consumer by the end of the run, whatever
/// crashed or failed: nothing is left locked or waiting in `orders`, and
/// nothing was dead-lettered, neither by the consumer (a transient error is
/// retried, not dead-lettered) nor by the broker for being delivered too
/// often.
pub fn unsettled_message() -> Check {
    check("unsettled-message", 5)
        .invariant(consumer_settles)
        .invariant(invariants::no_unsettled_message(ORDERS))
        .invariant(invariants::no_dead_letter(ORDERS))
}

/// Slow work keeps its lock: no order's lock expires while the life of the
/// consumer that received it is still working on it (which would hand the
/// order to another consumer mid-flight and price it twice), without
/// faults and under them (a renewal that a delay holds up must still land
/// in time). A lock that expires after its holder crashed or gave up with
/// an error is the broker doing its job, and so is one that expires after
/// a renewal failed and the holder let the order go.
pub fn lock_expired() -> Check {
    check("lock-expired", 10)
        .invariant(consumer_settles)
        .invariant(no_lock_expired_mid_flight)
}

/// What the consumer did, when it never settled an order itself: the
/// checks that need a lock would say nothing true about it otherwise.
///
/// - In receive-and-delete mode the broker settles each order as it hands
///   it out, so no order is ever left unsettled and no lock can expire:
///   those checks would pass without any work. They are not yet
///   meaningful.
/// - In peek-lock mode the consumer holds each order's lock and never
///   completes (nor abandons, nor dead-letters) one: say so, with how often
///   the broker handed the first one out.
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
        return Ok(());
    }
    let receives: Vec<_> = run
        .events
        .iter()
        .filter(|event| {
            &*event.actor == SERVICE
                && event.operation == Operation::Receive
                && event.target.as_deref() == Some(ORDERS)
                && event.outcome.is_ok()
                && event.message_id.is_some()
        })
        .collect();
    let receive_and_delete = receives.iter().any(|event| {
        event
            .note
            .as_deref()
            .is_some_and(|note| note.starts_with("receive-and-delete"))
    });
    if receive_and_delete || receives.is_empty() {
        return Err(Violation::new(format!(
            "not yet meaningful: `{SERVICE}` never settled an order on `{ORDERS}` itself (in \
             receive-and-delete mode the broker settles on delivery, so it never holds a lock). \
             This check scores once the consumer receives in peek-lock mode and completes its \
             orders"
        )));
    }
    let first = receives[0].message_id.as_deref().unwrap_or("?");
    let deliveries = run.deliveries(ORDERS, first);
    Err(Violation::for_message(
        first,
        format!(
            "`{SERVICE}` received its orders in peek-lock mode and never settled one: no \
             complete, abandon or dead-letter on `{ORDERS}`. The broker kept `{first}` locked \
             {} s after each delivery, then handed it out again ({deliveries} {} in all). Call \
             `ctx.complete(&delivery)` once the invoice is sent",
            DEFAULT_LOCK_DURATION.as_secs(),
            if deliveries == 1 {
                "delivery"
            } else {
                "deliveries"
            }
        ),
    ))
}

/// `lock-expired`: a lock on `orders` expired while the life of the
/// service that received that delivery was still going: no crash, no error
/// return, no restart of it in between. A lock that ran out after the
/// holder's last renewal of it failed is let go too, if the holder did
/// nothing more with that order in that life: it gave the order up, which
/// is the right answer to a failed renewal.
///
/// The report tells the three ways there are to fail apart, because each
/// has its own fix: never renewed, renewed but too late (a slow renewal),
/// and a renewal that failed while the work went on regardless.
fn no_lock_expired_mid_flight(run: &Run) -> Result<(), Violation> {
    for (at, event) in run.events.iter().enumerate() {
        if event.operation != Operation::LockExpired || event.target.as_deref() != Some(ORDERS) {
            continue;
        }
        let Some(id) = event.message_id.as_deref() else {
            continue;
        };
        // The delivery whose lock this was: the last one of this order.
        let Some(received) = run.events[..at].iter().rposition(|earlier| {
            earlier.operation.is_delivery()
                && earlier.outcome.is_ok()
                && earlier.target.as_deref() == Some(ORDERS)
                && earlier.message_id.as_deref() == Some(id)
        }) else {
            continue;
        };
        let holder = &run.events[received].actor;
        let life_ends = |event: &TraceEvent| {
            &event.actor == holder
                && matches!(
                    event.operation,
                    Operation::Crash | Operation::Exit | Operation::Start
                )
        };
        if run.events[received..at].iter().any(life_ends) {
            continue;
        }
        let concerns_order = |event: &TraceEvent| {
            &event.actor == holder
                && (event.message_id.as_deref() == Some(id)
                    || event.correlation_id.as_deref() == Some(id))
        };
        // The holder's last renewal of this delivery before the lock ran out.
        let last_renewal = run.events[received..at]
            .iter()
            .enumerate()
            .rev()
            .find(|(_, between)| {
                between.operation == Operation::RenewLock && concerns_order(between)
            })
            .map(|(offset, renewal)| (received + offset, renewal));
        let seconds = DEFAULT_LOCK_DURATION.as_secs();
        let advice = match last_renewal {
            Some((renewed_at, renewal)) => match failed_as_seen(renewal) {
                Some(why) => {
                    // Did the holder go on with this delivery after the
                    // failed renewal, in the same life? If not, it let it
                    // go. (Receiving the order again is a new delivery,
                    // which the broker handed out: not going on.)
                    let went_on = run.events[renewed_at + 1..]
                        .iter()
                        .take_while(|later| {
                            let redelivered =
                                later.operation.is_delivery() && concerns_order(later);
                            !(life_ends(later) || redelivered)
                        })
                        .any(concerns_order);
                    if !went_on {
                        continue;
                    }
                    format!(
                        "its renewal at {} failed ({why}), and `{holder}` went on with the order \
                         as if it still held the lock. A failed renewal means the lock may be gone \
                         and another consumer may get the order: stop working on that order (do \
                         not complete it) and let the broker hand it out again",
                        format_offset(renewal.at)
                    )
                }
                None => format!(
                    "it was last renewed at {}, and the next renewal did not land before the lock \
                     ran out, so the broker handed the order out again. Slow work must renew its \
                     lock, early enough that a slow renewal still lands in time",
                    format_offset(renewal.at)
                ),
            },
            None => "it was neither completed nor renewed in time, so the broker handed the \
                     order out again. Slow work must renew its lock, early enough that a slow \
                     renewal still lands in time"
                .to_string(),
        };
        return Err(Violation::for_message(
            id,
            format!(
                "the lock on `{id}` expired after {seconds} s while `{holder}` was still working \
                 on it (it had neither crashed nor stopped): {advice}"
            ),
        ));
    }
    Ok(())
}

/// Why an operation failed as the service saw it, if it did: refused (the
/// broker was unavailable, or the lock was already gone), or done with its
/// reply lost, which the service sees as an error all the same (it cannot
/// know the renewal happened).
fn failed_as_seen(event: &TraceEvent) -> Option<String> {
    match (&event.outcome, event.fault) {
        (Outcome::Failed(error), _) => Some(error.to_string()),
        (Outcome::Ok, Some(Fault::LostResponse)) => {
            Some("its reply was lost, so the consumer got an error".to_string())
        }
        (Outcome::Ok, _) => None,
    }
}

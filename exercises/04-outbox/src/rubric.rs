//! The rubric: the graded checks of `outbox` and what each is worth. Do not
//! edit: this is the grader. `tests/checks.rs` runs each check as one
//! `#[test]`; the book's failure figure is drawn from [`lost_event`].
//!
//! Every check explores the same runs: the run without faults, every crash
//! point of it, and random fault plans (crashes, lost replies, unavailable
//! or slow operations, outages of the broker or the store). Each judges
//! what the outside world can see at the end: the committed rows of
//! `orders`, the `OrderPlaced` events `order-events` accepted, and, for
//! `phantom-event`, whether an event left before its order committed.
//!
//! Every check also requires that the shop works when nothing fails: the
//! orders the stock allows are placed, and each one's event is published.
//! A service that places no order, or publishes nothing, cannot pass a
//! check by having nothing to judge.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use broker::Envelope;
use broker::clock::format_offset;
use broker::grading::{Check, Violation};
use broker::simulation::{Exploration, Run, Scenario};
use broker::store::ChangeKind;
use broker::trace::Operation;

use crate::scenario::{orders_the_stock_allows, scenario};
use crate::shop::{DUPLICATE_DETECTION_WINDOW, ORDER_EVENTS, ORDERS, OrderPlaced};

/// The file the learner edits, as the grader reads it for state kept
/// outside the service (see [`Check::learner_file`]).
const LEARNER_FILE: &str = "src/orders.rs";
/// The learner's file as compiled.
#[cfg(not(feature = "solution"))]
const SERVICE_SOURCE: &str = include_str!("orders.rs");
#[cfg(feature = "solution")]
const SERVICE_SOURCE: &str = include_str!("../solution/orders.rs");

/// A check of this exercise: it reads the learner's file first (state kept
/// in a `static`, a `thread_local!` or a lazy global survives the simulated
/// crash but not a real one, so it fails the check), then explores the run
/// without faults, every crash point, every fault point and the seeded
/// random fault plans (`EDA_SEEDS` of them, [`RANDOM_PLANS`] by default).
fn check(name: &str, points: u32, scenario: Scenario, source: &str) -> Check {
    Check::new(name, points)
        .learner_file(LEARNER_FILE, source)
        .scenario(scenario)
        .exploration(Exploration::graded().with_random_plans(RANDOM_PLANS))
}

/// The random plans a learner's grade runs per check, unless `EDA_SEEDS`
/// says otherwise. Fewer than the engine's default: this scenario's runs are
/// long (two services, a relay polling for ten minutes of virtual time,
/// some 90 operations), and its crash and fault points alone are some 600
/// runs per check, which already find every mistake the teeth tests know.
/// With 500 plans a passing file took 6.3 s of CPU from save to score on the
/// 2-core machine; with 100 it stays near the five-second loop. `cargo xtask
/// verify` runs thousands.
const RANDOM_PLANS: u64 = 100;

/// Every order committed in `orders` ends with its `OrderPlaced` on
/// `order-events`, whatever crashed or failed.
pub fn lost_event() -> Check {
    lost_event_of(scenario(), SERVICE_SOURCE)
}

/// [`lost_event`] for another service: its scenario and its source text.
pub fn lost_event_of(scenario: Scenario, source: &str) -> Check {
    check("lost-event", 10, scenario, source)
        .invariant(the_shop_works)
        .invariant(every_order_announced)
}

/// No `OrderPlaced` leaves before its order is committed: none for an order
/// that was rolled back, none that overtakes its own commit.
pub fn phantom_event() -> Check {
    check("phantom-event", 10, scenario(), SERVICE_SOURCE)
        .invariant(the_shop_works)
        .invariant(no_event_before_its_order)
}

/// `order-events` accepts one `OrderPlaced` per order: a repeated publish
/// carries the same id, soon enough for duplicate detection to drop it.
pub fn duplicate_event_undetected() -> Check {
    check("duplicate-event-undetected", 5, scenario(), SERVICE_SOURCE)
        .invariant(the_shop_works)
        .invariant(one_accepted_event_per_order)
}

/// One `OrderPlaced` that `order-events` accepted (a send that duplicate
/// detection dropped is not one).
struct Published {
    order_id: String,
    message_id: String,
    /// Its place in the trace, to compare with the commit of its order.
    index: usize,
    at: Duration,
}

/// The events `order-events` accepted, in the order it accepted them.
fn published(run: &Run) -> Result<Vec<Published>, Violation> {
    let stored: BTreeMap<u64, Envelope> = run
        .remaining(ORDER_EVENTS)
        .into_iter()
        .map(|envelope| (envelope.sequence_number, envelope))
        .collect();
    let mut published = Vec::new();
    for (index, event) in run.events.iter().enumerate() {
        let accepted = event.operation == Operation::Send
            && event.target.as_deref() == Some(ORDER_EVENTS)
            && event.outcome.is_ok();
        let (true, Some(sequence_number)) = (accepted, event.sequence_number) else {
            continue;
        };
        let message_id = event.message_id.as_deref().unwrap_or("?").to_owned();
        // Nobody consumes `order-events` in this scenario, so every accepted
        // message is still there to be read.
        let Some(envelope) = stored.get(&sequence_number) else {
            return Err(Violation::for_message(
                message_id.clone(),
                format!(
                    "`{message_id}` was accepted by `{ORDER_EVENTS}` but is no longer there: \
                     something received it, and only the warehouse and billing may"
                ),
            ));
        };
        let placed = OrderPlaced::from_body(envelope.body()).map_err(|error| {
            Violation::for_message(
                message_id.clone(),
                format!(
                    "`{message_id}` on `{ORDER_EVENTS}` is not an OrderPlaced ({error}): the \
                     warehouse cannot read it. Build events with `OrderPlaced::to_message`"
                ),
            )
        })?;
        published.push(Published {
            order_id: placed.order_id,
            message_id,
            index,
            at: event.at,
        });
    }
    Ok(published)
}

/// The ids of the orders committed in `orders` at the end.
fn committed_orders(run: &Run) -> BTreeSet<String> {
    run.store.committed(ORDERS).into_keys().collect()
}

/// Every check: without faults, the orders the stock allows are placed (and
/// no other), and each has its event by the end of the run.
fn the_shop_works(run: &Run) -> Result<(), Violation> {
    if !run.plan.is_empty() {
        return Ok(());
    }
    let expected: BTreeSet<String> = orders_the_stock_allows().into_iter().collect();
    let committed = committed_orders(run);
    if committed != expected {
        return Err(Violation::new(format!(
            "in the run without faults, `{ORDERS}` ends with [{}], but the stock allows exactly \
             [{}]: `place_order` must commit each order it can and refuse the rest",
            list(&committed),
            list(&expected)
        )));
    }
    let announced: BTreeSet<String> = published(run)?
        .into_iter()
        .map(|event| event.order_id)
        .collect();
    match expected.iter().find(|order| !announced.contains(*order)) {
        Some(order) => Err(Violation::for_message(
            order.clone(),
            format!(
                "in the run without faults, no OrderPlaced for `{order}` reached \
                 `{ORDER_EVENTS}` by the end of the run: the order was placed and nobody was told"
            ),
        )),
        None => Ok(()),
    }
}

/// `lost-event`: a committed order whose event never reached the broker.
fn every_order_announced(run: &Run) -> Result<(), Violation> {
    let announced: BTreeSet<String> = published(run)?
        .into_iter()
        .map(|event| event.order_id)
        .collect();
    match committed_orders(run)
        .into_iter()
        .find(|order| !announced.contains(order))
    {
        Some(order) => Err(Violation::for_message(
            order.clone(),
            format!(
                "order `{order}` was committed in `{ORDERS}`, but no OrderPlaced for it ever \
                 reached `{ORDER_EVENTS}`: the warehouse will never ship it and billing will \
                 never charge it. The event is lost"
            ),
        )),
        None => Ok(()),
    }
}

/// `phantom-event`: an event for an order that was never committed, or one
/// that left before its order's commit.
fn no_event_before_its_order(run: &Run) -> Result<(), Violation> {
    let committed_at = order_commits(run);
    for event in published(run)? {
        let order = &event.order_id;
        match committed_at.get(order) {
            None => {
                return Err(Violation::for_message(
                    order.clone(),
                    format!(
                        "OrderPlaced for `{order}` reached `{ORDER_EVENTS}` at {} (as `{}`), but \
                         the order was never committed: its transaction rolled back. The \
                         warehouse will ship an order that does not exist",
                        format_offset(event.at),
                        event.message_id
                    ),
                ));
            }
            Some((index, at)) if *index > event.index => {
                return Err(Violation::for_message(
                    order.clone(),
                    format!(
                        "OrderPlaced for `{order}` reached `{ORDER_EVENTS}` at {} (as `{}`), \
                         before the transaction that placed the order committed at {}: had that \
                         commit failed, the event would announce an order that does not exist",
                        format_offset(event.at),
                        event.message_id,
                        format_offset(*at)
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// For each committed order, where in the trace (and when) the transaction
/// that inserted its row committed.
fn order_commits(run: &Run) -> BTreeMap<String, (usize, Duration)> {
    // The change feed says which transaction inserted each order...
    let mut inserted_by: BTreeMap<String, u64> = BTreeMap::new();
    for change in run.store.changes_since(0) {
        if change.table == ORDERS && change.kind == ChangeKind::Insert {
            inserted_by.entry(change.key).or_insert(change.transaction);
        }
    }
    // ...and the trace when that transaction's commit succeeded (its note
    // is `tx <id>`; a commit whose reply was lost is in the trace as done).
    let mut commits = BTreeMap::new();
    for (order, transaction) in inserted_by {
        let note = format!("tx {transaction}");
        if let Some((index, event)) = run.events.iter().enumerate().find(|(_, event)| {
            event.operation == Operation::Commit
                && event.outcome.is_ok()
                && event.note.as_deref() == Some(note.as_str())
        }) {
            commits.insert(order, (index, event.at));
        }
    }
    commits
}

/// `duplicate-event-undetected`: `order-events` accepted two events for one
/// order.
fn one_accepted_event_per_order(run: &Run) -> Result<(), Violation> {
    let mut per_order: BTreeMap<String, Vec<Published>> = BTreeMap::new();
    for event in published(run)? {
        per_order
            .entry(event.order_id.clone())
            .or_default()
            .push(event);
    }
    for (order, events) in per_order {
        let [first, second, ..] = events.as_slice() else {
            continue;
        };
        let sentence = if first.message_id == second.message_id {
            format!(
                "`{ORDER_EVENTS}` accepted OrderPlaced for `{order}` {} times, as `{}` at {} and \
                 again at {}: more than the queue's {}-minute duplicate detection window apart, \
                 so the broker took the repeat for a new message. The warehouse ships the order \
                 twice: stop publishing what was already published",
                events.len(),
                first.message_id,
                format_offset(first.at),
                format_offset(second.at),
                DUPLICATE_DETECTION_WINDOW.as_secs() / 60
            )
        } else {
            format!(
                "`{ORDER_EVENTS}` accepted OrderPlaced for `{order}` {} times, as `{}` at {} and \
                 as `{}` at {}: the same event published again under a new id, so duplicate \
                 detection could not tell it was a repeat. The warehouse ships the order twice",
                events.len(),
                first.message_id,
                format_offset(first.at),
                second.message_id,
                format_offset(second.at)
            )
        };
        return Err(Violation::for_message(order, sentence));
    }
    Ok(())
}

/// "order-1, order-2".
fn list(orders: &BTreeSet<String>) -> String {
    orders.iter().cloned().collect::<Vec<_>>().join(", ")
}

//! The rubric: the graded checks of `cdc` and what each is worth. Do not
//! edit: this is the grader. `tests/checks.rs` runs each check as one
//! `#[test]`; the book's failure figure is drawn from [`lost_event`].
//!
//! Every check explores the same runs: the run without faults, every crash
//! point of it (a crash before and after each operation of every service),
//! every fault point (one lost reply, refusal, long delay, duplicate
//! delivery or outage at each operation in turn) and random fault plans. A
//! slow or refused publish is what lets a later event of an order overtake
//! an earlier one, so the fault points matter most to
//! `out-of-order-per-aggregate`. Each judges what the outside world can see at the end: the
//! committed changes of `orders` in the store's change feed, and the order
//! events `order-events` accepted, in the order it accepted them.
//!
//! Every check also requires that the tailer works when nothing fails:
//! each of the four changes of `orders` has its event by the end of the
//! run. A tailer that publishes nothing cannot pass a check by having
//! nothing to judge.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use broker::Envelope;
use broker::clock::format_offset;
use broker::grading::{Check, Violation};
use broker::simulation::{Exploration, Run, Scenario};
use broker::store::ChangeKind;
use broker::trace::Operation;

use crate::scenario::scenario;
use crate::shop::{
    DUPLICATE_DETECTION_WINDOW, ORDER_EVENTS, ORDERS, OrderEvent, POSITIONS, TAILER,
};

/// The file the learner edits, as the grader reads it for state kept
/// outside the service (see [`Check::learner_file`]).
const LEARNER_FILE: &str = "src/tailer.rs";
/// The learner's file as compiled.
#[cfg(not(feature = "solution"))]
const SERVICE_SOURCE: &str = include_str!("tailer.rs");
#[cfg(feature = "solution")]
const SERVICE_SOURCE: &str = include_str!("../solution/tailer.rs");

/// A check of this exercise: it reads the learner's file first (a position
/// kept in a `static`, a `thread_local!` or a lazy global survives the
/// simulated crash but not a real one, so it fails the check), then explores
/// the run without faults, every crash point, every fault point (a lost
/// reply, a refusal, a 20-second delay, ... at each operation in turn) and
/// the seeded random fault plans (`EDA_SEEDS` of them, [`RANDOM_PLANS`] by
/// default).
fn check(name: &str, points: u32, scenario: Scenario, source: &str) -> Check {
    Check::new(name, points)
        .learner_file(LEARNER_FILE, source)
        .scenario(scenario)
        .exploration(Exploration::graded().with_random_plans(RANDOM_PLANS))
}

/// The random plans a learner's grade runs per check, unless `EDA_SEEDS`
/// says otherwise. Fewer than the engine's default, as for `outbox`: the
/// runs are ten minutes of a tailer polling, and the crash and fault points
/// alone are some 400 runs per check, which already find every mistake the
/// teeth tests know. `cargo xtask verify` runs thousands.
const RANDOM_PLANS: u64 = 100;

/// Every committed change of `orders` ends with its event on
/// `order-events`, whatever crashed or failed.
pub fn lost_event() -> Check {
    lost_event_of(scenario(), SERVICE_SOURCE)
}

/// [`lost_event`] for another tailer: its scenario and its source text.
pub fn lost_event_of(scenario: Scenario, source: &str) -> Check {
    check("lost-event", 10, scenario, source)
        .invariant(the_tailer_works)
        .invariant(every_change_announced)
}

/// `order-events` accepts one event per change: a republish carries the
/// same id, soon enough for duplicate detection to drop it.
pub fn duplicate_event_undetected() -> Check {
    check("duplicate-event-undetected", 5, scenario(), SERVICE_SOURCE)
        .invariant(the_tailer_works)
        .invariant(one_accepted_event_per_change)
}

/// The events of one order are accepted in the order their changes
/// committed: `OrderCancelled` never before the `OrderPlaced` of its order.
/// One slow or refused publish is what lets a later event overtake an
/// earlier one, and the fault points try exactly that at every operation.
pub fn out_of_order_per_aggregate() -> Check {
    check("out-of-order-per-aggregate", 10, scenario(), SERVICE_SOURCE)
        .invariant(the_tailer_works)
        .invariant(each_order_in_commit_order)
}

/// One committed change of `orders`, from the store's change feed.
struct Committed {
    /// Its place in the feed.
    position: u64,
    order_id: String,
    version: u64,
    /// `OrderPlaced`, `OrderCancelled`: for the reports.
    event: &'static str,
}

/// The committed changes of `orders`, in commit order.
fn committed_changes(run: &Run) -> Vec<Committed> {
    run.store
        .changes_since(0)
        .into_iter()
        .filter(|change| change.table == ORDERS)
        .filter_map(|change| {
            let row = change.row?;
            let event = match (change.kind, row.value["status"].as_str()) {
                (ChangeKind::Insert, _) => "OrderPlaced",
                (_, Some("cancelled")) => "OrderCancelled",
                _ => "OrderUpdated",
            };
            Some(Committed {
                position: change.position,
                order_id: change.key,
                version: row.version,
                event,
            })
        })
        .collect()
}

/// One event that `order-events` accepted (a send that duplicate detection
/// dropped is not one).
struct Published {
    order_id: String,
    version: u64,
    event: String,
    message_id: String,
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
    for event in &run.events {
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
        let order_event = OrderEvent::from_body(envelope.body()).map_err(|error| {
            Violation::for_message(
                message_id.clone(),
                format!(
                    "`{message_id}` on `{ORDER_EVENTS}` is not an order event ({error}): the \
                     warehouse cannot read it. Build events with `OrderEvent::from_change` and \
                     `OrderEvent::to_message`"
                ),
            )
        })?;
        published.push(Published {
            order_id: order_event.order_id,
            version: order_event.version,
            event: order_event.event,
            message_id,
            at: event.at,
        });
    }
    Ok(published)
}

/// Every check: without faults, every committed change of `orders` has its
/// event by the end of the run.
fn the_tailer_works(run: &Run) -> Result<(), Violation> {
    if !run.plan.is_empty() {
        return Ok(());
    }
    let committed = committed_changes(run);
    if committed.is_empty() {
        return Err(Violation::new(format!(
            "in the run without faults, `{ORDERS}` has no committed change at all: the world \
             of this exercise is broken (do not edit src/scenario.rs)"
        )));
    }
    every_change_announced(run).map_err(|violation| {
        Violation::for_message(
            violation.message_id.clone().unwrap_or_default(),
            format!("in the run without faults: {}", violation.sentence),
        )
    })
}

/// `lost-event`: a committed change whose event never reached the broker.
fn every_change_announced(run: &Run) -> Result<(), Violation> {
    let announced: BTreeSet<(String, u64)> = published(run)?
        .into_iter()
        .map(|event| (event.order_id, event.version))
        .collect();
    match committed_changes(run)
        .into_iter()
        .find(|change| !announced.contains(&(change.order_id.clone(), change.version)))
    {
        Some(change) => Err(Violation::for_message(
            change.order_id.clone(),
            format!(
                "`{}` committed a change (version {}, {}, at feed position {}) to `{ORDERS}`, \
                 but no event for it ever reached `{ORDER_EVENTS}`: the warehouse and billing \
                 will never hear of it. The event is lost{}",
                change.order_id,
                change.version,
                change.event,
                change.position,
                match stored_position(run) {
                    Some(stored) if stored >= change.position => format!(
                        ", and the tailer's stored position, {stored}, is past it: no restart \
                         will read it again"
                    ),
                    Some(_) => String::new(),
                    None => format!(
                        ", and the tailer stored no position in `{POSITIONS}`: after a restart \
                         it cannot know where it was"
                    ),
                }
            ),
        )),
        None => Ok(()),
    }
}

/// The tailer's position as stored in [`POSITIONS`] at the end of the run.
fn stored_position(run: &Run) -> Option<u64> {
    run.store
        .committed(POSITIONS)
        .get(TAILER)
        .and_then(|row| row.value["position"].as_u64())
}

/// `duplicate-event-undetected`: `order-events` accepted two events for one
/// change.
fn one_accepted_event_per_change(run: &Run) -> Result<(), Violation> {
    let mut per_change: BTreeMap<(String, u64), Vec<Published>> = BTreeMap::new();
    for event in published(run)? {
        per_change
            .entry((event.order_id.clone(), event.version))
            .or_default()
            .push(event);
    }
    for ((order, version), events) in per_change {
        let [first, second, ..] = events.as_slice() else {
            continue;
        };
        let sentence = if first.message_id == second.message_id {
            format!(
                "`{ORDER_EVENTS}` accepted {} of `{order}` (version {version}) {} times, as `{}` \
                 at {} and again at {}: more than the queue's {}-minute duplicate detection \
                 window apart, so the broker took the repeat for a new message. The warehouse \
                 hears it twice: a restarted tailer must not start again from further back than \
                 its last stored position",
                first.event,
                events.len(),
                first.message_id,
                format_offset(first.at),
                format_offset(second.at),
                DUPLICATE_DETECTION_WINDOW.as_secs() / 60
            )
        } else {
            format!(
                "`{ORDER_EVENTS}` accepted {} of `{order}` (version {version}) {} times, as `{}` \
                 at {} and as `{}` at {}: the same change published again under a new id, so \
                 duplicate detection could not tell it was a repeat. The warehouse hears it twice",
                first.event,
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

/// `out-of-order-per-aggregate`: an order's event accepted after an event
/// of a later change of the same order. A repeat of a change already
/// accepted is `duplicate-event-undetected`'s business, not this check's.
fn each_order_in_commit_order(run: &Run) -> Result<(), Violation> {
    let mut latest: BTreeMap<String, Published> = BTreeMap::new();
    let mut accepted: BTreeSet<(String, u64)> = BTreeSet::new();
    for event in published(run)? {
        let first_time = accepted.insert((event.order_id.clone(), event.version));
        match latest.get(&event.order_id) {
            Some(later) if first_time && later.version > event.version => {
                return Err(Violation::for_message(
                    event.order_id.clone(),
                    format!(
                        "`{ORDER_EVENTS}` accepted {} of `{}` (version {}, as `{}`) at {}, after \
                         {} of the same order (version {}, as `{}`) at {}: the order's events left \
                         in another order than their changes committed. A reader that applies \
                         them as they come ends with the order {}",
                        event.event,
                        event.order_id,
                        event.version,
                        event.message_id,
                        format_offset(event.at),
                        later.event,
                        later.version,
                        later.message_id,
                        format_offset(later.at),
                        if event.event == "OrderPlaced" {
                            "placed again after it was cancelled"
                        } else {
                            "in an older state than the database"
                        }
                    ),
                ));
            }
            Some(later) if later.version >= event.version => {}
            _ => {
                latest.insert(event.order_id.clone(), event);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use broker::grading::source::global_state;

    #[test]
    fn the_shipped_files_keep_no_process_wide_state() {
        for (file, source) in [
            ("src/tailer.rs", include_str!("tailer.rs")),
            ("solution/tailer.rs", include_str!("../solution/tailer.rs")),
        ] {
            assert_eq!(global_state(file, source), Ok(vec![]), "{file}");
        }
    }
}

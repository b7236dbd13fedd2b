//! The rubric: the graded checks of `event-contracts` and what each is
//! worth. Do not edit: this is the grader. `tests/checks.rs` runs each check
//! as one `#[test]`; the book's failure figure is drawn from
//! [`accepted_bad_event`].
//!
//! Every check explores the run without faults, every crash point, every
//! fault point and the seeded random plans (`EDA_SEEDS` of them), and judges
//! what the outside world can see at the end: the committed rows of
//! `shipments` and the broker's queues, dead-letter queue included.
//!
//! - `accepted-bad-event`: no event that breaks the contract becomes a
//!   shipment; one case per kind of malformed event (a timestamp in local
//!   time, a missing id, data only in a header, a partial event).
//! - `rejected-good-event`: no valid event is dead-lettered, and in a run
//!   without faults each becomes a shipment with the body's total and
//!   address and is completed.
//! - `silent-rejection`: every event that breaks the contract ends in the
//!   dead-letter queue, put there by the consumer with a reason that names
//!   the field at fault. Completing it without a shipment, or giving it back
//!   until the broker gives up (`MaxDeliveryCountExceeded`), tells the
//!   producer nothing.

use broker::grading::{Check, Violation};
use broker::simulation::{Exploration, Run, Scenario};
use broker::trace::Operation;
use broker::{Envelope, MAX_DELIVERY_COUNT_EXCEEDED, dead_letter_path};

use crate::scenario::{Kind, Sample, events, scenario};
use crate::shipping::{ORDER_EVENTS, SHIPMENTS};

/// The file the learner edits, as the grader reads it for state kept
/// outside the service (see [`Check::learner_file`]).
const LEARNER_FILE: &str = "src/intake.rs";
/// The learner's file as compiled.
#[cfg(not(feature = "solution"))]
const SERVICE_SOURCE: &str = include_str!("intake.rs");
#[cfg(feature = "solution")]
const SERVICE_SOURCE: &str = include_str!("../solution/intake.rs");

/// No event that breaks the contract becomes a shipment.
pub fn accepted_bad_event() -> Check {
    accepted_bad_event_of(scenario(), SERVICE_SOURCE)
}

/// [`accepted_bad_event`] for another consumer: its scenario and its
/// source text.
pub fn accepted_bad_event_of(scenario: Scenario, source: &str) -> Check {
    Check::new("accepted-bad-event", 15)
        .learner_file(LEARNER_FILE, source)
        .scenario(scenario)
        .exploration(explored())
        .invariant(no_bad_event_shipped)
}

/// Valid events are still accepted.
pub fn rejected_good_event() -> Check {
    rejected_good_event_of(scenario(), SERVICE_SOURCE)
}

/// [`rejected_good_event`] for another consumer.
pub fn rejected_good_event_of(scenario: Scenario, source: &str) -> Check {
    Check::new("rejected-good-event", 10)
        .learner_file(LEARNER_FILE, source)
        .scenario(scenario)
        .exploration(explored())
        .invariant(no_good_event_dead_lettered)
        .invariant(every_good_event_shipped)
}

/// A rejected event is dead-lettered with a reason the producer can act
/// on.
pub fn silent_rejection() -> Check {
    silent_rejection_of(scenario(), SERVICE_SOURCE)
}

/// [`silent_rejection`] for another consumer.
pub fn silent_rejection_of(scenario: Scenario, source: &str) -> Check {
    Check::new("silent-rejection", 10)
        .learner_file(LEARNER_FILE, source)
        .scenario(scenario)
        .exploration(explored())
        .invariant(every_rejection_explained)
        .invariant(every_bad_event_dead_lettered)
}

/// The run without faults, every crash point, every fault point, and
/// [`RANDOM_PLANS`] random plans unless `EDA_SEEDS` says otherwise.
fn explored() -> Exploration {
    Exploration::graded().with_random_plans(RANDOM_PLANS)
}

/// The random plans a learner's grade runs per check: fewer than the
/// engine's default, because the mistakes of this exercise need no fault
/// (the crash points and fault points already show that a refusal survives
/// a crash and a lost reply); `cargo xtask verify` runs thousands.
const RANDOM_PLANS: u64 = 100;

fn bad_events() -> impl Iterator<Item = Sample> {
    events()
        .into_iter()
        .filter(|sample| sample.kind != Kind::Good)
}

fn good_events() -> impl Iterator<Item = Sample> {
    events()
        .into_iter()
        .filter(|sample| sample.kind == Kind::Good)
}

/// Whether a shipment was committed for the sample's order.
fn shipped(run: &Run, sample: &Sample) -> Option<serde_json::Value> {
    run.store
        .committed(SHIPMENTS)
        .remove(sample.order_id)
        .map(|row| row.value)
}

/// The sample's envelope in the dead-letter queue at the end, if it is
/// there.
fn dead_letter(run: &Run, sample: &Sample) -> Option<Envelope> {
    run.remaining(&dead_letter_path(ORDER_EVENTS))
        .into_iter()
        .find(|envelope| envelope.message_id() == sample.message_id)
}

/// Whether the service dead-lettered the sample itself (not the broker,
/// after too many deliveries).
fn dead_lettered_by_the_service(run: &Run, sample: &Sample) -> bool {
    run.events.iter().any(|event| {
        event.operation == Operation::DeadLetter
            && event.outcome.is_ok()
            && event.target.as_deref() == Some(ORDER_EVENTS)
            && event.message_id.as_deref() == Some(sample.message_id)
    })
}

/// "reason \"X\" and description \"Y\"".
fn said(envelope: &Envelope) -> String {
    format!(
        "reason {:?} and description {:?}",
        envelope.dead_letter_reason.as_deref().unwrap_or_default(),
        envelope
            .dead_letter_description
            .as_deref()
            .unwrap_or_default()
    )
}

/// `accepted-bad-event`: a malformed event became a shipment.
fn no_bad_event_shipped(run: &Run) -> Result<(), Violation> {
    for sample in bad_events() {
        if let Some(row) = shipped(run, &sample) {
            return Err(Violation::for_message(
                sample.message_id,
                format!(
                    "`{}` ({}) was accepted: a shipment was recorded for `{}` ({row}), though \
                     {}. A consumer that fills the gap with a guess ships the guess; refuse \
                     the event at the boundary instead",
                    sample.message_id,
                    sample.kind.describe(),
                    sample.order_id,
                    sample.flaw
                ),
            ));
        }
    }
    Ok(())
}

/// `rejected-good-event`: a valid event was refused.
fn no_good_event_dead_lettered(run: &Run) -> Result<(), Violation> {
    for sample in good_events() {
        if !dead_lettered_by_the_service(run, &sample) {
            continue;
        }
        let told = dead_letter(run, &sample)
            .map(|envelope| format!(" with {}", said(&envelope)))
            .unwrap_or_default();
        let why = match sample.message_id {
            "evt-1002" => {
                " It comes from a newer producer and carries a field this consumer does not \
                 know (`gift_wrap`): adding a field is how a contract grows, so ignore the \
                 fields you do not use"
            }
            "evt-1003" => {
                " It comes from an older producer and leaves out `delivery_note`, which the \
                 contract makes optional"
            }
            _ => "",
        };
        return Err(Violation::for_message(
            sample.message_id,
            format!(
                "`{}` keeps the contract and was dead-lettered{told}: a strict contract \
                 refuses what breaks it, not what it did not expect.{why}",
                sample.message_id
            ),
        ));
    }
    Ok(())
}

/// `rejected-good-event`: in a run without faults, every valid event is
/// shipped as its body says, and completed.
fn every_good_event_shipped(run: &Run) -> Result<(), Violation> {
    if !run.plan.is_empty() {
        return Ok(());
    }
    for sample in good_events() {
        let Some(row) = shipped(run, &sample) else {
            return Err(Violation::for_message(
                sample.message_id,
                format!(
                    "in a run without faults, `{}` keeps the contract and no shipment was \
                     recorded for `{}`",
                    sample.message_id, sample.order_id
                ),
            ));
        };
        if row["total_cents"].as_u64() != Some(sample.total_cents)
            || row["shipping_address"].as_str() != Some(sample.shipping_address)
        {
            return Err(Violation::for_message(
                sample.message_id,
                format!(
                    "the shipment of `{}` is {row}, but the event's body says total_cents {} \
                     and shipping_address {:?}",
                    sample.order_id, sample.total_cents, sample.shipping_address
                ),
            ));
        }
        if !run.removed(ORDER_EVENTS, sample.message_id) {
            return Err(Violation::for_message(
                sample.message_id,
                format!(
                    "in a run without faults, `{}` was shipped but never completed: the broker \
                     will deliver it again",
                    sample.message_id
                ),
            ));
        }
    }
    Ok(())
}

/// `silent-rejection`: a malformed event was refused without telling the
/// producer what is wrong.
fn every_rejection_explained(run: &Run) -> Result<(), Violation> {
    for sample in bad_events() {
        let Some(envelope) = dead_letter(run, &sample) else {
            if run.removed(ORDER_EVENTS, sample.message_id) && shipped(run, &sample).is_none() {
                return Err(Violation::for_message(
                    sample.message_id,
                    format!(
                        "`{}` ({}) was completed without a shipment: dropped in silence. The \
                         checkout team will never learn that {}; dead-letter it with a reason",
                        sample.message_id,
                        sample.kind.describe(),
                        sample.flaw
                    ),
                ));
            }
            continue;
        };
        let reason = envelope.dead_letter_reason.as_deref().unwrap_or_default();
        if reason == MAX_DELIVERY_COUNT_EXCEEDED {
            return Err(Violation::for_message(
                sample.message_id,
                format!(
                    "`{}` ({}) reached the dead-letter queue only because the broker gave up \
                     after {} deliveries ({reason}): the consumer returned an error each time \
                     instead of refusing it. An event that breaks the contract fails the same \
                     way on every retry, and the producer learns only that something failed, \
                     not that {}",
                    sample.message_id,
                    sample.kind.describe(),
                    envelope.delivery_count,
                    sample.flaw
                ),
            ));
        }
        let description = envelope
            .dead_letter_description
            .as_deref()
            .unwrap_or_default();
        if !reason.contains(sample.field) && !description.contains(sample.field) {
            return Err(Violation::for_message(
                sample.message_id,
                format!(
                    "`{}` ({}) was dead-lettered with {}, which does not say what is wrong: \
                     the checkout team reads that queue, and to fix their producer they need \
                     the field at fault (`{}`) and what the contract expects of it",
                    sample.message_id,
                    sample.kind.describe(),
                    said(&envelope),
                    sample.field
                ),
            ));
        }
    }
    Ok(())
}

/// `silent-rejection`: in a run without faults, every malformed event ends
/// in the dead-letter queue.
fn every_bad_event_dead_lettered(run: &Run) -> Result<(), Violation> {
    if !run.plan.is_empty() {
        return Ok(());
    }
    for sample in bad_events() {
        if dead_letter(run, &sample).is_some() {
            continue;
        }
        let fate = if shipped(run, &sample).is_some() {
            "was accepted instead, so nobody told the checkout team it breaks the contract"
        } else {
            "is not in the dead-letter queue, where the checkout team would see it"
        };
        return Err(Violation::for_message(
            sample.message_id,
            format!(
                "in a run without faults, `{}` ({}) {fate}: {}",
                sample.message_id,
                sample.kind.describe(),
                sample.flaw
            ),
        ));
    }
    Ok(())
}

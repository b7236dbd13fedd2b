//! The rubric: the graded checks of `capstone` and what each is worth. Do
//! not edit: this is the grader. `tests/checks.rs` runs each check as one
//! `#[test]`; the book's failure figure is drawn from [`lost_event`].
//!
//! Every check is one the course has met before, under the same name and
//! meaning, so the report reads like a review of the whole course:
//!
//! | check | chapter | the morning or the afternoon |
//! | --- | --- | --- |
//! | `lost-message` | 3, the configuration | morning |
//! | `duplicate-side-effect` | 4, idempotency | morning |
//! | `lost-event` | 5, dual writes | morning |
//! | `poison-storm` | 9, the kill switch | afternoon |
//! | `no-resume` | 9, the kill switch | afternoon |
//!
//! The morning's checks explore what every graded exercise explores: the run
//! without faults, every crash point, every fault point and the seeded
//! random plans (`EDA_SEEDS`, `EDA_SEED`). The afternoon's play the outage
//! without faults, then [`AFTERNOON_PLANS`] random plans (at most
//! [`MAX_AFTERNOON_PLANS`]): an afternoon has thousands of operations, and
//! its lesson is in the outage, which every run has.
//!
//! Every check also requires that the runtime works when nothing fails, so a
//! runtime that does nothing cannot pass by having nothing to judge. And
//! `cargo xtask grade capstone` runs eda-lint on the file: the exercise is
//! done when every check passes and eda-lint reports nothing.

use std::collections::BTreeMap;
use std::time::Duration;

use broker::clock::format_offset;
use broker::dead_letter_path;
use broker::grading::{Check, Violation};
use broker::simulation::{Exploration, Run, Scenario};

use crate::payments::{self, CARD_GATEWAY, PAYMENT_EVENTS, PAYMENT_REQUESTS, PAYMENTS};
use crate::scenario::{
    OUTAGE_LASTS, OUTAGE_STARTS, afternoon, afternoon_payments, morning, morning_payments,
    outage_ends,
};

/// The file the learner edits, as the grader reads it for state kept
/// outside the service (see [`Check::learner_file`]): a set of processed
/// payments in a `static` survives the simulated crash only because the
/// grader runs the runtime in one process.
const LEARNER_FILE: &str = "src/runtime.rs";
/// The learner's file as compiled.
#[cfg(not(feature = "solution"))]
const RUNTIME_SOURCE: &str = include_str!("runtime.rs");
#[cfg(feature = "solution")]
const RUNTIME_SOURCE: &str = include_str!("../solution/runtime.rs");

/// The most good payment requests that may end the afternoon in the
/// dead-letter queue: 10 % of the 60 that arrive during the outage. A
/// runtime that pauses still spends a few: each probe after a pause takes
/// a real request, and one handed back ten times is dead-lettered.
pub const MAX_DEAD_LETTERS: usize = 6;
/// How long after the card gateway is back the runtime may take to charge
/// again.
pub const RESUME_WITHIN: Duration = Duration::from_secs(10 * 60);
/// The random plans each afternoon check runs, unless `EDA_SEEDS` says
/// otherwise: few, because each is a whole afternoon, and the afternoon's
/// mistakes show in the run without faults.
pub const AFTERNOON_PLANS: u64 = 4;
/// The most random plans an afternoon check runs, whatever `EDA_SEEDS` asks
/// (`cargo xtask verify` asks for thousands).
pub const MAX_AFTERNOON_PLANS: u64 = 100;

fn morning_check(name: &str, points: u32, scenario: Scenario, source: &str) -> Check {
    Check::new(name, points)
        .learner_file(LEARNER_FILE, source)
        .scenario(scenario)
        .exploration(Exploration::graded())
        .invariant(the_morning_works)
}

fn afternoon_check(name: &str, points: u32, scenario: Scenario, source: &str) -> Check {
    Check::new(name, points)
        .learner_file(LEARNER_FILE, source)
        .scenario(scenario)
        .exploration(the_afternoon())
        .invariant(the_afternoon_works)
}

/// The runs every afternoon check makes: the afternoon without faults, then
/// the random plans, at most [`MAX_AFTERNOON_PLANS`] of them whatever
/// `EDA_SEEDS` says.
fn the_afternoon() -> Exploration {
    Exploration::long_runs(AFTERNOON_PLANS, MAX_AFTERNOON_PLANS)
}

/// Chapter 3: no payment request is acknowledged before its payment is
/// recorded. Every request is recorded in `payments`, or still held by the
/// broker (in the queue or its dead-letter queue).
pub fn lost_message() -> Check {
    lost_message_of(morning(), RUNTIME_SOURCE)
}

/// [`lost_message`] for another runtime: its scenario and its source text.
pub fn lost_message_of(scenario: Scenario, source: &str) -> Check {
    morning_check("lost-message", 5, scenario, source).invariant(nothing_lost)
}

/// Chapter 4: no card is charged twice for one payment, whatever is
/// delivered or tried again.
pub fn duplicate_side_effect() -> Check {
    duplicate_side_effect_of(morning(), RUNTIME_SOURCE)
}

/// [`duplicate_side_effect`] for another runtime.
pub fn duplicate_side_effect_of(scenario: Scenario, source: &str) -> Check {
    morning_check("duplicate-side-effect", 10, scenario, source).invariant(one_charge_per_payment)
}

/// Chapter 5: every recorded payment is announced on `payment-events`.
pub fn lost_event() -> Check {
    lost_event_of(morning(), RUNTIME_SOURCE)
}

/// [`lost_event`] for another runtime.
pub fn lost_event_of(scenario: Scenario, source: &str) -> Check {
    morning_check("lost-event", 10, scenario, source).invariant(every_payment_announced)
}

/// Chapter 9: the gateway's outage does not fill the dead-letter queue: at
/// most [`MAX_DEAD_LETTERS`] good requests end there.
pub fn poison_storm() -> Check {
    poison_storm_of(afternoon(), RUNTIME_SOURCE)
}

/// [`poison_storm`] for another runtime.
pub fn poison_storm_of(scenario: Scenario, source: &str) -> Check {
    afternoon_check("poison-storm", 10, scenario, source).invariant(few_dead_letters)
}

/// Chapter 9: after the outage the runtime charges again within
/// [`RESUME_WITHIN`], and by the end no request is left waiting.
pub fn no_resume() -> Check {
    no_resume_of(afternoon(), RUNTIME_SOURCE)
}

/// [`no_resume`] for another runtime.
pub fn no_resume_of(scenario: Scenario, source: &str) -> Check {
    afternoon_check("no-resume", 5, scenario, source).invariant(resumes_after_the_outage)
}

// --- What the checks read -------------------------------------------------------

/// "+00:10:00.000".
fn at(offset: Duration) -> String {
    format_offset(offset)
}

/// The gateway's charges per payment id, with when each was made.
fn charges_per_payment(run: &Run) -> BTreeMap<String, Vec<Duration>> {
    let mut per_payment: BTreeMap<String, Vec<Duration>> = BTreeMap::new();
    for charged in payments::charges(run) {
        per_payment
            .entry(charged.charge.payment_id)
            .or_default()
            .push(charged.at);
    }
    per_payment
}

/// The payment ids that `payment-events` accepted an event for: the
/// `payment_id` field of each event's JSON body.
fn announced(run: &Run) -> Vec<String> {
    run.remaining(PAYMENT_EVENTS)
        .iter()
        .filter_map(|envelope| {
            let body: serde_json::Value = serde_json::from_slice(envelope.body()).ok()?;
            Some(body.get("payment_id")?.as_str()?.to_owned())
        })
        .collect()
}

/// Every morning check: in the run without faults, each payment was
/// charged, recorded and announced.
fn the_morning_works(run: &Run) -> Result<(), Violation> {
    if !run.plan.is_empty() {
        return Ok(());
    }
    let charged = charges_per_payment(run);
    let recorded = run.store.committed(PAYMENTS);
    let announced = announced(run);
    for payment in morning_payments() {
        let id = &payment.payment_id;
        let missing = if !charged.contains_key(id) {
            format!("its card was never charged at `{CARD_GATEWAY}`")
        } else if !recorded.contains_key(id) {
            format!("it was charged but never recorded in the `{PAYMENTS}` table")
        } else if !announced.contains(id) {
            format!(
                "it was charged and recorded, but no event with `\"payment_id\": \"{id}\"` in \
                 its JSON body reached `{PAYMENT_EVENTS}`"
            )
        } else {
            continue;
        };
        return Err(Violation::for_message(
            id.clone(),
            format!(
                "in a run without faults, `{id}` was not handled: {missing}. A runtime must \
                 charge, record and announce every payment when nothing goes wrong"
            ),
        ));
    }
    Ok(())
}

/// Every afternoon check: in the run without faults, each payment that
/// arrived more than a minute before the outage was charged before it.
fn the_afternoon_works(run: &Run) -> Result<(), Violation> {
    if !run.plan.is_empty() {
        return Ok(());
    }
    let charged = charges_per_payment(run);
    for (arrived, request) in afternoon_payments() {
        if arrived + Duration::from_secs(60) > OUTAGE_STARTS {
            break;
        }
        let id = request.payment_id;
        let in_time = charged
            .get(&id)
            .and_then(|times| times.first())
            .is_some_and(|when| *when < OUTAGE_STARTS);
        if !in_time {
            return Err(Violation::for_message(
                id.clone(),
                format!(
                    "in a run without faults, `{id}` arrived at {} and was not charged at \
                     `{CARD_GATEWAY}` before its outage began at {}, though the gateway was up \
                     all that time: the runtime must handle what it can",
                    at(arrived),
                    at(OUTAGE_STARTS)
                ),
            ));
        }
    }
    Ok(())
}

/// `lost-message`: a request settled without its payment being recorded.
fn nothing_lost(run: &Run) -> Result<(), Violation> {
    let recorded = run.store.committed(PAYMENTS);
    let charged = charges_per_payment(run);
    for payment in morning_payments() {
        let id = &payment.payment_id;
        if recorded.contains_key(id) || run.still_held(PAYMENT_REQUESTS, id) {
            continue;
        }
        let charge = if charged.contains_key(id) {
            "its card was charged, but the payment was never recorded"
        } else {
            "its card was never charged and the payment never recorded"
        };
        return Err(Violation::for_message(
            id.clone(),
            format!(
                "`{id}` is neither in `{PAYMENT_REQUESTS}` nor in its dead-letter queue, and \
                 {charge} in `{PAYMENTS}`: the request was settled before its work was done, \
                 and the payment is lost. Completing a message tells the broker the work is done"
            ),
        ));
    }
    Ok(())
}

/// `duplicate-side-effect`: a card charged twice for one payment.
fn one_charge_per_payment(run: &Run) -> Result<(), Violation> {
    for (id, times) in charges_per_payment(run) {
        if times.len() > 1 {
            let when: Vec<String> = times.iter().map(|time| at(*time)).collect();
            return Err(Violation::for_message(
                id.clone(),
                format!(
                    "the card of `{id}` was charged {} times (at {}): the charge was made again \
                     (a redelivery after a crash, or a retry after a lost reply) and \
                     `{CARD_GATEWAY}` could not tell the repeat from a new payment",
                    times.len(),
                    when.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// `lost-event`: a recorded payment that was never announced.
fn every_payment_announced(run: &Run) -> Result<(), Violation> {
    let announced = announced(run);
    for id in run.store.committed(PAYMENTS).keys() {
        if announced.contains(id) {
            continue;
        }
        return Err(Violation::for_message(
            id.clone(),
            format!(
                "payment `{id}` is recorded in `{PAYMENTS}`, but no event for it (a JSON body \
                 with `\"payment_id\": \"{id}\"`) ever reached `{PAYMENT_EVENTS}`: the row was \
                 committed, the publish that should follow it never happened, and by the end of \
                 the run nothing was left that knew an event was owed"
            ),
        ));
    }
    Ok(())
}

/// `poison-storm`: too many good requests in the dead-letter queue.
fn few_dead_letters(run: &Run) -> Result<(), Violation> {
    let ids: Vec<String> = afternoon_payments()
        .into_iter()
        .map(|(_, request)| request.payment_id)
        .collect();
    let dead_letters = run.remaining(&dead_letter_path(PAYMENT_REQUESTS));
    let good: Vec<_> = dead_letters
        .iter()
        .filter(|envelope| ids.iter().any(|id| **id == *envelope.message_id))
        .collect();
    if good.len() <= MAX_DEAD_LETTERS {
        return Ok(());
    }
    let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
    for envelope in &good {
        *reasons
            .entry(envelope.dead_letter_reason.as_deref().unwrap_or("none"))
            .or_default() += 1;
    }
    let reasons: Vec<String> = reasons
        .iter()
        .map(|(reason, count)| format!("{count} as `{reason}`"))
        .collect();
    let first = good[0].message_id.to_string();
    Err(Violation::for_message(
        first.clone(),
        format!(
            "{} good payment requests ended the afternoon in the dead-letter queue ({}), more \
             than the {MAX_DEAD_LETTERS} allowed: `{CARD_GATEWAY}` was down for {} minutes, and \
             the runtime kept taking requests and failing them. Nothing was wrong with them; the \
             gateway was sick. The first was `{first}`",
            good.len(),
            reasons.join(", "),
            OUTAGE_LASTS.as_secs() / 60
        ),
    ))
}

/// `no-resume`: the runtime did not come back after the outage.
fn resumes_after_the_outage(run: &Run) -> Result<(), Violation> {
    let back = outage_ends();
    let first_charge = run
        .calls_to(CARD_GATEWAY)
        .into_iter()
        .map(|call| call.at)
        .find(|when| *when >= back);
    let waiting: Vec<String> = run
        .remaining(PAYMENT_REQUESTS)
        .iter()
        .map(|envelope| envelope.message_id.to_string())
        .collect();
    let late = match first_charge {
        Some(when) if when <= back + RESUME_WITHIN => None,
        Some(when) => Some(format!(
            "the first charge after the gateway came back at {} was at {}, more than {} minutes \
             later",
            at(back),
            at(when),
            RESUME_WITHIN.as_secs() / 60
        )),
        None => Some(format!(
            "the gateway came back at {} and the runtime never charged a card again",
            at(back)
        )),
    };
    let sentence = match (late, waiting.first()) {
        (None, None) => return Ok(()),
        (Some(late), Some(oldest)) => format!(
            "{late}; at the end of the afternoon {} requests still waited on \
             `{PAYMENT_REQUESTS}`, the oldest `{oldest}`: a paused runtime has to try again, or \
             it stays paused for ever",
            waiting.len()
        ),
        (Some(late), None) => format!(
            "{late}: a paused runtime has to try again after a while, and carry on when the \
             gateway answers"
        ),
        (None, Some(oldest)) => format!(
            "at the end of the afternoon {} requests still waited on `{PAYMENT_REQUESTS}`, the \
             oldest `{oldest}`, though the gateway had been back since {}: after a pause the \
             runtime must drain the backlog",
            waiting.len(),
            at(back)
        ),
    };
    Err(match waiting.first() {
        Some(id) => Violation::for_message(id.clone(), sentence),
        None => Violation::new(sentence),
    })
}

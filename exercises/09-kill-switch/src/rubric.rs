//! The rubric: the graded checks of `kill-switch` and what each is worth.
//! Do not edit: this is the grader. `tests/checks.rs` runs each check as one
//! `#[test]`; the book's failure figure is drawn from [`poison_storm`].
//!
//! Every check plays the whole night (eight hours of virtual time, the
//! carrier down for six of them): once without faults, then
//! [`RANDOM_PLANS`] (at most [`MAX_RANDOM_PLANS`]) seeded random plans of crashes, lost replies,
//! unavailable operations and duplicate deliveries (`EDA_SEEDS` and
//! `EDA_SEED` change them). Not every crash point: a night has thousands of
//! operations, and the lesson is in the outage, which every run has.
//!
//! Each judges what the outside world sees at the end (the queue, its
//! dead-letter queue, the carrier's bookings) and the trace. Every check
//! also requires that the consumer works when nothing fails: each order
//! that arrived in the hour before the outage was booked before it began. A
//! consumer that books nothing cannot pass by having nothing to judge.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use broker::clock::format_offset;
use broker::grading::{Check, Violation};
use broker::simulation::{Exploration, Run, Scenario};
use broker::trace::{Operation, TraceEvent};
use broker::{MAX_DELIVERY_COUNT_EXCEEDED, dead_letter_path};

use crate::scenario::{
    CONSUMER, OUTAGE_LASTS, OUTAGE_STARTS, malformed, orders, outage_ends, scenario,
};
use crate::shipping::{CARRIER_API, SHIPMENT_REQUESTS};

/// The file the learner edits, as the grader reads it for state kept
/// outside the service (see [`Check::learner_file`]): a breaker in a
/// `static` survives the simulated crash only because the grader runs the
/// consumer in one process; a restarted process starts with a fresh one.
const LEARNER_FILE: &str = "src/consumer.rs";
/// The learner's file as compiled.
#[cfg(not(feature = "solution"))]
const CONSUMER_SOURCE: &str = include_str!("consumer.rs");
#[cfg(feature = "solution")]
const CONSUMER_SOURCE: &str = include_str!("../solution/consumer.rs");

/// The most well-formed orders that may end in the dead-letter queue over
/// the night: 5 % of the 1,080 that arrive during the outage. A consumer
/// that pauses still spends a few: each probe after a pause takes a real
/// message, and one abandoned ten times goes to the dead-letter queue.
pub const MAX_DEAD_LETTERS: usize = 54;
/// How long after the outage starts (or the consumer starts again after a
/// crash) it may take to notice: five minutes.
pub const NOTICE_WITHIN: Duration = Duration::from_secs(5 * 60);
/// After that, during the outage, at most this many messages taken from the
/// queue in any [`WINDOW`]: one a minute, a probe.
pub const MAX_TAKEN_PER_WINDOW: usize = 10;
/// The windows `no-pause` counts in.
pub const WINDOW: Duration = Duration::from_secs(10 * 60);
/// How long after the carrier is back the consumer may take to book again.
pub const RESUME_WITHIN: Duration = Duration::from_secs(15 * 60);
/// The random plans a learner's grade runs per check, unless `EDA_SEEDS`
/// says otherwise: few, because each is a whole night, and the mistakes of
/// this exercise show in the night without faults.
pub const RANDOM_PLANS: u64 = 4;
/// The most random plans a check runs, whatever `EDA_SEEDS` asks
/// (`cargo xtask verify` asks for thousands): a night costs about 60 ms.
pub const MAX_RANDOM_PLANS: u64 = 200;

fn check(name: &str, points: u32, scenario: Scenario, source: &str) -> Check {
    Check::new(name, points)
        .learner_file(LEARNER_FILE, source)
        .scenario(scenario)
        .exploration(the_night())
        .invariant(the_consumer_works)
}

/// The runs every check makes: the night without faults, then the random
/// plans. The faults are the ones a consumer meets on any night; the outage
/// is the scenario's own, in every run.
///
/// `EDA_SEEDS` and `EDA_SEED` choose the plans as in every exercise, but at
/// most [`MAX_RANDOM_PLANS`] of them: each plan is a whole night.
fn the_night() -> Exploration {
    Exploration::long_runs(RANDOM_PLANS, MAX_RANDOM_PLANS)
}

/// The dead letters stay under [`MAX_DEAD_LETTERS`]: an outage downstream
/// does not turn the night's orders into dead letters.
pub fn poison_storm() -> Check {
    poison_storm_of(scenario(), CONSUMER_SOURCE)
}

/// [`poison_storm`] for another consumer: its scenario and its source text.
pub fn poison_storm_of(scenario: Scenario, source: &str) -> Check {
    check("poison-storm", 10, scenario, source).invariant(few_dead_letters)
}

/// Consumption stops soon after the outage starts: after
/// [`NOTICE_WITHIN`], at most [`MAX_TAKEN_PER_WINDOW`] messages taken in
/// any [`WINDOW`] while the carrier is down.
pub fn no_pause() -> Check {
    no_pause_of(scenario(), CONSUMER_SOURCE)
}

/// [`no_pause`] for another consumer.
pub fn no_pause_of(scenario: Scenario, source: &str) -> Check {
    check("no-pause", 10, scenario, source).invariant(pauses_during_the_outage)
}

/// Consumption resumes after the outage ends: a booking within
/// [`RESUME_WITHIN`], and by the end of the night no order left waiting.
pub fn no_resume() -> Check {
    no_resume_of(scenario(), CONSUMER_SOURCE)
}

/// [`no_resume`] for another consumer.
pub fn no_resume_of(scenario: Scenario, source: &str) -> Check {
    check("no-resume", 10, scenario, source).invariant(resumes_after_the_outage)
}

/// Nothing is lost: every order is booked, or still in the queue or its
/// dead-letter queue.
pub fn lost_message() -> Check {
    lost_message_of(scenario(), CONSUMER_SOURCE)
}

/// [`lost_message`] for another consumer.
pub fn lost_message_of(scenario: Scenario, source: &str) -> Check {
    check("lost-message", 10, scenario, source).invariant(nothing_lost)
}

/// A genuinely malformed message still goes to the dead-letter queue, sent
/// there by the consumer, and is never handed back to be tried again.
pub fn poison_swallowed() -> Check {
    poison_swallowed_of(scenario(), CONSUMER_SOURCE)
}

/// [`poison_swallowed`] for another consumer.
pub fn poison_swallowed_of(scenario: Scenario, source: &str) -> Check {
    check("poison-swallowed", 5, scenario, source).invariant(bad_messages_dead_lettered)
}

// --- What the checks read -------------------------------------------------------

/// The well-formed orders' ids.
fn order_ids() -> BTreeSet<String> {
    orders()
        .into_iter()
        .map(|(_, request)| request.order_id)
        .collect()
}

/// When each order was booked first (since the start of the run).
fn bookings(run: &Run) -> BTreeMap<String, Duration> {
    let mut booked = BTreeMap::new();
    for call in run.calls_to(CARRIER_API) {
        booked.entry(call.key.to_string()).or_insert(call.at);
    }
    booked
}

/// The messages taken from the queue: its successful receives.
fn taken(run: &Run) -> impl Iterator<Item = &TraceEvent> {
    run.events.iter().filter(|event| {
        event.operation == Operation::Receive
            && event.target.as_deref() == Some(SHIPMENT_REQUESTS)
            && event.outcome.is_ok()
            && event.message_id.is_some()
    })
}

/// "+01:05:00.000".
fn at(offset: Duration) -> String {
    format_offset(offset)
}

/// Every check: in a run without faults, each order that arrived more than
/// a minute before the outage was booked before the outage began.
fn the_consumer_works(run: &Run) -> Result<(), Violation> {
    if !run.plan.is_empty() {
        return Ok(());
    }
    let booked = bookings(run);
    for (arrived, request) in orders() {
        if arrived + Duration::from_secs(60) > OUTAGE_STARTS {
            break;
        }
        let in_time = booked
            .get(&request.order_id)
            .is_some_and(|when| *when < OUTAGE_STARTS);
        if !in_time {
            let id = request.order_id;
            return Err(Violation::for_message(
                id.clone(),
                format!(
                    "in a run without faults, `{id}` arrived at {} and was not booked with \
                     `{CARRIER_API}` before its outage began at {}, though the carrier was up all \
                     that time: the consumer must book what it can",
                    at(arrived),
                    at(OUTAGE_STARTS)
                ),
            ));
        }
    }
    Ok(())
}

/// `poison-storm`: too many good orders in the dead-letter queue.
fn few_dead_letters(run: &Run) -> Result<(), Violation> {
    let orders = order_ids();
    let dead_letters = run.remaining(&dead_letter_path(SHIPMENT_REQUESTS));
    let good: Vec<_> = dead_letters
        .iter()
        .filter(|envelope| orders.contains(&*envelope.message_id))
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
    let first = &good[0].message_id;
    let by_the_broker = good
        .iter()
        .filter(|envelope| {
            envelope.dead_letter_reason.as_deref() == Some(MAX_DELIVERY_COUNT_EXCEEDED)
        })
        .count();
    let how = if by_the_broker * 2 > good.len() {
        "most were handed back until the broker gave up on them: each try during the outage \
         spends one of a message's deliveries, and the tenth sends it to the dead-letter queue"
    } else {
        "every order the consumer took in that time failed and was parked"
    };
    Err(Violation::for_message(
        first.to_string(),
        format!(
            "{} orders that were perfectly good ended the night in the dead-letter queue ({}), \
             more than the {MAX_DEAD_LETTERS} allowed: the carrier was down for {} hours, and \
             {how}. Nothing was wrong with them; the carrier was sick. The first was `{first}`",
            good.len(),
            reasons.join(", "),
            OUTAGE_LASTS.as_secs() / 3600
        ),
    ))
}

/// `no-pause`: the consumer kept taking messages while the carrier was down.
fn pauses_during_the_outage(run: &Run) -> Result<(), Violation> {
    let starts: Vec<Duration> = run
        .events
        .iter()
        .filter(|event| event.operation == Operation::Start && &*event.actor == CONSUMER)
        .map(|event| event.at)
        .collect();
    // A consumer learns again after each start: its memory is gone.
    let learning = |when: Duration| {
        std::iter::once(OUTAGE_STARTS)
            .chain(starts.iter().copied())
            .any(|start| start <= when && when < start + NOTICE_WITHIN)
    };
    let mut window_start = OUTAGE_STARTS + NOTICE_WITHIN;
    while window_start + WINDOW <= outage_ends() {
        let window_end = window_start + WINDOW;
        let in_window: Vec<&TraceEvent> = taken(run)
            .filter(|event| {
                window_start <= event.at && event.at < window_end && !learning(event.at)
            })
            .collect();
        if in_window.len() > MAX_TAKEN_PER_WINDOW {
            let first = in_window[0].message_id.as_deref().unwrap_or("?").to_owned();
            return Err(Violation::for_message(
                first.clone(),
                format!(
                    "between {} and {}, while `{CARRIER_API}` was down (from {} to {}), the \
                     consumer took {} messages from `{SHIPMENT_REQUESTS}`, more than the \
                     {MAX_TAKEN_PER_WINDOW} allowed in ten minutes once it has had {} minutes to \
                     notice: every call failed, and it went on taking the next one. The first was \
                     `{first}`",
                    at(window_start),
                    at(window_end),
                    at(OUTAGE_STARTS),
                    at(outage_ends()),
                    in_window.len(),
                    NOTICE_WITHIN.as_secs() / 60
                ),
            ));
        }
        window_start = window_end;
    }
    Ok(())
}

/// `no-resume`: the consumer did not come back after the outage.
fn resumes_after_the_outage(run: &Run) -> Result<(), Violation> {
    let back = outage_ends();
    let first_booking = run
        .calls_to(CARRIER_API)
        .into_iter()
        .map(|call| call.at)
        .find(|when| *when >= back);
    let orders = order_ids();
    let waiting: Vec<String> = run
        .remaining(SHIPMENT_REQUESTS)
        .iter()
        .filter(|envelope| orders.contains(&*envelope.message_id))
        .map(|envelope| envelope.message_id.to_string())
        .collect();
    let late = match first_booking {
        Some(when) if when <= back + RESUME_WITHIN => None,
        Some(when) => Some(format!(
            "the first booking after the carrier came back at {} was at {}, more than {} minutes \
             later",
            at(back),
            at(when),
            RESUME_WITHIN.as_secs() / 60
        )),
        None => Some(format!(
            "the carrier came back at {} and the consumer never booked anything again",
            at(back)
        )),
    };
    if late.is_none() && waiting.is_empty() {
        return Ok(());
    }
    let sentence = match (late, waiting.first()) {
        (Some(late), Some(oldest)) => format!(
            "{late}; at the end of the night {} orders still waited on `{SHIPMENT_REQUESTS}`, \
             the oldest `{oldest}`: a paused consumer has to try again, or it stays paused for ever",
            waiting.len()
        ),
        (Some(late), None) => format!(
            "{late}: a paused consumer has to try again after a while, and carry on when the \
             carrier answers"
        ),
        (None, Some(oldest)) => format!(
            "at the end of the night {} orders still waited on `{SHIPMENT_REQUESTS}`, the oldest \
             `{oldest}`, though the carrier had been back since {}: after a pause the consumer \
             must drain the backlog",
            waiting.len(),
            at(back)
        ),
        (None, None) => return Ok(()),
    };
    let concerned = waiting.first().cloned();
    Err(match concerned {
        Some(id) => Violation::for_message(id, sentence),
        None => Violation::new(sentence),
    })
}

/// `lost-message`: an order neither booked nor held by the broker.
fn nothing_lost(run: &Run) -> Result<(), Violation> {
    let booked = bookings(run);
    for (_, request) in orders() {
        let id = &request.order_id;
        if booked.contains_key(id) || run.still_held(SHIPMENT_REQUESTS, id) {
            continue;
        }
        return Err(Violation::for_message(
            id.clone(),
            format!(
                "`{id}` was never booked with `{CARRIER_API}`, and it is neither in \
                 `{SHIPMENT_REQUESTS}` nor in its dead-letter queue: the consumer settled it \
                 without booking it, and the order is lost. Completing a message tells the broker \
                 the work is done"
            ),
        ));
    }
    Ok(())
}

/// `poison-swallowed`: a malformed message did not reach the dead-letter
/// queue by the consumer's own hand, or was handed back to be tried again.
fn bad_messages_dead_lettered(run: &Run) -> Result<(), Violation> {
    let dead_letters = run.remaining(&dead_letter_path(SHIPMENT_REQUESTS));
    for (_, id, _) in malformed() {
        let abandoned = run
            .events
            .iter()
            .filter(|event| {
                event.operation == Operation::Abandon
                    && event.outcome.is_ok()
                    && event.message_id.as_deref() == Some(id)
            })
            .count();
        let parked = dead_letters
            .iter()
            .find(|envelope| &*envelope.message_id == id);
        let by_consumer = run.events.iter().any(|event| {
            event.operation == Operation::DeadLetter
                && event.outcome.is_ok()
                && event.message_id.as_deref() == Some(id)
        });
        let times = match abandoned {
            1 => "once".to_owned(),
            n => format!("{n} times"),
        };
        let problem = match parked {
            None if run.still_held(SHIPMENT_REQUESTS, id) => format!(
                "is still on `{SHIPMENT_REQUESTS}` at the end of the night, not in its \
                 dead-letter queue"
            ),
            None => "was settled and is gone: it is in neither the queue nor its dead-letter \
                     queue, so the producer will never hear that it sends broken messages"
                .to_owned(),
            Some(envelope) if !by_consumer => format!(
                "reached the dead-letter queue only because the broker gave up on it (`{}`), \
                 after it was handed back {times}",
                envelope.dead_letter_reason.as_deref().unwrap_or("none")
            ),
            Some(_) if abandoned > 0 => format!(
                "was handed back (abandoned) {times} before the consumer dead-lettered it: \
                 trying it again cannot help"
            ),
            Some(_) => continue,
        };
        return Err(Violation::for_message(
            id,
            format!(
                "`{id}` is not a shipment request (its body was cut short), and it {problem}. \
                 The kill switch must tell a sick carrier from a bad message: a bad message \
                 goes to the dead-letter queue at once, outage or not"
            ),
        ));
    }
    Ok(())
}

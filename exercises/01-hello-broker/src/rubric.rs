//! The rubric: the graded checks of `hello-broker` and what each is worth.
//! Do not edit: this is the grader. `tests/checks.rs` runs each check as one
//! `#[test]`; the book's failure figure is drawn from [`unsettled_message`].

use broker::grading::{Check, Violation, invariants};
use broker::simulation::Run;
use broker::trace::{Operation, TraceEvent};

use crate::hello::find_crash_point;
use crate::world::{CONSOLE, GREETING_TEXT, GREETINGS, greeting, order_pipeline};

/// The file the learner edits, as the grader reads it for state kept
/// outside the service (see [`Check::learner_file`]).
const LEARNER_FILE: &str = "src/hello.rs";
#[cfg(not(feature = "solution"))]
const LEARNER_SOURCE: &str = include_str!("hello.rs");
#[cfg(feature = "solution")]
const LEARNER_SOURCE: &str = include_str!("../solution/hello.rs");

/// A check of this exercise: it reads the learner's file first, then
/// explores every crash point and the seeded random fault plans (lost
/// replies, delays, an unavailable broker, outages, more crashes; as many
/// as `EDA_SEEDS` says, 500 by default).
fn check(name: &str, points: u32) -> Check {
    Check::new(name, points).learner_file(LEARNER_FILE, LEARNER_SOURCE)
}

/// The greeting arrives: the receiver prints `hello, broker`, even when a
/// service crashes at any of its crash points or meets a random fault plan.
pub fn lost_message() -> Check {
    check("lost-message", 5)
        .scenario(greeting())
        .invariant(invariants::no_lost_message(
            GREETINGS,
            invariants::downstream_called(CONSOLE),
        ))
        .invariant(greeting_printed)
}

/// The greeting is settled: by the end, nothing is left locked or waiting in
/// `greetings`, and nothing was dead-lettered (by the receiver, or by the
/// broker for being delivered too often), whatever crashed or failed.
pub fn unsettled_message() -> Check {
    check("unsettled-message", 5)
        .scenario(greeting())
        .invariant(invariants::no_unsettled_message(GREETINGS))
        .invariant(invariants::no_dead_letter(GREETINGS))
}

/// You can read a trace: for the run without faults, for a crash at each
/// crash point of a small order pipeline, and for random fault plans (most
/// of whose faults are not crashes: a lost reply, an unavailable broker, a
/// delay), `find_crash_point` names the operation at which the service
/// crashed, or `None` when nothing crashed.
pub fn misread_crash_point() -> Check {
    misread_crash_point_of(find_crash_point)
}

/// [`misread_crash_point`] grading another `find_crash_point`, so the
/// grader's own tests can prove it catches a wrong reading of a trace.
pub fn misread_crash_point_of(find: fn(&[TraceEvent]) -> Option<u64>) -> Check {
    check("misread-crash-point", 10)
        .scenario(order_pipeline())
        .invariant(move |run: &Run| crash_point_found(run, find))
}

/// `lost-message`: what the receiver printed is the greeting.
fn greeting_printed(run: &Run) -> Result<(), Violation> {
    let printed: Vec<&str> = run
        .calls_to(CONSOLE)
        .iter()
        .map(|call| call.detail.as_str())
        .collect();
    if printed.contains(&GREETING_TEXT) {
        return Ok(());
    }
    Err(Violation::new(format!(
        "the receiver never printed {GREETING_TEXT:?} (it printed {printed:?}): did the \
         greeting get sent, and does `receive_greeting` return its text?"
    )))
}

/// `misread-crash-point`: `find_crash_point` gave the wrong answer for this
/// run. The truth is the trace's CRASH entry. A random plan may crash the
/// service twice; then either crash is a right answer.
fn crash_point_found(run: &Run, find: fn(&[TraceEvent]) -> Option<u64>) -> Result<(), Violation> {
    let crashes: Vec<_> = run
        .events
        .iter()
        .filter(|event| event.operation == Operation::Crash)
        .collect();
    let crash = crashes.first().copied();
    let truth = crash.and_then(|event| event.operation_number);
    let answer = find(&run.events);
    if answer == truth
        || (answer.is_some() && crashes.iter().any(|event| event.operation_number == answer))
    {
        return Ok(());
    }
    // What the run had that is not a crash, to name a fault misread as one.
    let other_fault = run
        .events
        .iter()
        .find(|event| event.fault.is_some_and(|fault| !fault.is_crash()));
    let show = |point: Option<u64>| match point {
        Some(number) => format!("#{number}"),
        None => "None".to_string(),
    };
    let sentence = match crash {
        Some(event) => format!(
            "`find_crash_point` answered {} for a run whose service crashed at {} ({}, {} {}): \
             after a crash the service restarts and goes on, so look for the CRASH entry, not \
             the last one",
            show(answer),
            show(truth),
            event.note.as_deref().unwrap_or("crash"),
            event.actor,
            event.target.as_deref().unwrap_or(""),
        ),
        None => match other_fault {
            Some(event) => format!(
                "`find_crash_point` answered {} for a run in which nothing crashed (the answer \
                 is None): #{} met a fault, `{}`, but not a crash. A lost reply, a delay or an \
                 unavailable broker is an error the service sees and handles (or returns, and \
                 is restarted); a crash has its own CRASH entry",
                show(answer),
                event.operation_number.unwrap_or_default(),
                event
                    .fault
                    .map(|fault| fault.to_string())
                    .unwrap_or_default(),
            ),
            None => format!(
                "`find_crash_point` answered {} for a run in which nothing crashed (the answer \
                 is None)",
                show(answer)
            ),
        },
    };
    // No message id: the report shows the whole run's timeline, the trace
    // your function was given.
    Err(Violation::new(sentence))
}

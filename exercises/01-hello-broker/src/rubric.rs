//! The rubric: the graded checks of `hello-broker` and what each is worth.
//! Do not edit: this is the grader. `tests/checks.rs` runs each check as one
//! `#[test]`; the book's failure figure is drawn from [`unsettled_message`].

use broker::dead_letter_path;
use broker::grading::{Check, Violation, invariants};
use broker::simulation::{Exploration, Run};
use broker::trace::Operation;

use crate::hello::find_crash_point;
use crate::world::{CONSOLE, GREETING_TEXT, GREETINGS, greeting, order_pipeline};

/// The greeting arrives: the receiver prints `hello, broker`, even when a
/// service crashes at any of its crash points.
pub fn lost_message() -> Check {
    Check::new("lost-message", 5)
        .scenario(greeting())
        .exploration(Exploration::every_crash_point())
        .invariant(invariants::no_lost_message(
            GREETINGS,
            invariants::downstream_called(CONSOLE),
        ))
        .invariant(greeting_printed)
}

/// The greeting is settled: by the end, nothing is left locked or waiting in
/// `greetings`, and nothing was dead-lettered for being delivered too often.
pub fn unsettled_message() -> Check {
    Check::new("unsettled-message", 5)
        .scenario(greeting())
        .exploration(Exploration::every_crash_point())
        .invariant(invariants::no_unsettled_message(GREETINGS))
        .invariant(no_dead_letter)
}

/// You can read a trace: for the run without faults and for a crash at each
/// crash point of a small order pipeline, `find_crash_point` names the
/// operation at which the service crashed (or `None`).
pub fn misread_crash_point() -> Check {
    Check::new("misread-crash-point", 10)
        .scenario(order_pipeline())
        .exploration(Exploration::every_crash_point())
        .invariant(crash_point_found)
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

/// `unsettled-message`: the broker dead-lettered the greeting because it
/// was delivered too many times without being completed.
fn no_dead_letter(run: &Run) -> Result<(), Violation> {
    match run.remaining(&dead_letter_path(GREETINGS)).first() {
        Some(envelope) => Err(Violation::for_message(
            envelope.message_id(),
            format!(
                "`{}` ended in the dead-letter queue after {} deliveries: it was never completed",
                envelope.message_id(),
                envelope.delivery_count
            ),
        )),
        None => Ok(()),
    }
}

/// `misread-crash-point`: `find_crash_point` gave the wrong answer for this
/// run. The truth is the trace's CRASH entry.
fn crash_point_found(run: &Run) -> Result<(), Violation> {
    let crash = run
        .events
        .iter()
        .find(|event| event.operation == Operation::Crash);
    let truth = crash.and_then(|event| event.operation_number);
    let answer = find_crash_point(&run.events);
    if answer == truth {
        return Ok(());
    }
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
        None => format!(
            "`find_crash_point` answered {} for a run in which nothing crashed (the answer is \
             None)",
            show(answer)
        ),
    };
    // No message id: the report shows the whole run's timeline, the trace
    // your function was given.
    Err(Violation::new(sentence))
}

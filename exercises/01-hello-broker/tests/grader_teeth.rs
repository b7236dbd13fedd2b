//! The grader's own tests, not the learner's: each check must fail the
//! plausible wrong attempts at this exercise (the mistake of the next
//! chapter, a half-fix, a fix that only works without faults, state that
//! survives a simulated crash only) and pass a right attempt written
//! differently from the reference solution. (`cargo xtask verify` proves
//! the checks the shipped starter fails, and that the solution passes.)

use broker::simulation::ServiceCtx;
use broker::trace::{Operation, TraceEvent};
use broker::{BrokerError, ReceiveOptions};
use hello_broker::rubric;
use hello_broker::world::{GREETINGS, greeting_received_by, print_message};

#[path = "attempts/remembers_in_a_static.rs"]
mod remembers_in_a_static;

/// Runs a check with no replay and no report file: these runs must never
/// stand in for the learner's grade.
fn run(check: broker::grading::Check) -> broker::grading::CheckReport {
    check.run_with(None, None)
}

/// Completes each greeting first, then prints it.
async fn completes_before_printing(ctx: ServiceCtx) -> Result<(), BrokerError> {
    loop {
        let delivery = ctx.receive(GREETINGS).await?;
        ctx.complete(&delivery).await?;
        print_message(&ctx, &delivery).await;
    }
}

#[test]
fn lost_message_catches_a_receiver_that_completes_before_printing() {
    let report =
        run(rubric::lost_message().scenario(greeting_received_by(completes_before_printing)));
    assert!(
        !report.passed,
        "lost-message passed a receiver that completes first:\n{}",
        report.text
    );
    assert!(report.text.contains("lost-message"), "{}", report.text);
}

/// Takes any fault for a crash: the first event with a fault injected. At
/// every crash point that is the crash; a lost reply or a delay is not one.
fn first_fault(events: &[TraceEvent]) -> Option<u64> {
    events
        .iter()
        .find(|event| event.fault.is_some())
        .and_then(|event| event.operation_number)
}

#[test]
fn misread_crash_point_catches_a_reading_that_takes_any_fault_for_a_crash() {
    let report = run(rubric::misread_crash_point_of(first_fault));
    assert!(
        !report.passed,
        "misread-crash-point passed a find_crash_point that counts any fault as a crash:\n{}",
        report.text
    );
    assert!(report.text.contains("not a crash"), "{}", report.text);
    assert!(report.text.contains("EDA_REPLAY="), "{}", report.text);
}

/// Right, and unlike the reference: the last CRASH entry, found with a
/// match on the operation rather than `==`.
fn last_crash(events: &[TraceEvent]) -> Option<u64> {
    events
        .iter()
        .rev()
        .find(|event| matches!(event.operation, Operation::Crash))
        .and_then(|event| event.operation_number)
}

#[test]
fn misread_crash_point_passes_a_right_reading_written_differently() {
    let report = run(rubric::misread_crash_point_of(last_crash));
    assert!(report.passed, "{}", report.text);
}

#[test]
fn every_check_fails_a_receiver_that_keeps_what_it_printed_in_a_static() {
    let source = include_str!("attempts/remembers_in_a_static.rs");
    let scenario = || {
        greeting_received_by(|ctx: ServiceCtx| async move {
            loop {
                remembers_in_a_static::receive_greeting(&ctx).await?;
            }
            #[allow(unreachable_code)]
            Ok::<(), BrokerError>(())
        })
    };
    for check in [rubric::lost_message(), rubric::unsettled_message()] {
        let report = run(check
            .scenario(scenario())
            .learner_file("src/hello.rs", source));
        assert!(!report.passed, "{}", report.text);
        assert!(
            report.text.contains(
                "This state lives outside the service and would be lost in a real crash: keep \
                 it in the store"
            ),
            "{}",
            report.text
        );
        assert!(report.text.contains("static PRINTED"), "{}", report.text);
    }
}

/// Dead-letters the greeting when its complete fails, so that it is not
/// printed again: the complete was refused (or its reply lost) for a moment,
/// and the greeting is now where nobody reads it.
async fn dead_letters_when_complete_fails(ctx: ServiceCtx) -> Result<(), BrokerError> {
    loop {
        let delivery = ctx.receive(GREETINGS).await?;
        print_message(&ctx, &delivery).await;
        if ctx.complete(&delivery).await.is_err() {
            ctx.dead_letter(&delivery, "CompleteFailed", "already printed")
                .await?;
        }
    }
}

#[test]
fn unsettled_message_catches_a_receiver_that_dead_letters_on_a_transient_error() {
    let report = run(rubric::unsettled_message()
        .scenario(greeting_received_by(dead_letters_when_complete_fails)));
    assert!(!report.passed, "{}", report.text);
    assert!(
        report
            .text
            .contains("`receiver` dead-lettered `greeting-1` itself after its complete greetings"),
        "{}",
        report.text
    );
}

/// Right, and unlike the reference: peek-lock asked for explicitly with
/// `receive_with`, and a complete that fails is tried again a few times
/// before the error is returned (which restarts the receiver).
async fn completes_with_retries(ctx: ServiceCtx) -> Result<(), BrokerError> {
    loop {
        let Some(delivery) = ctx
            .receive_with(GREETINGS, ReceiveOptions::default())
            .await?
        else {
            continue;
        };
        print_message(&ctx, &delivery).await;
        let mut attempts = 0;
        while let Err(error) = ctx.complete(&delivery).await {
            attempts += 1;
            if attempts == 3 {
                return Err(error);
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    }
}

#[test]
fn every_check_passes_a_right_receiver_written_differently() {
    for check in [rubric::lost_message(), rubric::unsettled_message()] {
        let report = run(check.scenario(greeting_received_by(completes_with_retries)));
        assert!(report.passed, "{}", report.text);
    }
}

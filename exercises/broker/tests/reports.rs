//! How a failure report reads, pinned with insta snapshots: each test runs a
//! small failing scenario and snapshots the rendered report, so a change to
//! the wording or the layout is reviewed as a diff (`cargo insta review`)
//! before it reaches a learner's terminal or the book's figures.
//!
//! What each pins (from the new-learner walkthrough of the reports):
//! - a redelivery loop is folded to its first and last cycle, not printed ten
//!   times, and a line with a fault is never folded;
//! - a timeline is in time order even when the broker noticed an expired
//!   lock after a service's restart;
//! - the report says what it counts: which run of how many (from 1), how
//!   many service operations, and which of them never finished;
//! - a replay is a replay, not "run 0 of 1";
//! - a service that exits with the error of the operation just shown refers
//!   to it, instead of repeating the error;
//! - a receive-and-delete delivery says, in the diagram and the timeline,
//!   that the message is deleted as it is delivered.

use std::time::Duration;

use broker::grading::{Check, invariants};
use broker::simulation::{Exploration, Scenario, ServiceCtx};
use broker::trace::{Operation, TraceEvent, render_folded_timeline, render_timeline};
use broker::{BrokerError, Message, QueueOptions, ReceiveOptions};

/// Receives and handles each message, but never completes it: the broker
/// redelivers it every lock duration until the delivery limit.
async fn never_completes(ctx: ServiceCtx) -> Result<(), String> {
    loop {
        let delivery = ctx.receive("greetings").await.map_err(|e| e.to_string())?;
        ctx.call_downstream("console", delivery.message_id(), "print it")
            .await
            .map_err(|e| e.to_string())?;
    }
}

fn unsettled_check() -> Check {
    let scenario = Scenario::new("greetings")
        .queue(
            "greetings",
            QueueOptions::default().with_max_delivery_count(6),
        )
        .message("greetings", Message::new("greeting-1", "hello"))
        .service("receiver", never_completes);
    Check::new("unsettled-message", 5)
        .scenario(scenario)
        .exploration(Exploration::every_crash_point())
        .invariant(invariants::no_unsettled_message("greetings"))
        .invariant(|run| {
            match run
                .remaining(&broker::dead_letter_path("greetings"))
                .first()
            {
                Some(envelope) => Err(broker::grading::Violation::for_message(
                    envelope.message_id(),
                    format!(
                        "`{}` was dead-lettered after {} deliveries",
                        envelope.message_id(),
                        envelope.delivery_count
                    ),
                )),
                None => Ok(()),
            }
        })
        .replay_command("cargo test -p hello-broker -- unsettled_message --exact")
}

#[test]
fn a_redelivery_loop_is_folded_to_its_first_and_last_cycle() {
    let report = unsettled_check().run_with(None, None);
    assert!(!report.passed);
    // Six deliveries: the first and the last cycle shown, four folded.
    assert!(
        report
            .text
            .contains("… the same receive → call → lock-expired cycle 3 more times"),
        "{}",
        report.text
    );
    insta::assert_snapshot!(report.text);
}

#[test]
fn the_diagram_of_a_redelivery_loop_is_folded_too() {
    let report = unsettled_check().run_with(None, None);
    let failure = report.failure.expect("it fails");
    insta::assert_snapshot!(failure.mermaid);
}

/// A cycle with a fault in it is never folded: the fault is what the report
/// is about.
#[test]
fn a_line_with_a_fault_is_never_folded() {
    let event = |at: u64, operation, fault| {
        let mut event = TraceEvent::new(Duration::from_secs(at), "consumer".into(), operation)
            .with_target("orders");
        event.message_id = Some("order-1".into());
        event.fault = fault;
        event
    };
    let mut events = Vec::new();
    for cycle in 0..10 {
        let fault = (cycle == 5).then_some(broker::fault::Fault::LostResponse);
        events.push(event(cycle * 60, Operation::Receive, None));
        events.push(event(cycle * 60, Operation::Abandon, fault));
    }
    let folded = render_folded_timeline(&events);
    // Five cycles before the fault and four after: each run folds, the
    // cycle with the fault stays whole between them.
    assert_eq!(
        folded.matches("… the same receive → abandon cycle").count(),
        2,
        "{folded}"
    );
    assert!(
        folded.contains(
            "+00:05:00.000  consumer  abandon  orders  order-1  ok  [fault: lost-response]"
        ),
        "{folded}"
    );
    insta::assert_snapshot!(folded);
}

/// Receives, works for 90 s (past its 60 s lock) without touching the
/// broker, and gives up with an error; restarted, it does the same. The
/// broker only notices the expired lock when the restarted service next
/// receives, after the runtime recorded the exit and the restart.
async fn slow_then_fails(ctx: ServiceCtx) -> Result<(), String> {
    let delivery = ctx.receive("orders").await.map_err(|e| e.to_string())?;
    tokio::time::sleep(Duration::from_secs(90)).await;
    Err(format!("gave up on `{}`", delivery.message_id()))
}

#[test]
fn a_timeline_is_in_time_order_even_when_a_lock_expiry_is_noticed_late() {
    let scenario = Scenario::new("late expiry")
        .queue("orders", QueueOptions::default().with_max_delivery_count(2))
        .message("orders", Message::new("order-1", "x"))
        .service("consumer", slow_then_fails)
        .run_for(Duration::from_secs(400));
    let run = broker::simulation::run(&scenario, &broker::fault::FaultPlan::none()).expect("runs");
    let times: Vec<Duration> = run.events.iter().map(|event| event.at).collect();
    assert!(times.is_sorted(), "{}", render_timeline(&run.events));
    let timeline = render_timeline(&run.events);
    insta::assert_snapshot!(timeline);
}

/// Completes first, then publishes: a crash in between loses the order.
async fn ack_first(ctx: ServiceCtx) -> Result<(), BrokerError> {
    loop {
        let order = ctx.receive("orders").await?;
        ctx.complete(&order).await?;
        let result = Message::new(format!("{}-done", order.message_id()), "ok")
            .with_correlation_id(order.message_id());
        ctx.send("results", result).await?;
    }
}

fn lost_message_check() -> Check {
    let scenario = Scenario::new("orders")
        .queue("orders", QueueOptions::default())
        .queue("results", QueueOptions::default())
        .messages(
            "orders",
            (1..=2).map(|n| Message::new(format!("order-{n}"), "x")),
        )
        .service("consumer", ack_first);
    Check::new("lost-message", 3)
        .scenario(scenario)
        .exploration(Exploration::every_crash_point())
        .invariant(invariants::no_lost_message(
            "orders",
            invariants::result_published_to("results"),
        ))
        .replay_command("cargo test -p ack-ordering -- lost_message --exact")
}

#[test]
fn a_report_says_which_run_of_how_many_and_what_it_counts() {
    let report = lost_message_check().run_with(None, None);
    assert!(!report.passed);
    // Runs are counted from 1, and the operation count names its numbers.
    assert!(
        report.text.contains("Shortest failing run: run 5 of 15"),
        "{}",
        report.text
    );
    assert!(
        report
            .text
            .contains("6 service operations (#0 to #5), of which #5 was still waiting"),
        "{}",
        report.text
    );
    insta::assert_snapshot!(report.text);
}

#[test]
fn a_replay_says_it_is_a_replay_not_run_0_of_1() {
    let report =
        lost_message_check().run_with(Some("lost-message:seed=0:plan=crash-after@1"), None);
    assert!(report.replayed);
    assert!(!report.text.contains("run 0 of 1"), "{}", report.text);
    assert!(
        report.text.contains("This run: seed 0, plan crash-after@1"),
        "{}",
        report.text
    );
    insta::assert_snapshot!(report.text);
}

/// Receive-and-delete, then a crash: the message was deleted on delivery.
async fn receives_and_deletes(ctx: ServiceCtx) -> Result<(), BrokerError> {
    loop {
        let Some(order) = ctx
            .receive_with("orders", ReceiveOptions::receive_and_delete())
            .await?
        else {
            continue;
        };
        let result = Message::new(format!("{}-done", order.message_id()), "ok")
            .with_correlation_id(order.message_id());
        ctx.send("results", result).await?;
    }
}

#[test]
fn a_receive_and_delete_failure_shows_the_message_deleted_on_delivery() {
    let scenario = Scenario::new("orders")
        .queue("orders", QueueOptions::default())
        .queue("results", QueueOptions::default())
        .message("orders", Message::new("order-1", "x"))
        .service("consumer", receives_and_deletes);
    let check = Check::new("lost-message", 10)
        .scenario(scenario)
        .exploration(Exploration::every_crash_point())
        .invariant(invariants::no_lost_message(
            "orders",
            invariants::result_published_to("results"),
        ))
        .replay_command("cargo test -p ack-ordering -- lost_message --exact");
    let report = check.run_with(None, None);
    let failure = report.failure.expect("it fails");
    assert!(
        failure
            .mermaid
            .contains("0) receive order-1 (delivery 1, deleted on delivery)"),
        "{}",
        failure.mermaid
    );
    assert!(
        failure
            .timeline
            .contains("settled on delivery (deleted: never delivered again)"),
        "{}",
        failure.timeline
    );
    insta::assert_snapshot!("receive_and_delete_diagram", failure.mermaid);
    insta::assert_snapshot!("receive_and_delete_report", report.text);
}

/// Receives, works past its lock, then completes: the complete fails and
/// the service returns that error.
async fn completes_too_late(ctx: ServiceCtx) -> Result<(), BrokerError> {
    let delivery = ctx.receive("orders").await?;
    tokio::time::sleep(Duration::from_secs(90)).await;
    ctx.complete(&delivery).await
}

#[test]
fn an_exit_with_the_error_just_shown_refers_to_it_instead_of_repeating_it() {
    let scenario = Scenario::new("too late")
        .queue("orders", QueueOptions::default().with_max_delivery_count(1))
        .message("orders", Message::new("order-1", "x"))
        .service("consumer", completes_too_late)
        .run_for(Duration::from_secs(200));
    let run = broker::simulation::run(&scenario, &broker::fault::FaultPlan::none()).expect("runs");
    let timeline = render_timeline(&run.events);
    assert!(
        timeline.contains("returned the error of #1\n"),
        "{timeline}"
    );
    assert!(!timeline.contains("returned an error"), "{timeline}");
    let mermaid = broker::trace::render_mermaid(&run.events);
    assert!(
        mermaid.contains("exit: returned the error of op 1"),
        "{mermaid}"
    );
    insta::assert_snapshot!("exit_after_failure_timeline", timeline);
    insta::assert_snapshot!("exit_after_failure_diagram", mermaid);
}

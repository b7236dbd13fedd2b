//! A service that loops forever without ever reaching an `.await`, or blocks
//! its thread, cannot be interrupted: the watchdog reports it within its
//! real-time limit, and the stuck thread dies with the test process. Alone
//! in their own test binary so that the spinning thread slows no other test.

use std::time::{Duration, Instant};

use broker::grading::{Check, invariants};
use broker::simulation::{Exploration, Scenario, ServiceCtx};
use broker::{BrokerError, Message, QueueOptions};

async fn busy_loop(ctx: ServiceCtx) -> Result<(), BrokerError> {
    let delivery = ctx.receive("orders").await?;
    // The learner meant to wait for something; nothing in the loop can
    // change, and nothing in it awaits.
    let mut spins: u64 = 0;
    while std::hint::black_box(delivery.delivery_count) > 0 {
        spins = std::hint::black_box(spins.wrapping_add(1));
    }
    ctx.complete(&delivery).await
}

#[test]
fn a_busy_loop_without_await_is_reported_as_hung_within_the_watchdog_limit() {
    let scenario = Scenario::new("busy loop")
        .queue("orders", QueueOptions::default())
        .message("orders", Message::new("order-1", "x"))
        .service("consumer", busy_loop);
    let check = Check::new("unsettled-message", 1)
        .scenario(scenario)
        .exploration(Exploration::default().with_watchdog(Duration::from_secs(1)))
        .invariant(invariants::no_unsettled_message("orders"));
    let started = Instant::now();
    let report = check.run_with(None, None);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert!(!report.passed);
    assert!(
        report.text.contains(
            "did not finish within 1 s of real time: a loop that never reaches an `.await`"
        ),
        "{}",
        report.text
    );
    assert!(report.text.contains("consumer  receive"), "{}", report.text);
    assert!(
        report
            .text
            .contains("EDA_REPLAY='unsettled-message:seed=0:plan=none'"),
        "{}",
        report.text
    );
}

async fn locks_a_std_mutex_twice(ctx: ServiceCtx) -> Result<(), BrokerError> {
    let delivery = ctx.receive("orders").await?;
    let counts = std::sync::Mutex::new(0);
    let _first = counts.lock();
    // A std mutex is not reentrant: the thread blocks on itself, for good.
    let _second = counts.lock();
    ctx.complete(&delivery).await
}

#[test]
fn a_blocking_deadlock_is_reported_as_hung_within_the_watchdog_limit() {
    let scenario = Scenario::new("blocking deadlock")
        .queue("orders", QueueOptions::default())
        .message("orders", Message::new("order-1", "x"))
        .service("consumer", locks_a_std_mutex_twice);
    let check = Check::new("unsettled-message", 1)
        .scenario(scenario)
        .exploration(Exploration::default().with_watchdog(Duration::from_secs(1)))
        .invariant(invariants::no_unsettled_message("orders"));
    let started = Instant::now();
    let report = check.run_with(None, None);
    // Only a guard against the watchdog never firing (the run would hang
    // for ever): generous, so a loaded machine cannot fail it.
    assert!(started.elapsed() < Duration::from_secs(60));
    assert!(!report.passed);
    assert!(
        report
            .text
            .contains("did not finish within 1 s of real time"),
        "{}",
        report.text
    );
}

//! The grader's teeth: it catches the anomaly, passes correct code, names the
//! crash point and the replay command, and survives code that panics, spins
//! or deadlocks.

use std::time::Duration;

use broker::grading::{Check, invariants};
use broker::simulation::{Exploration, Scenario, ServiceCtx};
use broker::{BrokerError, Message, QueueOptions};

/// Acks before processing: completes, then publishes.
async fn ack_first(ctx: ServiceCtx) -> Result<(), BrokerError> {
    loop {
        let order = ctx.receive("orders").await?;
        ctx.complete(&order).await?;
        ctx.send("results", result_for(&order)).await?;
    }
}

/// Processes, then acks.
async fn ack_last(ctx: ServiceCtx) -> Result<(), BrokerError> {
    loop {
        let order = ctx.receive("orders").await?;
        ctx.send("results", result_for(&order)).await?;
        ctx.complete(&order).await?;
    }
}

fn result_for(order: &broker::Delivery) -> Message {
    Message::new(format!("{}-result", order.message_id()), "ok")
        .with_correlation_id(order.message_id())
}

fn lost_message_check<F, Fut>(consumer: F) -> Check
where
    F: Fn(ServiceCtx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), BrokerError>> + 'static,
{
    let scenario = Scenario::new("orders")
        .queue("orders", QueueOptions::default())
        .queue(
            "results",
            QueueOptions::default().with_duplicate_detection(),
        )
        .messages(
            "orders",
            (1..=3).map(|n| Message::new(format!("order-{n}"), "x")),
        )
        .service("consumer", consumer);
    Check::new("lost-message", 3)
        .scenario(scenario)
        .exploration(Exploration::default().with_random_plans(10))
        .invariant(invariants::no_lost_message(
            "orders",
            invariants::result_published_to("results"),
        ))
        .replay_command("cargo test -p ack-ordering -- lost_message --exact")
}

#[test]
fn an_ack_before_processing_consumer_is_reported_as_lost_message() {
    let report = lost_message_check(ack_first).run_with(None, None);
    assert!(!report.passed);
    let failure = report.failure.as_ref().unwrap();
    // The shortest failing run: the crash right after the first complete.
    assert_eq!(failure.plan.to_string(), "crash-after@1");
    assert_eq!(failure.message_id.as_deref(), Some("order-1"));
    let text = &report.text;
    assert!(
        text.starts_with("check `lost-message` FAILED (0 of 3 points)\n"),
        "{text}"
    );
    assert!(text.contains("message `order-1` was settled on `orders`, but its processing never took effect: it is lost."), "{text}");
    assert!(text.contains("seed 0, plan crash-after@1"), "{text}");
    assert!(
        text.contains("Crash point: crash after #1 (consumer complete orders order-1)"),
        "{text}"
    );
    assert!(text.contains("#1  consumer  CRASH"), "{text}");
    assert!(text.contains("EDA_REPLAY='lost-message:seed=0:plan=crash-after@1' cargo test -p ack-ordering -- lost_message --exact"), "{text}");
    // The timeline is about the lost message only.
    assert!(
        !failure.timeline.contains("order-2"),
        "{}",
        failure.timeline
    );
}

#[test]
fn a_correct_consumer_passes() {
    let report = lost_message_check(ack_last).run_with(None, None);
    assert!(report.passed, "{}", report.text);
    assert!(report.runs > 20);
    assert_eq!(
        report.text,
        format!(
            "check `lost-message` passed (3 of 3 points): {} runs explored (1 without faults, 20 at \
             crash points, 10 with random fault plans from seeds 1 to 10), no anomaly\n",
            report.runs
        )
    );
}

#[test]
// The report goes to stderr; the test ends with this one line (and no panic
// hook: see tests/grading_assert.rs).
#[should_panic(expected = "check `lost-message` failed: 0 of 3 points (the report is above)")]
fn assert_fails_the_test_with_a_one_line_verdict() {
    lost_message_check(ack_first).assert();
}

#[test]
fn replaying_prints_the_whole_run_and_its_diagram() {
    let report = lost_message_check(ack_first)
        .run_with(Some("lost-message:seed=0:plan=crash-after@1"), None);
    assert!(!report.passed);
    assert!(report.replayed);
    assert_eq!(report.runs, 1);
    assert!(
        report.text.starts_with(
            "replay of check `lost-message` (seed 0, plan crash-after@1): this run FAILS"
        ),
        "{}",
        report.text
    );
    assert!(report.text.contains("```mermaid\nsequenceDiagram\n"));
    assert!(
        report.text.contains("order-3"),
        "the whole run, not one message"
    );
    // The same replay, twice, is the same text.
    let again = lost_message_check(ack_first)
        .run_with(Some("lost-message:seed=0:plan=crash-after@1"), None);
    assert_eq!(report.text, again.text);
}

#[test]
fn a_replay_for_another_check_is_ignored_and_a_broken_one_is_reported() {
    let other =
        lost_message_check(ack_last).run_with(Some("lost-update:seed=0:plan=crash-after@1"), None);
    assert!(other.passed);
    assert!(other.runs > 20);
    let broken =
        lost_message_check(ack_last).run_with(Some("lost-message:seed=0:plan=explode@1"), None);
    assert!(!broken.passed);
    assert!(
        broken.text.contains(
            "EDA_REPLAY is set for this check but cannot be used: unknown fault `explode`"
        ),
        "{}",
        broken.text
    );
}

#[test]
fn the_grade_report_is_written_as_json() {
    let dir = std::env::temp_dir().join(format!("eda-grade-{}", std::process::id()));
    let report = lost_message_check(ack_first).run_with(None, Some(&dir));
    let text = std::fs::read_to_string(dir.join("lost-message.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["check"], "lost-message");
    assert_eq!(json["points"], 3);
    assert_eq!(json["passed"], false);
    assert_eq!(json["report"], report.text.as_str());
    assert_eq!(json.as_object().unwrap().len(), 4);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Sends an email, then acks: a crash in between sends it twice.
async fn email_then_ack(ctx: ServiceCtx) -> Result<(), BrokerError> {
    loop {
        let order = ctx.receive("orders").await?;
        let _ = ctx
            .call_downstream("email", order.message_id(), "your order shipped")
            .await;
        ctx.complete(&order).await?;
    }
}

#[test]
fn a_side_effect_repeated_after_a_crash_is_a_duplicate_side_effect() {
    let scenario = Scenario::new("emails")
        .queue("orders", QueueOptions::default())
        .message("orders", Message::new("order-1", "x"))
        .service("mailer", email_then_ack);
    let report = Check::new("duplicate-side-effect", 2)
        .scenario(scenario)
        .invariant(invariants::no_duplicate_side_effect("email"))
        .run_with(None, None);
    assert!(!report.passed);
    assert!(
        report
            .text
            .contains("`email` was called 2 times for `order-1`"),
        "{}",
        report.text
    );
    assert!(
        report
            .text
            .contains("crash after #1 (mailer call email order-1)"),
        "{}",
        report.text
    );
}

async fn panics_on_receive(ctx: ServiceCtx) -> Result<(), BrokerError> {
    let _ = ctx.receive("orders").await?;
    panic!("index out of bounds: the len is 0 but the index is 3");
}

async fn deadlocks(ctx: ServiceCtx) -> Result<(), BrokerError> {
    let delivery = ctx.receive("orders").await?;
    let lock = tokio::sync::Mutex::new(());
    let _held = lock.lock().await;
    // Locks the same mutex again: waits for itself, forever.
    let _again = lock.lock().await;
    ctx.complete(&delivery).await
}

async fn spins_with_awaits(ctx: ServiceCtx) -> Result<(), BrokerError> {
    loop {
        // No message comes back without a wait, and no time passes.
        let _ = ctx
            .receive_with(
                "nowhere",
                broker::ReceiveOptions::wait_at_most(Duration::ZERO),
            )
            .await;
    }
}

async fn yields_forever(ctx: ServiceCtx) -> Result<(), BrokerError> {
    let delivery = ctx.receive("orders").await?;
    // "Wait until it is processed", by yielding: the flag can never change,
    // and the clock cannot move while this task is always ready to run.
    while std::hint::black_box(delivery.delivery_count) > 0 {
        tokio::task::yield_now().await;
    }
    ctx.complete(&delivery).await
}

async fn polls_a_flag_every_millisecond(ctx: ServiceCtx) -> Result<(), BrokerError> {
    let delivery = ctx.receive("orders").await?;
    // Time moves here, a millisecond at a time, for nothing.
    while std::hint::black_box(delivery.delivery_count) > 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    ctx.complete(&delivery).await
}

async fn panics_in_a_spawned_task(ctx: ServiceCtx) -> Result<(), BrokerError> {
    let delivery = ctx.receive("orders").await?;
    ctx.spawn(async { panic!("the audit task failed") });
    tokio::time::sleep(Duration::from_secs(1)).await;
    ctx.complete(&delivery).await
}

fn any_check<F, Fut>(consumer: F) -> Check
where
    F: Fn(ServiceCtx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), BrokerError>> + 'static,
{
    let scenario = Scenario::new("bad code")
        .queue("orders", QueueOptions::default())
        .queue("nowhere", QueueOptions::default())
        .message("orders", Message::new("order-1", "x"))
        .max_operations(20_000)
        .service("consumer", consumer);
    Check::new("unsettled-message", 1)
        .scenario(scenario)
        .invariant(invariants::no_unsettled_message("orders"))
}

/// The report comes from the simulation itself (a panic, a deadlock in
/// virtual time, an operation or wake-up budget), not from the real-time
/// watchdog: so it is immediate on any machine, and no test here needs to
/// time it (a test that did would depend on how fast the machine is).
fn not_the_watchdog(report: &str) {
    assert!(
        !report.contains("of real time"),
        "found by the real-time watchdog, not by the simulation:\n{report}"
    );
}

#[test]
fn code_that_panics_gets_a_clear_report_without_waiting_for_the_watchdog() {
    let report = any_check(panics_on_receive).run_with(None, None);
    not_the_watchdog(&report.text);
    assert!(!report.passed);
    assert!(
        report
            .text
            .contains("service `consumer` panicked: index out of bounds"),
        "{}",
        report.text
    );
    assert!(
        report
            .text
            .contains("EDA_REPLAY='unsettled-message:seed=0:plan=none'"),
        "{}",
        report.text
    );
}

#[test]
fn code_that_deadlocks_gets_a_clear_report_without_waiting_for_the_watchdog() {
    let report = any_check(deadlocks).run_with(None, None);
    not_the_watchdog(&report.text);
    assert!(!report.passed);
    assert!(
        report
            .text
            .contains("service `consumer` made no progress for 1800 s of virtual time"),
        "{}",
        report.text
    );
}

#[test]
fn code_that_loops_forever_with_awaits_gets_a_clear_report_without_waiting_for_the_watchdog() {
    let report = any_check(spins_with_awaits).run_with(None, None);
    not_the_watchdog(&report.text);
    assert!(!report.passed);
    assert!(report.text.contains("the run made more than 20000 operations (the last by `consumer`): a loop that never waits"), "{}", report.text);
}

#[test]
fn code_that_yields_forever_gets_a_clear_report_without_waiting_for_the_watchdog() {
    let report = any_check(yields_forever).run_with(None, None);
    not_the_watchdog(&report.text);
    assert!(!report.passed);
    assert!(
        report.text.contains(
            "service `consumer` woke up more than 100000 times without a single broker, store or downstream operation"
        ),
        "{}",
        report.text
    );
}

#[test]
fn code_that_polls_with_tiny_sleeps_forever_gets_a_clear_report_without_waiting_for_the_watchdog() {
    let report = any_check(polls_a_flag_every_millisecond).run_with(None, None);
    not_the_watchdog(&report.text);
    assert!(!report.passed);
    assert!(
        report.text.contains("woke up more than 100000 times"),
        "{}",
        report.text
    );
    // The trace stays in time order: the lock that expired meanwhile comes
    // before the STUCK event.
    let timeline = &report.failure.as_ref().unwrap().timeline;
    let expired = timeline.find("lock-expired").expect(timeline);
    let stuck = timeline.find("STUCK").expect(timeline);
    assert!(expired < stuck, "{timeline}");
}

#[test]
fn a_panic_in_a_spawned_task_is_reported_and_shown_in_the_timeline() {
    let report = any_check(panics_in_a_spawned_task).run_with(None, None);
    assert!(!report.passed);
    assert!(
        report
            .text
            .contains("service `consumer` panicked: the audit task failed"),
        "{}",
        report.text
    );
    assert!(
        report
            .text
            .contains("PANIC    -       -        in a spawned task: the audit task failed"),
        "{}",
        report.text
    );
}

#[test]
fn the_demo_prints_the_same_bytes_every_time() {
    let first = broker::demo::crash_demo();
    let second = broker::demo::crash_demo();
    assert_eq!(first, second);
    assert!(first.contains("check `lost-message` FAILED"));
    assert!(first.contains("```mermaid\nsequenceDiagram\n"));
    assert!(first.contains("check `lost-message` passed (1 of 1 points)"));
}

#[test]
fn the_printed_replay_of_a_random_plan_reproduces_the_failure_exactly() {
    let scenario = Scenario::new("emails")
        .queue("orders", QueueOptions::default())
        .messages(
            "orders",
            (1..=3).map(|n| Message::new(format!("order-{n}"), "x")),
        )
        .service("mailer", email_then_ack);
    // No crash points: only the seeded random plans can find it.
    let check = Check::new("duplicate-side-effect", 2)
        .scenario(scenario)
        .exploration(
            Exploration::default()
                .with_crash_points(false)
                .with_seed(11)
                .with_random_plans(30)
                .with_fault_kinds(&[
                    broker::fault::FaultKind::Delay,
                    broker::fault::FaultKind::DuplicateDelivery,
                ]),
        )
        .invariant(invariants::no_duplicate_side_effect("email"));
    let report = check.run_with(None, None);
    assert!(!report.passed, "{}", report.text);
    let failure = report.failure.as_ref().unwrap();
    assert_ne!(failure.seed, 0, "found by a random plan");
    // Take the replay value from the printed command, as a learner would.
    let line = report
        .text
        .lines()
        .find(|line| line.trim_start().starts_with("EDA_REPLAY='"))
        .expect("a replay command");
    let value = line
        .trim_start()
        .strip_prefix("EDA_REPLAY='")
        .and_then(|rest| rest.split('\'').next())
        .unwrap();
    let replayed = check.run_with(Some(value), None);
    assert!(replayed.replayed);
    assert!(!replayed.passed);
    let again = replayed.failure.as_ref().unwrap();
    assert_eq!(again.plan, failure.plan);
    assert_eq!(again.seed, failure.seed);
    assert_eq!(again.sentence, failure.sentence);
    assert_eq!(again.timeline, failure.timeline);
    assert_eq!(again.faults_hit, failure.faults_hit);
}

#[test]
fn a_graded_exploration_takes_its_seeds_from_the_environment_and_says_which() {
    let graded = Exploration::graded();
    assert_eq!(
        graded.random_plans,
        broker::simulation::DEFAULT_GRADED_PLANS
    );
    let more = graded
        .clone()
        .with_seeds_from(Some(("EDA_SEEDS", "1000")), Some("7"))
        .unwrap();
    assert_eq!(more.random_plans, 1000);
    assert_eq!(more.seed, 7);
    assert_ne!(
        more.seed_range(),
        graded.seed_range(),
        "other seeds, other plans"
    );
    // An exploration a check fixed is left alone.
    let fixed = Exploration::every_crash_point()
        .with_seeds_from(Some(("EDA_SEEDS", "1000")), None)
        .unwrap();
    assert_eq!(fixed.random_plans, 0);
    // Bad input is refused with the variable's name, never read as zero.
    let error = graded
        .with_seeds_from(Some(("EDA_SEEDS", "lots")), None)
        .unwrap_err();
    assert!(error.to_string().contains("EDA_SEEDS=\"lots\""), "{error}");

    let report = lost_message_check(ack_last)
        .exploration(
            Exploration::graded()
                .with_seeds_from(Some(("EDA_SEEDS", "12")), Some("3"))
                .unwrap(),
        )
        .run_with(None, None);
    assert!(report.passed, "{}", report.text);
    // Three orders, ten operations: 20 crash points, 50 fault points.
    assert!(
        report.text.contains(
            "20 at crash points, 50 at fault points, 12 with random fault plans from seeds \
             3000010 to 3000021"
        ),
        "{}",
        report.text
    );
}

#[test]
fn a_learner_file_with_state_outside_the_service_fails_the_check_whatever_the_runs_say() {
    let clean = "async fn run() {}\nconst QUEUE: &str = \"orders\";\n";
    let report = lost_message_check(ack_last)
        .learner_file("src/consumer.rs", clean)
        .run_with(None, None);
    assert!(report.passed, "{}", report.text);

    let stateful =
        "use std::sync::Mutex;\n\nstatic SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());\n";
    let report = lost_message_check(ack_last)
        .learner_file("src/consumer.rs", stateful)
        .run_with(None, None);
    assert!(!report.passed);
    assert_eq!(report.runs, 0, "no run is made");
    assert!(
        report.text.contains("src/consumer.rs keeps state outside the service:\n    line 3: `static SEEN: Mutex<Vec<String>>`"),
        "{}",
        report.text
    );
    assert!(
        report.text.contains(
            "This state lives outside the service and would be lost in a real crash: keep it in \
             the store."
        ),
        "{}",
        report.text
    );
    // Code from another file could hide the same: it is named, not read.
    let report = lost_message_check(ack_last)
        .learner_file("src/consumer.rs", "mod seen;\n")
        .run_with(None, None);
    assert!(!report.passed);
    assert!(
        report
            .text
            .contains("src/consumer.rs brings in code from another file:\n    line 1: `mod seen;`"),
        "{}",
        report.text
    );
    // A replay is refused the same way: it would pass for the same reason.
    let replayed = lost_message_check(ack_last)
        .learner_file("src/consumer.rs", stateful)
        .run_with(Some("lost-message:seed=0:plan=crash-after@1"), None);
    assert!(!replayed.passed);
}

/// Settles an order by the given rule after publishing it (or failing to).
fn dead_letter_check<F, Fut>(consumer: F) -> Check
where
    F: Fn(ServiceCtx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), BrokerError>> + 'static,
{
    let scenario = Scenario::new("orders")
        .queue("orders", QueueOptions::default())
        .queue("results", QueueOptions::default())
        .message("orders", Message::new("order-1", "x"))
        .service("consumer", consumer);
    Check::new("unsettled-message", 1)
        .scenario(scenario)
        .exploration(Exploration::happy_path())
        .invariant(invariants::no_dead_letter("orders"))
}

#[test]
fn a_dead_letter_is_reported_as_what_the_consumer_did() {
    // Abandons every delivery: the broker gives up after ten.
    let report = dead_letter_check(|ctx: ServiceCtx| async move {
        loop {
            let order = ctx.receive("orders").await?;
            ctx.abandon(&order).await?;
        }
    })
    .run_with(None, None);
    assert!(!report.passed);
    assert!(
        report
            .text
            .contains("`order-1` was abandoned 10 times on `orders`, then dead-lettered by the broker after 10 deliveries"),
        "{}",
        report.text
    );
    assert!(!report.text.contains("never settled"), "{}", report.text);

    // Never settles: every lock expires.
    let report = dead_letter_check(|ctx: ServiceCtx| async move {
        loop {
            let _order = ctx.receive("orders").await?;
        }
    })
    .run_with(None, None);
    assert!(
        report
            .text
            .contains("`order-1` was never settled on `orders`: each of its locks expired"),
        "{}",
        report.text
    );

    // Dead-letters it itself when its publish fails (here, always: the
    // results queue does not exist).
    let report = dead_letter_check(|ctx: ServiceCtx| async move {
        loop {
            let order = ctx.receive("orders").await?;
            match ctx.send("no-such-queue", result_for(&order)).await {
                Ok(()) => ctx.complete(&order).await?,
                Err(_) => {
                    ctx.dead_letter(&order, "PublishFailed", "could not publish")
                        .await?
                }
            }
        }
    })
    .run_with(None, None);
    assert!(
        report.text.contains(
            "`consumer` dead-lettered `order-1` itself after its send no-such-queue failed"
        ),
        "{}",
        report.text
    );
}

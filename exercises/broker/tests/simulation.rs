//! The simulation runtime: crashes, faults, restarts, determinism, and what
//! happens to code that panics, deadlocks or spins.

use std::time::Duration;

use broker::fault::{Fault, FaultKind, FaultPlan};
use broker::simulation::{self, DownstreamOptions, Exploration, RunOutcome, Scenario, ServiceCtx};
use broker::store::IsolationLevel;
use broker::trace::{Operation, render_mermaid, render_timeline};
use broker::{BrokerError, Message, QueueOptions, ReceiveOptions};

fn plan(text: &str) -> FaultPlan {
    text.parse().unwrap()
}

/// Sends `count` numbered messages, numbering them from its own memory.
async fn counting_producer(ctx: ServiceCtx) -> Result<(), BrokerError> {
    for n in 0..3 {
        ctx.send("out", Message::new(format!("msg-{n}"), "x"))
            .await?;
    }
    Ok(())
}

async fn effect_then_complete(ctx: ServiceCtx) -> Result<(), BrokerError> {
    loop {
        let delivery = ctx.receive("in").await?;
        ctx.call_downstream("effects", delivery.message_id(), "done")
            .await
            .ok();
        match ctx.complete(&delivery).await {
            Ok(()) | Err(BrokerError::LockLost { .. }) => {}
            Err(other) => return Err(other),
        }
    }
}

async fn slow_auto_committing_consumer(ctx: ServiceCtx) -> Result<(), BrokerError> {
    let consumer = ctx.auto_commit_consumer("in", broker::DEFAULT_AUTO_COMMIT_INTERVAL);
    loop {
        let record = consumer.poll().await?;
        // Ten seconds of work: the 5-second tick commits meanwhile.
        tokio::time::sleep(Duration::from_secs(10)).await;
        ctx.send(
            "out",
            Message::new("result", "x").with_correlation_id(record.message_id()),
        )
        .await?;
    }
}

async fn receive_and_complete(ctx: ServiceCtx) -> Result<(), BrokerError> {
    loop {
        let delivery = ctx.receive("in").await?;
        ctx.complete(&delivery).await?;
    }
}

#[test]
fn a_crash_throws_away_memory_and_the_runtime_restarts_the_service() {
    let scenario = Scenario::new("restart")
        .queue("out", QueueOptions::default())
        .service("producer", counting_producer);
    let run = simulation::run(&scenario, &plan("crash-after@1")).unwrap();
    assert_eq!(run.outcome, RunOutcome::Finished);
    // msg-0 and msg-1 were durably sent before the crash; the restarted
    // producer remembers nothing and starts from msg-0 again.
    let ids: Vec<String> = run
        .remaining("out")
        .iter()
        .map(|e| e.message_id().to_owned())
        .collect();
    assert_eq!(ids, vec!["msg-0", "msg-1", "msg-0", "msg-1", "msg-2"]);
    let restarts = run
        .events
        .iter()
        .filter(|e| e.operation == Operation::Start && e.note.is_some())
        .count();
    assert_eq!(restarts, 1);
}

#[test]
fn crash_before_means_the_operation_never_happened() {
    let scenario = Scenario::new("restart")
        .queue("out", QueueOptions::default())
        .service("producer", counting_producer);
    let run = simulation::run(&scenario, &plan("crash-before@1")).unwrap();
    let ids: Vec<String> = run
        .remaining("out")
        .iter()
        .map(|e| e.message_id().to_owned())
        .collect();
    assert_eq!(ids, vec!["msg-0", "msg-0", "msg-1", "msg-2"]);
}

#[test]
fn a_crash_rolls_back_the_open_transaction_and_releases_its_locks() {
    let scenario = Scenario::new("tx").service("writer", |ctx: ServiceCtx| async move {
        let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
        tx.insert("orders", "o-1", serde_json::json!({"qty": 1}))
            .await?;
        tx.get_for_update("orders", "o-1").await?;
        tx.commit().await
    });
    // Crash before the commit (operation #3): the first life's transaction is
    // rolled back; the restarted writer commits its own.
    let run = simulation::run(&scenario, &plan("crash-before@3")).unwrap();
    assert_eq!(run.outcome, RunOutcome::Finished);
    assert_eq!(run.store.committed("orders").len(), 1);
    assert!(run.store.open_transactions().is_empty());
    assert!(run.store.row_locks().is_empty());
    let commits = run
        .events
        .iter()
        .filter(|e| e.operation == Operation::Commit)
        .count();
    assert_eq!(commits, 1);
}

#[test]
fn a_lost_response_reports_a_timeout_for_work_that_was_done() {
    let scenario = Scenario::new("two-generals")
        .queue("out", QueueOptions::default())
        .service("producer", |ctx: ServiceCtx| async move {
            let outcome = ctx.send("out", Message::new("m-1", "x")).await;
            ctx.call_downstream("log", "outcome", format!("{outcome:?}"))
                .await
                .ok();
        });
    let run = simulation::run(&scenario, &plan("lost-response@0")).unwrap();
    assert_eq!(run.remaining("out").len(), 1, "the message was stored");
    assert_eq!(run.calls_to("log")[0].detail, "Err(Timeout)");
}

#[test]
fn unavailable_means_nothing_happened() {
    let scenario = Scenario::new("down")
        .queue("out", QueueOptions::default())
        .service("producer", |ctx: ServiceCtx| async move {
            let outcome = ctx.send("out", Message::new("m-1", "x")).await;
            ctx.call_downstream("log", "outcome", format!("{outcome:?}"))
                .await
                .ok();
        });
    let run = simulation::run(&scenario, &plan("unavailable@0")).unwrap();
    assert!(run.remaining("out").is_empty());
    assert_eq!(run.calls_to("log")[0].detail, "Err(Unavailable)");
}

#[test]
fn an_outage_takes_the_broker_down_for_everyone_for_its_duration() {
    let scenario = Scenario::new("outage")
        .queue("out", QueueOptions::default())
        .service("producer", |ctx: ServiceCtx| async move {
            let mut attempts = 0;
            for n in 0..2 {
                loop {
                    attempts += 1;
                    match ctx.send("out", Message::new(format!("m-{n}"), "x")).await {
                        Ok(()) => break,
                        Err(_) => tokio::time::sleep(Duration::from_secs(1)).await,
                    }
                }
            }
            ctx.call_downstream("log", "attempts", attempts.to_string())
                .await
                .ok();
        });
    let run = simulation::run(&scenario, &plan("outage-10000ms@0")).unwrap();
    assert_eq!(run.remaining("out").len(), 2);
    // Tried at 0 s, 1 s, … 9 s while down, then succeeded at 10 s.
    assert_eq!(run.calls_to("log")[0].detail, "12");
    assert_eq!(run.calls_to("log")[0].at, Duration::from_secs(10));
}

#[test]
fn a_downstream_outage_window_fails_calls_inside_it_only() {
    let scenario = Scenario::new("email-outage")
        .downstream(
            "email",
            DownstreamOptions::default()
                .with_outage(Duration::from_secs(10), Duration::from_secs(20)),
        )
        .service("sender", |ctx: ServiceCtx| async move {
            for second in 0..40u64 {
                let _ = ctx
                    .call_downstream("email", &format!("mail-{second}"), "hello")
                    .await;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
    let run = simulation::run(&scenario, &FaultPlan::none()).unwrap();
    assert_eq!(run.calls_to("email").len(), 20);
}

#[test]
fn a_duplicate_delivery_hands_the_same_message_out_twice() {
    let scenario = Scenario::new("dup")
        .queue("in", QueueOptions::default())
        .message("in", Message::new("m-1", "x"))
        .service("consumer", effect_then_complete);
    let run = simulation::run(&scenario, &plan("duplicate-delivery@0")).unwrap();
    assert_eq!(run.calls_to("effects").len(), 2);
    assert_eq!(run.deliveries("in", "m-1"), 2);
    assert!(run.remaining("in").is_empty());
}

#[test]
fn a_delay_on_one_producer_reorders_messages() {
    let scenario = Scenario::new("reorder")
        .queue("in", QueueOptions::default())
        .service("first", |ctx: ServiceCtx| async move {
            ctx.send("in", Message::new("first", "x")).await
        })
        .service("second", |ctx: ServiceCtx| async move {
            tokio::time::sleep(Duration::from_millis(1)).await;
            ctx.send("in", Message::new("second", "x")).await
        });
    let in_order = simulation::run(&scenario, &FaultPlan::none()).unwrap();
    let reordered = simulation::run(&scenario, &plan("delay-500ms@0")).unwrap();
    let ids = |run: &simulation::Run| -> Vec<String> {
        run.remaining("in")
            .iter()
            .map(|e| e.message_id().to_owned())
            .collect()
    };
    assert_eq!(ids(&in_order), vec!["first", "second"]);
    assert_eq!(ids(&reordered), vec!["second", "first"]);
}

#[test]
fn a_kafka_style_auto_commit_loses_a_message_when_processing_outlives_the_tick() {
    let scenario = Scenario::new("auto-commit")
        .queue("in", QueueOptions::default())
        .queue("out", QueueOptions::default())
        .message("in", Message::new("m-1", "x"))
        .service("consumer", slow_auto_committing_consumer);
    let fine = simulation::run(&scenario, &FaultPlan::none()).unwrap();
    assert!(fine.published_for("out", "m-1"));
    let crashed = simulation::run(&scenario, &plan("crash-before@1")).unwrap();
    assert!(!crashed.published_for("out", "m-1"));
    assert!(
        crashed.remaining("in").is_empty(),
        "committed, so never redelivered"
    );
    assert!(
        crashed
            .events
            .iter()
            .any(|e| e.operation == Operation::AutoCommit)
    );
}

/// A scenario with something of everything, for determinism.
fn busy_scenario() -> Scenario {
    Scenario::new("busy")
        .queue(
            "orders",
            QueueOptions::default().with_lock_duration(Duration::from_secs(20)),
        )
        .queue(
            "results",
            QueueOptions::default().with_duplicate_detection(),
        )
        .messages(
            "orders",
            (0..6).map(|n| {
                Message::new(format!("o-{n}"), "x").with_session_id(format!("s{}", n % 2))
            }),
        )
        .replicas("worker", 2, busy_worker)
        .run_for(Duration::from_secs(600))
}

async fn busy_worker(ctx: ServiceCtx) {
    loop {
        let delivery = match ctx.receive("orders").await {
            Ok(delivery) => delivery,
            Err(_) => {
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if let Ok(mut tx) = ctx.begin(IsolationLevel::ReadCommitted).await {
            let _ = tx
                .upsert("seen", delivery.message_id(), serde_json::json!(1))
                .await;
            let _ = tx.commit().await;
        }
        let _ = ctx
            .call_downstream("email", delivery.message_id(), "sent")
            .await;
        let _ = ctx
            .send(
                "results",
                Message::new(format!("r-{}", delivery.message_id()), "x")
                    .with_correlation_id(delivery.message_id()),
            )
            .await;
        let _ = ctx.complete(&delivery).await;
    }
}

#[test]
fn the_same_plan_gives_a_byte_identical_trace() {
    let scenario = busy_scenario();
    for seed in [1, 7, 42] {
        let plan = FaultPlan::random(seed, 40, &FaultKind::ALL);
        let first = simulation::run_with(&scenario, &plan, seed, Duration::from_secs(5)).unwrap();
        let second = simulation::run_with(&scenario, &plan, seed, Duration::from_secs(5)).unwrap();
        assert!(first.events.len() > 20, "the scenario does something");
        assert_eq!(
            render_timeline(&first.events),
            render_timeline(&second.events),
            "plan {plan}"
        );
        assert_eq!(
            render_mermaid(&first.events),
            render_mermaid(&second.events),
            "plan {plan}"
        );
        assert_eq!(first.downstream_calls, second.downstream_calls);
    }
}

#[test]
fn exploration_runs_the_baseline_every_crash_point_and_the_random_plans() {
    let scenario = Scenario::new("restart")
        .queue("out", QueueOptions::default())
        .service("producer", counting_producer);
    let plans = simulation::explore(
        &scenario,
        &Exploration::default().with_random_plans(5),
        |run| run.plan.to_string(),
    )
    .unwrap();
    // Three sends: six crash points, plus the baseline and five random plans.
    assert_eq!(plans.len(), 1 + 6 + 5);
    assert_eq!(&plans[..3], ["none", "crash-before@0", "crash-after@0"]);
    let again = simulation::explore(
        &scenario,
        &Exploration::default().with_random_plans(5),
        |run| run.plan.to_string(),
    )
    .unwrap();
    assert_eq!(plans, again);
}

#[test]
fn a_panicking_service_ends_the_run_with_its_message() {
    let scenario = Scenario::new("panic")
        .queue("in", QueueOptions::default())
        .message("in", Message::new("m-1", "x"))
        .service("consumer", |ctx: ServiceCtx| async move {
            let delivery = ctx.receive("in").await?;
            let quantity: u32 = delivery
                .body_text()
                .unwrap_or_default()
                .parse()
                .expect("the body is a number");
            ctx.call_downstream("stock", "quantity", quantity.to_string())
                .await
                .ok();
            Ok::<_, BrokerError>(())
        });
    let run = simulation::run(&scenario, &FaultPlan::none()).unwrap();
    match run.outcome {
        RunOutcome::Panicked { service, message } => {
            assert_eq!(service, "consumer");
            assert!(message.contains("the body is a number"), "{message}");
        }
        other => panic!("expected a panic, got {other:?}"),
    }
}

#[test]
fn a_deadlocked_service_is_reported_stuck_in_virtual_time() {
    let scenario = Scenario::new("deadlock").service("waiter", |ctx: ServiceCtx| async move {
        ctx.call_downstream("log", "start", "").await.ok();
        // Waits for a value nobody will ever send: an await that never ends.
        let (_keep, never) = tokio::sync::oneshot::channel::<()>();
        let _ = never.await;
    });
    let run = simulation::run(&scenario, &FaultPlan::none()).unwrap();
    assert!(
        matches!(run.outcome, RunOutcome::Stuck { ref service, .. } if service == "waiter"),
        "{:?}",
        run.outcome
    );
}

#[test]
fn an_idle_consumer_is_not_stuck() {
    let scenario = Scenario::new("idle")
        .queue("in", QueueOptions::default())
        .service("consumer", receive_and_complete);
    let run = simulation::run(&scenario, &FaultPlan::none()).unwrap();
    assert_eq!(run.outcome, RunOutcome::DeadlineReached);
}

async fn spinning_poller(ctx: ServiceCtx) {
    loop {
        // Polls with no wait: virtual time never moves.
        let _ = ctx
            .receive_with("in", ReceiveOptions::wait_at_most(Duration::ZERO))
            .await;
    }
}

#[test]
fn a_loop_that_never_waits_exhausts_the_operation_budget() {
    let scenario = Scenario::new("spin")
        .queue("in", QueueOptions::default())
        .max_operations(10_000)
        .service("poller", spinning_poller);
    let run = simulation::run(&scenario, &FaultPlan::none()).unwrap();
    assert_eq!(
        run.outcome,
        RunOutcome::TooManyOperations {
            service: "poller".to_owned(),
            limit: 10_000
        }
    );
}

#[test]
fn a_planned_fault_is_shown_in_the_trace() {
    let scenario = Scenario::new("restart")
        .queue("out", QueueOptions::default())
        .service("producer", counting_producer);
    let run = simulation::run(&scenario, &FaultPlan::single(0, Fault::LostResponse)).unwrap();
    let first = run.operation(0).unwrap();
    assert_eq!(first.fault, Some(Fault::LostResponse));
    assert!(render_timeline(&run.events).contains("[fault: lost-response]"));
    assert!(render_mermaid(&run.events).contains("reply lost"));
}

async fn change_feed_tailer(ctx: ServiceCtx) -> Result<(), broker::store::StoreError> {
    let mut position = 0;
    loop {
        ctx.wait_for_changes(position).await;
        for change in ctx.changes_since(position).await? {
            ctx.call_downstream("projection", &change.key, format!("{:?}", change.kind))
                .await
                .ok();
            position = change.position;
        }
    }
}

#[test]
fn a_tailer_waiting_for_changes_is_idle_not_stuck_and_sees_every_commit() {
    let scenario = Scenario::new("cdc")
        .service("tailer", change_feed_tailer)
        .service("writer", |ctx: ServiceCtx| async move {
            for n in 0..3 {
                let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
                tx.insert("orders", &format!("o-{n}"), serde_json::json!(n))
                    .await?;
                tx.commit().await?;
            }
            Ok::<(), broker::store::StoreError>(())
        });
    let run = simulation::run(&scenario, &FaultPlan::none()).unwrap();
    assert_eq!(run.outcome, RunOutcome::DeadlineReached);
    let keys: Vec<&str> = run
        .calls_to("projection")
        .iter()
        .map(|call| &*call.key)
        .collect();
    assert_eq!(keys, vec!["o-0", "o-1", "o-2"]);
}

#[test]
fn a_store_statement_that_fails_aborts_its_transaction() {
    let scenario = Scenario::new("store-down").service("writer", |ctx: ServiceCtx| async move {
        let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
        let first = tx.insert("orders", "o-1", serde_json::json!(1)).await;
        let second = tx.insert("orders", "o-2", serde_json::json!(2)).await;
        let commit = tx.commit().await;
        ctx.call_downstream(
            "log",
            "outcome",
            format!("{first:?} / {second:?} / {commit:?}"),
        )
        .await
        .ok();
        Ok::<(), broker::store::StoreError>(())
    });
    // Operation #1 is the first insert.
    let run = simulation::run(&scenario, &plan("unavailable@1")).unwrap();
    assert!(run.store.committed("orders").is_empty());
    let outcome = &run.calls_to("log")[0].detail;
    assert!(
        outcome.starts_with("Err(Unavailable) / Err(TransactionAborted) / Err("),
        "{outcome}"
    );
}

/// Receives, completes, and logs how the complete went.
async fn complete_and_log(ctx: ServiceCtx) -> Result<(), BrokerError> {
    loop {
        let delivery = ctx.receive("in").await?;
        let outcome = ctx.complete(&delivery).await;
        ctx.call_downstream(
            "log",
            &format!("{}-{}", delivery.message_id(), delivery.delivery_count),
            format!("{outcome:?}"),
        )
        .await
        .ok();
    }
}

#[test]
fn a_lost_ack_means_a_redelivery_after_the_lock_expires() {
    let scenario = Scenario::new("lost-ack")
        .queue("in", QueueOptions::default())
        .message("in", Message::new("m-1", "x"))
        .service("consumer", complete_and_log);
    // #1 is the complete: it never reaches the broker.
    let run = simulation::run(&scenario, &plan("unavailable@1")).unwrap();
    let calls = run.calls_to("log");
    assert_eq!(calls[0].key.as_ref(), "m-1-1");
    assert_eq!(calls[0].detail, "Err(Unavailable)");
    // The lock (60 s) ran out and the message came back, one delivery more.
    assert_eq!(calls[1].key.as_ref(), "m-1-2");
    assert_eq!(calls[1].detail, "Ok(())");
    assert_eq!(calls[1].at, Duration::from_secs(60));
    assert_eq!(run.deliveries("in", "m-1"), 2);
    assert!(run.remaining("in").is_empty());
}

#[test]
fn an_ack_whose_reply_is_lost_took_effect_and_is_not_redelivered() {
    let scenario = Scenario::new("lost-ack-reply")
        .queue("in", QueueOptions::default())
        .message("in", Message::new("m-1", "x"))
        .service("consumer", complete_and_log);
    let run = simulation::run(&scenario, &plan("lost-response@1")).unwrap();
    let calls = run.calls_to("log");
    assert_eq!(calls.len(), 1, "no redelivery");
    assert_eq!(calls[0].detail, "Err(Timeout)");
    assert_eq!(run.deliveries("in", "m-1"), 1);
    assert!(run.removed("in", "m-1"));
}

/// Writes one row per attempt until a commit succeeds; logs each outcome.
async fn committing_writer(ctx: ServiceCtx) -> Result<(), broker::store::StoreError> {
    for attempt in 0..20 {
        let outcome = async {
            let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
            tx.insert(
                "orders",
                &format!("o-{attempt}"),
                serde_json::json!(attempt),
            )
            .await?;
            tx.commit().await
        }
        .await;
        ctx.call_downstream("log", &format!("attempt-{attempt}"), format!("{outcome:?}"))
            .await
            .ok();
        if outcome.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    Ok(())
}

#[test]
fn a_store_outage_fails_every_statement_for_its_duration() {
    let scenario = Scenario::new("store-outage").service("writer", committing_writer);
    // #0 is the first begin: the store goes down for 5 s from there.
    let run = simulation::run(&scenario, &plan("outage-5000ms@0")).unwrap();
    let calls = run.calls_to("log");
    let failed = calls
        .iter()
        .filter(|call| call.detail == "Err(Unavailable)")
        .count();
    // Attempts at 0 s … 4 s fail, the one at 5 s commits.
    assert_eq!(failed, 5, "{calls:?}");
    assert_eq!(calls.last().unwrap().detail, "Ok(())");
    assert_eq!(calls.last().unwrap().at, Duration::from_secs(5));
    assert_eq!(run.store.committed("orders").len(), 1);
}

#[test]
fn a_commit_whose_reply_is_lost_is_committed_all_the_same() {
    let scenario = Scenario::new("lost-commit-reply").service("writer", committing_writer);
    // #2 is the first commit.
    let run = simulation::run(&scenario, &plan("lost-response@2")).unwrap();
    let calls = run.calls_to("log");
    assert_eq!(calls[0].detail, "Err(Unavailable)");
    // The writer retried with a new row: the first one is there too.
    let committed = run.store.committed("orders");
    assert!(committed.contains_key("o-0"), "{committed:?}");
    assert!(committed.contains_key("o-1"), "{committed:?}");
}

#[test]
fn a_planned_downstream_outage_fails_that_system_only() {
    let scenario =
        Scenario::new("downstream-outage").service("caller", |ctx: ServiceCtx| async move {
            for second in 0..4u64 {
                let _ = ctx
                    .call_downstream("payments", &format!("pay-{second}"), "charge")
                    .await;
                let _ = ctx
                    .call_downstream("email", &format!("mail-{second}"), "hello")
                    .await;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
    // #0 is the first payment: payments is down for 2 s; email is not.
    let run = simulation::run(&scenario, &plan("outage-2000ms@0")).unwrap();
    let paid: Vec<&str> = run.calls_to("payments").iter().map(|c| &*c.key).collect();
    assert_eq!(paid, vec!["pay-2", "pay-3"]);
    assert_eq!(run.calls_to("email").len(), 4);
}

/// Sends one message, retrying on any error with the same message id.
async fn retrying_producer(ctx: ServiceCtx) -> Result<(), BrokerError> {
    loop {
        match ctx.send("out", Message::new("payment-7", "x")).await {
            Ok(()) => return Ok(()),
            Err(_) => tokio::time::sleep(Duration::from_secs(1)).await,
        }
    }
}

#[test]
fn a_lost_publish_confirmation_retried_with_the_same_id_is_stored_once_with_duplicate_detection() {
    let with_detection = Scenario::new("retry")
        .queue("out", QueueOptions::default().with_duplicate_detection())
        .service("producer", retrying_producer);
    let without = Scenario::new("retry")
        .queue("out", QueueOptions::default())
        .service("producer", retrying_producer);
    let lost = plan("lost-response@0");
    // The first send was stored, its confirmation lost: the retry is a
    // second copy, unless the queue remembers the id.
    assert_eq!(
        simulation::run(&without, &lost)
            .unwrap()
            .remaining("out")
            .len(),
        2
    );
    let run = simulation::run(&with_detection, &lost).unwrap();
    assert_eq!(run.remaining("out").len(), 1);
    assert!(render_timeline(&run.events).contains("duplicate id: dropped"));
}

/// Receives a request and writes its row through a context scoped to it, so
/// the trace can tell whose transaction each statement was.
async fn scoped_writer(ctx: ServiceCtx) -> Result<(), BrokerError> {
    loop {
        let request = ctx.receive("requests").await?;
        let scoped = ctx.concerning(request.message_id());
        let written = async {
            let mut tx = scoped.begin(IsolationLevel::ReadCommitted).await?;
            tx.insert("orders", request.message_id(), serde_json::json!(1))
                .await?;
            tx.commit().await
        }
        .await;
        if written.is_ok() {
            ctx.complete(&request).await?;
        }
    }
}

#[test]
fn a_scoped_context_puts_its_store_operations_on_the_message_timeline() {
    let scenario = Scenario::new("scoped")
        .queue("requests", QueueOptions::default())
        .message("requests", Message::new("order-1", "x"))
        .service("writer", scoped_writer);
    // Crash after the commit (#3): the timeline of `order-1` must show the
    // transaction that committed before the crash, not only the receive.
    let run = simulation::run(&scenario, &plan("crash-after@3")).unwrap();
    let about = run.events_for_message("order-1");
    let operations: Vec<Operation> = about.iter().map(|event| event.operation).collect();
    for expected in [
        Operation::Begin,
        Operation::Insert,
        Operation::Commit,
        Operation::Crash,
    ] {
        assert!(
            operations.contains(&expected),
            "{expected:?} missing from {}",
            render_timeline(&about)
        );
    }
    let commit = about
        .iter()
        .find(|event| event.operation == Operation::Commit)
        .unwrap();
    assert_eq!(commit.correlation_id.as_deref(), Some("order-1"));
    // The scope is a label only: the same service life and numbering (the
    // crash still hit #3), and the broker operations keep their own ids.
    assert_eq!(commit.operation_number, Some(3));
    let receive = run
        .events
        .iter()
        .find(|event| event.operation == Operation::Receive)
        .unwrap();
    assert_eq!(receive.message_id.as_deref(), Some("order-1"));
    assert_eq!(receive.correlation_id, None);
    assert!(render_timeline(&about).contains("for order-1"));
}

#[test]
fn an_unscoped_context_leaves_store_operations_unattributed() {
    let scenario = Scenario::new("unscoped").service("writer", |ctx: ServiceCtx| async move {
        let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
        tx.insert("orders", "o-1", serde_json::json!(1)).await?;
        tx.commit().await
    });
    let run = simulation::run(&scenario, &FaultPlan::none()).unwrap();
    assert!(
        run.events
            .iter()
            .filter(|event| event.target.as_deref() == Some("store"))
            .all(|event| event.correlation_id.is_none())
    );
}

/// A Kafka-style consumer with `settings` on top of its group, which takes
/// ten seconds per message (the 5-second default tick falls inside) and
/// then commits as `commit` says.
async fn kafka_consumer(
    ctx: ServiceCtx,
    settings: &[(&str, &str)],
    commit: Option<broker::CommitMode>,
    store: bool,
) -> Result<(), BrokerError> {
    let mut config = broker::ClientConfig::new();
    config.set("group.id", "workers");
    for (key, value) in settings {
        config.set(*key, *value);
    }
    let consumer = config.create_with_context(ctx.clone())?;
    consumer.subscribe(&["in"])?;
    loop {
        let message = consumer.recv().await?;
        tokio::time::sleep(Duration::from_secs(10)).await;
        ctx.send(
            "out",
            Message::new("result", "x").with_correlation_id(message.message_id()),
        )
        .await?;
        if let Some(mode) = commit {
            consumer.commit_message(&message, mode).await?;
        }
        if store {
            consumer.store_offset_from_message(&message)?;
        }
    }
}

fn kafka_scenario<F, Fut>(consumer: F) -> Scenario
where
    F: Fn(ServiceCtx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), BrokerError>> + 'static,
{
    Scenario::new("kafka")
        .queue("in", QueueOptions::default())
        .queue("out", QueueOptions::default())
        .message("in", Message::new("m-1", "x"))
        .service("consumer", consumer)
        .run_for(Duration::from_secs(300))
}

#[test]
fn a_kafka_consumer_with_librdkafkas_defaults_commits_before_the_work_is_done() {
    let scenario = kafka_scenario(|ctx| kafka_consumer(ctx, &[], None, false));
    // #0 the poll, #1 the send: a crash before the send comes after the tick.
    let crashed = simulation::run(&scenario, &plan("crash-before@1")).unwrap();
    assert!(!crashed.published_for("out", "m-1"));
    assert!(crashed.remaining("in").is_empty(), "committed on the timer");
}

#[test]
fn a_kafka_consumer_that_commits_after_the_work_loses_nothing() {
    for (settings, commit, store) in [
        (
            &[("enable.auto.commit", "false")][..],
            Some(broker::CommitMode::Sync),
            false,
        ),
        (
            &[("enable.auto.commit", "false")][..],
            Some(broker::CommitMode::Async),
            false,
        ),
        (&[("enable.auto.offset.store", "false")][..], None, true),
    ] {
        let scenario = kafka_scenario(move |ctx| kafka_consumer(ctx, settings, commit, store));
        let crashed = simulation::run(&scenario, &plan("crash-before@1")).unwrap();
        assert!(crashed.published_for("out", "m-1"), "{settings:?}");
        assert!(
            crashed.remaining("in").is_empty(),
            "{settings:?}: committed in the end"
        );
    }
}

#[test]
fn a_kafka_consumer_that_turns_the_timer_off_and_never_commits_settles_nothing() {
    let scenario =
        kafka_scenario(|ctx| kafka_consumer(ctx, &[("enable.auto.commit", "false")], None, false));
    let run = simulation::run(&scenario, &FaultPlan::none()).unwrap();
    assert!(run.published_for("out", "m-1"));
    assert_eq!(run.remaining("in").len(), 1);
}

/// Creates a consumer from each config librdkafka would refuse, and
/// reports each refusal that names the property on `out`; then stores an
/// offset with `enable.auto.offset.store` at its default, which librdkafka
/// refuses too (`RD_KAFKA_RESP_ERR__INVALID_ARG`).
async fn refused_configs(ctx: ServiceCtx) -> Result<(), BrokerError> {
    let cases: [(&[(&str, &str)], &str); 4] = [
        (&[], "group.id"),
        (
            &[("group.id", "g"), ("enable.auto.comit", "false")],
            "enable.auto.comit",
        ),
        (
            &[("group.id", "g"), ("enable.auto.commit", "no")],
            "enable.auto.commit",
        ),
        (
            &[("group.id", "g"), ("auto.commit.interval.ms", "0")],
            "auto.commit.interval.ms",
        ),
    ];
    for (settings, key) in cases {
        let mut config = broker::ClientConfig::new();
        for (name, value) in settings {
            config.set(*name, *value);
        }
        if let Err(error) = config.create_with_context(ctx.clone())
            && error.to_string().contains(key)
        {
            ctx.send("out", Message::new(format!("refused {key}"), "x"))
                .await?;
        }
    }
    let consumer = broker::ClientConfig::new()
        .set("group.id", "g")
        .create_with_context(ctx.clone())?;
    consumer.subscribe(&["in"])?;
    let message = consumer.recv().await?;
    if let Err(error) = consumer.store_offset_from_message(&message)
        && error.to_string().contains("enable.auto.offset.store")
    {
        ctx.send("out", Message::new("refused store", "x")).await?;
    }
    Ok(())
}

#[test]
fn a_kafka_config_refuses_what_librdkafka_would_refuse() {
    let run = simulation::run(&kafka_scenario(refused_configs), &FaultPlan::none()).unwrap();
    let mut refused: Vec<String> = run
        .remaining("out")
        .iter()
        .map(|envelope| envelope.message_id().to_string())
        .collect();
    refused.sort();
    assert_eq!(
        refused,
        vec![
            "refused auto.commit.interval.ms",
            "refused enable.auto.comit",
            "refused enable.auto.commit",
            "refused group.id",
            "refused store",
        ]
    );
}

/// Takes one message, pauses 25 minutes "because the carrier is down", then
/// takes the other, and pauses again past the end of the run.
async fn pausing_consumer(ctx: ServiceCtx) -> Result<(), BrokerError> {
    let first = ctx.receive("in").await?;
    ctx.complete(&first).await?;
    ctx.pause(Duration::from_secs(25 * 60), "the carrier is down")
        .await;
    let second = ctx.receive("in").await?;
    ctx.complete(&second).await?;
    ctx.pause(Duration::from_secs(60 * 60), "the carrier is down again")
        .await;
    Ok(())
}

#[test]
fn a_pause_is_idle_not_stuck_and_the_trace_says_why() {
    let scenario = Scenario::new("pause")
        .queue("in", QueueOptions::default())
        .message("in", Message::new("msg-1", "x"))
        .message("in", Message::new("msg-2", "x"))
        .service("consumer", pausing_consumer)
        .run_for(Duration::from_secs(60 * 60));
    let run = simulation::run(&scenario, &FaultPlan::none()).unwrap();
    // Still in its second pause when the run ends, 35 minutes into it:
    // longer than the 10 minutes after which a quiet service counts as
    // stuck, and not stuck, because it said it was pausing.
    assert!(run.outcome.is_normal(), "{:?}", run.outcome);
    let pause = run
        .events
        .iter()
        .find(|event| event.operation == Operation::Pause)
        .expect("a pause in the trace");
    assert_eq!(
        pause.note.as_deref(),
        Some("for 25 min: the carrier is down")
    );
    assert_eq!(pause.operation_number, None, "a pause is not an operation");
    let resume = run
        .events
        .iter()
        .find(|event| event.operation == Operation::Resume)
        .expect("a resume in the trace");
    assert_eq!(resume.at - pause.at, Duration::from_secs(25 * 60));
    // Nothing was taken during the pause: the second message waited.
    let second = run
        .events
        .iter()
        .find(|event| {
            event.operation == Operation::Receive && event.message_id.as_deref() == Some("msg-2")
        })
        .expect("msg-2 received");
    assert!(
        second.at >= resume.at,
        "{:?} before {:?}",
        second.at,
        resume.at
    );
    assert_eq!(run.remaining("in").len(), 0);
    // Both notes show in the timeline and the diagram, the message's own
    // timeline leaves them out.
    let timeline = render_timeline(&run.events);
    assert!(timeline.contains("pause"), "{timeline}");
    assert!(
        timeline.contains("for 25 min: the carrier is down"),
        "{timeline}"
    );
    let mermaid = render_mermaid(&run.events);
    assert!(
        mermaid.contains("Note over") && mermaid.contains("pause for 25 min"),
        "{mermaid}"
    );
    let about_msg_2 = broker::trace::events_for_message(&run.events, "msg-2");
    assert!(
        about_msg_2
            .iter()
            .all(|event| !matches!(event.operation, Operation::Pause | Operation::Resume)),
        "{about_msg_2:?}"
    );
}

#[test]
fn a_sleep_as_long_as_a_pause_is_reported_stuck() {
    // The same consumer with a plain sleep: the runtime cannot tell it from
    // a deadlock, which is why `pause` exists.
    let scenario = Scenario::new("sleep")
        .queue("in", QueueOptions::default())
        .message("in", Message::new("msg-1", "x"))
        .service("consumer", |ctx: ServiceCtx| async move {
            let first = ctx.receive("in").await?;
            ctx.complete(&first).await?;
            tokio::time::sleep(Duration::from_secs(60 * 60)).await;
            Ok::<(), BrokerError>(())
        })
        .run_for(Duration::from_secs(60 * 60));
    let run = simulation::run(&scenario, &FaultPlan::none()).unwrap();
    assert!(
        matches!(run.outcome, RunOutcome::Stuck { ref service, .. } if service == "consumer"),
        "{:?}",
        run.outcome
    );
}

//! Properties that hold for *any* fault plan, checked with proptest.
//!
//! The scenario: two competing at-least-once consumers (receive, do the work,
//! then complete; back off and carry on after any error) drain a queue while
//! the plan crashes them, loses replies, takes the broker down, delays them
//! and duplicates deliveries. Then:
//!
//! 1. every message sent ends completed or dead-lettered: never lost, never
//!    stuck;
//! 2. no message is delivered to a second consumer while a lock on it is
//!    held;
//! 3. a completed message is never delivered again unless the trace shows a
//!    new copy of it being sent;
//! 4. the same plan gives the same trace, byte for byte.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use broker::fault::{Fault, FaultPlan};
use broker::simulation::{self, Run, Scenario, ServiceCtx};
use broker::trace::{Operation, render_timeline};
use broker::{Message, QueueOptions, dead_letter_path};
use proptest::prelude::*;

const QUEUE: &str = "work";

async fn at_least_once_consumer(ctx: ServiceCtx) {
    loop {
        let delivery = match ctx.receive(QUEUE).await {
            Ok(delivery) => delivery,
            Err(_) => {
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        match ctx
            .call_downstream("work", delivery.message_id(), "done")
            .await
        {
            // Done: settle. If the complete fails, the lock expires and the
            // message comes back: at-least-once.
            Ok(()) => {
                let _ = ctx.complete(&delivery).await;
            }
            Err(_) => {
                let _ = ctx.abandon(&delivery).await;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

fn scenario(messages: usize) -> Scenario {
    Scenario::new("at-least-once")
        .queue(
            QUEUE,
            QueueOptions::default().with_lock_duration(Duration::from_secs(30)),
        )
        .messages(
            QUEUE,
            (0..messages).map(|n| Message::new(format!("m-{n}"), "x")),
        )
        .replicas("consumer", 2, at_least_once_consumer)
        .run_for(Duration::from_secs(3600))
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        Just(Fault::CrashBefore),
        Just(Fault::CrashAfter),
        Just(Fault::LostResponse),
        Just(Fault::Unavailable),
        (1u64..30_000).prop_map(|ms| Fault::Delay(Duration::from_millis(ms))),
        Just(Fault::DuplicateDelivery),
        (1u64..180).prop_map(|s| Fault::Outage(Duration::from_secs(s))),
    ]
}

fn plan() -> impl Strategy<Value = FaultPlan> {
    prop::collection::vec((0u64..25, fault()), 0..6).prop_map(|faults| {
        faults
            .into_iter()
            .fold(FaultPlan::none(), |plan, (operation, fault)| {
                plan.with(operation, fault)
            })
    })
}

fn run(messages: usize, plan: &FaultPlan) -> Run {
    simulation::run(&scenario(messages), plan).expect("the run finishes")
}

/// Deliveries, settlements and new copies, per (entity, message id), in order.
fn per_message(run: &Run) -> BTreeMap<(Arc<str>, Arc<str>), Vec<&broker::trace::TraceEvent>> {
    let mut events: BTreeMap<_, Vec<_>> = BTreeMap::new();
    for event in &run.events {
        if let (Some(target), Some(id)) = (&event.target, &event.message_id) {
            events
                .entry((Arc::clone(target), Arc::clone(id)))
                .or_default()
                .push(event);
        }
    }
    events
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_message_ends_completed_or_dead_lettered(messages in 1usize..6, plan in plan()) {
        let run = run(messages, &plan);
        prop_assert!(run.outcome.is_normal(), "{:?}", run.outcome);
        let dead: Vec<String> = run.remaining(&dead_letter_path(QUEUE)).iter().map(|e| e.message_id().to_owned()).collect();
        for n in 0..messages {
            let id = format!("m-{n}");
            let completed = run.removed(QUEUE, &id);
            prop_assert!(
                completed || dead.contains(&id),
                "{id} neither completed nor dead-lettered with plan {plan}\n{}",
                render_timeline(&run.events_for_message(&id))
            );
        }
        prop_assert!(run.remaining(QUEUE).is_empty(), "messages left with plan {plan}");
    }

    #[test]
    fn no_message_is_delivered_twice_while_its_lock_is_held(messages in 1usize..6, plan in plan()) {
        let run = run(messages, &plan);
        for ((path, id), events) in per_message(&run) {
            let mut locked_by: Option<&str> = None;
            for event in events {
                let ok = event.outcome.is_ok();
                match event.operation {
                    Operation::Receive | Operation::ReceiveDeferred | Operation::Poll if ok => {
                        prop_assert!(
                            locked_by.is_none(),
                            "{id} on {path} delivered to {} while {} held its lock (plan {plan})\n{}",
                            event.actor, locked_by.unwrap_or_default(), render_timeline(&run.events)
                        );
                        locked_by = Some(&event.actor);
                    }
                    // Whatever ends a lock: a settlement that succeeded, or
                    // the broker letting it go.
                    Operation::Complete | Operation::Abandon | Operation::DeadLetter | Operation::Defer if ok => locked_by = None,
                    Operation::LockExpired | Operation::LockLost | Operation::AutoCommit | Operation::DeadLettered => locked_by = None,
                    _ => {}
                }
            }
        }
    }

    #[test]
    fn a_completed_message_is_delivered_again_only_as_a_new_copy(messages in 1usize..6, plan in plan()) {
        let run = run(messages, &plan);
        for ((path, id), events) in per_message(&run) {
            let mut completed = false;
            for event in events {
                let ok = event.outcome.is_ok();
                match event.operation {
                    Operation::Complete | Operation::AutoCommit if ok => completed = true,
                    // A new copy of the message was accepted: delivering it is fine.
                    Operation::Send | Operation::Resubmit | Operation::Activated if ok && event.sequence_number.is_some() => completed = false,
                    Operation::Receive | Operation::ReceiveDeferred | Operation::Poll if ok => {
                        prop_assert!(!completed, "{id} on {path} delivered after it was completed (plan {plan})\n{}", render_timeline(&run.events));
                    }
                    _ => {}
                }
            }
        }
    }

    #[test]
    fn the_same_plan_gives_the_same_trace(messages in 1usize..6, plan in plan()) {
        let first = run(messages, &plan);
        let second = run(messages, &plan);
        prop_assert_eq!(render_timeline(&first.events), render_timeline(&second.events));
    }
}

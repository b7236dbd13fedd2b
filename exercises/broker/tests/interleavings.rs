//! Exploring every interleaving of two services' store statements.
//!
//! Two services each add 1 to a counter with a read-modify-write (`get`,
//! `upsert`, `commit`) under read committed. The exploration must run each
//! order of their statements exactly once, find the orders that lose an
//! update, and agree in number with a small model of the row lock written
//! here independently of the scheduler.

use std::collections::BTreeSet;
use std::ops::ControlFlow;

use broker::fault::FaultPlan;
use broker::simulation::{self, Exploration, Interrupted, Scenario, ServiceCtx};
use broker::store::{IsolationLevel, StoreError};
use serde_json::json;

async fn add_one(ctx: ServiceCtx) -> Result<(), StoreError> {
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    let seen = tx
        .get("counter", "c")
        .await?
        .and_then(|row| row.value["n"].as_i64())
        .unwrap_or(0);
    tx.upsert("counter", "c", json!({ "n": seen + 1 })).await?;
    tx.commit().await
}

fn scenario() -> Scenario {
    Scenario::new("counter")
        .setup(|ctx: ServiceCtx| async move {
            let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
            tx.insert("counter", "c", json!({ "n": 0 })).await?;
            tx.commit().await
        })
        .service("a", add_one)
        .service("b", add_one)
}

/// The orders in which the six statements can pass, by a model of the lock
/// alone: the upsert takes the row lock until the commit, so once both have
/// passed their upsert, the first to pass it commits first.
fn model_orders() -> usize {
    fn count(done: [usize; 2], lock_order: &mut Vec<usize>) -> usize {
        if done == [3, 3] {
            return 1;
        }
        let mut total = 0;
        for who in 0..2 {
            let step = done[who];
            if step == 3 {
                continue;
            }
            // A commit (step 2) must wait for an earlier upserter to commit.
            if step == 2 && lock_order.first() != Some(&who) {
                continue;
            }
            let mut next = done;
            next[who] += 1;
            if step == 1 {
                lock_order.push(who);
            }
            if step == 2 {
                lock_order.remove(0);
            }
            total += count(next, lock_order);
            if step == 1 {
                lock_order.pop();
            }
            if step == 2 {
                lock_order.insert(0, who);
            }
        }
        total
    }
    count([0, 0], &mut Vec::new())
}

#[test]
fn every_interleaving_runs_once_and_some_lose_the_update() {
    let exploration = Exploration::happy_path().with_every_interleaving(1_000);
    let runs = simulation::explore_until(&scenario(), &exploration, |run| {
        let order: Vec<String> = run
            .decisions
            .iter()
            .map(|decision| decision.service().to_owned())
            .collect();
        let n = run.store.committed("counter")["c"].value["n"].as_i64();
        ControlFlow::Continue((run.schedule.is_some(), order, n))
    })
    .expect("the exploration finishes");
    let interleavings: Vec<_> = runs.iter().filter(|(scheduled, ..)| *scheduled).collect();
    let distinct: BTreeSet<_> = interleavings.iter().map(|(_, order, _)| order).collect();
    assert_eq!(distinct.len(), interleavings.len(), "no order runs twice");
    assert_eq!(interleavings.len(), model_orders());
    let finals: BTreeSet<_> = interleavings.iter().map(|(.., n)| *n).collect();
    assert_eq!(
        finals,
        BTreeSet::from([Some(1), Some(2)]),
        "some lose an update, some do not"
    );
    for (_, order, _) in &interleavings {
        assert_eq!(
            order.len(),
            6,
            "each run decides all six statements: {order:?}"
        );
    }
}

#[test]
fn a_schedule_replays_the_same_run() {
    // a reads, b reads, then both write: the lost update.
    let run = simulation::run_scheduled(&scenario(), &[0, 1], simulation::DEFAULT_WATCHDOG)
        .expect("the run finishes");
    let order: Vec<&str> = run
        .decisions
        .iter()
        .map(|decision| decision.service())
        .collect();
    assert_eq!(order[..2], ["a", "b"]);
    assert_eq!(run.store.committed("counter")["c"].value["n"], json!(1));
    assert_eq!(run.plan, FaultPlan::none());
}

#[test]
fn an_exploration_past_its_limit_says_so_instead_of_passing() {
    let exploration = Exploration::happy_path().with_every_interleaving(3);
    let result = simulation::explore(&scenario(), &exploration, |_| ());
    assert_eq!(result, Err(Interrupted::TooManyInterleavings { limit: 3 }));
}

#[test]
fn a_check_reports_the_losing_interleaving_and_replays_it() {
    use broker::grading::{Check, Violation};
    let check = Check::new("lost-update", 10)
        .scenario(scenario())
        .exploration(Exploration::happy_path().with_every_interleaving(1_000))
        .invariant(
            |run| match run.store.committed("counter")["c"].value["n"].as_i64() {
                Some(2) => Ok(()),
                other => Err(Violation::new(format!(
                    "the counter ends at {other:?}, not 2"
                ))),
            },
        );
    let report = check.run_with(None, None);
    assert!(!report.passed);
    assert!(
        report
            .text
            .contains("an interleaving, no fault; who ran each store statement: "),
        "{}",
        report.text
    );
    let failure = report.failure.expect("a failure");
    let replay = failure
        .replay
        .split('\'')
        .nth(1)
        .expect("the replay names its EDA_REPLAY value")
        .to_owned();
    assert!(
        replay.starts_with("lost-update:seed=0:plan=none:schedule="),
        "{replay}"
    );
    let replayed = check.run_with(Some(&replay), None);
    assert!(replayed.replayed && !replayed.passed, "{}", replayed.text);
    assert!(
        replayed.text.contains(&format!(
            "who ran each store statement: {}",
            failure.schedule.join(", ")
        )),
        "{}",
        replayed.text
    );
}

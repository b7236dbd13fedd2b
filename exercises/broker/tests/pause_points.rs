//! Pause points: one run per operation of the baseline, that operation held
//! up for a while. Crash points cannot find a race between two competing
//! consumers (a crash ends what the crashed one was doing); a pause lets the
//! other consumer overtake it, which is where a read-then-write goes stale.

use std::time::Duration;

use broker::clock::EPOCH_UTC;
use broker::grading::{Check, RunKind, Violation};
use broker::simulation::{Exploration, Run, Scenario, ServiceCtx};
use broker::store::{IsolationLevel, StoreError};
use broker::{Message, QueueOptions};
use serde_json::json;

/// Keeps the newest version of one counter, comparing on a plain read: a
/// second consumer can write between this one's read and its write.
async fn compares_on_a_plain_read(ctx: ServiceCtx) -> Result<(), String> {
    loop {
        let delivery = ctx.receive("versions").await.map_err(|e| e.to_string())?;
        let version: u64 = delivery
            .body_text()
            .and_then(|text| text.parse().ok())
            .unwrap_or(0);
        let attempt: Result<(), StoreError> = async {
            let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
            let stored = tx.get("counter", "x").await?;
            let newest = stored.and_then(|row| row.value["version"].as_u64());
            if newest.is_none_or(|newest| newest < version) {
                tx.upsert("counter", "x", json!({ "version": version }))
                    .await?;
            }
            tx.commit().await
        }
        .await;
        match attempt {
            Ok(()) => ctx.complete(&delivery).await.map_err(|e| e.to_string())?,
            Err(_) => ctx.abandon(&delivery).await.map_err(|e| e.to_string())?,
        }
    }
}

/// Two versions of one counter, 200 ms apart, and two competing consumers.
fn race() -> Scenario {
    Scenario::new("race")
        .queue("versions", QueueOptions::default())
        .setup(|ctx: ServiceCtx| async move {
            for (version, millis) in [(1u64, 0u64), (2, 200)] {
                let message = Message::new(format!("v{version}"), version.to_string());
                ctx.schedule(
                    "versions",
                    message,
                    EPOCH_UTC + Duration::from_millis(millis),
                )
                .await?;
            }
            Ok::<(), broker::BrokerError>(())
        })
        .replicas("consumer", 2, compares_on_a_plain_read)
        .run_for(Duration::from_secs(10 * 60))
}

/// The counter ends at the newest version.
fn newest_wins(run: &Run) -> Result<(), Violation> {
    let version = run
        .store
        .committed("counter")
        .get("x")
        .and_then(|row| row.value["version"].as_u64());
    if version == Some(2) {
        Ok(())
    } else {
        Err(Violation::new(format!(
            "the counter ends at {version:?}, not at version 2"
        )))
    }
}

fn check(exploration: Exploration) -> Check {
    Check::new("stale-overwrite", 1)
        .scenario(race())
        .exploration(exploration)
        .invariant(newest_wins)
        .replay_command("cargo test -p broker --test pause_points")
}

#[test]
fn crash_points_alone_miss_the_race() {
    let report = check(Exploration::every_crash_point()).run_with(None, None);
    assert!(report.passed, "{}", report.text);
}

#[test]
fn a_pause_point_finds_the_race_and_the_report_says_so() {
    let pause = Duration::from_secs(1);
    let report =
        check(Exploration::every_crash_point().with_pause_points(pause)).run_with(None, None);
    assert!(!report.passed, "{}", report.text);
    let failure = report.failure.as_ref().expect("a failing run");
    assert_eq!(failure.kind, RunKind::PausePoint, "{}", report.text);
    assert!(report.text.contains("at pause points"), "{}", report.text);
    assert!(report.text.contains("a pause point"), "{}", report.text);
    assert!(report.text.contains("delay-1000ms@"), "{}", report.text);
}

#[test]
fn pause_points_come_after_the_crash_points_one_per_operation() {
    let exploration =
        Exploration::every_crash_point().with_pause_points(Duration::from_millis(500));
    let plans: Vec<String> = exploration
        .plans_after_baseline(3)
        .into_iter()
        .map(|(_, plan)| plan.to_string())
        .collect();
    assert_eq!(
        plans,
        [
            "crash-before@0",
            "crash-after@0",
            "crash-before@1",
            "crash-after@1",
            "crash-before@2",
            "crash-after@2",
            "delay-500ms@0",
            "delay-500ms@1",
            "delay-500ms@2",
        ]
    );
    // Off by default: the plans are the crash points and the random plans.
    assert_eq!(Exploration::default().pause_point_count(3), 0);
    assert!(
        Exploration::every_crash_point()
            .plans_after_baseline(3)
            .iter()
            .all(|(_, plan)| !plan.to_string().starts_with("delay-"))
    );
}

//! The grader's own tests, not the learner's: each check must catch the
//! plausible wrong fixes it is named after, and pass a correct tailer
//! written differently from the reference. (`cargo xtask verify` proves
//! that the starter fails `lost-event` and the reference passes all.)
//!
//! The wrong fixes, one per way of getting the tailer's bookkeeping half
//! right:
//!
//! - storing the position of each change just before publishing it: at
//!   most once (`lost-event`);
//! - keeping the position in memory only, starting from the end of the feed
//!   ("we announce new orders, not history"): a restart skips what
//!   committed while it was down (`lost-event`);
//! - keeping the position in memory only, starting from the beginning: a
//!   late restart publishes everything again, after the duplicate
//!   detection window (`duplicate-event-undetected`);
//! - storing the position after publishing, but with a fresh message id per
//!   publish (`duplicate-event-undetected`);
//! - publishing a batch in parallel, "for throughput": one slow publish and
//!   the order's next event overtakes it (`out-of-order-per-aggregate`,
//!   found only by the fault points);
//! - putting a failed publish aside to retry on the next poll and going on
//!   with the rest: right whenever nothing fails, and an order's
//!   cancellation overtakes its placing when the broker refuses one publish
//!   (`out-of-order-per-aggregate`);
//! - keeping the position in a `static` (`lost-event`, from the file's text:
//!   a simulated crash cannot wipe a static).

use broker::simulation::{Exploration, ServiceCtx};
use cdc::TailError;
use cdc::rubric;
use cdc::scenario::scenario_running;
use cdc::shop::{self, ORDER_EVENTS, OrderEvent, POLL_INTERVAL};

#[path = "wrong/position_in_a_static.rs"]
mod position_in_a_static;

/// The message id the correct tailers use: decided by the change.
fn stable_id(event: &OrderEvent) -> String {
    format!("{}-v{}", event.order_id, event.version)
}

// --- The wrong fixes ----------------------------------------------------------------

/// Stores the position of each change, then publishes it: "the position
/// is stored per change now, so a crash costs at most one event". It does.
async fn stores_each_position_before_publishing(ctx: ServiceCtx) -> Result<(), TailError> {
    loop {
        let position = shop::stored_position(&ctx).await?;
        for change in ctx.changes_since(position).await? {
            let Some(event) = OrderEvent::from_change(&change)? else {
                continue;
            };
            shop::store_position(&ctx, change.position).await?;
            ctx.send(ORDER_EVENTS, event.to_message(&stable_id(&event)))
                .await?;
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Keeps the position in memory, starting each life at the end of the feed.
async fn position_in_memory_from_the_end(ctx: ServiceCtx) -> Result<(), TailError> {
    let mut position = ctx
        .changes_since(0)
        .await?
        .last()
        .map_or(0, |change| change.position);
    loop {
        for change in ctx.changes_since(position).await? {
            if let Some(event) = OrderEvent::from_change(&change)? {
                ctx.send(ORDER_EVENTS, event.to_message(&stable_id(&event)))
                    .await?;
            }
            position = change.position;
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Keeps the position in memory, starting each life at the beginning of the
/// feed: "nothing is lost, and duplicate detection drops the repeats".
async fn position_in_memory_from_the_start(ctx: ServiceCtx) -> Result<(), TailError> {
    let mut position = 0;
    loop {
        for change in ctx.changes_since(position).await? {
            if let Some(event) = OrderEvent::from_change(&change)? {
                ctx.send(ORDER_EVENTS, event.to_message(&stable_id(&event)))
                    .await?;
            }
            position = change.position;
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Publishes, then stores the position (right), under a fresh id for every
/// publish (wrong): the republish after a crash looks like a new event.
async fn fresh_id_per_publish(ctx: ServiceCtx) -> Result<(), TailError> {
    let mut attempt = 0_u64;
    loop {
        let position = shop::stored_position(&ctx).await?;
        let changes = ctx.changes_since(position).await?;
        for change in &changes {
            if let Some(event) = OrderEvent::from_change(change)? {
                attempt += 1;
                let message_id = format!("{}-{}-{attempt}", event.order_id, ctx.now());
                ctx.send(ORDER_EVENTS, event.to_message(&message_id))
                    .await?;
            }
        }
        if let Some(last) = changes
            .iter()
            .rev()
            .find(|change| change.table == shop::ORDERS)
        {
            shop::store_position(&ctx, last.position).await?;
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Publishes each batch's events all at once, then stores the position.
async fn publishes_in_parallel(ctx: ServiceCtx) -> Result<(), TailError> {
    loop {
        let position = shop::stored_position(&ctx).await?;
        let changes = ctx.changes_since(position).await?;
        let mut events = Vec::new();
        for change in &changes {
            if let Some(event) = OrderEvent::from_change(change)? {
                events.push(event);
            }
        }
        let sends = events.iter().map(|event| {
            let ctx = ctx.clone();
            let message = event.to_message(&stable_id(event));
            async move { ctx.send(ORDER_EVENTS, message).await }
        });
        for sent in join_all(sends).await {
            sent?;
        }
        if let Some(last) = changes
            .iter()
            .rev()
            .find(|change| change.table == shop::ORDERS)
        {
            shop::store_position(&ctx, last.position).await?;
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Runs futures at once and collects their results in order (what
/// `futures::future::join_all` does; this crate does without `futures`).
async fn join_all<F: Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut pending: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut done: Vec<Option<F::Output>> = pending.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut all = true;
        for (future, slot) in pending.iter_mut().zip(done.iter_mut()) {
            if slot.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(output) => *slot = Some(output),
                    std::task::Poll::Pending => all = false,
                }
            }
        }
        if all {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    done.into_iter().flatten().collect()
}

/// Puts a failed publish aside and retries it on the next poll, going on
/// with the rest of the batch, then stores the position past the batch.
async fn retries_failed_publishes_later(ctx: ServiceCtx) -> Result<(), TailError> {
    let mut position = shop::stored_position(&ctx).await?;
    let mut retry: Vec<OrderEvent> = Vec::new();
    loop {
        let mut failed = Vec::new();
        for event in std::mem::take(&mut retry) {
            if ctx
                .send(ORDER_EVENTS, event.to_message(&stable_id(&event)))
                .await
                .is_err()
            {
                failed.push(event);
            }
        }
        let changes = ctx.changes_since(position).await?;
        for change in &changes {
            let Some(event) = OrderEvent::from_change(change)? else {
                continue;
            };
            if ctx
                .send(ORDER_EVENTS, event.to_message(&stable_id(&event)))
                .await
                .is_err()
            {
                failed.push(event);
            }
        }
        retry = failed;
        if let Some(last) = changes
            .iter()
            .rev()
            .find(|change| change.table == shop::ORDERS)
        {
            shop::store_position(&ctx, last.position).await?;
        }
        if let Some(last) = changes.last() {
            position = last.position;
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

// --- A correct tailer, written differently from the reference ----------------------

/// Wakes on every commit instead of polling, publishes under an id derived
/// from the change's feed position, and stores the position after each
/// published change, one by one.
async fn stores_after_each_change(ctx: ServiceCtx) -> Result<(), TailError> {
    let mut seen = shop::stored_position(&ctx).await?;
    loop {
        ctx.wait_for_changes(seen).await;
        for change in ctx.changes_since(seen).await? {
            if let Some(event) = OrderEvent::from_change(&change)? {
                let message_id = format!("change-{}", change.position);
                ctx.send(ORDER_EVENTS, event.to_message(&message_id))
                    .await?;
                shop::store_position(&ctx, change.position).await?;
            }
            seen = change.position;
        }
    }
}

// --- The tests ----------------------------------------------------------------------

fn fails(check: broker::grading::Check, expected: &str) {
    // No replay and no report file: these runs must not stand in for the
    // learner's grade.
    let report = check.run_with(None, None);
    assert!(
        !report.passed,
        "the check passed a wrong fix:\n{}",
        report.text
    );
    assert!(report.text.contains(expected), "{}", report.text);
}

#[test]
fn lost_event_catches_a_position_stored_before_each_publish() {
    fails(
        rubric::lost_event().scenario(scenario_running(stores_each_position_before_publishing)),
        "is past it: no restart will read it again",
    );
}

#[test]
fn lost_event_catches_a_position_kept_in_memory_from_the_end_of_the_feed() {
    fails(
        rubric::lost_event().scenario(scenario_running(position_in_memory_from_the_end)),
        "the tailer stored no position",
    );
}

#[test]
fn duplicate_event_undetected_catches_a_position_kept_in_memory_from_the_start() {
    fails(
        rubric::duplicate_event_undetected()
            .scenario(scenario_running(position_in_memory_from_the_start)),
        "duplicate detection window apart",
    );
}

#[test]
fn duplicate_event_undetected_catches_a_fresh_id_per_publish() {
    fails(
        rubric::duplicate_event_undetected().scenario(scenario_running(fresh_id_per_publish)),
        "under a new id",
    );
}

#[test]
fn out_of_order_catches_parallel_publishing_at_a_fault_point_only() {
    let scenario = scenario_running(publishes_in_parallel);
    // Crash points and random plans alone do not find it...
    let without_fault_points = rubric::out_of_order_per_aggregate()
        .scenario(scenario.clone())
        .exploration(Exploration::every_crash_point())
        .run_with(None, None);
    assert!(without_fault_points.passed, "{}", without_fault_points.text);
    // ...one slow publish does.
    fails(
        rubric::out_of_order_per_aggregate().scenario(scenario),
        "placed again after it was cancelled",
    );
}

#[test]
fn out_of_order_catches_a_failed_publish_retried_after_the_next_one() {
    fails(
        rubric::out_of_order_per_aggregate()
            .scenario(scenario_running(retries_failed_publishes_later)),
        "in another order than their changes committed",
    );
}

#[test]
fn lost_event_refuses_a_position_kept_in_a_static() {
    let report = rubric::lost_event_of(
        scenario_running(position_in_a_static::tail),
        include_str!("wrong/position_in_a_static.rs"),
    )
    .run_with(None, None);
    assert!(
        !report.passed,
        "lost-event passed a static position:\n{}",
        report.text
    );
    assert!(
        report.text.contains("would be lost in a real crash"),
        "{}",
        report.text
    );
    assert!(
        report.text.contains("static POSITION"),
        "the report must point at the static:\n{}",
        report.text
    );
}

#[test]
fn every_check_passes_a_correct_tailer_written_differently() {
    let scenario = || scenario_running(stores_after_each_change);
    for check in [
        rubric::lost_event_of(scenario(), ""),
        rubric::duplicate_event_undetected().scenario(scenario()),
        rubric::out_of_order_per_aggregate().scenario(scenario()),
    ] {
        let report = check.run_with(None, None);
        assert!(report.passed, "{}", report.text);
    }
}

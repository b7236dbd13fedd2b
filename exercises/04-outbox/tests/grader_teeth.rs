//! The grader's own tests, not the learner's: each check must catch the
//! plausible wrong fixes it is named after, and pass a correct solution
//! written differently from the reference. (`cargo xtask verify` proves
//! that the starter fails `lost-event` and the reference passes all.)
//!
//! The wrong fixes, one per way of getting the dual write half right:
//!
//! - publishing inside the transaction, before the commit (`phantom-event`);
//! - a relay that deletes the outbox row before publishing it: at most
//!   once (`lost-event`);
//! - a relay that gives each attempt a fresh message id (`duplicate-event-
//!   undetected`);
//! - an outbox, plus the old direct publish kept "to be quick"
//!   (`duplicate-event-undetected`);
//! - a relay that never deletes a row and counts on duplicate detection
//!   for ever (`duplicate-event-undetected`, once the window has passed);
//! - a relay that drops an event whose publish failed: right at every
//!   crash point, wrong as soon as the broker is briefly unavailable
//!   (`lost-event`, found only under faults: the fault points and the random plans);
//! - a relay that remembers in a `static` what it published (`lost-event`,
//!   from the file's text: a simulated crash cannot wipe a static).

use broker::simulation::{Exploration, ServiceCtx};
use broker::store::{IsolationLevel, StoreError};
use outbox::OrderError;
use outbox::rubric;
use outbox::scenario::scenario_running;
use outbox::shop::{
    self, ORDER_EVENTS, ORDERS, OUTBOX, OrderPlaced, OrderRequest, RELAY_POLL_INTERVAL,
};

#[path = "wrong/remembers_in_a_static.rs"]
mod remembers_in_a_static;

// --- The order service's half -------------------------------------------------

/// The right half: the order, its stock and its event in one transaction.
async fn writes_the_outbox(ctx: &ServiceCtx, request: &OrderRequest) -> Result<(), OrderError> {
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    tx.insert(ORDERS, &request.order_id, request.order_row())
        .await?;
    if let Err(refused) = shop::reserve_stock(&mut tx, &request.sku, request.quantity).await {
        tx.rollback().await;
        return Err(refused);
    }
    let event = OrderPlaced::for_request(request);
    tx.insert(
        OUTBOX,
        &format!("order-placed-{}", request.order_id),
        event.to_json(),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Publishes while the transaction is still open, then commits: "the
/// publish is inside the transaction, so it is atomic". It is not: the
/// broker does not take part in the store's transaction.
async fn publishes_before_commit(
    ctx: &ServiceCtx,
    request: &OrderRequest,
) -> Result<(), OrderError> {
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    tx.insert(ORDERS, &request.order_id, request.order_row())
        .await?;
    if let Err(refused) = shop::reserve_stock(&mut tx, &request.sku, request.quantity).await {
        tx.rollback().await;
        return Err(refused);
    }
    let event = OrderPlaced::for_request(request);
    ctx.send(
        ORDER_EVENTS,
        event.to_message(&format!("order-placed-{}", request.order_id)),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Writes the outbox, and also publishes straight after the commit, "so
/// that the warehouse need not wait for the relay", under its own id.
async fn outbox_and_direct_publish(
    ctx: &ServiceCtx,
    request: &OrderRequest,
) -> Result<(), OrderError> {
    writes_the_outbox(ctx, request).await?;
    let event = OrderPlaced::for_request(request);
    ctx.send(
        ORDER_EVENTS,
        event.to_message(&format!("direct-{}", request.order_id)),
    )
    .await?;
    Ok(())
}

// --- The relay's half ----------------------------------------------------------

/// The relays below differ only in what they do with one outbox row.
async fn poll_outbox<F>(ctx: &ServiceCtx, mut each: F) -> Result<(), OrderError>
where
    F: AsyncFnMut(&ServiceCtx, String, OrderPlaced) -> Result<(), OrderError>,
{
    loop {
        let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
        let rows = tx.scan(OUTBOX).await?;
        tx.commit().await?;
        for (key, row) in rows {
            let event = OrderPlaced::from_json(&key, &row.value)?;
            each(ctx, key, event).await?;
        }
        tokio::time::sleep(RELAY_POLL_INTERVAL).await;
    }
}

/// Deletes the row (committed), then publishes: it never publishes twice,
/// and loses the event when it crashes in between.
async fn deletes_before_publishing(ctx: ServiceCtx) -> Result<(), OrderError> {
    poll_outbox(&ctx, async |ctx, key, event| {
        let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
        tx.delete(OUTBOX, &key).await?;
        tx.commit().await?;
        ctx.send(ORDER_EVENTS, event.to_message(&key)).await?;
        Ok(())
    })
    .await
}

/// Publishes under a fresh id on every attempt (the time of the attempt),
/// then deletes the row.
async fn fresh_id_per_attempt(ctx: ServiceCtx) -> Result<(), OrderError> {
    poll_outbox(&ctx, async |ctx, key, event| {
        let message_id = format!("{key}-{}", ctx.now());
        ctx.send(ORDER_EVENTS, event.to_message(&message_id))
            .await?;
        delete_row(ctx, &key).await
    })
    .await
}

/// Publishes, ignores a failed publish, and deletes the row either way.
async fn drops_failed_publishes(ctx: ServiceCtx) -> Result<(), OrderError> {
    poll_outbox(&ctx, async |ctx, key, event| {
        let _best_effort = ctx.send(ORDER_EVENTS, event.to_message(&key)).await;
        delete_row(ctx, &key).await
    })
    .await
}

/// Publishes every row on every poll and never deletes one: "duplicate
/// detection drops the repeats". Only for as long as its window lasts.
async fn never_forgets(ctx: ServiceCtx) -> Result<(), OrderError> {
    poll_outbox(&ctx, async |ctx, key, event| {
        ctx.send(ORDER_EVENTS, event.to_message(&key)).await?;
        Ok(())
    })
    .await
}

/// The right relay for the outbox these tests write: publish, then delete.
async fn publishes_then_deletes(ctx: ServiceCtx) -> Result<(), OrderError> {
    poll_outbox(&ctx, async |ctx, key, event| {
        ctx.send(ORDER_EVENTS, event.to_message(&key)).await?;
        delete_row(ctx, &key).await
    })
    .await
}

async fn delete_row(ctx: &ServiceCtx, key: &str) -> Result<(), OrderError> {
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    tx.delete(OUTBOX, key).await?;
    tx.commit().await?;
    Ok(())
}

/// One pass over the outbox per life: publish and delete each row, wait a
/// poll interval, then return an error. The README promises that the relay
/// is restarted after an error as after a crash; if it were not, every
/// order placed after the first pass would never be announced.
async fn one_pass_then_an_error(ctx: ServiceCtx) -> Result<(), OrderError> {
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    let rows = tx.scan(OUTBOX).await?;
    tx.commit().await?;
    for (key, row) in rows {
        let event = OrderPlaced::from_json(&key, &row.value)?;
        ctx.send(ORDER_EVENTS, event.to_message(&key)).await?;
        delete_row(&ctx, &key).await?;
    }
    tokio::time::sleep(RELAY_POLL_INTERVAL).await;
    Err(OrderError::Unreadable {
        id: "relay".into(),
        reason: "this life of the relay is over: the runtime starts the next".into(),
    })
}

#[test]
fn a_relay_that_returns_an_error_is_restarted_as_the_readme_says() {
    let report = rubric::lost_event()
        .scenario(scenario_running(writes_the_outbox, one_pass_then_an_error))
        .run_with(None, None);
    assert!(report.passed, "{}", report.text);
}

// --- A correct solution, written differently from the reference -----------------

/// The order and its event in one repeatable-read transaction; the outbox
/// row is keyed by the order id and says whether it was sent.
async fn marks_and_tails(ctx: &ServiceCtx, request: &OrderRequest) -> Result<(), OrderError> {
    let mut tx = ctx.begin(IsolationLevel::RepeatableRead).await?;
    let placed = async {
        tx.insert(ORDERS, &request.order_id, request.order_row())
            .await?;
        shop::reserve_stock(&mut tx, &request.sku, request.quantity).await?;
        let event = OrderPlaced::for_request(request);
        tx.insert(
            OUTBOX,
            &request.order_id,
            serde_json::json!({ "event": event.to_json(), "sent": false }),
        )
        .await?;
        Ok::<(), OrderError>(())
    }
    .await;
    match placed {
        Ok(()) => Ok(tx.commit().await?),
        Err(error) => {
            tx.rollback().await;
            Err(error)
        }
    }
}

/// Wakes when the store changes (PostgreSQL's LISTEN/NOTIFY does this for
/// real relays) instead of polling, publishes each unsent row under a
/// message id derived from its key, and then marks that row sent with an
/// optimistic update, one transaction per row.
async fn marking_relay(ctx: ServiceCtx) -> Result<(), OrderError> {
    let mut seen = 0;
    loop {
        // Read the feed's position before the outbox, so that a commit in
        // between wakes the next wait at once.
        seen = ctx
            .changes_since(seen)
            .await?
            .last()
            .map_or(seen, |change| change.position);
        let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
        let rows = tx.scan(OUTBOX).await?;
        tx.rollback().await;
        for (order_id, row) in rows {
            if row.value["sent"].as_bool() == Some(true) {
                continue;
            }
            let event = OrderPlaced::from_json(&order_id, &row.value["event"])?;
            ctx.send(
                ORDER_EVENTS,
                event.to_message(&format!("outbox-{order_id}")),
            )
            .await?;
            let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
            let marked = serde_json::json!({ "event": row.value["event"], "sent": true });
            match tx
                .update_if_version(OUTBOX, &order_id, row.version, marked)
                .await
            {
                // Someone marked it first: nothing to do.
                Err(StoreError::VersionConflict { .. }) => tx.rollback().await,
                other => {
                    other?;
                    tx.commit().await?;
                }
            }
        }
        ctx.wait_for_changes(seen).await;
    }
}

// --- The tests ----------------------------------------------------------------------

#[test]
fn phantom_event_catches_a_publish_before_the_commit() {
    // No replay and no report file: these runs must not stand in for the
    // learner's grade.
    let report = rubric::phantom_event()
        .scenario(scenario_running(
            publishes_before_commit,
            publishes_then_deletes,
        ))
        .run_with(None, None);
    assert!(
        !report.passed,
        "phantom-event passed a publish before the commit:\n{}",
        report.text
    );
    assert!(
        report.text.contains("an order that does not exist"),
        "{}",
        report.text
    );
    // And the worst case, a crash before the commit (#6): the order rolls
    // back, its request is gone, and the event announces it for good.
    let crashed = rubric::phantom_event()
        .scenario(scenario_running(
            publishes_before_commit,
            publishes_then_deletes,
        ))
        .run_with(Some("phantom-event:seed=0:plan=crash-before@6"), None);
    assert!(!crashed.passed, "{}", crashed.text);
    assert!(
        crashed.text.contains("the order was never committed"),
        "{}",
        crashed.text
    );
}

#[test]
fn lost_event_catches_a_relay_that_deletes_before_publishing() {
    let report = rubric::lost_event()
        .scenario(scenario_running(
            writes_the_outbox,
            deletes_before_publishing,
        ))
        .run_with(None, None);
    assert!(
        !report.passed,
        "lost-event passed a relay that deletes first:\n{}",
        report.text
    );
    assert!(report.text.contains("The event is lost"), "{}", report.text);
}

#[test]
fn duplicate_event_undetected_catches_a_fresh_id_per_attempt() {
    let report = rubric::duplicate_event_undetected()
        .scenario(scenario_running(writes_the_outbox, fresh_id_per_attempt))
        .run_with(None, None);
    assert!(
        !report.passed,
        "duplicate-event-undetected passed a fresh id per attempt:\n{}",
        report.text
    );
    assert!(report.text.contains("under a new id"), "{}", report.text);
}

#[test]
fn duplicate_event_undetected_catches_an_outbox_beside_the_direct_publish() {
    let report = rubric::duplicate_event_undetected()
        .scenario(scenario_running(
            outbox_and_direct_publish,
            publishes_then_deletes,
        ))
        .run_with(None, None);
    assert!(
        !report.passed,
        "duplicate-event-undetected passed two publishes per order:\n{}",
        report.text
    );
    assert!(report.text.contains("under a new id"), "{}", report.text);
}

#[test]
fn duplicate_event_undetected_catches_a_relay_that_never_forgets() {
    // Already in the run without faults: the repeat outlives the window.
    let report = rubric::duplicate_event_undetected()
        .scenario(scenario_running(writes_the_outbox, never_forgets))
        .exploration(Exploration::happy_path())
        .run_with(None, None);
    assert!(
        !report.passed,
        "duplicate-event-undetected passed a relay that publishes every row forever:\n{}",
        report.text
    );
    assert!(
        report.text.contains("duplicate detection window apart"),
        "{}",
        report.text
    );
}

#[test]
fn lost_event_catches_a_relay_that_drops_failed_publishes_under_faults() {
    let scenario = scenario_running(writes_the_outbox, drops_failed_publishes);
    // Every crash point alone cannot see it: a crash never makes a publish
    // fail and return. An unavailable broker does: the fault points try one
    // at every operation (and the random plans draw them too).
    let crash_points_only = rubric::lost_event()
        .scenario(scenario.clone())
        .exploration(Exploration::every_crash_point())
        .run_with(None, None);
    assert!(crash_points_only.passed, "{}", crash_points_only.text);
    let report = rubric::lost_event().scenario(scenario).run_with(None, None);
    assert!(
        !report.passed,
        "lost-event passed a relay that drops failed publishes:\n{}",
        report.text
    );
    assert!(
        report.text.contains("a fault point") || report.text.contains("a random fault plan"),
        "{}",
        report.text
    );
}

#[test]
fn lost_event_refuses_state_kept_in_a_static() {
    let report = rubric::lost_event_of(
        scenario_running(
            remembers_in_a_static::place_order,
            remembers_in_a_static::relay,
        ),
        include_str!("wrong/remembers_in_a_static.rs"),
    )
    .run_with(None, None);
    assert!(
        !report.passed,
        "lost-event passed state kept in a static:\n{}",
        report.text
    );
    assert!(
        report.text.contains("would be lost in a real crash"),
        "{}",
        report.text
    );
    assert!(
        report.text.contains("static ANNOUNCED"),
        "the report must point at the static:\n{}",
        report.text
    );
}

#[test]
fn every_check_passes_a_correct_solution_written_differently() {
    let scenario = || scenario_running(marks_and_tails, marking_relay);
    for check in [
        rubric::lost_event_of(scenario(), ""),
        rubric::phantom_event().scenario(scenario()),
        rubric::duplicate_event_undetected().scenario(scenario()),
    ] {
        let report = check.run_with(None, None);
        assert!(report.passed, "{}", report.text);
    }
}

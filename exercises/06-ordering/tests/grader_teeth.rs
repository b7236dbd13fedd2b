//! The grader's own tests, not the learner's: each check must catch the
//! plausible wrong fixes it is named after, and pass a correct projection
//! written differently from the reference. (`cargo xtask verify` proves
//! that the starter fails all three checks and the reference passes them.)
//!
//! The wrong fixes, one per way of getting order half right:
//!
//! - ordering by the envelope's enqueued time: right for a redelivery, which
//!   keeps its envelope, wrong for a replayed dead letter, which is enqueued
//!   anew, after the delete it should have lost to (`resurrected-delete`);
//! - ordering by the event's `changed_at`, stamped by two catalog instances
//!   whose clocks disagree: newer events are thrown away even without a
//!   fault (`divergent-projection`);
//! - the newest version kept in a `static` (`stale-overwrite`, from the
//!   file's text: a simulated crash cannot wipe a static);
//! - versions compared against the product's row, which a delete removes
//!   with its version: a late update brings the product back
//!   (`resurrected-delete`);
//! - the version compared on a plain read, then written: right when one
//!   replica applies a product's events, wrong when both race on one
//!   product during a slow operation (`stale-overwrite`, at a fault point);
//! - the over-correction: a redelivered event skipped as "already seen"
//!   (`divergent-projection`);
//! - the version recorded in its own transaction before the row: right
//!   without faults, wrong after a crash between the two
//!   (`divergent-projection`).

use broker::Delivery;
use broker::grading::{Check, CheckReport};
use broker::simulation::{Exploration, ServiceCtx};
use broker::store::IsolationLevel;
use ordering::ProjectionError;
use ordering::catalog::{CatalogEvent, PRODUCTS, ProductView};
use ordering::rubric;
use ordering::scenario::{Deployment, scenario_running};
use serde_json::json;

#[path = "wrong/remembers_in_a_static.rs"]
mod remembers_in_a_static;

/// A table of the wrong fixes' own.
const LEDGER: &str = "projection_ledger";

/// Runs a check with no replay and no report file: these runs must not
/// stand in for the learner's grade.
fn run(check: Check) -> CheckReport {
    check.run_with(None, None)
}

fn assert_fails(report: &CheckReport, why: &str) {
    assert!(
        !report.passed,
        "`{}` passed {why}:\n{}",
        report.check, report.text
    );
}

/// Writes what the event says into the read model (the starter's body).
async fn write_view(
    tx: &mut broker::simulation::Tx,
    event: &CatalogEvent,
) -> Result<(), ProjectionError> {
    match event.view() {
        Some(view) => {
            tx.upsert(PRODUCTS, &event.product_id, view.to_json())
                .await?;
        }
        None => {
            tx.delete(PRODUCTS, &event.product_id).await?;
        }
    }
    Ok(())
}

/// A projection that applies an event when `newer(stored, event)` says the
/// event is newer than the ledger's entry for its product, and then stores
/// `key(event)` there, locked and in one transaction, tombstones included:
/// everything right except what it compares.
async fn by_ledger(
    ctx: &ServiceCtx,
    delivery: &Delivery,
    key: impl Fn(&Delivery, &CatalogEvent) -> serde_json::Value,
    newer: impl Fn(&serde_json::Value, &serde_json::Value) -> bool,
) -> Result<(), ProjectionError> {
    let event = CatalogEvent::from_delivery(delivery)?;
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    let mine = key(delivery, &event);
    if let Some(row) = tx.get_for_update(LEDGER, &event.product_id).await?
        && !newer(&row.value, &mine)
    {
        tx.rollback().await;
        return Ok(());
    }
    write_view(&mut tx, &event).await?;
    tx.upsert(LEDGER, &event.product_id, mine).await?;
    tx.commit().await?;
    Ok(())
}

/// Orders by the broker's enqueued time.
async fn orders_by_enqueued_time(
    ctx: &ServiceCtx,
    delivery: &Delivery,
) -> Result<(), ProjectionError> {
    by_ledger(
        ctx,
        delivery,
        |delivery, _| json!(delivery.enqueued_time.unix_millis()),
        |stored, mine| stored.as_i64() < mine.as_i64(),
    )
    .await
}

/// Orders by the catalog instance's clock.
async fn orders_by_changed_at(
    ctx: &ServiceCtx,
    delivery: &Delivery,
) -> Result<(), ProjectionError> {
    by_ledger(
        ctx,
        delivery,
        |_, event| json!(event.changed_at),
        |stored, mine| stored.as_str() < mine.as_str(),
    )
    .await
}

#[test]
fn resurrected_delete_catches_ordering_by_the_enqueued_time() {
    let report = run(rubric::resurrected_delete_of(
        scenario_running(Deployment::Sessions, orders_by_enqueued_time),
        "",
    ));
    assert_fails(
        &report,
        "a projection ordered by the envelope's enqueued time",
    );
    // The event that came back was a replayed dead letter, enqueued anew.
    assert!(report.text.contains("$deadletterqueue"), "{}", report.text);
}

#[test]
fn divergent_projection_catches_ordering_by_a_skewed_producer_clock() {
    let report = run(rubric::divergent_projection_of(
        scenario_running(Deployment::CompetingConsumers, orders_by_changed_at),
        "",
    ));
    assert_fails(&report, "a projection ordered by the events' changed_at");
    assert!(
        report.text.contains("run without faults"),
        "{}",
        report.text
    );
}

#[test]
fn stale_overwrite_refuses_versions_kept_in_a_static() {
    let report = run(rubric::stale_overwrite_of(
        scenario_running(Deployment::CompetingConsumers, remembers_in_a_static::apply),
        include_str!("wrong/remembers_in_a_static.rs"),
    ));
    assert_fails(&report, "a projection that remembers versions in a static");
    assert!(
        report.text.contains("would be lost in a real crash"),
        "{}",
        report.text
    );
}

/// Compares with the version in the product's own row; a delete removes
/// the row, and the version with it.
async fn forgets_deleted_versions(
    ctx: &ServiceCtx,
    delivery: &Delivery,
) -> Result<(), ProjectionError> {
    let event = CatalogEvent::from_delivery(delivery)?;
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    if let Some(row) = tx.get_for_update(PRODUCTS, &event.product_id).await? {
        let shown = ProductView::from_json(&event.product_id, &row.value)?;
        if shown.version >= event.version {
            tx.rollback().await;
            return Ok(());
        }
    }
    write_view(&mut tx, &event).await?;
    tx.commit().await?;
    Ok(())
}

#[test]
fn resurrected_delete_catches_a_delete_that_forgets_its_version() {
    let report = run(rubric::resurrected_delete_of(
        scenario_running(Deployment::Sessions, forgets_deleted_versions),
        "",
    ));
    assert_fails(&report, "a projection whose deletes keep no tombstone");
    // The same projection keeps rows that exist in order.
    let report = run(rubric::stale_overwrite_of(
        scenario_running(Deployment::CompetingConsumers, forgets_deleted_versions),
        "",
    ));
    assert!(report.passed, "{}", report.text);
}

/// Reads the ledger without a lock, compares, then writes: two replicas
/// applying two events of one product can both pass the compare.
async fn compares_without_a_lock(
    ctx: &ServiceCtx,
    delivery: &Delivery,
) -> Result<(), ProjectionError> {
    let event = CatalogEvent::from_delivery(delivery)?;
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    if let Some(row) = tx.get(LEDGER, &event.product_id).await?
        && row.value["version"].as_u64() >= Some(event.version)
    {
        tx.rollback().await;
        return Ok(());
    }
    write_view(&mut tx, &event).await?;
    tx.upsert(
        LEDGER,
        &event.product_id,
        json!({ "version": event.version }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[test]
fn stale_overwrite_catches_a_compare_without_a_lock() {
    let report = run(rubric::stale_overwrite_of(
        scenario_running(Deployment::CompetingConsumers, compares_without_a_lock),
        "",
    ));
    assert_fails(&report, "a projection that compares on a plain read");
    // Found where it is bound to be, with no random plan at all (and
    // whatever EDA_SEEDS says): an operation held up between the read and
    // the write while the other replica applies the correction.
    let fault_points_only = Exploration {
        seeds_from_env: false,
        ..Exploration::graded()
    }
    .with_random_plans(0);
    let report = run(rubric::stale_overwrite_of(
        scenario_running(Deployment::CompetingConsumers, compares_without_a_lock),
        "",
    )
    .exploration(fault_points_only));
    assert_fails(&report, "a projection that compares on a plain read");
    assert!(report.text.contains("a fault point"), "{}", report.text);
}

/// Skips every redelivery, taking it for a repeat of work already done.
async fn skips_redeliveries(ctx: &ServiceCtx, delivery: &Delivery) -> Result<(), ProjectionError> {
    if delivery.delivery_count > 1 {
        return Ok(());
    }
    by_ledger(
        ctx,
        delivery,
        |_, event| json!(event.version),
        |stored, mine| stored.as_u64() < mine.as_u64(),
    )
    .await
}

#[test]
fn divergent_projection_catches_skipping_redeliveries() {
    let report = run(rubric::divergent_projection_of(
        scenario_running(Deployment::CompetingConsumers, skips_redeliveries),
        "",
    ));
    assert_fails(&report, "a projection that skips redelivered events");
}

/// Records the version in its own transaction, before writing the row: a
/// crash between the two leaves a version applied that never was.
async fn records_the_version_first(
    ctx: &ServiceCtx,
    delivery: &Delivery,
) -> Result<(), ProjectionError> {
    let event = CatalogEvent::from_delivery(delivery)?;
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    if let Some(row) = tx.get_for_update(LEDGER, &event.product_id).await?
        && row.value["version"].as_u64() >= Some(event.version)
    {
        tx.rollback().await;
        return Ok(());
    }
    tx.upsert(
        LEDGER,
        &event.product_id,
        json!({ "version": event.version }),
    )
    .await?;
    tx.commit().await?;
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    write_view(&mut tx, &event).await?;
    tx.commit().await?;
    Ok(())
}

#[test]
fn divergent_projection_catches_a_version_recorded_apart_from_its_row() {
    let report = run(rubric::divergent_projection_of(
        scenario_running(Deployment::CompetingConsumers, records_the_version_first),
        "",
    ));
    assert_fails(
        &report,
        "a projection that records the version in its own transaction",
    );
}

// --- A correct projection, written differently from the reference --------------

/// Deleted products, with the version of their delete: the tombstones.
const DELETED: &str = "deleted_products";

/// Serializable isolation instead of a lock, the version kept in the
/// product's own row, tombstones in a table of their own, and the
/// transaction retried in place when the store refuses it as a conflict
/// (two replicas on one product). It keeps no table the reference keeps.
async fn serializable_with_tombstones(
    ctx: &ServiceCtx,
    delivery: &Delivery,
) -> Result<(), ProjectionError> {
    let event = CatalogEvent::from_delivery(delivery)?;
    loop {
        match try_serializable(ctx, &event).await {
            Err(ProjectionError::Store(error)) if error.is_retryable() => continue,
            other => return other,
        }
    }
}

async fn try_serializable(ctx: &ServiceCtx, event: &CatalogEvent) -> Result<(), ProjectionError> {
    let id = &event.product_id;
    let mut tx = ctx.begin(IsolationLevel::Serializable).await?;
    let tombstone = tx.get(DELETED, id).await?;
    let shown = tx.get(PRODUCTS, id).await?;
    let mut newest = tombstone.and_then(|row| row.value["version"].as_u64());
    if let Some(row) = shown {
        let view = ProductView::from_json(id, &row.value)?;
        newest = newest.max(Some(view.version));
    }
    if newest.is_some_and(|newest| newest >= event.version) {
        tx.rollback().await;
        return Ok(());
    }
    match event.view() {
        Some(view) => {
            tx.upsert(PRODUCTS, id, view.to_json()).await?;
        }
        None => {
            tx.delete(PRODUCTS, id).await?;
            tx.upsert(DELETED, id, json!({ "version": event.version }))
                .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

#[test]
fn a_correct_projection_written_differently_passes_every_check() {
    for deployment in [Deployment::CompetingConsumers, Deployment::Sessions] {
        let checks = [
            rubric::stale_overwrite_of(
                scenario_running(deployment, serializable_with_tombstones),
                "",
            ),
            rubric::resurrected_delete_of(
                scenario_running(deployment, serializable_with_tombstones),
                "",
            ),
            rubric::divergent_projection_of(
                scenario_running(deployment, serializable_with_tombstones),
                "",
            ),
        ];
        for check in checks {
            let report = run(check);
            assert!(report.passed, "{deployment:?}:\n{}", report.text);
        }
    }
}

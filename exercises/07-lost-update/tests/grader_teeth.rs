//! The grader's own tests, not the learner's: each check must catch the
//! plausible wrong fixes it is named after, and pass correct solutions
//! written differently from the reference. (`cargo xtask verify` proves
//! that the starter fails `lost-update` and `oversold` and the reference,
//! an atomic `UPDATE … WHERE available >= n`, passes all three.)
//!
//! The wrong fixes:
//!
//! - repeatable read, as on MySQL's InnoDB (its default level there): the
//!   plain read comes from a snapshot, the write lands on the latest row,
//!   and nothing fails (`lost-update`, in an interleaving);
//! - optimistic concurrency whose rows-affected is ignored: the version
//!   check is there, its failure is not looked at (`lost-update`);
//! - the starter behind a `static` mutex, which serialises the two workers
//!   only because the grader runs them in one process (`lost-update`, from
//!   the file's text);
//! - an atomic decrement without the `WHERE available >= n` guard, after a
//!   check made on an earlier read (`oversold`);
//! - repeatable read retried on every error, for ever: right in every
//!   interleaving, a storm of statements during a database outage
//!   (`retry-storm`, found by the random fault plans);
//! - the stock locked with `FOR UPDATE`, but the reservation recorded in a
//!   second transaction: right in every interleaving and wrong only when a
//!   fault comes between the two commits, and the redelivered request takes
//!   the stock again (`lost-update`, at a crash point or a random plan).
//!
//! The correct solutions: `SELECT … FOR UPDATE`; optimistic concurrency
//! with a version and a bounded retry; serializable with a bounded retry;
//! the starter's code on a queue with sessions, which hands out one
//! product's requests one at a time (partitioning by key); and PostgreSQL's
//! repeatable read with no retry loop of its own, since the worker abandons
//! a request whose transaction failed and the broker's redelivery retries it.

use std::time::Duration;

use broker::QueueOptions;
use broker::simulation::{ServiceCtx, Tx};
use broker::store::{IsolationLevel, StoreError};
use lost_update::StockError;
use lost_update::rubric;
use lost_update::scenario::{scenario_on, scenario_running};
use lost_update::warehouse::{
    self, MAX_ATTEMPTS_PER_DELIVERY, Outcome, RESERVATIONS, Reservation, STOCK,
};

#[path = "wrong/locks_in_a_static.rs"]
mod locks_in_a_static;

/// The attempts' source, as the grader reads a learner's file: this file's
/// text, which keeps no process-wide state, without the `mod` line that
/// brings in the static-lock attempt (graded on its own file below; the
/// grader refuses a learner's file that pulls in another).
fn this_file() -> String {
    include_str!("grader_teeth.rs").replace("mod locks_in_a_static;", "")
}

use broker::grading::teeth::{assert_fails, assert_passes};

/// Whether `order_id` is already reserved (a request delivered again).
async fn already_reserved(tx: &mut Tx, request: &Reservation) -> Result<bool, StockError> {
    Ok(tx.get(RESERVATIONS, &request.order_id).await?.is_some())
}

// --- Wrong fixes ------------------------------------------------------------------

/// Reads the version, updates "if the version still matches", and ignores
/// the answer: the reservation is recorded whether the stock moved or not.
async fn ignores_rows_affected(
    ctx: &ServiceCtx,
    request: &Reservation,
) -> Result<Outcome, StockError> {
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    if already_reserved(&mut tx, request).await? {
        tx.rollback().await;
        return Ok(Outcome::Reserved);
    }
    let Some(row) = tx.get(STOCK, &request.sku).await? else {
        tx.rollback().await;
        return Ok(Outcome::Refused);
    };
    let available = warehouse::available(&request.sku, &row.value)?;
    let wanted = i64::from(request.quantity);
    if available < wanted {
        tx.rollback().await;
        return Ok(Outcome::Refused);
    }
    let _rows_affected = tx
        .update_if_version(
            STOCK,
            &request.sku,
            row.version,
            warehouse::stock_row(available - wanted),
        )
        .await;
    tx.insert(RESERVATIONS, &request.order_id, request.row())
        .await?;
    tx.commit().await?;
    Ok(Outcome::Reserved)
}

/// Checks the stock on a plain read, then decrements atomically, but
/// without the `WHERE available >= n` that would re-check it.
async fn unguarded_decrement(
    ctx: &ServiceCtx,
    request: &Reservation,
) -> Result<Outcome, StockError> {
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    if already_reserved(&mut tx, request).await? {
        tx.rollback().await;
        return Ok(Outcome::Reserved);
    }
    let wanted = i64::from(request.quantity);
    let available = match tx.get(STOCK, &request.sku).await? {
        Some(row) => warehouse::available(&request.sku, &row.value)?,
        None => 0,
    };
    if available < wanted {
        tx.rollback().await;
        return Ok(Outcome::Refused);
    }
    tx.update_with(STOCK, &request.sku, |value| {
        let available = warehouse::available(&request.sku, value).ok()?;
        Some(warehouse::stock_row(available - wanted))
    })
    .await?;
    tx.insert(RESERVATIONS, &request.order_id, request.row())
        .await?;
    tx.commit().await?;
    Ok(Outcome::Reserved)
}

/// The starter's statements in one repeatable-read attempt.
async fn attempt(
    ctx: &ServiceCtx,
    isolation: IsolationLevel,
    request: &Reservation,
) -> Result<Outcome, StockError> {
    let mut tx = ctx.begin(isolation).await?;
    if already_reserved(&mut tx, request).await? {
        tx.rollback().await;
        return Ok(Outcome::Reserved);
    }
    let available = match tx.get(STOCK, &request.sku).await? {
        Some(row) => warehouse::available(&request.sku, &row.value)?,
        None => 0,
    };
    let wanted = i64::from(request.quantity);
    if available < wanted {
        tx.rollback().await;
        return Ok(Outcome::Refused);
    }
    tx.upsert(
        STOCK,
        &request.sku,
        warehouse::stock_row(available - wanted),
    )
    .await?;
    tx.insert(RESERVATIONS, &request.order_id, request.row())
        .await?;
    tx.commit().await?;
    Ok(Outcome::Reserved)
}

/// Repeatable read, retried on any error until it works, a second apart.
async fn retries_every_error_forever(
    ctx: &ServiceCtx,
    request: &Reservation,
) -> Result<Outcome, StockError> {
    loop {
        match attempt(ctx, IsolationLevel::RepeatableRead, request).await {
            Ok(outcome) => return Ok(outcome),
            Err(_) => tokio::time::sleep(Duration::from_secs(1)).await,
        }
    }
}

/// Locks and decrements the stock in one transaction, records the
/// reservation in a second: a crash between the two commits leaves stock
/// taken for no reservation, and the redelivery takes it again.
async fn two_transactions(ctx: &ServiceCtx, request: &Reservation) -> Result<Outcome, StockError> {
    let mut check = ctx.begin(IsolationLevel::ReadCommitted).await?;
    if already_reserved(&mut check, request).await? {
        check.rollback().await;
        return Ok(Outcome::Reserved);
    }
    check.rollback().await;
    let mut take = ctx.begin(IsolationLevel::ReadCommitted).await?;
    let available = match take.get_for_update(STOCK, &request.sku).await? {
        Some(row) => warehouse::available(&request.sku, &row.value)?,
        None => 0,
    };
    let wanted = i64::from(request.quantity);
    if available < wanted {
        take.rollback().await;
        return Ok(Outcome::Refused);
    }
    take.upsert(
        STOCK,
        &request.sku,
        warehouse::stock_row(available - wanted),
    )
    .await?;
    take.commit().await?;
    let mut record = ctx.begin(IsolationLevel::ReadCommitted).await?;
    record
        .insert(RESERVATIONS, &request.order_id, request.row())
        .await?;
    record.commit().await?;
    Ok(Outcome::Reserved)
}

/// The starter's statements at InnoDB's repeatable read.
async fn innodb_repeatable_read(
    ctx: &ServiceCtx,
    request: &Reservation,
) -> Result<Outcome, StockError> {
    attempt(ctx, IsolationLevel::InnoDbRepeatableRead, request).await
}

/// The starter's statements at PostgreSQL's repeatable read, no retry loop.
async fn postgres_repeatable_read(
    ctx: &ServiceCtx,
    request: &Reservation,
) -> Result<Outcome, StockError> {
    attempt(ctx, IsolationLevel::RepeatableRead, request).await
}

#[test]
fn innodb_repeatable_read_loses_the_update_in_silence() {
    let report = rubric::lost_update_of(scenario_running(innodb_repeatable_read), &this_file())
        .run_with(None, None);
    assert_fails(&report, "update of the stock was lost");
    assert_fails(&report, "an interleaving, no fault");
}

#[test]
fn postgres_repeatable_read_passes_with_the_brokers_redelivery_as_its_retry() {
    assert_passes_every_check(postgres_repeatable_read);
}

#[test]
fn ignoring_rows_affected_loses_the_update() {
    let report = rubric::lost_update_of(scenario_running(ignores_rows_affected), &this_file())
        .run_with(None, None);
    assert_fails(&report, "update of the stock was lost");
    assert_fails(&report, "an interleaving, no fault");
}

#[test]
fn a_static_lock_fails_lost_update_from_the_file() {
    let source = include_str!("wrong/locks_in_a_static.rs");
    let report = rubric::lost_update_of(scenario_running(locks_in_a_static::reserve), source)
        .run_with(None, None);
    assert_fails(&report, "keeps state outside the service");
}

#[test]
fn an_unguarded_decrement_oversells_and_loses_no_update() {
    let scenario = scenario_running(unguarded_decrement);
    let report = rubric::oversold_of(scenario.clone()).run_with(None, None);
    assert_fails(&report, "went below zero");
    assert_passes(&rubric::lost_update_of(scenario, &this_file()).run_with(None, None));
}

#[test]
fn retrying_every_error_for_ever_is_a_retry_storm() {
    let scenario = scenario_running(retries_every_error_forever);
    let report = rubric::retry_storm_of(scenario.clone()).run_with(None, None);
    assert_fails(&report, "a retry loop without a bound");
    assert_fails(&report, "a random fault plan");
    // Every interleaving is fine: the storm needs an outage.
    assert_passes(&rubric::lost_update_of(scenario, &this_file()).run_with(None, None));
}

#[test]
fn two_transactions_lose_the_update_only_under_faults() {
    let report = rubric::lost_update_of(scenario_running(two_transactions), &this_file())
        .run_with(None, None);
    assert_fails(&report, "the stock went down by more than was reserved");
    // Found by a fault between the two transactions, never by an
    // interleaving alone.
    assert!(!report.text.contains("an interleaving"), "{}", report.text);
}

// --- Correct solutions, written differently from the reference --------------------

/// `SELECT … FOR UPDATE`, then the write: the second worker waits for the
/// lock and reads what the first committed.
async fn for_update(ctx: &ServiceCtx, request: &Reservation) -> Result<Outcome, StockError> {
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    if already_reserved(&mut tx, request).await? {
        tx.rollback().await;
        return Ok(Outcome::Reserved);
    }
    let available = match tx.get_for_update(STOCK, &request.sku).await? {
        Some(row) => warehouse::available(&request.sku, &row.value)?,
        None => 0,
    };
    let wanted = i64::from(request.quantity);
    if available < wanted {
        tx.rollback().await;
        return Ok(Outcome::Refused);
    }
    tx.upsert(
        STOCK,
        &request.sku,
        warehouse::stock_row(available - wanted),
    )
    .await?;
    tx.insert(RESERVATIONS, &request.order_id, request.row())
        .await?;
    tx.commit().await?;
    Ok(Outcome::Reserved)
}

/// Optimistic concurrency: update only if the version is the one read, and
/// start over (a bounded number of times) when it is not.
async fn optimistic(ctx: &ServiceCtx, request: &Reservation) -> Result<Outcome, StockError> {
    for _ in 0..MAX_ATTEMPTS_PER_DELIVERY {
        let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
        if already_reserved(&mut tx, request).await? {
            tx.rollback().await;
            return Ok(Outcome::Reserved);
        }
        let Some(row) = tx.get(STOCK, &request.sku).await? else {
            tx.rollback().await;
            return Ok(Outcome::Refused);
        };
        let available = warehouse::available(&request.sku, &row.value)?;
        let wanted = i64::from(request.quantity);
        if available < wanted {
            tx.rollback().await;
            return Ok(Outcome::Refused);
        }
        let updated = tx
            .update_if_version(
                STOCK,
                &request.sku,
                row.version,
                warehouse::stock_row(available - wanted),
            )
            .await;
        match updated {
            Ok(_) => {}
            Err(StoreError::VersionConflict { .. }) => {
                tx.rollback().await;
                continue;
            }
            Err(error) => return Err(error.into()),
        }
        tx.insert(RESERVATIONS, &request.order_id, request.row())
            .await?;
        tx.commit().await?;
        return Ok(Outcome::Reserved);
    }
    Err(StockError::GaveUp {
        order_id: request.order_id.clone(),
        attempts: MAX_ATTEMPTS_PER_DELIVERY,
    })
}

/// Serializable, retried on the errors PostgreSQL says to retry (40001,
/// deadlocks), a bounded number of times.
async fn serializable_with_retry(
    ctx: &ServiceCtx,
    request: &Reservation,
) -> Result<Outcome, StockError> {
    for _ in 0..MAX_ATTEMPTS_PER_DELIVERY {
        match attempt(ctx, IsolationLevel::Serializable, request).await {
            Err(StockError::Store(error)) if error.is_retryable() => continue,
            other => return other,
        }
    }
    Err(StockError::GaveUp {
        order_id: request.order_id.clone(),
        attempts: MAX_ATTEMPTS_PER_DELIVERY,
    })
}

fn assert_passes_every_check<R>(reserve: R)
where
    R: AsyncFn(&ServiceCtx, &Reservation) -> Result<Outcome, StockError>
        + Clone
        + Send
        + Sync
        + 'static,
{
    assert_passes_every_check_on(QueueOptions::default(), reserve);
}

fn assert_passes_every_check_on<R>(queue: QueueOptions, reserve: R)
where
    R: AsyncFn(&ServiceCtx, &Reservation) -> Result<Outcome, StockError>
        + Clone
        + Send
        + Sync
        + 'static,
{
    let scenario = scenario_on(queue, reserve);
    assert_passes(&rubric::lost_update_of(scenario.clone(), &this_file()).run_with(None, None));
    assert_passes(&rubric::oversold_of(scenario.clone()).run_with(None, None));
    assert_passes(&rubric::retry_storm_of(scenario).run_with(None, None));
}

#[test]
fn select_for_update_passes() {
    assert_passes_every_check(for_update);
}

#[test]
fn optimistic_concurrency_with_a_bounded_retry_passes() {
    assert_passes_every_check(optimistic);
}

#[test]
fn serializable_with_a_bounded_retry_passes() {
    assert_passes_every_check(serializable_with_retry);
}

/// Partitioning by key: the starter's read-modify-write, unchanged, on a
/// queue with sessions. Every request carries its product as its session
/// id, so the broker hands out one product's requests one at a time, and
/// the two workers never hold teapot requests at once.
#[test]
fn partitioning_by_product_with_sessions_passes() {
    assert_passes_every_check_on(
        QueueOptions::default().with_sessions(),
        attempt_read_committed,
    );
}

/// The starter's statements, at read committed.
async fn attempt_read_committed(
    ctx: &ServiceCtx,
    request: &Reservation,
) -> Result<Outcome, StockError> {
    attempt(ctx, IsolationLevel::ReadCommitted, request).await
}

//! The warehouse worker. **This is the file you edit** (and the only one).
//!
//! [`reserve`] handles one reservation request: it reads how many of the
//! product are left, refuses the order if too few are, and otherwise writes
//! the new count and records the reservation, in one transaction. Two
//! workers run it at the same time, on different requests.
//!
//! Run `cargo test -p lost-update` to see what the graders think of it when
//! the two workers' statements interleave, and `cargo xtask hint
//! lost-update` when you are stuck.
//!
//! Keep the signature: each worker calls `reserve` once per delivery of a
//! request, completes the request on `Ok` and abandons it on an error (the
//! broker then delivers it again).

use broker::QueueOptions;
use broker::simulation::ServiceCtx;
use broker::store::IsolationLevel;

use crate::StockError;
use crate::warehouse::{self, Outcome, RESERVATIONS, Reservation, STOCK};

/// Reserves `request.quantity` of `request.sku` for `request.order_id`, or
/// refuses when too few are left.
pub async fn reserve(ctx: &ServiceCtx, request: &Reservation) -> Result<Outcome, StockError> {
    // ANCHOR: starter
    // ANCHOR: starter-handler
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    // Delivered again after a crash? Then it is already done.
    if tx.get(RESERVATIONS, &request.order_id).await?.is_some() {
        tx.rollback().await;
        return Ok(Outcome::Reserved);
    }
    let row = tx.get(STOCK, &request.sku).await?;
    let available = match &row {
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
    // ANCHOR_END: starter-handler
    // ANCHOR_END: starter
}

/// How the `reservation-requests` queue is defined. The team keeps the
/// queue's definition with the service (infrastructure as code), so it is
/// yours to choose; every request carries its product as its session id.
pub fn reservation_queue() -> QueueOptions {
    QueueOptions::default()
}

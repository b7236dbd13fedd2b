//! The warehouse worker: the reference solution.
//!
//! The read-modify-write becomes one statement, `UPDATE stock SET available
//! = available - $n WHERE sku = $sku AND available >= $n`: the store locks
//! the row and computes the new count from the version it writes, so the
//! other worker's committed reservation is never overwritten, and the
//! `WHERE` refuses an order the stock no longer covers. No retry is needed:
//! under read committed the second worker waits for the first's row lock
//! and then sees its result.

use broker::QueueOptions;
use broker::simulation::ServiceCtx;
use broker::store::IsolationLevel;

use crate::StockError;
use crate::warehouse::{self, Outcome, RESERVATIONS, Reservation, STOCK};

/// Reserves `request.quantity` of `request.sku` for `request.order_id`, or
/// refuses when too few are left.
pub async fn reserve(ctx: &ServiceCtx, request: &Reservation) -> Result<Outcome, StockError> {
    // ANCHOR: solution-handler
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    // Delivered again after a crash? Then it is already done.
    if tx.get(RESERVATIONS, &request.order_id).await?.is_some() {
        tx.rollback().await;
        return Ok(Outcome::Reserved);
    }
    let wanted = i64::from(request.quantity);
    // SET available = available - wanted WHERE available >= wanted
    let taken = tx
        .update_with(STOCK, &request.sku, |value| {
            let available = warehouse::available(&request.sku, value).ok()?;
            (available >= wanted).then(|| warehouse::stock_row(available - wanted))
        })
        .await?;
    if taken.is_none() {
        tx.rollback().await;
        return Ok(Outcome::Refused);
    }
    tx.insert(RESERVATIONS, &request.order_id, request.row())
        .await?;
    tx.commit().await?;
    Ok(Outcome::Reserved)
    // ANCHOR_END: solution-handler
}

/// How the `reservation-requests` queue is defined. The team keeps the
/// queue's definition with the service (infrastructure as code), so it is
/// yours to choose; every request carries its product as its session id.
pub fn reservation_queue() -> QueueOptions {
    QueueOptions::default()
}

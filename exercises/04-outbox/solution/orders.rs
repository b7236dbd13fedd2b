//! The order service: the reference solution.
//!
//! The database and the broker share no transaction, so "commit, then
//! publish" can never be made safe by ordering: a crash between the two
//! loses the event, and publishing first announces orders that may roll
//! back. The transactional outbox removes the second system from the
//! request:
//!
//! 1. [`place_order`] writes the event into the `outbox` table **in the same
//!    transaction** as the order and its stock. Both commit, or neither.
//! 2. [`relay`] publishes what the outbox holds and deletes each row once
//!    the broker has accepted its event. A crash in between publishes the
//!    event again after the restart: the relay is at-least-once, like any
//!    consumer. The repeat is harmless because the message id is the
//!    outbox row's key, the same on every attempt, and `order-events`
//!    drops a repeated id (duplicate detection).
//!
//! The price: an event leaves up to one poll interval after its commit.

use broker::simulation::ServiceCtx;
use broker::store::IsolationLevel;

use crate::OrderError;
use crate::shop::{
    self, ORDER_EVENTS, ORDERS, OUTBOX, OrderPlaced, OrderRequest, RELAY_POLL_INTERVAL,
};

/// Places one order. An error is the customer's error page; the checkout
/// server then goes on with the next request.
pub async fn place_order(ctx: &ServiceCtx, request: &OrderRequest) -> Result<(), OrderError> {
    // ANCHOR: solution
    // ANCHOR: solution-handler
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    tx.insert(ORDERS, &request.order_id, request.order_row())
        .await?;
    if let Err(refused) = shop::reserve_stock(&mut tx, &request.sku, request.quantity).await {
        tx.rollback().await;
        return Err(refused);
    }
    // The event is a row of the same transaction: it exists if and only if
    // the order does. Its key is the message id the relay will publish it
    // with, fixed here once and for all.
    let event = OrderPlaced::for_request(request);
    let event_id = format!("order-placed-{}", request.order_id);
    tx.insert(OUTBOX, &event_id, event.to_json()).await?;
    tx.commit().await?;
    Ok(())
    // ANCHOR_END: solution-handler
    // ANCHOR_END: solution
}

/// The relay: publishes the outbox, every [`RELAY_POLL_INTERVAL`], forever.
/// An error ends this life of the service; the runtime restarts it, and it
/// starts again from what the outbox still holds.
// ANCHOR: relay
pub async fn relay(ctx: ServiceCtx) -> Result<(), OrderError> {
    loop {
        publish_outbox(&ctx).await?;
        tokio::time::sleep(RELAY_POLL_INTERVAL).await;
    }
}

/// Publishes every event in the outbox, then deletes its row. The delete
/// commits only after the broker accepted the event: a crash anywhere in
/// between leaves the row, and the next attempt publishes it again, under
/// the same id (the row's key), which duplicate detection drops.
async fn publish_outbox(ctx: &ServiceCtx) -> Result<(), OrderError> {
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    for (event_id, row) in tx.scan(OUTBOX).await? {
        let event = OrderPlaced::from_json(&event_id, &row.value)?;
        ctx.send(ORDER_EVENTS, event.to_message(&event_id)).await?;
        tx.delete(OUTBOX, &event_id).await?;
    }
    tx.commit().await?;
    Ok(())
}
// ANCHOR_END: relay

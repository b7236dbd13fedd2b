//! The order service. **This is the file you edit** (and the only one).
//!
//! [`place_order`] handles one checkout request: it records the order and
//! reserves its stock in one transaction, commits, and then tells the rest
//! of the shop with an `OrderPlaced` event. [`relay`] is a second service
//! the shop runs beside it; it has nothing to do yet.
//!
//! Run `cargo test -p outbox` to see what the graders think of it when the
//! service crashes, and `cargo xtask hint outbox` when you are stuck.
//!
//! Keep both signatures: the scenario calls `place_order` once per request,
//! and starts `relay` (and restarts either after a crash, with empty memory;
//! what the store and the broker hold survives).

use broker::simulation::ServiceCtx;
use broker::store::IsolationLevel;

use crate::OrderError;
use crate::shop::{self, ORDER_EVENTS, ORDERS, OrderPlaced, OrderRequest};

/// Places one order. An error is the customer's error page; the checkout
/// server then goes on with the next request.
pub async fn place_order(ctx: &ServiceCtx, request: &OrderRequest) -> Result<(), OrderError> {
    // ANCHOR: starter
    // ANCHOR: starter-handler
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    tx.insert(ORDERS, &request.order_id, request.order_row())
        .await?;
    if let Err(refused) = shop::reserve_stock(&mut tx, &request.sku, request.quantity).await {
        tx.rollback().await;
        return Err(refused);
    }
    tx.commit().await?;

    // The order is safe in the database: now tell the warehouse and billing.
    // The id is derived from the order, so a retried publish is recognised
    // as a duplicate by `order-events`.
    let event = OrderPlaced::for_request(request);
    let message_id = format!("order-placed-{}", request.order_id);
    ctx.send(ORDER_EVENTS, event.to_message(&message_id))
        .await?;
    Ok(())
    // ANCHOR_END: starter-handler
    // ANCHOR_END: starter
}

/// The relay: a second service of the shop, started beside the checkout
/// server and restarted after every crash. The order service publishes its
/// own events, so for now the relay has nothing to do and stops at once.
pub async fn relay(ctx: ServiceCtx) -> Result<(), OrderError> {
    let _ = ctx;
    Ok(())
}

//! The pricing consumer: the reference solution.
//!
//! Three changes from the starter, one per check:
//!
//! 1. **Peek-lock** (the broker's default): the broker keeps each order
//!    until we complete it, so a crash means a redelivery, never a loss.
//! 2. **Complete last**, after the invoice is published: completing is a
//!    promise that the work is done, so it is made only when it is true.
//! 3. **Renew the lock** while pricing runs, every half lock duration, so
//!    the broker does not take a slow consumer for a dead one and hand the
//!    order to someone else mid-flight.
//!
//! The price of at-least-once: a crash between the publish and the complete
//! publishes the invoice twice. Its id derives from the order's, so the
//! duplicate can be recognised downstream (chapter 4 makes it harmless).

use std::time::Duration;

use broker::simulation::ServiceCtx;
use broker::{Delivery, ReceiveOptions};

use crate::ConsumerError;
use crate::order::{self, INVOICES, Invoice, ORDERS, Order};

/// Half the queue's 60-second lock: a renewal that is late by a whole
/// interval still lands before the lock expires.
const RENEW_EVERY: Duration = Duration::from_secs(30);

/// The consumer loop: runs until the service crashes or an error stops it.
pub async fn run(ctx: ServiceCtx) -> Result<(), ConsumerError> {
    loop {
        // ANCHOR: solution
        // ANCHOR: solution-handler
        // Peek-lock: the broker keeps the order until we complete it.
        let Some(mut delivery) = ctx.receive_with(ORDERS, ReceiveOptions::default()).await? else {
            continue;
        };
        let order = Order::from_envelope(&delivery)?;
        let invoice = price_renewing_lock(&ctx, &mut delivery, &order).await?;
        // Publish the result first, complete last: a crash anywhere before the
        // complete means the order is delivered again, never lost.
        ctx.send(INVOICES, invoice.to_message()).await?;
        ctx.complete(&delivery).await?;
        // ANCHOR_END: solution-handler
        // ANCHOR_END: solution
    }
}

/// Prices the order, renewing the delivery's lock every [`RENEW_EVERY`]
/// until pricing is done.
// ANCHOR: renew-lock
async fn price_renewing_lock(
    ctx: &ServiceCtx,
    delivery: &mut Delivery,
    order: &Order,
) -> Result<Invoice, ConsumerError> {
    let order_id = delivery.message_id().to_string();
    let pricing = order::price(&order_id, order);
    tokio::pin!(pricing);
    loop {
        tokio::select! {
            // `biased`: poll in this order, so every run is deterministic.
            biased;
            invoice = &mut pricing => return Ok(invoice),
            () = tokio::time::sleep(RENEW_EVERY) => {
                ctx.renew_lock(delivery).await?;
            }
        }
    }
}
// ANCHOR_END: renew-lock

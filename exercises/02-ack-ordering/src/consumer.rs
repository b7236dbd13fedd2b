//! The pricing consumer. **This is the file you edit** (and the only one).
//!
//! It takes orders from the `orders` queue in peek-lock mode, prices them,
//! publishes one invoice per order to the `invoices` queue, and completes
//! the order last. It works for small orders. Run
//! `cargo test -p ack-ordering` to see what the graders think of it under
//! crashes and with a bulk order, and `cargo xtask hint ack-ordering` when
//! you are stuck.
//!
//! Keep the signature of [`run`]: the scenario starts it, and restarts it
//! after every crash with a fresh context (everything in its local
//! variables is lost in a crash; what the broker holds is not).

use broker::simulation::ServiceCtx;

use crate::ConsumerError;
use crate::order::{self, INVOICES, ORDERS, Order};

/// The consumer loop: runs until the service crashes or an error stops it.
pub async fn run(ctx: ServiceCtx) -> Result<(), ConsumerError> {
    loop {
        // ANCHOR: starter
        // ANCHOR: starter-handler
        // Peek-lock (the default): the broker keeps the order locked for us
        // until we complete it, and gives it out again if we crash.
        let delivery = ctx.receive(ORDERS).await?;
        let order = Order::from_envelope(&delivery)?;
        let invoice = order::price(delivery.message_id(), &order).await;
        // Publish the result first, complete last.
        ctx.send(INVOICES, invoice.to_message()).await?;
        ctx.complete(&delivery).await?;
        // ANCHOR_END: starter-handler
        // ANCHOR_END: starter
    }
}

//! The pricing consumer. **This is the file you edit** (and the only one).
//!
//! It takes orders from the `orders` queue, prices them, and publishes one
//! invoice per order to the `invoices` queue. It works on the happy path.
//! Run `cargo test -p ack-ordering` to see what the graders think of it
//! under crashes, and `cargo xtask hint ack-ordering` when you are stuck.
//!
//! Keep the signature of [`run`]: the scenario starts it, and restarts it
//! after every crash with a fresh context (everything in its local
//! variables is lost in a crash; what the broker holds is not).

use broker::simulation::ServiceCtx;
use broker::{ReceiveMode, ReceiveOptions};

use crate::ConsumerError;
use crate::order::{self, INVOICES, ORDERS, Order};

/// Receive-and-delete: one round trip per order instead of two, and the
/// queue is never left with half-finished orders.
const RECEIVE_MODE: ReceiveMode = ReceiveMode::ReceiveAndDelete;

/// The consumer loop: runs until the service crashes or an error stops it.
pub async fn run(ctx: ServiceCtx) -> Result<(), ConsumerError> {
    let options = ReceiveOptions::default().with_mode(RECEIVE_MODE);
    loop {
        // ANCHOR: starter
        // ANCHOR: starter-handler
        let Some(delivery) = ctx.receive_with(ORDERS, options).await? else {
            continue;
        };
        // In peek-lock mode, settle at once: pricing a bulk order takes longer
        // than the lock, and an expired lock had bulk orders priced twice.
        if delivery.lock_token().is_some() {
            ctx.complete(&delivery).await?;
        }
        let order = Order::from_envelope(&delivery)?;
        let invoice = order::price(delivery.message_id(), &order).await;
        ctx.send(INVOICES, invoice.to_message()).await?;
        // ANCHOR_END: starter-handler
        // ANCHOR_END: starter
    }
}

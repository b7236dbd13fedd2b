//! The pricing consumer. **This is the file you edit** (and the only one).
//!
//! It takes orders from the `orders` topic, prices them, and publishes one
//! invoice per order to the `invoices` queue. It works on the happy path.
//! Run `cargo test -p auto-commit` to see what the graders think of it
//! under crashes, and `cargo xtask hint auto-commit` when you are stuck.
//!
//! Keep the signature of [`run`]: the scenario starts it, and restarts it
//! after every crash with a fresh context (everything in its local
//! variables is lost in a crash; what the broker holds is not).

use broker::ClientConfig;
use broker::simulation::ServiceCtx;

use crate::ConsumerError;
use crate::order::{self, INVOICES, ORDERS, Order};

/// The consumer group the pricing service belongs to.
const GROUP: &str = "pricing";

/// The consumer loop: runs until the service crashes or an error stops it.
pub async fn run(ctx: ServiceCtx) -> Result<(), ConsumerError> {
    // ANCHOR: starter
    // ANCHOR: starter-handler
    // As in the getting-started guide: a group, a bootstrap server, and the
    // client's defaults for everything else.
    let consumer = ClientConfig::new()
        .set("group.id", GROUP)
        .set("bootstrap.servers", "kafka:9092")
        .create_with_context(ctx.clone())?;
    consumer.subscribe(&[ORDERS])?;
    loop {
        let message = consumer.recv().await?;
        let order = Order::from_envelope(&message)?;
        let invoice = order::price(message.message_id(), &order).await;
        ctx.send(INVOICES, invoice.to_message()).await?;
    }
    // ANCHOR_END: starter-handler
    // ANCHOR_END: starter
}

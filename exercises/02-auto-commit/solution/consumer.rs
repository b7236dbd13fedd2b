//! The pricing consumer: the reference solution.
//!
//! One decision changes, and it is written down where the next reader of
//! the code will see it: **the consumer commits, not a timer.** librdkafka
//! stores each offset as it hands the message over and commits stored
//! offsets every five seconds, finished or not, so with its defaults a crash
//! in the middle of pricing loses the order. Here auto-commit is off, and
//! each order is committed after its invoice is published: a crash anywhere
//! before the commit means the order comes back, never that it is lost.
//!
//! The price of at-least-once: a crash between the publish and the commit
//! publishes the invoice twice. Its id derives from the order's, so the
//! duplicate can be recognised downstream (chapter 4 makes it harmless).

use broker::simulation::ServiceCtx;
use broker::{ClientConfig, CommitMode};

use crate::ConsumerError;
use crate::order::{self, INVOICES, ORDERS, Order};

/// The consumer group the pricing service belongs to.
const GROUP: &str = "pricing";

/// The consumer loop: runs until the service crashes or an error stops it.
pub async fn run(ctx: ServiceCtx) -> Result<(), ConsumerError> {
    // ANCHOR: solution
    // ANCHOR: solution-handler
    let consumer = ClientConfig::new()
        .set("group.id", GROUP)
        .set("bootstrap.servers", "kafka:9092")
        // librdkafka's default is "true": a timer would commit every order
        // it handed over, priced or not.
        .set("enable.auto.commit", "false")
        .create_with_context(ctx.clone())?;
    consumer.subscribe(&[ORDERS])?;
    loop {
        let message = consumer.recv().await?;
        let order = Order::from_envelope(&message)?;
        let invoice = order::price(message.message_id(), &order).await;
        // Publish the result first, commit last.
        ctx.send(INVOICES, invoice.to_message()).await?;
        consumer.commit_message(&message, CommitMode::Sync).await?;
    }
    // ANCHOR_END: solution-handler
    // ANCHOR_END: solution
}

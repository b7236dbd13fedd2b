//! A wrong attempt: it commits after publishing, and to avoid publishing an
//! invoice twice when an order comes back after a crash, it remembers in a
//! `static` which orders it already invoiced. The simulation restarts the
//! service inside one process, so the set outlives every simulated crash;
//! a real crash takes it along, and the invoice goes out twice.

use std::collections::BTreeSet;
use std::sync::Mutex;

use auto_commit::ConsumerError;
use auto_commit::order::{self, INVOICES, ORDERS, Order};
use broker::simulation::ServiceCtx;
use broker::{ClientConfig, CommitMode};

static INVOICED: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

pub async fn run(ctx: ServiceCtx) -> Result<(), ConsumerError> {
    let consumer = ClientConfig::new()
        .set("group.id", "pricing")
        .set("enable.auto.commit", "false")
        .create_with_context(ctx.clone())?;
    consumer.subscribe(&[ORDERS])?;
    loop {
        let message = consumer.recv().await?;
        let id = message.message_id().to_string();
        let already = INVOICED
            .lock()
            .map(|set| set.contains(&id))
            .unwrap_or(false);
        if !already {
            let order = Order::from_envelope(&message)?;
            let invoice = order::price(&id, &order).await;
            ctx.send(INVOICES, invoice.to_message()).await?;
            if let Ok(mut set) = INVOICED.lock() {
                set.insert(id.clone());
            }
        }
        consumer.commit_message(&message, CommitMode::Sync).await?;
    }
}

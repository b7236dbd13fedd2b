//! A wrong attempt: right order of operations, and to avoid publishing an
//! invoice twice when an order comes back after a crash, it remembers in a
//! `static` which orders it already invoiced. The simulation restarts the
//! service inside one process, so the set outlives every simulated crash;
//! a real crash takes it along, and the invoice goes out twice.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Duration;

use ack_ordering::ConsumerError;
use ack_ordering::order::{self, INVOICES, ORDERS, Order};
use broker::simulation::ServiceCtx;

static INVOICED: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

pub async fn run(ctx: ServiceCtx) -> Result<(), ConsumerError> {
    loop {
        let mut delivery = ctx.receive(ORDERS).await?;
        let id = delivery.message_id().to_string();
        let already = INVOICED
            .lock()
            .map(|set| set.contains(&id))
            .unwrap_or(false);
        if !already {
            let order = Order::from_envelope(&delivery)?;
            let pricing = order::price(&id, &order);
            tokio::pin!(pricing);
            let invoice = loop {
                tokio::select! {
                    biased;
                    invoice = &mut pricing => break invoice,
                    () = tokio::time::sleep(Duration::from_secs(30)) => {
                        ctx.renew_lock(&mut delivery).await?;
                    }
                }
            };
            ctx.send(INVOICES, invoice.to_message()).await?;
            if let Ok(mut set) = INVOICED.lock() {
                set.insert(id.clone());
            }
        }
        ctx.complete(&delivery).await?;
    }
}

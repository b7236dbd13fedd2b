//! The tailer. **This is the file you edit** (and the only one).
//!
//! [`tail`] is a service of its own: it reads the store's change feed from
//! its stored position, publishes an event to `order-events` for every
//! committed change of the `orders` table, and keeps its position in the
//! store, so that after a restart it goes on where it left off.
//!
//! Run `cargo test -p cdc` to see what the graders think of it when the
//! tailer crashes, and `cargo xtask hint cdc` when you are stuck.
//!
//! Keep the signature: the scenario starts `tail`, and restarts it after a
//! crash (or an error) with empty memory; what the store and the broker
//! hold survives.

use broker::simulation::ServiceCtx;

use crate::TailError;
use crate::shop::{self, ORDER_EVENTS, OrderEvent, POLL_INTERVAL};

/// Tails the change feed for ever. An error ends this life of the tailer;
/// the runtime restarts it.
pub async fn tail(ctx: ServiceCtx) -> Result<(), TailError> {
    // ANCHOR: starter
    let mut position = shop::stored_position(&ctx).await?;
    let mut published = 0_u64;
    loop {
        let changes = ctx.changes_since(position).await?;
        let mut events = Vec::new();
        for change in &changes {
            if let Some(event) = OrderEvent::from_change(change)? {
                events.push(event);
            }
        }
        if let Some(last) = changes.last() {
            if !events.is_empty() {
                // Move our stored position past this batch before we publish
                // it, so that a tailer that crashes halfway through never
                // publishes a change twice.
                shop::store_position(&ctx, last.position).await?;
            }
            position = last.position;
        }
        for event in events {
            // A fresh, unique id for every message we publish.
            published += 1;
            let message_id = format!("order-event-{}-{published}", ctx.now());
            ctx.send(ORDER_EVENTS, event.to_message(&message_id))
                .await?;
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
    // ANCHOR_END: starter
}

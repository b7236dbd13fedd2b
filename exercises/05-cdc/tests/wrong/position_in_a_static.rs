//! A wrong fix for the grader's own tests (`tests/grader_teeth.rs`): a
//! tailer that keeps its position in a `static` instead of the store. The
//! simulated crash cannot wipe a static (it is not in the service's
//! future), so the position seems to survive restarts; a real crash ends
//! the process and takes it along. `lost-event` must say so, plainly, from
//! this file's text.

use std::sync::atomic::{AtomicU64, Ordering};

use broker::simulation::ServiceCtx;
use cdc::TailError;
use cdc::shop::{ORDER_EVENTS, OrderEvent, POLL_INTERVAL};

/// The feed position of the last change published.
static POSITION: AtomicU64 = AtomicU64::new(0);

/// Publishes every change after `POSITION`, moving it on after each.
pub async fn tail(ctx: ServiceCtx) -> Result<(), TailError> {
    loop {
        for change in ctx.changes_since(POSITION.load(Ordering::SeqCst)).await? {
            if let Some(event) = OrderEvent::from_change(&change)? {
                let message_id = format!("{}-v{}", event.order_id, event.version);
                ctx.send(ORDER_EVENTS, event.to_message(&message_id))
                    .await?;
            }
            POSITION.store(change.position, Ordering::SeqCst);
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

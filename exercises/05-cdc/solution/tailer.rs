//! The tailer: the reference solution.
//!
//! A change-data-capture tailer is a consumer of the change feed, and its
//! stored position is its acknowledgement: storing it says "everything up
//! to here has been dealt with". So, as in chapter 3, it stores it only
//! once that is true, after the broker has accepted the events of every
//! change up to it. A crash in between publishes those events again after
//! the restart: the tailer is at-least-once. The repeat is harmless because
//! the message id is derived from the change (the order and the version it
//! made), the same on every attempt, and `order-events` drops a repeated id
//! (duplicate detection).
//!
//! One tailer, publishing one change at a time in feed order, keeps each
//! order's events in commit order: a change is published only once every
//! change before it is.

use broker::simulation::ServiceCtx;

use crate::TailError;
use crate::shop::{self, ORDER_EVENTS, OrderEvent, POLL_INTERVAL};

/// Tails the change feed for ever. An error ends this life of the tailer;
/// the runtime restarts it, and it resumes from its stored position.
// ANCHOR: solution
pub async fn tail(ctx: ServiceCtx) -> Result<(), TailError> {
    // Where this life starts: the position stored by the last one. Kept in
    // memory from then on, and stored after each batch is published.
    let mut position = shop::stored_position(&ctx).await?;
    loop {
        let changes = ctx.changes_since(position).await?;
        let mut published = false;
        for change in &changes {
            let Some(event) = OrderEvent::from_change(change)? else {
                continue;
            };
            // Decided by the change, not by the attempt: a republish after a
            // crash carries the same id, and duplicate detection drops it.
            let message_id = format!("{}-v{}", event.order_id, event.version);
            ctx.send(ORDER_EVENTS, event.to_message(&message_id))
                .await?;
            published = true;
        }
        if let Some(last) = changes.last() {
            // Only now is everything up to `last` published. (Storing the
            // position is itself a change in the feed; a batch of nothing
            // else publishes nothing, and storing again for it would write
            // a new position on every poll.)
            if published {
                shop::store_position(&ctx, last.position).await?;
            }
            position = last.position;
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}
// ANCHOR_END: solution

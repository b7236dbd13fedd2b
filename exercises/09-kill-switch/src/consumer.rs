//! The shipping consumer. **This is the file you edit** (and the only one).
//!
//! [`consume`] is the consumer's whole life: it takes shipment requests from
//! the queue one at a time, books each with the carrier
//! ([`shipping::ship`]), completes the ones that were booked and
//! dead-letters the ones that failed, so that someone can look at them in
//! the morning.
//!
//! Run `cargo test -p kill-switch` to see what the graders think of it
//! during the carrier's six-hour outage, and `cargo xtask hint kill-switch`
//! when you are stuck.
//!
//! Keep the signature. The runtime restarts `consume` when it returns an
//! error or crashes, with its memory gone; it never calls it twice at once.

use broker::BrokerError;
use broker::simulation::ServiceCtx;

use crate::shipping::{self, SHIPMENT_REQUESTS};

/// Takes shipment requests from the queue and books a courier for each.
pub async fn consume(ctx: ServiceCtx) -> Result<(), BrokerError> {
    // ANCHOR: starter
    loop {
        let delivery = ctx.receive(SHIPMENT_REQUESTS).await?;
        // ANCHOR: starter-handler
        match shipping::ship(&ctx, &delivery).await {
            Ok(()) => ctx.complete(&delivery).await?,
            // Whatever went wrong, park the message for a human to look at.
            Err(error) => {
                ctx.dead_letter(&delivery, error.reason(), &error.to_string())
                    .await?
            }
        }
        // ANCHOR_END: starter-handler
    }
    // ANCHOR_END: starter
}

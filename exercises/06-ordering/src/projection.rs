//! The storefront's projection. **This is the file you edit** (and the only
//! one).
//!
//! [`apply`] takes one catalog event and writes what it says into the read
//! model, `storefront_products`: an update becomes the product's row, a
//! delete removes it. It works, as long as the events of a product arrive
//! in the order the catalog published them.
//!
//! Run `cargo test -p ordering` to see what the graders think of it when the
//! events arrive in another order, and `cargo xtask hint ordering` when you
//! are stuck.
//!
//! Keep the signature of [`apply`]: the consumer host calls it once per
//! delivery, on either replica, completes the event when it returns `Ok`
//! and abandons it (to be delivered again) when it returns an error. You may
//! add helper functions, types, constants and tables of your own.

use broker::Delivery;
use broker::simulation::ServiceCtx;
use broker::store::IsolationLevel;

use crate::ProjectionError;
use crate::catalog::{CatalogEvent, PRODUCTS};

/// Applies one catalog event to the read model.
pub async fn apply(ctx: &ServiceCtx, delivery: &Delivery) -> Result<(), ProjectionError> {
    // ANCHOR: starter
    // ANCHOR: starter-handler
    let event = CatalogEvent::from_delivery(delivery)?;
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    match event.view() {
        // The event carries the product's whole state, so the row simply
        // becomes what it says.
        Some(view) => {
            tx.upsert(PRODUCTS, &event.product_id, view.to_json())
                .await?;
        }
        None => {
            tx.delete(PRODUCTS, &event.product_id).await?;
        }
    }
    tx.commit().await?;
    Ok(())
    // ANCHOR_END: starter-handler
    // ANCHOR_END: starter
}

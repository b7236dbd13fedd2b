//! The storefront's projection: the reference solution.
//!
//! The events of a product can arrive in any order: a consumer that crashed
//! holding one gets it back after the other replica applied newer ones, and
//! ops replays dead letters an hour after they failed. So the projection
//! stops trusting the order of arrival and trusts the catalog's version
//! instead:
//!
//! 1. **Remember the version applied, per product, in the store**, in the
//!    table `storefront_product_versions`, in the same transaction as the
//!    row it describes. An event whose version is not newer than the one
//!    remembered changes nothing (it is old, or a repeat) and is completed.
//! 2. **Keep a tombstone for a delete**: the product's row goes, but its
//!    version stays, marked deleted. A late update for it is then older than
//!    what was applied, and is ignored instead of bringing the product back.
//! 3. **Lock before comparing** (`get_for_update`): the two replicas may
//!    apply two events of one product at the same time, and a compare on a
//!    plain read, followed by a write, lets the older one win the race.
//!
//! The projection is then idempotent (a repeat is a no-op) and order-
//! tolerant (any order of arrival ends in the same state: the newest).

use broker::Delivery;
use broker::simulation::ServiceCtx;
use broker::store::IsolationLevel;
use serde::{Deserialize, Serialize};

use crate::ProjectionError;
use crate::catalog::{CatalogEvent, PRODUCTS};

/// The newest version applied per product, deletes included: the
/// projection's memory of what it has seen, kept where a crash cannot
/// erase it.
pub const APPLIED_VERSIONS: &str = "storefront_product_versions";

/// One row of [`APPLIED_VERSIONS`].
#[derive(Debug, Serialize, Deserialize)]
struct Applied {
    /// The newest catalog version applied to the product.
    version: u64,
    /// Whether that version was its delete (a tombstone).
    deleted: bool,
}

/// Applies one catalog event to the read model, unless a newer one was
/// already applied.
pub async fn apply(ctx: &ServiceCtx, delivery: &Delivery) -> Result<(), ProjectionError> {
    // ANCHOR: solution
    // ANCHOR: solution-handler
    let event = CatalogEvent::from_delivery(delivery)?;
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    // Lock the product's version record first: a second replica applying
    // another event of this product waits here until we commit, then reads
    // what we wrote.
    let applied = tx
        .get_for_update(APPLIED_VERSIONS, &event.product_id)
        .await?;
    if let Some(row) = applied {
        let applied: Applied =
            serde_json::from_value(row.value).map_err(|error| ProjectionError::Unreadable {
                id: event.product_id.clone(),
                reason: error.to_string(),
            })?;
        if applied.version >= event.version {
            // Older than what the storefront shows, or a repeat: nothing to do.
            tx.rollback().await;
            return Ok(());
        }
    }
    match event.view() {
        Some(view) => {
            tx.upsert(PRODUCTS, &event.product_id, view.to_json())
                .await?;
        }
        None => {
            tx.delete(PRODUCTS, &event.product_id).await?;
        }
    }
    // The version, and for a delete the tombstone, commit with the row.
    let applied = Applied {
        version: event.version,
        deleted: event.view().is_none(),
    };
    let applied = serde_json::to_value(&applied).map_err(|error| ProjectionError::Unreadable {
        id: event.product_id.clone(),
        reason: error.to_string(),
    })?;
    tx.upsert(APPLIED_VERSIONS, &event.product_id, applied)
        .await?;
    tx.commit().await?;
    Ok(())
    // ANCHOR_END: solution-handler
    // ANCHOR_END: solution
}

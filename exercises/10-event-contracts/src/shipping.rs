//! The shipping service's world: the checkout team's contract for
//! `OrderPlaced`, the `shipments` table and the queue. Do not edit.
//!
//! ## The contract, as the checkout team publishes it (version 1)
//!
//! An `OrderPlaced` event is a JSON object in the message **body**:
//!
//! | field | type | |
//! | --- | --- | --- |
//! | `event_id` | string, not empty | the event's id: the same on every retry of this event, so consumers can deduplicate |
//! | `order_id` | string | the order |
//! | `total_cents` | whole number | what the customer paid, in cents |
//! | `placed_at` | RFC 3339 time in UTC (`2026-03-29T00:30:00Z`) | when the order was placed |
//! | `shipping_address` | string | where the parcel goes |
//! | `delivery_note` | string, optional | added in version 1.1; older producers leave it out |
//!
//! New optional fields may appear at any time (adding a field is how the
//! contract evolves); a consumer ignores the ones it does not know. The
//! meaning of a field never changes. Headers (application properties) are
//! for routing and tracing: nothing a consumer needs to do its work travels
//! only in a header. An event that breaks the contract goes to the
//! dead-letter queue with a reason the checkout team can act on: they read
//! that queue.

use serde::{Deserialize, Serialize};
use serde_json::json;

use broker::simulation::ServiceCtx;
use broker::store::IsolationLevel;

use crate::IntakeError;

/// The queue the checkout team publishes `OrderPlaced` events to.
pub const ORDER_EVENTS: &str = "order-events";
/// The shipments table: one row per order to ship, keyed by order id.
pub const SHIPMENTS: &str = "shipments";

/// A parcel to pack: what the warehouse reads from [`SHIPMENTS`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shipment {
    /// The event it came from.
    pub event_id: String,
    /// The order, and the row's key.
    pub order_id: String,
    /// What the customer paid, in cents: the parcel's declared value.
    pub total_cents: u64,
    /// When the order was placed: the warehouse ships the oldest first.
    pub placed_at: chrono::DateTime<chrono::Utc>,
    /// Where the parcel goes.
    pub shipping_address: String,
    /// For the courier, if the customer left one.
    pub delivery_note: Option<String>,
}

impl Shipment {
    /// The shipment's row in [`SHIPMENTS`].
    pub fn row(&self) -> serde_json::Value {
        json!({
            "event_id": self.event_id,
            "order_id": self.order_id,
            "total_cents": self.total_cents,
            "placed_at": self.placed_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "shipping_address": self.shipping_address,
            "delivery_note": self.delivery_note,
        })
    }
}

/// Records a shipment: one transaction that writes its row (again, if the
/// event is delivered twice: the row is keyed by order, so the second write
/// changes nothing).
///
/// # Errors
///
/// When the store fails; the event is then delivered again.
pub async fn record(ctx: &ServiceCtx, shipment: &Shipment) -> Result<(), IntakeError> {
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    tx.upsert(SHIPMENTS, &shipment.order_id, shipment.row())
        .await?;
    tx.commit().await?;
    Ok(())
}

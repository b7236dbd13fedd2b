//! The shipping service's intake: the reference solution.
//!
//! The event is read into a strict type, [`OrderPlaced`], that says what
//! the contract says: every field from the body (nothing from headers), an
//! id, a time with its offset, the address required even though it may
//! arrive as `null`. `#[derive(Event)]` refuses at compile time the types
//! that could not keep the contract, and its `validate()` checks what a
//! deserialized value can still get wrong: a blank id, an empty required
//! field, a time not in UTC. An event that breaks the contract is
//! dead-lettered, never completed, with a reason that names the field, so
//! the checkout team, who read the dead-letter queue, can fix their
//! producer. Unknown fields are ignored: adding a field is how the contract
//! evolves.

use broker::Delivery;
use broker::simulation::ServiceCtx;
use chrono::{DateTime, FixedOffset};
use event_contract::Event;
use serde::{Deserialize, Deserializer};

use crate::IntakeError;
use crate::shipping::{self, Shipment};

// ANCHOR: solution-contract
/// `OrderPlaced`, version 1, as the checkout team's contract defines it.
#[derive(Debug, Deserialize, Event)]
pub struct OrderPlaced {
    /// The same on every retry of this event.
    pub event_id: String,
    /// The order.
    pub order_id: String,
    /// What the customer paid, in cents: in the body, not in a header.
    pub total_cents: u64,
    /// When the order was placed, with its offset (which `validate()`
    /// requires to be UTC).
    #[serde(deserialize_with = "time_with_offset")]
    pub placed_at: DateTime<FixedOffset>,
    /// `Option` only so that a `null` reaches `validate()`, which names it.
    #[event(required)]
    pub shipping_address: Option<String>,
    /// Optional since version 1.1.
    #[serde(default)]
    pub delivery_note: Option<String>,
}
// ANCHOR_END: solution-contract

/// Handles one delivery of an `OrderPlaced` event.
pub async fn handle(ctx: &ServiceCtx, delivery: &Delivery) -> Result<(), IntakeError> {
    // ANCHOR: solution-handler
    let event = match serde_json::from_slice::<OrderPlaced>(delivery.body()) {
        Ok(event) => event,
        Err(error) => {
            let description = format!("the body is not an OrderPlaced (version 1): {error}");
            return refuse(ctx, delivery, &description).await;
        }
    };
    if let Err(broken) = event.validate() {
        return refuse(ctx, delivery, &broken.to_string()).await;
    }
    let shipment = Shipment {
        event_id: event.event_id,
        order_id: event.order_id,
        total_cents: event.total_cents,
        placed_at: event.placed_at.to_utc(),
        shipping_address: event.shipping_address.unwrap_or_default(),
        delivery_note: event.delivery_note,
    };
    shipping::record(ctx, &shipment).await?;
    ctx.complete(delivery).await?;
    Ok(())
    // ANCHOR_END: solution-handler
}

/// Dead-letters the delivery with a reason the producer can act on.
async fn refuse(
    ctx: &ServiceCtx,
    delivery: &Delivery,
    description: &str,
) -> Result<(), IntakeError> {
    ctx.dead_letter(delivery, "ContractViolation", description)
        .await?;
    Ok(())
}

/// An RFC 3339 time, which always carries an offset; a time without one
/// is refused with the field's name (serde's own message would not say
/// which field).
fn time_with_offset<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<DateTime<FixedOffset>, D::Error> {
    let text = String::deserialize(deserializer)?;
    DateTime::parse_from_rfc3339(&text).map_err(|_| {
        serde::de::Error::custom(format!(
            "`placed_at` is {text:?}, which has no offset from UTC: send an RFC 3339 time \
             in UTC, such as 2026-03-29T00:30:00Z"
        ))
    })
}

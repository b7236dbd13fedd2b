//! The shipping service's intake. **This is the file you edit** (and the
//! only one).
//!
//! [`handle`] takes one delivery of an `OrderPlaced` event from the checkout
//! team, turns it into a [`Shipment`] and records it, then completes the
//! delivery. It was written to be forgiving: whatever is missing, it finds
//! somewhere else or fills in.
//!
//! Run `cargo test -p event-contracts` to see what the graders think of it,
//! and `cargo xtask hint event-contracts` when you are stuck. The contract
//! the checkout team promises is in `src/shipping.rs`.
//!
//! Keep the signature: the service calls `handle` once per delivery and
//! abandons the delivery when it returns an error (the broker then delivers
//! it again, and dead-letters it after ten deliveries). Otherwise `handle`
//! settles the delivery itself: `ctx.complete(delivery)`, or
//! `ctx.dead_letter(delivery, reason, description)`.

use broker::Delivery;
use broker::simulation::ServiceCtx;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::Value;

use crate::IntakeError;
use crate::shipping::{self, Shipment};

/// Handles one delivery of an `OrderPlaced` event.
pub async fn handle(ctx: &ServiceCtx, delivery: &Delivery) -> Result<(), IntakeError> {
    // ANCHOR: starter
    // ANCHOR: starter-handler
    // Be liberal in what you accept: take what the body has, and look
    // elsewhere for the rest.
    let event: Value = serde_json::from_slice(delivery.body()).unwrap_or(Value::Null);
    let text = |field: &str| event[field].as_str().unwrap_or_default().to_owned();
    let shipment = Shipment {
        // No id in the body? The broker's message id will do.
        event_id: event["event_id"]
            .as_str()
            .unwrap_or(delivery.message_id())
            .to_owned(),
        order_id: text("order_id"),
        // Some producers send the total as a header.
        total_cents: event["total_cents"]
            .as_u64()
            .or_else(|| delivery.property("total_cents")?.parse().ok())
            .unwrap_or_default(),
        placed_at: parse_time(&text("placed_at")).unwrap_or_default(),
        // The address may come later: ship now, fix it then.
        shipping_address: text("shipping_address"),
        delivery_note: event["delivery_note"].as_str().map(str::to_owned),
    };
    shipping::record(ctx, &shipment).await?;
    ctx.complete(delivery).await?;
    Ok(())
    // ANCHOR_END: starter-handler
    // ANCHOR_END: starter
}

/// Reads a time with or without its offset; without one, it is taken as
/// UTC.
fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.to_utc());
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S")
        .ok()
        .map(|naive| naive.and_utc())
}

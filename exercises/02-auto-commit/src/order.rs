//! Orders, invoices and the pricing engine. Do not edit.
//!
//! Pricing takes time: one second per order plus 300 ms per item, in virtual
//! time, so several orders take longer than the auto-commit timer's five
//! seconds, and the timer ticks while they are being priced.

use std::time::Duration;

use broker::{Envelope, Message};
use serde::{Deserialize, Serialize};

use crate::ConsumerError;

/// The topic orders arrive on (a queue of the broker, standing in for a
/// Kafka topic of one partition).
pub const ORDERS: &str = "orders";
/// The queue invoices are published to.
pub const INVOICES: &str = "invoices";

/// An order, as the shop's front end sends it (the message body, in JSON).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub sku: String,
    pub quantity: u32,
    pub unit_price_cents: u64,
}

impl Order {
    /// Reads an order from a received message.
    pub fn from_envelope(envelope: &Envelope) -> Result<Order, ConsumerError> {
        envelope
            .body_json()
            .map_err(|error| ConsumerError::BadOrder {
                message_id: envelope.message_id().to_string(),
                reason: error.to_string(),
            })
    }

    /// The order as a message with id `order_id`.
    pub fn to_message(&self, order_id: &str) -> Message {
        let body = serde_json::to_vec(self).unwrap_or_default();
        Message::new(order_id, body).with_content_type("application/json")
    }
}

/// The result of pricing an order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invoice {
    /// The message id of the order this invoice is for.
    pub order_id: String,
    pub total_cents: u64,
}

impl Invoice {
    /// The invoice as a message. Its id derives from the order's, so that a
    /// second publish for the same order is recognisably the same invoice;
    /// its correlation id links it to the order (the graders follow it).
    pub fn to_message(&self) -> Message {
        let body = serde_json::to_vec(self).unwrap_or_default();
        Message::new(format!("invoice-{}", self.order_id), body)
            .with_content_type("application/json")
            .with_correlation_id(self.order_id.clone())
    }
}

/// How long pricing takes: a second, plus 300 ms per item.
pub fn pricing_time(order: &Order) -> Duration {
    Duration::from_secs(1) + Duration::from_millis(300) * order.quantity
}

/// Prices an order (in virtual time: see [`pricing_time`]).
pub async fn price(order_id: &str, order: &Order) -> Invoice {
    tokio::time::sleep(pricing_time(order)).await;
    Invoice {
        order_id: order_id.to_string(),
        total_cents: order.unit_price_cents * u64::from(order.quantity),
    }
}

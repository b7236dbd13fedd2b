//! The warehouse: reservation requests, the stock and reservations tables,
//! and the queue. Do not edit.
//!
//! The database has two tables, keyed by string like every table of the
//! workshop's store (see `broker::store`):
//!
//! - [`STOCK`]: how many of each product are left, `{"available": n}`,
//!   keyed by product;
//! - [`RESERVATIONS`]: one row per reservation made, keyed by order id
//!   (what [`Reservation::row`] returns).
//!
//! A reservation is made when its row is committed in [`RESERVATIONS`] and
//! the stock went down by its quantity in the same transaction.

use broker::Envelope;
use broker::Message;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::StockError;

/// The queue the two workers compete for.
pub const RESERVATION_REQUESTS: &str = "reservation-requests";
/// The stock table: `{"available": n}` per product.
pub const STOCK: &str = "stock";
/// The reservations table: one row per reservation, keyed by order id.
pub const RESERVATIONS: &str = "reservations";

/// The team's rule for retries: at most this many transactions for one
/// delivery of a request. After that, give the request back to the broker
/// (return an error: the worker abandons it, and the broker delivers it
/// again, to either worker, and dead-letters it after ten deliveries). A
/// retry loop without a bound turns an outage of the database into a storm
/// of statements; the `retry-storm` check counts.
pub const MAX_ATTEMPTS_PER_DELIVERY: u32 = 5;

/// A request to reserve stock for an order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    /// The order, and the reservation's key: `order-1`.
    pub order_id: String,
    /// Who ordered.
    pub customer: String,
    /// The product.
    pub sku: String,
    /// How many.
    pub quantity: u32,
}

/// What became of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The reservation is committed (now, or by an earlier delivery).
    Reserved,
    /// Not enough stock: nothing was written.
    Refused,
}

impl Reservation {
    /// Reads a request from a received message.
    pub fn from_envelope(envelope: &Envelope) -> Result<Reservation, StockError> {
        envelope
            .body_json()
            .map_err(|error| StockError::Unreadable {
                key: envelope.message_id().to_owned(),
                reason: error.to_string(),
            })
    }

    /// The request as the order service sends it: its message id is the
    /// order id, and its session id the product, so that a queue with
    /// sessions would hand out one product's requests one at a time (a
    /// queue without sessions ignores it).
    pub fn to_message(&self) -> Message {
        Message::new(self.order_id.clone(), self.row().to_string())
            .with_content_type("application/json")
            .with_session_id(self.sku.clone())
    }

    /// The reservation's row in [`RESERVATIONS`].
    pub fn row(&self) -> serde_json::Value {
        json!({
            "order_id": self.order_id,
            "customer": self.customer,
            "sku": self.sku,
            "quantity": self.quantity,
        })
    }
}

/// How many are available in a [`STOCK`] row's value (`key` names the row
/// in the error). May be negative, if someone oversold.
pub fn available(key: &str, value: &serde_json::Value) -> Result<i64, StockError> {
    value["available"]
        .as_i64()
        .ok_or_else(|| StockError::Unreadable {
            key: key.to_owned(),
            reason: format!("no whole number `available` in {value}"),
        })
}

/// A [`STOCK`] row's value holding `available`.
pub fn stock_row(available: i64) -> serde_json::Value {
    json!({ "available": available })
}

//! The shop: checkout requests, the `OrderPlaced` event, the database's
//! tables and the broker's queues. Do not edit.
//!
//! The database has three tables, keyed by string like every table of the
//! workshop's store (see `broker::store`):
//!
//! - [`ORDERS`]: one row per placed order, keyed by order id;
//! - [`STOCK`]: how many of each product are left, keyed by product;
//! - [`OUTBOX`]: empty, and yours to use.
//!
//! `OrderPlaced` goes to the [`ORDER_EVENTS`] queue, which the warehouse
//! (it ships the order) and billing (it charges the customer) read. The
//! queue detects duplicate message ids, as Service Bus does when the feature
//! is on, within [`DUPLICATE_DETECTION_WINDOW`].

use std::time::Duration;

use broker::simulation::Tx;
use broker::{Envelope, Message};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::OrderError;

/// How long `order-events` remembers a message id: a repeat sent within
/// this window is dropped, one sent later is a new message. Seven minutes,
/// not Service Bus's default ten, so that within the 10-minute run a relay
/// that publishes the same row again and again outlives the window, while
/// the worst delay the fault plans can cause (three outages of two minutes)
/// does not.
pub const DUPLICATE_DETECTION_WINDOW: Duration = Duration::from_secs(7 * 60);

/// The checkout requests from the storefront (see [`crate::scenario`]).
pub const CHECKOUT: &str = "checkout";
/// Where `OrderPlaced` events go; duplicate detection is on.
pub const ORDER_EVENTS: &str = "order-events";
/// The orders table: one row per placed order, keyed by order id.
pub const ORDERS: &str = "orders";
/// The stock table: `{"available": n}` per product, keyed by product.
pub const STOCK: &str = "stock";
/// The outbox table: empty in the starter, yours to use.
pub const OUTBOX: &str = "outbox";

/// How often a relay that polls the outbox looks at it. The warehouse picks
/// orders in rounds, so the shop agreed that an event may reach it up to
/// 30 seconds after its order committed. (Time is virtual: waiting costs
/// nothing. Polling much more often makes every grading run longer, and
/// proves nothing more.)
pub const RELAY_POLL_INTERVAL: Duration = Duration::from_secs(30);

/// A customer's checkout: place this order. The storefront picks the order
/// id, so a request and its order share it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRequest {
    /// The order's id, chosen by the storefront: `order-1`.
    pub order_id: String,
    /// Who ordered.
    pub customer: String,
    /// The product.
    pub sku: String,
    /// How many.
    pub quantity: u32,
}

impl OrderRequest {
    /// Reads a request from a received message.
    pub fn from_envelope(envelope: &Envelope) -> Result<OrderRequest, OrderError> {
        envelope
            .body_json()
            .map_err(|error| OrderError::Unreadable {
                id: envelope.message_id().to_owned(),
                reason: error.to_string(),
            })
    }

    /// The request as the storefront sends it; its message id is the order id.
    pub fn to_message(&self) -> Message {
        Message::new(self.order_id.clone(), self.to_json().to_string())
            .with_content_type("application/json")
    }

    /// The order's row in [`ORDERS`].
    pub fn order_row(&self) -> serde_json::Value {
        self.to_json()
    }

    fn to_json(&self) -> serde_json::Value {
        json!({
            "order_id": self.order_id,
            "customer": self.customer,
            "sku": self.sku,
            "quantity": self.quantity,
        })
    }
}

/// The event the rest of the shop waits for: this order exists, ship it and
/// bill it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderPlaced {
    /// The order's id.
    pub order_id: String,
    /// Who ordered.
    pub customer: String,
    /// The product.
    pub sku: String,
    /// How many.
    pub quantity: u32,
}

impl OrderPlaced {
    /// The event for the order a request places.
    pub fn for_request(request: &OrderRequest) -> OrderPlaced {
        OrderPlaced {
            order_id: request.order_id.clone(),
            customer: request.customer.clone(),
            sku: request.sku.clone(),
            quantity: request.quantity,
        }
    }

    /// The event as JSON, for a row of a table.
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "order_id": self.order_id,
            "customer": self.customer,
            "sku": self.sku,
            "quantity": self.quantity,
        })
    }

    /// Reads the event back from the JSON [`OrderPlaced::to_json`] wrote;
    /// `key` names the row in the error.
    pub fn from_json(key: &str, value: &serde_json::Value) -> Result<OrderPlaced, OrderError> {
        serde_json::from_value(value.clone()).map_err(|error| OrderError::Unreadable {
            id: key.to_owned(),
            reason: error.to_string(),
        })
    }

    /// The event as a message with id `message_id`, ready to send to
    /// [`ORDER_EVENTS`]. Its correlation id is the order id, whatever the
    /// message id: that is how traces (and the graders) tie an event to
    /// its order.
    pub fn to_message(&self, message_id: &str) -> Message {
        Message::new(message_id, self.to_json().to_string())
            .with_content_type("application/json")
            .with_correlation_id(self.order_id.clone())
    }

    /// Reads the event from a message's body (the graders do).
    pub fn from_body(body: &[u8]) -> Result<OrderPlaced, serde_json::Error> {
        serde_json::from_slice(body)
    }
}

/// Takes `quantity` of `sku` from [`STOCK`] inside `tx`: the stock row is
/// locked (`SELECT … FOR UPDATE`) until the transaction ends, so two orders
/// cannot take the last teapot twice. Fails with [`OrderError::OutOfStock`]
/// when too few are left; the caller then rolls back.
pub async fn reserve_stock(tx: &mut Tx, sku: &str, quantity: u32) -> Result<(), OrderError> {
    let available = tx
        .get_for_update(STOCK, sku)
        .await?
        .and_then(|row| row.value["available"].as_u64())
        .map_or(0, |available| u32::try_from(available).unwrap_or(u32::MAX));
    if available < quantity {
        return Err(OrderError::OutOfStock {
            sku: sku.to_owned(),
            wanted: quantity,
            available,
        });
    }
    tx.upsert(STOCK, sku, json!({ "available": available - quantity }))
        .await?;
    Ok(())
}

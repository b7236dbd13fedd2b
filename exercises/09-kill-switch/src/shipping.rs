//! Shipping: the request, the carrier's API and the call to it. Do not edit.
//!
//! [`ship`] books a courier for one delivered message: it reads the request
//! from the body, then calls the carrier's API ([`CARRIER_API`], a downstream
//! system: its effect cannot be rolled back). It returns which of the two
//! went wrong, if one did, as a [`ShipError`].

use broker::simulation::ServiceCtx;
use broker::{Delivery, Message};
use serde::{Deserialize, Serialize};

use crate::ShipError;

/// The queue of shipment requests.
pub const SHIPMENT_REQUESTS: &str = "shipment-requests";
/// The carrier's API: the downstream system every shipment is booked with.
pub const CARRIER_API: &str = "carrier-api";

/// A request to ship an order, as the order service sends it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipmentRequested {
    /// The order, and the message's id: `order-0042`.
    pub order_id: String,
    /// Where to.
    pub postcode: String,
}

impl ShipmentRequested {
    /// The request as the order service sends it: its message id is the
    /// order id.
    pub fn to_message(&self) -> Message {
        let body = serde_json::json!({ "order_id": self.order_id, "postcode": self.postcode });
        Message::new(self.order_id.clone(), body.to_string()).with_content_type("application/json")
    }
}

/// Reads the request in a delivered message.
pub fn read(delivery: &Delivery) -> Result<ShipmentRequested, ShipError> {
    delivery.body_json().map_err(|error| ShipError::Malformed {
        message_id: delivery.message_id().to_owned(),
        reason: error.to_string(),
    })
}

/// Books a courier for the shipment in `delivery`: reads it, then calls the
/// carrier's API with the order id as the booking's key. `Ok` means the
/// carrier has the booking.
pub async fn ship(ctx: &ServiceCtx, delivery: &Delivery) -> Result<(), ShipError> {
    let request = read(delivery)?;
    ctx.call_downstream(
        CARRIER_API,
        &request.order_id,
        format!("courier to {}", request.postcode),
    )
    .await?;
    Ok(())
}

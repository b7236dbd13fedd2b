//! Payments: the request, the card gateway and the tables. Do not edit.
//!
//! The card gateway takes an optional **idempotency key** with each charge,
//! as real payment APIs do (Stripe's `Idempotency-Key` header, Adyen's
//! `Idempotency-Key`): a charge whose key it has seen before is answered
//! with success and *not* made again. A charge without a key is always
//! made. Unlike the real ones, this gateway remembers keys for the whole
//! run. A charge is a side effect that cannot be rolled back, and its reply
//! can be lost after the money moved ([`GatewayError::Timeout`]).

use broker::simulation::{DownstreamCall, DownstreamError, Run, ServiceCtx};
use broker::{Delivery, Message};
use serde::{Deserialize, Serialize};

use crate::RuntimeError;

/// The queue of payment requests the runtime consumes.
pub const PAYMENT_REQUESTS: &str = "payment-requests";
/// The queue the runtime announces captured payments on. It detects
/// duplicates by message id (ten minutes), as Service Bus does.
pub const PAYMENT_EVENTS: &str = "payment-events";
/// The card gateway: a downstream system whose charges cannot be undone.
pub const CARD_GATEWAY: &str = "card-gateway";
/// The table of recorded payments, keyed by payment id.
pub const PAYMENTS: &str = "payments";
/// A table for events waiting to be published, if you want one: every table
/// name you write to exists in the store.
pub const OUTBOX: &str = "outbox";
/// How often a relay may poll the store: polling more often only makes
/// grading slower.
pub const RELAY_POLL_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// A request to charge a card, as the checkout sends it. Its message id is
/// the payment id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRequested {
    /// `pay-0007`: the payment, and the request's message id.
    pub payment_id: String,
    /// The card to charge (a token, never the number).
    pub card: String,
    /// How much, in cents.
    pub amount_cents: u64,
}

impl PaymentRequested {
    /// The request as the checkout sends it.
    pub fn to_message(&self) -> Message {
        let body = serde_json::json!({
            "payment_id": self.payment_id,
            "card": self.card,
            "amount_cents": self.amount_cents,
        });
        Message::new(self.payment_id.clone(), body.to_string())
            .with_content_type("application/json")
    }

    /// Reads the request in a delivered message.
    pub fn from_delivery(delivery: &Delivery) -> Result<PaymentRequested, RuntimeError> {
        delivery
            .body_json()
            .map_err(|error| RuntimeError::Malformed {
                key: delivery.message_id().to_owned(),
                reason: error.to_string(),
            })
    }

    /// The payment's row in [`PAYMENTS`].
    pub fn payment_row(&self) -> serde_json::Value {
        serde_json::json!({ "card": self.card, "amount_cents": self.amount_cents })
    }
}

/// Why a charge failed.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The gateway could not be reached: nothing was charged.
    #[error("the card gateway is unavailable: nothing was charged")]
    Unavailable,
    /// No answer in time: the card may or may not have been charged.
    #[error("the card gateway did not answer: the card may or may not have been charged")]
    Timeout,
}

impl From<DownstreamError> for GatewayError {
    fn from(error: DownstreamError) -> GatewayError {
        match error {
            DownstreamError::Unavailable { .. } => GatewayError::Unavailable,
            DownstreamError::Timeout { .. } => GatewayError::Timeout,
        }
    }
}

/// One charge as the gateway receives it (the graders read it back).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Charge {
    pub payment_id: String,
    pub card: String,
    pub amount_cents: u64,
    /// When set, the gateway makes at most one charge per key.
    pub idempotency_key: Option<String>,
}

/// Charges the card of `request`, with `idempotency_key` if given.
pub async fn charge(
    ctx: &ServiceCtx,
    request: &PaymentRequested,
    idempotency_key: Option<&str>,
) -> Result<(), GatewayError> {
    let charge = Charge {
        payment_id: request.payment_id.clone(),
        card: request.card.clone(),
        amount_cents: request.amount_cents,
        idempotency_key: idempotency_key.map(str::to_owned),
    };
    let detail = serde_json::to_string(&charge).unwrap_or_default();
    ctx.call_downstream(CARD_GATEWAY, &request.payment_id, detail)
        .await
        .map_err(GatewayError::from)
}

/// A charge the gateway made: a call that reached it, not a repeat of a key
/// it had already seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Charged {
    pub charge: Charge,
    /// When (virtual time since the run began).
    pub at: std::time::Duration,
}

/// Every charge the gateway made in a run, in order.
pub fn charges(run: &Run) -> Vec<Charged> {
    let mut seen_keys = std::collections::BTreeSet::new();
    run.calls_to(CARD_GATEWAY)
        .into_iter()
        .filter_map(|call: &DownstreamCall| {
            let charge: Charge = serde_json::from_str(&call.detail).ok()?;
            match &charge.idempotency_key {
                Some(key) if !seen_keys.insert(key.clone()) => None,
                _ => Some(Charged {
                    charge,
                    at: call.at,
                }),
            }
        })
        .collect()
}

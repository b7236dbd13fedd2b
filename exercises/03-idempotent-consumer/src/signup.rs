//! The `UserSignedUp` event and the queues. Do not edit.

use broker::{Envelope, Message};
use serde::{Deserialize, Serialize};

use crate::ConsumerError;

/// The queue signups arrive on.
pub const SIGNUPS: &str = "signups";
/// The queue the service records sent emails on, for the CRM. It has
/// duplicate detection on (a 10-minute window): a message whose id was seen
/// recently is accepted and dropped.
pub const EMAIL_EVENTS: &str = "email-events";

/// A user signed up: the accounts service publishes this once per user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSignedUp {
    pub user_id: String,
    pub email: String,
    pub name: String,
}

impl UserSignedUp {
    /// Reads the event from a received message.
    pub fn from_envelope(envelope: &Envelope) -> Result<UserSignedUp, ConsumerError> {
        envelope
            .body_json()
            .map_err(|error| ConsumerError::BadMessage {
                message_id: envelope.message_id().to_string(),
                reason: error.to_string(),
            })
    }

    /// The event as the accounts service sends it, with message id `id`.
    pub fn to_message(&self, id: &str) -> Message {
        let body = serde_json::to_vec(self).unwrap_or_default();
        Message::new(id, body).with_content_type("application/json")
    }
}

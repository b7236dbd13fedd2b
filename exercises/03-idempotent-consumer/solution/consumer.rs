//! The welcome-email consumer: the reference solution.
//!
//! The broker delivers at least once: a crash between the email and the
//! complete, a lost complete, a lock lost with its connection all mean the
//! same signup arrives again. We cannot stop that; we make the repeat
//! harmless. Every effect is named after the message that caused it, the
//! same name on every delivery:
//!
//! - the email carries an **idempotency key** derived from the signup's
//!   message id, so the provider sends it once however often we ask;
//! - the `WelcomeEmailSent` event gets a **deterministic message id**
//!   derived from the same, so the queue's duplicate detection drops the
//!   repeat (and the event carries its id, for consumers that keep an inbox).
//!
//! Completing stays last: completing first would trade duplicates for lost
//! emails. (An inbox table in the store would not be enough on its own here:
//! the email is not in the store's transaction, so a crash between sending
//! and recording still sends twice. The provider's key is what closes that
//! gap.)

use broker::Message;
use broker::simulation::ServiceCtx;
use serde::Serialize;

use crate::ConsumerError;
use crate::mail::{self, Email};
use crate::signup::{EMAIL_EVENTS, SIGNUPS, UserSignedUp};

/// What the CRM learns after each welcome email.
#[derive(Debug, Serialize)]
pub struct WelcomeEmailSentEvent {
    /// The same on every delivery of one signup: the message id the event is
    /// published with.
    pub event_id: String,
    pub user_id: String,
    pub sent_at: String,
}

/// The consumer loop: runs until the service crashes or an error stops it.
pub async fn run(ctx: ServiceCtx) -> Result<(), ConsumerError> {
    loop {
        let delivery = ctx.receive(SIGNUPS).await?;
        let signup = UserSignedUp::from_envelope(&delivery)?;
        // ANCHOR: solution
        // ANCHOR: solution-handler
        // The same key on every delivery of this signup: the provider sends
        // the email once, whatever happens after.
        mail::send(&ctx, &welcome_email(&signup, delivery.message_id())).await?;

        let event_id = format!("welcome-sent-{}", delivery.message_id());
        let sent = WelcomeEmailSentEvent {
            event_id: event_id.clone(),
            user_id: signup.user_id.clone(),
            sent_at: ctx.now().to_string(),
        };
        let body = serde_json::to_vec(&sent).map_err(|error| ConsumerError::BadMessage {
            message_id: delivery.message_id().to_string(),
            reason: error.to_string(),
        })?;
        // A deterministic id: a repeat is dropped by duplicate detection.
        let event = Message::new(event_id, body).with_correlation_id(delivery.message_id());
        ctx.send(EMAIL_EVENTS, event).await?;

        ctx.complete(&delivery).await?;
        // ANCHOR_END: solution-handler
        // ANCHOR_END: solution
    }
}

/// The welcome email for a signup (`signup_id` is the signup's message id).
fn welcome_email(signup: &UserSignedUp, signup_id: &str) -> Email {
    Email {
        to: signup.email.clone(),
        subject: format!("Welcome, {}!", signup.name),
        body: "Thanks for signing up.".to_string(),
        reference: signup_id.to_string(),
        idempotency_key: Some(format!("welcome-email-{signup_id}")),
    }
}

//! The welcome-email consumer. **This is the file you edit** (and the only one).
//!
//! For each `UserSignedUp` on the `signups` queue it sends a welcome email
//! through the mail provider, records a `WelcomeEmailSent` event on the
//! `email-events` queue for the CRM, and only then completes the signup, so
//! no signup is lost. Run `cargo test -p idempotent-consumer` to see what
//! happens when the broker delivers a signup twice, and
//! `cargo xtask hint idempotent-consumer` when you are stuck.
//!
//! Keep the signature of [`run`]: the scenario starts it, and restarts it
//! after every crash with a fresh context.

use broker::Message;
use broker::simulation::ServiceCtx;
use serde::Serialize;

use crate::ConsumerError;
use crate::mail::{self, Email};
use crate::signup::{EMAIL_EVENTS, SIGNUPS, UserSignedUp};

/// What the CRM learns after each welcome email.
#[derive(Debug, Serialize)]
pub struct WelcomeEmailSentEvent {
    pub user_id: String,
    pub sent_at: String,
}

/// The consumer loop: runs until the service crashes or an error stops it.
pub async fn run(ctx: ServiceCtx) -> Result<(), ConsumerError> {
    loop {
        let delivery = ctx.receive(SIGNUPS).await?;
        let signup = UserSignedUp::from_envelope(&delivery)?;
        // ANCHOR: starter
        // ANCHOR: starter-handler
        mail::send(&ctx, &welcome_email(&signup, delivery.message_id())).await?;

        let sent = WelcomeEmailSentEvent {
            user_id: signup.user_id.clone(),
            sent_at: ctx.now().to_string(),
        };
        let body = serde_json::to_vec(&sent).map_err(|error| ConsumerError::BadMessage {
            message_id: delivery.message_id().to_string(),
            reason: error.to_string(),
        })?;
        // A fresh id for every event, so no two events collide.
        let event = Message::new(format!("welcome-sent-{}", sent.sent_at), body)
            .with_correlation_id(delivery.message_id());
        ctx.send(EMAIL_EVENTS, event).await?;

        // Complete last: a crash before this line means a redelivery, not a
        // lost signup.
        ctx.complete(&delivery).await?;
        // ANCHOR_END: starter-handler
        // ANCHOR_END: starter
    }
}

/// The welcome email for a signup (`signup_id` is the signup's message id).
fn welcome_email(signup: &UserSignedUp, signup_id: &str) -> Email {
    Email {
        to: signup.email.clone(),
        subject: format!("Welcome, {}!", signup.name),
        body: "Thanks for signing up.".to_string(),
        reference: signup_id.to_string(),
        idempotency_key: None,
    }
}

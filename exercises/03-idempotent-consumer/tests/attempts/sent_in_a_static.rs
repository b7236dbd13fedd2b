//! A wrong attempt: no idempotency key, but a `static` set of the signups
//! already emailed, checked before sending. The simulation restarts the
//! service inside one process, so the set outlives every simulated crash;
//! a real crash takes it along, and the user gets the email twice.

use std::collections::BTreeSet;
use std::sync::Mutex;

use broker::Message;
use broker::simulation::ServiceCtx;
use idempotent_consumer::ConsumerError;
use idempotent_consumer::mail::{self, Email};
use idempotent_consumer::signup::{EMAIL_EVENTS, SIGNUPS, UserSignedUp};

static EMAILED: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

pub async fn run(ctx: ServiceCtx) -> Result<(), ConsumerError> {
    loop {
        let delivery = ctx.receive(SIGNUPS).await?;
        let signup = UserSignedUp::from_envelope(&delivery)?;
        let id = delivery.message_id().to_string();
        let already = EMAILED.lock().map(|set| set.contains(&id)).unwrap_or(false);
        if !already {
            let email = Email {
                to: signup.email.clone(),
                subject: format!("Welcome, {}!", signup.name),
                body: "Thanks for signing up.".to_string(),
                reference: id.clone(),
                idempotency_key: None,
            };
            mail::send(&ctx, &email).await?;
            if let Ok(mut set) = EMAILED.lock() {
                set.insert(id.clone());
            }
        }
        let event = Message::json(
            format!("welcome-sent-{id}"),
            &serde_json::json!({ "user_id": signup.user_id }),
        )
        .map_err(|error| ConsumerError::BadMessage {
            message_id: id.clone(),
            reason: error.to_string(),
        })?;
        ctx.send(EMAIL_EVENTS, event).await?;
        ctx.complete(&delivery).await?;
    }
}

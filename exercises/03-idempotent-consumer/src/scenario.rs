//! The world of the exercise, as one scenario. Do not edit.
//!
//! Three users sign up. The `signups` queue has Service Bus's defaults
//! (peek-lock, 60-second lock, ten deliveries); `email-events` detects
//! duplicate message ids within 10 minutes; the mail provider answers in
//! 200 ms. One welcome service runs [`crate::consumer::run`].

use std::time::Duration;

use broker::QueueOptions;
use broker::simulation::{DownstreamOptions, Scenario, ServiceCtx, ServiceResult};

use crate::mail::MAIL_PROVIDER;
use crate::signup::{EMAIL_EVENTS, SIGNUPS, UserSignedUp};

/// The service's name in traces.
pub const SERVICE: &str = "welcome";

/// The signups waiting when the service starts: `(message id, event)`.
pub fn signups() -> Vec<(&'static str, UserSignedUp)> {
    [("ada", "Ada"), ("grace", "Grace"), ("linus", "Linus")]
        .into_iter()
        .enumerate()
        .map(|(index, (user, name))| {
            let id: &'static str = ["signup-1", "signup-2", "signup-3"][index];
            (
                id,
                UserSignedUp {
                    user_id: user.to_string(),
                    email: format!("{user}@example.com"),
                    name: name.to_string(),
                },
            )
        })
        .collect()
}

/// The scenario the checks explore: the learner's [`crate::consumer::run`].
pub fn scenario() -> Scenario {
    scenario_running(crate::consumer::run)
}

/// The same world with another consumer in it, so the grader's own tests can
/// prove each check catches the mistake it is named after.
pub fn scenario_running<F, Fut, R>(consumer: F) -> Scenario
where
    F: Fn(ServiceCtx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = R> + 'static,
    R: ServiceResult + 'static,
{
    Scenario::new("idempotent-consumer")
        .queue(SIGNUPS, QueueOptions::default())
        .queue(
            EMAIL_EVENTS,
            QueueOptions::default().with_duplicate_detection(),
        )
        .messages(
            SIGNUPS,
            signups().iter().map(|(id, signup)| signup.to_message(id)),
        )
        .downstream(
            MAIL_PROVIDER,
            DownstreamOptions::default().with_latency(Duration::from_millis(200)),
        )
        .service(SERVICE, consumer)
        .run_for(Duration::from_secs(20 * 60))
}

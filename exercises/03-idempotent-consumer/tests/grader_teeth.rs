//! The grader's own tests, not the learner's: each check the shipped
//! starter already passes must still catch the mistake it is named after.
//! `lost-email` guards the over-correction of this exercise: a learner who
//! stops the duplicates by completing the signup before sending the email
//! has made the email at-most-once, and a crash in between loses it.
//! (`cargo xtask verify` proves the checks the starter fails.)

use broker::simulation::ServiceCtx;
use idempotent_consumer::ConsumerError;
use idempotent_consumer::mail::{self, Email};
use idempotent_consumer::rubric;
use idempotent_consumer::scenario::scenario_running;
use idempotent_consumer::signup::{SIGNUPS, UserSignedUp};

/// Completes the signup first, then sends the email with an idempotency
/// key: no duplicate can reach an inbox, and no retry is left either.
async fn completes_before_sending(ctx: ServiceCtx) -> Result<(), ConsumerError> {
    loop {
        let delivery = ctx.receive(SIGNUPS).await?;
        let signup = UserSignedUp::from_envelope(&delivery)?;
        ctx.complete(&delivery).await?;
        let email = Email {
            to: signup.email.clone(),
            subject: format!("Welcome, {}!", signup.name),
            body: "Thanks for signing up.".to_string(),
            reference: delivery.message_id().to_string(),
            idempotency_key: Some(format!("welcome-email-{}", delivery.message_id())),
        };
        mail::send(&ctx, &email).await?;
    }
}

#[test]
fn lost_email_catches_a_consumer_that_completes_before_sending() {
    // No replay and no report file: this run must not stand in for the
    // learner's grade.
    let report = rubric::lost_email()
        .scenario(scenario_running(completes_before_sending))
        .run_with(None, None);
    assert!(
        !report.passed,
        "lost-email passed a consumer that completes first:\n{}",
        report.text
    );
    assert!(report.text.contains("lost-email"), "{}", report.text);
}

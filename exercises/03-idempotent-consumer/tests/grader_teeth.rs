//! The grader's own tests, not the learner's: each check must fail the
//! plausible wrong attempts at this exercise (the over-correction, the
//! half-fix, the fix that only works without faults, state that survives a
//! simulated crash only, a duplicate hidden behind a label) and pass right
//! attempts written differently from the reference solution. (`cargo xtask
//! verify` proves the checks the shipped starter fails, and that the
//! solution passes.)

use broker::grading::{Check, CheckReport};
use broker::simulation::{Scenario, ServiceCtx};
use broker::{Delivery, Message};
use idempotent_consumer::ConsumerError;
use idempotent_consumer::mail::{self, Email, MailError};
use idempotent_consumer::rubric;
use idempotent_consumer::scenario::scenario_running;
use idempotent_consumer::signup::{EMAIL_EVENTS, SIGNUPS, UserSignedUp};

#[path = "attempts/sent_in_a_static.rs"]
mod sent_in_a_static;

/// Runs a check against another consumer, with no replay and no report
/// file: these runs must never stand in for the learner's grade.
fn run(check: Check, scenario: Scenario) -> CheckReport {
    check.scenario(scenario).run_with(None, None)
}

fn failed(report: &CheckReport, why: &str) {
    assert!(
        !report.passed,
        "{} passed {why}:\n{}",
        report.check, report.text
    );
}

fn passed(report: &CheckReport) {
    assert!(report.passed, "{}", report.text);
}

/// The welcome email, with the label and key given.
fn email(signup: &UserSignedUp, reference: String, key: Option<String>) -> Email {
    Email {
        to: signup.email.clone(),
        subject: format!("Welcome, {}!", signup.name),
        body: "Thanks for signing up.".to_string(),
        reference,
        idempotency_key: key,
    }
}

/// The `WelcomeEmailSent` event as JSON, with the message id given.
fn event(delivery: &Delivery, signup: &UserSignedUp, id: String) -> Result<Message, ConsumerError> {
    Message::json(
        id.clone(),
        &serde_json::json!({ "event_id": id, "user_id": signup.user_id }),
    )
    .map_err(|error| ConsumerError::BadMessage {
        message_id: delivery.message_id().to_string(),
        reason: error.to_string(),
    })
}

/// Completes the signup first, then sends the email with an idempotency
/// key: no duplicate can reach an inbox, and no retry is left either.
async fn completes_before_sending(ctx: ServiceCtx) -> Result<(), ConsumerError> {
    loop {
        let delivery = ctx.receive(SIGNUPS).await?;
        let signup = UserSignedUp::from_envelope(&delivery)?;
        ctx.complete(&delivery).await?;
        let id = delivery.message_id();
        mail::send(
            &ctx,
            &email(&signup, id.to_string(), Some(format!("welcome-email-{id}"))),
        )
        .await?;
        ctx.send(
            EMAIL_EVENTS,
            event(&delivery, &signup, format!("welcome-sent-{id}"))?,
        )
        .await?;
    }
}

#[test]
fn lost_email_catches_a_consumer_that_completes_before_sending() {
    let report = run(
        rubric::lost_email(),
        scenario_running(completes_before_sending),
    );
    failed(&report, "a consumer that completes first");
    assert!(report.text.contains("lost-email"), "{}", report.text);
}

/// No idempotency key, and a new label on every attempt: each delivery
/// sends the email again, under another reference.
async fn new_label_every_time(ctx: ServiceCtx) -> Result<(), ConsumerError> {
    loop {
        let delivery = ctx.receive(SIGNUPS).await?;
        let signup = UserSignedUp::from_envelope(&delivery)?;
        let id = delivery.message_id();
        let label = format!("{id}-attempt-{}", delivery.delivery_count);
        mail::send(&ctx, &email(&signup, label, None)).await?;
        ctx.send(
            EMAIL_EVENTS,
            event(&delivery, &signup, format!("welcome-sent-{id}"))?,
        )
        .await?;
        ctx.complete(&delivery).await?;
    }
}

#[test]
fn a_duplicate_email_is_found_whatever_its_label_and_never_called_lost() {
    let report = run(
        rubric::duplicate_side_effect(),
        scenario_running(new_label_every_time),
    );
    failed(&report, "a user emailed twice under two labels");
    assert!(
        report.text.contains("received the welcome email 2 times"),
        "{}",
        report.text
    );
    let report = run(rubric::lost_email(), scenario_running(new_label_every_time));
    passed(&report);
    assert!(!report.text.contains("never received"), "{}", report.text);
}

/// The email is keyed right, but each event gets a new message id and no
/// correlation id: duplicate detection cannot drop the repeat, and a count
/// by correlation id cannot see it.
async fn events_without_a_correlation_id(ctx: ServiceCtx) -> Result<(), ConsumerError> {
    loop {
        let delivery = ctx.receive(SIGNUPS).await?;
        let signup = UserSignedUp::from_envelope(&delivery)?;
        let id = delivery.message_id();
        mail::send(
            &ctx,
            &email(&signup, id.to_string(), Some(format!("welcome-email-{id}"))),
        )
        .await?;
        let fresh = format!("crm-event-{}", ctx.now());
        ctx.send(EMAIL_EVENTS, event(&delivery, &signup, fresh)?)
            .await?;
        ctx.complete(&delivery).await?;
    }
}

#[test]
fn duplicate_events_are_counted_by_what_they_say_not_by_their_correlation_id() {
    let report = run(
        rubric::duplicate_side_effect(),
        scenario_running(events_without_a_correlation_id),
    );
    failed(
        &report,
        "two WelcomeEmailSent events for one signup, with no correlation id",
    );
    assert!(
        report.text.contains("WelcomeEmailSent events for `signup-"),
        "{}",
        report.text
    );
}

/// The over-correction of the events: publish none, so none is ever
/// duplicated.
async fn publishes_no_event(ctx: ServiceCtx) -> Result<(), ConsumerError> {
    loop {
        let delivery = ctx.receive(SIGNUPS).await?;
        let signup = UserSignedUp::from_envelope(&delivery)?;
        let id = delivery.message_id();
        mail::send(
            &ctx,
            &email(&signup, id.to_string(), Some(format!("welcome-email-{id}"))),
        )
        .await?;
        ctx.complete(&delivery).await?;
    }
}

#[test]
fn a_consumer_that_publishes_no_event_fails() {
    let report = run(rubric::lost_email(), scenario_running(publishes_no_event));
    failed(&report, "a consumer that never tells the CRM");
    assert!(
        report
            .text
            .contains("never accepted a WelcomeEmailSent event for `signup-1`"),
        "{}",
        report.text
    );
    assert!(
        report.text.contains("It fails in the run without faults"),
        "{}",
        report.text
    );
}

/// Keys the email by the attempt: when the provider's reply is lost, it
/// takes the email for unsent and asks again as a new request. Right under
/// every crash; wrong as soon as a reply is lost.
async fn retries_a_timeout_as_a_new_request(ctx: ServiceCtx) -> Result<(), ConsumerError> {
    loop {
        let delivery = ctx.receive(SIGNUPS).await?;
        let signup = UserSignedUp::from_envelope(&delivery)?;
        let id = delivery.message_id().to_string();
        let mut attempt = 0;
        loop {
            let key = format!("welcome-email-{id}-{attempt}");
            match mail::send(&ctx, &email(&signup, id.clone(), Some(key))).await {
                Ok(()) => break,
                Err(MailError::Timeout) | Err(MailError::Unavailable) if attempt < 3 => {
                    attempt += 1;
                }
                Err(error) => return Err(error.into()),
            }
        }
        ctx.send(
            EMAIL_EVENTS,
            event(&delivery, &signup, format!("welcome-sent-{id}"))?,
        )
        .await?;
        ctx.complete(&delivery).await?;
    }
}

#[test]
fn duplicate_side_effect_catches_a_fix_that_only_works_without_lost_replies() {
    let report = run(
        rubric::duplicate_side_effect(),
        scenario_running(retries_a_timeout_as_a_new_request),
    );
    failed(
        &report,
        "a new idempotency key for a retry after a lost reply",
    );
    assert!(report.text.contains("lost-response"), "{}", report.text);
}

#[test]
fn every_check_fails_a_consumer_that_keeps_what_it_sent_in_a_static() {
    let source = include_str!("attempts/sent_in_a_static.rs");
    for check in [rubric::duplicate_side_effect(), rubric::lost_email()] {
        let report = run(
            check.learner_file("src/consumer.rs", source),
            scenario_running(sent_in_a_static::run),
        );
        failed(&report, "a consumer with a static");
        assert!(
            report.text.contains(
                "This state lives outside the service and would be lost in a real crash: keep \
                 it in the store"
            ),
            "{}",
            report.text
        );
        assert!(report.text.contains("static EMAILED"), "{}", report.text);
    }
}

/// Right, and unlike the reference: the provider's label is the user's
/// address, the key and the event's id are built from the user's id (one
/// signup per user), and the event carries no correlation id.
async fn keyed_by_user(ctx: ServiceCtx) -> Result<(), ConsumerError> {
    loop {
        let delivery = ctx.receive(SIGNUPS).await?;
        let signup = UserSignedUp::from_envelope(&delivery)?;
        let user = signup.user_id.clone();
        let key = Some(format!("welcome/{user}"));
        mail::send(&ctx, &email(&signup, signup.email.clone(), key)).await?;
        ctx.send(
            EMAIL_EVENTS,
            event(&delivery, &signup, format!("welcome-email-sent/{user}"))?,
        )
        .await?;
        ctx.complete(&delivery).await?;
    }
}

#[test]
fn every_check_passes_a_right_consumer_that_labels_and_keys_differently() {
    for check in [rubric::duplicate_side_effect(), rubric::lost_email()] {
        passed(&run(check, scenario_running(keyed_by_user)));
    }
}

/// Right too: the event names its user by address, in a field of its own
/// naming, under an opaque id that is the same on every delivery (neither
/// the signup's nor the user's id appears in it), with no correlation id.
async fn opaque_event_ids(ctx: ServiceCtx) -> Result<(), ConsumerError> {
    loop {
        let delivery = ctx.receive(SIGNUPS).await?;
        let signup = UserSignedUp::from_envelope(&delivery)?;
        let id = delivery.message_id().to_string();
        let key = Some(format!("welcome-email-{id}"));
        mail::send(&ctx, &email(&signup, id.clone(), key)).await?;
        let opaque: u32 = id.bytes().map(u32::from).sum();
        let event = Message::json(
            format!("evt-{opaque}"),
            &serde_json::json!({ "recipient": signup.email }),
        )
        .map_err(|error| ConsumerError::BadMessage {
            message_id: id.clone(),
            reason: error.to_string(),
        })?;
        ctx.send(EMAIL_EVENTS, event).await?;
        ctx.complete(&delivery).await?;
    }
}

#[test]
fn every_check_passes_a_right_consumer_whose_events_name_the_user_their_own_way() {
    for check in [rubric::duplicate_side_effect(), rubric::lost_email()] {
        passed(&run(check, scenario_running(opaque_event_ids)));
    }
}

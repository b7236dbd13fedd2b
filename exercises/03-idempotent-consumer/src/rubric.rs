//! The rubric: the graded checks of `idempotent-consumer` and what each is
//! worth. Do not edit: this is the grader. `tests/checks.rs` runs each check
//! as one `#[test]`; the book's failure figure is drawn from
//! [`duplicate_side_effect`].

use std::collections::BTreeMap;

use broker::fault::FaultKind;
use broker::grading::{Check, Violation};
use broker::simulation::{Exploration, Run};

use crate::mail;
use crate::scenario::signups;
use crate::signup::EMAIL_EVENTS;

/// Each user gets one welcome email and the CRM hears of it once, at every
/// crash point and under 20 random plans of lost replies, duplicate
/// deliveries, crashes, delays and outages.
pub fn duplicate_side_effect() -> Check {
    Check::new("duplicate-side-effect", 15)
        .scenario(crate::scenario::scenario())
        .exploration(
            Exploration::default()
                .with_random_plans(random_plans())
                .with_fault_kinds(&[
                    FaultKind::CrashBefore,
                    FaultKind::CrashAfter,
                    FaultKind::LostResponse,
                    FaultKind::DuplicateDelivery,
                    FaultKind::Unavailable,
                    FaultKind::Delay,
                ]),
        )
        .invariant(one_email_per_signup)
        .invariant(one_event_per_signup)
}

/// No signup goes without its welcome email, whatever happens.
pub fn lost_email() -> Check {
    Check::new("lost-email", 10)
        .scenario(crate::scenario::scenario())
        .exploration(Exploration::default().with_random_plans(random_plans()))
        .invariant(every_signup_emailed)
}

/// Emails that reached an inbox, per signup (the email's reference).
fn emails_per_signup(run: &Run) -> BTreeMap<String, Vec<mail::Delivered>> {
    let mut per_signup: BTreeMap<String, Vec<mail::Delivered>> = BTreeMap::new();
    for delivered in mail::delivered(run) {
        per_signup
            .entry(delivered.email.reference.clone())
            .or_default()
            .push(delivered);
    }
    per_signup
}

/// `duplicate-side-effect`: a user got the welcome email twice.
fn one_email_per_signup(run: &Run) -> Result<(), Violation> {
    for (signup, emails) in emails_per_signup(run) {
        if emails.len() > 1 {
            let times: Vec<String> = emails
                .iter()
                .map(|email| broker::clock::format_offset(email.at))
                .collect();
            return Err(Violation::for_message(
                signup.clone(),
                format!(
                    "{} received the welcome email {} times (at {}): `{signup}` was delivered \
                     again and the email went out again",
                    emails[0].email.to,
                    emails.len(),
                    times.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// `duplicate-side-effect`: the CRM was told twice about one email.
fn one_event_per_signup(run: &Run) -> Result<(), Violation> {
    for (signup, _) in signups() {
        let events = run.published_count(EMAIL_EVENTS, signup);
        if events > 1 {
            return Err(Violation::for_message(
                signup,
                format!(
                    "`{EMAIL_EVENTS}` accepted {events} WelcomeEmailSent events for `{signup}`: \
                     each redelivery published one with a new message id, so duplicate \
                     detection could not tell they were the same"
                ),
            ));
        }
    }
    Ok(())
}

/// `lost-email`: a signup that never got its email.
fn every_signup_emailed(run: &Run) -> Result<(), Violation> {
    let emailed = emails_per_signup(run);
    for (signup, user) in signups() {
        if !emailed.contains_key(signup) {
            return Err(Violation::for_message(
                signup,
                format!(
                    "{} never received the welcome email for `{signup}`: the signup was settled \
                     or is stuck, but no email went out",
                    user.email
                ),
            ));
        }
    }
    Ok(())
}

/// How many random fault plans the checks that use them explore: 20, or
/// `EDA_RANDOM_PLANS` (`cargo xtask verify` asks for many more, to prove the
/// solution on many more seeds than a learner waits for).
fn random_plans() -> u64 {
    std::env::var("EDA_RANDOM_PLANS")
        .ok()
        .and_then(|plans| plans.parse().ok())
        .unwrap_or(20)
}

//! The rubric: the graded checks of `idempotent-consumer` and what each is
//! worth. Do not edit: this is the grader. `tests/checks.rs` runs each check
//! as one `#[test]`; the book's failure figure is drawn from
//! [`duplicate_side_effect`].

use std::collections::BTreeMap;

use broker::grading::{Check, Violation};
use broker::simulation::Run;

use crate::mail;
use crate::scenario::signups;
use crate::signup::{EMAIL_EVENTS, UserSignedUp};

/// The file the learner edits, as the grader reads it for state kept
/// outside the service (see [`Check::learner_file`]).
const LEARNER_FILE: &str = "src/consumer.rs";
#[cfg(not(feature = "solution"))]
const LEARNER_SOURCE: &str = include_str!("consumer.rs");
#[cfg(feature = "solution")]
const LEARNER_SOURCE: &str = include_str!("../solution/consumer.rs");

/// A check of this exercise: it reads the learner's file first, then
/// explores the run without faults, every crash point, every fault point
/// and the seeded random fault plans (`EDA_SEEDS` of them, 500 by default).
fn check(name: &str, points: u32) -> Check {
    Check::new(name, points)
        .learner_file(LEARNER_FILE, LEARNER_SOURCE)
        .scenario(crate::scenario::scenario())
}

/// Each user gets one welcome email and the CRM hears of it once, whatever
/// crashes or fails: lost replies, duplicate deliveries, unavailability,
/// delays, outages.
pub fn duplicate_side_effect() -> Check {
    check("duplicate-side-effect", 15)
        .invariant(one_email_per_user)
        .invariant(one_event_per_signup)
}

/// No signup goes without its welcome email, nor the CRM without its
/// `WelcomeEmailSent` event, whatever happens.
pub fn lost_email() -> Check {
    check("lost-email", 10)
        .invariant(every_user_emailed)
        .invariant(every_signup_recorded)
}

/// Emails that reached an inbox, per recipient. Not per `reference`: the
/// provider calls that field your label in its logs, and a label can be
/// anything (the same on every attempt, or a new one each time); what a
/// user sees is the emails in their inbox. Every email of this scenario is
/// a welcome email and each user signs up once, so two emails to one
/// address are a duplicate whatever their content.
fn emails_per_user(run: &Run) -> BTreeMap<String, Vec<mail::Delivered>> {
    let mut per_user: BTreeMap<String, Vec<mail::Delivered>> = BTreeMap::new();
    for delivered in mail::delivered(run) {
        per_user
            .entry(delivered.email.to.clone())
            .or_default()
            .push(delivered);
    }
    per_user
}

/// `duplicate-side-effect`: a user got the welcome email twice.
fn one_email_per_user(run: &Run) -> Result<(), Violation> {
    for (signup, user) in signups() {
        let emails = emails_per_user(run).remove(&user.email).unwrap_or_default();
        if emails.len() > 1 {
            let times: Vec<String> = emails
                .iter()
                .map(|email| broker::clock::format_offset(email.at))
                .collect();
            return Err(Violation::for_message(
                signup,
                format!(
                    "{} received the welcome email {} times (at {}): `{signup}` was delivered \
                     again and the email went out again",
                    user.email,
                    emails.len(),
                    times.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// The `WelcomeEmailSent` events `email-events` accepted, per signup, by
/// what they say rather than how they are labelled: an event is about the
/// signup whose user it names in its body (any field holding the user's
/// id, address or signup id: the CRM reads `user_id`), or failing that the
/// signup its correlation id or message id names. Events that name no
/// signup are listed apart.
struct EventsBySignup {
    per_signup: BTreeMap<&'static str, Vec<String>>,
    unattributed: Vec<String>,
}

fn events_by_signup(run: &Run) -> EventsBySignup {
    let users = signups();
    let mut per_signup: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    let mut unattributed = Vec::new();
    for envelope in run.remaining(EMAIL_EVENTS) {
        let mut said = Vec::new();
        if let Ok(body) = envelope.body_json::<serde_json::Value>() {
            strings_in(&body, &mut said);
        }
        let named = |(signup, user): &&(&'static str, UserSignedUp)| {
            said.iter()
                .any(|text| text == &user.user_id || text == &user.email || text == signup)
        };
        let labelled = |(signup, user): &&(&'static str, UserSignedUp)| {
            envelope.correlation_id() == Some(signup)
                || envelope.message_id().contains(signup)
                || envelope.message_id().contains(user.user_id.as_str())
        };
        match users
            .iter()
            .find(named)
            .or_else(|| users.iter().find(labelled))
        {
            Some((signup, _)) => per_signup
                .entry(signup)
                .or_default()
                .push(envelope.message_id().to_string()),
            None => unattributed.push(envelope.message_id().to_string()),
        }
    }
    EventsBySignup {
        per_signup,
        unattributed,
    }
}

/// Every string in a JSON value, however deep.
fn strings_in(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::String(text) => out.push(text.clone()),
        serde_json::Value::Array(items) => items.iter().for_each(|item| strings_in(item, out)),
        serde_json::Value::Object(fields) => fields.values().for_each(|item| strings_in(item, out)),
        _ => {}
    }
}

/// `duplicate-side-effect`: the CRM was told twice about one email.
fn one_event_per_signup(run: &Run) -> Result<(), Violation> {
    let events = events_by_signup(run);
    for (signup, ids) in &events.per_signup {
        if ids.len() > 1 {
            return Err(Violation::for_message(
                *signup,
                format!(
                    "`{EMAIL_EVENTS}` accepted {} WelcomeEmailSent events for `{signup}` ({}): \
                     each redelivery published one with a new message id, so duplicate \
                     detection could not tell they were the same",
                    ids.len(),
                    ids.iter()
                        .map(|id| format!("`{id}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// `lost-email`: a signup whose user never got a welcome email.
fn every_user_emailed(run: &Run) -> Result<(), Violation> {
    let emailed = emails_per_user(run);
    for (signup, user) in signups() {
        if !emailed.contains_key(&user.email) {
            return Err(Violation::for_message(
                signup,
                format!(
                    "{} never received a welcome email for `{signup}`: the signup was settled \
                     or is stuck, but no email went out",
                    user.email
                ),
            ));
        }
    }
    Ok(())
}

/// `lost-email`: the CRM never heard of a signup's email (publishing no
/// event at all stops every duplicate event, and tells the CRM nothing).
fn every_signup_recorded(run: &Run) -> Result<(), Violation> {
    let events = events_by_signup(run);
    for (signup, user) in signups() {
        if events.per_signup.contains_key(signup) {
            continue;
        }
        let unattributed = if events.unattributed.is_empty() {
            String::new()
        } else {
            format!(
                " (it holds {} that name no signup: {}; the CRM reads `user_id` from the event)",
                if events.unattributed.len() == 1 {
                    "one event".to_owned()
                } else {
                    format!("{} events", events.unattributed.len())
                },
                events
                    .unattributed
                    .iter()
                    .map(|id| format!("`{id}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        return Err(Violation::for_message(
            signup,
            format!(
                "`{EMAIL_EVENTS}` never accepted a WelcomeEmailSent event for `{signup}` (user \
                 `{}`){unattributed}: the CRM never hears that the welcome email went out",
                user.user_id
            ),
        ));
    }
    Ok(())
}

//! The mail provider: its client, and the provider itself as the graders
//! model it. Do not edit.
//!
//! This provider takes an optional **idempotency key** with each request, as
//! some real transactional email APIs do (Resend remembers a key for 24
//! hours, Nylas for one hour, Brevo for 15 minutes) and others do not (Amazon
//! SES's `SendEmail` has no such parameter; chapter 4 says what you can do
//! then). A request whose key it has seen before is answered with success and
//! *not* sent again; a request without a key is always sent. Unlike the real
//! ones, this provider remembers keys for the whole run. Every request also
//! carries a `reference`, your label
//! for the email in the provider's logs: it is only a label, the provider
//! does not deduplicate on it.
//!
//! Sending an email is a side effect that cannot be rolled back: no
//! transaction spans the provider and the broker. A reply can be lost after
//! the email went out ([`MailError::Timeout`]): the Two Generals problem, in
//! your inbox.

use broker::simulation::{DownstreamCall, DownstreamError, Run, ServiceCtx};
use serde::{Deserialize, Serialize};

/// The provider's name in traces (a downstream system of the scenario).
pub const MAIL_PROVIDER: &str = "mail-provider";

/// One email to send.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub body: String,
    /// Your label for this email in the provider's logs (shown in traces).
    pub reference: String,
    /// When set, the provider sends at most one email per key: a repeated
    /// request with the same key is acknowledged and dropped.
    pub idempotency_key: Option<String>,
}

/// Why a send failed.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The provider could not be reached: nothing was sent.
    #[error("the mail provider is unavailable: nothing was sent")]
    Unavailable,
    /// No answer in time: the email may or may not have gone out.
    #[error("the mail provider did not answer: the email may or may not have been sent")]
    Timeout,
}

impl From<DownstreamError> for MailError {
    fn from(error: DownstreamError) -> MailError {
        match error {
            DownstreamError::Unavailable { .. } => MailError::Unavailable,
            DownstreamError::Timeout { .. } => MailError::Timeout,
        }
    }
}

/// Sends an email through the provider.
pub async fn send(ctx: &ServiceCtx, email: &Email) -> Result<(), MailError> {
    // The request as the provider receives it; the graders read it back.
    let request = serde_json::to_string(email).unwrap_or_default();
    ctx.call_downstream(MAIL_PROVIDER, &email.reference, request)
        .await
        .map_err(MailError::from)
}

/// An email that reached someone's inbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivered {
    pub email: Email,
    /// When the provider sent it (virtual time since the run began).
    pub at: std::time::Duration,
}

/// What the provider actually sent in a run: every request that reached it,
/// in order, minus the repeats of an idempotency key it had already seen.
pub fn delivered(run: &Run) -> Vec<Delivered> {
    let mut seen_keys = std::collections::BTreeSet::new();
    run.calls_to(MAIL_PROVIDER)
        .into_iter()
        .filter_map(|call: &DownstreamCall| {
            let email: Email = serde_json::from_str(&call.detail).ok()?;
            match &email.idempotency_key {
                Some(key) if !seen_keys.insert(key.clone()) => None,
                _ => Some(Delivered { email, at: call.at }),
            }
        })
        .collect()
}

//! Downstream systems: the things a service calls that are not the broker
//! and not its database, and cannot be rolled back. An email provider, a
//! payment API, a warehouse's HTTP endpoint.
//!
//! They matter for two lessons. A side effect you cannot undo is what makes a
//! duplicate delivery hurt (chapter 4: the speaker's team sent a few too many
//! emails), and a downstream outage is what turns every message into a dead
//! letter (chapter 9: the kill switch). So every call is recorded, and a
//! scenario can take a system down for a window of virtual time.

use std::sync::Arc;
use std::time::Duration;

/// How a downstream system behaves in a scenario.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DownstreamOptions {
    /// How long each call takes (virtual time).
    pub latency: Duration,
    /// Windows `(start, length)`, from the start of the run, during which
    /// every call fails with [`DownstreamError::Unavailable`].
    pub outages: Vec<(Duration, Duration)>,
}

impl DownstreamOptions {
    /// Sets the latency of every call.
    pub fn with_latency(mut self, latency: Duration) -> DownstreamOptions {
        self.latency = latency;
        self
    }

    /// Adds an outage from `start` (since the run began) lasting `length`.
    pub fn with_outage(mut self, start: Duration, length: Duration) -> DownstreamOptions {
        self.outages.push((start, length));
        self
    }
}

/// A call that reached a downstream system: its effect happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DownstreamCall {
    /// Virtual time of the call, since the run began.
    pub at: Duration,
    /// The service that made it.
    pub actor: Arc<str>,
    /// The system called.
    pub system: Arc<str>,
    /// The caller's key for the effect (an email's message id, an idempotency
    /// key): graders count effects per key.
    pub key: Arc<str>,
    /// Whatever the caller wants to record (the email's text, the amount).
    pub detail: String,
}

/// Why a downstream call failed.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum DownstreamError {
    /// The system is down: the call had no effect.
    #[error("downstream system `{system}` is unavailable")]
    Unavailable {
        /// The system.
        system: String,
    },
    /// The call timed out: its effect may or may not have happened.
    #[error("call to `{system}` timed out: it may or may not have been carried out")]
    Timeout {
        /// The system.
        system: String,
    },
}

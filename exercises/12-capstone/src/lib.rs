//! # Exercise `capstone` (chapter 12: you built your own framework)
//!
//! **You edit one file: `src/runtime.rs`.** Everything else in this crate
//! is the world your runtime lives in; do not edit it.
//!
//! The story: the payments team found the messaging frameworks heavy, so
//! they wrote their own consumer runtime, a hundred lines around the
//! broker's client. It takes `PaymentRequested` messages, charges the card
//! at the card gateway, records the payment in the database and announces
//! it with a `PaymentCaptured` event. It has worked in every demo. It has
//! four of the mistakes this course is about, and the grader finds each one
//! with the check of the chapter that taught it.
//!
//! - [`runtime`]: **your file**: `run` (the consumer) and `relay` (a second
//!   service, idle in the starter), and the event the runtime publishes.
//! - [`payments`]: the request, the card gateway and the tables.
//! - [`scenario`]: two days of the service as
//!   [`broker::simulation::Scenario`]s: a quiet morning with crashes, and an
//!   afternoon when the card gateway is down for twenty minutes.
//! - [`rubric`]: the graded checks and their points.
//! - [`RuntimeError`]: what handling one payment can fail with.
//!
//! `tests/checks.rs` runs the rubric, one `#[test]` per anomaly:
//! `lost_message`, `duplicate_side_effect`, `lost_event`, `poison_storm`,
//! `no_resume`. `cargo xtask grade capstone` also runs eda-lint on your
//! file: the exercise is done when every check passes and eda-lint reports
//! nothing.

// The reference solution replaces your file when the `solution` feature is
// on (`cargo test -p capstone --features solution`).
pub mod payments;
pub mod rubric;
#[cfg_attr(feature = "solution", path = "../solution/runtime.rs")]
pub mod runtime;
pub mod scenario;

use payments::GatewayError;

/// Why one payment could not be handled. What the runtime does with the
/// request then is its own policy: dead-letter it, hand it back, pause.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The broker refused or failed an operation.
    #[error(transparent)]
    Broker(#[from] broker::BrokerError),
    /// A store statement or commit failed (after a lost reply the commit
    /// may have happened all the same).
    #[error(transparent)]
    Store(#[from] broker::store::StoreError),
    /// The card gateway failed: down, or no answer in time.
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    /// The message is not a payment request, or a row or event cannot be
    /// read or written as JSON. Trying again cannot help.
    #[error("`{key}` cannot be read or written: {reason}")]
    Malformed {
        /// The message's id or the row's key.
        key: String,
        /// What was wrong with it.
        reason: String,
    },
}

impl RuntimeError {
    /// A short reason code for a dead letter: what a dead-letter queue's
    /// tooling groups by.
    pub fn reason(&self) -> &'static str {
        match self {
            RuntimeError::Broker(_) => "BrokerFailed",
            RuntimeError::Store(_) => "StoreFailed",
            RuntimeError::Gateway(_) => "GatewayFailed",
            RuntimeError::Malformed { .. } => "Malformed",
        }
    }
}

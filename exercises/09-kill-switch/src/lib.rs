//! # Exercise `kill-switch` (chapter 9: no kill switch)
//!
//! **You edit one file: `src/consumer.rs`.** Everything else in this crate
//! is the world your consumer lives in; do not edit it.
//!
//! The story: the shop's shipping service books a courier for every order.
//! It takes `ShipmentRequested` messages from the `shipment-requests` queue
//! and calls the carrier's API for each. When a call fails, it dead-letters
//! the message. One night the carrier's API is down for six hours, and by
//! morning every order of the night is in the dead-letter queue. The grader
//! plays that night in virtual time, in well under a second.
//!
//! - [`consumer`]: **your file**: `consume`, the consumer's whole loop.
//! - [`shipping`]: the message, the carrier's API and the call to it.
//! - [`scenario`]: the night: the orders as they arrive, the outage, your
//!   consumer, as one [`broker::simulation::Scenario`].
//! - [`rubric`]: the graded checks and their points.
//! - [`ShipError`]: why one shipment could not be booked.
//!
//! `tests/checks.rs` runs the rubric, one `#[test]` per anomaly:
//! `poison_storm`, `no_pause`, `no_resume`, `lost_message`,
//! `poison_swallowed`.

// The reference solution replaces your file when the `solution` feature is
// on (`cargo test -p kill-switch --features solution`).
#[cfg_attr(feature = "solution", path = "../solution/consumer.rs")]
pub mod consumer;
pub mod rubric;
pub mod scenario;
pub mod shipping;

/// Why a shipment could not be booked. The two kinds call for opposite
/// answers: a bad message will never succeed, however often it is tried; a
/// sick carrier will, once it is back.
#[derive(Debug, thiserror::Error)]
pub enum ShipError {
    /// The message is not a shipment request: its body is not the JSON of
    /// one. Trying it again cannot help; the producer has to fix it.
    #[error("`{message_id}` is not a shipment request: {reason}")]
    Malformed {
        /// The message's id.
        message_id: String,
        /// What was wrong with it.
        reason: String,
    },
    /// The carrier's API failed: it is down, or the call timed out. The same
    /// request may well succeed later.
    #[error(transparent)]
    Carrier(#[from] broker::simulation::DownstreamError),
}

impl ShipError {
    /// A short reason code for a dead letter (`Malformed`, `CarrierFailed`):
    /// what a dead-letter queue's tooling groups by.
    pub fn reason(&self) -> &'static str {
        match self {
            ShipError::Malformed { .. } => "Malformed",
            ShipError::Carrier(_) => "CarrierFailed",
        }
    }
}

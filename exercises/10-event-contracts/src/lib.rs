//! # Exercise `event-contracts` (chapter 10: you accepted bad event formats)
//!
//! **You edit one file: `src/intake.rs`.** Everything else in this crate is
//! the world your service lives in; do not edit it.
//!
//! The story: the checkout team publishes an `OrderPlaced` event for every
//! order, and the shipping service (yours) turns each one into a shipment.
//! The shipping service was written to be forgiving: a missing id, a
//! timestamp without a zone, a total sent only as a header, an address
//! still to come, it takes them all and ships something. The checkout team
//! never hears that its events are broken, and warehouse staff pack parcels
//! for the wrong amount, to nowhere, at the wrong hour.
//!
//! - [`intake`]: **your file**: `handle`, one delivery of an event.
//! - [`shipping`]: the contract as the checkout team documents it, the
//!   `shipments` table and the queue.
//! - [`scenario`]: the events waiting on the queue, good and bad, as one
//!   [`broker::simulation::Scenario`] the checks explore.
//! - [`rubric`]: the graded checks and their points.
//! - [`IntakeError`]: what handling an event can fail with.
//!
//! `tests/checks.rs` runs the rubric, one `#[test]` per anomaly:
//! `accepted_bad_event`, `rejected_good_event`, `silent_rejection`.

// The reference solution replaces your file when the `solution` feature is
// on (`cargo test -p event-contracts --features solution`).
#[cfg_attr(feature = "solution", path = "../solution/intake.rs")]
pub mod intake;
pub mod rubric;
pub mod scenario;
pub mod shipping;

/// Why an event could not be handled this time; the service then gives it
/// back to the broker (`abandon`), which delivers it again, and moves it to
/// the dead-letter queue after ten deliveries, with the reason
/// `MaxDeliveryCountExceeded`.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// A store statement or commit failed.
    #[error(transparent)]
    Store(#[from] broker::store::StoreError),
    /// The broker refused a settlement (a lock lost, an outage).
    #[error(transparent)]
    Broker(#[from] broker::BrokerError),
    /// The event cannot be handled, for a reason the consumer could not
    /// put into words.
    #[error("`{message_id}` cannot be handled: {reason}")]
    Unusable {
        /// The message.
        message_id: String,
        /// What was wrong.
        reason: String,
    },
}

//! # Exercise `auto-commit` (chapter 3: you did not read the configuration)
//!
//! **You edit one file: `src/consumer.rs`.** Everything else in this crate is
//! the world your consumer lives in; do not edit it (the graders depend on
//! it, and `cargo xtask verify` compares it with the shipped version).
//!
//! The story: a shop's *pricing* service reads orders from the `orders`
//! topic with a Kafka consumer built the way the getting-started guides
//! build one, prices each order and publishes an invoice to the `invoices`
//! queue. It keeps librdkafka's defaults, and one of them commits offsets
//! on a timer. The graders crash the service at every one of its crash
//! points and find out what that costs.
//!
//! - [`consumer`]: **your file**: the consumer loop.
//! - [`order`]: orders, invoices and the pricing engine.
//! - [`scenario`]: the topic, the six orders and the service, as one
//!   [`broker::simulation::Scenario`] the checks explore.
//! - [`rubric`]: the graded checks and their points.
//! - [`ConsumerError`]: what the consumer can fail with.
//!
//! `tests/checks.rs` runs the rubric's checks, one `#[test]` per anomaly:
//! `lost_message` and `unsettled_message`. Run them with
//! `cargo test -p auto-commit`.

// The reference solution replaces your file when the `solution` feature is
// on (`cargo test -p auto-commit --features solution`); otherwise this is
// your `src/consumer.rs`.
#[cfg_attr(feature = "solution", path = "../solution/consumer.rs")]
pub mod consumer;
pub mod order;
pub mod rubric;
pub mod scenario;

/// Why the consumer stopped. Returning an error from the service makes the
/// runtime restart it, as a process supervisor would.
#[derive(Debug, thiserror::Error)]
pub enum ConsumerError {
    /// A broker operation failed (unavailable, timed out, lock lost), or the
    /// consumer's configuration was refused.
    #[error(transparent)]
    Broker(#[from] broker::BrokerError),
    /// An order's body could not be read.
    #[error("order {message_id} is not a valid order: {reason}")]
    BadOrder {
        /// The message id of the order.
        message_id: String,
        /// What was wrong with it.
        reason: String,
    },
}

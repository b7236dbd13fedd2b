//! # Exercise `ack-ordering` (chapter 3: you did not read the configuration)
//!
//! **You edit one file: `src/consumer.rs`.** Everything else in this crate is
//! the world your consumer lives in; do not edit it (the graders depend on
//! it, and `cargo xtask verify` compares it with the shipped version).
//!
//! The story: a shop's *pricing* service reads orders from the `orders`
//! queue in peek-lock mode, prices each one (slowly, for a bulk order),
//! publishes an invoice to the `invoices` queue and completes the order
//! last. The small orders go through; the bulk order takes longer than its
//! lock, and the broker takes the slow consumer for a dead one.
//!
//! - [`consumer`]: **your file**: the consumer loop.
//! - [`order`]: orders, invoices and the pricing engine (slow on purpose).
//! - [`scenario`]: the queues, the three orders and the service, as one
//!   [`broker::simulation::Scenario`] the checks explore.
//! - [`rubric`]: the graded checks and their points.
//! - [`ConsumerError`]: what the consumer can fail with.
//!
//! `tests/checks.rs` runs the rubric's checks, one `#[test]` per anomaly:
//! `lost_message`, `unsettled_message`, `lock_expired`. Run them with
//! `cargo test -p ack-ordering`.

// The reference solution replaces your file when the `solution` feature is
// on (`cargo test -p ack-ordering --features solution`); otherwise this is
// your `src/consumer.rs`.
#[cfg_attr(feature = "solution", path = "../solution/consumer.rs")]
pub mod consumer;
pub mod order;
pub mod rubric;
pub mod scenario;

mod error;

pub use error::ConsumerError;

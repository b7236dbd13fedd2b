//! # Exercise `outbox` (chapter 5: dual writes, the outbox and CDC)
//!
//! **You edit one file: `src/orders.rs`.** Everything else in this crate is
//! the world your service lives in; do not edit it.
//!
//! The story: the shop's *order service* takes checkout requests, records
//! each order and reserves its stock in one database transaction, commits,
//! and then publishes `OrderPlaced` to the `order-events` queue, which the
//! warehouse and billing read. Two systems, the database and the broker, and
//! no transaction that spans both. The graders crash the service between the
//! two, and find orders that nobody downstream ever hears of.
//!
//! - [`orders`]: **your file**: `place_order` (one checkout request) and
//!   `relay` (a second service, idle in the starter).
//! - [`shop`]: the requests, the `OrderPlaced` event, the tables and queues,
//!   and the stock reservation.
//! - [`scenario`]: the checkout server, three requests, the stock, the
//!   relay, as one [`broker::simulation::Scenario`] the checks explore.
//! - [`rubric`]: the graded checks and their points.
//! - [`OrderError`]: what placing or relaying an order can fail with.
//!
//! `tests/checks.rs` runs the rubric, one `#[test]` per anomaly:
//! `lost_event`, `phantom_event`, `duplicate_event_undetected`.

// The reference solution replaces your file when the `solution` feature is
// on (`cargo test -p outbox --features solution`).
#[cfg_attr(feature = "solution", path = "../solution/orders.rs")]
pub mod orders;
pub mod rubric;
pub mod scenario;
pub mod shop;

/// Why an order could not be placed, or the relay stopped.
#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    /// A store statement or commit failed (unavailable, conflict, aborted).
    /// After a lost reply the commit may have happened all the same.
    #[error(transparent)]
    Store(#[from] broker::store::StoreError),
    /// A broker operation failed (unavailable, timed out).
    #[error(transparent)]
    Broker(#[from] broker::BrokerError),
    /// Not enough stock: the order is refused and its transaction rolled back.
    #[error("only {available} of `{sku}` left, {wanted} wanted")]
    OutOfStock {
        /// The product.
        sku: String,
        /// How many the order asked for.
        wanted: u32,
        /// How many were left.
        available: u32,
    },
    /// A message or a row could not be read.
    #[error("`{id}` cannot be read: {reason}")]
    Unreadable {
        /// The message id or row key.
        id: String,
        /// What was wrong with it.
        reason: String,
    },
}

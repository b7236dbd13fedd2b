//! # Exercise `cdc` (chapter 5: dual writes, the outbox and CDC)
//!
//! **You edit one file: `src/tailer.rs`.** Everything else in this crate is
//! the world your service lives in; do not edit it.
//!
//! The story: the shop's order service no longer publishes anything. It
//! commits orders (and cancellations) to the database, and a second service,
//! the *tailer*, reads the database's change feed and turns every committed
//! change of the `orders` table into an event on `order-events`: change data
//! capture. Commits that roll back never reach the feed, so no event can
//! announce an order that does not exist. What is left to get right is the
//! tailer's own bookkeeping: where it is in the feed, and what a crash does
//! to that.
//!
//! - [`tailer`]: **your file**: `tail`, the tailer's whole life.
//! - [`shop`]: the requests, the order events, the tables and the queue,
//!   and the two statements that read and store the tailer's position.
//! - [`scenario`]: the checkout server, its four requests, the stock and
//!   the tailer, as one [`broker::simulation::Scenario`] the checks explore.
//! - [`rubric`]: the graded checks and their points.
//! - [`TailError`]: what the tailer (and the checkout server) can fail with.
//!
//! `tests/checks.rs` runs the rubric, one `#[test]` per anomaly:
//! `lost_event`, `duplicate_event_undetected`, `out_of_order_per_aggregate`.

// The reference solution replaces your file when the `solution` feature is
// on (`cargo test -p cdc --features solution`).
pub mod rubric;
pub mod scenario;
pub mod shop;
#[cfg_attr(feature = "solution", path = "../solution/tailer.rs")]
pub mod tailer;

/// Why the tailer stopped, or a checkout request failed.
#[derive(Debug, thiserror::Error)]
pub enum TailError {
    /// A store statement, commit or feed read failed (unavailable, conflict,
    /// aborted). After a lost reply the write may have happened all the same.
    #[error(transparent)]
    Store(#[from] broker::store::StoreError),
    /// A broker operation failed (unavailable, timed out). After a lost
    /// reply (`Timeout`) the message may have been accepted all the same.
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
    /// A message, a row or a change could not be read.
    #[error("`{id}` cannot be read: {reason}")]
    Unreadable {
        /// The message id, row key or change position.
        id: String,
        /// What was wrong with it.
        reason: String,
    },
}

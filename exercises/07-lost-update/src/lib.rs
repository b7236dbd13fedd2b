//! # Exercise `lost-update` (chapter 7: concurrency, the lost update)
//!
//! **You edit one file: `src/stock.rs`.** Everything else in this crate is
//! the world your service lives in; do not edit it.
//!
//! The story: the shop's warehouse service reserves stock for orders. Two
//! copies of it (two pods, `warehouse-1` and `warehouse-2`) compete for the
//! same queue of reservation requests, and each reserves with a
//! read-modify-write: read how many teapots are left, check, write the new
//! count. Run alone, it is right. Run side by side, the two can read the
//! same count and each write its own result, and the grader tries every
//! order in which their statements can interleave.
//!
//! - [`stock`]: **your file**: `reserve`, one reservation request.
//! - [`warehouse`]: the requests, the tables and the queue.
//! - [`scenario`]: the two workers, the stock, the requests, as one
//!   [`broker::simulation::Scenario`] the checks explore.
//! - [`rubric`]: the graded checks and their points.
//! - [`StockError`]: what reserving can fail with.
//!
//! `tests/checks.rs` runs the rubric, one `#[test]` per anomaly:
//! `lost_update`, `oversold`, `retry_storm`.

// The reference solution replaces your file when the `solution` feature is
// on (`cargo test -p lost-update --features solution`).
pub mod rubric;
pub mod scenario;
#[cfg_attr(feature = "solution", path = "../solution/stock.rs")]
pub mod stock;
pub mod warehouse;

/// Why a reservation could not be decided; the worker then gives the
/// request back to the broker (`abandon`), which delivers it again.
#[derive(Debug, thiserror::Error)]
pub enum StockError {
    /// A store statement or commit failed: unavailable, a serialization
    /// failure (PostgreSQL's SQLSTATE 40001), a deadlock, an aborted
    /// transaction. After a lost reply the commit may have happened all the
    /// same.
    #[error(transparent)]
    Store(#[from] broker::store::StoreError),
    /// A row could not be read.
    #[error("`{key}` cannot be read: {reason}")]
    Unreadable {
        /// The row's key.
        key: String,
        /// What was wrong with it.
        reason: String,
    },
    /// Every attempt conflicted with the other worker: give the request
    /// back to the broker rather than try for ever.
    #[error("gave up on `{order_id}` after {attempts} attempts that each conflicted")]
    GaveUp {
        /// The order.
        order_id: String,
        /// How many attempts were made.
        attempts: u32,
    },
}

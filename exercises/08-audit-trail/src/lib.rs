//! # Exercise `audit-trail` (chapter 8: you did not store the processed events)
//!
//! **You edit one file: `src/ledger.rs`.** Everything else in this crate is
//! the world your service lives in; do not edit it.
//!
//! The story: the bank's account service consumes account events (opened,
//! deposited, withdrawn, renamed) and keeps each account's current state in
//! one row: owner, balance, version. It is right, it is idempotent, and it
//! cannot answer the support desk's question "why is this balance 70?",
//! because it threw every event away once it had applied it. Nor can the
//! team rebuild a row that a bad migration emptied, or replay the day's
//! events after an incident and trust the result.
//!
//! - [`ledger`]: **your file**: `handle` (one event), `explain` (the events
//!   behind an account, in order) and `rebuild` (the account's row again,
//!   from what you stored).
//! - [`bank`]: the events, the account, the table and queue names.
//! - [`scenario`]: the consumer, the support desk and the operators, as
//!   [`broker::simulation::Scenario`]s the checks explore.
//! - [`rubric`]: the graded checks and their points.
//! - [`LedgerError`]: what handling, explaining or rebuilding can fail with.
//!
//! `tests/checks.rs` runs the rubric, one `#[test]` per anomaly:
//! `unexplained_state`, `rebuild_mismatch`, `replay_not_idempotent`,
//! `lost_history`.

pub mod bank;
// The reference solution replaces your file when the `solution` feature is
// on (`cargo test -p audit-trail --features solution`).
#[cfg_attr(feature = "solution", path = "../solution/ledger.rs")]
pub mod ledger;
pub mod rubric;
pub mod scenario;

/// Why an event could not be handled, or an account explained or rebuilt.
/// The consumer gives an event it could not handle back to the broker
/// (`abandon`, after a pause), which delivers it again; the support desk
/// and the operators try again ten seconds later.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// A store statement or commit failed: unavailable, a conflict, an
    /// aborted transaction. After a lost reply the commit may have happened
    /// all the same.
    #[error(transparent)]
    Store(#[from] broker::store::StoreError),
    /// A row or a message could not be read.
    #[error("`{key}` cannot be read: {reason}")]
    Unreadable {
        /// The row's key or the message's id.
        key: String,
        /// What was wrong with it.
        reason: String,
    },
    /// An event the service refuses (see the variant's text).
    #[error("event `{event_id}` refused: {reason}")]
    Refused {
        /// The event.
        event_id: String,
        /// Why.
        reason: String,
    },
}

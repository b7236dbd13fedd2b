//! # Exercise `ordering` (chapter 6: you trusted the order of events)
//!
//! **You edit one file: `src/projection.rs`.** Everything else in this crate
//! is the world your projection lives in; do not edit it.
//!
//! The story: the catalog team owns the products and publishes a
//! `ProductUpdated` or `ProductDeleted` event for every change, each with the
//! product's new version. The storefront keeps its own copy of the products,
//! a read model in the table `storefront_products`, built by a projection
//! that applies each event as it arrives. It runs as two competing
//! consumers, and the on-call runbook replays the dead-letter queue every
//! hour. Nothing in that guarantees that the events of one product arrive
//! in the order they were published, and the graders find the runs where the
//! storefront shows an old price, or a product the catalog deleted.
//!
//! - [`projection`]: **your file**: `apply`, one event into the read model.
//! - [`catalog`]: the events, the catalog's history (the source of truth),
//!   the read model's row and the queue.
//! - [`scenario`]: the consumer host (receive, apply, complete; abandon on
//!   an error), the hourly dead-letter replay, the published events, as the
//!   [`broker::simulation::Scenario`]s the checks explore.
//! - [`rubric`]: the graded checks and their points.
//! - [`ProjectionError`]: what applying an event can fail with.
//!
//! `tests/checks.rs` runs the rubric, one `#[test]` per anomaly:
//! `stale_overwrite`, `resurrected_delete`, `divergent_projection`.

// The reference solution replaces your file when the `solution` feature is
// on (`cargo test -p ordering --features solution`).
pub mod catalog;
#[cfg_attr(feature = "solution", path = "../solution/projection.rs")]
pub mod projection;
pub mod rubric;
pub mod scenario;

/// Why an event could not be applied. The host abandons the event, and the
/// broker delivers it again (after ten deliveries, to the dead-letter queue).
#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    /// A store statement or commit failed (unavailable, conflict, aborted).
    #[error(transparent)]
    Store(#[from] broker::store::StoreError),
    /// A message or a row could not be read.
    #[error("`{id}` cannot be read: {reason}")]
    Unreadable {
        /// The message id or row key.
        id: String,
        /// What was wrong with it.
        reason: String,
    },
}

//! # Exercise `claim-check` (chapter 11: you assumed the pricing tier was easy to change)
//!
//! **You edit one file: `src/claim.rs`.** Everything else in this crate is
//! the world your services live in; do not edit it.
//!
//! The story: the records office scans documents (invoices, contracts,
//! building plans) and a producer sends each one to the archive over a
//! queue. The namespace was bought on the Basic tier, whose largest
//! message is 256 KB, and that was fine while the documents were invoices.
//! Then the contracts and the plans arrived.
//!
//! - [`claim`]: **your file**: `send_document` (the producer) and
//!   `archive_document` (the archive's handler of one message).
//! - [`library`]: the documents, the claim ticket, the tables and queues.
//! - [`scenario`]: the scanner's uploads, the producer and the archive, as
//!   a [`broker::simulation::Scenario`] the checks explore.
//! - [`rubric`]: the graded checks and their points.
//! - [`ClaimError`]: what sending or archiving can fail with.
//!
//! `tests/checks.rs` runs the rubric, one `#[test]` per anomaly:
//! `oversized_message`, `lost_payload`, `orphaned_payload`.

// The reference solution replaces your file when the `solution` feature is
// on (`cargo test -p claim-check --features solution`).
#[cfg_attr(feature = "solution", path = "../solution/claim.rs")]
pub mod claim;
pub mod library;
pub mod rubric;
pub mod scenario;

/// Why a document could not be sent or archived. The producer gives an
/// upload it could not send back to the broker (`abandon`, after a pause),
/// and the archive does the same with a message it could not archive: both
/// come back and are tried again.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    /// The broker refused or failed an operation (unavailable, the message
    /// is too large for the tier, ...).
    #[error(transparent)]
    Broker(#[from] broker::BrokerError),
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
    /// A claim ticket whose payload is not in the store (not yet, or no
    /// longer).
    #[error("no payload `{payload_key}` for document `{document_id}`")]
    MissingPayload {
        /// The document the ticket stands for.
        document_id: String,
        /// The key the ticket points at.
        payload_key: String,
    },
}

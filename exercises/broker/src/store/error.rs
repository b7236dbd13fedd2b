//! What can go wrong in a statement or a commit.
//!
//! The messages follow PostgreSQL's wording where PostgreSQL has one, so a
//! learner who meets the real error later recognises it.

/// Why a repeatable-read or serializable transaction could not go on.
///
/// PostgreSQL reports both as SQLSTATE `40001` and expects the application to
/// retry the whole transaction; the reason only tells *which* rule tripped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConflictReason {
    /// The transaction tried to lock, update or delete a row that another
    /// transaction changed and committed after this one took its snapshot.
    ConcurrentUpdate,
    /// Serializable only: at commit, a transaction that committed after this
    /// one's snapshot had written a row (or a table) that this one read, so no
    /// serial order explains what this one saw.
    ReadWriteDependency,
}

/// The error of a statement or a commit.
///
/// Every variant except [`StoreError::VersionConflict`] aborts the
/// transaction, as an error does in PostgreSQL: later statements return
/// [`StoreError::TransactionAborted`] and only a rollback (or a drop) ends it.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// A repeatable-read or serializable conflict. Retry the whole transaction.
    #[error("could not serialize access due to {} on {table}/{key}", reason_text(*.reason))]
    SerializationFailure {
        /// The table of the row the conflict was found on.
        table: String,
        /// The key of that row.
        key: String,
        /// Which rule tripped.
        reason: ConflictReason,
    },

    /// This transaction asked for a row lock whose holder (directly or through
    /// other waiters) waits for a lock this transaction holds. PostgreSQL
    /// aborts one member of the cycle; this store aborts the one that closed
    /// it. Retry the whole transaction.
    #[error(
        "deadlock detected: waiting for {table}/{key}, held by transaction {holder}, would wait forever"
    )]
    Deadlock {
        /// The table of the row this transaction asked to lock.
        table: String,
        /// The key of that row.
        key: String,
        /// The transaction holding that lock.
        holder: u64,
    },

    /// An insert of a key that already exists.
    #[error("duplicate key value violates unique constraint: {table}/{key} already exists")]
    UniqueViolation {
        /// The table inserted into.
        table: String,
        /// The key that already exists.
        key: String,
    },

    /// Optimistic concurrency: the row's version is not the one the caller
    /// read, so someone else wrote it in between (or it is gone).
    ///
    /// In SQL this is `UPDATE … WHERE version = $expected` matching zero rows,
    /// which is not an error there: so, unlike every other variant, it does
    /// not abort the transaction.
    #[error("version conflict on {table}/{key}: expected version {expected}, found {}", found_text(*.actual))]
    VersionConflict {
        /// The table of the row.
        table: String,
        /// The key of the row.
        key: String,
        /// The version the caller expected.
        expected: u64,
        /// The version the row has now, or `None` when it does not exist.
        actual: Option<u64>,
    },

    /// The database is down (injected by the simulation with
    /// [`crate::store::Store::set_unavailable`]).
    #[error("the database is unavailable")]
    Unavailable,

    /// A statement failed earlier in this transaction (or was cancelled while
    /// it waited); PostgreSQL ignores everything until the transaction ends.
    #[error("current transaction is aborted, commands ignored until end of transaction block")]
    TransactionAborted,
}

impl StoreError {
    /// Whether retrying the whole transaction from the start can succeed:
    /// true for serialization failures and deadlocks, the two errors
    /// PostgreSQL's documentation tells applications to retry.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            StoreError::SerializationFailure { .. } | StoreError::Deadlock { .. }
        )
    }
}

fn reason_text(reason: ConflictReason) -> &'static str {
    match reason {
        ConflictReason::ConcurrentUpdate => "concurrent update",
        ConflictReason::ReadWriteDependency => "read/write dependencies among transactions",
    }
}

fn found_text(actual: Option<u64>) -> String {
    match actual {
        Some(version) => format!("version {version}"),
        None => "no row".to_string(),
    }
}

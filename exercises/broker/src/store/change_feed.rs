//! The change feed: every committed write, in commit order.
//!
//! This is what change data capture (CDC) tails: PostgreSQL's write-ahead log
//! read through logical decoding, or Debezium on top of it. Positions are
//! gap-free and start at 1, so a tailer that stores "I have handled up to
//! position p" can resume after a crash with `changes_since(p)` and miss
//! nothing. A transaction's writes appear together, at its commit, never
//! before: a rolled-back transaction leaves no trace here.

use super::Row;

/// What a committed write did to its row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChangeKind {
    /// The row did not exist before this write.
    Insert,
    /// The row existed and now has a new value and version.
    Update,
    /// The row existed and is now gone.
    Delete,
}

/// One committed write, as the change feed reports it.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    /// Gap-free position in the feed, from 1. Also the snapshot number: a
    /// snapshot taken at position `p` sees exactly the changes `1..=p`.
    pub position: u64,
    /// The transaction that made the change; the changes of one transaction
    /// are contiguous.
    pub transaction: u64,
    /// The table written.
    pub table: String,
    /// The key written.
    pub key: String,
    /// Insert, update or delete.
    pub kind: ChangeKind,
    /// The row after the write; `None` for a delete.
    pub row: Option<Row>,
}

/// The feed itself: an append-only log kept for the store's whole life, so
/// that a tailer can resume from any position.
#[derive(Debug, Default)]
pub(super) struct ChangeFeed {
    changes: Vec<Change>,
}

impl ChangeFeed {
    /// The position of the last change, 0 when the feed is empty.
    pub(super) fn head(&self) -> u64 {
        self.changes.len() as u64
    }

    /// The changes after `position`, oldest first.
    pub(super) fn since(&self, position: u64) -> &[Change] {
        let start = usize::try_from(position).unwrap_or(usize::MAX);
        self.changes.get(start..).unwrap_or(&[])
    }

    /// Appends a committed write and returns its position.
    pub(super) fn append(
        &mut self,
        transaction: u64,
        table: String,
        key: String,
        kind: ChangeKind,
        row: Option<Row>,
    ) -> u64 {
        let position = self.head() + 1;
        self.changes.push(Change {
            position,
            transaction,
            table,
            key,
            kind,
            row,
        });
        position
    }
}

//! Row versions: how one key can hold several values at once (MVCC).
//!
//! PostgreSQL never overwrites a row in place: an update writes a new version
//! and the old one stays until no snapshot can see it. That is what lets a
//! reader see the database "as of" the start of its statement or transaction
//! without blocking writers. Here every committed write appends a
//! [`RowVersion`] to the key's [`VersionChain`], stamped with the change-feed
//! position at which it was committed; a snapshot is simply a feed position.

use super::Row;

/// One committed state of a row.
#[derive(Clone, Debug)]
pub(super) struct RowVersion {
    /// The change-feed position of the write that produced this version.
    /// A snapshot taken at position `p` sees exactly the versions with
    /// `position <= p`.
    pub(super) position: u64,
    /// The row, or `None` for a delete (a tombstone: "the row is gone as of
    /// this position", which older snapshots must still see past).
    pub(super) row: Option<Row>,
}

/// Every committed version of one key that some snapshot may still need,
/// oldest first.
#[derive(Clone, Debug, Default)]
pub(super) struct VersionChain {
    versions: Vec<RowVersion>,
}

impl VersionChain {
    /// The row as a snapshot taken at `snapshot` sees it.
    pub(super) fn visible_at(&self, snapshot: u64) -> Option<&Row> {
        self.versions
            .iter()
            .rev()
            .find(|version| version.position <= snapshot)
            .and_then(|version| version.row.as_ref())
    }

    /// The latest committed row: what a statement sees once it holds the
    /// row lock (no one else can commit a newer version while it does).
    pub(super) fn latest(&self) -> Option<&Row> {
        self.versions
            .last()
            .and_then(|version| version.row.as_ref())
    }

    /// The feed position of the last committed change to this key, 0 if none
    /// is kept. Repeatable read compares it with its snapshot to detect a
    /// concurrent update.
    pub(super) fn last_changed(&self) -> u64 {
        self.versions.last().map_or(0, |version| version.position)
    }

    /// Appends a newly committed version.
    pub(super) fn push(&mut self, version: RowVersion) {
        self.versions.push(version);
    }

    /// Forgets versions no snapshot can see any more (PostgreSQL's vacuum):
    /// keeps every version newer than `oldest_snapshot`, plus the newest one at
    /// or before it, which is what that oldest snapshot sees.
    pub(super) fn prune(&mut self, oldest_snapshot: u64) {
        let seen_by_oldest = self
            .versions
            .iter()
            .rposition(|version| version.position <= oldest_snapshot);
        if let Some(index) = seen_by_oldest {
            self.versions.drain(..index);
        }
    }

    /// True when the chain holds only a tombstone that every snapshot is past:
    /// the key can be forgotten entirely.
    pub(super) fn is_dead(&self, oldest_snapshot: u64) -> bool {
        match self.versions.as_slice() {
            [] => true,
            [only] => only.row.is_none() && only.position <= oldest_snapshot,
            _ => false,
        }
    }
}

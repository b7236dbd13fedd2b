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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn chain(versions: &[(u64, Option<i64>)]) -> VersionChain {
        let mut chain = VersionChain::default();
        for &(position, value) in versions {
            chain.push(RowVersion {
                position,
                row: value.map(|value| Row {
                    version: position,
                    value: json!(value),
                }),
            });
        }
        chain
    }

    fn value_at(chain: &VersionChain, snapshot: u64) -> Option<i64> {
        chain
            .visible_at(snapshot)
            .and_then(|row| row.value.as_i64())
    }

    #[test]
    fn a_snapshot_sees_the_newest_version_at_or_before_it() {
        let chain = chain(&[(2, Some(20)), (5, None), (7, Some(70))]);
        assert_eq!(value_at(&chain, 1), None, "before the insert");
        assert_eq!(value_at(&chain, 2), Some(20));
        assert_eq!(value_at(&chain, 4), Some(20));
        assert_eq!(value_at(&chain, 5), None, "deleted");
        assert_eq!(value_at(&chain, 9), Some(70));
        assert_eq!(chain.last_changed(), 7);
    }

    #[test]
    fn pruning_keeps_what_the_oldest_snapshot_sees_and_everything_newer() {
        let mut pruned = chain(&[(2, Some(20)), (5, Some(50)), (7, Some(70))]);
        pruned.prune(6);
        assert_eq!(value_at(&pruned, 6), Some(50));
        assert_eq!(value_at(&pruned, 7), Some(70));
        assert_eq!(value_at(&pruned, 4), None, "no snapshot that old is open");
        pruned.prune(100);
        assert_eq!(pruned.versions.len(), 1);
    }

    #[test]
    fn a_tombstone_every_snapshot_is_past_is_dead() {
        let mut deleted = chain(&[(2, Some(20)), (5, None)]);
        deleted.prune(4);
        assert!(!deleted.is_dead(4), "snapshot 4 still sees the row");
        deleted.prune(5);
        assert!(deleted.is_dead(5));
        assert!(!chain(&[(5, Some(1))]).is_dead(9));
    }
}

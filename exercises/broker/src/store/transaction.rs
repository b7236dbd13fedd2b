//! A transaction: the statements a service runs, and the isolation rules.
//!
//! Uncommitted writes live here, in the transaction, not in the shared store:
//! nobody else can see them (PostgreSQL has no dirty reads), and dropping the
//! transaction throws them away. What the store does know about an open
//! transaction is its row locks and its snapshot, so that a drop can release
//! the one and stop pinning the other.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use tokio::sync::Notify;

use super::row_lock::{Acquire, RowId};
use super::versions::RowVersion;
use super::{ChangeKind, ConflictReason, IsolationLevel, Row, State, Store, StoreError};

/// A database transaction.
///
/// Dropping it without [`commit`](Transaction::commit) rolls it back and
/// releases its row locks, exactly like a connection that dies in the middle
/// of a transaction: that is what happens when the simulation crashes a
/// service.
#[derive(Debug)]
pub struct Transaction {
    /// The database this transaction runs in.
    store: Store,
    /// Unique, increasing from 1: the order transactions began in.
    id: u64,
    isolation: IsolationLevel,
    /// Notified by the store when a row lock this transaction queued for is
    /// handed to it.
    wakeup: Arc<Notify>,
    /// The snapshot (a change-feed position) of a repeatable-read or
    /// serializable transaction, taken at its first statement. `None` under
    /// read committed, where each statement reads the latest snapshot.
    snapshot: Option<u64>,
    /// This transaction's writes in statement order; at commit they become
    /// row versions and change-feed entries, in this order.
    writes: Vec<PendingWrite>,
    /// The latest value this transaction wrote to each row (`None`: it deleted
    /// it), so that it reads its own writes.
    own_rows: BTreeMap<RowId, Option<Row>>,
    /// Serializable only: the rows this transaction looked up (found or not)…
    rows_read: BTreeSet<RowId>,
    /// …and the tables it scanned; a concurrent commit that wrote any of
    /// these fails this transaction's commit.
    tables_scanned: BTreeSet<String>,
    /// A statement failed (or is still running: see
    /// [`Transaction::start_statement`]); only the end of the transaction is
    /// allowed now.
    aborted: bool,
    /// Committed or rolled back: the store has forgotten this transaction.
    ended: bool,
}

/// One uncommitted write.
#[derive(Debug)]
struct PendingWrite {
    row: RowId,
    kind: ChangeKind,
    /// The row after the write; `None` for a delete.
    value: Option<Row>,
}

/// While a statement waits in a row lock's queue. If the statement's future is
/// dropped (a timeout around it, or the service crashed mid-wait), this leaves
/// the queue so the lock is never handed to a statement that is gone.
struct QueuedForLock<'a> {
    store: &'a Store,
    transaction: u64,
    granted: bool,
}

impl Drop for QueuedForLock<'_> {
    fn drop(&mut self) {
        if !self.granted {
            // A cancelled statement is an error that aborts the transaction
            // (it stays marked aborted: see `start_statement`), so its locks
            // go too, as after any other error.
            let mut state = self.store.state();
            state.locks.stop_waiting(self.transaction);
            state.release_locks(self.transaction);
        }
    }
}

fn row_id(table: &str, key: &str) -> RowId {
    (table.to_string(), key.to_string())
}

impl Transaction {
    pub(super) fn new(
        store: Store,
        id: u64,
        isolation: IsolationLevel,
        wakeup: Arc<Notify>,
    ) -> Transaction {
        Transaction {
            store,
            id,
            isolation,
            wakeup,
            snapshot: None,
            writes: Vec::new(),
            own_rows: BTreeMap::new(),
            rows_read: BTreeSet::new(),
            tables_scanned: BTreeSet::new(),
            aborted: false,
            ended: false,
        }
    }

    /// This transaction's id (the `transaction` of its [`super::Change`]s).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The isolation level it was begun with.
    pub fn isolation(&self) -> IsolationLevel {
        self.isolation
    }

    /// Whether a statement failed, so that only rollback remains.
    pub fn is_aborted(&self) -> bool {
        self.aborted
    }

    /// `SELECT value FROM table WHERE key = $key`: the row as this statement's
    /// snapshot sees it (or as this transaction wrote it). Never waits.
    pub async fn get(&mut self, table: &str, key: &str) -> Result<Option<Row>, StoreError> {
        self.start_statement()?;
        let row = row_id(table, key);
        let found = self.read(&row);
        self.finish_statement(Ok(found))
    }

    /// `SELECT … FOR UPDATE`: takes the row lock (waiting for it if another
    /// transaction holds it), then reads the row.
    ///
    /// Under read committed this returns the latest committed version, even
    /// one committed while it waited: so a read-modify-write that starts with
    /// it cannot lose an update. Under repeatable read and serializable, a row
    /// changed since the snapshot is a serialization failure.
    pub async fn get_for_update(
        &mut self,
        table: &str,
        key: &str,
    ) -> Result<Option<Row>, StoreError> {
        self.start_statement()?;
        let row = row_id(table, key);
        let result = match self.lock_row(&row).await {
            Ok(()) => self.row_for_write(&row),
            Err(error) => Err(error),
        };
        self.finish_statement(result)
    }

    /// `SELECT key, value FROM table ORDER BY key`: every row this statement's
    /// snapshot sees, with this transaction's own writes applied.
    pub async fn scan(&mut self, table: &str) -> Result<Vec<(String, Row)>, StoreError> {
        self.start_statement()?;
        let mut rows = {
            let state = self.store.state();
            let snapshot = self.snapshot.unwrap_or_else(|| state.feed.head());
            state.table_at(table, snapshot)
        };
        for ((own_table, key), own) in &self.own_rows {
            if own_table != table {
                continue;
            }
            match own {
                Some(row) => rows.insert(key.clone(), row.clone()),
                None => rows.remove(key),
            };
        }
        if self.isolation == IsolationLevel::Serializable {
            self.tables_scanned.insert(table.to_string());
        }
        self.finish_statement(Ok(rows.into_iter().collect()))
    }

    /// `INSERT`: a new row at version 1. Fails with
    /// [`StoreError::UniqueViolation`] when the key exists; if another
    /// transaction is inserting the same key, waits to see whether it commits.
    pub async fn insert(
        &mut self,
        table: &str,
        key: &str,
        value: serde_json::Value,
    ) -> Result<Row, StoreError> {
        self.start_statement()?;
        let row = row_id(table, key);
        let result = match self.lock_row(&row).await {
            Ok(()) => self.insert_locked(row, value),
            Err(error) => Err(error),
        };
        self.finish_statement(result)
    }

    /// `INSERT … ON CONFLICT (key) DO UPDATE`: writes the row whether or not
    /// it exists, one version past the current one. Note that the new value
    /// does not depend on the old one: a read-modify-write built from `get`
    /// and `upsert` is exactly the lost-update bug under read committed.
    pub async fn upsert(
        &mut self,
        table: &str,
        key: &str,
        value: serde_json::Value,
    ) -> Result<Row, StoreError> {
        self.start_statement()?;
        let row = row_id(table, key);
        let result = match self.lock_row(&row).await {
            Ok(()) => self.upsert_locked(row, value),
            Err(error) => Err(error),
        };
        self.finish_statement(result)
    }

    /// `UPDATE table SET value = $value, version = version + 1
    /// WHERE key = $key AND version = $expected`: optimistic concurrency.
    ///
    /// Fails with [`StoreError::VersionConflict`] when the row's version is
    /// not `expected_version` (someone wrote it since you read it) or the row
    /// does not exist. That failure does not abort the transaction.
    pub async fn update_if_version(
        &mut self,
        table: &str,
        key: &str,
        expected_version: u64,
        value: serde_json::Value,
    ) -> Result<Row, StoreError> {
        self.start_statement()?;
        let row = row_id(table, key);
        let result = match self.lock_row(&row).await {
            Ok(()) => self.update_locked(row, expected_version, value),
            Err(error) => Err(error),
        };
        self.finish_statement(result)
    }

    /// `UPDATE table SET … WHERE key = $key AND …` computed from the row
    /// itself, in one statement: `SET stock = stock - 3 WHERE stock >= 3`.
    /// `change` gets the row's current value and returns the new one, or
    /// `None` when the statement's `WHERE` does not match (nothing written).
    /// Returns the written row, or `None` when nothing was (the row is
    /// missing, or `change` declined): zero rows affected, not an error.
    ///
    /// The row is locked first and `change` sees the version the write acts
    /// on: under read committed, the latest committed one, including a
    /// change committed while this statement waited for the lock (the
    /// EvalPlanQual recheck: PostgreSQL re-evaluates the `WHERE` and the
    /// `SET` on the newest version). So unlike a `get` then an `upsert`, two
    /// of these never lose an update. Under repeatable read and serializable
    /// a row changed since the snapshot is a serialization failure, as for
    /// any write.
    pub async fn update_with(
        &mut self,
        table: &str,
        key: &str,
        change: impl FnOnce(&serde_json::Value) -> Option<serde_json::Value>,
    ) -> Result<Option<Row>, StoreError> {
        self.start_statement()?;
        let row = row_id(table, key);
        let result = match self.lock_row(&row).await {
            Ok(()) => self.update_with_locked(row, change),
            Err(error) => Err(error),
        };
        self.finish_statement(result)
    }

    /// `DELETE FROM table WHERE key = $key`: `true` if a row was deleted.
    pub async fn delete(&mut self, table: &str, key: &str) -> Result<bool, StoreError> {
        self.start_statement()?;
        let row = row_id(table, key);
        let result = match self.lock_row(&row).await {
            Ok(()) => self.delete_locked(row),
            Err(error) => Err(error),
        };
        self.finish_statement(result)
    }

    /// `COMMIT`: makes every write visible at once, appends them to the change
    /// feed and releases the row locks.
    ///
    /// Fails, and rolls back instead, when the transaction was aborted
    /// ([`StoreError::TransactionAborted`]), the database is down, or (under
    /// serializable) a concurrent commit wrote something this transaction
    /// read. Either way the transaction is over.
    pub async fn commit(mut self) -> Result<(), StoreError> {
        let store = self.store.clone();
        let mut state = store.state();
        let result = self.commit_in(&mut state);
        // Committed or not, the transaction is over: release its locks.
        self.ended = true;
        state.end_transaction(self.id);
        if let Ok(written) = &result
            && !written.is_empty()
        {
            state.prune(written);
            drop(state);
            store.announce_changes();
        }
        result.map(|_| ())
    }

    /// `ROLLBACK`: forgets every write and releases the row locks. Dropping
    /// the transaction does the same.
    pub async fn rollback(mut self) {
        self.end();
    }

    /// Checks whether a statement may run, and marks the transaction aborted
    /// until it finishes: if its future is dropped halfway (cancelled while it
    /// waits for a lock), the transaction stays aborted, as a cancelled
    /// statement leaves a PostgreSQL transaction.
    fn start_statement(&mut self) -> Result<(), StoreError> {
        if self.aborted {
            return Err(StoreError::TransactionAborted);
        }
        let mut state = self.store.state();
        if state.unavailable {
            // An error like any other: the transaction aborts and its locks
            // go (see `finish_statement`).
            self.aborted = true;
            state.release_locks(self.id);
            return Err(StoreError::Unavailable);
        }
        if self.isolation != IsolationLevel::ReadCommitted && self.snapshot.is_none() {
            let snapshot = state.feed.head();
            self.snapshot = Some(snapshot);
            if let Some(open) = state.open.get_mut(&self.id) {
                open.pinned_snapshot = Some(snapshot);
            }
        }
        self.aborted = true;
        Ok(())
    }

    /// Ends a statement: any error but a version conflict aborts the
    /// transaction, and releases its row locks at once. PostgreSQL does the
    /// same (its abort releases the locks; the `ROLLBACK` that follows only
    /// ends the block), so the other members of a deadlock, or anyone queued
    /// behind a failed writer, go on before the failed one rolls back.
    fn finish_statement<T>(&mut self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        self.aborted =
            matches!(&result, Err(error) if !matches!(error, StoreError::VersionConflict { .. }));
        if self.aborted {
            self.store.state().release_locks(self.id);
        }
        result
    }

    /// A plain read: own writes first, then the snapshot.
    fn read(&mut self, row: &RowId) -> Option<Row> {
        if let Some(own) = self.own_rows.get(row) {
            return own.clone();
        }
        let found = {
            let state = self.store.state();
            let snapshot = self.snapshot.unwrap_or_else(|| state.feed.head());
            state.visible(row, snapshot)
        };
        if self.isolation == IsolationLevel::Serializable {
            self.rows_read.insert(row.clone());
        }
        found
    }

    /// Waits until this transaction holds the lock on `row`.
    async fn lock_row(&self, row: &RowId) -> Result<(), StoreError> {
        match self.store.state().locks.acquire(self.id, row) {
            Acquire::Granted => return Ok(()),
            Acquire::Deadlock { holder } => {
                return Err(StoreError::Deadlock {
                    table: row.0.clone(),
                    key: row.1.clone(),
                    holder,
                });
            }
            Acquire::MustWait => {}
        }
        let mut queued = QueuedForLock {
            store: &self.store,
            transaction: self.id,
            granted: false,
        };
        loop {
            self.wakeup.notified().await;
            // A wake-up may be left over from an earlier, cancelled wait:
            // check rather than trust it.
            if self.store.state().locks.holds(self.id, row) {
                queued.granted = true;
                return Ok(());
            }
        }
    }

    /// The row a write (or `FOR UPDATE`) acts on, once the lock is held.
    ///
    /// Read committed takes the latest committed version: nobody can change
    /// it while we hold the lock, and it includes anything committed while we
    /// waited (PostgreSQL's EvalPlanQual recheck). Repeatable read and
    /// serializable take the snapshot's version, and fail if a newer one was
    /// committed since: they cannot act on a row they are not allowed to see.
    ///
    /// Under serializable the row counts as read: a `DELETE` that found
    /// nothing in the snapshot "read" that the row was absent, and must fail
    /// at commit if a concurrent transaction committed that row meanwhile.
    fn row_for_write(&mut self, row: &RowId) -> Result<Option<Row>, StoreError> {
        if let Some(own) = self.own_rows.get(row) {
            return Ok(own.clone());
        }
        let state = self.store.state();
        let Some(snapshot) = self.snapshot else {
            return Ok(state.latest(row));
        };
        // InnoDB: the snapshot is for plain reads only; writes see the
        // latest committed row and check nothing.
        if self.isolation == IsolationLevel::InnoDbRepeatableRead {
            return Ok(state.latest(row));
        }
        let visible = state.visible(row, snapshot);
        if visible.is_some() && state.last_changed(row) > snapshot {
            return Err(concurrent_update(row));
        }
        drop(state);
        if self.isolation == IsolationLevel::Serializable {
            self.rows_read.insert(row.clone());
        }
        Ok(visible)
    }

    fn insert_locked(&mut self, row: RowId, value: serde_json::Value) -> Result<Row, StoreError> {
        // Uniqueness is checked against the latest state, not the snapshot,
        // at every isolation level: a key committed by anyone is taken.
        let exists = match self.own_rows.get(&row) {
            Some(own) => own.is_some(),
            None => self.store.state().latest(&row).is_some(),
        };
        if exists {
            return Err(StoreError::UniqueViolation {
                table: row.0,
                key: row.1,
            });
        }
        let new = Row { version: 1, value };
        self.record(row, ChangeKind::Insert, Some(new.clone()));
        Ok(new)
    }

    fn upsert_locked(&mut self, row: RowId, value: serde_json::Value) -> Result<Row, StoreError> {
        let current = match self.own_rows.get(&row) {
            Some(own) => own.clone(),
            None => {
                let state = self.store.state();
                match self.snapshot {
                    None => state.latest(&row),
                    Some(_) if self.isolation == IsolationLevel::InnoDbRepeatableRead => {
                        state.latest(&row)
                    }
                    // Any change after the snapshot, even an insert this
                    // snapshot cannot see, is a conflict for an upsert.
                    Some(snapshot) if state.last_changed(&row) > snapshot => {
                        return Err(concurrent_update(&row));
                    }
                    Some(snapshot) => state.visible(&row, snapshot),
                }
            }
        };
        let (kind, version) = match current {
            Some(current) => (ChangeKind::Update, current.version + 1),
            None => (ChangeKind::Insert, 1),
        };
        let new = Row { version, value };
        self.record(row, kind, Some(new.clone()));
        Ok(new)
    }

    fn update_locked(
        &mut self,
        row: RowId,
        expected: u64,
        value: serde_json::Value,
    ) -> Result<Row, StoreError> {
        let current = match self.row_for_write(&row)? {
            Some(current) if current.version == expected => current,
            other => {
                return Err(StoreError::VersionConflict {
                    table: row.0,
                    key: row.1,
                    expected,
                    actual: other.map(|current| current.version),
                });
            }
        };
        let new = Row {
            version: current.version + 1,
            value,
        };
        self.record(row, ChangeKind::Update, Some(new.clone()));
        Ok(new)
    }

    fn update_with_locked(
        &mut self,
        row: RowId,
        change: impl FnOnce(&serde_json::Value) -> Option<serde_json::Value>,
    ) -> Result<Option<Row>, StoreError> {
        let Some(current) = self.row_for_write(&row)? else {
            return Ok(None);
        };
        let Some(value) = change(&current.value) else {
            return Ok(None);
        };
        let new = Row {
            version: current.version + 1,
            value,
        };
        self.record(row, ChangeKind::Update, Some(new.clone()));
        Ok(Some(new))
    }

    fn delete_locked(&mut self, row: RowId) -> Result<bool, StoreError> {
        if self.row_for_write(&row)?.is_none() {
            return Ok(false);
        }
        self.record(row, ChangeKind::Delete, None);
        Ok(true)
    }

    fn record(&mut self, row: RowId, kind: ChangeKind, value: Option<Row>) {
        self.own_rows.insert(row.clone(), value.clone());
        self.writes.push(PendingWrite { row, kind, value });
    }

    /// The commit itself, under the state lock. Returns the rows written.
    fn commit_in(&mut self, state: &mut State) -> Result<Vec<RowId>, StoreError> {
        if self.aborted {
            return Err(StoreError::TransactionAborted);
        }
        if state.unavailable {
            return Err(StoreError::Unavailable);
        }
        if self.isolation == IsolationLevel::Serializable
            && let Some(snapshot) = self.snapshot
        {
            self.validate_reads(state, snapshot)?;
        }
        let mut written = Vec::with_capacity(self.writes.len());
        for write in self.writes.drain(..) {
            let (table, key) = write.row.clone();
            let position = state.feed.append(
                self.id,
                table.clone(),
                key.clone(),
                write.kind,
                write.value.clone(),
            );
            state
                .tables
                .entry(table)
                .or_default()
                .entry(key)
                .or_default()
                .push(RowVersion {
                    position,
                    row: write.value,
                });
            written.push(write.row);
        }
        Ok(written)
    }

    /// The serializable check: nothing this transaction read may have been
    /// written by a transaction that committed after its snapshot. If that
    /// holds, every read saw what it would have seen had this transaction
    /// run alone at its commit point, so the committed transactions are
    /// equivalent to running them one by one in commit order.
    fn validate_reads(&self, state: &State, snapshot: u64) -> Result<(), StoreError> {
        for change in state.feed.since(snapshot) {
            let row = (change.table.clone(), change.key.clone());
            if self.rows_read.contains(&row) || self.tables_scanned.contains(&change.table) {
                return Err(StoreError::SerializationFailure {
                    table: row.0,
                    key: row.1,
                    reason: ConflictReason::ReadWriteDependency,
                });
            }
        }
        Ok(())
    }

    /// Rolls back: the store forgets the transaction and its locks pass on.
    fn end(&mut self) {
        if !self.ended {
            self.ended = true;
            self.store.state().end_transaction(self.id);
        }
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        self.end();
    }
}

fn concurrent_update(row: &RowId) -> StoreError {
    StoreError::SerializationFailure {
        table: row.0.clone(),
        key: row.1.clone(),
        reason: ConflictReason::ConcurrentUpdate,
    }
}

//! The store's isolation levels, one anomaly or conflict per test.
//!
//! The stock example runs through them all: 10 items in stock, two consumers
//! each take one. Whatever the interleaving, 8 must be left.
//!
//! Tests run on tokio's paused clock: nothing here sleeps, but a test that
//! waits for a row lock must be as deterministic as one that does not.

use std::time::Duration;

use broker::store::{ConflictReason, IsolationLevel, Row, Store, StoreError};
use serde_json::json;

/// A store holding `stock/widget = {"count": 10}`.
async fn stock_of_ten() -> Store {
    let store = Store::new();
    let mut setup = store.begin(IsolationLevel::ReadCommitted).await;
    setup
        .insert("stock", "widget", json!({ "count": 10 }))
        .await
        .expect("insert into an empty store");
    setup.commit().await.expect("setup commits");
    store
}

fn count(row: &Row) -> i64 {
    row.value["count"].as_i64().expect("count is a number")
}

fn committed_count(store: &Store) -> i64 {
    count(&store.committed("stock")["widget"])
}

/// Lets every spawned task run until it is blocked. The clock is paused, so
/// the sleep only ends once the runtime has nothing else to do.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(1)).await;
}

#[tokio::test(start_paused = true)]
async fn read_committed_read_modify_write_loses_an_update() {
    let store = stock_of_ten().await;
    let mut first = store.begin(IsolationLevel::default()).await;
    let mut second = store.begin(IsolationLevel::default()).await;

    // Both read 10 before either writes...
    let seen_by_first = count(&first.get("stock", "widget").await.unwrap().unwrap());
    let seen_by_second = count(&second.get("stock", "widget").await.unwrap().unwrap());
    assert_eq!((seen_by_first, seen_by_second), (10, 10));

    // ...so both write 9, and both commits succeed.
    first
        .upsert("stock", "widget", json!({ "count": seen_by_first - 1 }))
        .await
        .unwrap();
    first.commit().await.unwrap();
    second
        .upsert("stock", "widget", json!({ "count": seen_by_second - 1 }))
        .await
        .unwrap();
    second.commit().await.unwrap();

    assert_eq!(
        committed_count(&store),
        9,
        "read committed lets one decrement overwrite the other"
    );
    // Both writes happened: the row's version says so, the count does not.
    assert_eq!(store.committed("stock")["widget"].version, 3);
}

#[tokio::test(start_paused = true)]
async fn get_for_update_waits_and_rereads_so_no_update_is_lost() {
    let store = stock_of_ten().await;
    let mut first = store.begin(IsolationLevel::ReadCommitted).await;
    let seen = count(
        &first
            .get_for_update("stock", "widget")
            .await
            .unwrap()
            .unwrap(),
    );
    assert_eq!(seen, 10);

    let second = tokio::spawn({
        let store = store.clone();
        async move {
            let mut second = store.begin(IsolationLevel::ReadCommitted).await;
            let row = second
                .get_for_update("stock", "widget")
                .await?
                .expect("the widget exists");
            second
                .upsert("stock", "widget", json!({ "count": count(&row) - 1 }))
                .await?;
            second.commit().await.map(|()| count(&row))
        }
    });
    settle().await;
    assert!(
        !second.is_finished(),
        "the second consumer waits for the lock"
    );
    assert_eq!(
        store.row_locks().get(&("stock".into(), "widget".into())),
        Some(&first.id())
    );

    first
        .upsert("stock", "widget", json!({ "count": seen - 1 }))
        .await
        .unwrap();
    first.commit().await.unwrap();

    let seen_by_second = second.await.unwrap().unwrap();
    assert_eq!(
        seen_by_second, 9,
        "after the wait, FOR UPDATE reads the latest committed row"
    );
    assert_eq!(committed_count(&store), 8);
    assert!(store.row_locks().is_empty());
}

#[tokio::test(start_paused = true)]
async fn update_if_version_detects_the_lost_update_and_a_retry_fixes_it() {
    let store = stock_of_ten().await;
    let mut first = store.begin(IsolationLevel::ReadCommitted).await;
    let mut second = store.begin(IsolationLevel::ReadCommitted).await;
    let row_first = first.get("stock", "widget").await.unwrap().unwrap();
    let row_second = second.get("stock", "widget").await.unwrap().unwrap();
    assert_eq!(row_first.version, 1);

    let written = first
        .update_if_version(
            "stock",
            "widget",
            1,
            json!({ "count": count(&row_first) - 1 }),
        )
        .await
        .unwrap();
    assert_eq!(written.version, 2);
    first.commit().await.unwrap();

    let conflict = second
        .update_if_version("stock", "widget", row_second.version, json!({ "count": 9 }))
        .await
        .unwrap_err();
    assert_eq!(
        conflict,
        StoreError::VersionConflict {
            table: "stock".into(),
            key: "widget".into(),
            expected: 1,
            actual: Some(2),
        }
    );
    assert_eq!(
        conflict.to_string(),
        "version conflict on stock/widget: expected version 1, found version 2"
    );
    // Zero rows updated is not an error in SQL: the transaction goes on, and
    // the retry reads again.
    assert!(!second.is_aborted());
    let fresh = second.get("stock", "widget").await.unwrap().unwrap();
    second
        .update_if_version(
            "stock",
            "widget",
            fresh.version,
            json!({ "count": count(&fresh) - 1 }),
        )
        .await
        .unwrap();
    second.commit().await.unwrap();
    assert_eq!(committed_count(&store), 8);
    assert_eq!(store.committed("stock")["widget"].version, 3);
}

#[tokio::test(start_paused = true)]
async fn update_if_version_of_a_missing_row_is_a_conflict_with_no_row() {
    let store = Store::new();
    let mut tx = store.begin(IsolationLevel::ReadCommitted).await;
    let error = tx
        .update_if_version("stock", "ghost", 1, json!(1))
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "version conflict on stock/ghost: expected version 1, found no row"
    );
}

#[tokio::test(start_paused = true)]
async fn repeatable_read_fails_the_second_writer_with_a_serialization_failure() {
    let store = stock_of_ten().await;
    let mut first = store.begin(IsolationLevel::RepeatableRead).await;
    let mut second = store.begin(IsolationLevel::RepeatableRead).await;
    let seen_by_first = count(&first.get("stock", "widget").await.unwrap().unwrap());
    let seen_by_second = count(&second.get("stock", "widget").await.unwrap().unwrap());

    first
        .upsert("stock", "widget", json!({ "count": seen_by_first - 1 }))
        .await
        .unwrap();
    first.commit().await.unwrap();

    let failure = second
        .upsert("stock", "widget", json!({ "count": seen_by_second - 1 }))
        .await
        .unwrap_err();
    assert_eq!(
        failure,
        StoreError::SerializationFailure {
            table: "stock".into(),
            key: "widget".into(),
            reason: ConflictReason::ConcurrentUpdate,
        }
    );
    assert!(failure.is_retryable());
    assert_eq!(
        failure.to_string(),
        "could not serialize access due to concurrent update on stock/widget"
    );
    second.rollback().await;

    // The retry takes a new snapshot and succeeds.
    let mut retry = store.begin(IsolationLevel::RepeatableRead).await;
    let seen = count(&retry.get("stock", "widget").await.unwrap().unwrap());
    retry
        .upsert("stock", "widget", json!({ "count": seen - 1 }))
        .await
        .unwrap();
    retry.commit().await.unwrap();
    assert_eq!(committed_count(&store), 8);
}

#[tokio::test(start_paused = true)]
async fn repeatable_read_waiting_for_a_lock_fails_if_the_holder_commits() {
    let store = stock_of_ten().await;
    let mut holder = store.begin(IsolationLevel::ReadCommitted).await;
    holder
        .upsert("stock", "widget", json!({ "count": 9 }))
        .await
        .unwrap();

    let waiter = tokio::spawn({
        let store = store.clone();
        async move {
            let mut waiter = store.begin(IsolationLevel::RepeatableRead).await;
            // The snapshot is taken here, before the holder commits.
            waiter.get("stock", "widget").await?;
            waiter.get_for_update("stock", "widget").await
        }
    });
    settle().await;
    assert!(!waiter.is_finished());
    holder.commit().await.unwrap();
    let result = waiter.await.unwrap();
    assert!(
        matches!(
            result,
            Err(StoreError::SerializationFailure {
                reason: ConflictReason::ConcurrentUpdate,
                ..
            })
        ),
        "{result:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn repeatable_read_waiting_for_a_lock_goes_on_if_the_holder_rolls_back() {
    let store = stock_of_ten().await;
    let mut holder = store.begin(IsolationLevel::ReadCommitted).await;
    holder
        .upsert("stock", "widget", json!({ "count": 0 }))
        .await
        .unwrap();

    let waiter = tokio::spawn({
        let store = store.clone();
        async move {
            let mut waiter = store.begin(IsolationLevel::RepeatableRead).await;
            let row = waiter.get_for_update("stock", "widget").await?;
            waiter.commit().await.map(|()| row)
        }
    });
    settle().await;
    holder.rollback().await;
    let row = waiter.await.unwrap().unwrap().unwrap();
    assert_eq!(count(&row), 10, "the rolled-back write was never visible");
}

#[tokio::test(start_paused = true)]
async fn repeatable_read_keeps_its_snapshot_and_read_committed_does_not() {
    let store = stock_of_ten().await;
    let mut repeatable = store.begin(IsolationLevel::RepeatableRead).await;
    let mut committed = store.begin(IsolationLevel::ReadCommitted).await;
    assert_eq!(
        count(&repeatable.get("stock", "widget").await.unwrap().unwrap()),
        10
    );
    assert_eq!(
        count(&committed.get("stock", "widget").await.unwrap().unwrap()),
        10
    );

    let mut writer = store.begin(IsolationLevel::ReadCommitted).await;
    writer
        .upsert("stock", "widget", json!({ "count": 3 }))
        .await
        .unwrap();
    writer
        .insert("stock", "gadget", json!({ "count": 1 }))
        .await
        .unwrap();
    writer.commit().await.unwrap();

    assert_eq!(
        count(&repeatable.get("stock", "widget").await.unwrap().unwrap()),
        10
    );
    assert_eq!(repeatable.get("stock", "gadget").await.unwrap(), None);
    assert_eq!(repeatable.scan("stock").await.unwrap().len(), 1);
    assert_eq!(
        count(&committed.get("stock", "widget").await.unwrap().unwrap()),
        3
    );
    assert_eq!(committed.scan("stock").await.unwrap().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn repeatable_read_snapshot_starts_at_the_first_statement_not_at_begin() {
    let store = stock_of_ten().await;
    let mut late = store.begin(IsolationLevel::RepeatableRead).await;
    let mut writer = store.begin(IsolationLevel::ReadCommitted).await;
    writer
        .upsert("stock", "widget", json!({ "count": 7 }))
        .await
        .unwrap();
    writer.commit().await.unwrap();
    assert_eq!(
        count(&late.get("stock", "widget").await.unwrap().unwrap()),
        7
    );
}

/// Two doctors are on call; each may go off call if the other is still on.
/// Each transaction checks "at least two on call", then takes only itself off:
/// they write different rows, so no write conflicts. That is write skew.
async fn go_off_call(
    store: &Store,
    isolation: IsolationLevel,
    doctor: &str,
) -> (broker::store::Transaction, bool) {
    let mut tx = store.begin(isolation).await;
    let on_call = tx
        .scan("doctors")
        .await
        .unwrap()
        .into_iter()
        .filter(|(_, row)| row.value["on_call"] == json!(true))
        .count();
    let leaves = on_call >= 2;
    if leaves {
        tx.upsert("doctors", doctor, json!({ "on_call": false }))
            .await
            .unwrap();
    }
    (tx, leaves)
}

async fn two_doctors_on_call() -> Store {
    let store = Store::new();
    let mut setup = store.begin(IsolationLevel::ReadCommitted).await;
    for doctor in ["alice", "bob"] {
        setup
            .insert("doctors", doctor, json!({ "on_call": true }))
            .await
            .unwrap();
    }
    setup.commit().await.unwrap();
    store
}

fn doctors_on_call(store: &Store) -> usize {
    store
        .committed("doctors")
        .values()
        .filter(|row| row.value["on_call"] == json!(true))
        .count()
}

#[tokio::test(start_paused = true)]
async fn repeatable_read_allows_write_skew() {
    let store = two_doctors_on_call().await;
    let (alice, alice_leaves) = go_off_call(&store, IsolationLevel::RepeatableRead, "alice").await;
    let (bob, bob_leaves) = go_off_call(&store, IsolationLevel::RepeatableRead, "bob").await;
    assert!(alice_leaves && bob_leaves);
    alice.commit().await.unwrap();
    bob.commit().await.unwrap();
    assert_eq!(doctors_on_call(&store), 0, "nobody is on call: write skew");
}

#[tokio::test(start_paused = true)]
async fn serializable_fails_the_second_commit_of_a_write_skew() {
    let store = two_doctors_on_call().await;
    let (alice, _) = go_off_call(&store, IsolationLevel::Serializable, "alice").await;
    let (bob, _) = go_off_call(&store, IsolationLevel::Serializable, "bob").await;
    alice.commit().await.unwrap();
    let failure = bob.commit().await.unwrap_err();
    assert_eq!(
        failure,
        StoreError::SerializationFailure {
            table: "doctors".into(),
            key: "alice".into(),
            reason: ConflictReason::ReadWriteDependency,
        }
    );
    assert_eq!(
        failure.to_string(),
        "could not serialize access due to read/write dependencies among transactions on doctors/alice"
    );
    // The retry sees alice gone and stays on call.
    let (bob, bob_leaves) = go_off_call(&store, IsolationLevel::Serializable, "bob").await;
    assert!(!bob_leaves);
    bob.commit().await.unwrap();
    assert_eq!(doctors_on_call(&store), 1);
}

#[tokio::test(start_paused = true)]
async fn serializable_checks_key_lookups_that_found_nothing() {
    // "Insert the order unless one exists", in two transactions: each looks
    // up its own key and the other's, finds nothing, and inserts its own.
    let store = Store::new();
    let mut first = store.begin(IsolationLevel::Serializable).await;
    let mut second = store.begin(IsolationLevel::Serializable).await;
    assert_eq!(first.get("orders", "b").await.unwrap(), None);
    assert_eq!(second.get("orders", "a").await.unwrap(), None);
    first.insert("orders", "a", json!(1)).await.unwrap();
    second.insert("orders", "b", json!(1)).await.unwrap();
    first.commit().await.unwrap();
    assert!(matches!(
        second.commit().await,
        Err(StoreError::SerializationFailure { .. })
    ));
    assert_eq!(store.committed("orders").len(), 1);
}

#[tokio::test(start_paused = true)]
async fn insert_of_an_existing_key_is_a_unique_violation_and_aborts() {
    let store = stock_of_ten().await;
    let mut tx = store.begin(IsolationLevel::ReadCommitted).await;
    tx.insert("stock", "gadget", json!({ "count": 1 }))
        .await
        .unwrap();
    let error = tx
        .insert("stock", "widget", json!({ "count": 1 }))
        .await
        .unwrap_err();
    assert_eq!(
        error,
        StoreError::UniqueViolation {
            table: "stock".into(),
            key: "widget".into()
        }
    );
    assert_eq!(
        error.to_string(),
        "duplicate key value violates unique constraint: stock/widget already exists"
    );
    assert!(!error.is_retryable());
    assert!(tx.is_aborted());
    assert_eq!(tx.commit().await, Err(StoreError::TransactionAborted));
    assert!(!store.committed("stock").contains_key("gadget"));
}

#[tokio::test(start_paused = true)]
async fn inserting_your_own_deleted_key_again_is_allowed_and_restarts_the_version() {
    let store = stock_of_ten().await;
    let mut tx = store.begin(IsolationLevel::ReadCommitted).await;
    assert!(tx.delete("stock", "widget").await.unwrap());
    assert!(!tx.delete("stock", "widget").await.unwrap());
    let row = tx
        .insert("stock", "widget", json!({ "count": 1 }))
        .await
        .unwrap();
    assert_eq!(row.version, 1);
    tx.commit().await.unwrap();
    assert_eq!(store.committed("stock")["widget"].version, 1);
}

#[tokio::test(start_paused = true)]
async fn a_concurrent_insert_of_the_same_key_waits_for_the_first_to_end() {
    for first_commits in [true, false] {
        let store = Store::new();
        let mut first = store.begin(IsolationLevel::ReadCommitted).await;
        first.insert("orders", "o-1", json!("first")).await.unwrap();
        let second = tokio::spawn({
            let store = store.clone();
            async move {
                let mut second = store.begin(IsolationLevel::ReadCommitted).await;
                second.insert("orders", "o-1", json!("second")).await?;
                second.commit().await
            }
        });
        settle().await;
        assert!(!second.is_finished(), "the second insert waits");
        if first_commits {
            first.commit().await.unwrap();
            assert!(matches!(
                second.await.unwrap(),
                Err(StoreError::UniqueViolation { .. })
            ));
            assert_eq!(store.committed("orders")["o-1"].value, json!("first"));
        } else {
            first.rollback().await;
            second.await.unwrap().unwrap();
            assert_eq!(store.committed("orders")["o-1"].value, json!("second"));
        }
    }
}

#[tokio::test(start_paused = true)]
async fn after_a_failed_statement_only_the_end_of_the_transaction_is_allowed() {
    let store = stock_of_ten().await;
    let mut tx = store.begin(IsolationLevel::ReadCommitted).await;
    tx.upsert("stock", "widget", json!({ "count": 0 }))
        .await
        .unwrap();
    tx.insert("stock", "widget", json!({})).await.unwrap_err();

    assert_eq!(
        tx.get("stock", "widget").await,
        Err(StoreError::TransactionAborted)
    );
    assert_eq!(tx.scan("stock").await, Err(StoreError::TransactionAborted));
    assert_eq!(
        tx.upsert("stock", "other", json!(1)).await,
        Err(StoreError::TransactionAborted)
    );
    assert_eq!(
        StoreError::TransactionAborted.to_string(),
        "current transaction is aborted, commands ignored until end of transaction block"
    );
    assert_eq!(tx.commit().await, Err(StoreError::TransactionAborted));
    assert_eq!(
        committed_count(&store),
        10,
        "the write before the failure rolled back"
    );
    assert!(store.row_locks().is_empty());
    assert!(store.open_transactions().is_empty());
}

#[tokio::test(start_paused = true)]
async fn an_unavailable_database_fails_statements_and_commits_and_keeps_its_data() {
    let store = stock_of_ten().await;
    let mut before = store.begin(IsolationLevel::ReadCommitted).await;
    before
        .upsert("stock", "widget", json!({ "count": 1 }))
        .await
        .unwrap();

    store.set_unavailable(true);
    assert!(store.is_unavailable());
    assert_eq!(before.commit().await, Err(StoreError::Unavailable));
    let mut during = store.begin(IsolationLevel::ReadCommitted).await;
    assert_eq!(
        during.get("stock", "widget").await,
        Err(StoreError::Unavailable)
    );
    assert_eq!(
        during.get("stock", "widget").await,
        Err(StoreError::TransactionAborted)
    );
    drop(during);

    store.set_unavailable(false);
    assert_eq!(committed_count(&store), 10);
    let mut after = store.begin(IsolationLevel::ReadCommitted).await;
    assert_eq!(
        count(&after.get("stock", "widget").await.unwrap().unwrap()),
        10
    );
}

#[tokio::test(start_paused = true)]
async fn a_transaction_reads_its_own_writes_and_versions_count_every_write() {
    let store = Store::new();
    let mut tx = store.begin(IsolationLevel::Serializable).await;
    assert_eq!(tx.insert("t", "k", json!("a")).await.unwrap().version, 1);
    assert_eq!(tx.upsert("t", "k", json!("b")).await.unwrap().version, 2);
    assert_eq!(
        tx.update_if_version("t", "k", 2, json!("c"))
            .await
            .unwrap()
            .version,
        3
    );
    tx.insert("t", "j", json!("x")).await.unwrap();
    assert_eq!(tx.get("t", "k").await.unwrap().unwrap().value, json!("c"));
    let keys: Vec<String> = tx
        .scan("t")
        .await
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(keys, ["j", "k"]);
    assert!(
        store.committed("t").is_empty(),
        "nothing visible before commit"
    );
    tx.delete("t", "j").await.unwrap();
    assert_eq!(tx.scan("t").await.unwrap().len(), 1);
    tx.commit().await.unwrap();
    let committed = store.committed("t");
    assert_eq!(committed.len(), 1);
    assert_eq!(
        committed["k"],
        Row {
            version: 3,
            value: json!("c")
        }
    );
}

#[tokio::test(start_paused = true)]
async fn serializable_counts_a_delete_that_found_nothing_as_a_read() {
    // Found by the serializability property test: the second transaction's
    // snapshot has no row to delete, but the first commits one while the
    // second waits for the lock. Committing the second would claim it ran
    // after the first, having seen no row: not serializable.
    let store = Store::new();
    let mut first = store.begin(IsolationLevel::Serializable).await;
    first.upsert("t", "c", json!(0)).await.unwrap();
    let second = tokio::spawn({
        let store = store.clone();
        async move {
            let mut second = store.begin(IsolationLevel::Serializable).await;
            let deleted = second.delete("t", "c").await?;
            second.commit().await.map(|()| deleted)
        }
    });
    settle().await;
    first.commit().await.unwrap();
    assert!(matches!(
        second.await.unwrap(),
        Err(StoreError::SerializationFailure {
            reason: ConflictReason::ReadWriteDependency,
            ..
        })
    ));
    assert!(store.committed("t").contains_key("c"));
}

#[tokio::test(start_paused = true)]
async fn an_old_snapshot_still_reads_its_version_after_many_commits() {
    let store = stock_of_ten().await;
    let mut old = store.begin(IsolationLevel::RepeatableRead).await;
    assert_eq!(
        count(&old.get("stock", "widget").await.unwrap().unwrap()),
        10
    );
    for n in (0..5).rev() {
        let mut writer = store.begin(IsolationLevel::ReadCommitted).await;
        writer
            .upsert("stock", "widget", json!({ "count": n }))
            .await
            .unwrap();
        writer.commit().await.unwrap();
    }
    // Old versions are pruned as they are overwritten, but never the one an
    // open snapshot still needs.
    assert_eq!(
        count(&old.get("stock", "widget").await.unwrap().unwrap()),
        10
    );
    old.commit().await.unwrap();
    assert_eq!(committed_count(&store), 0);
    assert_eq!(store.committed("stock")["widget"].version, 6);
}

#[tokio::test(start_paused = true)]
async fn repeatable_read_meeting_a_row_inserted_after_its_snapshot() {
    let store = Store::new();
    let mut late = store.begin(IsolationLevel::RepeatableRead).await;
    assert_eq!(late.get("orders", "o-1").await.unwrap(), None);
    let mut writer = store.begin(IsolationLevel::ReadCommitted).await;
    writer.insert("orders", "o-1", json!("new")).await.unwrap();
    writer.commit().await.unwrap();

    // Not visible, so not found: zero rows deleted, no error...
    assert!(!late.delete("orders", "o-1").await.unwrap());
    // ...a plain insert hits the unique key, as in PostgreSQL...
    let mut inserter = store.begin(IsolationLevel::RepeatableRead).await;
    inserter.get("orders", "other").await.unwrap();
    let mut writer = store.begin(IsolationLevel::ReadCommitted).await;
    writer.insert("orders", "o-2", json!("new")).await.unwrap();
    writer.commit().await.unwrap();
    assert!(matches!(
        inserter.insert("orders", "o-2", json!("mine")).await,
        Err(StoreError::UniqueViolation { .. })
    ));
    // ...and an upsert (ON CONFLICT DO UPDATE) is a serialization failure.
    assert!(matches!(
        late.upsert("orders", "o-1", json!("mine")).await,
        Err(StoreError::SerializationFailure {
            reason: ConflictReason::ConcurrentUpdate,
            ..
        })
    ));
}

#[tokio::test(start_paused = true)]
async fn repeatable_read_cannot_delete_a_row_changed_after_its_snapshot() {
    let store = stock_of_ten().await;
    let mut late = store.begin(IsolationLevel::RepeatableRead).await;
    late.get("stock", "widget").await.unwrap();
    let mut writer = store.begin(IsolationLevel::ReadCommitted).await;
    writer
        .upsert("stock", "widget", json!({ "count": 4 }))
        .await
        .unwrap();
    writer.commit().await.unwrap();
    assert!(matches!(
        late.delete("stock", "widget").await,
        Err(StoreError::SerializationFailure { .. })
    ));
    assert_eq!(committed_count(&store), 4);
}

/// `SET count = count - 1 WHERE count >= 1` as one statement.
fn take_one(value: &serde_json::Value) -> Option<serde_json::Value> {
    let count = value["count"].as_i64()?;
    (count >= 1).then(|| json!({ "count": count - 1 }))
}

#[tokio::test(start_paused = true)]
async fn an_atomic_update_under_read_committed_loses_nothing() {
    let store = stock_of_ten().await;
    let mut first = store.begin(IsolationLevel::default()).await;
    let mut second = store.begin(IsolationLevel::default()).await;
    let written = first
        .update_with("stock", "widget", take_one)
        .await
        .unwrap();
    assert_eq!(written.map(|row| count(&row)), Some(9));

    // The second waits for the first's row lock, then recomputes from the
    // version the first committed (9), not the 10 it could have read before.
    let waiting = tokio::spawn(async move {
        let written = second.update_with("stock", "widget", take_one).await;
        second.commit().await.map(|()| written)
    });
    settle().await;
    assert!(!waiting.is_finished(), "waits for the row lock");
    first.commit().await.unwrap();
    let written = waiting.await.unwrap().unwrap().unwrap();
    assert_eq!(written.map(|row| count(&row)), Some(8));
    assert_eq!(committed_count(&store), 8);
}

#[tokio::test(start_paused = true)]
async fn an_atomic_update_whose_where_fails_writes_nothing() {
    let store = Store::new();
    let mut setup = store.begin(IsolationLevel::default()).await;
    setup
        .insert("stock", "widget", json!({ "count": 0 }))
        .await
        .unwrap();
    setup.commit().await.unwrap();

    let mut tx = store.begin(IsolationLevel::default()).await;
    assert_eq!(tx.update_with("stock", "widget", take_one).await, Ok(None));
    assert_eq!(
        tx.update_with("stock", "gadget", take_one).await,
        Ok(None),
        "no such row"
    );
    tx.commit().await.unwrap();
    assert_eq!(committed_count(&store), 0);
    assert_eq!(store.committed("stock")["widget"].version, 1, "not written");
}

#[tokio::test(start_paused = true)]
async fn an_atomic_update_under_repeatable_read_fails_on_a_concurrent_update() {
    let store = stock_of_ten().await;
    let mut first = store.begin(IsolationLevel::RepeatableRead).await;
    first.get("stock", "widget").await.unwrap(); // takes the snapshot
    let mut second = store.begin(IsolationLevel::default()).await;
    second
        .update_with("stock", "widget", take_one)
        .await
        .unwrap();
    second.commit().await.unwrap();
    assert!(matches!(
        first.update_with("stock", "widget", take_one).await,
        Err(StoreError::SerializationFailure {
            reason: ConflictReason::ConcurrentUpdate,
            ..
        })
    ));
}

#[tokio::test(start_paused = true)]
async fn innodb_repeatable_read_loses_the_update_without_an_error() {
    let store = stock_of_ten().await;
    let mut first = store.begin(IsolationLevel::InnoDbRepeatableRead).await;
    let mut second = store.begin(IsolationLevel::InnoDbRepeatableRead).await;
    let seen_by_first = count(&first.get("stock", "widget").await.unwrap().unwrap());
    let seen_by_second = count(&second.get("stock", "widget").await.unwrap().unwrap());
    first
        .upsert("stock", "widget", json!({ "count": seen_by_first - 1 }))
        .await
        .unwrap();
    first.commit().await.unwrap();
    // PostgreSQL's repeatable read fails here; InnoDB's writes over it.
    second
        .upsert("stock", "widget", json!({ "count": seen_by_second - 1 }))
        .await
        .unwrap();
    second.commit().await.unwrap();
    assert_eq!(committed_count(&store), 9, "one update lost, and no error");
}

#[tokio::test(start_paused = true)]
async fn innodb_repeatable_read_locking_read_sees_the_latest_row() {
    let store = stock_of_ten().await;
    let mut first = store.begin(IsolationLevel::InnoDbRepeatableRead).await;
    let mut second = store.begin(IsolationLevel::InnoDbRepeatableRead).await;
    // Both take their snapshot (10) before either writes.
    first.get("stock", "widget").await.unwrap();
    second.get("stock", "widget").await.unwrap();
    let locked = count(
        &first
            .get_for_update("stock", "widget")
            .await
            .unwrap()
            .unwrap(),
    );
    first
        .upsert("stock", "widget", json!({ "count": locked - 1 }))
        .await
        .unwrap();
    first.commit().await.unwrap();
    // A plain read still sees the snapshot; the locking read, the latest.
    assert_eq!(
        count(&second.get("stock", "widget").await.unwrap().unwrap()),
        10
    );
    let locked = count(
        &second
            .get_for_update("stock", "widget")
            .await
            .unwrap()
            .unwrap(),
    );
    assert_eq!(locked, 9);
    second
        .upsert("stock", "widget", json!({ "count": locked - 1 }))
        .await
        .unwrap();
    second.commit().await.unwrap();
    assert_eq!(committed_count(&store), 8);
}

//! Row locks: waiting, release on every way a transaction can end, deadlock
//! detection, and durability when everything but the store is gone.
//!
//! Tests run on tokio's paused clock, so "let the other tasks run until they
//! block" is exact (see `settle`) and timeouts cost no real time.

use std::time::Duration;

use broker::store::{IsolationLevel, Store, StoreError, Transaction};
use serde_json::json;
use tokio::task::JoinHandle;

/// Lets every spawned task run until it is blocked. The clock is paused, so
/// the sleep only ends once the runtime has nothing else to do.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(1)).await;
}

fn row(table: &str, key: &str) -> (String, String) {
    (table.to_string(), key.to_string())
}

/// A transaction holding the lock on `accounts/alice`.
async fn holding_alice(store: &Store) -> Transaction {
    let mut tx = store.begin(IsolationLevel::ReadCommitted).await;
    tx.upsert("accounts", "alice", json!(100)).await.unwrap();
    tx
}

/// Spawns a transaction that waits for `accounts/alice`, writes `value` and
/// commits; it returns the row it locked.
fn spawn_writer(store: &Store, value: i64) -> JoinHandle<Result<Option<i64>, StoreError>> {
    let store = store.clone();
    tokio::spawn(async move {
        let mut tx = store.begin(IsolationLevel::ReadCommitted).await;
        let seen = tx.get_for_update("accounts", "alice").await?;
        tx.upsert("accounts", "alice", json!(value)).await?;
        tx.commit().await?;
        Ok(seen.and_then(|row| row.value.as_i64()))
    })
}

#[tokio::test(start_paused = true)]
async fn a_lock_wait_ends_when_the_holder_commits() {
    let store = Store::new();
    let holder = holding_alice(&store).await;
    let waiter = spawn_writer(&store, 1);
    settle().await;
    assert!(!waiter.is_finished());
    holder.commit().await.unwrap();
    assert_eq!(waiter.await.unwrap(), Ok(Some(100)));
}

#[tokio::test(start_paused = true)]
async fn a_lock_wait_ends_when_the_holder_rolls_back() {
    let store = Store::new();
    let holder = holding_alice(&store).await;
    let waiter = spawn_writer(&store, 1);
    settle().await;
    assert!(!waiter.is_finished());
    holder.rollback().await;
    assert_eq!(
        waiter.await.unwrap(),
        Ok(None),
        "the rolled-back insert never existed"
    );
}

#[tokio::test(start_paused = true)]
async fn a_lock_wait_ends_when_the_holder_is_dropped() {
    let store = Store::new();
    let holder = holding_alice(&store).await;
    let waiter = spawn_writer(&store, 1);
    settle().await;
    assert!(!waiter.is_finished());
    drop(holder);
    assert_eq!(waiter.await.unwrap(), Ok(None));
    assert_eq!(store.committed("accounts")["alice"].value, json!(1));
}

#[tokio::test(start_paused = true)]
async fn a_crashed_service_leaves_no_lock_behind() {
    let store = Store::new();
    // The "service" takes a lock and then dies: its task is aborted while it
    // waits on something else, which drops its transaction.
    let service = tokio::spawn({
        let store = store.clone();
        async move {
            let mut tx = store.begin(IsolationLevel::ReadCommitted).await;
            tx.upsert("accounts", "alice", json!(5)).await.unwrap();
            std::future::pending::<()>().await;
        }
    });
    settle().await;
    assert_eq!(store.row_locks().len(), 1);
    let waiter = spawn_writer(&store, 7);
    settle().await;
    assert!(!waiter.is_finished());

    service.abort();
    assert!(service.await.unwrap_err().is_cancelled());
    assert_eq!(waiter.await.unwrap(), Ok(None));
    assert!(store.row_locks().is_empty());
    assert!(store.open_transactions().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_panicking_service_leaves_no_lock_behind() {
    let store = Store::new();
    let service = tokio::spawn({
        let store = store.clone();
        async move {
            let mut tx = store.begin(IsolationLevel::ReadCommitted).await;
            tx.upsert("accounts", "alice", json!(5)).await.unwrap();
            panic!("the service crashes mid-transaction");
        }
    });
    assert!(service.await.unwrap_err().is_panic());
    assert!(store.row_locks().is_empty());
    assert!(store.committed("accounts").is_empty());
}

#[tokio::test(start_paused = true)]
async fn waiters_get_the_lock_in_arrival_order() {
    let store = Store::new();
    let holder = holding_alice(&store).await;
    let mut waiters = Vec::new();
    for value in [1, 2, 3] {
        waiters.push(spawn_writer(&store, value));
        settle().await;
    }
    holder.commit().await.unwrap();
    let mut seen = Vec::new();
    for waiter in waiters {
        seen.push(waiter.await.unwrap().unwrap());
    }
    // Each waiter saw the value its predecessor committed.
    assert_eq!(seen, [Some(100), Some(1), Some(2)]);
    let positions: Vec<u64> = store
        .changes_since(0)
        .iter()
        .map(|change| change.transaction)
        .collect();
    assert_eq!(positions, [1, 2, 3, 4], "commit order is arrival order");
}

#[tokio::test(start_paused = true)]
async fn a_wait_that_would_close_a_cycle_is_a_deadlock() {
    let store = Store::new();
    let mut first = store.begin(IsolationLevel::ReadCommitted).await;
    let mut second = store.begin(IsolationLevel::ReadCommitted).await;
    first.upsert("accounts", "alice", json!(1)).await.unwrap();
    second.upsert("accounts", "bob", json!(1)).await.unwrap();

    // First waits for bob (held by second)...
    let first_waits = tokio::spawn(async move {
        first.upsert("accounts", "bob", json!(2)).await?;
        first.commit().await
    });
    settle().await;
    assert!(!first_waits.is_finished());

    // ...so second waiting for alice would wait forever.
    let deadlock = second
        .get_for_update("accounts", "alice")
        .await
        .unwrap_err();
    assert_eq!(
        deadlock,
        StoreError::Deadlock {
            table: "accounts".into(),
            key: "alice".into(),
            holder: 1
        }
    );
    assert!(deadlock.is_retryable());
    assert_eq!(
        deadlock.to_string(),
        "deadlock detected: waiting for accounts/alice, held by transaction 1, would wait forever"
    );
    assert!(second.is_aborted());
    // As in PostgreSQL and InnoDB (tests/conformance checks both), the
    // victim's locks go with the error, not at its rollback: first gets bob
    // and commits while second is still open.
    settle().await;
    assert!(first_waits.is_finished());
    first_waits.await.unwrap().unwrap();
    assert_eq!(store.open_transactions(), [second.id()]);
    drop(second);
    let committed = store.committed("accounts");
    assert_eq!(committed["alice"].value, json!(1));
    assert_eq!(committed["bob"].value, json!(2));
}

#[tokio::test(start_paused = true)]
async fn any_error_releases_the_locks_before_the_rollback() {
    let store = Store::new();
    let mut setup = store.begin(IsolationLevel::ReadCommitted).await;
    setup.insert("stock", "widget", json!(10)).await.unwrap();
    setup.commit().await.unwrap();

    // `stale` reads the widget at repeatable read and locks alice.
    let mut stale = store.begin(IsolationLevel::RepeatableRead).await;
    stale.get("stock", "widget").await.unwrap();
    stale.upsert("accounts", "alice", json!(1)).await.unwrap();
    let waiter = spawn_writer(&store, 2);
    settle().await;
    assert!(!waiter.is_finished(), "alice is locked by stale");

    // Someone else changes the widget; stale's write to it must fail.
    let mut other = store.begin(IsolationLevel::ReadCommitted).await;
    other.upsert("stock", "widget", json!(9)).await.unwrap();
    other.commit().await.unwrap();
    assert!(matches!(
        stale.upsert("stock", "widget", json!(9)).await,
        Err(StoreError::SerializationFailure { .. })
    ));
    // PostgreSQL frees an aborted transaction's locks at the error: the
    // waiter goes on although stale has not rolled back yet.
    settle().await;
    assert!(waiter.is_finished());
    assert_eq!(waiter.await.unwrap(), Ok(None));
    assert!(store.row_locks().is_empty());
    assert_eq!(stale.commit().await, Err(StoreError::TransactionAborted));
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_wait_releases_the_locks_already_held() {
    let store = Store::new();
    let holder = holding_alice(&store).await;
    let mut impatient = store.begin(IsolationLevel::ReadCommitted).await;
    impatient.upsert("accounts", "bob", json!(1)).await.unwrap();
    let waited = tokio::time::timeout(
        Duration::from_secs(1),
        impatient.get_for_update("accounts", "alice"),
    )
    .await;
    assert!(waited.is_err(), "the lock is held, so the wait times out");
    // A cancelled statement is an error: bob is free again at once.
    assert_eq!(store.row_locks().get(&row("accounts", "bob")), None);
    assert!(impatient.is_aborted());
    holder.rollback().await;
    drop(impatient);
    assert!(store.row_locks().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_cycle_of_three_is_a_deadlock_too() {
    let store = Store::new();
    let mut transactions = Vec::new();
    for key in ["a", "b", "c"] {
        let mut tx = store.begin(IsolationLevel::ReadCommitted).await;
        tx.upsert("t", key, json!(0)).await.unwrap();
        transactions.push(tx);
    }
    let mut third = transactions.pop().unwrap();
    let mut waiting = Vec::new();
    // 1 waits for b (held by 2), 2 waits for c (held by 3).
    for (mut tx, key) in transactions.into_iter().zip(["b", "c"]) {
        waiting.push(tokio::spawn(async move {
            tx.get_for_update("t", key).await?;
            tx.commit().await
        }));
        settle().await;
    }
    // 3 waiting for a (held by 1) closes the cycle.
    assert!(matches!(
        third.get_for_update("t", "a").await,
        Err(StoreError::Deadlock { holder: 1, .. })
    ));
    third.rollback().await;
    for tx in waiting {
        tx.await.unwrap().unwrap();
    }
    assert!(store.row_locks().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_wait_aborts_the_transaction_and_leaves_the_queue() {
    let store = Store::new();
    let holder = holding_alice(&store).await;
    let mut impatient = store.begin(IsolationLevel::ReadCommitted).await;
    // Like `lock_timeout`: give up after a second of (virtual) time.
    let waited = tokio::time::timeout(
        Duration::from_secs(1),
        impatient.get_for_update("accounts", "alice"),
    )
    .await;
    assert!(waited.is_err(), "the lock is held, so the wait times out");
    assert!(impatient.is_aborted());
    assert_eq!(
        impatient.get("accounts", "alice").await,
        Err(StoreError::TransactionAborted)
    );

    // The lock goes to the next real waiter, not to the one that left.
    let patient = spawn_writer(&store, 3);
    settle().await;
    holder.commit().await.unwrap();
    assert_eq!(patient.await.unwrap(), Ok(Some(100)));
    drop(impatient);
    assert!(store.row_locks().is_empty());
}

#[tokio::test(start_paused = true)]
async fn committed_data_survives_when_everything_but_the_store_is_dropped() {
    let store = Store::new();
    let durable = store.clone();
    // A "service" with its own clone of the store commits one order, begins
    // another, and then everything it owned is dropped.
    {
        let service_store = store;
        let mut tx = service_store.begin(IsolationLevel::ReadCommitted).await;
        tx.insert("orders", "o-1", json!({ "total": 5 }))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let mut unfinished = service_store.begin(IsolationLevel::Serializable).await;
        unfinished
            .insert("orders", "o-2", json!({ "total": 7 }))
            .await
            .unwrap();
    }
    let orders = durable.committed("orders");
    assert_eq!(orders.keys().collect::<Vec<_>>(), ["o-1"]);
    assert_eq!(orders["o-1"].value, json!({ "total": 5 }));
    assert!(durable.row_locks().is_empty());
    assert!(durable.open_transactions().is_empty());
    assert_eq!(durable.changes_since(0).len(), 1);
    // A restarted service sees the committed order and can write the other.
    let mut restarted = durable.begin(IsolationLevel::ReadCommitted).await;
    restarted
        .insert("orders", "o-2", json!({ "total": 7 }))
        .await
        .unwrap();
    restarted.commit().await.unwrap();
    assert_eq!(durable.committed("orders").len(), 2);
}

#[tokio::test(start_paused = true)]
async fn row_locks_name_their_holder() {
    let store = Store::new();
    let mut tx = store.begin(IsolationLevel::ReadCommitted).await;
    tx.get_for_update("accounts", "nobody").await.unwrap();
    tx.delete("accounts", "ghost").await.unwrap();
    let locks = store.row_locks();
    assert_eq!(locks.get(&row("accounts", "nobody")), Some(&tx.id()));
    assert_eq!(locks.get(&row("accounts", "ghost")), Some(&tx.id()));
    tx.rollback().await;
    assert!(store.row_locks().is_empty());
}

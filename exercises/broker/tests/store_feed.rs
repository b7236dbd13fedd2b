//! The change feed: what a CDC tailer reads.
//!
//! Tests run on tokio's paused clock, so a tailer waiting for changes is
//! woken by commits alone, never by real time.

use std::time::Duration;

use broker::store::{Change, ChangeKind, IsolationLevel, Row, Store};
use serde_json::json;

/// Lets every spawned task run until it is blocked. The clock is paused, so
/// the sleep only ends once the runtime has nothing else to do.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(1)).await;
}

fn summary(changes: &[Change]) -> Vec<(u64, u64, &str, ChangeKind)> {
    changes
        .iter()
        .map(|change| {
            (
                change.position,
                change.transaction,
                change.key.as_str(),
                change.kind,
            )
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn committed_writes_appear_in_commit_order_at_gap_free_positions() {
    let store = Store::new();
    assert_eq!(store.head(), 0);
    assert!(store.changes_since(0).is_empty());

    let mut early = store.begin(IsolationLevel::ReadCommitted).await; // 1
    let mut late = store.begin(IsolationLevel::ReadCommitted).await; // 2
    let mut rolled_back = store.begin(IsolationLevel::ReadCommitted).await; // 3
    early
        .insert("orders", "o-1", json!({ "total": 5 }))
        .await
        .unwrap();
    late.insert("orders", "o-2", json!({ "total": 7 }))
        .await
        .unwrap();
    rolled_back
        .insert("orders", "o-3", json!({}))
        .await
        .unwrap();
    late.upsert("orders", "o-2", json!({ "total": 8 }))
        .await
        .unwrap();
    early
        .insert("outbox", "e-1", json!("OrderPlaced"))
        .await
        .unwrap();
    // The transaction that began last commits first: the feed follows
    // commits, not begins, and keeps each transaction's writes together.
    late.commit().await.unwrap();
    rolled_back.rollback().await;
    early.commit().await.unwrap();

    let mut deleter = store.begin(IsolationLevel::ReadCommitted).await; // 4
    deleter.delete("orders", "o-1").await.unwrap();
    deleter.delete("orders", "never-existed").await.unwrap();
    deleter.commit().await.unwrap();

    let changes = store.changes_since(0);
    assert_eq!(
        summary(&changes),
        [
            (1, 2, "o-2", ChangeKind::Insert),
            (2, 2, "o-2", ChangeKind::Update),
            (3, 1, "o-1", ChangeKind::Insert),
            (4, 1, "e-1", ChangeKind::Insert),
            (5, 4, "o-1", ChangeKind::Delete),
        ]
    );
    assert_eq!(
        changes[1].row,
        Some(Row {
            version: 2,
            value: json!({ "total": 8 })
        })
    );
    assert_eq!(changes[3].table, "outbox");
    assert_eq!(changes[4].row, None);
    assert_eq!(store.head(), 5);
}

#[tokio::test(start_paused = true)]
async fn a_tailer_resumes_from_its_stored_position_and_misses_nothing() {
    let store = Store::new();
    for n in 1..=5 {
        let mut tx = store.begin(IsolationLevel::ReadCommitted).await;
        tx.insert("events", &format!("e-{n}"), json!(n))
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    // The tailer handles the first three changes, stores position 3, crashes.
    let handled: Vec<Change> = store.changes_since(0).into_iter().take(3).collect();
    let stored_position = handled.last().map_or(0, |change| change.position);
    assert_eq!(stored_position, 3);

    // Meanwhile more is committed.
    let mut tx = store.begin(IsolationLevel::ReadCommitted).await;
    tx.insert("events", "e-6", json!(6)).await.unwrap();
    tx.commit().await.unwrap();

    // The restarted tailer resumes exactly after what it handled.
    let rest = store.changes_since(stored_position);
    let keys: Vec<&str> = rest.iter().map(|change| change.key.as_str()).collect();
    assert_eq!(keys, ["e-4", "e-5", "e-6"]);
    assert_eq!(rest[0].position, 4);
    assert!(store.changes_since(6).is_empty());
    assert!(store.changes_since(u64::MAX).is_empty());
}

#[tokio::test(start_paused = true)]
async fn waiting_for_changes_ends_at_the_next_commit_that_writes() {
    let store = Store::new();
    let waiter = tokio::spawn({
        let store = store.clone();
        async move {
            store.wait_for_changes(0).await;
            store.changes_since(0)
        }
    });
    settle().await;
    assert!(!waiter.is_finished(), "nothing is committed yet");

    // A rollback and a read-only commit write nothing: still waiting.
    let mut rolled_back = store.begin(IsolationLevel::ReadCommitted).await;
    rolled_back.insert("t", "k", json!(1)).await.unwrap();
    rolled_back.rollback().await;
    let mut read_only = store.begin(IsolationLevel::ReadCommitted).await;
    read_only.get("t", "k").await.unwrap();
    read_only.commit().await.unwrap();
    settle().await;
    assert!(!waiter.is_finished());

    let mut writer = store.begin(IsolationLevel::ReadCommitted).await;
    writer.insert("t", "k", json!(2)).await.unwrap();
    writer.commit().await.unwrap();
    let seen = waiter.await.unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].row.as_ref().map(|row| &row.value), Some(&json!(2)));
}

#[tokio::test(start_paused = true)]
async fn waiting_for_changes_returns_at_once_when_some_exist() {
    let store = Store::new();
    let mut tx = store.begin(IsolationLevel::ReadCommitted).await;
    tx.insert("t", "k", json!(1)).await.unwrap();
    tx.commit().await.unwrap();
    // Not even virtual time passes.
    let start = tokio::time::Instant::now();
    store.wait_for_changes(0).await;
    assert_eq!(start.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn a_cdc_tailer_sees_every_commit_of_a_concurrent_writer_once_in_order() {
    let store = Store::new();
    let tailer = tokio::spawn({
        let store = store.clone();
        async move {
            let mut position = 0;
            let mut seen = Vec::new();
            while seen.len() < 10 {
                store.wait_for_changes(position).await;
                for change in store.changes_since(position) {
                    assert_eq!(change.position, position + 1, "no gap, no repeat");
                    position = change.position;
                    seen.push(change.key);
                }
            }
            seen
        }
    });
    // Commits of one and of two writes, with the tailer running in between.
    let mut written = Vec::new();
    let mut n = 0;
    while n < 10 {
        let mut tx = store.begin(IsolationLevel::ReadCommitted).await;
        for _ in 0..(1 + n % 2) {
            n += 1;
            let key = format!("k-{n:02}");
            tx.insert("t", &key, json!(n)).await.unwrap();
            written.push(key);
        }
        tx.commit().await.unwrap();
        settle().await;
    }
    assert_eq!(tailer.await.unwrap(), written);
}

/// `inspect_committed` and `inspect_changes_since` show exactly what
/// `committed` and `changes_since` copy, ignoring what is not committed.
#[tokio::test(start_paused = true)]
async fn the_borrowing_views_show_what_the_copies_show() {
    let store = Store::new();
    let mut first = store.begin(IsolationLevel::ReadCommitted).await;
    first
        .insert("payloads", "p-1", json!({ "content": "large" }))
        .await
        .unwrap();
    first
        .insert("payloads", "p-2", json!({ "content": "larger" }))
        .await
        .unwrap();
    first.commit().await.unwrap();
    let mut second = store.begin(IsolationLevel::ReadCommitted).await;
    second.delete("payloads", "p-1").await.unwrap();
    second.commit().await.unwrap();
    let mut open = store.begin(IsolationLevel::ReadCommitted).await;
    open.insert("payloads", "p-3", json!({})).await.unwrap();

    let copied = store.committed("payloads");
    store.inspect_committed("payloads", |rows| {
        let borrowed: Vec<(&str, &Row)> = rows.iter().map(|(key, row)| (*key, *row)).collect();
        let expected: Vec<(&str, &Row)> = copied
            .iter()
            .map(|(key, row)| (key.as_str(), row))
            .collect();
        assert_eq!(borrowed, expected);
        assert_eq!(rows.keys().copied().collect::<Vec<_>>(), ["p-2"]);
    });
    assert!(store.inspect_committed("nothing", |rows| rows.is_empty()));
    let changes = store.changes_since(1);
    store.inspect_changes_since(1, |borrowed| assert_eq!(borrowed, changes.as_slice()));
    assert_eq!(store.inspect_changes_since(0, <[Change]>::len), 3);
    open.rollback().await;
}

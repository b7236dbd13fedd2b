//! One test per broker semantic. Every test pauses tokio's clock
//! (`start_paused = true`): a 60-second lock or a 10-minute window then costs
//! nothing, and the instants are exact, so the assertions can be too.

use std::time::Duration;

use broker::{
    Broker, BrokerError, Feature, MAX_DELIVERY_COUNT_EXCEEDED, Message, QueueOptions,
    ReceiveOptions, SubscriptionFilter, SubscriptionOptions, TTL_EXPIRED, Tier, TopicOptions,
    dead_letter_path, subscription_path,
};
use tokio::time::{Instant, advance, sleep};

fn broker_with_queue(options: QueueOptions) -> Broker {
    let broker = Broker::new();
    broker.create_queue("orders", options).unwrap();
    broker
}

async fn try_receive(client: &broker::Client, path: &str) -> Option<broker::Delivery> {
    client
        .receive_with(path, ReceiveOptions::wait_at_most(Duration::ZERO))
        .await
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn the_envelope_carries_what_the_broker_knows() {
    let broker = broker_with_queue(QueueOptions::default());
    let client = broker.client("shop");
    advance(Duration::from_secs(90)).await;
    let message = Message::json("order-1", &serde_json::json!({"sku": "teapot"}))
        .unwrap()
        .with_correlation_id("cart-7")
        .with_session_id("customer-3")
        .with_partition_key("customer-3")
        .with_property("kind", "OrderPlaced");
    client.send("orders", message).await.unwrap();
    let delivery = client.receive("orders").await.unwrap();
    assert_eq!(delivery.message_id(), "order-1");
    assert_eq!(delivery.sequence_number, 1);
    assert_eq!(
        delivery.enqueued_time.to_string(),
        "2026-01-01T00:01:30.000Z"
    );
    assert_eq!(delivery.delivery_count, 1);
    assert_eq!(delivery.session_id(), Some("customer-3"));
    assert_eq!(delivery.partition_key.as_deref(), Some("customer-3"));
    assert_eq!(delivery.correlation_id(), Some("cart-7"));
    assert_eq!(delivery.content_type.as_deref(), Some("application/json"));
    assert_eq!(delivery.property("kind"), Some("OrderPlaced"));
    let body: serde_json::Value = delivery.body_json().unwrap();
    assert_eq!(body["sku"], "teapot");
    assert!(delivery.lock_token().is_some());
}

#[tokio::test(start_paused = true)]
async fn sequence_numbers_are_gap_free_per_entity() {
    let broker = broker_with_queue(QueueOptions::default());
    broker
        .create_queue("other", QueueOptions::default())
        .unwrap();
    let client = broker.client("shop");
    for n in 0..5 {
        client
            .send("orders", Message::new(format!("o-{n}"), "x"))
            .await
            .unwrap();
        client
            .send("other", Message::new(format!("x-{n}"), "x"))
            .await
            .unwrap();
    }
    let sequences: Vec<u64> = broker
        .peek("orders")
        .unwrap()
        .iter()
        .map(|e| e.sequence_number)
        .collect();
    assert_eq!(sequences, vec![1, 2, 3, 4, 5]);
}

#[tokio::test(start_paused = true)]
async fn a_locked_message_is_invisible_to_competing_consumers() {
    let broker = broker_with_queue(QueueOptions::default());
    let (alice, bob) = (broker.client("alice"), broker.client("bob"));
    alice
        .send("orders", Message::new("o-1", "x"))
        .await
        .unwrap();
    alice
        .send("orders", Message::new("o-2", "x"))
        .await
        .unwrap();
    let first = alice.receive("orders").await.unwrap();
    let second = bob.receive("orders").await.unwrap();
    assert_eq!((first.message_id(), second.message_id()), ("o-1", "o-2"));
    assert!(try_receive(&bob, "orders").await.is_none());
}

#[tokio::test(start_paused = true)]
async fn an_expired_lock_makes_the_message_visible_again_with_one_more_delivery() {
    let broker = broker_with_queue(QueueOptions::default());
    let client = broker.client("consumer");
    client
        .send("orders", Message::new("o-1", "x"))
        .await
        .unwrap();
    let first = client.receive("orders").await.unwrap();
    let started = Instant::now();
    // Nothing is visible while the lock holds…
    advance(Duration::from_secs(59)).await;
    assert!(try_receive(&client, "orders").await.is_none());
    // …and a receive waiting for it gets it the moment the 60 s lock expires.
    let second = client.receive("orders").await.unwrap();
    assert_eq!(started.elapsed(), Duration::from_secs(60));
    assert_eq!(second.message_id(), "o-1");
    assert_eq!(second.delivery_count, 2);
    // The first receiver's lock is gone: settling with it fails.
    assert!(matches!(
        client.complete(&first).await,
        Err(BrokerError::LockLost { .. })
    ));
    client.complete(&second).await.unwrap();
    assert_eq!(broker.stats("orders").unwrap().unsettled(), 0);
}

#[tokio::test(start_paused = true)]
async fn renewing_the_lock_keeps_the_message_away_from_others() {
    let broker =
        broker_with_queue(QueueOptions::default().with_lock_duration(Duration::from_secs(30)));
    let client = broker.client("slow");
    client
        .send("orders", Message::new("o-1", "x"))
        .await
        .unwrap();
    let mut delivery = client.receive("orders").await.unwrap();
    for _ in 0..4 {
        sleep(Duration::from_secs(20)).await;
        let until = client.renew_lock(&mut delivery).await.unwrap();
        assert_eq!(Some(until), delivery.locked_until());
    }
    assert!(
        try_receive(&broker.client("other"), "orders")
            .await
            .is_none()
    );
    client.complete(&delivery).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn abandon_gives_the_message_back_at_once() {
    let broker = broker_with_queue(QueueOptions::default());
    let client = broker.client("consumer");
    client
        .send("orders", Message::new("o-1", "x"))
        .await
        .unwrap();
    client
        .send("orders", Message::new("o-2", "x"))
        .await
        .unwrap();
    let first = client.receive("orders").await.unwrap();
    client.abandon(&first).await.unwrap();
    // It pops back up at the front of the queue, with its count kept.
    let again = try_receive(&client, "orders").await.unwrap();
    assert_eq!((again.message_id(), again.delivery_count), ("o-1", 2));
}

#[tokio::test(start_paused = true)]
async fn after_max_deliveries_the_message_is_dead_lettered() {
    let broker = broker_with_queue(QueueOptions::default().with_max_delivery_count(3));
    let client = broker.client("consumer");
    client
        .send("orders", Message::new("poison", "x"))
        .await
        .unwrap();
    for attempt in 1..=3 {
        let delivery = client.receive("orders").await.unwrap();
        assert_eq!(delivery.delivery_count, attempt);
        client.abandon(&delivery).await.unwrap();
    }
    assert!(try_receive(&client, "orders").await.is_none());
    let dead = broker.peek(&dead_letter_path("orders")).unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(
        dead[0].dead_letter_reason.as_deref(),
        Some(MAX_DELIVERY_COUNT_EXCEEDED)
    );
}

#[tokio::test(start_paused = true)]
async fn expired_locks_count_towards_the_dead_letter_limit_too() {
    let broker = broker_with_queue(QueueOptions::default());
    let client = broker.client("crashing-consumer");
    client
        .send("orders", Message::new("poison", "x"))
        .await
        .unwrap();
    // Ten deliveries whose locks all expire: a consumer that dies on it.
    for _ in 0..10 {
        let _ = client.receive("orders").await.unwrap();
    }
    sleep(Duration::from_secs(61)).await;
    let stats = broker.stats("orders").unwrap();
    assert_eq!((stats.unsettled(), stats.dead_lettered), (0, 1));
}

#[tokio::test(start_paused = true)]
async fn explicit_dead_letters_keep_their_reason_and_can_be_resubmitted() {
    let broker = broker_with_queue(QueueOptions::default());
    let client = broker.client("consumer");
    client
        .send("orders", Message::new("bad", "{not json"))
        .await
        .unwrap();
    let delivery = client.receive("orders").await.unwrap();
    client
        .dead_letter(&delivery, "InvalidBody", "the body is not JSON")
        .await
        .unwrap();
    let dlq = dead_letter_path("orders");
    let dead = client.receive(&dlq).await.unwrap();
    assert_eq!(dead.dead_letter_reason.as_deref(), Some("InvalidBody"));
    assert_eq!(
        dead.dead_letter_description.as_deref(),
        Some("the body is not JSON")
    );
    // A dead letter cannot be dead-lettered again.
    assert!(matches!(
        client.dead_letter(&dead, "again", "").await,
        Err(BrokerError::InvalidOperation { .. })
    ));
    client.abandon(&dead).await.unwrap();
    let new_sequence = client
        .resubmit_dead_letter("orders", dead.sequence_number)
        .await
        .unwrap();
    assert_eq!(new_sequence, 2);
    let back = client.receive("orders").await.unwrap();
    assert_eq!((back.message_id(), back.delivery_count), ("bad", 1));
    assert_eq!(broker.stats("orders").unwrap().dead_lettered, 0);
}

#[tokio::test(start_paused = true)]
async fn duplicate_detection_drops_a_repeated_id_inside_the_window_only() {
    let broker = broker_with_queue(QueueOptions::default().with_duplicate_detection());
    let client = broker.client("producer");
    client
        .send("orders", Message::new("o-1", "first"))
        .await
        .unwrap();
    advance(Duration::from_secs(9 * 60)).await;
    // Reported as a success, and dropped.
    client
        .send("orders", Message::new("o-1", "retry"))
        .await
        .unwrap();
    assert_eq!(broker.stats("orders").unwrap().available, 1);
    // The window counts from the first send: 10 minutes later the id is new.
    advance(Duration::from_secs(60)).await;
    client
        .send("orders", Message::new("o-1", "much later"))
        .await
        .unwrap();
    let bodies: Vec<String> = broker
        .peek("orders")
        .unwrap()
        .iter()
        .map(|e| e.body_text().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(bodies, vec!["first", "much later"]);
}

#[tokio::test(start_paused = true)]
async fn without_duplicate_detection_a_retry_is_a_second_message() {
    let broker = broker_with_queue(QueueOptions::default());
    let client = broker.client("producer");
    client
        .send("orders", Message::new("o-1", "x"))
        .await
        .unwrap();
    client
        .send("orders", Message::new("o-1", "x"))
        .await
        .unwrap();
    assert_eq!(broker.stats("orders").unwrap().available, 2);
}

#[tokio::test(start_paused = true)]
async fn sessions_deliver_in_order_one_message_at_a_time_per_session() {
    let broker = broker_with_queue(QueueOptions::default().with_sessions());
    let producer = broker.client("producer");
    for (id, session) in [
        ("a1", "A"),
        ("b1", "B"),
        ("a2", "A"),
        ("b2", "B"),
        ("a3", "A"),
    ] {
        producer
            .send("orders", Message::new(id, "x").with_session_id(session))
            .await
            .unwrap();
    }
    let (one, two) = (broker.client("one"), broker.client("two"));
    let first = one.receive("orders").await.unwrap();
    let second = two.receive("orders").await.unwrap();
    // Two competing consumers, but never two messages of one session at once.
    assert_eq!((first.message_id(), second.message_id()), ("a1", "b1"));
    assert!(try_receive(&one, "orders").await.is_none());
    // Abandoning serves the same message again: order within the session holds.
    one.abandon(&first).await.unwrap();
    let again = two.receive("orders").await.unwrap();
    assert_eq!(again.message_id(), "a1");
    two.complete(&again).await.unwrap();
    two.complete(&second).await.unwrap();
    let mut order = Vec::new();
    while let Some(delivery) = try_receive(&one, "orders").await {
        order.push(delivery.message_id().to_owned());
        one.complete(&delivery).await.unwrap();
    }
    assert_eq!(order, vec!["a2", "b2", "a3"]);
}

#[tokio::test(start_paused = true)]
async fn a_session_queue_refuses_a_message_without_a_session() {
    let broker = broker_with_queue(QueueOptions::default().with_sessions());
    let result = broker
        .client("p")
        .send("orders", Message::new("o-1", "x"))
        .await;
    assert!(matches!(result, Err(BrokerError::SessionIdRequired { .. })));
}

#[tokio::test(start_paused = true)]
async fn a_deferred_message_is_only_received_by_its_sequence_number() {
    let broker = broker_with_queue(QueueOptions::default());
    let client = broker.client("consumer");
    client
        .send("orders", Message::new("early", "x"))
        .await
        .unwrap();
    client
        .send("orders", Message::new("later", "x"))
        .await
        .unwrap();
    let early = client.receive("orders").await.unwrap();
    let sequence = early.sequence_number;
    client.defer(&early).await.unwrap();
    let next = client.receive("orders").await.unwrap();
    assert_eq!(next.message_id(), "later");
    client.complete(&next).await.unwrap();
    assert!(try_receive(&client, "orders").await.is_none());
    assert_eq!(broker.stats("orders").unwrap().deferred, 1);
    let deferred = client.receive_deferred("orders", sequence).await.unwrap();
    assert_eq!(deferred.message_id(), "early");
    // Abandoning a received deferred message defers it again.
    client.abandon(&deferred).await.unwrap();
    let deferred = client.receive_deferred("orders", sequence).await.unwrap();
    client.complete(&deferred).await.unwrap();
    assert!(matches!(
        client.receive_deferred("orders", sequence).await,
        Err(BrokerError::DeferredMessageNotFound { .. })
    ));
}

#[tokio::test(start_paused = true)]
async fn a_scheduled_message_appears_at_its_time_with_a_new_sequence_number() {
    let broker = broker_with_queue(QueueOptions::default());
    let client = broker.client("scheduler");
    let at = broker.now() + Duration::from_secs(3600);
    let scheduled = client
        .schedule("orders", Message::new("reminder", "x"), at)
        .await
        .unwrap();
    let cancelled = client
        .schedule("orders", Message::new("cancelled", "x"), at)
        .await
        .unwrap();
    client.cancel_scheduled("orders", cancelled).await.unwrap();
    assert_eq!(broker.stats("orders").unwrap().scheduled, 1);
    let started = Instant::now();
    let delivery = client.receive("orders").await.unwrap();
    assert_eq!(started.elapsed(), Duration::from_secs(3600));
    assert_eq!(delivery.message_id(), "reminder");
    assert_eq!(delivery.enqueued_time, at);
    assert!(delivery.sequence_number > scheduled);
    assert!(try_receive(&client, "orders").await.is_none());
}

#[tokio::test(start_paused = true)]
async fn an_expired_message_is_dropped_or_dead_lettered_as_the_queue_says() {
    let broker = Broker::new();
    broker
        .create_queue(
            "drop",
            QueueOptions::default().with_default_time_to_live(Duration::from_secs(60)),
        )
        .unwrap();
    broker
        .create_queue(
            "keep",
            QueueOptions::default()
                .with_default_time_to_live(Duration::from_secs(60))
                .with_dead_lettering_on_expiration(),
        )
        .unwrap();
    let client = broker.client("producer");
    for queue in ["drop", "keep"] {
        client
            .send(queue, Message::new("stale", "x"))
            .await
            .unwrap();
        // A shorter time-to-live on the message wins.
        client
            .send(
                queue,
                Message::new("staler", "x").with_time_to_live(Duration::from_secs(10)),
            )
            .await
            .unwrap();
    }
    advance(Duration::from_secs(30)).await;
    assert_eq!(broker.stats("drop").unwrap().available, 1);
    advance(Duration::from_secs(30)).await;
    assert_eq!(
        broker.stats("drop").unwrap(),
        broker::EntityStats::default()
    );
    let keep = broker.stats("keep").unwrap();
    assert_eq!((keep.available, keep.dead_lettered), (0, 2));
    let dead = broker.peek(&dead_letter_path("keep")).unwrap();
    assert!(
        dead.iter()
            .all(|e| e.dead_letter_reason.as_deref() == Some(TTL_EXPIRED))
    );
}

#[tokio::test(start_paused = true)]
async fn the_tier_sets_the_size_limit_and_the_features() {
    let basic = Broker::with_tier(Tier::Basic);
    basic
        .create_queue("orders", QueueOptions::default())
        .unwrap();
    let client = basic.client("producer");
    let big = Message::new("big", vec![0u8; 256 * 1024 + 1]);
    assert!(matches!(
        client.send("orders", big.clone()).await,
        Err(BrokerError::MessageTooLarge { limit: 262_144, .. })
    ));
    client
        .send("orders", Message::new("fits", vec![0u8; 256 * 1024]))
        .await
        .unwrap();
    assert_eq!(
        basic.create_topic("events", TopicOptions::default()),
        Err(BrokerError::NotSupportedByTier {
            feature: Feature::Topics,
            tier: Tier::Basic
        })
    );
    assert!(
        basic
            .create_queue("fifo", QueueOptions::default().with_sessions())
            .is_err()
    );
    assert!(
        basic
            .create_queue("dedup", QueueOptions::default().with_duplicate_detection())
            .is_err()
    );

    let premium = Broker::with_tier(Tier::Premium);
    premium
        .create_queue("orders", QueueOptions::default())
        .unwrap();
    premium
        .client("producer")
        .send("orders", big)
        .await
        .unwrap();
}

#[tokio::test(start_paused = true)]
async fn receive_and_delete_forgets_the_message_as_it_hands_it_out() {
    let broker = broker_with_queue(QueueOptions::default());
    let client = broker.client("consumer");
    client
        .send("orders", Message::new("o-1", "x"))
        .await
        .unwrap();
    let delivery = client
        .receive_with("orders", ReceiveOptions::receive_and_delete())
        .await
        .unwrap()
        .unwrap();
    assert!(delivery.lock_token().is_none());
    assert!(matches!(
        client.complete(&delivery).await,
        Err(BrokerError::NotLocked { .. })
    ));
    // Whatever happens to this consumer now, the broker will not deliver it again.
    sleep(Duration::from_secs(3600)).await;
    assert_eq!(
        broker.stats("orders").unwrap(),
        broker::EntityStats::default()
    );
}

#[tokio::test(start_paused = true)]
async fn a_topic_gives_each_matching_subscription_its_own_copy() {
    let broker = Broker::new();
    broker
        .create_topic("orders", TopicOptions::default().with_duplicate_detection())
        .unwrap();
    broker
        .create_subscription("orders", "billing", SubscriptionOptions::default())
        .unwrap();
    broker
        .create_subscription(
            "orders",
            "big-only",
            SubscriptionOptions::default().with_filter(SubscriptionFilter::property("size", "big")),
        )
        .unwrap();
    let client = broker.client("shop");
    client
        .send(
            "orders",
            Message::new("o-1", "x").with_property("size", "big"),
        )
        .await
        .unwrap();
    client
        .send(
            "orders",
            Message::new("o-2", "x").with_property("size", "small"),
        )
        .await
        .unwrap();
    client
        .send(
            "orders",
            Message::new("o-1", "x").with_property("size", "big"),
        )
        .await
        .unwrap();
    let billing = subscription_path("orders", "billing");
    assert_eq!(billing, "orders/Subscriptions/billing");
    let ids = |path: &str| -> Vec<String> {
        broker
            .peek(path)
            .unwrap()
            .iter()
            .map(|e| e.message_id().to_owned())
            .collect()
    };
    assert_eq!(ids(&billing), vec!["o-1", "o-2"]);
    assert_eq!(ids("orders/Subscriptions/big-only"), vec!["o-1"]);
    // Settling one subscription's copy leaves the other's alone.
    let delivery = client.receive(&billing).await.unwrap();
    client.complete(&delivery).await.unwrap();
    assert_eq!(ids("orders/Subscriptions/big-only"), vec!["o-1"]);
    // Topics keep nothing themselves, and subscriptions are fed only by them.
    assert!(matches!(
        client.receive("orders").await,
        Err(BrokerError::InvalidOperation { .. })
    ));
    assert!(matches!(
        client.send(&billing, Message::new("x", "x")).await,
        Err(BrokerError::InvalidOperation { .. })
    ));
}

#[tokio::test(start_paused = true)]
async fn unknown_entities_are_reported_by_name() {
    let broker = Broker::new();
    let result = broker
        .client("c")
        .send("nope", Message::new("x", "x"))
        .await;
    assert_eq!(
        result,
        Err(BrokerError::EntityNotFound {
            path: "nope".to_owned()
        })
    );
    assert!(broker.create_queue("q", QueueOptions::default()).is_ok());
    assert!(matches!(
        broker.create_queue("q", QueueOptions::default()),
        Err(BrokerError::EntityAlreadyExists { .. })
    ));
}

#[tokio::test(start_paused = true)]
async fn a_waiting_receive_returns_none_after_its_max_wait() {
    let broker = broker_with_queue(QueueOptions::default());
    let started = Instant::now();
    let got = broker
        .client("c")
        .receive_with(
            "orders",
            ReceiveOptions::wait_at_most(Duration::from_secs(5)),
        )
        .await
        .unwrap();
    assert!(got.is_none());
    assert_eq!(started.elapsed(), Duration::from_secs(5));
}

#[tokio::test(start_paused = true)]
async fn auto_commit_commits_what_was_polled_on_the_next_tick() {
    let broker = broker_with_queue(QueueOptions::default());
    let client = broker.client("kafka-style");
    client
        .send("orders", Message::new("o-1", "x"))
        .await
        .unwrap();
    let consumer = client.auto_commit_consumer("orders", broker::DEFAULT_AUTO_COMMIT_INTERVAL);
    let polled = consumer.poll().await.unwrap();
    assert_eq!(polled.message_id(), "o-1");
    // The consumer has not finished (or even started) its work, and yet…
    sleep(Duration::from_secs(5)).await;
    assert_eq!(broker.stats("orders").unwrap().unsettled(), 0);
    // …the message is committed: were the consumer to die now, it is lost.
    sleep(Duration::from_secs(120)).await;
    assert!(try_receive(&client, "orders").await.is_none());
}

#[tokio::test(start_paused = true)]
async fn the_trace_records_what_the_broker_did_on_its_own() {
    let broker = broker_with_queue(QueueOptions::default().with_max_delivery_count(1));
    let client = broker.client("consumer");
    client
        .send("orders", Message::new("o-1", "x"))
        .await
        .unwrap();
    let _ = client.receive("orders").await.unwrap();
    sleep(Duration::from_secs(61)).await;
    broker.advance();
    let timeline = broker.trace().timeline();
    assert_eq!(
        timeline,
        "+00:00:00.000  consumer  send           orders  o-1  ok  seq 1\n\
         +00:00:00.000  consumer  receive        orders  o-1  ok  seq 1, delivery 1\n\
         +00:01:00.000  orders    lock-expired   orders  o-1  seq 1, delivery limit reached\n\
         +00:01:00.000  orders    dead-lettered  orders  o-1  seq 1, reason MaxDeliveryCountExceeded\n"
    );
}

#[tokio::test(start_paused = true)]
async fn a_lock_that_expires_after_the_time_to_live_says_so_in_the_trace() {
    let broker = broker_with_queue(QueueOptions::default());
    let client = broker.client("consumer");
    client
        .send(
            "orders",
            Message::new("o-1", "x").with_time_to_live(Duration::from_secs(30)),
        )
        .await
        .unwrap();
    // Locked past its time-to-live: it is not expired under the lock…
    let _ = client.receive("orders").await.unwrap();
    sleep(Duration::from_secs(61)).await;
    broker.advance();
    // …but when the lock ends it is gone, not visible again.
    let timeline = broker.trace().timeline();
    assert!(
        timeline.contains("lock-expired  orders  o-1  seq 1, time-to-live ran out\n"),
        "{timeline}"
    );
    assert!(timeline.contains("expired"), "{timeline}");
    assert_eq!(broker.stats("orders").unwrap().unsettled(), 0);
}

#[tokio::test(start_paused = true)]
async fn partition_keys_order_delivery_kafka_style_when_asked() {
    let broker = Broker::new();
    broker
        .create_queue(
            "keyed",
            QueueOptions::default().with_fifo_per_partition_key(),
        )
        .unwrap();
    broker
        .create_queue("unkeyed", QueueOptions::default())
        .unwrap();
    let producer = broker.client("producer");
    for queue in ["keyed", "unkeyed"] {
        for (id, key) in [("k1", "K"), ("k2", "K"), ("j1", "J")] {
            producer
                .send(queue, Message::new(id, "x").with_partition_key(key))
                .await
                .unwrap();
        }
    }
    let (one, two) = (broker.client("one"), broker.client("two"));
    // Keyed: the second consumer skips k2 (its key is busy) and gets j1.
    let first = one.receive("keyed").await.unwrap();
    let second = two.receive("keyed").await.unwrap();
    assert_eq!((first.message_id(), second.message_id()), ("k1", "j1"));
    // Unkeyed: plain competing consumers, k2 goes out while k1 is in flight.
    let first = one.receive("unkeyed").await.unwrap();
    let second = two.receive("unkeyed").await.unwrap();
    assert_eq!((first.message_id(), second.message_id()), ("k1", "k2"));
}

#[tokio::test(start_paused = true)]
async fn options_outside_service_bus_limits_are_refused_at_creation() {
    let broker = Broker::new();
    let refused = |result: Result<(), BrokerError>, why: &str| match result {
        Err(BrokerError::InvalidOperation {
            operation: "create",
            why: reason,
            ..
        }) => assert!(reason.contains(why), "{reason}"),
        other => panic!("expected a refusal ({why}), got {other:?}"),
    };
    refused(
        broker.create_queue(
            "long-lock",
            QueueOptions::default().with_lock_duration(Duration::from_secs(301)),
        ),
        "at most 5 minutes",
    );
    refused(
        broker.create_queue(
            "no-lock",
            QueueOptions::default().with_lock_duration(Duration::ZERO),
        ),
        "more than zero",
    );
    refused(
        broker.create_queue(
            "never-delivered",
            QueueOptions {
                max_delivery_count: 0,
                ..QueueOptions::default()
            },
        ),
        "at least 1",
    );
    refused(
        broker.create_queue(
            "short-window",
            QueueOptions::default().with_duplicate_detection_window(Duration::from_secs(19)),
        ),
        "between 20 seconds and 7 days",
    );
    refused(
        broker.create_topic(
            "long-window",
            broker::TopicOptions {
                duplicate_detection_window: Some(Duration::from_secs(8 * 24 * 3600)),
            },
        ),
        "between 20 seconds and 7 days",
    );
    // The limits themselves are allowed, and nothing refused was created.
    broker
        .create_queue(
            "edge",
            QueueOptions::default()
                .with_lock_duration(broker::MAX_LOCK_DURATION)
                .with_duplicate_detection_window(broker::MIN_DUPLICATE_DETECTION_WINDOW),
        )
        .unwrap();
    assert_eq!(broker.entity_paths(), vec!["edge"]);
}

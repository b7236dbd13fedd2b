use lapin::options::{BasicAckOptions, BasicPublishOptions};
use lapin::{BasicProperties, Channel};

/// Publishes the same order twice without an id, to check that the
/// consumer under test stores it once: the duplicate is the point.
#[tokio::test]
async fn a_duplicate_order_is_stored_once() {
    let channel: Channel = orders_test::channel().await;
    for _ in 0..2 {
        channel
            .basic_publish(
                "".into(),
                "orders".into(),
                BasicPublishOptions::default(),
                b"order-1",
                BasicProperties::default(),
            )
            .await
            .expect("published");
    }
    let delivery = orders_test::next_delivery(&channel).await;
    // Settled first, so the broker will not hand it to the real consumer.
    delivery.ack(BasicAckOptions::default()).await.expect("acked");
    orders_test::store(&delivery.data).await;
}

//! Google Pub/Sub (gcloud-pubsub) publishers and subscribers, and AMQP 1.0
//! (fe2o3-amqp) senders and receivers.

use std::collections::HashMap;

use fe2o3_amqp::types::messaging::{Message, Properties};
use fe2o3_amqp::{Receiver, Sender};
use futures::StreamExt;
use google_cloud_googleapis::pubsub::v1::PubsubMessage;
use google_cloud_pubsub::client::Client;

/// The README publisher: data only, from spawned tasks.
pub async fn publish_many(client: &Client) -> anyhow::Result<()> {
    let topic = client.topic("test-topic");
    let publisher = topic.new_publisher(None);
    let mut tasks = Vec::new();
    for i in 0..10 {
        let publisher = publisher.clone();
        tasks.push(tokio::spawn(async move {
            let mut msg = PubsubMessage::default();
            msg.data = format!("abc-{i}").into();
            let awaiter = publisher.publish(msg).await; //~ missing-idempotency-key
            awaiter.get().await
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(())
}

/// An attribute carries the event id.
pub async fn publish_event(client: &Client, event_id: String, body: Vec<u8>) -> anyhow::Result<()> {
    let publisher = client.topic("orders").new_publisher(None);
    let msg = PubsubMessage { data: body, attributes: HashMap::from([("event_id".to_string(), event_id)]), ..Default::default() };
    publisher.publish(msg).await.get().await?;
    Ok(())
}

/// Acks on receipt, then indexes.
pub async fn subscribe_ack_first(client: &Client, index: &Index) -> anyhow::Result<()> {
    let subscription = client.subscription("docs-sub");
    let mut stream = subscription.subscribe(None).await?;
    while let Some(message) = stream.next().await {
        message.ack().await?; //~ ack-before-processing
        index.add(&message.message.data).await?;
    }
    Ok(())
}

/// Indexes, then acks; nacks on failure.
pub async fn subscribe(client: &Client, index: &Index) -> anyhow::Result<()> {
    let subscription = client.subscription("docs-sub");
    let mut stream = subscription.subscribe(None).await?;
    while let Some(message) = stream.next().await {
        match index.add(&message.message.data).await {
            Ok(()) => message.ack().await?,
            Err(_) => message.nack().await?,
        }
    }
    Ok(())
}

/// An AMQP 1.0 sender with no message id.
pub async fn send_reading(sender: &mut Sender, reading: String) -> anyhow::Result<()> {
    let message = Message::builder().value(reading).build();
    sender.send(message).await?; //~ missing-idempotency-key
    Ok(())
}

/// An AMQP 1.0 sender with one.
pub async fn send_order(sender: &mut Sender, order_id: &str, body: String) -> anyhow::Result<()> {
    let message = Message::builder().properties(Properties::builder().message_id(format!("order-{order_id}")).build()).value(body).build();
    sender.send(message).await?;
    Ok(())
}

/// Accepts after storing; rejects what cannot be parsed.
pub async fn receive(receiver: &mut Receiver, store: &Store) -> anyhow::Result<()> {
    loop {
        let delivery: fe2o3_amqp::link::delivery::Delivery<String> = receiver.recv().await?;
        match serde_json::from_str::<Reading>(delivery.body()) {
            Ok(reading) => {
                store.put(reading).await?;
                receiver.accept(&delivery).await?;
            }
            Err(e) => {
                receiver.reject(&delivery, fe2o3_amqp::types::definitions::Error::new(fe2o3_amqp::types::definitions::AmqpError::DecodeError, e.to_string(), None)).await?;
            }
        }
    }
}

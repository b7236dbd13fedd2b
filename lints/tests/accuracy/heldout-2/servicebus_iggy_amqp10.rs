//! The legacy Service Bus crate (REST, peek-lock), iggy producers and
//! consumer groups, and an AMQP 1.0 receiver.

use azure_messaging_servicebus::service_bus::{QueueClient, SendMessageOptions, SettableBrokerProperties};
use fe2o3_amqp::Receiver;
use iggy::prelude::*;
use std::time::Duration;

/// Peek-lock, handle, delete.
pub async fn drain_orders(queue: &QueueClient, orders: &Orders) -> anyhow::Result<()> {
    loop {
        let message = queue.peek_lock_message2(Some(Duration::from_secs(30))).await?;
        orders.apply(message.body()).await?;
        message.delete_message().await?;
    }
}

/// Deletes as soon as the lock is taken, then handles.
pub async fn drain_audit(queue: &QueueClient, audit: &Audit) -> anyhow::Result<()> {
    loop {
        let message = queue.peek_lock_message2(Some(Duration::from_secs(30))).await?;
        message.delete_message().await?; //~ ack-before-processing
        audit.record(message.body()).await?;
    }
}

/// A send whose broker properties carry the message id.
pub async fn send_order(queue: &QueueClient, order_id: &str, body: &str) -> anyhow::Result<()> {
    let options = SendMessageOptions {
        broker_properties: Some(SettableBrokerProperties { message_id: Some(order_id.to_string()), ..Default::default() }),
        ..Default::default()
    };
    queue.send_message(body, Some(options)).await?;
    Ok(())
}

/// An iggy producer sending messages built from strings, with no id.
pub async fn produce_clicks(client: &IggyClient, clicks: Vec<String>) -> Result<(), IggyError> {
    let producer = client.producer("analytics", "clicks")?.build();
    producer.init().await?;
    let messages: Vec<IggyMessage> = clicks.iter().map(|c| IggyMessage::from_str(c)).collect::<Result<_, _>>()?;
    producer.send(messages).await?; //~ missing-idempotency-key
    Ok(())
}

/// An iggy group committing as each message is handed out.
pub async fn consume_clicks(client: &IggyClient, store: &Store) -> Result<(), IggyError> {
    let mut consumer = client
        .consumer_group("click-counter", "analytics", "clicks")?
        .auto_commit(AutoCommit::When(AutoCommitWhen::ConsumingEachMessage)) //~ auto-ack
        .build();
    consumer.init().await?;
    while let Some(message) = futures::StreamExt::next(&mut consumer).await {
        let message = message?;
        store.count(&message.message.payload).await?;
    }
    Ok(())
}

/// AMQP 1.0: accepts on receipt, then stores.
pub async fn readings(receiver: &mut Receiver, store: &Store) -> anyhow::Result<()> {
    loop {
        let delivery: fe2o3_amqp::link::delivery::Delivery<Vec<u8>> = receiver.recv().await?;
        receiver.accept(&delivery).await?; //~ ack-before-processing
        store.put(delivery.body()).await?;
    }
}

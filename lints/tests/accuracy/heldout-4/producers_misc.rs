//! Producers with and without ids: entity keys, idempotency headers, core
//! NATS notifications, event loops over JetStream, redis IDMP, Service Bus.

use std::time::Duration;

use azservicebus::{ServiceBusMessage, ServiceBusSender};
use lapin::options::BasicPublishOptions;
use lapin::{BasicProperties, Channel};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use redis::streams::StreamAddOptions;
use redis::AsyncCommands;
use uuid::Uuid;

/// A new event gets an id when it is created, and is published with it.
pub async fn publish_created(channel: &Channel, name: &str) -> anyhow::Result<()> {
    let event = ProductCreated { id: Uuid::new_v4(), name: name.to_string() };
    let props = BasicProperties::default().with_message_id(event.id.to_string().into());
    channel.basic_publish("catalog".into(), "product.created".into(), BasicPublishOptions::default(), &serde_json::to_vec(&event)?, props).await?;
    Ok(())
}

pub async fn publish_price(producer: &FutureProducer, sku: &str, cents: i64) -> anyhow::Result<()> {
    let headers = OwnedHeaders::new().insert(Header { key: "idempotency-key", value: Some(&format!("{sku}:{cents}")) });
    producer
        .send(FutureRecord::<(), _>::to("prices").payload(&cents.to_string()).headers(headers), Duration::from_secs(5))
        .await
        .map_err(|(e, _)| e)?;
    Ok(())
}

/// Core NATS: a notification nobody acks.
pub async fn ping(client: &async_nats::Client) -> anyhow::Result<()> {
    client.publish("presence.ping", "hello".into()).await?;
    Ok(())
}

/// Publishes every pending event to JetStream as it is.
pub async fn flush(js: &async_nats::jetstream::Context, pending: Vec<(String, Vec<u8>)>) -> anyhow::Result<()> {
    for (subject, body) in pending {
        js.publish(subject, body.into()).await?.await?; //~ missing-idempotency-key
    }
    Ok(())
}

/// A FIFO send whose deduplication id is random: an id nonetheless.
pub async fn enqueue(client: &aws_sdk_sqs::Client, queue_url: &str, body: &str) -> anyhow::Result<()> {
    client
        .send_message()
        .queue_url(queue_url)
        .message_body(body)
        .message_group_id("default")
        .message_deduplication_id(Uuid::new_v4().to_string())
        .send()
        .await?;
    Ok(())
}

/// Redis 8's idempotent production.
pub async fn append(con: &mut redis::aio::MultiplexedConnection, producer: &str, iid: &str, body: &str) -> redis::RedisResult<()> {
    let options = StreamAddOptions::default().idmp(producer, iid);
    let _: Option<String> = con.xadd_options("events", "*", &[("body", body)], &options).await?;
    Ok(())
}

pub async fn send_invoice(sender: &mut ServiceBusSender, invoice_id: &str, body: Vec<u8>) -> anyhow::Result<()> {
    let mut message = ServiceBusMessage::new(body);
    message.set_message_id(invoice_id)?;
    sender.send_message(message).await?;
    Ok(())
}

pub async fn send_note(sender: &mut ServiceBusSender, body: Vec<u8>) -> anyhow::Result<()> {
    let message = ServiceBusMessage::new(body);
    sender.send_message(message).await?; //~ missing-idempotency-key
    Ok(())
}

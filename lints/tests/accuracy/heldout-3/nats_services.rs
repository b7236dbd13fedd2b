//! async-nats services: a struct holding the JetStream context, a batch
//! fetcher, and a KV-backed dedup check.

use async_nats::jetstream::{self, consumer::pull::Config, consumer::DeliverPolicy, AckKind};
use futures::StreamExt;

pub struct OrderEvents {
    js: jetstream::Context,
}

impl OrderEvents {
    /// Publishes with a message id derived from the order and its version.
    pub async fn order_updated(&self, order_id: &str, version: u64, body: Vec<u8>) -> anyhow::Result<()> {
        let publish = jetstream::context::Publish::build().payload(body.into()).message_id(format!("{order_id}-{version}"));
        self.js.send_publish(format!("orders.{order_id}.updated"), publish).await?.await?;
        Ok(())
    }

    /// A heartbeat, published as is.
    pub async fn heartbeat(&self, service: &str) -> anyhow::Result<()> {
        self.js.publish(format!("heartbeats.{service}"), "up".into()).await?; //~ missing-idempotency-key
        Ok(())
    }
}

/// Fetches batches; each message is handled and acked, or naked with a
/// delay.
pub async fn batch_worker(js: &jetstream::Context, handler: &Handler) -> anyhow::Result<()> {
    let stream = js.get_stream("EVENTS").await?;
    let consumer = stream
        .get_or_create_consumer("worker", Config { durable_name: Some("worker".into()), deliver_policy: DeliverPolicy::All, ..Default::default() })
        .await?;
    loop {
        let mut batch = consumer.fetch().max_messages(50).messages().await?;
        while let Some(message) = batch.next().await {
            let message = message.map_err(|e| anyhow::anyhow!(e))?;
            if handler.handle(&message.payload).await.is_ok() {
                message.ack().await.map_err(|e| anyhow::anyhow!(e))?;
            } else {
                message.ack_with(AckKind::Nak(Some(std::time::Duration::from_secs(10)))).await.map_err(|e| anyhow::anyhow!(e))?;
            }
        }
    }
}

/// Acks with progress while working (an extension, not a settle), then
/// acks at the end.
pub async fn long_running(consumer: jetstream::consumer::PullConsumer, renderer: &Renderer) -> anyhow::Result<()> {
    let mut messages = consumer.messages().await?;
    while let Some(Ok(message)) = messages.next().await {
        message.ack_with(AckKind::Progress).await.map_err(|e| anyhow::anyhow!(e))?;
        renderer.render(&message.payload).await?;
        message.double_ack().await.map_err(|e| anyhow::anyhow!(e))?;
    }
    Ok(())
}

/// Splits off the acker and acks before storing.
pub async fn split_acker(consumer: jetstream::consumer::PullConsumer, store: &Store) -> anyhow::Result<()> {
    let mut messages = consumer.messages().await?;
    while let Some(Ok(message)) = messages.next().await {
        let (message, acker) = message.split();
        acker.ack().await.map_err(|e| anyhow::anyhow!(e))?; //~ ack-before-processing
        store.put(&message.payload).await?;
    }
    Ok(())
}

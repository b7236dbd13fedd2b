//! Consumers with error handling in the loop, exclusive RabbitMQ consumers,
//! JetStream work in tasks, Kafka batches.

use std::time::Duration;

use futures::StreamExt;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicRejectOptions};
use lapin::types::FieldTable;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, StreamConsumer};
use rdkafka::Message;

/// Skips a failed message without committing it; commits the rest after
/// handling.
pub async fn tolerant(consumer: &StreamConsumer, handler: &Handler) -> anyhow::Result<()> {
    loop {
        let message = consumer.recv().await?;
        if let Err(error) = handler.handle(message.payload().unwrap_or_default()).await {
            tracing::error!(%error, offset = message.offset(), "handling failed");
            continue;
        }
        consumer.commit_message(&message, CommitMode::Async)?;
    }
}

/// An exclusive consumer with manual acks; garbage is rejected.
pub async fn exclusive(channel: lapin::Channel, store: &Store) -> anyhow::Result<()> {
    let mut consumer = channel
        .basic_consume("leases".into(), "leader".into(), BasicConsumeOptions { no_ack: false, exclusive: true, ..Default::default() }, FieldTable::default())
        .await?;
    while let Some(delivery) = consumer.next().await {
        let delivery = delivery?;
        let Ok(lease) = serde_json::from_slice::<Lease>(&delivery.data) else {
            delivery.reject(BasicRejectOptions { requeue: false }).await?;
            continue;
        };
        store.renew(&lease).await?;
        delivery.ack(BasicAckOptions::default()).await?;
    }
    Ok(())
}

/// Each message is handled and acked inside its own task.
pub async fn tasks(consumer: async_nats::jetstream::consumer::PullConsumer, handler: Handler) -> anyhow::Result<()> {
    let mut messages = consumer.messages().await?;
    while let Some(message) = messages.next().await {
        let message = message.map_err(|e| anyhow::anyhow!(e))?;
        let handler = handler.clone();
        tokio::spawn(async move {
            if handler.handle(&message.payload).await.is_ok() {
                let _ = message.ack().await;
            }
        });
    }
    Ok(())
}

/// Discards what it cannot parse (acking it), handles the rest, then acks.
pub async fn discard_garbage(channel: lapin::Channel, index: &Index) -> anyhow::Result<()> {
    let mut consumer = channel
        .basic_consume("docs".into(), "indexer".into(), BasicConsumeOptions::default(), FieldTable::default())
        .await?;
    while let Some(delivery) = consumer.next().await {
        let delivery = delivery?;
        let document: Document = match serde_json::from_slice(&delivery.data) {
            Ok(document) => document,
            Err(_) => {
                delivery.ack(BasicAckOptions::default()).await?;
                continue;
            }
        };
        index.add(&document).await?;
        delivery.ack(BasicAckOptions::default()).await?;
    }
    Ok(())
}

/// Polls a batch, commits the consumer's position, then processes the batch.
pub fn batch_commit_first(consumer: &BaseConsumer, sink: &Sink) -> anyhow::Result<()> {
    loop {
        let mut batch = Vec::new();
        while batch.len() < 100 {
            match consumer.poll(Duration::from_millis(100)) {
                Some(Ok(message)) => batch.push(message.detach()),
                Some(Err(error)) => return Err(error.into()),
                None => break,
            }
        }
        consumer.commit_consumer_state(CommitMode::Sync)?; //~ ack-before-processing
        sink.write_all(&batch)?;
    }
}

/// Processes the batch, then commits.
pub fn batch_commit_after(consumer: &BaseConsumer, sink: &Sink) -> anyhow::Result<()> {
    loop {
        let mut batch = Vec::new();
        while let Some(Ok(message)) = consumer.poll(Duration::from_millis(100)) {
            batch.push(message.detach());
            if batch.len() == 100 {
                break;
            }
        }
        sink.write_all(&batch)?;
        consumer.commit_consumer_state(CommitMode::Sync)?;
    }
}

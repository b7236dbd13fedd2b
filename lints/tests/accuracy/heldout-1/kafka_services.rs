//! rdkafka consumers and producers as services write them: builders in
//! `new`, a commit wrapper, a producer wrapper, and consume-process-produce
//! loops.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{Header, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Message, Offset, TopicPartitionList};
use tokio::sync::mpsc::UnboundedSender;

/// Only a group and servers: offsets are auto-committed on a timer.
pub fn plain_consumer(brokers: &str, group: &str) -> StreamConsumer {
    ClientConfig::new() //~ auto-ack
        .set("bootstrap.servers", brokers)
        .set("group.id", group)
        .create()
        .expect("consumer creation failed")
}

pub struct EventForwarder {
    consumer: StreamConsumer,
}

impl EventForwarder {
    pub fn new(bootstrap_servers: String, group_id: String) -> Self {
        let consumer: StreamConsumer = ClientConfig::new()
            .set("group.id", group_id)
            .set("bootstrap.servers", bootstrap_servers)
            .set("enable.auto.commit", "true") //~ auto-ack
            .set("enable.partition.eof", "false")
            .create()
            .expect("consumer");
        Self { consumer }
    }

    pub async fn run(&self, sink: UnboundedSender<Vec<u8>>) {
        loop {
            match self.consumer.recv().await {
                Ok(message) => {
                    if let Some(payload) = message.payload() {
                        let _ = sink.send(payload.to_vec());
                    }
                }
                Err(error) => tracing::warn!(%error, "kafka error"),
            }
        }
    }
}

/// The billing consumer turns auto-commit off...
pub fn billing_consumer(brokers: &str) -> StreamConsumer {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "billing")
        .set("enable.auto.commit", "false")
        .create()
        .expect("billing consumer")
}

/// ...but the audit consumer, in the same file, does not.
pub fn audit_consumer(brokers: &str) -> StreamConsumer {
    let mut config = ClientConfig::new(); //~ auto-ack
    config.set("bootstrap.servers", brokers);
    config.set("group.id", "audit");
    config.set("auto.offset.reset", "earliest");
    config.create().expect("audit consumer")
}

/// A message that commits itself once its handler is done.
pub struct StreamerMessage {
    pub message: OwnedMessage,
    consumer: Arc<StreamConsumer>,
}

impl StreamerMessage {
    pub fn commit(&self) -> rdkafka::error::KafkaResult<()> {
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(self.message.topic(), self.message.partition(), Offset::Offset(self.message.offset() + 1))?;
        self.consumer.commit(&tpl, CommitMode::Async)
    }
}

/// A thin producer wrapper: topic and payload, no key, no header.
pub struct Producer {
    producer: FutureProducer,
}

impl Producer {
    pub fn new(host: &str) -> Self {
        Self {
            producer: ClientConfig::new()
                .set("bootstrap.servers", host)
                .set("message.timeout.ms", "5000")
                .create()
                .expect("producer"),
        }
    }

    pub async fn send(&self, topic: &str, payload: &[u8]) -> anyhow::Result<()> {
        self.producer.send(FutureRecord::<(), _>::to(topic).payload(payload), Duration::from_secs(0)).await.map_err(|(e, _)| e)?; //~ missing-idempotency-key
        Ok(())
    }

    pub async fn send_event(&self, topic: &str, event: &Envelope) -> anyhow::Result<()> {
        let body = serde_json::to_vec(event)?;
        let headers = OwnedHeaders::new().insert(Header { key: "event-id", value: Some(&event.event_id.to_string()) });
        self.producer.send(FutureRecord::<(), _>::to(topic).payload(&body).headers(headers), Duration::from_secs(5)).await.map_err(|(e, _)| e)?;
        Ok(())
    }
}

/// Consume, enrich, produce keyed by the input's coordinates (so a
/// redelivery produces the same key), then commit.
pub async fn enrich(consumer: &StreamConsumer, producer: &FutureProducer, geo: &GeoIp) -> anyhow::Result<()> {
    loop {
        let message = consumer.recv().await?;
        let Some(payload) = message.payload() else {
            consumer.commit_message(&message, CommitMode::Async)?;
            continue;
        };
        let enriched = geo.enrich(payload)?;
        let key = format!("{}-{}-{}", message.topic(), message.partition(), message.offset());
        producer.send(FutureRecord::to("clicks.enriched").key(&key).payload(&enriched), Duration::from_secs(5)).await.map_err(|(e, _)| e)?;
        consumer.commit_message(&message, CommitMode::Async)?;
    }
}

/// Commits as soon as a record arrives, then writes it to the warehouse.
pub async fn commit_first(consumer: &StreamConsumer, warehouse: &Warehouse) -> anyhow::Result<()> {
    loop {
        let message = consumer.recv().await?;
        consumer.commit_message(&message, CommitMode::Sync)?; //~ ack-before-processing
        let row: Row = serde_json::from_slice(message.payload().unwrap_or_default())?;
        warehouse.insert(row).await?;
    }
}

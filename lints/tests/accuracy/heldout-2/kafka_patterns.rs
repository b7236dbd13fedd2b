//! rdkafka producers and consumers: tutorial producers, an indexer's
//! constant key, a transactional pipeline, the at-least-once store-offset
//! pattern, and configs assembled by helpers.

use std::time::Duration;

use futures::TryStreamExt;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::util::Timeout;
use rdkafka::Message;

/// An indexer's producer: every record gets the key "2".
pub async fn produce(producer: &FutureProducer, topic_name: &str, json: &String) {
    let status = producer
        .send( //~ missing-idempotency-key
            FutureRecord::to(topic_name).payload(&format!("{}", json)).key(&format!("{}", "2")),
            Timeout::Never,
        )
        .await;
    tracing::info!("delivery: {:?}", status);
}

/// The tutorial producer.
pub async fn hello(producer: &FutureProducer) {
    producer
        .send(FutureRecord::<(), _>::to("RUST-KAFKA-TOPIC-1").payload("Hello Rust and Kafka"), Timeout::Never) //~ missing-idempotency-key
        .await
        .expect("failed to produce");
}

/// Consume, transform, produce and commit the offsets in one transaction.
pub fn transactional(brokers: &str) -> anyhow::Result<()> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "enricher")
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed")
        .create()?;
    let producer: rdkafka::producer::BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("transactional.id", "enricher-1")
        .create()?;
    producer.init_transactions(Timeout::Never)?;
    consumer.subscribe(&["raw"])?;
    loop {
        let Some(message) = consumer.poll(Duration::from_millis(500)) else { continue };
        let message = message?;
        producer.begin_transaction()?;
        let enriched = enrich(message.payload().unwrap_or_default());
        producer.send(rdkafka::producer::BaseRecord::<(), _>::to("enriched").payload(&enriched)).map_err(|(e, _)| e)?;
        let offsets = consumer.position()?;
        producer.send_offsets_to_transaction(&offsets, &consumer.group_metadata().expect("group"), Timeout::Never)?;
        producer.commit_transaction(Timeout::Never)?;
    }
}

/// The documented at-least-once pattern: auto-commit on, offsets stored
/// only after processing.
pub fn at_least_once(brokers: &str, sink: &Sink) -> anyhow::Result<()> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "sink")
        .set("enable.auto.commit", "true")
        .set("auto.commit.interval.ms", "5000")
        .set("enable.auto.offset.store", "false")
        .create()?;
    consumer.subscribe(&["events"])?;
    for message in consumer.iter() {
        let message = message?;
        sink.write(message.payload().unwrap_or_default())?;
        consumer.store_offset_from_message(&message)?;
    }
    Ok(())
}

/// The same settings, but the offset is stored before the write.
pub fn store_first(consumer: &BaseConsumer, sink: &Sink) -> anyhow::Result<()> {
    for message in consumer.iter() {
        let message = message?;
        consumer.store_offset_from_message(&message)?; //~ ack-before-processing
        sink.write(message.payload().unwrap_or_default())?;
    }
    Ok(())
}

/// A stream consumer that commits each message after handling it.
pub async fn stream_commit(consumer: &StreamConsumer, handler: &Handler) -> anyhow::Result<()> {
    consumer
        .stream()
        .map_err(anyhow::Error::from)
        .try_for_each(|message| async move {
            handler.handle(message.payload().unwrap_or_default()).await?;
            consumer.commit_message(&message, CommitMode::Async)?;
            Ok(())
        })
        .await
}

/// Shared connection settings.
fn base_config(brokers: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", brokers).set("security.protocol", "SASL_SSL");
    config
}

/// A consumer built on the shared settings, with auto-commit off.
pub fn payments_consumer(brokers: &str) -> StreamConsumer {
    base_config(brokers)
        .set("group.id", "payments")
        .set("enable.auto.commit", "false")
        .create()
        .expect("payments consumer")
}

/// A consumer built on the shared settings that keeps the default.
pub fn reports_consumer(brokers: &str) -> StreamConsumer {
    base_config(brokers) //~ auto-ack
        .set("group.id", "reports")
        .create()
        .expect("reports consumer")
}

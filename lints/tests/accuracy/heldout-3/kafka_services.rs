//! rdkafka in services: configs through a `binding` alias, consumers wrapped
//! in `Arc`, select! loops with a shutdown signal, handlers on `self`.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::Message;
use tokio_util::sync::CancellationToken;

/// The tutorial's alias: settings go through `binding`, the consumer keeps
/// auto-commit on.
fn create() -> StreamConsumer {
    let mut binding = ClientConfig::new(); //~ auto-ack
    let config = binding
        .set("bootstrap.servers", "localhost:9092")
        .set("auto.offset.reset", "earliest")
        .set("group.id", "test-group")
        .set("socket.timeout.ms", "3000");
    config.create().expect("consumer")
}

/// Prints each message and commits it: nothing else happens to it.
pub async fn consume(consumer: StreamConsumer) {
    loop {
        match consumer.recv().await {
            Err(e) => println!("{e:?}"),
            Ok(message) => {
                match message.payload_view::<str>() {
                    None => println!("none"),
                    Some(Ok(text)) => println!("message: {text}"),
                    Some(Err(e)) => println!("parse error: {e}"),
                }
                consumer.commit_message(&message, CommitMode::Async).unwrap();
            }
        }
    }
}

/// A shared consumer whose work runs in spawned tasks.
pub async fn heavy(brokers: &str) {
    let consumer = Arc::new(
        ClientConfig::new() //~ auto-ack
            .set("bootstrap.servers", brokers)
            .set("enable.partition.eof", "false")
            .set("group.id", "heavy")
            .create::<StreamConsumer>()
            .expect("consumer"),
    );
    consumer.subscribe(&["jobs"]).unwrap();
    while let Some(Ok(message)) = consumer.stream().next().await {
        let text = message.payload_view::<str>().and_then(Result::ok).unwrap_or_default().to_owned();
        tokio::spawn(async move {
            run_heavy_job(&text).await;
        });
    }
}

pub struct Projector {
    consumer: StreamConsumer,
    producer: FutureProducer,
    store: Store,
}

impl Projector {
    /// Project each event, publish the projection keyed by the event's
    /// offset, commit; stop on shutdown.
    pub async fn run(&self, shutdown: CancellationToken) -> anyhow::Result<()> {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                received = self.consumer.recv() => {
                    let message = received?;
                    let event: AccountEvent = serde_json::from_slice(message.payload().unwrap_or_default())?;
                    let view = self.store.apply(&event).await?;
                    let key = format!("{}:{}", message.partition(), message.offset());
                    self.producer
                        .send(FutureRecord::to("account-views").key(&key).payload(&serde_json::to_vec(&view)?), Duration::from_secs(5))
                        .await
                        .map_err(|(e, _)| e)?;
                    self.consumer.commit_message(&message, CommitMode::Async)?;
                }
            }
        }
        Ok(())
    }

    /// Commits the whole consumer state first, then projects.
    pub async fn run_fast(&self) -> anyhow::Result<()> {
        loop {
            let message = self.consumer.recv().await?;
            self.consumer.commit_message(&message, CommitMode::Async)?; //~ ack-before-processing
            let event: AccountEvent = serde_json::from_slice(message.payload().unwrap_or_default())?;
            self.store.apply(&event).await?;
        }
    }

    /// Republishes invalid events to a dead-letter topic under a fixed key.
    pub async fn dead_letter(&self, payload: &[u8]) -> anyhow::Result<()> {
        self.producer
            .send(FutureRecord::to("account-events.dlq").key("invalid").payload(payload), Duration::from_secs(5)) //~ missing-idempotency-key
            .await
            .map_err(|(e, _)| e)?;
        Ok(())
    }
}

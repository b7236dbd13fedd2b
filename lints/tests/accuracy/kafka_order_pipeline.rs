//! A Kafka enrichment worker: reads orders, looks up the customer, writes
//! an enriched record to another topic.

use std::time::Duration;

use log::{info, warn};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{Header, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Order {
    id: String,
    customer_id: String,
    total_cents: i64,
}

#[derive(Serialize)]
struct EnrichedOrder {
    order_id: String,
    customer_name: String,
    total_cents: i64,
}

pub fn consumer(brokers: &str, group: &str) -> StreamConsumer {
    ClientConfig::new() //~ auto-ack
        .set("group.id", group)
        .set("bootstrap.servers", brokers)
        .set("session.timeout.ms", "6000")
        .set("auto.offset.reset", "earliest")
        .create()
        .expect("consumer creation failed")
}

pub fn producer(brokers: &str) -> FutureProducer {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("message.timeout.ms", "5000")
        .set("enable.idempotence", "true")
        .create()
        .expect("producer creation failed")
}

pub async fn run(consumer: StreamConsumer, producer: FutureProducer, directory: Directory) {
    consumer.subscribe(&["orders"]).expect("subscribe");
    loop {
        match consumer.recv().await {
            Err(e) => warn!("Kafka error: {}", e),
            Ok(m) => {
                let Some(Ok(text)) = m.payload_view::<str>() else {
                    warn!("empty or non-utf8 payload at offset {}", m.offset());
                    consumer.commit_message(&m, CommitMode::Async).unwrap();
                    continue;
                };
                let order: Order = match serde_json::from_str(text) {
                    Ok(order) => order,
                    Err(e) => {
                        warn!("bad order: {e}");
                        consumer.commit_message(&m, CommitMode::Async).unwrap();
                        continue;
                    }
                };
                let name = directory.customer_name(&order.customer_id).await;
                let enriched = EnrichedOrder { order_id: order.id.clone(), customer_name: name, total_cents: order.total_cents };
                let payload = serde_json::to_string(&enriched).unwrap();
                let headers = OwnedHeaders::new().insert(Header { key: "correlation-id", value: Some(order.id.as_str()) });
                let delivery = producer
                    .send(
                        FutureRecord::to("orders-enriched").key(&order.id).payload(&payload).headers(headers),
                        Duration::from_secs(0),
                    )
                    .await;
                info!("delivered {:?}", delivery);
                consumer.commit_message(&m, CommitMode::Async).unwrap();
            }
        }
    }
}

//! The at-least-once pattern of rdkafka's own example: auto-commit on, but
//! offsets are only stored after processing.

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use std::time::Duration;

fn create_consumer(brokers: &str, group_id: &str, topic: &str) -> StreamConsumer {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("group.id", group_id)
        .set("bootstrap.servers", brokers)
        .set("enable.auto.commit", "true")
        .set("auto.commit.interval.ms", "5000")
        .set("enable.auto.offset.store", "false")
        .create()
        .expect("Consumer creation failed");
    consumer.subscribe(&[topic]).expect("Can't subscribe to specified topic");
    consumer
}

async fn mirror(consumer: StreamConsumer, producer: FutureProducer, output: &str) {
    loop {
        match consumer.recv().await {
            Err(e) => eprintln!("Kafka error: {}", e),
            Ok(m) => {
                let mut record = FutureRecord::to(output).payload(m.payload().unwrap_or_default());
                if let Some(key) = m.key() {
                    record = record.key(key);
                }
                producer.send(record, Duration::from_secs(1)).await.expect("delivery");
                consumer.store_offset_from_message(&m).expect("store offset");
            }
        }
    }
}

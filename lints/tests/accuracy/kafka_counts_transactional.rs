//! Consume-transform-produce with Kafka transactions: the consumed offsets
//! commit atomically with the produced records.

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::TopicPartitionList;
use std::time::Duration;

pub fn clients(brokers: &str) -> (StreamConsumer, FutureProducer) {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "word-counts")
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed")
        .create()
        .expect("consumer");
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("transactional.id", "word-counts-1")
        .create()
        .expect("producer");
    (consumer, producer)
}

pub async fn count_words(consumer: StreamConsumer, producer: FutureProducer) -> anyhow::Result<()> {
    producer.init_transactions(Duration::from_secs(30))?;
    consumer.subscribe(&["lines"])?;
    loop {
        let message = consumer.recv().await?;
        let line = message.payload_view::<str>().transpose()?.unwrap_or_default();
        producer.begin_transaction()?;
        for word in line.split_whitespace() {
            let record = FutureRecord::<str, str>::to("words").payload(word);
            producer.send(record, Duration::from_secs(5)).await.map_err(|(e, _)| e)?;
        }
        let mut offsets = TopicPartitionList::new();
        offsets.add_partition_offset(message.topic(), message.partition(), rdkafka::Offset::Offset(message.offset() + 1))?;
        let metadata = consumer.group_metadata().expect("group metadata");
        producer.send_offsets_to_transaction(&offsets, &metadata, Duration::from_secs(30))?;
        producer.commit_transaction(Duration::from_secs(30))?;
    }
}

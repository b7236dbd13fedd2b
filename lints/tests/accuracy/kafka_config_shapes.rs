//! Kafka client configs built in different shapes, and a BaseProducer.

use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::consumer::{BaseConsumer, Consumer, StreamConsumer};
use rdkafka::producer::{BaseProducer, BaseRecord};
use rdkafka::message::{Header, OwnedHeaders};

pub fn statement_style(settings: &Settings) -> anyhow::Result<BaseConsumer> {
    let mut config = ClientConfig::new(); //~ auto-ack
    config.set("bootstrap.servers", &settings.brokers);
    config.set("group.id", &settings.group);
    config.set_log_level(RDKafkaLogLevel::Warning);
    let consumer: BaseConsumer = config.create()?;
    consumer.subscribe(&[settings.topic.as_str()])?;
    Ok(consumer)
}

pub fn statement_style_manual(settings: &Settings) -> anyhow::Result<BaseConsumer> {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &settings.brokers)
        .set("group.id", &settings.group)
        .set("enable.auto.commit", "false");
    Ok(config.create()?)
}

pub fn from_map(settings: &std::collections::HashMap<String, String>) -> anyhow::Result<StreamConsumer> {
    let mut config = ClientConfig::new();
    for (key, value) in settings {
        config.set(key, value);
    }
    Ok(config.create()?)
}

pub fn base_producer(brokers: &str) -> BaseProducer {
    ClientConfig::new().set("bootstrap.servers", brokers).create().expect("producer")
}

pub fn emit(producer: &BaseProducer, order_id: &str, payload: &[u8]) {
    let headers = OwnedHeaders::new().insert(Header { key: "event-id", value: Some(order_id) });
    let _ = producer.send(BaseRecord::<(), _>::to("orders").payload(payload).headers(headers));
    let _ = producer.send(BaseRecord::<(), _>::to("metrics").payload(payload)); //~ missing-idempotency-key
}

pub fn poll_loop(consumer: &BaseConsumer, store: &Store) {
    loop {
        match consumer.poll(std::time::Duration::from_millis(100)) {
            None => continue,
            Some(Err(e)) => eprintln!("{e}"),
            Some(Ok(message)) => {
                consumer.store_offset_from_message(&message).expect("store"); //~ ack-before-processing
                store.save(message.payload().unwrap_or_default());
            }
        }
    }
}

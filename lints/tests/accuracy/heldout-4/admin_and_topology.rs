//! Setup code that mentions every broker but consumes and publishes
//! nothing: topics, queues, exchanges, streams, key-value buckets.

use std::time::Duration;

use lapin::options::{BasicQosOptions, ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use lapin::{Channel, ExchangeKind};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use redis::AsyncCommands;

pub async fn create_topics(brokers: &str) -> anyhow::Result<()> {
    let topics = vec![NewTopic::new("messages", 3, TopicReplication::Fixed(1))];
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("message.timeout.ms", "5000")
        .create()?;
    admin.create_topics(&topics, &AdminOptions::default()).await?;
    Ok(())
}

/// A metadata reader: a consumer with no group commits nothing.
pub fn list_topics(url: &str) -> anyhow::Result<Vec<String>> {
    let consumer: BaseConsumer = ClientConfig::new().set("bootstrap.servers", url).create()?;
    let metadata = consumer.fetch_metadata(None, Duration::from_secs(5))?;
    Ok(metadata.topics().iter().map(|topic| topic.name().to_string()).collect())
}

pub async fn declare(channel: &Channel) -> lapin::Result<()> {
    channel.exchange_declare("orders".into(), ExchangeKind::Topic, ExchangeDeclareOptions { durable: true, ..Default::default() }, FieldTable::default()).await?;
    let mut args = FieldTable::default();
    args.insert("x-dead-letter-exchange".into(), lapin::types::AMQPValue::LongString("orders.dlx".into()));
    channel.queue_declare("orders.billing".into(), QueueDeclareOptions { durable: true, ..Default::default() }, args).await?;
    channel.queue_bind("orders.billing".into(), "orders".into(), "order.*".into(), QueueBindOptions::default(), FieldTable::default()).await?;
    channel.basic_qos(20, BasicQosOptions::default()).await?;
    channel.confirm_select(ConfirmSelectOptions::default()).await?;
    Ok(())
}

pub async fn sqs_setup(client: &aws_sdk_sqs::Client) -> anyhow::Result<String> {
    let created = client.create_queue().queue_name("jobs.fifo").attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true").send().await?;
    let url = created.queue_url().unwrap_or_default().to_string();
    client.purge_queue().queue_url(&url).send().await?;
    Ok(url)
}

pub async fn nats_setup(js: &async_nats::jetstream::Context) -> anyhow::Result<()> {
    js.get_or_create_stream(async_nats::jetstream::stream::Config {
        name: "ORDERS".into(),
        subjects: vec!["orders.>".into()],
        duplicate_window: Duration::from_secs(120),
        ..Default::default()
    })
    .await?;
    let kv = js.create_key_value(async_nats::jetstream::kv::Config { bucket: "settings".into(), ..Default::default() }).await?;
    kv.put("feature.checkout", "on".into()).await?;
    let _current = kv.get("feature.checkout").await?;
    Ok(())
}

pub async fn counters(con: &mut redis::aio::MultiplexedConnection, page: &str) -> redis::RedisResult<i64> {
    let _: () = con.set(format!("last:{page}"), "seen").await?;
    con.incr(format!("views:{page}"), 1).await
}

//! MQTT (rumqttc) ingesters, Pulsar (pulsar-rs) consumers and producers,
//! and an iggy consumer group.

use std::time::Duration;

use chrono::Utc;
use futures::TryStreamExt;
use iggy::prelude::*;
use pulsar::{producer, Consumer, Pulsar, SerializeMessage, SubType, TokioExecutor};
use rumqttc::{AsyncClient, Event, Incoming, MqttOptions, QoS};
use sqlx::PgPool;

/// Power readings from MQTT into Postgres; acks are sent by the event loop.
pub async fn power_ingest(pool: PgPool) -> anyhow::Result<()> {
    let mut options = MqttOptions::new("power-ingest", "localhost", 1883); //~ auto-ack
    options.set_keep_alive(Duration::from_secs(5));
    let (client, mut eventloop) = AsyncClient::new(options, 10);
    client.subscribe("home/+/power", QoS::AtLeastOnce).await?;
    loop {
        if let Event::Incoming(Incoming::Publish(publish)) = eventloop.poll().await? {
            println!("[{}] {}", Utc::now(), publish.topic);
            let value: f64 = String::from_utf8_lossy(&publish.payload).parse()?;
            sqlx::query("insert into power (value) values ($1)").bind(value).execute(&pool).await?;
        }
    }
}

/// Manual acks, sent after the row is stored.
pub async fn power_ingest_manual(pool: PgPool) -> anyhow::Result<()> {
    let mut options = MqttOptions::new("power-ingest-2", "localhost", 1883);
    options.set_manual_acks(true).set_clean_session(false);
    let (client, mut eventloop) = AsyncClient::new(options, 10);
    client.subscribe("home/+/power", QoS::AtLeastOnce).await?;
    loop {
        if let Event::Incoming(Incoming::Publish(publish)) = eventloop.poll().await? {
            let value: f64 = String::from_utf8_lossy(&publish.payload).parse()?;
            sqlx::query("insert into power (value) values ($1)").bind(value).execute(&pool).await?;
            client.ack(&publish).await?;
        }
    }
}

/// The pulsar README shape: ack, then deserialise and handle.
pub async fn pulsar_consume(pulsar: Pulsar<TokioExecutor>) -> Result<(), pulsar::Error> {
    let mut consumer: Consumer<TestData, _> = pulsar
        .consumer()
        .with_topic("test")
        .with_consumer_name("test_consumer")
        .with_subscription_type(SubType::Exclusive)
        .with_subscription("test_subscription")
        .build()
        .await?;
    while let Some(msg) = consumer.try_next().await? {
        consumer.ack(&msg).await?; //~ ack-before-processing
        let data = match msg.deserialize() {
            Ok(data) => data,
            Err(e) => {
                log::error!("could not deserialize message: {:?}", e);
                break;
            }
        };
        handle(data).await;
    }
    Ok(())
}

/// Handle first, nack on failure, ack after.
pub async fn pulsar_consume_safely(mut consumer: Consumer<TestData, TokioExecutor>, repo: &Repo) -> Result<(), pulsar::Error> {
    while let Some(msg) = consumer.try_next().await? {
        let Ok(data) = msg.deserialize() else {
            consumer.ack(&msg).await?;
            continue;
        };
        match repo.save(&data).await {
            Ok(()) => consumer.ack(&msg).await?,
            Err(_) => consumer.nack(&msg).await?,
        }
    }
    Ok(())
}

impl SerializeMessage for &TestData {
    fn serialize_message(input: Self) -> Result<producer::Message, pulsar::Error> {
        let payload = serde_json::to_vec(input).map_err(|e| pulsar::Error::Custom(e.to_string()))?;
        Ok(producer::Message { payload, ..Default::default() })
    }
}

/// A job producer with no message id in the properties.
pub async fn produce_jobs(pulsar: Pulsar<TokioExecutor>, jobs: Vec<TestData>) -> Result<(), pulsar::Error> {
    let mut producer = pulsar.producer().with_topic("jobs").with_name("job-producer").build().await?;
    for job in &jobs {
        producer.send_non_blocking(job).await?.await?; //~ missing-idempotency-key
    }
    Ok(())
}

/// An iggy consumer group left on the default auto-commit.
pub async fn iggy_consume(client: &IggyClient, store: &Store) -> Result<(), IggyError> {
    let mut consumer = client
        .consumer_group("analytics", "app", "events")?
        .polling_strategy(PollingStrategy::next())
        .batch_length(100)
        .build(); //~ auto-ack
    consumer.init().await?;
    while let Some(message) = consumer.next().await {
        let message = message?;
        store.append(&message.message.payload).await?;
    }
    Ok(())
}

/// An iggy consumer group that stores offsets itself.
pub async fn iggy_consume_manual(client: &IggyClient, store: &Store) -> Result<(), IggyError> {
    let mut consumer = client
        .consumer_group("billing", "app", "events")?
        .auto_commit(AutoCommit::Disabled)
        .build();
    consumer.init().await?;
    while let Some(message) = consumer.next().await {
        let message = message?;
        store.append(&message.message.payload).await?;
        consumer.store_offset(message.message.header.offset, None).await?;
    }
    Ok(())
}

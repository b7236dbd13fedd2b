//! async-nats JetStream consumers and publishers: an example-style pull
//! consumer, an event-bus adapter, handlers with explicit acks.

use async_nats::jetstream::{self, consumer::pull, consumer::AckPolicy, consumer::PullConsumer};
use async_nats::HeaderMap;
use bytes::Bytes;
use futures::StreamExt;

/// The example shape: publish ten messages, read them back.
pub async fn pull_demo(client: async_nats::Client) -> Result<(), async_nats::Error> {
    let js = jetstream::new(client);
    let consumer: PullConsumer = js
        .create_stream("max")
        .await?
        .create_consumer(pull::Config { durable_name: Some("max".to_string()), ..Default::default() })
        .await?;
    for _ in 0..10 {
        js.publish("max".to_string(), "max".into()).await?; //~ missing-idempotency-key
    }
    let mut messages = consumer.messages().await?.take(10);
    while let Some(message) = messages.next().await {
        let message = message?;
        println!("got {:?}", message.payload);
    }
    Ok(())
}

/// A telemetry tap that asks the server not to track acks.
pub async fn telemetry_tap(js: &jetstream::Context) -> Result<(), async_nats::Error> {
    let stream = js.get_stream("TELEMETRY").await?;
    let consumer = stream
        .get_or_create_consumer("tap", pull::Config {
            durable_name: Some("tap".into()),
            ack_policy: AckPolicy::None, //~ auto-ack
            ..Default::default()
        })
        .await?;
    let mut messages = consumer.messages().await?;
    while let Some(Ok(message)) = messages.next().await {
        record_sample(&message.payload).await;
    }
    Ok(())
}

/// Acks, then persists the reading.
pub async fn readings(consumer: PullConsumer, db: &sqlx::PgPool) -> anyhow::Result<()> {
    let mut messages = consumer.messages().await?;
    while let Some(message) = messages.next().await {
        let message = message.map_err(|e| anyhow::anyhow!(e))?;
        message.ack().await.map_err(|e| anyhow::anyhow!(e))?; //~ ack-before-processing
        let reading: Reading = serde_json::from_slice(&message.payload)?;
        sqlx::query("insert into readings (sensor, value) values ($1, $2)").bind(&reading.sensor).bind(reading.value).execute(db).await?;
    }
    Ok(())
}

/// Handles, publishes a follow-up whose Nats-Msg-Id is derived from the
/// consumed message's stream sequence, then double-acks.
pub async fn shipments(consumer: PullConsumer, js: jetstream::Context) -> anyhow::Result<()> {
    let mut messages = consumer.messages().await?;
    while let Some(message) = messages.next().await {
        let message = message.map_err(|e| anyhow::anyhow!(e))?;
        let info = message.info().map_err(|e| anyhow::anyhow!(e))?;
        let order: Order = serde_json::from_slice(&message.payload)?;
        let label = print_label(&order).await?;
        let mut headers = HeaderMap::new();
        headers.insert("Nats-Msg-Id", format!("label-{}", info.stream_sequence).as_str());
        js.publish_with_headers("shipments.labelled", headers, Bytes::from(label)).await?.await?;
        message.double_ack().await.map_err(|e| anyhow::anyhow!(e))?;
    }
    Ok(())
}

/// An adapter behind the application's own `Bus` trait.
pub struct JetStreamBus {
    context: jetstream::Context,
}

impl JetStreamBus {
    pub async fn publish(&self, subject: String, payload: Bytes) -> anyhow::Result<()> {
        self.context.publish(subject, payload).await?.await?; //~ missing-idempotency-key
        Ok(())
    }

    pub async fn publish_event(&self, subject: String, event_id: &str, payload: Bytes) -> anyhow::Result<()> {
        let publish = jetstream::context::Publish::build().payload(payload).message_id(event_id);
        self.context.send_publish(subject, publish).await?.await?;
        Ok(())
    }
}

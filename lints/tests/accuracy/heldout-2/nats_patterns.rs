//! async-nats: JetStream handlers with nak and term, core NATS services,
//! and JetStream publishes with and without ids.

use async_nats::jetstream::{self, AckKind};
use async_nats::HeaderMap;
use futures::StreamExt;

/// Processes, acks; naks on a transient failure, terms garbage.
pub async fn invoices(consumer: jetstream::consumer::PullConsumer, billing: &Billing) -> anyhow::Result<()> {
    let mut messages = consumer.messages().await?;
    while let Some(message) = messages.next().await {
        let message = message.map_err(|e| anyhow::anyhow!(e))?;
        let Ok(invoice) = serde_json::from_slice::<Invoice>(&message.payload) else {
            message.ack_with(AckKind::Term).await.map_err(|e| anyhow::anyhow!(e))?;
            continue;
        };
        match billing.charge(&invoice).await {
            Ok(()) => message.ack().await.map_err(|e| anyhow::anyhow!(e))?,
            Err(_) => message.ack_with(AckKind::Nak(None)).await.map_err(|e| anyhow::anyhow!(e))?,
        }
    }
    Ok(())
}

/// Acks explicitly with `AckKind::Ack`, then indexes.
pub async fn indexer(consumer: jetstream::consumer::PullConsumer, index: &Index) -> anyhow::Result<()> {
    let mut messages = consumer.messages().await?;
    while let Some(Ok(message)) = messages.next().await {
        message.ack_with(AckKind::Ack).await.map_err(|e| anyhow::anyhow!(e))?; //~ ack-before-processing
        index.add(&message.payload).await?;
    }
    Ok(())
}

/// Core NATS request-reply: no JetStream, no acks.
pub async fn greeter(client: async_nats::Client) -> anyhow::Result<()> {
    let mut requests = client.subscribe("greet.*").await?;
    while let Some(request) = requests.next().await {
        if let Some(reply) = request.reply {
            client.publish(reply, "hello".into()).await?;
        }
    }
    Ok(())
}

/// A JetStream publish whose headers carry a trace id but no message id.
pub async fn publish_traced(js: &jetstream::Context, trace_id: &str, body: Vec<u8>) -> anyhow::Result<()> {
    let mut headers = HeaderMap::new();
    headers.insert("trace-id", trace_id);
    js.publish_with_headers("audit.entries", headers, body.into()).await?.await?; //~ missing-idempotency-key
    Ok(())
}

/// Handles an order and announces the result before acking, with no id.
pub async fn fulfil(consumer: jetstream::consumer::PullConsumer, js: jetstream::Context, warehouse: &Warehouse) -> anyhow::Result<()> {
    let mut messages = consumer.messages().await?;
    while let Some(message) = messages.next().await {
        let message = message.map_err(|e| anyhow::anyhow!(e))?;
        let order: Order = serde_json::from_slice(&message.payload)?;
        let shipment = warehouse.pick(&order).await?;
        js.publish("shipments.created", serde_json::to_vec(&shipment)?.into()).await?.await?; //~ missing-idempotency-key publish-before-ack
        message.ack().await.map_err(|e| anyhow::anyhow!(e))?;
    }
    Ok(())
}

/// The same, with the id derived from the order.
pub async fn fulfil_idempotently(consumer: jetstream::consumer::PullConsumer, js: jetstream::Context, warehouse: &Warehouse) -> anyhow::Result<()> {
    let mut messages = consumer.messages().await?;
    while let Some(message) = messages.next().await {
        let message = message.map_err(|e| anyhow::anyhow!(e))?;
        let order: Order = serde_json::from_slice(&message.payload)?;
        let shipment = warehouse.pick(&order).await?;
        let publish = jetstream::context::Publish::build()
            .payload(serde_json::to_vec(&shipment)?.into())
            .message_id(format!("shipment-{}", order.id));
        js.send_publish("shipments.created", publish).await?.await?;
        message.ack().await.map_err(|e| anyhow::anyhow!(e))?;
    }
    Ok(())
}

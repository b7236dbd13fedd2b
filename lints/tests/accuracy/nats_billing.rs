//! A JetStream billing service: pull consumer, invoices published with a
//! message id derived from the order, and an audit trail.

use async_nats::jetstream::{self, consumer::pull, consumer::AckPolicy, context::Publish, AckKind};
use chrono::{DateTime, Local, Utc};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Deserialize)]
struct OrderPlaced {
    order_id: String,
    amount_cents: i64,
}

#[derive(Serialize)]
struct InvoiceIssued {
    invoice_id: String,
    order_id: String,
    issued_at: DateTime<Utc>,
}

#[derive(Serialize)]
struct AuditEvent { //~ missing-idempotency-key
    action: String,
    at: DateTime<Local>, //~ local-time
}

pub async fn run(client: async_nats::Client) -> Result<(), async_nats::Error> {
    let js = jetstream::new(client);
    let stream = js.get_stream("ORDERS").await?;
    let consumer = stream
        .get_or_create_consumer(
            "billing",
            pull::Config { durable_name: Some("billing".into()), ack_policy: AckPolicy::Explicit, max_deliver: 5, ..Default::default() },
        )
        .await?;
    let mut messages = consumer.messages().await?;
    while let Some(message) = messages.next().await {
        let message = message?;
        let order: OrderPlaced = match serde_json::from_slice(&message.payload) {
            Ok(order) => order,
            Err(_) => {
                message.ack_with(AckKind::Term).await?;
                continue;
            }
        };
        let invoice = InvoiceIssued {
            invoice_id: format!("inv-{}", order.order_id),
            order_id: order.order_id.clone(),
            issued_at: Utc::now(),
        };
        let publish = Publish::build()
            .payload(serde_json::to_vec(&invoice)?.into())
            .message_id(format!("invoice-{}", order.order_id));
        js.send_publish("invoices.issued", publish).await?.await?;
        tracing::info!(order = %order.order_id, at = %Local::now(), "invoiced");
        message.ack().await?;
    }
    Ok(())
}

pub async fn audit(js: &jetstream::Context, action: &str) -> Result<(), async_nats::Error> {
    let event = AuditEvent { action: action.to_string(), at: Local::now() }; //~ local-time
    js.publish("audit", serde_json::to_vec(&event)?.into()).await?; //~ missing-idempotency-key
    Ok(())
}

pub async fn slow_jobs(js: &jetstream::Context) -> Result<(), async_nats::Error> {
    let consumer: pull::PullConsumer = js.get_consumer_from_stream("jobs", "JOBS").await?;
    let mut batch = consumer.fetch().max_messages(10).expires(Duration::from_secs(5)).messages().await?;
    while let Some(job) = batch.next().await {
        let job = job?;
        job.ack_with(AckKind::Progress).await?;
        render_report(&job.payload).await;
        job.double_ack().await?;
    }
    Ok(())
}

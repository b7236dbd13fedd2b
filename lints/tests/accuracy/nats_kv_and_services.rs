//! NATS request/reply services, core subscriptions and a JetStream
//! projector that writes to Postgres.

use async_nats::jetstream::{self, consumer::pull::Config as PullConfig, AckKind};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

#[derive(Serialize, Deserialize)]
pub struct PriceChangedEvent {
    pub sku: String,
    pub cents: i64,
    pub version: u64,
}

#[derive(Serialize, Deserialize)]
pub struct PriceQuery {
    pub sku: String,
}

pub async fn price_service(client: async_nats::Client, pool: PgPool) -> anyhow::Result<()> {
    let mut requests = client.subscribe("prices.get").await?;
    while let Some(request) = requests.next().await {
        let query: PriceQuery = serde_json::from_slice(&request.payload)?;
        let cents: (i64,) = sqlx::query_as("SELECT cents FROM prices WHERE sku = $1").bind(&query.sku).fetch_one(&pool).await?;
        if let Some(reply) = request.reply {
            client.publish(reply, cents.0.to_string().into()).await?;
        }
    }
    Ok(())
}

pub async fn projector(js: jetstream::Context, pool: PgPool) -> anyhow::Result<()> {
    let stream = js.get_stream("PRICES").await?;
    let consumer = stream.get_or_create_consumer("projector", PullConfig { durable_name: Some("projector".into()), ..Default::default() }).await?;
    let mut messages = consumer.messages().await?;
    while let Some(message) = messages.next().await {
        let message = message?;
        let event: PriceChangedEvent = match serde_json::from_slice(&message.payload) {
            Ok(event) => event,
            Err(_) => {
                message.ack_with(AckKind::Term).await.ok();
                continue;
            }
        };
        let updated = sqlx::query("UPDATE prices SET cents = $1, version = $2 WHERE sku = $3 AND version < $2")
            .bind(event.cents)
            .bind(event.version as i64)
            .bind(&event.sku)
            .execute(&pool)
            .await;
        match updated {
            Ok(_) => message.ack().await.ok(),
            Err(_) => message.ack_with(AckKind::Nak(None)).await.ok(),
        };
    }
    Ok(())
}

pub async fn change_price(js: &jetstream::Context, pool: &PgPool, sku: &str, cents: i64) -> anyhow::Result<()> {
    let version: (i64,) = sqlx::query_as("UPDATE prices SET cents = $1, version = version + 1 WHERE sku = $2 RETURNING version")
        .bind(cents)
        .bind(sku)
        .fetch_one(pool)
        .await?;
    let event = PriceChangedEvent { sku: sku.to_string(), cents, version: version.0 as u64 };
    js.publish(format!("prices.changed.{sku}"), serde_json::to_vec(&event)?.into()).await?.await?; //~ dual-write missing-idempotency-key
    Ok(())
}

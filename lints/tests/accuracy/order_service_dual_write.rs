//! An order service: sqlx for the database, lapin for events.

use lapin::{options::BasicPublishOptions, BasicProperties, Channel};
use serde::Serialize;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

#[derive(Serialize)]
pub struct OrderPlacedEvent {
    pub event_id: Uuid,
    pub order_id: Uuid,
    pub total_cents: i64,
}

pub struct OrderService {
    pool: PgPool,
    channel: Channel,
}

impl OrderService {
    pub async fn place(&self, customer: &str, total_cents: i64) -> anyhow::Result<Uuid> {
        let order_id = Uuid::new_v4();
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO orders (id, customer, total_cents) VALUES ($1, $2, $3)")
            .bind(order_id)
            .bind(customer)
            .bind(total_cents)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;

        let event = OrderPlacedEvent { event_id: Uuid::new_v4(), order_id, total_cents };
        let props = BasicProperties::default().with_message_id(event.event_id.to_string().into());
        self.channel
            .basic_publish("orders".into(), "order.placed".into(), BasicPublishOptions::default(), &serde_json::to_vec(&event)?, props) //~ dual-write
            .await?;
        Ok(order_id)
    }

    pub async fn cancel(&self, order_id: Uuid) -> anyhow::Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query!("UPDATE orders SET status = 'cancelled' WHERE id = $1", order_id)
            .execute(&mut *tx)
            .await?;
        enqueue_event(&mut tx, "order.cancelled", &order_id.to_string()).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn list(&self) -> anyhow::Result<Vec<(Uuid, i64)>> {
        Ok(sqlx::query_as("SELECT id, total_cents FROM orders").fetch_all(&self.pool).await?)
    }
}

/// Writes an event to the outbox in the caller's transaction.
async fn enqueue_event(tx: &mut Transaction<'_, Postgres>, kind: &str, payload: &str) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO outbox (id, kind, payload) VALUES ($1, $2, $3)")
        .bind(Uuid::new_v4())
        .bind(kind)
        .bind(payload)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The relay: publishes what the outbox holds, then marks it sent.
pub async fn relay(pool: &PgPool, channel: &Channel) -> anyhow::Result<()> {
    loop {
        let rows: Vec<(Uuid, String, String)> =
            sqlx::query_as("SELECT id, kind, payload FROM outbox WHERE published_at IS NULL ORDER BY created_at LIMIT 100")
                .fetch_all(pool)
                .await?;
        for (id, kind, payload) in rows {
            let props = BasicProperties::default().with_message_id(id.to_string().into());
            channel.basic_publish("events".into(), kind.as_str().into(), BasicPublishOptions::default(), payload.as_bytes(), props).await?;
            sqlx::query("UPDATE outbox SET published_at = now() WHERE id = $1").bind(id).execute(pool).await?;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

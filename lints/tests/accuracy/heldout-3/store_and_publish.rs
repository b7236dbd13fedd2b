//! Repositories and use cases that store and publish: sqlx transactions
//! with and without an outbox, a rusqlite job queue, a diesel-async
//! closure transaction, and a use case that hands events to its own bus.

use std::time::Duration;

use rdkafka::producer::{FutureProducer, FutureRecord};
use sqlx::{PgPool, Postgres, Transaction};

pub struct OrderRepository {
    pool: PgPool,
}

impl OrderRepository {
    /// Saves the order and its outbox row in one transaction.
    pub async fn save(&self, order: &Order) -> anyhow::Result<()> {
        let mut tx: Transaction<'_, Postgres> = self.pool.begin().await?;
        sqlx::query("insert into orders (id, total) values ($1, $2)").bind(&order.id).bind(order.total).execute(&mut *tx).await?;
        sqlx::query("insert into outbox_events (aggregate_id, kind, body) values ($1, 'OrderPlaced', $2)")
            .bind(&order.id)
            .bind(serde_json::to_value(order)?)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

pub struct CheckoutService {
    repo: OrderRepository,
    producer: FutureProducer,
    pool: PgPool,
}

impl CheckoutService {
    /// Commits the stock change, then publishes: two writes, no outbox.
    pub async fn reserve(&self, sku: &str, quantity: i32) -> anyhow::Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("update stock set reserved = reserved + $1 where sku = $2").bind(quantity).bind(sku).execute(&mut *tx).await?;
        tx.commit().await?;
        let key = format!("{sku}-{quantity}");
        self.producer.send(FutureRecord::to("stock").key(&key).payload(sku), Duration::from_secs(5)).await.map_err(|(e, _)| e)?; //~ dual-write
        Ok(())
    }

    /// Publishes first, then stores: still two writes.
    pub async fn cancel(&self, order_id: &str) -> anyhow::Result<()> {
        self.producer.send(FutureRecord::to("orders.cancelled").key(order_id).payload(order_id), Duration::from_secs(5)).await.map_err(|(e, _)| e)?; //~ dual-write
        sqlx::query("update orders set status = 'cancelled' where id = $1").bind(order_id).execute(&self.pool).await?;
        Ok(())
    }

    /// Only reads before publishing.
    pub async fn resend_confirmation(&self, order_id: &str) -> anyhow::Result<()> {
        let email: String = sqlx::query_scalar("select email from orders where id = $1").bind(order_id).fetch_one(&self.pool).await?;
        let key = format!("confirmation-{order_id}");
        self.producer.send(FutureRecord::to("emails").key(&key).payload(&email), Duration::from_secs(5)).await.map_err(|(e, _)| e)?;
        Ok(())
    }
}

/// A rusqlite job table used as a local queue: insert only.
pub fn enqueue_job(conn: &rusqlite::Connection, kind: &str, payload: &str) -> rusqlite::Result<()> {
    conn.execute("insert into jobs (kind, payload) values (?1, ?2)", (kind, payload))?;
    Ok(())
}

/// diesel-async closure transaction, then a NATS publish with an id.
pub async fn approve(conn: &mut diesel_async::AsyncPgConnection, js: &async_nats::jetstream::Context, loan_id: i64) -> anyhow::Result<()> {
    use diesel_async::AsyncConnection;
    conn.transaction::<_, diesel::result::Error, _>(|conn| {
        Box::pin(async move {
            diesel::update(loans::table.find(loan_id)).set(loans::approved.eq(true)).execute(conn).await?;
            Ok(())
        })
    })
    .await?;
    let publish = async_nats::jetstream::context::Publish::build().payload("approved".into()).message_id(format!("loan-approved-{loan_id}"));
    js.send_publish("loans.approved", publish).await?.await?; //~ dual-write
    Ok(())
}

/// A use case that records domain events on its own in-memory bus.
pub struct RegisterUser {
    pool: PgPool,
    bus: tokio::sync::mpsc::UnboundedSender<DomainEvent>,
}

impl RegisterUser {
    pub async fn execute(&self, email: &str) -> anyhow::Result<()> {
        sqlx::query("insert into users (email) values ($1)").bind(email).execute(&self.pool).await?;
        let _ = self.bus.send(DomainEvent::UserRegistered { email: email.to_string() });
        Ok(())
    }
}

//! Services that store and publish: sqlx, tokio-postgres, sea-orm, diesel
//! and mongodb next to Kafka, NATS, RabbitMQ, SQS and in-process buses.

use std::time::Duration;

use rdkafka::producer::{FutureProducer, FutureRecord};
use sea_orm::{ActiveModelTrait, DatabaseConnection, TransactionTrait};
use serde::Serialize;
use sqlx::PgPool;
use tokio::sync::broadcast;

/// The outbox example: the post and its event in one transaction.
pub async fn create_post(pool: &PgPool, title: &str, content: &str) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    let (post, event) = new_post(title, content);
    sqlx::query("insert into post (id, title, content) values ($1, $2, $3)").bind(post.id).bind(&post.title).bind(&post.content).execute(&mut *tx).await?;
    sqlx::query("insert into outbox (topic, payload, created_at) values ($1, $2, now())").bind(event.topic()).bind(event.payload()).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}

/// Auto-committed insert, then a Kafka send.
pub async fn register_user(pool: &PgPool, producer: &FutureProducer, email: &str) -> anyhow::Result<()> {
    let id = uuid::Uuid::new_v4();
    sqlx::query("insert into users (id, email) values ($1, $2)").bind(id).bind(email).execute(pool).await?;
    let key = id.to_string();
    producer.send(FutureRecord::to("users.registered").key(&key).payload(email), Duration::from_secs(5)).await.map_err(|(e, _)| e)?; //~ dual-write
    Ok(())
}

/// tokio-postgres write, then a JetStream publish with a message id.
pub async fn close_ticket(client: &tokio_postgres::Client, js: &async_nats::jetstream::Context, id: i64) -> anyhow::Result<()> {
    client.execute("update tickets set closed = true where id = $1", &[&id]).await?;
    let publish = async_nats::jetstream::context::Publish::build().payload("closed".into()).message_id(format!("ticket-closed-{id}"));
    js.send_publish(format!("tickets.{id}.closed"), publish).await?.await?; //~ dual-write
    Ok(())
}

/// Commit, then announce on an in-process broadcast channel.
pub struct Catalog {
    pool: PgPool,
    changes: broadcast::Sender<CatalogChange>,
}

impl Catalog {
    pub async fn rename(&self, sku: &str, name: &str) -> anyhow::Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("update products set name = $1 where sku = $2").bind(name).bind(sku).execute(&mut *tx).await?;
        tx.commit().await?;
        let _ = self.changes.send(CatalogChange::Renamed { sku: sku.to_string() });
        Ok(())
    }
}

/// A domain event bus of the application's own, in memory.
pub struct EventBus {
    subscribers: Vec<tokio::sync::mpsc::UnboundedSender<DomainEvent>>,
}

impl EventBus {
    pub fn publish(&self, event: DomainEvent) {
        for subscriber in &self.subscribers {
            let _ = subscriber.send(event.clone());
        }
    }
}

pub struct Accounts {
    pool: PgPool,
    events: EventBus,
}

impl Accounts {
    pub async fn open(&self, owner: &str) -> anyhow::Result<()> {
        sqlx::query("insert into accounts (owner) values ($1)").bind(owner).execute(&self.pool).await?;
        self.events.publish(DomainEvent::AccountOpened { owner: owner.to_string() });
        Ok(())
    }
}

/// sea-orm closure transaction, then a RabbitMQ publish.
pub async fn place_order(db: &DatabaseConnection, channel: &lapin::Channel, order: order::ActiveModel, order_id: String) -> anyhow::Result<()> {
    db.transaction::<_, (), sea_orm::DbErr>(|txn| Box::pin(async move {
        order.insert(txn).await?;
        Ok(())
    }))
    .await?;
    let props = lapin::BasicProperties::default().with_message_id(order_id.clone().into());
    channel.basic_publish("orders".into(), "order.placed".into(), lapin::options::BasicPublishOptions::default(), order_id.as_bytes(), props).await?; //~ dual-write
    Ok(())
}

/// The relay: read unpublished outbox rows, publish, mark them.
pub async fn relay(pool: &PgPool, producer: &FutureProducer) -> anyhow::Result<()> {
    let rows: Vec<(i64, String, Vec<u8>)> = sqlx::query_as("select id, topic, payload from outbox where published_at is null order by id limit 100").fetch_all(pool).await?;
    for (id, topic, payload) in rows {
        let key = id.to_string();
        producer.send(FutureRecord::to(&topic).key(&key).payload(&payload), Duration::from_secs(5)).await.map_err(|(e, _)| e)?;
        sqlx::query("update outbox set published_at = now() where id = $1").bind(id).execute(pool).await?;
    }
    Ok(())
}

/// A mongodb write, then an SQS FIFO send with a dedup id.
pub async fn archive(collection: &mongodb::Collection<Document>, sqs: &aws_sdk_sqs::Client, queue_url: &str, doc: Document) -> anyhow::Result<()> {
    let id = doc.id.clone();
    collection.insert_one(doc).await?;
    sqs.send_message() //~ dual-write
        .queue_url(queue_url)
        .message_body(&id)
        .message_group_id("archive")
        .message_deduplication_id(&id)
        .send()
        .await?;
    Ok(())
}

#[derive(Clone, Serialize)]
pub enum CatalogChange {
    Renamed { sku: String },
}

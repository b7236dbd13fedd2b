//! More store-and-publish shapes: a mongodb transaction, an event store
//! table that is not an outbox, a pure publisher, a locked relay.

use std::time::Duration;

use mongodb::bson::doc;
use rdkafka::producer::{FutureProducer, FutureRecord};
use sqlx::PgPool;

/// A mongodb multi-document transaction, then a Kafka send.
pub async fn transfer(client: &mongodb::Client, producer: &FutureProducer, from: &str, to: &str, cents: i64) -> anyhow::Result<()> {
    let accounts = client.database("bank").collection::<mongodb::bson::Document>("accounts");
    let mut session = client.start_session().await?;
    session.start_transaction().await?;
    accounts.update_one(doc! { "_id": from }, doc! { "$inc": { "cents": -cents } }).session(&mut session).await?;
    accounts.update_one(doc! { "_id": to }, doc! { "$inc": { "cents": cents } }).session(&mut session).await?;
    session.commit_transaction().await?;
    let key = format!("{from}-{to}-{cents}");
    producer.send(FutureRecord::to("transfers").key(&key).payload("done"), Duration::from_secs(5)).await.map_err(|(e, _)| e)?; //~ dual-write
    Ok(())
}

/// Appends to the event store table, then publishes the event directly.
pub async fn record_and_publish(pool: &PgPool, producer: &FutureProducer, stream_id: &str, version: i64, body: &str) -> anyhow::Result<()> {
    sqlx::query("insert into events (stream_id, version, body) values ($1, $2, $3)").bind(stream_id).bind(version).bind(body).execute(pool).await?;
    let key = format!("{stream_id}-{version}");
    producer.send(FutureRecord::to("events").key(&key).payload(body), Duration::from_secs(5)).await.map_err(|(e, _)| e)?; //~ dual-write
    Ok(())
}

/// Publishes only.
pub async fn announce(producer: &FutureProducer, release: &str) -> anyhow::Result<()> {
    producer.send(FutureRecord::to("releases").key(release).payload(release), Duration::from_secs(5)).await.map_err(|(e, _)| e)?;
    Ok(())
}

/// The relay: claims rows with SKIP LOCKED, publishes, marks them sent.
pub async fn relay(pool: &PgPool, producer: &FutureProducer) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    let rows: Vec<(i64, String, String)> = sqlx::query_as("select id, topic, body from outbox where sent_at is null order by id limit 50 for update skip locked").fetch_all(&mut *tx).await?;
    for (id, topic, body) in &rows {
        let key = id.to_string();
        producer.send(FutureRecord::to(topic).key(&key).payload(body), Duration::from_secs(5)).await.map_err(|(e, _)| e)?;
        sqlx::query("update outbox set sent_at = now() where id = $1").bind(id).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

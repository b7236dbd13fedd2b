//! Web handlers and services that write to a database and publish: axum
//! with sqlx and rdkafka, diesel with lapin, tokio-postgres with an outbox,
//! mongodb with JetStream, sea-orm through its trait.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Json, State};
use diesel::prelude::*;
use rdkafka::producer::{FutureProducer, FutureRecord};
use sea_orm::{ActiveModelTrait, DatabaseConnection};
use sqlx::PgPool;

pub struct AppState {
    pub pool: PgPool,
    pub producer: Arc<FutureProducer>,
}

/// Insert the signup, then announce it.
pub async fn signup(State(state): State<Arc<AppState>>, Json(form): Json<SignupForm>) -> Result<(), AppError> {
    let user_id = uuid::Uuid::new_v4().to_string();
    sqlx::query("insert into users (id, email) values ($1, $2)").bind(&user_id).bind(&form.email).execute(&state.pool).await?;
    state
        .producer
        .send(FutureRecord::to("signups").key(&user_id).payload(&form.email), Duration::from_secs(5)) //~ dual-write
        .await
        .map_err(|(e, _)| e)?;
    Ok(())
}

/// Insert, then publish from a background task.
pub async fn feedback(State(state): State<Arc<AppState>>, Json(form): Json<FeedbackForm>) -> Result<(), AppError> {
    let id: i64 = sqlx::query_scalar("insert into feedback (body) values ($1) returning id").bind(&form.body).fetch_one(&state.pool).await?;
    let producer = state.producer.clone();
    tokio::spawn(async move {
        let key = id.to_string();
        let _ = producer.send(FutureRecord::to("feedback").key(&key).payload("new"), Duration::from_secs(5)).await; //~ dual-write
    });
    Ok(())
}

/// diesel transaction, then a RabbitMQ publish with a message id.
pub async fn place(conn: &mut PgConnection, channel: &lapin::Channel, new_order: NewOrder) -> anyhow::Result<()> {
    let order_id = new_order.id.clone();
    conn.transaction::<_, diesel::result::Error, _>(|conn| {
        diesel::insert_into(orders::table).values(&new_order).execute(conn)?;
        Ok(())
    })?;
    let props = lapin::BasicProperties::default().with_message_id(format!("order-placed-{order_id}").into());
    channel
        .basic_publish("orders".into(), "placed".into(), lapin::options::BasicPublishOptions::default(), order_id.as_bytes(), props) //~ dual-write
        .await?;
    Ok(())
}

/// tokio-postgres: the row and its event in one transaction.
pub async fn rename(client: &mut tokio_postgres::Client, id: i64, name: &str) -> anyhow::Result<()> {
    let tx = client.transaction().await?;
    tx.execute("update products set name = $1 where id = $2", &[&name, &id]).await?;
    tx.execute("insert into outbox (aggregate_id, event_type, payload) values ($1, 'ProductRenamed', $2)", &[&id, &name]).await?;
    tx.commit().await?;
    Ok(())
}

/// Reads a report and publishes it: nothing is written.
pub async fn publish_report(pool: &PgPool, producer: &FutureProducer, day: &str) -> anyhow::Result<()> {
    let total: i64 = sqlx::query_scalar("select count(*) from orders where day = $1").bind(day).fetch_one(pool).await?;
    let key = format!("report-{day}");
    producer.send(FutureRecord::to("reports").key(&key).payload(&total.to_string()), Duration::from_secs(5)).await.map_err(|(e, _)| e)?;
    Ok(())
}

/// mongodb update, then a JetStream publish with an id.
pub async fn verify(users: &mongodb::Collection<mongodb::bson::Document>, js: &async_nats::jetstream::Context, user_id: &str) -> anyhow::Result<()> {
    users.update_one(mongodb::bson::doc! { "_id": user_id }, mongodb::bson::doc! { "$set": { "verified": true } }).await?;
    let publish = async_nats::jetstream::context::Publish::build().payload(user_id.to_string().into()).message_id(format!("verified-{user_id}"));
    js.send_publish("users.verified", publish).await?.await?; //~ dual-write
    Ok(())
}

/// sea-orm through the trait's fully qualified form, then Kafka.
pub async fn register_device(db: &DatabaseConnection, producer: &FutureProducer, device: device::ActiveModel, serial: String) -> anyhow::Result<()> {
    ActiveModelTrait::insert(device, db).await?;
    producer.send(FutureRecord::to("devices").key(&serial).payload("registered"), Duration::from_secs(5)).await.map_err(|(e, _)| e)?; //~ dual-write
    Ok(())
}

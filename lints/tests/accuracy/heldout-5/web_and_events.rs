//! An actix-web service on diesel with RabbitMQ events, and an
//! event-sourced account with its event enum.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, Pool};
use lapin::options::BasicPublishOptions;
use lapin::BasicProperties;
use serde::{Deserialize, Serialize};

type DbPool = Pool<ConnectionManager<PgConnection>>;

pub struct AppState {
    pub pool: DbPool,
    pub channel: lapin::Channel,
}

/// Inserts through `web::block`, then announces the new customer.
pub async fn create_customer(state: web::Data<AppState>, form: web::Json<NewCustomer>) -> actix_web::Result<HttpResponse> {
    let pool = state.pool.clone();
    let customer = form.into_inner();
    let id = customer.id.clone();
    web::block(move || {
        let mut conn = pool.get()?;
        diesel::insert_into(customers::table).values(&customer).execute(&mut conn)
    })
    .await??;
    let props = BasicProperties::default().with_message_id(format!("customer-created-{id}").into());
    state
        .channel
        .basic_publish("customers".into(), "created".into(), BasicPublishOptions::default(), id.as_bytes(), props) //~ dual-write
        .await
        .map_err(actix_web::error::ErrorInternalServerError)?;
    Ok(HttpResponse::Created().finish())
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum AccountEvent { //~ missing-idempotency-key
    Opened { owner: String, at: DateTime<Utc> },
    Deposited { amount: i64 },
    Withdrawn { amount: i64 },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredEvent {
    pub stream_id: String,
    pub version: i64,
    pub event: AccountEvent,
}

/// Appends to the event store and updates the projection in one
/// transaction; nothing is published here.
pub async fn append(pool: &sqlx::PgPool, stored: &StoredEvent) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query("insert into events (stream_id, version, body) values ($1, $2, $3)")
        .bind(&stored.stream_id)
        .bind(stored.version)
        .bind(serde_json::to_value(&stored.event)?)
        .execute(&mut *tx)
        .await?;
    sqlx::query("update balances set version = $1 where stream_id = $2").bind(stored.version).bind(&stored.stream_id).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}

//! HTTP handlers that write to Postgres and publish to NATS, in the style
//! of axum services; tokio-postgres and rusqlite variants.

use async_nats::jetstream;
use axum::{extract::State, Json};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

#[derive(Clone)]
pub struct AppState {
    pool: PgPool,
    js: jetstream::Context,
}

#[derive(Deserialize)]
pub struct NewTicket {
    title: String,
}

#[derive(Serialize)]
pub struct TicketOpenedEvent {
    ticket_id: i64,
    title: String,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum AlertEvent { //~ missing-idempotency-key
    Raised { level: u8, text: String },
    Cleared { text: String },
}

pub async fn open_ticket(State(state): State<AppState>, Json(input): Json<NewTicket>) -> Result<Json<i64>, AppError> {
    let (id,): (i64,) = sqlx::query_as("INSERT INTO tickets (title) VALUES ($1) RETURNING id")
        .bind(&input.title)
        .fetch_one(&state.pool)
        .await?;
    let event = TicketOpenedEvent { ticket_id: id, title: input.title };
    let publish = jetstream::context::Publish::build()
        .payload(serde_json::to_vec(&event)?.into())
        .message_id(format!("ticket-opened-{id}"));
    state.js.send_publish("tickets.opened", publish).await?.await?; //~ dual-write
    Ok(Json(id))
}

pub async fn list_tickets(State(state): State<AppState>) -> Result<Json<Vec<(i64, String)>>, AppError> {
    let rows = sqlx::query_as("SELECT id, title FROM tickets").fetch_all(&state.pool).await?;
    state.js.publish("tickets.listed", "{}".into()).await?; //~ missing-idempotency-key
    Ok(Json(rows))
}

pub async fn close_ticket(client: &tokio_postgres::Client, js: &jetstream::Context, id: i64) -> anyhow::Result<()> {
    client.execute("UPDATE tickets SET closed = true WHERE id = $1", &[&id]).await?;
    js.send_publish("tickets.closed", jetstream::context::Publish::build().payload("{}".into()).message_id(format!("closed-{id}"))) //~ dual-write
        .await?
        .await?;
    Ok(())
}

pub fn archive_locally(conn: &rusqlite::Connection, id: i64) -> rusqlite::Result<usize> {
    conn.execute("INSERT INTO archive (ticket_id) VALUES (?1)", [id])
}

pub async fn reopen_with_outbox(pool: &PgPool, id: i64) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query("UPDATE tickets SET closed = false WHERE id = $1").bind(id).execute(&mut *tx).await?;
    sqlx::query("INSERT INTO outbox (subject, payload) VALUES ('tickets.reopened', $1)").bind(id.to_string()).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}

//! Event and message types, HTTP response types, and timestamps: which
//! reach an event or the database and which only a log line or a screen.

use chrono::{DateTime, Local, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Serialize, Deserialize)]
pub struct PaymentCaptured {
    pub order_id: String,
    pub amount_cents: i64,
    pub captured_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct PaymentRefunded {
    pub event_id: Uuid,
    pub order_id: String,
    pub amount_cents: i64,
}

#[derive(Debug, Serialize)]
pub struct StockReserved { //~ missing-idempotency-key
    pub correlation_id: String,
    pub sku: String,
    pub quantity: u32,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct OrderStatusChanged {
    pub order_id: String,
    pub version: u64,
    pub status: String,
}

/// An HTTP response body, not a message.
#[derive(Serialize)]
pub struct HealthResponse {
    pub status: &'static str,
    pub uptime_seconds: u64,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ShiftStarted {
    pub event_id: Uuid,
    pub worker: String,
    pub started_at: DateTime<Local>, //~ local-time
}

#[derive(Debug, Serialize, Deserialize)]
pub struct MeterRead {
    pub message_id: Uuid,
    pub meter: String,
    pub read_at: NaiveDateTime, //~ local-time
}

pub fn shift_started(worker: &str) -> ShiftStarted {
    ShiftStarted { event_id: Uuid::new_v4(), worker: worker.to_string(), started_at: Local::now() } //~ local-time
}

pub fn meter_read(meter: &str) -> MeterRead {
    MeterRead { message_id: Uuid::new_v4(), meter: meter.to_string(), read_at: Utc::now().naive_utc() }
}

pub async fn log_payment(event: &PaymentCaptured) {
    tracing::info!(at = %Local::now().format("%H:%M:%S"), order = %event.order_id, "payment captured");
}

/// A terminal dashboard's clock.
pub fn status_line(pending: usize) -> String {
    format!("{} — {pending} pending", Local::now().format("%a %H:%M"))
}

pub async fn record_login(pool: &sqlx::PgPool, user: &str) -> anyhow::Result<()> {
    let now = OffsetDateTime::now_local()?; //~ local-time
    sqlx::query("insert into logins (user_name, at) values ($1, $2)").bind(user).bind(now).execute(pool).await?;
    Ok(())
}

pub async fn record_logout(pool: &sqlx::PgPool, user: &str) -> anyhow::Result<()> {
    let now = OffsetDateTime::now_utc();
    sqlx::query("insert into logouts (user_name, at) values ($1, $2)").bind(user).bind(now).execute(pool).await?;
    Ok(())
}

#[derive(Serialize)]
pub struct ReminderScheduled {
    pub reminder_id: Uuid,
    pub due: String,
}

pub fn schedule(due_in_hours: i64) -> ReminderScheduled {
    let due = jiff::Zoned::now().checked_add(jiff::Span::new().hours(due_in_hours)).expect("in range"); //~ local-time
    ReminderScheduled { reminder_id: Uuid::new_v4(), due: due.to_string() }
}

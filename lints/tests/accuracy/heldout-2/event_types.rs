//! A service's `events` module and its DTOs: serde only, no broker here.

use chrono::{DateTime, Local, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum DomainEvent { //~ missing-idempotency-key
    UserRegistered { email: String },
    EmailVerified { email: String, verified_at: DateTime<Utc> },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserRegistered {
    pub user_id: Uuid,
    pub email: String,
    pub registered_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PasswordChanged { //~ missing-idempotency-key
    pub email: String,
    pub changed_at: NaiveDateTime, //~ local-time
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CartCheckedOut {
    pub cart_id: String,
    pub total_cents: i64,
    pub at: DateTime<Local>, //~ local-time
}

/// The API's view of a user.
#[derive(Debug, Serialize)]
pub struct UserDto {
    pub id: i64,
    pub name: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Deserialize)]
pub struct Settings {
    pub database_url: String,
    pub webhook_url: String,
}

pub fn password_changed(email: &str) -> PasswordChanged {
    PasswordChanged { email: email.to_string(), changed_at: Local::now().naive_local() } //~ local-time
}

pub fn log_file_name() -> String {
    format!("audit-{}.log", chrono::Local::now().format("%Y-%m-%d"))
}

pub fn timed<T>(f: impl FnOnce() -> T) -> T {
    let started = Local::now();
    let out = f();
    tracing::info!("started at {started}, took {:?}", Local::now() - started);
    out
}

pub async fn notify_webhook(client: &reqwest::Client, settings: &Settings, order_id: &str) -> anyhow::Result<()> {
    let body = serde_json::json!({ "order_id": order_id, "at": Local::now().to_rfc3339() }); //~ local-time
    client.post(&settings.webhook_url).json(&body).send().await?;
    Ok(())
}

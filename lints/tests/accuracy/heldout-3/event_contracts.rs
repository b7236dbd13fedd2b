//! A shared contracts crate: the messages services exchange, and helpers
//! that stamp them.

use chrono::{DateTime, Local, TimeZone, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope<T> {
    pub message_id: String,
    pub occurred_at: DateTime<Utc>,
    pub payload: T,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShipmentDispatched {
    pub shipment_id: String,
    pub carrier: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum InventoryCommand {
    Reserve { sku: String, quantity: u32 },
    Release { sku: String, quantity: u32 },
}

pub fn envelope<T>(message_id: String, payload: T) -> Envelope<T> {
    Envelope { message_id, occurred_at: Utc::now(), payload }
}

/// Converts a stored UTC time for a report shown to a warehouse clerk.
pub fn clerk_view(at: DateTime<Utc>) -> String {
    at.with_timezone(&Local).format("%d.%m. %H:%M").to_string()
}

/// Stamps an envelope from the wall clock, converted to UTC first.
pub fn stamped<T>(message_id: String, payload: T) -> Envelope<T> {
    let now = Local::now();
    Envelope { message_id, occurred_at: now.with_timezone(&Utc), payload }
}

/// Reads a local wall-clock string and keeps it as a local time in the
/// stored row.
pub async fn import_row(pool: &sqlx::PgPool, text: &str) -> anyhow::Result<()> {
    let naive = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M")?;
    let local = Local.from_local_datetime(&naive).single().ok_or_else(|| anyhow::anyhow!("ambiguous"))?;
    sqlx::query("insert into imports (at) values ($1)").bind(local).execute(pool).await?;
    Ok(())
}

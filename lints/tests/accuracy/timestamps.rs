//! Timestamps in events, rows and logs.

use chrono::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
pub struct ShipmentDispatchedEvent {
    pub shipment_id: String,
    pub dispatched_at: NaiveDateTime, //~ local-time
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ShipmentDeliveredEvent {
    pub shipment_id: String,
    pub delivered_at: DateTime<Utc>,
}

/// A database row read for a report: naive timestamps are the column type,
/// and this is not a message.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct ShipmentRow {
    pub id: String,
    pub created_at: NaiveDateTime,
}

pub fn dispatched(shipment_id: &str) -> ShipmentDispatchedEvent {
    ShipmentDispatchedEvent {
        shipment_id: shipment_id.to_string(),
        dispatched_at: Local::now().naive_local(), //~ local-time
    }
}

pub fn delivered(shipment_id: &str) -> ShipmentDeliveredEvent {
    let local = Local::now();
    log::info!("delivered {} at {}", shipment_id, local.format("%d/%m/%Y %H:%M"));
    ShipmentDeliveredEvent { shipment_id: shipment_id.to_string(), delivered_at: local.with_timezone(&Utc) }
}

pub fn banner() {
    let now = Local::now();
    println!("Shipping service started at {}", now.to_rfc2822());
    eprintln!("today is {}", Local::today());
}

pub fn is_business_hours() -> bool {
    let now = Local::now();
    now.weekday().num_days_from_monday() < 5 && (9..18).contains(&now.hour())
}

pub async fn record_pickup(pool: &sqlx::PgPool, shipment_id: &str) -> sqlx::Result<()> {
    let picked_up = Local::now().naive_local(); //~ local-time
    sqlx::query("UPDATE shipments SET picked_up_at = $1 WHERE id = $2")
        .bind(picked_up)
        .bind(shipment_id)
        .execute(pool)
        .await?;
    Ok(())
}

pub fn elapsed_since(start: DateTime<Local>) -> chrono::Duration {
    Local::now() - start
}

pub fn log_line(message: &str) -> String {
    format!("[{}] {}", Local::now().format("%H:%M:%S"), message)
}

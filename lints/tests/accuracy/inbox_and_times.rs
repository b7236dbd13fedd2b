//! An inbox consumer (processed ids and the effect in one transaction) and
//! more timestamp shapes.

use chrono::{DateTime, Local, TimeZone, Utc};
use futures::StreamExt;
use lapin::options::BasicAckOptions;
use serde::Serialize;

#[derive(Serialize)]
pub struct StockAdjustedEvent {
    pub adjustment_id: String,
    pub at_unix: i64,
    pub local_day: String,
}

pub async fn inbox_consumer(mut consumer: lapin::Consumer, pool: sqlx::PgPool) -> anyhow::Result<()> {
    while let Some(delivery) = consumer.next().await {
        let delivery = delivery?;
        let message_id = delivery.properties.message_id().clone().map(|id| id.to_string()).unwrap_or_default();
        let mut tx = pool.begin().await?;
        let inserted = sqlx::query("INSERT INTO inbox (message_id) VALUES ($1) ON CONFLICT DO NOTHING")
            .bind(&message_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if inserted == 1 {
            sqlx::query("UPDATE stock SET qty = qty - 1 WHERE sku = $1").bind(&delivery.data).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        delivery.ack(BasicAckOptions::default()).await?;
    }
    Ok(())
}

pub fn adjusted(adjustment_id: String) -> StockAdjustedEvent {
    StockAdjustedEvent {
        adjustment_id,
        at_unix: Local::now().timestamp(),
        local_day: Local::now().format("%Y-%m-%d").to_string(), //~ local-time
    }
}

pub fn shifted(event_time: DateTime<Utc>) -> serde_json::Value {
    let local = event_time.with_timezone(&Local); //~ local-time
    serde_json::json!({ "at": local.to_rfc3339() })
}

pub fn report_header() -> String {
    let generated = time::OffsetDateTime::now_local().unwrap_or_else(|_| time::OffsetDateTime::now_utc());
    format!("Report generated {generated}")
}

pub fn midnight_tonight() -> DateTime<Local> {
    let today = Local::now().date_naive();
    Local.from_local_datetime(&today.and_hms_opt(23, 59, 59).unwrap()).unwrap()
}

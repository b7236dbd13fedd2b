//! Producers and timestamps in a scheduling service.

use std::time::Duration;

use chrono::{Local, Utc};
use fe2o3_amqp::types::messaging::{Message, Properties};
use fe2o3_amqp::Sender;
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde::Serialize;

#[derive(Serialize)]
pub struct SlotBooked {
    pub booking_id: String,
    pub starts_at_unix: i64,
    pub booked_at: String,
}

pub async fn book(producer: &FutureProducer, booking_id: &str, starts: chrono::DateTime<Utc>) -> anyhow::Result<()> {
    let event = SlotBooked {
        booking_id: booking_id.to_string(),
        starts_at_unix: starts.timestamp(),
        booked_at: chrono::offset::Local::now().to_rfc3339(), //~ local-time
    };
    producer
        .send(FutureRecord::to("bookings").key(booking_id).payload(&serde_json::to_vec(&event)?), Duration::from_secs(5))
        .await
        .map_err(|(e, _)| e)?;
    Ok(())
}

pub async fn record_daily(pool: &sqlx::PgPool, total: i64) -> anyhow::Result<()> {
    let day = Local::today().naive_local(); //~ local-time
    sqlx::query("insert into daily_totals (day, total) values ($1, $2)").bind(day).bind(total).execute(pool).await?;
    Ok(())
}

pub fn epoch_seconds_now() -> i64 {
    Local::now().timestamp()
}

pub async fn send_reminder(sender: &mut Sender, booking_id: &str) -> anyhow::Result<()> {
    let message = Message::builder()
        .properties(Properties::builder().message_id(format!("reminder-{booking_id}")).build())
        .value(booking_id.to_string())
        .build();
    sender.send(message).await?;
    Ok(())
}

pub async fn cancel(producer: &FutureProducer, user_id: &str, booking_id: &str) -> anyhow::Result<()> {
    producer
        .send(FutureRecord::to("cancellations").key(user_id).payload(booking_id), Duration::from_secs(5))
        .await
        .map_err(|(e, _)| e)?;
    Ok(())
}

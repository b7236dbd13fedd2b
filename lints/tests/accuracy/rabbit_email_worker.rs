//! A RabbitMQ worker that sends emails, in the style of the lapin examples.

use futures_lite::stream::StreamExt;
use lapin::{
    options::*, types::FieldTable, BasicProperties, Connection, ConnectionProperties,
};
use serde::{Deserialize, Serialize};
use tracing::{error, info};

#[derive(Debug, Deserialize)]
struct EmailJob {
    to: String,
    subject: String,
    body: String,
}

#[derive(Serialize)]
struct EmailSentEvent { //~ missing-idempotency-key
    to: String,
    subject: String,
    correlation_id: String,
}

pub async fn run(addr: &str, mailer: Mailer) -> Result<(), Box<dyn std::error::Error>> {
    let conn = Connection::connect(addr, ConnectionProperties::default()).await?;
    let channel = conn.create_channel().await?;
    channel.basic_qos(10, BasicQosOptions::default()).await?;
    let mut consumer = channel
        .basic_consume("emails".into(), "mailer".into(), BasicConsumeOptions::default(), FieldTable::default())
        .await?;

    info!("waiting for jobs");
    while let Some(delivery) = consumer.next().await {
        let delivery = match delivery {
            Ok(delivery) => delivery,
            Err(e) => {
                error!("consumer error: {e}");
                continue;
            }
        };
        let job: EmailJob = match serde_json::from_slice(&delivery.data) {
            Ok(job) => job,
            Err(e) => {
                error!("malformed job: {e}");
                delivery.reject(BasicRejectOptions { requeue: false }).await?;
                continue;
            }
        };
        mailer.send(&job.to, &job.subject, &job.body).await?;
        let event = EmailSentEvent { to: job.to.clone(), subject: job.subject.clone(), correlation_id: String::new() };
        channel
            .basic_publish( //~ missing-idempotency-key publish-before-ack
                "".into(),
                "emails.sent".into(),
                BasicPublishOptions::default(),
                &serde_json::to_vec(&event)?,
                BasicProperties::default().with_content_type("application/json".into()),
            )
            .await?;
        delivery.ack(BasicAckOptions::default()).await?;
    }
    Ok(())
}

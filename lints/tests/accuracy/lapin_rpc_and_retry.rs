//! RabbitMQ patterns: an RPC server, a retry queue, and a dead-letter
//! handler.

use futures_lite::StreamExt;
use lapin::options::*;
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel};

pub async fn rpc_server(channel: Channel) -> lapin::Result<()> {
    let mut consumer = channel.basic_consume("rpc_queue", "rpc", BasicConsumeOptions::default(), FieldTable::default()).await?;
    while let Some(delivery) = consumer.next().await {
        let delivery = delivery?;
        let n: u64 = std::str::from_utf8(&delivery.data).ok().and_then(|s| s.parse().ok()).unwrap_or(0);
        let reply_to = delivery.properties.reply_to().clone().unwrap_or_default();
        let correlation = delivery.properties.correlation_id().clone().unwrap_or_default();
        channel
            .basic_publish(
                "",
                reply_to.as_str(),
                BasicPublishOptions::default(),
                fib(n).to_string().as_bytes(),
                BasicProperties::default().with_correlation_id(correlation),
            )
            .await?;
        channel.basic_ack(delivery.delivery_tag, BasicAckOptions::default()).await?;
    }
    Ok(())
}

pub async fn with_retries(channel: Channel, handler: Handler) -> lapin::Result<()> {
    let mut consumer = channel.basic_consume("work", "worker", BasicConsumeOptions::default(), FieldTable::default()).await?;
    while let Some(delivery) = consumer.next().await {
        let delivery = delivery?;
        match handler.handle(&delivery.data).await {
            Ok(()) => delivery.ack(BasicAckOptions::default()).await?,
            Err(e) if e.retryable() => {
                let mut headers = FieldTable::default();
                headers.insert("x-retry-of".into(), AMQPValue::LongString(delivery.delivery_tag.to_string().into()));
                headers.insert("message-id".into(), AMQPValue::LongString(format!("retry-{}", delivery.delivery_tag).into()));
                channel
                    .basic_publish("", "work.retry", BasicPublishOptions::default(), &delivery.data, BasicProperties::default().with_headers(headers))
                    .await?;
                delivery.ack(BasicAckOptions::default()).await?;
            }
            Err(_) => delivery.reject(BasicRejectOptions::default()).await?,
        };
    }
    Ok(())
}

pub async fn dead_letters(channel: Channel, alerts: Alerts) -> lapin::Result<()> {
    let mut consumer = channel.basic_consume("work.dlq", "dlq", BasicConsumeOptions::default(), FieldTable::default()).await?;
    while let Some(delivery) = consumer.next().await {
        let delivery = delivery?;
        alerts.page(&delivery.data).await;
        delivery.ack(BasicAckOptions::default()).await?;
    }
    Ok(())
}

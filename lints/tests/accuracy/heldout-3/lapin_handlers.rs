//! RabbitMQ consumers behind an application `MessageHandler` trait, with
//! retry-by-republish and a reply exchange.

use async_trait::async_trait;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicNackOptions, BasicPublishOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel};

#[async_trait]
pub trait MessageHandler: Send + Sync {
    async fn handle(&self, delivery: Delivery) -> Result<(), HandlerError>;
}

pub struct InvoiceHandler {
    channel: Channel,
    ledger: Ledger,
}

#[async_trait]
impl MessageHandler for InvoiceHandler {
    /// Books the invoice, acks; on a transient error republishes it with a
    /// retry count (keeping its message id) and acks the original.
    async fn handle(&self, delivery: Delivery) -> Result<(), HandlerError> {
        let invoice: Invoice = serde_json::from_slice(&delivery.data).map_err(|e| HandlerError::Permanent(e.to_string()))?;
        match self.ledger.book(&invoice).await {
            Ok(()) => {
                delivery.ack(BasicAckOptions::default()).await.map_err(|e| HandlerError::Transient(e.to_string()))?;
            }
            Err(_) => {
                let mut headers = FieldTable::default();
                headers.insert("x-retry".into(), AMQPValue::LongUInt(1));
                let props = delivery.properties.clone().with_headers(headers);
                self.channel
                    .basic_publish("".into(), "invoices.retry".into(), BasicPublishOptions::default(), &delivery.data, props)
                    .await
                    .map_err(|e| HandlerError::Transient(e.to_string()))?;
                delivery.ack(BasicAckOptions::default()).await.map_err(|e| HandlerError::Transient(e.to_string()))?;
            }
        }
        Ok(())
    }
}

pub struct QuoteHandler {
    channel: Channel,
    pricing: Pricing,
}

#[async_trait]
impl MessageHandler for QuoteHandler {
    /// Acks the request up front, then prices it and replies.
    async fn handle(&self, delivery: Delivery) -> Result<(), HandlerError> {
        delivery.ack(BasicAckOptions::default()).await.map_err(|e| HandlerError::Transient(e.to_string()))?; //~ ack-before-processing
        let request: QuoteRequest = serde_json::from_slice(&delivery.data).map_err(|e| HandlerError::Permanent(e.to_string()))?;
        let quote = self.pricing.quote(&request).await;
        let props = BasicProperties::default()
            .with_message_id(format!("quote-{}", request.request_id).into())
            .with_correlation_id(request.request_id.clone().into());
        self.channel
            .basic_publish("quotes".into(), "".into(), BasicPublishOptions::default(), &serde_json::to_vec(&quote).unwrap_or_default(), props)
            .await
            .map_err(|e| HandlerError::Transient(e.to_string()))?;
        Ok(())
    }
}

pub struct NotifyHandler {
    channel: Channel,
}

#[async_trait]
impl MessageHandler for NotifyHandler {
    /// Fans the event out to the notification exchange before acking, with
    /// no id of its own.
    async fn handle(&self, delivery: Delivery) -> Result<(), HandlerError> {
        let event: OrderEvent = serde_json::from_slice(&delivery.data).map_err(|e| HandlerError::Permanent(e.to_string()))?;
        let body = serde_json::to_vec(&Notification::from(&event)).map_err(|e| HandlerError::Permanent(e.to_string()))?;
        self.channel
            .basic_publish("notifications".into(), "order".into(), BasicPublishOptions::default(), &body, BasicProperties::default().with_delivery_mode(2)) //~ missing-idempotency-key publish-before-ack
            .await
            .map_err(|e| HandlerError::Transient(e.to_string()))?;
        delivery.ack(BasicAckOptions::default()).await.map_err(|e| HandlerError::Transient(e.to_string()))?;
        Ok(())
    }
}

/// Requeues on failure through `nack`.
pub async fn handle_or_requeue(delivery: Delivery, store: &Store) -> lapin::Result<()> {
    if store.save(&delivery.data).await.is_err() {
        delivery.nack(BasicNackOptions { requeue: true, ..Default::default() }).await?;
        return Ok(());
    }
    delivery.ack(BasicAckOptions::default()).await?;
    Ok(())
}

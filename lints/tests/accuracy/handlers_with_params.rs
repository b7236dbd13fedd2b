//! Message handlers written as functions that receive the delivery, as in
//! frameworks that own the consume loop.

use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicNackOptions, BasicPublishOptions};
use lapin::{BasicProperties, Channel};

pub async fn on_payment(channel: &Channel, delivery: Delivery, ledger: &Ledger) -> lapin::Result<()> {
    let payment: Payment = match serde_json::from_slice(&delivery.data) {
        Ok(payment) => payment,
        Err(_) => {
            delivery.nack(BasicNackOptions { requeue: false, ..Default::default() }).await?;
            return Ok(());
        }
    };
    if ledger.contains(&payment.id).await {
        // Already applied: a redelivery. Ack and drop it.
        delivery.ack(BasicAckOptions::default()).await?;
        return Ok(());
    }
    ledger.apply(&payment).await;
    let receipt_id = format!("receipt-{}", payment.id);
    channel
        .basic_publish(
            "".into(),
            "receipts".into(),
            BasicPublishOptions::default(),
            receipt_id.as_bytes(),
            BasicProperties::default().with_message_id(receipt_id.clone().into()).with_correlation_id(payment.id.clone().into()),
        )
        .await?;
    delivery.ack(BasicAckOptions::default()).await?;
    Ok(())
}

pub async fn on_refund(channel: &Channel, delivery: Delivery) -> lapin::Result<()> {
    let props = BasicProperties::default().with_correlation_id("refunds".into());
    channel
        .basic_publish("".into(), "refund.requested".into(), BasicPublishOptions::default(), &delivery.data, props) //~ missing-idempotency-key publish-before-ack
        .await?;
    delivery.ack(BasicAckOptions::default()).await?;
    Ok(())
}

pub async fn on_audit(delivery: Delivery, sink: &AuditSink) -> lapin::Result<()> {
    delivery.acker.ack(BasicAckOptions::default()).await?; //~ ack-before-processing
    sink.write(&delivery.data).await;
    Ok(())
}

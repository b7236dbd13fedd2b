//! Azure Service Bus receivers with the community AMQP crate.

use azservicebus::prelude::*;
use azservicebus::{ServiceBusClient, ServiceBusReceiverOptions, ServiceBusReceiveMode};

pub async fn drain(connection_string: &str) -> Result<(), anyhow::Error> {
    let mut client = ServiceBusClient::new_from_connection_string(connection_string, Default::default()).await?;
    let options = ServiceBusReceiverOptions { receive_mode: ServiceBusReceiveMode::ReceiveAndDelete, ..Default::default() }; //~ auto-ack
    let mut receiver = client.create_receiver_for_queue("telemetry", options).await?;
    loop {
        let messages = receiver.receive_messages(50).await?;
        for message in &messages {
            record(message.body()?).await;
        }
    }
}

pub async fn orders(connection_string: &str, shipping: Shipping) -> Result<(), anyhow::Error> {
    let mut client = ServiceBusClient::new_from_connection_string(connection_string, Default::default()).await?;
    let mut receiver = client.create_receiver_for_queue("orders", ServiceBusReceiverOptions::default()).await?;
    let mut sender = client.create_sender("shipments", Default::default()).await?;
    loop {
        let message = receiver.receive_message().await?;
        let order: Order = serde_json::from_slice(message.body()?)?;
        if order.lines.is_empty() {
            receiver.dead_letter_message(message, Default::default()).await?;
            continue;
        }
        shipping.book(&order).await?;
        let mut shipment = ServiceBusMessage::new(serde_json::to_vec(&order.lines)?);
        shipment.set_message_id(format!("shipment-{}", order.id))?;
        sender.send_message(shipment).await?;
        receiver.complete_message(message).await?;
    }
}

pub async fn notify(sender: &mut ServiceBusSender, text: &str) -> Result<(), anyhow::Error> {
    let note = ServiceBusMessage::new(text.as_bytes().to_vec());
    sender.send_message(note).await?; //~ missing-idempotency-key
    Ok(())
}

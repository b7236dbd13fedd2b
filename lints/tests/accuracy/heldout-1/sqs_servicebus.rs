//! SQS and Azure Service Bus workers and senders: load testers, SDK-example
//! senders, batch deletes, peek-lock receivers and receive-and-delete
//! drains.

use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageAttributeValue};
use aws_sdk_sqs::Client;
use azservicebus::{ServiceBusClient, ServiceBusMessage, ServiceBusReceiverOptions};
use azure_messaging_servicebus::{CreateReceiverOptions, ReceiveMode};

/// A load tester's sender: body only.
pub async fn send_body(client: &Client, queue_url: &str, body: &str) -> anyhow::Result<()> {
    client
        .send_message() //~ missing-idempotency-key
        .queue_url(queue_url)
        .message_body(body)
        .send()
        .await?;
    Ok(())
}

/// The SDK example's FIFO send: a group, but no deduplication id.
pub async fn send_grouped(client: &Client, queue_url: &str) -> anyhow::Result<()> {
    let rsp = client
        .send_message() //~ missing-idempotency-key
        .queue_url(queue_url)
        .message_body("hello from my queue")
        .message_group_id("MyGroup")
        .send()
        .await?;
    println!("{rsp:?}");
    Ok(())
}

/// A standard-queue send that carries its event id as an attribute.
pub async fn send_with_event_id(client: &Client, queue_url: &str, event: &Envelope) -> anyhow::Result<()> {
    let id = MessageAttributeValue::builder().data_type("String").string_value(event.event_id.to_string()).build()?;
    client
        .send_message()
        .queue_url(queue_url)
        .message_body(serde_json::to_string(event)?)
        .message_attributes("event_id", id)
        .send()
        .await?;
    Ok(())
}

/// Receives and prints; never deletes, so messages come back.
pub async fn peek(client: &Client, queue_url: &str) -> anyhow::Result<()> {
    let output = client.receive_message().queue_url(queue_url).send().await?;
    for message in output.messages.unwrap_or_default() {
        println!("got {message:?}");
    }
    Ok(())
}

/// Processes a batch, then deletes the handled ones in one call.
pub async fn batch_worker(client: &Client, queue_url: &str, jobs: &Jobs) -> anyhow::Result<()> {
    let output = client.receive_message().queue_url(queue_url).max_number_of_messages(10).send().await?;
    let mut done = Vec::new();
    for message in output.messages() {
        if jobs.run(message.body().unwrap_or_default()).await.is_ok() {
            done.push(
                DeleteMessageBatchRequestEntry::builder()
                    .id(message.message_id().unwrap_or_default())
                    .receipt_handle(message.receipt_handle().unwrap_or_default())
                    .build()?,
            );
        }
    }
    if !done.is_empty() {
        client.delete_message_batch().queue_url(queue_url).set_entries(Some(done)).send().await?;
    }
    Ok(())
}

/// azservicebus: peek-lock, complete after the work, dead-letter garbage,
/// reply with a message id.
pub async fn invoices(client: &mut ServiceBusClient<azservicebus::core::BasicRetryPolicy>, ledger: &Ledger) -> anyhow::Result<()> {
    let mut receiver = client.create_receiver_for_queue("invoices", ServiceBusReceiverOptions::default()).await?;
    let mut sender = client.create_sender("invoice-events", Default::default()).await?;
    loop {
        let message = receiver.receive_message().await?;
        let Ok(invoice) = serde_json::from_slice::<Invoice>(message.body()?) else {
            receiver.dead_letter_message(message, Default::default()).await?;
            continue;
        };
        ledger.post(&invoice).await?;
        let mut event = ServiceBusMessage::new(serde_json::to_vec(&InvoicePosted { invoice_id: invoice.id.clone() })?);
        event.set_message_id(format!("posted-{}", invoice.id))?;
        sender.send_message(event).await?;
        receiver.complete_message(&message).await?;
    }
}

/// azservicebus: completes before handling.
pub async fn complete_first(client: &mut ServiceBusClient<azservicebus::core::BasicRetryPolicy>, mailer: &Mailer) -> anyhow::Result<()> {
    let mut receiver = client.create_receiver_for_queue("emails", ServiceBusReceiverOptions::default()).await?;
    loop {
        let message = receiver.receive_message().await?;
        receiver.complete_message(&message).await?; //~ ack-before-processing
        mailer.send(message.body()?).await?;
    }
}

/// The new official crate: receive-and-delete.
pub async fn drain(client: &azure_messaging_servicebus::ServiceBusClient, sink: &Sink) -> anyhow::Result<()> {
    let receiver = client.create_receiver("clicks", Some(CreateReceiverOptions { receive_mode: ReceiveMode::ReceiveAndDelete, sub_queue: None })).await?; //~ auto-ack
    loop {
        for message in receiver.receive_messages(50, None).await? {
            sink.write(message.body()).await?;
        }
    }
}

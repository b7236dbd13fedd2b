//! An SQS worker in the style of the AWS SDK examples.

use aws_sdk_sqs::types::Message;
use aws_sdk_sqs::Client;

pub async fn poll(client: &Client, queue_url: &str, repo: &Repository) -> Result<(), aws_sdk_sqs::Error> {
    loop {
        let output = client
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(20)
            .send()
            .await?;
        for message in output.messages() {
            let Some(body) = message.body() else {
                client
                    .delete_message()
                    .queue_url(queue_url)
                    .receipt_handle(message.receipt_handle().unwrap_or_default())
                    .send()
                    .await?;
                continue;
            };
            match repo.apply(body).await {
                Ok(()) => {
                    client
                        .delete_message()
                        .queue_url(queue_url)
                        .receipt_handle(message.receipt_handle().unwrap_or_default())
                        .send()
                        .await?;
                }
                Err(_) => {
                    client
                        .change_message_visibility()
                        .queue_url(queue_url)
                        .receipt_handle(message.receipt_handle().unwrap_or_default())
                        .visibility_timeout(0)
                        .send()
                        .await?;
                }
            }
        }
    }
}

pub async fn drain_then_process(client: &Client, queue_url: &str) -> Result<(), aws_sdk_sqs::Error> {
    let output = client.receive_message().queue_url(queue_url).send().await?;
    for message in output.messages() {
        client
            .delete_message() //~ ack-before-processing
            .queue_url(queue_url)
            .receipt_handle(message.receipt_handle().unwrap_or_default())
            .send()
            .await?;
        handle(message).await;
    }
    Ok(())
}

pub async fn enqueue(client: &Client, queue_url: &str, order_id: &str, body: String) -> Result<(), aws_sdk_sqs::Error> {
    client
        .send_message() //~ missing-idempotency-key
        .queue_url(queue_url)
        .message_body(body.clone())
        .message_group_id("orders")
        .send()
        .await?;
    client
        .send_message()
        .queue_url(queue_url)
        .message_body(body)
        .message_group_id("orders")
        .message_deduplication_id(order_id)
        .send()
        .await?;
    Ok(())
}

async fn handle(_: &Message) {}

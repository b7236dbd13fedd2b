//! SQS from Lambda handlers and from long-running workers: the runtime
//! deletes for Lambda; workers delete themselves, sometimes per task.

use aws_lambda_events::event::sqs::SqsEvent;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use aws_sdk_sqs::Client;
use lambda_runtime::{Error, LambdaEvent};

/// A Lambda handler: the runtime deletes the batch when it returns Ok.
pub async fn function_handler(event: LambdaEvent<SqsEvent>, store: &Store) -> Result<(), Error> {
    for record in event.payload.records.iter() {
        store.put(record.body.as_deref().unwrap_or_default()).await?;
    }
    Ok(())
}

/// One task per message: process, then delete, inside the task.
pub async fn fan_out(client: Client, queue_url: String, worker: Worker) -> anyhow::Result<()> {
    let output = client.receive_message().queue_url(&queue_url).max_number_of_messages(10).send().await?;
    for message in output.messages.unwrap_or_default() {
        let client = client.clone();
        let queue_url = queue_url.clone();
        let worker = worker.clone();
        tokio::spawn(async move {
            if worker.process(message.body().unwrap_or_default()).await.is_ok() {
                let _ = client
                    .delete_message()
                    .queue_url(&queue_url)
                    .receipt_handle(message.receipt_handle().unwrap_or_default())
                    .send()
                    .await;
            }
        });
    }
    Ok(())
}

/// A batch send: the entry ids only match results to entries.
pub async fn send_batch(client: &Client, queue_url: &str, bodies: Vec<String>) -> anyhow::Result<()> {
    let entries = bodies
        .into_iter()
        .enumerate()
        .map(|(i, body)| SendMessageBatchRequestEntry::builder().id(i.to_string()).message_body(body).build())
        .collect::<Result<Vec<_>, _>>()?;
    client
        .send_message_batch() //~ missing-idempotency-key
        .queue_url(queue_url)
        .set_entries(Some(entries))
        .send()
        .await?;
    Ok(())
}

/// A delayed FIFO send with a deterministic deduplication id.
pub async fn schedule_reminder(client: &Client, queue_url: &str, order_id: &str) -> anyhow::Result<()> {
    client
        .send_message()
        .queue_url(queue_url)
        .message_body(order_id)
        .message_group_id(order_id)
        .message_deduplication_id(format!("{}-{}", order_id, "reminder"))
        .delay_seconds(900)
        .send()
        .await?;
    Ok(())
}

/// Extends the visibility timeout of a long job before running it, then
/// deletes: extending is not settling.
pub async fn long_job(client: &Client, queue_url: &str, runner: &Runner) -> anyhow::Result<()> {
    let output = client.receive_message().queue_url(queue_url).send().await?;
    for message in output.messages() {
        let handle = message.receipt_handle().unwrap_or_default();
        client.change_message_visibility().queue_url(queue_url).receipt_handle(handle).visibility_timeout(600).send().await?;
        runner.run(message.body().unwrap_or_default()).await?;
        client.delete_message().queue_url(queue_url).receipt_handle(handle).send().await?;
    }
    Ok(())
}

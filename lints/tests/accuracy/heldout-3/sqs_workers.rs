//! SQS workers in struct form, a batch producer with entry ids, and a
//! worker that gates on a semaphore.

use std::sync::Arc;

use aws_sdk_sqs::types::{Message, SendMessageBatchRequestEntry};
use aws_sdk_sqs::Client;
use tokio::sync::Semaphore;

pub struct SqsWorker {
    inner: Client,
    queue_url: String,
    max_messages: i32,
}

impl SqsWorker {
    pub async fn receive_messages(&self) -> anyhow::Result<Vec<Message>> {
        let output = self.inner.receive_message().queue_url(&self.queue_url).max_number_of_messages(self.max_messages).wait_time_seconds(20).send().await?;
        Ok(output.messages.unwrap_or_default())
    }

    pub async fn delete_message(&self, message: &Message) -> anyhow::Result<()> {
        self.inner.delete_message().queue_url(&self.queue_url).receipt_handle(message.receipt_handle().unwrap_or_default()).send().await?;
        Ok(())
    }

    /// Receive, handle, delete each handled message; all in one function.
    pub async fn run_once(&self, handler: &Handler) -> anyhow::Result<()> {
        let output = self.inner.receive_message().queue_url(&self.queue_url).send().await?;
        for message in output.messages() {
            handler.handle(message.body().unwrap_or_default()).await?;
            self.inner.delete_message().queue_url(&self.queue_url).receipt_handle(message.receipt_handle().unwrap_or_default()).send().await?;
        }
        Ok(())
    }

    /// Deletes first, "so nobody else picks it up", then handles.
    pub async fn run_once_eager(&self, handler: &Handler) -> anyhow::Result<()> {
        let output = self.inner.receive_message().queue_url(&self.queue_url).send().await?;
        for message in output.messages() {
            self.inner.delete_message().queue_url(&self.queue_url).receipt_handle(message.receipt_handle().unwrap_or_default()).send().await?; //~ ack-before-processing
            handler.handle(message.body().unwrap_or_default()).await?;
        }
        Ok(())
    }
}

/// Sends lines in batches of ten; each entry has a random entry id.
pub async fn send_lines(client: &Client, queue_url: &str, lines: Vec<String>) -> anyhow::Result<()> {
    for chunk in lines.chunks(10) {
        let entries = chunk
            .iter()
            .map(|line| SendMessageBatchRequestEntry::builder().id(uuid::Uuid::new_v4().to_string()).message_body(line).build())
            .collect::<Result<Vec<_>, _>>()?;
        client.send_message_batch().queue_url(queue_url).set_entries(Some(entries)).send().await?; //~ missing-idempotency-key
    }
    Ok(())
}

/// Handles messages concurrently, each deleting its own after the work.
pub async fn concurrent(client: Arc<Client>, queue_url: Arc<String>, handler: Arc<Handler>, permits: Arc<Semaphore>) -> anyhow::Result<()> {
    let output = client.receive_message().queue_url(queue_url.as_str()).max_number_of_messages(10).send().await?;
    for message in output.messages.unwrap_or_default() {
        let permit = permits.clone().acquire_owned().await?;
        let (client, queue_url, handler) = (client.clone(), queue_url.clone(), handler.clone());
        tokio::spawn(async move {
            let _permit = permit;
            if handler.handle(message.body().unwrap_or_default()).await.is_ok() {
                let _ = client.delete_message().queue_url(queue_url.as_str()).receipt_handle(message.receipt_handle().unwrap_or_default()).send().await;
            }
        });
    }
    Ok(())
}

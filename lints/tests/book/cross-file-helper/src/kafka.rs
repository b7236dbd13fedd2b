use rdkafka::Message;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};

/// Reads one message and commits its offset before handing the payload
/// back: whatever the caller does with it happens after the commit.
pub async fn read_message(consumer: &StreamConsumer) -> anyhow::Result<Vec<u8>> {
    let message = consumer.recv().await?;
    let payload = message.payload().unwrap_or_default().to_vec();
    consumer.commit_message(&message, CommitMode::Async)?;
    Ok(payload)
}

use lapin::options::BasicPublishOptions;
use lapin::{BasicProperties, Channel};

/// Production code: every publish needs an id the consumer can deduplicate on.
pub async fn publish_order(channel: &Channel, body: &[u8]) -> lapin::Result<()> {
    channel
        .basic_publish(
            "".into(),
            "orders".into(),
            BasicPublishOptions::default(),
            body,
            BasicProperties::default(),
        )
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A probe message for a test: it has no id, on purpose.
    async fn publish_probe(channel: &Channel) -> lapin::Result<()> {
        channel
            .basic_publish(
                "".into(),
                "orders".into(),
                BasicPublishOptions::default(),
                b"probe",
                BasicProperties::default(),
            )
            .await?;
        Ok(())
    }
}

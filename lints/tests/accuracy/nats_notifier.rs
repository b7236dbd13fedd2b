//! Notifications over JetStream with a push-style select loop.

use async_nats::jetstream;
use async_nats::HeaderMap;
use futures::StreamExt;
use tokio::sync::watch;

pub async fn notify(js: jetstream::Context, mut shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
    let consumer: jetstream::consumer::PullConsumer = js.get_consumer_from_stream("signups", "USERS").await?;
    let mut messages = consumer.messages().await?;
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            next = messages.next() => {
                let Some(Ok(msg)) = next else { break };
                msg.ack().await.map_err(|e| anyhow::anyhow!(e))?; //~ ack-before-processing
                let user: serde_json::Value = serde_json::from_slice(&msg.payload)?;
                send_welcome_email(&user).await?;
            }
        }
    }
    Ok(())
}

pub async fn forward(js: jetstream::Context, msg: jetstream::Message) -> anyhow::Result<()> {
    let mut headers = HeaderMap::new();
    let id = msg.info().map_err(|e| anyhow::anyhow!(e))?.stream_sequence.to_string();
    headers.insert(async_nats::header::NATS_MESSAGE_ID, format!("fwd-{id}").as_str());
    headers.insert("correlation-id", id.as_str());
    js.publish_with_headers("users.forwarded", headers, msg.payload.clone()).await?.await?;
    msg.ack().await.map_err(|e| anyhow::anyhow!(e))?;
    Ok(())
}

pub async fn rebroadcast(js: jetstream::Context, msg: jetstream::Message) -> anyhow::Result<()> {
    let mut headers = HeaderMap::new();
    headers.insert("correlation-id", msg.subject.as_str());
    js.publish_with_headers("users.rebroadcast", headers, msg.payload.clone()).await?.await?; //~ missing-idempotency-key publish-before-ack
    msg.ack().await.map_err(|e| anyhow::anyhow!(e))?;
    Ok(())
}

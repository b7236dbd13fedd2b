//! redis-rs stream helpers on a struct, the official Google Pub/Sub
//! subscriber, and the new Service Bus crate's sender and receiver.

use azure_messaging_servicebus::{Message as SbMessage, ServiceBusClient};
use futures::StreamExt;
use google_cloud_pubsub::subscriber::handler::Handler;
use redis::streams::{StreamReadOptions, StreamReadReply};
use redis::AsyncCommands;

pub struct RedisStreamClient {
    connection: redis::aio::MultiplexedConnection,
    stream_key: &'static str,
    consumer_group: &'static str,
    options: StreamReadOptions,
}

impl RedisStreamClient {
    /// Reads a page, hands entries back to the caller unacked.
    pub async fn read(&mut self) -> redis::RedisResult<StreamReadReply> {
        self.connection.xread_options(&[self.stream_key], &[">"], &self.options).await
    }

    /// Acks one entry by id.
    pub async fn ack(&mut self, id: &str) -> redis::RedisResult<()> {
        let _: usize = self.connection.xack(self.stream_key, self.consumer_group, &[id]).await?;
        Ok(())
    }

    /// Appends an event that carries its own id field.
    pub async fn append(&mut self, event_id: &str, body: &str) -> redis::RedisResult<()> {
        let _: String = self.connection.xadd(self.stream_key, "*", &[("event_id", event_id), ("body", body)]).await?;
        Ok(())
    }

    /// Reads, acks every entry of the page, then processes the page.
    pub async fn drain(&mut self, sink: &Sink) -> redis::RedisResult<()> {
        let reply: StreamReadReply = self.connection.xread_options(&[self.stream_key], &[">"], &self.options).await?;
        for key in &reply.keys {
            let ids: Vec<&str> = key.ids.iter().map(|entry| entry.id.as_str()).collect();
            let _: usize = self.connection.xack(self.stream_key, self.consumer_group, &ids).await?; //~ ack-before-processing
            for entry in &key.ids {
                sink.write(&entry.map).await;
            }
        }
        Ok(())
    }
}

/// The official subscriber: handle, then ack; nack on failure.
pub async fn pubsub(subscriber: google_cloud_pubsub::client::Subscriber, repo: &Repo) -> anyhow::Result<()> {
    let mut stream = subscriber.subscribe("projects/p/subscriptions/orders").build();
    while let Some((message, handler)) = stream.next().await.transpose()? {
        match repo.apply(&message.data).await {
            Ok(()) => handler.ack(),
            Err(_) => handler.nack(),
        }
    }
    Ok(())
}

/// The official subscriber, acking exactly-once deliveries up front.
pub async fn pubsub_ack_first(subscriber: google_cloud_pubsub::client::Subscriber, repo: &Repo) -> anyhow::Result<()> {
    let mut stream = subscriber.subscribe("projects/p/subscriptions/audit").build();
    while let Some((message, handler)) = stream.next().await.transpose()? {
        if let Handler::ExactlyOnce(h) = handler {
            h.confirmed_ack().await?; //~ ack-before-processing
        }
        repo.apply(&message.data).await?;
    }
    Ok(())
}

/// The new Service Bus crate: a send without a message id.
pub async fn notify(client: &ServiceBusClient, body: &str) -> anyhow::Result<()> {
    let sender = client.create_sender("notifications", None).await?;
    let message = SbMessage::from(body);
    sender.send_message(message, None).await?; //~ missing-idempotency-key
    Ok(())
}

/// The new Service Bus crate: complete after the work, abandon on failure.
pub async fn receive(client: &ServiceBusClient, repo: &Repo) -> anyhow::Result<()> {
    let receiver = client.create_receiver("orders", None).await?;
    loop {
        for message in receiver.receive_messages(10, None).await? {
            match repo.apply(message.body()).await {
                Ok(()) => receiver.complete_message(&message, None).await?,
                Err(_) => receiver.abandon_message(&message, None).await?,
            }
        }
    }
}

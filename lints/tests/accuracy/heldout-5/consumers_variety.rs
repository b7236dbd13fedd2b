//! Consumers in less common shapes: a sync rumqttc client, a lapin acker
//! moved into a task, plain XREAD without a group, SQS visibility resets,
//! a NATS fetch under a timeout, "ack whatever happened".

use std::time::Duration;

use futures::StreamExt;
use lapin::options::{BasicAckOptions, BasicConsumeOptions};
use lapin::types::FieldTable;
use redis::streams::{StreamReadOptions, StreamReadReply};
use redis::AsyncCommands;
use rumqttc::{Client, Event, MqttOptions, Packet, QoS};

/// The synchronous rumqttc client, QoS 1, acks left to the event loop.
pub fn sync_listener(db: &Db) -> anyhow::Result<()> {
    let options = MqttOptions::new("meter-reader", "broker.local", 1883); //~ auto-ack
    let (client, mut connection) = Client::new(options, 10);
    client.subscribe("meters/#", QoS::AtLeastOnce)?;
    for notification in connection.iter() {
        if let Ok(Event::Incoming(Packet::Publish(publish))) = notification {
            db.store(&publish.topic, &publish.payload)?;
        }
    }
    Ok(())
}

/// The acker travels into the task and acks after the work.
pub async fn acker_in_task(channel: lapin::Channel, worker: Worker) -> anyhow::Result<()> {
    let mut consumer = channel
        .basic_consume("renders".into(), "render".into(), BasicConsumeOptions::default(), FieldTable::default())
        .await?;
    while let Some(delivery) = consumer.next().await {
        let delivery = delivery?;
        let worker = worker.clone();
        tokio::spawn(async move {
            if worker.render(&delivery.data).await.is_ok() {
                let _ = delivery.acker.ack(BasicAckOptions::default()).await;
            }
        });
    }
    Ok(())
}

/// Plain XREAD: no group, nothing to acknowledge.
pub async fn tail(con: &mut redis::aio::MultiplexedConnection, sink: &Sink) -> redis::RedisResult<()> {
    let mut last = "0".to_string();
    loop {
        let reply: StreamReadReply = con.xread_options(&["audit"], &[&last], &StreamReadOptions::default().block(5000).count(100)).await?;
        for key in reply.keys {
            for entry in key.ids {
                sink.write(&entry.map).await;
                last = entry.id.clone();
            }
        }
    }
}

/// Makes a failed message visible again at once; deletes a handled one.
pub async fn visibility(client: &aws_sdk_sqs::Client, queue_url: &str, jobs: &Jobs) -> anyhow::Result<()> {
    let output = client.receive_message().queue_url(queue_url).visibility_timeout(30).send().await?;
    for message in output.messages() {
        let handle = message.receipt_handle().unwrap_or_default();
        match jobs.run(message.body().unwrap_or_default()).await {
            Ok(()) => {
                client.delete_message().queue_url(queue_url).receipt_handle(handle).send().await?;
            }
            Err(_) => {
                client.change_message_visibility().queue_url(queue_url).receipt_handle(handle).visibility_timeout(0).send().await?;
            }
        }
    }
    Ok(())
}

/// Fetches under a timeout and acks after the work.
pub async fn fetch_with_timeout(consumer: async_nats::jetstream::consumer::PullConsumer, handler: &Handler) -> anyhow::Result<()> {
    loop {
        let mut batch = consumer.fetch().max_messages(10).messages().await?;
        loop {
            tokio::select! {
                next = batch.next() => {
                    let Some(message) = next else { break };
                    let message = message.map_err(|e| anyhow::anyhow!(e))?;
                    handler.handle(&message.payload).await?;
                    message.ack().await.map_err(|e| anyhow::anyhow!(e))?;
                }
                _ = tokio::time::sleep(Duration::from_secs(5)) => break,
            }
        }
    }
}

/// Handles, acks whatever happened, then reports the handling error.
pub async fn ack_regardless(consumer: async_nats::jetstream::consumer::PullConsumer, handler: &Handler) -> anyhow::Result<()> {
    let mut messages = consumer.messages().await?;
    while let Some(Ok(message)) = messages.next().await {
        let result = handler.handle(&message.payload).await;
        message.ack().await.map_err(|e| anyhow::anyhow!(e))?;
        result?;
    }
    Ok(())
}

/// Acks a batch of messages at the start of each round, then handles them.
pub async fn ack_round(consumer: async_nats::jetstream::consumer::PullConsumer, handler: &Handler) -> anyhow::Result<()> {
    loop {
        let messages: Vec<_> = consumer.fetch().max_messages(20).messages().await?.filter_map(|m| async { m.ok() }).collect().await;
        for message in &messages {
            message.ack().await.map_err(|e| anyhow::anyhow!(e))?; //~ ack-before-processing
        }
        for message in &messages {
            handler.handle(&message.payload).await?;
        }
    }
}

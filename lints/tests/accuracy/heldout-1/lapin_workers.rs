//! RabbitMQ workers (lapin 3.x `&str` and 4.x `.into()` argument forms),
//! modelled on tutorial receivers, `ConsumerDelegate` callbacks, RPC
//! servers and workers that hand deliveries to an in-process pipeline.

use futures_lite::StreamExt;
use lapin::message::DeliveryResult;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicRejectOptions};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, ConsumerDelegate};
use tokio::sync::mpsc;

/// The tutorial receiver: print, then ack. Nothing is done with the body.
pub async fn hello_receiver(channel: &Channel) -> lapin::Result<()> {
    let mut consumer = channel
        .basic_consume("hello", "receiver", BasicConsumeOptions::default(), FieldTable::default())
        .await?;
    while let Some(delivery) = consumer.next().await {
        if let Ok(delivery) = delivery {
            println!("received {:?}", std::str::from_utf8(&delivery.data));
            delivery.ack(BasicAckOptions::default()).await.expect("ack");
        }
    }
    Ok(())
}

/// A bot frontend: the delivery is acked, then only traced.
pub async fn trace_only(mut consumer: lapin::Consumer) {
    while let Some(result) = consumer.next().await {
        if let Ok(delivery) = result {
            delivery.ack(BasicAckOptions::default()).await.expect("failed to ack");
            tracing::trace!("{}", String::from_utf8_lossy(&delivery.data));
        }
    }
}

/// A gateway worker: acks first, then runs the command the message carries.
pub async fn gateway_worker(channel: Channel, cache: Cache) -> anyhow::Result<()> {
    let mut consumer = channel
        .basic_consume("gateway".into(), "gw-1".into(), BasicConsumeOptions::default(), FieldTable::default())
        .await?;
    while let Some(result) = consumer.next().await {
        let delivery = result?;
        delivery.ack(BasicAckOptions::default()).await?; //~ ack-before-processing
        let command: GatewayCommand = serde_json::from_slice(&delivery.data)?;
        cache.apply(command).await?;
    }
    Ok(())
}

pub struct Indexer {
    channel: Channel,
    index: SearchIndex,
}

impl ConsumerDelegate for Indexer {
    fn on_new_delivery(&self, delivery: DeliveryResult) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        let channel = self.channel.clone();
        let index = self.index.clone();
        Box::pin(async move {
            let Ok(Some(delivery)) = delivery else { return };
            match serde_json::from_slice::<Document>(&delivery.data) {
                Ok(document) => {
                    if index.upsert(&document).await.is_ok() {
                        channel
                            .basic_ack(delivery.delivery_tag, BasicAckOptions::default())
                            .await
                            .expect("basic_ack");
                    }
                }
                Err(_) => {
                    // Unparseable: reject without requeue, it goes to the DLX.
                    let _ = delivery.reject(BasicRejectOptions { requeue: false }).await;
                }
            }
        })
    }
}

/// An RPC server: the reply goes out before the request is acked, with
/// only the caller's correlation id.
pub async fn rpc_server(channel: Channel) -> anyhow::Result<()> {
    let mut consumer = channel
        .basic_consume("rpc_queue", "rpc", BasicConsumeOptions::default(), FieldTable::default())
        .await?;
    while let Some(delivery) = consumer.next().await {
        let delivery = delivery?;
        let n: u64 = std::str::from_utf8(&delivery.data)?.parse()?;
        let answer = fib(n).to_string();
        let reply_to = delivery.properties.reply_to().clone().unwrap_or_default();
        let props = BasicProperties::default().with_correlation_id(delivery.properties.correlation_id().clone().unwrap_or_default());
        channel.basic_publish("", reply_to.as_str(), BasicPublishOptions::default(), answer.as_bytes(), props).await?;
        delivery.ack(BasicAckOptions::default()).await?;
    }
    Ok(())
}

/// Reads deliveries and hands the payload to an in-process pipeline after
/// acking: a crash before the pipeline runs loses the message.
pub async fn ack_then_forward(channel: Channel, pipeline: mpsc::Sender<Vec<u8>>) -> anyhow::Result<()> {
    let mut consumer = channel
        .basic_consume("thumbnails".into(), "thumbs".into(), BasicConsumeOptions::default(), FieldTable::default())
        .await?;
    while let Some(delivery) = consumer.next().await {
        let delivery = delivery?;
        delivery.ack(BasicAckOptions::default()).await?; //~ ack-before-processing
        pipeline.send(delivery.data).await?;
    }
    Ok(())
}

/// Processes, acks, and then reports progress to a metrics task.
pub async fn ack_then_report(channel: Channel, store: Store, progress: mpsc::UnboundedSender<Progress>) -> anyhow::Result<()> {
    let mut consumer = channel
        .basic_consume("imports".into(), "importer".into(), BasicConsumeOptions::default(), FieldTable::default())
        .await?;
    while let Some(delivery) = consumer.next().await {
        let delivery = delivery?;
        let row: ImportRow = serde_json::from_slice(&delivery.data)?;
        store.insert_row(&row).await?;
        delivery.ack(BasicAckOptions::default()).await?;
        let _ = progress.send(Progress::RowDone);
    }
    Ok(())
}

/// Forwards to another exchange with the consumed message's own id, then acks.
pub async fn forwarder(channel: Channel) -> anyhow::Result<()> {
    let mut consumer = channel
        .basic_consume("incoming".into(), "fwd".into(), BasicConsumeOptions::default(), FieldTable::default())
        .await?;
    while let Some(delivery) = consumer.next().await {
        let delivery = delivery?;
        let id = delivery.properties.message_id().clone().unwrap_or_default();
        let props = BasicProperties::default().with_message_id(id).with_delivery_mode(2);
        channel
            .basic_publish("archive".into(), "".into(), BasicPublishOptions::default(), &delivery.data, props)
            .await?
            .await?;
        delivery.ack(BasicAckOptions::default()).await?;
    }
    Ok(())
}

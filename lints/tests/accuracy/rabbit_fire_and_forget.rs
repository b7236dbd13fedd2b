//! A RabbitMQ consumer that acks on receipt and hands work to a task, and a
//! tutorial-style receiver with automatic acknowledgement.

use futures::StreamExt;
use lapin::options::{BasicAckOptions, BasicConsumeOptions};
use lapin::types::FieldTable;
use lapin::Channel;

pub async fn receive_hello(channel: &Channel) -> lapin::Result<()> {
    let mut consumer = channel
        .basic_consume(
            "hello".into(),
            "consumer".into(),
            BasicConsumeOptions {
                no_ack: true, //~ auto-ack
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await?;
    while let Some(delivery) = consumer.next().await {
        let delivery = delivery?;
        println!(" [x] Received {:?}", std::str::from_utf8(&delivery.data));
    }
    Ok(())
}

pub async fn thumbnails(channel: &Channel, store: ImageStore) -> lapin::Result<()> {
    let mut consumer = channel
        .basic_consume("thumbnails".into(), "resizer".into(), BasicConsumeOptions::default(), FieldTable::default())
        .await?;
    while let Some(delivery) = consumer.next().await {
        let delivery = delivery?;
        delivery.ack(BasicAckOptions::default()).await?; //~ ack-before-processing
        let image = store.fetch(&delivery.data).await;
        store.save_thumbnail(resize(&image)).await;
    }
    Ok(())
}

pub async fn thumbnails_spawned(channel: &Channel, store: ImageStore) -> lapin::Result<()> {
    let mut consumer = channel
        .basic_consume("thumbnails".into(), "resizer".into(), BasicConsumeOptions::default(), FieldTable::default())
        .await?;
    while let Some(delivery) = consumer.next().await {
        let delivery = delivery?;
        let store = store.clone();
        tokio::spawn(async move {
            let image = store.fetch(&delivery.data).await;
            store.save_thumbnail(resize(&image)).await;
            let _ = delivery.ack(BasicAckOptions::default()).await;
        });
    }
    Ok(())
}

//! AMQP 1.0 (fe2o3-amqp) and Google Pub/Sub consumers.

use fe2o3_amqp::types::messaging::{Message, Properties};
use fe2o3_amqp::{Connection, Receiver, Sender, Session};
use google_cloud_pubsub::client::Subscriber;
use futures::StreamExt;

pub async fn amqp_consume(session: &mut fe2o3_amqp::session::SessionHandle<()>) -> anyhow::Result<()> {
    let mut receiver = Receiver::builder()
        .name("rx-orders")
        .source("orders")
        .auto_accept(true) //~ auto-ack
        .attach(session)
        .await?;
    loop {
        let delivery: fe2o3_amqp::link::delivery::Delivery<String> = receiver.recv().await?;
        process(delivery.body()).await;
    }
}

pub async fn amqp_manual(session: &mut fe2o3_amqp::session::SessionHandle<()>) -> anyhow::Result<()> {
    let mut receiver = Receiver::attach(session, "rx-1", "orders").await?;
    let mut sender = Sender::attach(session, "tx-1", "receipts").await?;
    loop {
        let delivery: fe2o3_amqp::link::delivery::Delivery<String> = receiver.recv().await?;
        if process(delivery.body()).await.is_ok() {
            let receipt = Message::builder()
                .properties(Properties::builder().message_id(format!("receipt-{}", delivery.body())).build())
                .value(format!("ok:{}", delivery.body()))
                .build();
            sender.send(receipt).await?;
            receiver.accept(&delivery).await?;
        } else {
            receiver.release(&delivery).await?;
        }
    }
}

pub async fn pubsub_pull(subscriber: Subscriber, repo: Repo) -> anyhow::Result<()> {
    let mut stream = subscriber.subscribe("projects/p/subscriptions/orders").build();
    while let Some((message, handler)) = stream.next().await.transpose()? {
        match repo.apply(&message.data).await {
            Ok(_) => handler.ack(),
            Err(_) => handler.nack(),
        }
    }
    Ok(())
}

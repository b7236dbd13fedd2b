//! lapin consumers written with `set_delegate` closures, `basic_get`
//! polling, and handlers that publish follow-ups.

use lapin::message::DeliveryResult;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicGetOptions, BasicNackOptions, BasicPublishOptions};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel};
use uuid::Uuid;

/// The crate example's shape: a delegate that acks, and a hello publish.
pub async fn example(channel: Channel) {
    let consumer = channel
        .basic_consume("queue_test", "tag_foo", BasicConsumeOptions::default(), FieldTable::default())
        .await
        .unwrap();
    consumer.set_delegate(move |delivery: DeliveryResult| async move {
        let delivery = match delivery {
            Ok(Some(delivery)) => delivery,
            Ok(None) => return,
            Err(error) => {
                dbg!("failed to consume", error);
                return;
            }
        };
        delivery.ack(BasicAckOptions::default()).await.expect("ack");
    });
    channel
        .basic_publish("", "queue_test", BasicPublishOptions::default(), b"Hello world!", BasicProperties::default()) //~ missing-idempotency-key
        .await
        .unwrap()
        .await
        .unwrap();
}

/// Saves the order, then acks.
pub async fn orders(channel: Channel, repo: OrderRepo) -> lapin::Result<()> {
    let consumer = channel
        .basic_consume("orders".into(), "orders-svc".into(), BasicConsumeOptions::default(), FieldTable::default())
        .await?;
    consumer.set_delegate(move |delivery: DeliveryResult| {
        let repo = repo.clone();
        async move {
            let Ok(Some(delivery)) = delivery else { return };
            let Ok(order) = serde_json::from_slice::<Order>(&delivery.data) else {
                let _ = delivery.nack(BasicNackOptions { requeue: false, ..Default::default() }).await;
                return;
            };
            if repo.save(&order).await.is_ok() {
                let _ = delivery.ack(BasicAckOptions::default()).await;
            } else {
                let _ = delivery.nack(BasicNackOptions { requeue: true, ..Default::default() }).await;
            }
        }
    });
    Ok(())
}

/// Acks, then sends the welcome mail.
pub async fn welcome(channel: Channel, mailer: Mailer) -> lapin::Result<()> {
    let consumer = channel
        .basic_consume("signups".into(), "welcome".into(), BasicConsumeOptions::default(), FieldTable::default())
        .await?;
    consumer.set_delegate(move |delivery: DeliveryResult| {
        let mailer = mailer.clone();
        async move {
            let Ok(Some(delivery)) = delivery else { return };
            delivery.ack(BasicAckOptions::default()).await.expect("ack"); //~ ack-before-processing
            let user: NewUser = serde_json::from_slice(&delivery.data).expect("json");
            mailer.send_welcome(&user).await;
        }
    });
    Ok(())
}

/// Polls with `basic_get`, letting the broker forget each job.
pub async fn poll_jobs(channel: &Channel, runner: &Runner) -> lapin::Result<()> {
    loop {
        if let Some(message) = channel.basic_get("jobs".into(), BasicGetOptions { no_ack: true }).await? { //~ auto-ack
            runner.run(&message.delivery.data).await;
        }
    }
}

/// Publishes the result with a fresh random id before acking: a
/// redelivery publishes it again under another id.
pub async fn resize(channel: Channel, images: Images) -> anyhow::Result<()> {
    let mut consumer = channel
        .basic_consume("resize".into(), "resizer".into(), BasicConsumeOptions::default(), FieldTable::default())
        .await?;
    use futures_lite::StreamExt;
    while let Some(delivery) = consumer.next().await {
        let delivery = delivery?;
        let resized = images.resize(&delivery.data).await?;
        let props = BasicProperties::default().with_message_id(Uuid::new_v4().to_string().into());
        channel.basic_publish("images".into(), "resized".into(), BasicPublishOptions::default(), &resized, props).await?; //~ publish-before-ack
        delivery.ack(BasicAckOptions::default()).await?;
    }
    Ok(())
}

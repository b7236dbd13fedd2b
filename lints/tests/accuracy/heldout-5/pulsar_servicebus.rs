//! Pulsar and Service Bus consumers that settle after the work (renewing
//! the lock on the way), and one that completes first.

use futures::TryStreamExt;
use pulsar::{Consumer, Pulsar, SubType, TokioExecutor};

pub async fn pulsar_after(pulsar: Pulsar<TokioExecutor>, repo: &Repo) -> Result<(), pulsar::Error> {
    let mut consumer: Consumer<Order, _> = pulsar
        .consumer()
        .with_topic("orders")
        .with_subscription_type(SubType::Shared)
        .with_subscription("billing")
        .build()
        .await?;
    while let Some(message) = consumer.try_next().await? {
        let order = message.deserialize()?;
        repo.save(&order).await?;
        consumer.ack(&message).await?;
    }
    Ok(())
}

pub async fn servicebus_batch(client: &mut azservicebus::ServiceBusClient<azservicebus::core::BasicRetryPolicy>, repo: &Repo) -> anyhow::Result<()> {
    let mut receiver = client.create_receiver_for_queue("orders", Default::default()).await?;
    loop {
        let mut messages = receiver.receive_messages(10).await?;
        for message in messages.iter_mut() {
            receiver.renew_message_lock(message).await?;
            repo.apply(message.body()?).await?;
            receiver.complete_message(message).await?;
        }
    }
}

pub async fn servicebus_complete_first(client: &mut azservicebus::ServiceBusClient<azservicebus::core::BasicRetryPolicy>, repo: &Repo) -> anyhow::Result<()> {
    let mut receiver = client.create_receiver_for_queue("payments", Default::default()).await?;
    loop {
        let messages = receiver.receive_messages(10).await?;
        for message in &messages {
            receiver.complete_message(message).await?; //~ ack-before-processing
            repo.apply(message.body()?).await?;
        }
    }
}

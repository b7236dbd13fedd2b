//! Three smaller clients: pulsar, MQTT and iggy.

use futures::TryStreamExt;
use iggy::prelude::*;
use pulsar::{Consumer, Pulsar, SubType, TokioExecutor};
use rumqttc::{AsyncClient, Event, Incoming, MqttOptions, QoS};
use std::time::Duration;

pub async fn pulsar_readme_style(pulsar: Pulsar<TokioExecutor>) -> Result<(), pulsar::Error> {
    let mut consumer: Consumer<TestData, _> = pulsar
        .consumer()
        .with_topic("test")
        .with_subscription_type(SubType::Exclusive)
        .with_subscription("test_subscription")
        .build()
        .await?;
    while let Some(msg) = consumer.try_next().await? {
        consumer.ack(&msg).await?; //~ ack-before-processing
        let data = match msg.deserialize() {
            Ok(data) => data,
            Err(e) => {
                log::error!("could not deserialize message: {:?}", e);
                break;
            }
        };
        store_reading(&data).await;
    }
    Ok(())
}

pub async fn mqtt_sensor(store: Readings) {
    let mut options = MqttOptions::new("sensor-sink", "localhost", 1883); //~ auto-ack
    options.set_keep_alive(Duration::from_secs(5));
    let (client, mut eventloop) = AsyncClient::new(options, 10);
    client.subscribe("sensors/+/temperature", QoS::AtLeastOnce).await.unwrap();
    loop {
        match eventloop.poll().await {
            Ok(Event::Incoming(Incoming::Publish(p))) => store.insert(&p.topic, &p.payload).await,
            Ok(_) => {}
            Err(e) => {
                eprintln!("mqtt error: {e:?}");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

pub async fn iggy_consumer(client: &IggyClient) -> Result<(), IggyError> {
    let mut consumer = client
        .consumer_group("audit", "events", "logins")?
        .auto_commit(AutoCommit::IntervalOrWhen(IggyDuration::from_str("1s").unwrap(), AutoCommitWhen::PollingMessages)) //~ auto-ack
        .create_consumer_group_if_not_exists()
        .auto_join_consumer_group()
        .build();
    consumer.init().await?;
    while let Some(message) = futures::StreamExt::next(&mut consumer).await {
        let message = message?;
        handle_login(&message.message.payload).await;
    }
    Ok(())
}

pub async fn iggy_manual(client: &IggyClient) -> Result<(), IggyError> {
    let mut consumer = client
        .consumer_group("billing", "events", "orders")?
        .auto_commit(AutoCommit::Disabled)
        .build();
    consumer.init().await?;
    while let Some(message) = futures::StreamExt::next(&mut consumer).await {
        let message = message?;
        bill(&message.message.payload).await;
        consumer.store_offset(message.message.header.offset, None).await?;
    }
    Ok(())
}

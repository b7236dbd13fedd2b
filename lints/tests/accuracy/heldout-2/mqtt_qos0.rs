//! An MQTT dashboard feed at QoS 0: there are no acks to automate.

use rumqttc::{AsyncClient, Event, Incoming, MqttOptions, QoS};

pub async fn dashboard(feed: tokio::sync::broadcast::Sender<Vec<u8>>) -> anyhow::Result<()> {
    let options = MqttOptions::new("dashboard", "broker.local", 1883);
    let (client, mut eventloop) = AsyncClient::new(options, 10);
    client.subscribe("devices/+/status", QoS::AtMostOnce).await?;
    loop {
        if let Event::Incoming(Incoming::Publish(publish)) = eventloop.poll().await? {
            let _ = feed.send(publish.payload.to_vec());
        }
    }
}

//! Redis streams reclaimers and capped producers; rumqttc clients that ack
//! by hand or subscribe at QoS 0.

use redis::streams::{StreamAutoClaimOptions, StreamAutoClaimReply, StreamMaxlen};
use redis::AsyncCommands;
use rumqttc::{AsyncClient, Event, Incoming, MqttOptions, QoS};

/// Reclaims stuck entries, handles them, acks them.
pub async fn reclaim(con: &mut redis::aio::MultiplexedConnection, handler: &Handler) -> redis::RedisResult<()> {
    let reply: StreamAutoClaimReply = con
        .xautoclaim_options("jobs", "workers", "reclaimer", 60_000, "0-0", StreamAutoClaimOptions::default().count(10))
        .await?;
    for entry in reply.claimed {
        if handler.handle(&entry.map).await.is_ok() {
            let _: usize = con.xack("jobs", "workers", &[&entry.id]).await?;
        }
    }
    Ok(())
}

/// A capped stream of payloads with no id.
pub async fn capture(con: &mut redis::aio::MultiplexedConnection, body: &str) -> redis::RedisResult<()> {
    let _: String = con.xadd_maxlen("captures", StreamMaxlen::Approx(1000), "*", &[("payload", body)]).await?; //~ missing-idempotency-key
    Ok(())
}

/// A capped stream whose entries carry their id.
pub async fn capture_with_id(con: &mut redis::aio::MultiplexedConnection, id: &str, body: &str) -> redis::RedisResult<()> {
    let _: String = con.xadd_maxlen("captures", StreamMaxlen::Approx(1000), "*", &[("id", id), ("payload", body)]).await?;
    Ok(())
}

/// Manual acks, set in a chain with other options.
pub async fn telemetry(db: &Db) -> anyhow::Result<()> {
    let mut options = MqttOptions::new("telemetry", "broker.local", 1883);
    options.set_keep_alive(std::time::Duration::from_secs(5)).set_manual_acks(true);
    let (client, mut eventloop) = AsyncClient::new(options, 10);
    client.subscribe("devices/+/telemetry", QoS::AtLeastOnce).await?;
    loop {
        if let Event::Incoming(Incoming::Publish(publish)) = eventloop.poll().await? {
            db.insert(&publish.payload).await?;
            client.ack(&publish).await?;
        }
    }
}

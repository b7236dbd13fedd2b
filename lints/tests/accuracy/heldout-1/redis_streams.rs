//! Redis Streams producers and consumer groups (redis-rs), including the
//! fully qualified `AsyncCommands::xadd(con, …)` call form.

use redis::aio::MultiplexedConnection;
use redis::streams::{StreamReadOptions, StreamReadReply};
use redis::{AsyncCommands, Client};

/// The tutorial writer task: a counter on an auto id, no event id.
pub async fn writer(client: Client, stream_name: &'static str) -> redis::RedisResult<()> {
    let mut con_writer = client.get_multiplexed_async_connection().await?;
    let handle = tokio::spawn(async move {
        for i in 0..10 {
            let id: String = con_writer.xadd(stream_name, "*", &[("val", &i.to_string())]).await.expect("XADD"); //~ missing-idempotency-key
            println!("sent {i} as {id}");
        }
    });
    handle.await.ok();
    Ok(())
}

/// A consumer group worker: handle, then XACK.
pub async fn group_worker(mut con: MultiplexedConnection, handler: &Handler) -> redis::RedisResult<()> {
    let opts = StreamReadOptions::default().group("mailers", "mailer-1").count(10).block(5000);
    loop {
        let reply: StreamReadReply = con.xread_options(&["emails"], &[">"], &opts).await?;
        for key in reply.keys {
            for entry in key.ids {
                if handler.handle(&entry.map).await.is_ok() {
                    let _: usize = con.xack("emails", "mailers", &[&entry.id]).await?;
                }
            }
        }
    }
}

/// The fully qualified form: the event carries its id.
pub async fn append_event(con: &mut MultiplexedConnection, event_id: &str, kind: &str) -> redis::RedisResult<()> {
    let _: String = AsyncCommands::xadd(con, "events", "*", &[("event_id", event_id), ("kind", kind)]).await?;
    Ok(())
}

/// The fully qualified form without an id.
pub async fn audit(con: &mut MultiplexedConnection, action: &str) -> redis::RedisResult<()> {
    let _: String = redis::AsyncCommands::xadd(con, "audit", "*", &[("action", action)]).await?; //~ missing-idempotency-key
    Ok(())
}

/// The fully qualified form of XACK, before the entry is applied.
pub async fn ack_first(con: &mut MultiplexedConnection, projector: &Projector) -> redis::RedisResult<()> {
    let opts = StreamReadOptions::default().group("projector", "p-1").count(50);
    let reply: StreamReadReply = con.xread_options(&["orders"], &[">"], &opts).await?;
    for key in reply.keys {
        for entry in key.ids {
            let _: usize = AsyncCommands::xack(con, "orders", "projector", &[&entry.id]).await?; //~ ack-before-processing
            projector.apply(&entry.map).await;
        }
    }
    Ok(())
}

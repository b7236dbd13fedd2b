//! A redis streams consumer group worker and a producer.

use redis::streams::{StreamReadOptions, StreamReadReply};
use redis::AsyncCommands;

pub async fn work(con: &mut redis::aio::MultiplexedConnection, db: &sqlx::PgPool) -> redis::RedisResult<()> {
    let _: redis::RedisResult<()> = con.xgroup_create_mkstream("payments", "ledger", "$").await;
    let opts = StreamReadOptions::default().group("ledger", "worker-1").count(10).block(5000);
    loop {
        let reply: StreamReadReply = con.xread_options(&["payments"], &[">"], &opts).await?;
        for key in reply.keys {
            for entry in key.ids {
                let amount: i64 = entry.get("amount").unwrap_or_default();
                sqlx::query("INSERT INTO ledger (entry_id, amount) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind(&entry.id)
                    .bind(amount)
                    .execute(db)
                    .await
                    .ok();
                let _: usize = con.xack("payments", "ledger", &[&entry.id]).await?;
            }
        }
    }
}

pub async fn metrics(con: &mut redis::aio::MultiplexedConnection) -> redis::RedisResult<()> {
    let opts = StreamReadOptions::default().group("metrics", "m-1").noack().count(100); //~ auto-ack
    let reply: StreamReadReply = con.xread_options(&["events"], &[">"], &opts).await?;
    for key in reply.keys {
        count(key.ids.len());
    }
    Ok(())
}

pub async fn record_payment(con: &mut redis::aio::MultiplexedConnection, payment_id: &str, amount: i64) -> redis::RedisResult<()> {
    let _: String = con.xadd("payments", "*", &[("payment_id", payment_id), ("amount", &amount.to_string())]).await?;
    let _: String = con.xadd("payments-log", "*", &[("amount", &amount.to_string())]).await?; //~ missing-idempotency-key
    Ok(())
}

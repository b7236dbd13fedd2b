//! The legacy Service Bus REST crate, tokio-postgres transactions, and a
//! relay whose table is not called "outbox".

use azure_messaging_servicebus::service_bus::QueueClient;
use std::time::Duration;
use tokio_postgres::Client;

pub async fn legacy_drain(queue: &QueueClient, sink: &Sink) -> anyhow::Result<()> {
    loop {
        let body = queue.receive_and_delete_message().await?; //~ auto-ack
        sink.write(&body).await;
    }
}

pub async fn legacy_peek_lock(queue: &QueueClient, sink: &Sink) -> anyhow::Result<()> {
    loop {
        let message = queue.peek_lock_message2(Some(Duration::from_secs(30))).await?;
        sink.write(message.body()).await;
        message.delete_message().await?;
    }
}

pub async fn legacy_send(queue: &QueueClient, body: &str) -> anyhow::Result<()> {
    queue.send_message(body, None).await?; //~ missing-idempotency-key
    Ok(())
}

pub async fn transfer(client: &mut Client, queue: &QueueClient, from: i64, to: i64, cents: i64) -> anyhow::Result<()> {
    let tx = client.transaction().await?;
    tx.execute("UPDATE accounts SET balance = balance - $1 WHERE id = $2", &[&cents, &from]).await?;
    tx.execute("UPDATE accounts SET balance = balance + $1 WHERE id = $2", &[&cents, &to]).await?;
    tx.commit().await?;
    queue.send_message(&format!("{from}->{to}:{cents}"), None).await?; //~ dual-write missing-idempotency-key
    Ok(())
}

pub async fn forward_pending(client: &Client, queue: &QueueClient) -> anyhow::Result<()> {
    let rows = client.query("SELECT id, body FROM pending_events WHERE published_at IS NULL", &[]).await?;
    for row in rows {
        let id: i64 = row.get(0);
        let body: String = row.get(1);
        queue.send_message(&body, None).await?; //~ missing-idempotency-key
        client.execute("UPDATE pending_events SET published_at = now() WHERE id = $1", &[&id]).await?;
    }
    Ok(())
}

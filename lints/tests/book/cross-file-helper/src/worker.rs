use rdkafka::consumer::StreamConsumer;
use sqlx::PgPool;

use crate::kafka::read_message;

pub async fn run(consumer: &StreamConsumer, pool: &PgPool) -> anyhow::Result<()> {
    loop {
        let payload = read_message(consumer).await?;
        sqlx::query("INSERT INTO orders (body) VALUES ($1)")
            .bind(&payload)
            .execute(pool)
            .await?;
    }
}

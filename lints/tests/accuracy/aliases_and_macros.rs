//! Renamed imports, globs, `futures::select!`, `join!` and closures over
//! streams.

use futures::{select, FutureExt, StreamExt};
use lapin::options::{BasicAckOptions as Ack, BasicConsumeOptions, BasicPublishOptions as Pub};
use lapin::{self as amqp, types::FieldTable};
use rdkafka as kafka;
use kafka::consumer::{Consumer, StreamConsumer};

pub async fn two_queues(channel: &amqp::Channel, ledger: &Ledger) -> amqp::Result<()> {
    let mut payments = channel
        .basic_consume("payments".into(), "p".into(), BasicConsumeOptions::default(), FieldTable::default())
        .await?
        .fuse();
    let mut refunds = channel
        .basic_consume("refunds".into(), "r".into(), BasicConsumeOptions::default(), FieldTable::default())
        .await?
        .fuse();
    loop {
        select! {
            payment = payments.next() => {
                let Some(Ok(payment)) = payment else { break };
                ledger.credit(&payment.data).await;
                payment.ack(Ack::default()).await?;
            }
            refund = refunds.next() => {
                let Some(Ok(refund)) = refund else { break };
                refund.ack(Ack::default()).await?; //~ ack-before-processing
                ledger.debit(&refund.data).await;
            }
            complete => break,
        }
    }
    Ok(())
}

pub async fn concurrent_handlers(consumer: amqp::Consumer, ledger: Ledger) {
    consumer
        .for_each_concurrent(8, |delivery| {
            let ledger = ledger.clone();
            async move {
                let Ok(delivery) = delivery else { return };
                ledger.credit(&delivery.data).await;
                let _ = delivery.ack(Ack::default()).await;
            }
        })
        .await;
}

pub async fn concurrent_handlers_early(consumer: amqp::Consumer, ledger: Ledger) {
    consumer
        .for_each_concurrent(8, |delivery| {
            let ledger = ledger.clone();
            async move {
                let Ok(delivery) = delivery else { return };
                let _ = delivery.ack(Ack::default()).await; //~ ack-before-processing
                ledger.credit(&delivery.data).await;
            }
        })
        .await;
}

pub async fn fan_out(channel: &amqp::Channel, body: &[u8], id: &str) -> amqp::Result<()> {
    let props = amqp::BasicProperties::default().with_message_id(id.into());
    let (a, b) = tokio::join!(
        channel.basic_publish("".into(), "audit".into(), Pub::default(), body, props.clone()),
        channel.basic_publish("".into(), "search".into(), Pub::default(), body, amqp::BasicProperties::default()), //~ missing-idempotency-key
    );
    a?;
    b?;
    Ok(())
}

pub fn kafka_consumer(brokers: &str) -> StreamConsumer {
    kafka::ClientConfig::new() //~ auto-ack
        .set("bootstrap.servers", brokers)
        .set("group.id", "aliases")
        .create()
        .expect("consumer")
}

pub async fn batch_commit_first(consumer: &StreamConsumer, sink: &Sink) -> kafka::error::KafkaResult<()> {
    let mut batch = Vec::new();
    while batch.len() < 100 {
        batch.push(consumer.recv().await?.detach());
    }
    consumer.commit_consumer_state(kafka::consumer::CommitMode::Sync)?; //~ ack-before-processing
    sink.write_all(&batch).await;
    Ok(())
}

pub async fn batch_commit_last(consumer: &StreamConsumer, sink: &Sink) -> kafka::error::KafkaResult<()> {
    let mut batch = Vec::new();
    while batch.len() < 100 {
        batch.push(consumer.recv().await?.detach());
    }
    sink.write_all(&batch).await;
    consumer.commit_consumer_state(kafka::consumer::CommitMode::Sync)?;
    Ok(())
}

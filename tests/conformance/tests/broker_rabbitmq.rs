//! The scenarios against RabbitMQ (quorum queues, through lapin), one node
//! for the whole binary, each test on queues of its own. A disagreement
//! prints RabbitMQ's trace beside our broker's.

use conformance::broker::EngineKind;
use conformance::broker::rabbitmq::{self, RabbitMq};
use conformance::broker::scenarios::{self, verdict};
use conformance::broker::workshop::on_virtual_time;

const KIND: EngineKind = EngineKind::RabbitMq;
const LIMIT: u32 = 2;

async fn engine() -> Option<RabbitMq> {
    let node = rabbitmq::shared()?;
    Some(
        RabbitMq::connect(node)
            .await
            .expect("a connection to RabbitMQ"),
    )
}

#[tokio::test]
async fn a_crash_before_the_ack_requeues_at_once_with_the_delivery_count() {
    let Some(engine) = engine().await else { return };
    let run = scenarios::crash_before_ack(engine, "crash")
        .await
        .expect("the scenario runs");
    verdict(
        "crash-before-ack",
        &run,
        &scenarios::crash_before_ack_claim(KIND),
        || {
            on_virtual_time(|broker| scenarios::crash_before_ack(broker, "crash"))
                .expect("the scenario runs on our broker")
        },
    );
}

#[tokio::test]
async fn a_hung_consumer_loses_the_message_at_the_consumer_timeout() {
    let Some(engine) = engine().await else { return };
    let run = scenarios::hang_until_timeout(engine, "hang")
        .await
        .expect("the scenario runs");
    verdict(
        "hang-until-timeout",
        &run,
        &scenarios::hang_until_timeout_claim(KIND),
        || {
            on_virtual_time(|broker| scenarios::hang_until_timeout(broker, "hang"))
                .expect("the scenario runs on our broker")
        },
    );
}

#[tokio::test]
async fn the_delivery_limit_ends_in_the_dead_letter_exchange() {
    let Some(engine) = engine().await else { return };
    let run = scenarios::delivery_limit(engine, "limit", LIMIT)
        .await
        .expect("the scenario runs");
    verdict(
        "delivery-limit",
        &run,
        &scenarios::delivery_limit_claim(KIND, LIMIT).expect("the scenario applies"),
        || {
            on_virtual_time(|broker| scenarios::delivery_limit(broker, "limit", LIMIT))
                .expect("the scenario runs on our broker")
        },
    );
}

#[tokio::test]
async fn a_duplicate_message_id_is_delivered_twice() {
    let Some(engine) = engine().await else { return };
    let run = scenarios::duplicate_id(engine, "duplicate")
        .await
        .expect("the scenario runs");
    verdict(
        "duplicate-id",
        &run,
        &scenarios::duplicate_id_claim(KIND),
        || {
            on_virtual_time(|broker| scenarios::duplicate_id(broker, "duplicate"))
                .expect("the scenario runs on our broker")
        },
    );
}

#[tokio::test]
async fn automatic_acknowledgement_plus_a_crash_loses_the_message() {
    let Some(engine) = engine().await else { return };
    let run = scenarios::auto_ack_crash(engine, "auto-ack")
        .await
        .expect("the scenario runs");
    verdict(
        "auto-ack-crash",
        &run,
        &scenarios::auto_ack_crash_claim(KIND),
        || {
            on_virtual_time(|broker| scenarios::auto_ack_crash(broker, "auto-ack"))
                .expect("the scenario runs on our broker")
        },
    );
}

/// The broker reference, on RabbitMQ up to 4.2: a delivery left unacked
/// past `consumer_timeout` closes the consumer's whole channel with
/// `PRECONDITION_FAILED` (from 4.3, quorum queues cancel just the consumer
/// instead). The hung consumer finds out on its next receive.
#[tokio::test]
async fn the_consumer_timeout_closes_the_hung_consumers_channel() {
    use conformance::broker::{AckMode, Consumer, Engine, QueueSpec};
    let Some(mut engine) = engine().await else {
        return;
    };
    engine
        .declare(&QueueSpec::named("timeout-channel"))
        .await
        .expect("the queue is declared");
    engine
        .publish("timeout-channel", "timeout-channel-1", b"{}")
        .await
        .expect("the message is published");
    let mut hung = engine
        .consumer("timeout-channel", AckMode::Manual)
        .await
        .expect("a consumer");
    let _held = hung
        .receive(std::time::Duration::from_secs(5))
        .await
        .expect("receiving")
        .expect("the message is delivered");
    let next = hung
        .receive(rabbitmq::CONSUMER_TIMEOUT * 5)
        .await
        .expect_err("the broker closes the channel under the hung consumer");
    let page = "book/src/broker-reference/index.md#locks-and-visibility-timeouts";
    assert!(
        next.to_string().contains("PRECONDITION_FAILED"),
        "conformance: DISAGREEMENT in scenario `consumer-timeout-closes-channel` on {}: the hung \
         consumer got {next}, the book ({page}) says the channel is closed with PRECONDITION_FAILED",
        engine.version()
    );
    println!(
        "conformance: consumer-timeout-closes-channel on {}: {next}, as claimed",
        engine.version()
    );
    hung.crash().await;
}

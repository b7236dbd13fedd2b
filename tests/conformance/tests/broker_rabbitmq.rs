//! The scenarios against RabbitMQ (quorum queues, through lapin), one node
//! for the whole binary, each test on queues of its own. A disagreement
//! prints RabbitMQ's trace beside our broker's.

use conformance::broker::EngineKind;
use conformance::broker::rabbitmq::{self, RabbitMq};
use conformance::broker::scenarios;

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
    conformance::run_and_judge!(
        engine,
        "crash-before-ack",
        scenarios::crash_before_ack_claim(KIND),
        scenarios::crash_before_ack,
        "crash"
    );
}

#[tokio::test]
async fn a_hung_consumer_loses_the_message_at_the_consumer_timeout() {
    let Some(engine) = engine().await else { return };
    conformance::run_and_judge!(
        engine,
        "hang-until-timeout",
        scenarios::hang_until_timeout_claim(KIND),
        scenarios::hang_until_timeout,
        "hang"
    );
}

#[tokio::test]
async fn the_delivery_limit_ends_in_the_dead_letter_exchange() {
    let Some(engine) = engine().await else { return };
    conformance::run_and_judge!(
        engine,
        "delivery-limit",
        scenarios::delivery_limit_claim(KIND, LIMIT).expect("the scenario applies"),
        scenarios::delivery_limit,
        "limit",
        LIMIT
    );
}

#[tokio::test]
async fn a_duplicate_message_id_is_delivered_twice() {
    let Some(engine) = engine().await else { return };
    conformance::run_and_judge!(
        engine,
        "duplicate-id",
        scenarios::duplicate_id_claim(KIND),
        scenarios::duplicate_id,
        "duplicate"
    );
}

#[tokio::test]
async fn automatic_acknowledgement_plus_a_crash_loses_the_message() {
    let Some(engine) = engine().await else { return };
    conformance::run_and_judge!(
        engine,
        "auto-ack-crash",
        scenarios::auto_ack_crash_claim(KIND),
        scenarios::auto_ack_crash,
        "auto-ack"
    );
}

/// Holds one delivery of a fresh message on `queue` past the consumer
/// timeout, and returns the error the hung consumer's next receive gets.
async fn hang_past_the_consumer_timeout(
    engine: &mut RabbitMq,
    queue: &str,
) -> conformance::broker::EngineError {
    use conformance::broker::{AckMode, Consumer, Engine};
    let id = format!("{queue}-1");
    engine
        .publish(queue, &id, b"{}")
        .await
        .expect("the message is published");
    let mut hung = engine
        .consumer(queue, AckMode::Manual)
        .await
        .expect("a consumer");
    let _held = hung
        .receive(std::time::Duration::from_secs(5))
        .await
        .expect("receiving")
        .expect("the message is delivered");
    let error = hung
        .receive(rabbitmq::CONSUMER_TIMEOUT * 5)
        .await
        .expect_err("the broker closes the channel under the hung consumer");
    hung.crash().await;
    error
}

/// The broker reference and the configuration chapter, on RabbitMQ up to
/// 4.2: a delivery left unacked past `consumer_timeout` closes the
/// consumer's whole channel with `PRECONDITION_FAILED` (from 4.3, quorum
/// queues cancel just the consumer instead), on every queue type. The hung
/// consumer finds out on its next receive.
#[tokio::test]
async fn the_consumer_timeout_closes_the_hung_consumers_channel() {
    use conformance::broker::{Engine, QueueSpec};
    let Some(mut engine) = engine().await else {
        return;
    };
    let page = "book/src/configuration/index.md (the time limit in each broker)";
    engine
        .declare(&QueueSpec::named("timeout-quorum"))
        .await
        .expect("the quorum queue is declared");
    engine
        .declare_classic("timeout-classic")
        .await
        .expect("the classic queue is declared");
    for queue in ["timeout-quorum", "timeout-classic"] {
        let error = hang_past_the_consumer_timeout(&mut engine, queue).await;
        assert!(
            error.to_string().contains("PRECONDITION_FAILED"),
            "conformance: DISAGREEMENT in scenario `consumer-timeout-closes-channel` on {} \
             ({queue}): the hung consumer got {error}, the book ({page}) says the channel is \
             closed with PRECONDITION_FAILED on every queue type up to 4.2",
            engine.version()
        );
        println!(
            "conformance: consumer-timeout-closes-channel on {} ({queue}): {error}, as claimed",
            engine.version()
        );
    }
}

#[tokio::test]
async fn a_rejected_message_goes_to_the_dead_letter_exchange() {
    let Some(engine) = engine().await else { return };
    conformance::run_and_judge!(
        engine,
        "reject-without-requeue",
        scenarios::reject_without_requeue_claim(KIND).expect("the scenario applies"),
        scenarios::reject_without_requeue,
        "reject"
    );
}

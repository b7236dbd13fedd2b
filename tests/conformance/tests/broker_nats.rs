//! The scenarios against NATS JetStream (pull consumers, through
//! async-nats), one server for the whole binary, each test on streams of its
//! own; and what an ack does to retention under each retention policy.

use async_nats::jetstream::stream::RetentionPolicy;
use conformance::broker::EngineKind;
use conformance::broker::nats::{self, Nats};
use conformance::broker::scenarios;

const KIND: EngineKind = EngineKind::Nats;
const LIMIT: u32 = 2;

async fn engine() -> Option<Nats> {
    let server = nats::shared()?;
    Some(
        Nats::connect(server)
            .await
            .expect("a connection to nats-server"),
    )
}

#[tokio::test]
async fn a_crash_before_the_ack_is_redelivered_after_ack_wait() {
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
async fn a_hung_consumer_loses_the_message_after_ack_wait() {
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
async fn max_deliver_stops_delivery_with_an_advisory_and_no_dead_letter() {
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
async fn a_duplicate_nats_msg_id_inside_the_window_is_dropped() {
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
async fn ack_none_plus_a_crash_loses_the_message() {
    let Some(engine) = engine().await else { return };
    conformance::run_and_judge!(
        engine,
        "auto-ack-crash",
        scenarios::auto_ack_crash_claim(KIND),
        scenarios::auto_ack_crash,
        "auto-ack"
    );
}

/// The broker reference's "What settled means" table: with limits
/// retention an acked message stays until a limit removes it; with
/// work-queue retention the ack removes it; with interest retention it goes
/// once every consumer has acked it.
#[tokio::test]
async fn an_ack_removes_the_message_under_work_queue_and_interest_retention_only() {
    let Some(mut engine) = engine().await else {
        return;
    };
    let page = "book/src/broker-reference/index.md#what-settled-means";
    let cases = [
        ("retention-limits", RetentionPolicy::Limits, 1, 1),
        ("retention-workqueue", RetentionPolicy::WorkQueue, 1, 0),
        ("retention-interest", RetentionPolicy::Interest, 1, 0),
        // Two consumers, one ack: still wanted by the other one.
        ("retention-interest-two", RetentionPolicy::Interest, 2, 1),
    ];
    for (name, retention, consumers, expected) in cases {
        let stored = engine
            .stored_after_one_ack(name, retention, consumers)
            .await
            .expect("the retention check runs");
        assert_eq!(
            stored, expected,
            "conformance: DISAGREEMENT in scenario `ack-and-retention` on {name} \
             ({retention:?} retention, {consumers} consumer(s), one ack): the stream holds \
             {stored} message(s), the book ({page}) says {expected}"
        );
        println!(
            "conformance: ack-and-retention {retention:?} with {consumers} consumer(s): {stored} left, as claimed"
        );
    }
}

#[tokio::test]
async fn term_stops_redelivery_and_keeps_the_message_in_the_stream() {
    let Some(engine) = engine().await else { return };
    conformance::run_and_judge!(
        engine,
        "reject-without-requeue",
        scenarios::reject_without_requeue_claim(KIND).expect("the scenario applies"),
        scenarios::reject_without_requeue,
        "reject"
    );
}

//! The scenarios against Redis Streams (a consumer group, through
//! redis-rs), one server for the whole binary, each test on stream keys of its
//! own.

use conformance::broker::EngineKind;
use conformance::broker::redis::{self, Redis};
use conformance::broker::scenarios::{self, verdict};
use conformance::broker::workshop::on_virtual_time;

const KIND: EngineKind = EngineKind::Redis;
const LIMIT: u32 = 2;

async fn engine() -> Option<Redis> {
    let server = redis::shared()?;
    Some(
        Redis::connect(server)
            .await
            .expect("a connection to redis-server"),
    )
}

#[tokio::test]
async fn a_crashed_consumers_entry_stays_pending_until_claimed_after_its_idle_time() {
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
async fn a_hung_consumers_entry_is_claimed_after_its_idle_time() {
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
async fn there_is_no_delivery_limit_the_entry_stays_pending() {
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
async fn an_entry_added_twice_with_one_id_is_delivered_twice() {
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
async fn noack_plus_a_crash_loses_the_entry() {
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

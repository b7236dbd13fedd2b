//! The scenarios against Redis Streams (a consumer group, through
//! redis-rs), one server for the whole binary, each test on stream keys of its
//! own.

use conformance::broker::EngineKind;
use conformance::broker::redis::{self, Redis};
use conformance::broker::scenarios;

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
    conformance::run_and_judge!(
        engine,
        "crash-before-ack",
        scenarios::crash_before_ack_claim(KIND),
        scenarios::crash_before_ack,
        "crash"
    );
}

#[tokio::test]
async fn a_hung_consumers_entry_is_claimed_after_its_idle_time() {
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
async fn there_is_no_delivery_limit_the_entry_stays_pending() {
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
async fn an_entry_added_twice_with_one_id_is_delivered_twice() {
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
async fn noack_plus_a_crash_loses_the_entry() {
    let Some(engine) = engine().await else { return };
    conformance::run_and_judge!(
        engine,
        "auto-ack-crash",
        scenarios::auto_ack_crash_claim(KIND),
        scenarios::auto_ack_crash,
        "auto-ack"
    );
}

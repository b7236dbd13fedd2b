//! The scenarios that MQTT can express, against Mosquitto through rumqttc
//! (MQTT 3.1.1, QoS 1, a persistent session per queue): QoS 1 redelivery
//! after a disconnect before the PUBACK, what the client's automatic
//! acknowledgement does to a message whose handler crashed, and a message
//! sent twice; and a hung client, whose session a second client takes over.
//! MQTT has no negative acknowledgement and no delivery limit: the
//! delivery-limit scenario does not apply.

use conformance::broker::EngineKind;
use conformance::broker::mqtt::{self, Mqtt};
use conformance::broker::scenarios;

const KIND: EngineKind = EngineKind::Mqtt;

async fn engine() -> Option<Mqtt> {
    let broker = mqtt::shared()?;
    Some(
        Mqtt::connect(broker)
            .await
            .expect("a connection to mosquitto"),
    )
}

#[tokio::test]
async fn a_disconnect_before_the_puback_redelivers_when_the_session_resumes() {
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
async fn a_second_client_of_the_session_takes_the_hung_ones_message_at_once() {
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
async fn a_message_published_twice_is_delivered_twice() {
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
async fn automatic_acks_plus_a_handler_crash_lose_the_message() {
    let Some(engine) = engine().await else { return };
    conformance::run_and_judge!(
        engine,
        "auto-ack-crash",
        scenarios::auto_ack_crash_claim(KIND),
        scenarios::auto_ack_crash,
        "auto-ack"
    );
}

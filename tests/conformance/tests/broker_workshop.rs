//! The scenarios on our own broker, on virtual time: each must give the
//! outcome the book states for the workshop broker. These run in
//! milliseconds and need no engine; they are also the second trace every
//! real engine's disagreement report prints.

use conformance::broker::EngineKind;
use conformance::broker::scenarios::{self, verdict};
use conformance::broker::workshop::on_virtual_time;

const LIMIT: u32 = 2;

#[test]
fn a_crash_before_the_ack_gives_a_redelivery_after_the_lock_expires() {
    let run = on_virtual_time(|broker| scenarios::crash_before_ack(broker, "crash"))
        .expect("the scenario runs");
    verdict(
        "crash-before-ack",
        &run,
        &scenarios::crash_before_ack_claim(EngineKind::Workshop),
        || run.clone(),
    );
}

#[test]
fn a_hung_consumer_loses_the_message_when_its_lock_expires() {
    let run = on_virtual_time(|broker| scenarios::hang_until_timeout(broker, "hang"))
        .expect("the scenario runs");
    verdict(
        "hang-until-timeout",
        &run,
        &scenarios::hang_until_timeout_claim(EngineKind::Workshop),
        || run.clone(),
    );
}

#[test]
fn the_delivery_limit_ends_in_a_dead_letter() {
    let run = on_virtual_time(|broker| scenarios::delivery_limit(broker, "limit", LIMIT))
        .expect("the scenario runs");
    verdict(
        "delivery-limit",
        &run,
        &scenarios::delivery_limit_claim(EngineKind::Workshop, LIMIT)
            .expect("the scenario applies"),
        || run.clone(),
    );
}

#[test]
fn a_duplicate_id_inside_the_window_is_dropped() {
    let run = on_virtual_time(|broker| scenarios::duplicate_id(broker, "duplicate"))
        .expect("the scenario runs");
    verdict(
        "duplicate-id",
        &run,
        &scenarios::duplicate_id_claim(EngineKind::Workshop),
        || run.clone(),
    );
}

#[test]
fn receive_and_delete_plus_a_crash_loses_the_message() {
    let run = on_virtual_time(|broker| scenarios::auto_ack_crash(broker, "auto-ack"))
        .expect("the scenario runs");
    verdict(
        "auto-ack-crash",
        &run,
        &scenarios::auto_ack_crash_claim(EngineKind::Workshop),
        || run.clone(),
    );
}

/// The verdict has teeth: our broker's run held against RabbitMQ's claim (a
/// crash requeues at once, not after the lock) is a disagreement, and the
/// report names the scenario, the page and both traces.
#[test]
fn a_disagreement_prints_the_scenario_both_traces_and_the_page() {
    let run = on_virtual_time(|broker| scenarios::crash_before_ack(broker, "crash"))
        .expect("the scenario runs");
    let rabbitmq = scenarios::crash_before_ack_claim(EngineKind::RabbitMq);
    let panic = std::panic::catch_unwind(|| {
        verdict("crash-before-ack", &run, &rabbitmq, || run.clone());
    })
    .expect_err("AfterTimeout is not AtOnce: the verdict must fail");
    let report = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    for needed in [
        "DISAGREEMENT in scenario `crash-before-ack`",
        "book/src/broker-reference/index.md#where-the-workshop-broker-simplifies",
        "The engine's trace:",
        "Our broker's trace of the same scenario",
        "A crashes before its ack",
        "B receives crash-1 (delivery count Some(2)",
    ] {
        assert!(report.contains(needed), "missing {needed:?} in:\n{report}");
    }
}

#[test]
fn a_rejected_message_goes_to_the_dead_letter_queue() {
    let run = on_virtual_time(|broker| scenarios::reject_without_requeue(broker, "reject"))
        .expect("the scenario runs");
    verdict(
        "reject-without-requeue",
        &run,
        &scenarios::reject_without_requeue_claim(EngineKind::Workshop)
            .expect("the scenario applies"),
        || run.clone(),
    );
}

//! The grader's own tests, not the learner's: each check must catch the
//! plausible wrong fixes it is named after, and pass correct solutions
//! written differently from the reference. (`cargo xtask verify` proves
//! that the starter fails `poison-storm` and `no-pause` and the reference, a
//! MassTransit-style kill switch, passes all five.)
//!
//! The wrong fixes:
//!
//! - a retry policy instead of a switch: each failed call is retried three
//!   times with a back-off, then dead-lettered as before (`poison-storm`,
//!   `no-pause`);
//! - a switch over a window of outcomes that, after each pause, waits for
//!   the window to fill again before it judges: each probe hands the message
//!   at the head of the queue back, and every tenth goes to the dead-letter
//!   queue (`poison-storm`, and `no-pause`: ten probes are no pause);
//! - a switch that pauses for ever, "until an operator restarts it"
//!   (`no-resume`);
//! - a switch that trips on the first failure and completes the message it
//!   failed on, so that it does not spend its delivery count
//!   (`lost-message`);
//! - a switch that cannot tell a bad message from a sick carrier: every
//!   error is handed back and counted, so the truncated messages come back
//!   until the broker gives up on them (`poison-swallowed`);
//! - a switch that completes ("skips") a message it cannot read, and one
//!   that hands it back once "in case it was a glitch" before
//!   dead-lettering it (`poison-swallowed`);
//! - a breaker kept in a `static`, which survives the grader's simulated
//!   crash only because the grader runs in one process (every check, from
//!   the file's text).
//!
//! The correct solutions: a circuit breaker on consecutive failures whose
//! pause doubles up to eight minutes, and a switch over a window of the
//! last twenty outcomes with a fixed two-minute pause (and one failure
//! after a pause enough to pause again).
//!
//! And the happy path: whichever consumer is compiled in (the starter, or
//! the reference with `--features solution`) books every order on a night
//! without an outage.

use std::collections::VecDeque;
use std::time::Duration;

use broker::BrokerError;
use broker::grading::Check;
use broker::simulation::{Scenario, ServiceCtx};
use kill_switch::ShipError;
use kill_switch::rubric;
use kill_switch::scenario::{calm_night_running, scenario_running};
use kill_switch::shipping::{self, SHIPMENT_REQUESTS};

#[path = "wrong/breaker_in_a_static.rs"]
mod breaker_in_a_static;

/// The attempts' source, as the grader reads a learner's file: this file's
/// text, which keeps no process-wide state, without the `mod` line that
/// brings in the static attempt (graded on its own file below; the grader
/// refuses a learner's file that pulls in another).
fn this_file() -> String {
    include_str!("grader_teeth.rs").replace("mod breaker_in_a_static;", "")
}

use broker::grading::teeth::{assert_fails, assert_passes};

/// Every check of the rubric, for one consumer's scenario and source.
fn every_check(scenario: &Scenario, source: &str) -> Vec<Check> {
    vec![
        rubric::poison_storm_of(scenario.clone(), source),
        rubric::no_pause_of(scenario.clone(), source),
        rubric::no_resume_of(scenario.clone(), source),
        rubric::lost_message_of(scenario.clone(), source),
        rubric::poison_swallowed_of(scenario.clone(), source),
    ]
}

/// The failure handling every attempt below shares with the reference: a
/// bad message is dead-lettered at once, a carrier failure hands the message
/// back. Returns whether the carrier failed.
async fn ship_or_hand_back(
    ctx: &ServiceCtx,
    delivery: &broker::Delivery,
) -> Result<Option<bool>, BrokerError> {
    match shipping::ship(ctx, delivery).await {
        Ok(()) => {
            ctx.complete(delivery).await?;
            Ok(Some(false))
        }
        Err(error @ ShipError::Malformed { .. }) => {
            ctx.dead_letter(delivery, error.reason(), &error.to_string())
                .await?;
            Ok(None)
        }
        Err(ShipError::Carrier(_)) => {
            ctx.abandon(delivery).await?;
            Ok(Some(true))
        }
    }
}

// --- Wrong fixes ------------------------------------------------------------------

/// A retry policy, not a switch: three more tries with a back-off of 1, 2
/// and 4 seconds, then the dead-letter queue as before.
async fn retries_then_dead_letters(ctx: ServiceCtx) -> Result<(), BrokerError> {
    loop {
        let delivery = ctx.receive(SHIPMENT_REQUESTS).await?;
        let mut result = shipping::ship(&ctx, &delivery).await;
        for backoff in [1, 2, 4] {
            if !matches!(result, Err(ShipError::Carrier(_))) {
                break;
            }
            tokio::time::sleep(Duration::from_secs(backoff)).await;
            result = shipping::ship(&ctx, &delivery).await;
        }
        match result {
            Ok(()) => ctx.complete(&delivery).await?,
            Err(error) => {
                ctx.dead_letter(&delivery, error.reason(), &error.to_string())
                    .await?
            }
        }
    }
}

/// Stops after five carrier failures in a row and never starts again: "an
/// operator will restart it in the morning".
async fn pauses_for_ever(ctx: ServiceCtx) -> Result<(), BrokerError> {
    let mut failures_in_a_row = 0;
    loop {
        let delivery = ctx.receive(SHIPMENT_REQUESTS).await?;
        match ship_or_hand_back(&ctx, &delivery).await? {
            Some(true) => failures_in_a_row += 1,
            Some(false) => failures_in_a_row = 0,
            None => {}
        }
        if failures_in_a_row >= 5 {
            std::future::pending::<()>().await;
        }
    }
}

/// Trips on the first carrier failure, and completes the message it failed
/// on, "so that the probe does not burn its delivery count".
async fn trips_and_completes(ctx: ServiceCtx) -> Result<(), BrokerError> {
    loop {
        let delivery = ctx.receive(SHIPMENT_REQUESTS).await?;
        match shipping::ship(&ctx, &delivery).await {
            Ok(()) => ctx.complete(&delivery).await?,
            Err(error @ ShipError::Malformed { .. }) => {
                ctx.dead_letter(&delivery, error.reason(), &error.to_string())
                    .await?
            }
            Err(ShipError::Carrier(_)) => {
                ctx.complete(&delivery).await?;
                tokio::time::sleep(Duration::from_secs(5 * 60)).await;
            }
        }
    }
}

/// A switch that counts every error alike and hands every failed message
/// back: a truncated message comes back again and again, and five of its
/// failures in a row pause the consumer though the carrier is fine.
async fn counts_bad_messages_too(ctx: ServiceCtx) -> Result<(), BrokerError> {
    let mut failures_in_a_row = 0;
    loop {
        let delivery = ctx.receive(SHIPMENT_REQUESTS).await?;
        match shipping::ship(&ctx, &delivery).await {
            Ok(()) => {
                ctx.complete(&delivery).await?;
                failures_in_a_row = 0;
            }
            Err(_) => {
                ctx.abandon(&delivery).await?;
                failures_in_a_row += 1;
            }
        }
        if failures_in_a_row >= 5 {
            failures_in_a_row = 0;
            tokio::time::sleep(Duration::from_secs(5 * 60)).await;
        }
    }
}

/// The counting window below without its half-open state: after each pause
/// it waits for ten outcomes before it judges again, and each of those is a
/// delivery of the message at the head of the queue, handed back.
async fn counting_window_that_refills(ctx: ServiceCtx) -> Result<(), BrokerError> {
    let mut window: VecDeque<bool> = VecDeque::with_capacity(20);
    loop {
        let delivery = ctx.receive(SHIPMENT_REQUESTS).await?;
        let Some(failed) = ship_or_hand_back(&ctx, &delivery).await? else {
            continue;
        };
        if window.len() == 20 {
            window.pop_front();
        }
        window.push_back(failed);
        let failures = window.iter().filter(|failed| **failed).count();
        if window.len() >= 10 && failures * 2 >= window.len() {
            window.clear();
            tokio::time::sleep(Duration::from_secs(2 * 60)).await;
        }
    }
}

/// The reference's switch, but a message that cannot be read is completed
/// ("skipped") instead of dead-lettered: nobody will ever see it again.
async fn skips_bad_messages(ctx: ServiceCtx) -> Result<(), BrokerError> {
    let mut failures_in_a_row = 0;
    loop {
        let delivery = ctx.receive(SHIPMENT_REQUESTS).await?;
        match shipping::ship(&ctx, &delivery).await {
            Ok(()) => {
                ctx.complete(&delivery).await?;
                failures_in_a_row = 0;
            }
            Err(ShipError::Malformed { .. }) => ctx.complete(&delivery).await?,
            Err(ShipError::Carrier(_)) => {
                ctx.abandon(&delivery).await?;
                failures_in_a_row += 1;
            }
        }
        if failures_in_a_row >= 5 {
            failures_in_a_row = 4;
            tokio::time::sleep(Duration::from_secs(5 * 60)).await;
        }
    }
}

/// The reference's switch, but every failure is tried once more before a
/// bad message is dead-lettered, "in case it was a glitch".
async fn retries_bad_messages_once(ctx: ServiceCtx) -> Result<(), BrokerError> {
    let mut failures_in_a_row = 0;
    loop {
        let delivery = ctx.receive(SHIPMENT_REQUESTS).await?;
        match shipping::ship(&ctx, &delivery).await {
            Ok(()) => {
                ctx.complete(&delivery).await?;
                failures_in_a_row = 0;
            }
            Err(error @ ShipError::Malformed { .. }) if delivery.delivery_count > 1 => {
                ctx.dead_letter(&delivery, error.reason(), &error.to_string())
                    .await?
            }
            Err(ShipError::Malformed { .. }) => ctx.abandon(&delivery).await?,
            Err(ShipError::Carrier(_)) => {
                ctx.abandon(&delivery).await?;
                failures_in_a_row += 1;
            }
        }
        if failures_in_a_row >= 5 {
            failures_in_a_row = 4;
            tokio::time::sleep(Duration::from_secs(5 * 60)).await;
        }
    }
}

// --- Correct solutions, written differently from the reference ------------------

/// A circuit breaker on consecutive failures: open after five in a row,
/// half-open after a pause that starts at one minute and doubles up to
/// eight, closed by a success.
async fn consecutive_failure_breaker(ctx: ServiceCtx) -> Result<(), BrokerError> {
    const OPEN_AFTER: u32 = 5;
    const LONGEST_PAUSE: Duration = Duration::from_secs(8 * 60);
    let mut failures_in_a_row = 0;
    let mut pause = Duration::from_secs(60);
    loop {
        let delivery = ctx.receive(SHIPMENT_REQUESTS).await?;
        match ship_or_hand_back(&ctx, &delivery).await? {
            Some(true) => failures_in_a_row += 1,
            Some(false) => {
                failures_in_a_row = 0;
                pause = Duration::from_secs(60);
            }
            None => {}
        }
        if failures_in_a_row >= OPEN_AFTER {
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(LONGEST_PAUSE);
            // Half-open: the next failure opens it again at once.
            failures_in_a_row = OPEN_AFTER - 1;
        }
    }
}

/// A switch over a counting window: the last twenty outcomes; once ten are
/// known and half of them failed, pause two minutes. After a pause one
/// failure is enough to pause again (the window is no evidence yet): a
/// window that had to fill up again after each pause would spend ten
/// deliveries of the message at the head of the queue every time.
async fn counting_window(ctx: ServiceCtx) -> Result<(), BrokerError> {
    let mut window: VecDeque<bool> = VecDeque::with_capacity(20);
    let mut probing = false;
    loop {
        let delivery = ctx.receive(SHIPMENT_REQUESTS).await?;
        let Some(failed) = ship_or_hand_back(&ctx, &delivery).await? else {
            continue;
        };
        if window.len() == 20 {
            window.pop_front();
        }
        window.push_back(failed);
        let failures = window.iter().filter(|failed| **failed).count();
        let trip = if probing {
            failed
        } else {
            window.len() >= 10 && failures * 2 >= window.len()
        };
        probing = trip;
        if trip {
            window.clear();
            tokio::time::sleep(Duration::from_secs(2 * 60)).await;
        }
    }
}

// --- The tests --------------------------------------------------------------------

#[test]
fn a_retry_policy_still_dead_letters_the_night() {
    let scenario = scenario_running(retries_then_dead_letters);
    let source = this_file();
    assert_fails(
        &rubric::poison_storm_of(scenario.clone(), &source).run_with(None, None),
        "perfectly good ended the night in the dead-letter queue",
    );
    assert_fails(
        &rubric::no_pause_of(scenario.clone(), &source).run_with(None, None),
        "went on taking the next one",
    );
    assert_passes(&rubric::lost_message_of(scenario, &source).run_with(None, None));
}

#[test]
fn probing_with_a_full_window_after_each_pause_is_still_a_storm() {
    let scenario = scenario_running(counting_window_that_refills);
    let source = this_file();
    assert_fails(
        &rubric::poison_storm_of(scenario.clone(), &source).run_with(None, None),
        "handed back until the broker gave up on them",
    );
    // Ten probes every two minutes are no pause either.
    assert_fails(
        &rubric::no_pause_of(scenario, &source).run_with(None, None),
        "went on taking the next one",
    );
}

#[test]
fn pausing_for_ever_never_resumes() {
    let scenario = scenario_running(pauses_for_ever);
    let source = this_file();
    assert_fails(
        &rubric::no_resume_of(scenario.clone(), &source).run_with(None, None),
        "never booked anything again",
    );
    assert_passes(&rubric::poison_storm_of(scenario.clone(), &source).run_with(None, None));
    assert_passes(&rubric::no_pause_of(scenario, &source).run_with(None, None));
}

#[test]
fn completing_the_failed_probe_loses_it() {
    let scenario = scenario_running(trips_and_completes);
    let source = this_file();
    assert_fails(
        &rubric::lost_message_of(scenario.clone(), &source).run_with(None, None),
        "the order is lost",
    );
    assert_passes(&rubric::poison_storm_of(scenario, &source).run_with(None, None));
}

#[test]
fn a_switch_that_hands_back_bad_messages_swallows_them() {
    let scenario = scenario_running(counts_bad_messages_too);
    let report = rubric::poison_swallowed_of(scenario, &this_file()).run_with(None, None);
    assert_fails(&report, "only because the broker gave up on it");
}

#[test]
fn skipping_a_bad_message_swallows_it() {
    let scenario = scenario_running(skips_bad_messages);
    let source = this_file();
    assert_fails(
        &rubric::poison_swallowed_of(scenario.clone(), &source).run_with(None, None),
        "was settled and is gone",
    );
    // The orders themselves are all safe.
    assert_passes(&rubric::lost_message_of(scenario, &source).run_with(None, None));
}

#[test]
fn retrying_a_bad_message_once_is_still_handing_it_back() {
    let report =
        rubric::poison_swallowed_of(scenario_running(retries_bad_messages_once), &this_file())
            .run_with(None, None);
    assert_fails(
        &report,
        "was handed back (abandoned) once before the consumer",
    );
}

#[test]
fn a_breaker_in_a_static_fails_every_check_from_the_file() {
    let source = include_str!("wrong/breaker_in_a_static.rs");
    let scenario = scenario_running(breaker_in_a_static::consume);
    for check in every_check(&scenario, source) {
        assert_fails(
            &check.run_with(None, None),
            "keeps state outside the service",
        );
    }
}

#[test]
fn a_consecutive_failure_breaker_with_a_growing_pause_passes() {
    let scenario = scenario_running(consecutive_failure_breaker);
    for check in every_check(&scenario, &this_file()) {
        assert_passes(&check.run_with(None, None));
    }
}

#[test]
fn a_counting_window_with_a_fixed_pause_passes() {
    let scenario = scenario_running(counting_window);
    for check in every_check(&scenario, &this_file()) {
        assert_passes(&check.run_with(None, None));
    }
}

#[test]
fn the_compiled_consumer_books_every_order_on_a_calm_night() {
    // `no-pause` is left out: it counts what the consumer takes during the
    // outage's hours, and on a calm night taking every order then is right.
    let scenario = calm_night_running(kill_switch::consumer::consume);
    let source = this_file();
    for check in [
        rubric::poison_storm_of(scenario.clone(), &source),
        rubric::no_resume_of(scenario.clone(), &source),
        rubric::lost_message_of(scenario.clone(), &source),
        rubric::poison_swallowed_of(scenario, &source),
    ] {
        assert_passes(&check.run_with(None, None));
    }
}

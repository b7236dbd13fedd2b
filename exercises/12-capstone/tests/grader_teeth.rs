//! The grader's own tests, not the learner's: each check must catch the
//! plausible wrong fixes it is named after, and pass a correct runtime
//! written differently from the reference. (`cargo xtask verify` proves that
//! the starter fails `duplicate-side-effect`, `lost-event` and
//! `poison-storm`, and that the reference passes all.)
//!
//! The wrong fixes, each a half-fix of one of the starter's mistakes, or an
//! over-correction:
//!
//! - the runtime completes each request as soon as it has it, "so a
//!   redelivery can never charge twice" (`lost-message`: a crash before the
//!   charge loses the payment);
//! - it gives the charge an idempotency key and changes nothing else
//!   (`lost-event`: the publish after the commit is still lost in a crash);
//! - it completes last and skips a request whose payment is already
//!   recorded, "an inbox", but publishes after the commit with no outbox
//!   (`lost-event`: the redelivery after a crash between the commit and the
//!   publish is skipped, and nothing publishes the event);
//! - its relay deletes the outbox row before it sends the event (`lost-event`,
//!   found only by a crash between the two: it works without faults);
//! - it hands a failed request back instead of parking it, without pausing
//!   (`poison-storm`: the broker dead-letters them after ten deliveries);
//! - its kill switch pauses for hours (`no-resume`);
//! - it remembers the charged payments in a `static` (every check, from the
//!   file's text: a simulated crash cannot wipe a static, a real one does).

use std::time::Duration;

use broker::Message;
use broker::grading::teeth::{assert_fails, assert_passes};
use broker::simulation::{Exploration, ServiceCtx};
use broker::store::IsolationLevel;
use capstone::RuntimeError;
use capstone::payments::{
    self, OUTBOX, PAYMENT_EVENTS, PAYMENT_REQUESTS, PAYMENTS, PaymentRequested, RELAY_POLL_INTERVAL,
};
use capstone::rubric;
use capstone::scenario::{afternoon_running, morning_running};

#[path = "wrong/charged_in_a_static.rs"]
mod charged_in_a_static;

// --- Pieces the runtimes share --------------------------------------------------

/// The event as JSON, with a fixed id.
fn event_json(request: &PaymentRequested) -> serde_json::Value {
    serde_json::json!({
        "event_id": format!("payment-captured-{}", request.payment_id),
        "payment_id": request.payment_id,
        "amount_cents": request.amount_cents,
    })
}

/// The idempotency key of a payment's charge.
fn key(request: &PaymentRequested) -> String {
    format!("charge-{}", request.payment_id)
}

/// Publishes the event of `request` under its fixed id.
async fn publish(ctx: &ServiceCtx, request: &PaymentRequested) -> Result<(), RuntimeError> {
    let event = event_json(request);
    let id = format!("payment-captured-{}", request.payment_id);
    ctx.send(PAYMENT_EVENTS, Message::new(id, event.to_string()))
        .await?;
    Ok(())
}

/// Records the payment alone.
async fn record(ctx: &ServiceCtx, request: &PaymentRequested) -> Result<(), RuntimeError> {
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    tx.upsert(PAYMENTS, &request.payment_id, request.payment_row())
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Records the payment and its event in the outbox, in one transaction.
async fn record_with_outbox(
    ctx: &ServiceCtx,
    request: &PaymentRequested,
) -> Result<(), RuntimeError> {
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    tx.upsert(PAYMENTS, &request.payment_id, request.payment_row())
        .await?;
    tx.upsert(
        OUTBOX,
        &format!("payment-captured-{}", request.payment_id),
        event_json(request),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The right relay: send, then delete the row, in one transaction.
async fn relay(ctx: ServiceCtx) -> Result<(), RuntimeError> {
    loop {
        let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
        for (id, row) in tx.scan(OUTBOX).await? {
            ctx.send(
                PAYMENT_EVENTS,
                Message::new(id.clone(), row.value.to_string()),
            )
            .await?;
            tx.delete(OUTBOX, &id).await?;
        }
        tx.commit().await?;
        tokio::time::sleep(RELAY_POLL_INTERVAL).await;
    }
}

/// The relay of a runtime that publishes its own events: nothing to do.
async fn no_relay(_: ServiceCtx) -> Result<(), RuntimeError> {
    Ok(())
}

/// A kill switch: three failures in a row trip it for `pause`, doubling up to
/// `longest`.
struct Switch {
    failures: u32,
    pause: Duration,
    first: Duration,
    longest: Duration,
}

impl Switch {
    fn new(first: Duration, longest: Duration) -> Switch {
        Switch {
            failures: 0,
            pause: first,
            first,
            longest,
        }
    }

    fn succeeded(&mut self) {
        self.failures = 0;
        self.pause = self.first;
    }

    async fn failed(&mut self, ctx: &ServiceCtx) {
        self.failures += 1;
        if self.failures >= 3 {
            ctx.pause(self.pause, "the card gateway keeps failing")
                .await;
            self.pause = (self.pause * 2).min(self.longest);
        }
    }
}

/// The reference's shape, with `longest` as the longest pause: every fix but
/// the outbox's relay, which the caller picks.
async fn fixed_with(ctx: ServiceCtx, longest: Duration) -> Result<(), RuntimeError> {
    let mut switch = Switch::new(Duration::from_secs(30), longest);
    loop {
        let delivery = ctx.receive(PAYMENT_REQUESTS).await?;
        let request = PaymentRequested::from_delivery(&delivery)?;
        if payments::charge(&ctx, &request, Some(&key(&request)))
            .await
            .is_err()
        {
            ctx.abandon(&delivery).await?;
            switch.failed(&ctx).await;
            continue;
        }
        switch.succeeded();
        record_with_outbox(&ctx, &request).await?;
        ctx.complete(&delivery).await?;
    }
}

// --- Wrong runtimes -------------------------------------------------------------

/// Completes each request first, "so it is never delivered twice".
async fn completes_first(ctx: ServiceCtx) -> Result<(), RuntimeError> {
    loop {
        let delivery = ctx.receive(PAYMENT_REQUESTS).await?;
        ctx.complete(&delivery).await?;
        let request = PaymentRequested::from_delivery(&delivery)?;
        payments::charge(&ctx, &request, Some(&key(&request))).await?;
        record_with_outbox(&ctx, &request).await?;
    }
}

/// The starter with an idempotency key on the charge, and nothing else.
async fn only_a_key(ctx: ServiceCtx) -> Result<(), RuntimeError> {
    loop {
        let delivery = ctx.receive(PAYMENT_REQUESTS).await?;
        let request = PaymentRequested::from_delivery(&delivery)?;
        if let Err(error) = payments::charge(&ctx, &request, Some(&key(&request))).await {
            let error = RuntimeError::from(error);
            ctx.dead_letter(&delivery, error.reason(), &error.to_string())
                .await?;
            continue;
        }
        record(&ctx, &request).await?;
        ctx.complete(&delivery).await?;
        publish(&ctx, &request).await?;
    }
}

/// Completes last and skips what it has recorded ("an inbox"), but
/// publishes after the commit, with no outbox.
async fn inbox_without_outbox(ctx: ServiceCtx) -> Result<(), RuntimeError> {
    let mut switch = Switch::new(Duration::from_secs(30), Duration::from_secs(240));
    loop {
        let delivery = ctx.receive(PAYMENT_REQUESTS).await?;
        let request = PaymentRequested::from_delivery(&delivery)?;
        let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
        let done = tx.get(PAYMENTS, &request.payment_id).await?.is_some();
        tx.rollback().await;
        if done {
            ctx.complete(&delivery).await?;
            continue;
        }
        if payments::charge(&ctx, &request, Some(&key(&request)))
            .await
            .is_err()
        {
            ctx.abandon(&delivery).await?;
            switch.failed(&ctx).await;
            continue;
        }
        switch.succeeded();
        record(&ctx, &request).await?;
        publish(&ctx, &request).await?;
        ctx.complete(&delivery).await?;
    }
}

/// Every fix but the key: it skips a request whose payment it has already
/// recorded ("an inbox"), records with an outbox and pauses on failures, but
/// charges without an idempotency key. Without faults nothing is charged
/// twice; a crash between the charge and the record charges the card again.
async fn inbox_without_a_key(ctx: ServiceCtx) -> Result<(), RuntimeError> {
    let mut switch = Switch::new(Duration::from_secs(30), Duration::from_secs(240));
    loop {
        let delivery = ctx.receive(PAYMENT_REQUESTS).await?;
        let request = PaymentRequested::from_delivery(&delivery)?;
        let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
        let done = tx.get(PAYMENTS, &request.payment_id).await?.is_some();
        tx.rollback().await;
        if done {
            ctx.complete(&delivery).await?;
            continue;
        }
        if payments::charge(&ctx, &request, None).await.is_err() {
            ctx.abandon(&delivery).await?;
            switch.failed(&ctx).await;
            continue;
        }
        switch.succeeded();
        record_with_outbox(&ctx, &request).await?;
        ctx.complete(&delivery).await?;
    }
}

/// The reference's runtime with the right longest pause.
async fn fixed(ctx: ServiceCtx) -> Result<(), RuntimeError> {
    fixed_with(ctx, Duration::from_secs(240)).await
}

/// A relay that deletes each row, commits, and only then sends it.
async fn relay_deletes_first(ctx: ServiceCtx) -> Result<(), RuntimeError> {
    loop {
        let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
        let rows = tx.scan(OUTBOX).await?;
        for (id, _) in &rows {
            tx.delete(OUTBOX, id).await?;
        }
        tx.commit().await?;
        for (id, row) in rows {
            ctx.send(PAYMENT_EVENTS, Message::new(id, row.value.to_string()))
                .await?;
        }
        tokio::time::sleep(RELAY_POLL_INTERVAL).await;
    }
}

/// Hands a failed request back at once, and never pauses.
async fn abandons_without_pausing(ctx: ServiceCtx) -> Result<(), RuntimeError> {
    loop {
        let delivery = ctx.receive(PAYMENT_REQUESTS).await?;
        let request = PaymentRequested::from_delivery(&delivery)?;
        if payments::charge(&ctx, &request, Some(&key(&request)))
            .await
            .is_err()
        {
            ctx.abandon(&delivery).await?;
            continue;
        }
        record_with_outbox(&ctx, &request).await?;
        ctx.complete(&delivery).await?;
    }
}

/// A kill switch whose pauses keep doubling, to six hours: the gateway is
/// back long before the runtime tries again.
async fn pauses_for_hours(ctx: ServiceCtx) -> Result<(), RuntimeError> {
    fixed_with(ctx, Duration::from_secs(6 * 3600)).await
}

// --- A correct runtime, written differently -------------------------------------

/// Checks its own table of recorded payments before charging (an inbox, in
/// the transaction that records), still keys the charge, trips its switch on
/// the first refusal for a fixed two minutes, and relays one event per
/// transaction.
async fn differently(ctx: ServiceCtx) -> Result<(), RuntimeError> {
    loop {
        let delivery = ctx.receive(PAYMENT_REQUESTS).await?;
        let request = PaymentRequested::from_delivery(&delivery)?;
        match payments::charge(&ctx, &request, Some(&key(&request))).await {
            Ok(()) => {}
            Err(payments::GatewayError::Timeout) => {
                ctx.abandon(&delivery).await?;
                continue;
            }
            Err(payments::GatewayError::Unavailable) => {
                ctx.abandon(&delivery).await?;
                ctx.pause(Duration::from_secs(120), "card gateway down")
                    .await;
                continue;
            }
        }
        let mut tx = ctx.begin(IsolationLevel::Serializable).await?;
        if tx.get(PAYMENTS, &request.payment_id).await?.is_none() {
            tx.insert(PAYMENTS, &request.payment_id, request.payment_row())
                .await?;
            tx.insert(
                OUTBOX,
                &format!("payment-captured-{}", request.payment_id),
                event_json(&request),
            )
            .await?;
        }
        tx.commit().await?;
        ctx.complete(&delivery).await?;
    }
}

/// Publishes the oldest outbox row, one transaction per event.
async fn relay_one_at_a_time(ctx: ServiceCtx) -> Result<(), RuntimeError> {
    loop {
        let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
        let first = tx.scan(OUTBOX).await?.into_iter().next();
        match first {
            Some((id, row)) => {
                ctx.send(
                    PAYMENT_EVENTS,
                    Message::new(id.clone(), row.value.to_string()),
                )
                .await?;
                tx.delete(OUTBOX, &id).await?;
                tx.commit().await?;
            }
            None => {
                tx.rollback().await;
                tokio::time::sleep(RELAY_POLL_INTERVAL).await;
            }
        }
    }
}

// --- The tests ------------------------------------------------------------------

#[test]
fn lost_message_catches_completing_first() {
    let report = rubric::lost_message()
        .scenario(morning_running(completes_first, relay))
        .run_with(None, None);
    assert_fails(&report, "the request was settled before its work was done");
}

#[test]
fn duplicate_side_effect_catches_an_inbox_without_a_key_only_under_a_crash() {
    let scenario = || morning_running(inbox_without_a_key, relay);
    assert_passes(
        &rubric::duplicate_side_effect()
            .scenario(scenario())
            .exploration(Exploration::happy_path())
            .run_with(None, None),
    );
    let report = rubric::duplicate_side_effect()
        .scenario(scenario())
        .run_with(None, None);
    assert_fails(&report, "times (at ");
}

#[test]
fn lost_event_catches_a_key_and_nothing_else() {
    let scenario = || morning_running(only_a_key, no_relay);
    assert_passes(
        &rubric::duplicate_side_effect()
            .scenario(scenario())
            .run_with(None, None),
    );
    let report = rubric::lost_event()
        .scenario(scenario())
        .run_with(None, None);
    assert_fails(&report, "ever reached `payment-events`");
}

#[test]
fn lost_event_catches_an_inbox_without_an_outbox() {
    let report = rubric::lost_event()
        .scenario(morning_running(inbox_without_outbox, no_relay))
        .run_with(None, None);
    assert_fails(&report, "ever reached `payment-events`");
}

#[test]
fn lost_event_catches_a_relay_that_deletes_first_only_under_a_crash() {
    let scenario = || morning_running(fixed, relay_deletes_first);
    assert_passes(
        &rubric::lost_event()
            .scenario(scenario())
            .exploration(Exploration::happy_path())
            .run_with(None, None),
    );
    let report = rubric::lost_event()
        .scenario(scenario())
        .run_with(None, None);
    assert_fails(&report, "ever reached `payment-events`");
}

#[test]
fn poison_storm_catches_handing_back_without_pausing() {
    let report = rubric::poison_storm()
        .scenario(afternoon_running(abandons_without_pausing, relay))
        .run_with(None, None);
    assert_fails(&report, "as `MaxDeliveryCountExceeded`");
}

#[test]
fn no_resume_catches_a_switch_that_pauses_for_hours() {
    let scenario = || afternoon_running(pauses_for_hours, relay);
    assert_passes(
        &rubric::poison_storm()
            .scenario(scenario())
            .run_with(None, None),
    );
    let report = rubric::no_resume()
        .scenario(scenario())
        .run_with(None, None);
    assert_fails(&report, "more than 10 minutes later");
}

#[test]
fn every_check_refuses_charges_remembered_in_a_static() {
    let source = include_str!("wrong/charged_in_a_static.rs");
    let morning = || morning_running(charged_in_a_static::run, relay);
    let afternoon = || afternoon_running(charged_in_a_static::run, relay);
    for check in [
        rubric::lost_message_of(morning(), source),
        rubric::duplicate_side_effect_of(morning(), source),
        rubric::lost_event_of(morning(), source),
        rubric::poison_storm_of(afternoon(), source),
        rubric::no_resume_of(afternoon(), source),
    ] {
        assert_fails(&check.run_with(None, None), "static CHARGED");
    }
}

#[test]
fn every_check_passes_a_correct_runtime_written_differently() {
    let morning = || morning_running(differently, relay_one_at_a_time);
    let afternoon = || afternoon_running(differently, relay_one_at_a_time);
    for check in [
        rubric::lost_message_of(morning(), ""),
        rubric::duplicate_side_effect_of(morning(), ""),
        rubric::lost_event_of(morning(), ""),
        rubric::poison_storm_of(afternoon(), ""),
        rubric::no_resume_of(afternoon(), ""),
    ] {
        assert_passes(&check.run_with(None, None));
    }
}

//! The grader's own tests, not the learner's: each check must fail the
//! plausible wrong attempts at this exercise (the over-correction, the
//! half-fix, the fix that only works without faults, the fix that trades
//! the lock for a loss, state that survives a simulated crash only) and pass a right attempt written differently from
//! the reference solution. (`cargo xtask verify` proves the checks the
//! shipped starter fails, and that the solution passes.)

use std::time::Duration;

use ack_ordering::ConsumerError;
use ack_ordering::order::{self, INVOICES, Invoice, ORDERS, Order};
use ack_ordering::rubric;
use ack_ordering::scenario::scenario_running;
use broker::grading::{Check, CheckReport};
use broker::simulation::{Scenario, ServiceCtx};
use broker::{Delivery, ReceiveMode, ReceiveOptions};

#[path = "attempts/invoiced_in_a_static.rs"]
mod invoiced_in_a_static;

/// Runs a check against another consumer, with no replay and no report
/// file: these runs must never stand in for the learner's grade.
fn run(check: Check, scenario: Scenario) -> CheckReport {
    check.scenario(scenario).run_with(None, None)
}

fn failed(report: &CheckReport, why: &str) {
    assert!(
        !report.passed,
        "{} passed {why}:\n{}",
        report.check, report.text
    );
}

/// Prices the order, renewing the lock every `every`, as the reference
/// solution does at 30 s.
async fn price_renewing(
    ctx: &ServiceCtx,
    delivery: &mut Delivery,
    order: &Order,
    every: Duration,
) -> Result<Invoice, ConsumerError> {
    let id = delivery.message_id().to_string();
    let pricing = order::price(&id, order);
    tokio::pin!(pricing);
    loop {
        tokio::select! {
            biased;
            invoice = &mut pricing => return Ok(invoice),
            () = tokio::time::sleep(every) => {
                ctx.renew_lock(delivery).await?;
            }
        }
    }
}

/// Dead-letters the order when the invoice cannot be published: the
/// over-correction of "never leave an order locked", which turns a
/// transient error into an order nobody handles.
async fn dead_letters_on_publish_error(ctx: ServiceCtx) -> Result<(), ConsumerError> {
    loop {
        let mut delivery = ctx.receive(ORDERS).await?;
        let order = Order::from_envelope(&delivery)?;
        let invoice = price_renewing(&ctx, &mut delivery, &order, Duration::from_secs(30)).await?;
        match ctx.send(INVOICES, invoice.to_message()).await {
            Ok(()) => ctx.complete(&delivery).await?,
            Err(error) => {
                ctx.dead_letter(&delivery, "PublishFailed", &error.to_string())
                    .await?
            }
        }
    }
}

#[test]
fn unsettled_message_catches_a_consumer_that_dead_letters_on_a_transient_publish_error() {
    let report = run(
        rubric::unsettled_message(),
        scenario_running(dead_letters_on_publish_error),
    );
    failed(
        &report,
        "a consumer that dead-letters on a transient publish error",
    );
    assert!(
        report.text.contains("dead-lettered `order-"),
        "{}",
        report.text
    );
    assert!(
        report.text.contains("itself after its send invoices"),
        "{}",
        report.text
    );
    assert!(
        report.text.contains("EDA_REPLAY='unsettled-message:seed="),
        "{}",
        report.text
    );
}

/// Peek-lock, prices with renewals, publishes, and never completes: the
/// half-fix of a learner who switched the mode and deleted the complete.
async fn never_completes(ctx: ServiceCtx) -> Result<(), ConsumerError> {
    loop {
        let mut delivery = ctx.receive(ORDERS).await?;
        let order = Order::from_envelope(&delivery)?;
        let invoice = price_renewing(&ctx, &mut delivery, &order, Duration::from_secs(30)).await?;
        ctx.send(INVOICES, invoice.to_message()).await?;
    }
}

#[test]
fn a_peek_lock_consumer_that_never_completes_is_told_what_it_did() {
    for check in [rubric::unsettled_message(), rubric::lock_expired()] {
        let report = run(check, scenario_running(never_completes));
        failed(&report, "a peek-lock consumer that never completes");
        assert!(
            report
                .text
                .contains("received its orders in peek-lock mode and never settled one"),
            "{}",
            report.text
        );
        assert!(
            !report.text.contains("receive-and-delete"),
            "{}",
            report.text
        );
    }
}

/// Gives up on an order it cannot price within the lock and abandons it,
/// for someone else to try: the bulk order can never be priced in time.
async fn abandons_slow_orders(ctx: ServiceCtx) -> Result<(), ConsumerError> {
    loop {
        let delivery = ctx.receive(ORDERS).await?;
        let order = Order::from_envelope(&delivery)?;
        let id = delivery.message_id().to_string();
        match tokio::time::timeout(Duration::from_secs(50), order::price(&id, &order)).await {
            Ok(invoice) => {
                ctx.send(INVOICES, invoice.to_message()).await?;
                ctx.complete(&delivery).await?;
            }
            Err(_) => ctx.abandon(&delivery).await?,
        }
    }
}

#[test]
fn an_abandon_is_reported_as_abandoned_then_dead_lettered() {
    let report = run(
        rubric::unsettled_message(),
        scenario_running(abandons_slow_orders),
    );
    failed(
        &report,
        "a consumer that abandons the bulk order every time",
    );
    assert!(
        report.text.contains(
            "`order-3` was abandoned 10 times on `orders`, then dead-lettered by the broker"
        ),
        "{}",
        report.text
    );
    assert!(!report.text.contains("never settled"), "{}", report.text);
}

/// Renews every 45 s: in time when every renewal is instant (the lock lasts
/// 60 s), late as soon as one is held up by more than 15 s.
async fn renews_just_in_time(ctx: ServiceCtx) -> Result<(), ConsumerError> {
    loop {
        let mut delivery = ctx.receive(ORDERS).await?;
        let order = Order::from_envelope(&delivery)?;
        let invoice = price_renewing(&ctx, &mut delivery, &order, Duration::from_secs(45)).await?;
        ctx.send(INVOICES, invoice.to_message()).await?;
        ctx.complete(&delivery).await?;
    }
}

#[test]
fn lock_expired_catches_a_renewal_that_only_works_without_faults() {
    let report = run(
        rubric::lock_expired(),
        scenario_running(renews_just_in_time),
    );
    failed(
        &report,
        "a renewal every 45 s, which a delayed renewal makes late",
    );
    // Found by a fault point, every time: not left to a random plan's luck.
    assert!(report.text.contains("a fault point"), "{}", report.text);
    assert!(
        report.text.contains("plan delay-20000ms@"),
        "{}",
        report.text
    );
}

/// Renews every 30 s like the reference, but ignores a renewal that fails
/// ("the next tick will try again") and goes on pricing: once the broker
/// refuses a renewal, or is down for longer than the lock has left, the
/// lock runs out under the work.
async fn ignores_failed_renewals(ctx: ServiceCtx) -> Result<(), ConsumerError> {
    loop {
        let mut delivery = ctx.receive(ORDERS).await?;
        let order = Order::from_envelope(&delivery)?;
        let id = delivery.message_id().to_string();
        let pricing = order::price(&id, &order);
        tokio::pin!(pricing);
        let invoice = loop {
            tokio::select! {
                biased;
                invoice = &mut pricing => break invoice,
                () = tokio::time::sleep(Duration::from_secs(30)) => {
                    let _ = ctx.renew_lock(&mut delivery).await;
                }
            }
        };
        ctx.send(INVOICES, invoice.to_message()).await?;
        ctx.complete(&delivery).await?;
    }
}

#[test]
fn lock_expired_tells_a_failed_renewal_from_a_late_one() {
    let report = run(
        rubric::lock_expired(),
        scenario_running(ignores_failed_renewals),
    );
    failed(&report, "a consumer that ignores a failed renewal");
    // The advice is about the failure, not about renewing sooner: a learner
    // sent to the renewal period looks in the wrong place.
    assert!(
        report.text.contains("failed (") && report.text.contains("stop working on that order"),
        "{}",
        report.text
    );
    assert!(
        !report.text.contains("a slow renewal still lands"),
        "{}",
        report.text
    );
    // A renewal held up by a delay is late, not failed: the old advice.
    let late = run(
        rubric::lock_expired(),
        scenario_running(renews_just_in_time),
    );
    failed(&late, "a renewal every 45 s");
    assert!(
        late.text.contains("a slow renewal still lands") && !late.text.contains("failed ("),
        "{}",
        late.text
    );
}

/// Right, and unlike the reference: on a failed renewal it gives the order
/// up (no complete, no invoice) and goes on to the next order in the same
/// life, instead of returning the error; the broker hands the order out
/// again once its lock runs out.
async fn gives_up_an_order_whose_renewal_failed(ctx: ServiceCtx) -> Result<(), ConsumerError> {
    loop {
        let mut delivery = ctx.receive(ORDERS).await?;
        let order = Order::from_envelope(&delivery)?;
        let id = delivery.message_id().to_string();
        let pricing = order::price(&id, &order);
        tokio::pin!(pricing);
        let priced = loop {
            tokio::select! {
                biased;
                invoice = &mut pricing => break Some(invoice),
                () = tokio::time::sleep(Duration::from_secs(30)) => {
                    if ctx.renew_lock(&mut delivery).await.is_err() {
                        break None;
                    }
                }
            }
        };
        let Some(invoice) = priced else {
            continue;
        };
        ctx.send(INVOICES, invoice.to_message()).await?;
        ctx.complete(&delivery).await?;
    }
}

#[test]
fn giving_up_an_order_after_a_failed_renewal_passes_without_ending_the_service() {
    for check in [rubric::unsettled_message(), rubric::lock_expired()] {
        let report = run(
            check,
            scenario_running(gives_up_an_order_whose_renewal_failed),
        );
        assert!(report.passed, "{}", report.text);
    }
}

/// Completes the order before pricing it, so that the lock can no longer
/// expire under the slow work: the lock trouble is gone, and so is the
/// order when a crash comes during pricing.
async fn completes_before_pricing(ctx: ServiceCtx) -> Result<(), ConsumerError> {
    loop {
        let delivery = ctx.receive(ORDERS).await?;
        ctx.complete(&delivery).await?;
        let order = Order::from_envelope(&delivery)?;
        let invoice = order::price(delivery.message_id(), &order).await;
        ctx.send(INVOICES, invoice.to_message()).await?;
    }
}

#[test]
fn lost_message_catches_a_consumer_that_completes_before_the_slow_work() {
    let report = run(
        rubric::lost_message(),
        scenario_running(completes_before_pricing),
    );
    failed(&report, "a consumer that completes before pricing");
    assert!(report.text.contains("it is lost"), "{}", report.text);
}

/// Renews the lock once, before pricing starts: a fresh 60 s, and the bulk
/// order still takes two minutes.
async fn renews_once_before_pricing(ctx: ServiceCtx) -> Result<(), ConsumerError> {
    loop {
        let mut delivery = ctx.receive(ORDERS).await?;
        let order = Order::from_envelope(&delivery)?;
        ctx.renew_lock(&mut delivery).await?;
        let invoice = order::price(delivery.message_id(), &order).await;
        ctx.send(INVOICES, invoice.to_message()).await?;
        ctx.complete(&delivery).await?;
    }
}

#[test]
fn lock_expired_catches_a_single_renewal_before_the_work() {
    let report = run(
        rubric::lock_expired(),
        scenario_running(renews_once_before_pricing),
    );
    failed(&report, "a consumer that renews once before pricing");
    assert!(
        report.text.contains("expired after 60 s"),
        "{}",
        report.text
    );
}

#[test]
fn every_check_fails_a_consumer_that_keeps_what_it_invoiced_in_a_static() {
    let source = include_str!("attempts/invoiced_in_a_static.rs");
    for check in [
        rubric::lost_message(),
        rubric::unsettled_message(),
        rubric::lock_expired(),
    ] {
        let report = run(
            check.learner_file("src/consumer.rs", source),
            scenario_running(invoiced_in_a_static::run),
        );
        failed(&report, "a consumer with a static");
        assert!(
            report.text.contains(
                "This state lives outside the service and would be lost in a real crash: keep \
                 it in the store"
            ),
            "{}",
            report.text
        );
        assert!(report.text.contains("static INVOICED"), "{}", report.text);
    }
}

/// Right, and unlike the reference: peek-lock through explicit options,
/// renewals from a `timeout` loop instead of `select!`, and a transient
/// publish error retried a few times before the error is returned.
async fn renews_with_timeouts_and_retries(ctx: ServiceCtx) -> Result<(), ConsumerError> {
    let options = ReceiveOptions::default().with_mode(ReceiveMode::PeekLock);
    loop {
        let Some(mut delivery) = ctx.receive_with(ORDERS, options).await? else {
            continue;
        };
        let order = Order::from_envelope(&delivery)?;
        let id = delivery.message_id().to_string();
        let pricing = order::price(&id, &order);
        tokio::pin!(pricing);
        let invoice = loop {
            match tokio::time::timeout(Duration::from_secs(20), &mut pricing).await {
                Ok(invoice) => break invoice,
                Err(_) => {
                    ctx.renew_lock(&mut delivery).await?;
                }
            }
        };
        let mut attempts = 0;
        while let Err(error) = ctx.send(INVOICES, invoice.to_message()).await {
            attempts += 1;
            if attempts == 3 {
                return Err(error.into());
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
        ctx.complete(&delivery).await?;
    }
}

#[test]
fn every_check_passes_a_right_consumer_written_differently() {
    for check in [
        rubric::lost_message(),
        rubric::unsettled_message(),
        rubric::lock_expired(),
    ] {
        let report = run(check, scenario_running(renews_with_timeouts_and_retries));
        assert!(report.passed, "{}", report.text);
    }
}

/// Right, and unlike the reference: the invoice message is built here, as
/// JSON with an id of its own, and carries no correlation id; the grader
/// must find it by the order it is for.
async fn builds_its_own_invoice_message(ctx: ServiceCtx) -> Result<(), ConsumerError> {
    loop {
        let mut delivery = ctx.receive(ORDERS).await?;
        let order = Order::from_envelope(&delivery)?;
        let invoice = price_renewing(&ctx, &mut delivery, &order, Duration::from_secs(30)).await?;
        let message = broker::Message::json(format!("inv/{}", invoice.order_id), &invoice)
            .map_err(|error| ConsumerError::BadOrder {
                message_id: invoice.order_id.clone(),
                reason: error.to_string(),
            })?;
        ctx.send(INVOICES, message).await?;
        ctx.complete(&delivery).await?;
    }
}

#[test]
fn lost_message_finds_an_invoice_by_its_order_not_by_its_correlation_id() {
    let report = run(
        rubric::lost_message(),
        scenario_running(builds_its_own_invoice_message),
    );
    assert!(report.passed, "{}", report.text);
}

//! The payments runtime. **This is the file you edit** (and the only one).
//!
//! The payments team's own consumer runtime: [`run`] takes payment requests
//! from the queue one at a time, charges the card at the card gateway
//! (retrying a failed charge with backoff), records the payment, acknowledges the request and
//! announces the payment with a [`PaymentCapturedEvent`]. A request that
//! fails goes to the dead-letter queue, for someone to look at. [`relay`] is
//! a second service the team runs beside it; it has nothing to do yet.
//!
//! Run `cargo xtask grade capstone` to see what the graders and eda-lint
//! think of it, and `cargo xtask hint capstone` when you are stuck.
//!
//! Keep both signatures: the scenarios start `run` and `relay`, and restart
//! either after a crash with its memory gone (what the store and the broker
//! hold survives). The runtime never runs twice at once.

use std::time::Duration;

use broker::Message;
use broker::simulation::ServiceCtx;
use broker::store::IsolationLevel;
use chrono::{DateTime, NaiveDateTime, TimeDelta};
use serde::Serialize;

use crate::RuntimeError;
use crate::payments::{self, PAYMENT_EVENTS, PAYMENT_REQUESTS, PAYMENTS, PaymentRequested};

/// What the runtime announces after each payment.
#[derive(Debug, Serialize)]
pub struct PaymentCapturedEvent {
    pub payment_id: String,
    pub amount_cents: u64,
    /// When the card was charged, as the finance team's clocks read it.
    pub captured_at: NaiveDateTime,
}

/// How often the runtime tries a charge before it gives up on the request.
const CHARGE_ATTEMPTS: u32 = 3;
/// The pause before the first retry; it doubles on each one.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// Finance works in Berlin, an hour ahead of UTC in winter.
const FINANCE_OFFSET_HOURS: i64 = 1;

/// The consumer: handles payment requests until the service crashes or an
/// error stops it.
pub async fn run(ctx: ServiceCtx) -> Result<(), RuntimeError> {
    loop {
        let delivery = ctx.receive(PAYMENT_REQUESTS).await?;
        // Telemetry: the request's store operations carry its id in traces.
        let ctx = ctx.concerning(delivery.message_id());
        // ANCHOR: starter-handler
        let request = match PaymentRequested::from_delivery(&delivery) {
            Ok(request) => request,
            Err(error) => {
                ctx.dead_letter(&delivery, error.reason(), &error.to_string())
                    .await?;
                continue;
            }
        };
        if let Err(error) = charge_with_retries(&ctx, &request).await {
            // Whatever went wrong, park the request for a human to look at.
            ctx.dead_letter(&delivery, error.reason(), &error.to_string())
                .await?;
            continue;
        }

        let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
        tx.upsert(PAYMENTS, &request.payment_id, request.payment_row())
            .await?;
        tx.commit().await?;
        // The payment is recorded: the request is done.
        ctx.complete(&delivery).await?;

        let event = PaymentCapturedEvent {
            payment_id: request.payment_id.clone(),
            amount_cents: request.amount_cents,
            captured_at: finance_time(&ctx),
        };
        publish(&ctx, &event).await?;
        // ANCHOR_END: starter-handler
    }
}

/// Charges the card, trying again after a failure, with a growing pause.
async fn charge_with_retries(
    ctx: &ServiceCtx,
    request: &PaymentRequested,
) -> Result<(), RuntimeError> {
    let mut backoff = FIRST_BACKOFF;
    let mut attempt = 1;
    loop {
        match payments::charge(ctx, request, None).await {
            Ok(()) => return Ok(()),
            Err(error) if attempt == CHARGE_ATTEMPTS => return Err(error.into()),
            Err(_) => {
                tokio::time::sleep(backoff).await;
                backoff *= 2;
                attempt += 1;
            }
        }
    }
}

/// Publishes an event on `payment-events`.
async fn publish(ctx: &ServiceCtx, event: &PaymentCapturedEvent) -> Result<(), RuntimeError> {
    let body = serde_json::to_vec(event).map_err(|error| RuntimeError::Malformed {
        key: event.payment_id.clone(),
        reason: error.to_string(),
    })?;
    let message = Message::new(format!("payment-captured-{}", ctx.now()), body)
        .with_correlation_id(event.payment_id.as_str());
    ctx.send(PAYMENT_EVENTS, message).await?;
    Ok(())
}

/// Now, on the finance team's wall clock.
fn finance_time(ctx: &ServiceCtx) -> NaiveDateTime {
    let utc = DateTime::from_timestamp_millis(ctx.now().unix_millis()).unwrap_or_default();
    utc.naive_utc() + TimeDelta::hours(FINANCE_OFFSET_HOURS)
}

/// The relay: a second service of the payments team, started beside the
/// runtime and restarted after every crash. The runtime publishes its own
/// events, so for now the relay has nothing to do and stops at once.
pub async fn relay(ctx: ServiceCtx) -> Result<(), RuntimeError> {
    let _ = ctx;
    Ok(())
}

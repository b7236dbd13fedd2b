//! The payments runtime: the reference solution.
//!
//! Each of the starter's four mistakes, fixed the way its chapter teaches:
//!
//! - **Acknowledge last** (chapter 3): the request is completed only once
//!   everything it owes is durable, so a crash before that is a redelivery,
//!   never a lost payment.
//! - **Make the repeat harmless** (chapter 4): a redelivery, or a retry after
//!   a lost reply, charges again, so every charge carries an idempotency key
//!   derived from the payment, the same on every attempt, and the gateway
//!   drops the repeat.
//! - **One transaction, not two systems** (chapter 5): the event is a row of the `outbox` table,
//!   written in the transaction that records the payment. [`relay`] publishes
//!   the outbox and deletes each row once the broker has it, under the row's
//!   key as message id, so its own repeats are dropped by `payment-events`.
//! - **A kill switch** (chapter 9): a failed charge says nothing against the
//!   request, so it is handed back (`abandon`), not dead-lettered; after a
//!   few failures in a row the runtime stops taking requests for a while,
//!   then tries one, and pauses longer while the gateway stays down.
//!
//! And the event's time is UTC with its offset (chapter 10): a zone-less
//! time names a different instant for every reader.

use std::time::Duration;

use broker::Message;
use broker::simulation::ServiceCtx;
use broker::store::IsolationLevel;
use serde::Serialize;

use crate::RuntimeError;
use crate::payments::{
    self, OUTBOX, PAYMENT_EVENTS, PAYMENT_REQUESTS, PAYMENTS, PaymentRequested, RELAY_POLL_INTERVAL,
};

/// What the runtime announces after each payment.
#[derive(Debug, Serialize)]
pub struct PaymentCapturedEvent {
    /// The event's own id, also its message id: the same on every attempt.
    pub event_id: String,
    pub payment_id: String,
    pub amount_cents: u64,
    /// When the card was charged, in UTC (RFC 3339, with its `Z`).
    pub captured_at: String,
}

/// Failures in a row that trip the kill switch.
const TRIP_AFTER: u32 = 3;
/// The first pause once tripped; it doubles while the gateway stays down.
const FIRST_PAUSE: Duration = Duration::from_secs(30);
/// The longest pause: the runtime is back within this of the gateway.
const LONGEST_PAUSE: Duration = Duration::from_secs(4 * 60);

/// The kill switch: counts the gateway's failures in a row. It lives in the
/// runtime's memory on purpose: after a restart it starts closed, and the
/// first failures trip it again.
struct KillSwitch {
    failures_in_a_row: u32,
    next_pause: Duration,
}

impl KillSwitch {
    fn new() -> KillSwitch {
        KillSwitch {
            failures_in_a_row: 0,
            next_pause: FIRST_PAUSE,
        }
    }

    /// A charge went through: the gateway is well.
    fn succeeded(&mut self) {
        *self = KillSwitch::new();
    }

    /// A charge failed: how long to stop taking requests, if at all.
    fn failed(&mut self) -> Option<Duration> {
        self.failures_in_a_row += 1;
        if self.failures_in_a_row < TRIP_AFTER {
            return None;
        }
        let pause = self.next_pause;
        self.next_pause = (self.next_pause * 2).min(LONGEST_PAUSE);
        Some(pause)
    }
}

/// The consumer: handles payment requests until the service crashes or an
/// error stops it (then the request's lock expires and it comes back).
pub async fn run(ctx: ServiceCtx) -> Result<(), RuntimeError> {
    let mut switch = KillSwitch::new();
    loop {
        let delivery = ctx.receive(PAYMENT_REQUESTS).await?;
        // Telemetry: the request's store operations carry its id in traces.
        let ctx = ctx.concerning(delivery.message_id());
        // ANCHOR: solution-handler
        let request = match PaymentRequested::from_delivery(&delivery) {
            Ok(request) => request,
            Err(error) => {
                // A request that cannot be read never will be: dead-letter it.
                ctx.dead_letter(&delivery, error.reason(), &error.to_string())
                    .await?;
                continue;
            }
        };
        let key = format!("charge-{}", request.payment_id);
        if let Err(error) = payments::charge(&ctx, &request, Some(&key)).await {
            // The gateway's trouble, not the request's: hand it back.
            ctx.abandon(&delivery).await?;
            if let Some(pause) = switch.failed() {
                ctx.pause(pause, &format!("the card gateway keeps failing: {error}"))
                    .await;
            }
            continue;
        }
        switch.succeeded();
        record(&ctx, &request).await?;
        ctx.complete(&delivery).await?;
        // ANCHOR_END: solution-handler
    }
}

/// Records the payment and its event in one transaction: both or neither.
// ANCHOR: record
async fn record(ctx: &ServiceCtx, request: &PaymentRequested) -> Result<(), RuntimeError> {
    let event = PaymentCapturedEvent {
        event_id: format!("payment-captured-{}", request.payment_id),
        payment_id: request.payment_id.clone(),
        amount_cents: request.amount_cents,
        captured_at: ctx.now().to_string(),
    };
    let row = serde_json::to_value(&event).map_err(|error| RuntimeError::Malformed {
        key: event.event_id.clone(),
        reason: error.to_string(),
    })?;
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    tx.upsert(PAYMENTS, &request.payment_id, request.payment_row())
        .await?;
    tx.upsert(OUTBOX, &event.event_id, row).await?;
    tx.commit().await?;
    Ok(())
}
// ANCHOR_END: record

/// The relay: publishes the outbox every [`RELAY_POLL_INTERVAL`], forever.
/// An error ends this life of the service; the runtime restarts it, and it
/// starts again from what the outbox still holds.
// ANCHOR: relay
pub async fn relay(ctx: ServiceCtx) -> Result<(), RuntimeError> {
    loop {
        publish_outbox(&ctx).await?;
        tokio::time::sleep(RELAY_POLL_INTERVAL).await;
    }
}

/// Publishes every event in the outbox, then deletes its row: a crash in
/// between publishes it again, under the same id, which `payment-events`
/// drops.
async fn publish_outbox(ctx: &ServiceCtx) -> Result<(), RuntimeError> {
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    for (event_id, row) in tx.scan(OUTBOX).await? {
        let message = Message::new(event_id.clone(), row.value.to_string())
            .with_content_type("application/json");
        ctx.send(PAYMENT_EVENTS, message).await?;
        tx.delete(OUTBOX, &event_id).await?;
    }
    tx.commit().await?;
    Ok(())
}
// ANCHOR_END: relay

//! A wrong fix for the grader's own tests (`tests/grader_teeth.rs`): a
//! runtime that remembers the payments it has charged in a `static` set, so
//! that a redelivery skips the charge. The simulated crash cannot wipe a
//! static (it is not in the service's future), so the memory seems to
//! survive; a real crash ends the process and takes the set along, and two
//! replicas of the runtime would not share it anyway. The checks must say
//! so, plainly, from this file's text.

use std::collections::BTreeSet;
use std::sync::Mutex;

use broker::simulation::ServiceCtx;
use broker::store::IsolationLevel;
use capstone::RuntimeError;
use capstone::payments::{self, PAYMENT_REQUESTS, PAYMENTS, PaymentRequested};

/// The payments charged so far, by id.
static CHARGED: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// Charges each payment once, as far as this process remembers.
pub async fn run(ctx: ServiceCtx) -> Result<(), RuntimeError> {
    loop {
        let delivery = ctx.receive(PAYMENT_REQUESTS).await?;
        let request = PaymentRequested::from_delivery(&delivery)?;
        let seen = CHARGED
            .lock()
            .map(|charged| charged.contains(&request.payment_id))
            .unwrap_or(false);
        if !seen {
            if payments::charge(&ctx, &request, None).await.is_err() {
                ctx.abandon(&delivery).await?;
                continue;
            }
            if let Ok(mut charged) = CHARGED.lock() {
                charged.insert(request.payment_id.clone());
            }
        }
        let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
        tx.upsert(PAYMENTS, &request.payment_id, request.payment_row())
            .await?;
        tx.commit().await?;
        ctx.complete(&delivery).await?;
    }
}

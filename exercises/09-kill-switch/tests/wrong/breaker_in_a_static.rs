//! A wrong fix for the grader's own tests (`tests/grader_teeth.rs`): a
//! consecutive-failure breaker kept in a `static`, "so that it survives a
//! restart". It does survive the grader's simulated crash, because the
//! grader runs the consumer in its one process; a real restart is a new
//! process with a fresh static, and several replicas would each keep their
//! own. Every check must say so, plainly, from this file's text.

use std::sync::Mutex;
use std::time::Duration;

use broker::BrokerError;
use broker::simulation::ServiceCtx;
use kill_switch::ShipError;
use kill_switch::shipping::{self, SHIPMENT_REQUESTS};

/// Failures in a row, "shared by every consumer".
static FAILURES_IN_A_ROW: Mutex<u32> = Mutex::new(0);

/// Pauses five minutes after five failures in a row, counted in the static.
pub async fn consume(ctx: ServiceCtx) -> Result<(), BrokerError> {
    loop {
        let delivery = ctx.receive(SHIPMENT_REQUESTS).await?;
        let failed = match shipping::ship(&ctx, &delivery).await {
            Ok(()) => {
                ctx.complete(&delivery).await?;
                false
            }
            Err(error @ ShipError::Malformed { .. }) => {
                ctx.dead_letter(&delivery, error.reason(), &error.to_string())
                    .await?;
                continue;
            }
            Err(ShipError::Carrier(_)) => {
                ctx.abandon(&delivery).await?;
                true
            }
        };
        let pause = {
            let mut count = FAILURES_IN_A_ROW
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            *count = if failed { *count + 1 } else { 0 };
            *count >= 5
        };
        if pause {
            tokio::time::sleep(Duration::from_secs(5 * 60)).await;
        }
    }
}

//! A wrong fix for the grader's own tests (`tests/grader_teeth.rs`): the
//! right refusals, plus a process-wide set of the event ids already
//! refused, "so a redelivery is not dead-lettered twice". In the grader's
//! one process the set survives a crash of the service; in production a
//! crash takes it with the process. `silent-rejection` must say so, from
//! this file's text.

use std::collections::BTreeSet;
use std::sync::Mutex;

use broker::Delivery;
use broker::simulation::ServiceCtx;
use event_contracts::IntakeError;
use event_contracts::shipping::{self, Shipment};
use serde_json::Value;

/// The ids refused so far, "across the service".
static REFUSED: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// Refuses an event without a usable body, once per message id.
pub async fn handle(ctx: &ServiceCtx, delivery: &Delivery) -> Result<(), IntakeError> {
    let event: Value = serde_json::from_slice(delivery.body()).unwrap_or(Value::Null);
    let first_time = REFUSED
        .lock()
        .map(|mut refused| refused.insert(delivery.message_id().to_owned()))
        .unwrap_or(true);
    let shipment = Shipment {
        event_id: event["event_id"].as_str().unwrap_or_default().to_owned(),
        order_id: event["order_id"].as_str().unwrap_or_default().to_owned(),
        total_cents: event["total_cents"].as_u64().unwrap_or_default(),
        placed_at: chrono::DateTime::default(),
        shipping_address: event["shipping_address"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        delivery_note: None,
    };
    if shipment.event_id.is_empty() && first_time {
        ctx.dead_letter(delivery, "ContractViolation", "`event_id` is missing")
            .await?;
        return Ok(());
    }
    shipping::record(ctx, &shipment).await?;
    ctx.complete(delivery).await?;
    Ok(())
}

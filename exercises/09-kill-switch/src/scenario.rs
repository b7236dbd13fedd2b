//! The night of the exercise, as one scenario. Do not edit.
//!
//! - The order service sends a `ShipmentRequested` to `shipment-requests`
//!   every [`ARRIVAL_EVERY`] (20 s), from the start until [`LAST_ARRIVAL`]
//!   (7 h 30): 1,350 orders.
//! - Three of the messages are not shipment requests at all: a producer's
//!   bug cut their bodies short (see [`malformed`]). One arrives before the
//!   outage, one during it, one after it.
//! - The carrier's API answers every call in 200 ms, except from
//!   [`OUTAGE_STARTS`] (1 h) for [`OUTAGE_LASTS`] (6 h): then every call
//!   fails with `DownstreamError::Unavailable`.
//! - One consumer, `shipping`, runs your [`crate::consumer::consume`] on the
//!   queue (peek-lock; a message abandoned or let expire 10 times goes to
//!   the dead-letter queue as `MaxDeliveryCountExceeded`). If it crashes or
//!   returns an error, it is restarted one second later, with its memory
//!   gone.
//!
//! The run lasts [`RUN_FOR`] (8 h) of virtual time: the last half hour of
//! orders, and the night's backlog, are judged at the end.

use std::time::Duration;

use broker::clock::EPOCH_UTC;
use broker::simulation::{DownstreamOptions, Scenario, ServiceCtx, ServiceResult};
use broker::{BrokerError, Message, QueueOptions};

use crate::shipping::{CARRIER_API, SHIPMENT_REQUESTS, ShipmentRequested};

/// The consumer's name in traces.
pub const CONSUMER: &str = "shipping";
/// How often an order arrives.
pub const ARRIVAL_EVERY: Duration = Duration::from_secs(20);
/// When the last order arrives, from the start of the run.
pub const LAST_ARRIVAL: Duration = Duration::from_secs(7 * 3600 + 30 * 60);
/// When the carrier's API goes down, from the start of the run.
pub const OUTAGE_STARTS: Duration = Duration::from_secs(3600);
/// How long it stays down: six hours.
pub const OUTAGE_LASTS: Duration = Duration::from_secs(6 * 3600);
/// How long each call to the carrier's API takes.
pub const CARRIER_LATENCY: Duration = Duration::from_millis(200);
/// How long the night lasts.
pub const RUN_FOR: Duration = Duration::from_secs(8 * 3600);

/// When the carrier's API is back.
pub fn outage_ends() -> Duration {
    OUTAGE_STARTS + OUTAGE_LASTS
}

/// The orders of the night, in the order they arrive, with when each
/// arrives (since the start of the run).
pub fn orders() -> Vec<(Duration, ShipmentRequested)> {
    let count = LAST_ARRIVAL.as_secs() / ARRIVAL_EVERY.as_secs();
    (1..=count)
        .map(|n| {
            let at = ARRIVAL_EVERY * u32::try_from(n).unwrap_or(u32::MAX);
            let request = ShipmentRequested {
                order_id: format!("order-{n:04}"),
                postcode: format!("EC{} {}AB", 1 + n % 4, n % 10),
            };
            (at, request)
        })
        .collect()
}

/// The messages that are not shipment requests, with when each arrives:
/// `(at, message id, body)`. A producer's bug cut their bodies short.
pub fn malformed() -> Vec<(Duration, &'static str, &'static str)> {
    vec![
        (
            Duration::from_secs(30 * 60 + 10),
            "truncated-1",
            r#"{"order_id": "order-0091", "postc"#,
        ),
        (
            Duration::from_secs(3 * 3600 + 10),
            "truncated-2",
            r#"{"order_id": "order-0541", "#,
        ),
        (
            Duration::from_secs(7 * 3600 + 10 * 60 + 10),
            "truncated-3",
            r#"{"order_id"#,
        ),
    ]
}

/// The scenario the checks explore: your `consume` on the night.
pub fn scenario() -> Scenario {
    scenario_running(crate::consumer::consume)
}

/// The same night with another consumer in it, so the grader's own tests
/// can prove each check catches the mistake it is named after.
pub fn scenario_running<F, Fut, R>(consume: F) -> Scenario
where
    F: Fn(ServiceCtx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = R> + 'static,
    R: ServiceResult + 'static,
{
    night(
        DownstreamOptions::default()
            .with_latency(CARRIER_LATENCY)
            .with_outage(OUTAGE_STARTS, OUTAGE_LASTS),
    )
    .service(CONSUMER, consume)
}

/// The same night without the outage: the happy path. A consumer that works
/// at all books every order on it.
pub fn calm_night_running<F, Fut, R>(consume: F) -> Scenario
where
    F: Fn(ServiceCtx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = R> + 'static,
    R: ServiceResult + 'static,
{
    night(DownstreamOptions::default().with_latency(CARRIER_LATENCY)).service(CONSUMER, consume)
}

fn night(carrier: DownstreamOptions) -> Scenario {
    Scenario::new("kill-switch")
        .queue(SHIPMENT_REQUESTS, QueueOptions::default())
        .downstream(CARRIER_API, carrier)
        .setup(send_the_nights_orders)
        .run_for(RUN_FOR)
        // A consumer that pauses with a plain `tokio::time::sleep` makes no
        // operation for minutes, which the runtime cannot tell from a
        // deadlock (`ctx.pause` tells it). Both are allowed here: whether
        // the consumer ever comes back is what `no-resume` judges, with a
        // sentence about the queue rather than a "stuck" verdict.
        .stuck_after(RUN_FOR)
}

/// Schedules every message of the night at its arrival time (the order
/// service's sends, without faults: the night's trouble is downstream).
async fn send_the_nights_orders(ctx: ServiceCtx) -> Result<(), BrokerError> {
    for (at, request) in orders() {
        ctx.schedule(SHIPMENT_REQUESTS, request.to_message(), EPOCH_UTC + at)
            .await?;
    }
    for (at, id, body) in malformed() {
        let message = Message::new(id, body).with_content_type("application/json");
        ctx.schedule(SHIPMENT_REQUESTS, message, EPOCH_UTC + at)
            .await?;
    }
    Ok(())
}

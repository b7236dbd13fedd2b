//! The two days of the exercise, as scenarios. Do not edit.
//!
//! **The morning** ([`morning`]): three payment requests wait on
//! `payment-requests`; the runtime and the relay start. Nothing goes wrong
//! by itself: the checks crash the runtime at every operation, lose its
//! replies and refuse its calls, one fault at a time and in seeded random
//! plans. It lasts [`MORNING_LASTS`] (five minutes) of virtual time.
//!
//! **The afternoon** ([`afternoon`]): a payment request arrives every
//! [`ARRIVAL_EVERY`] (20 s) for [`LAST_ARRIVAL`] (40 minutes): 120
//! payments. The card gateway answers every charge in 200 ms, except from
//! [`OUTAGE_STARTS`] (10 minutes in) for [`OUTAGE_LASTS`] (20 minutes):
//! then every charge fails with `GatewayError::Unavailable`. It lasts
//! [`AFTERNOON_LASTS`] (an hour).
//!
//! In both, `payment-requests` is a peek-lock queue (lock 60 s; a request
//! abandoned or let expire 10 times goes to its dead-letter queue as
//! `MaxDeliveryCountExceeded`), `payment-events` drops a repeated message id
//! within ten minutes, and a service that crashes or returns an error is
//! restarted one second later, with its memory gone.

use std::time::Duration;

use broker::clock::EPOCH_UTC;
use broker::simulation::{DownstreamOptions, Scenario, ServiceCtx, ServiceResult};
use broker::{BrokerError, QueueOptions};

use crate::payments::{CARD_GATEWAY, PAYMENT_EVENTS, PAYMENT_REQUESTS, PaymentRequested};

/// The runtime's name in traces.
pub const RUNTIME: &str = "payments";
/// The relay's name in traces.
pub const RELAY: &str = "relay";
/// How long each charge takes at the card gateway.
pub const GATEWAY_LATENCY: Duration = Duration::from_millis(200);
/// How long the morning lasts.
pub const MORNING_LASTS: Duration = Duration::from_secs(5 * 60);
/// How often a payment request arrives in the afternoon.
pub const ARRIVAL_EVERY: Duration = Duration::from_secs(20);
/// When the afternoon's last request arrives, from its start.
pub const LAST_ARRIVAL: Duration = Duration::from_secs(40 * 60);
/// When the card gateway goes down, from the start of the afternoon.
pub const OUTAGE_STARTS: Duration = Duration::from_secs(10 * 60);
/// How long it stays down.
pub const OUTAGE_LASTS: Duration = Duration::from_secs(20 * 60);
/// How long the afternoon lasts.
pub const AFTERNOON_LASTS: Duration = Duration::from_secs(60 * 60);

/// When the card gateway is back in the afternoon.
pub fn outage_ends() -> Duration {
    OUTAGE_STARTS + OUTAGE_LASTS
}

/// The morning's payment requests, waiting on the queue from the start.
pub fn morning_payments() -> Vec<PaymentRequested> {
    [("pay-0001", 1250), ("pay-0002", 4999), ("pay-0003", 180)]
        .into_iter()
        .map(|(payment_id, amount_cents)| PaymentRequested {
            payment_id: payment_id.to_owned(),
            card: format!("card-token-{}", &payment_id[4..]),
            amount_cents,
        })
        .collect()
}

/// The afternoon's payment requests, each with when it arrives.
pub fn afternoon_payments() -> Vec<(Duration, PaymentRequested)> {
    let count = LAST_ARRIVAL.as_secs() / ARRIVAL_EVERY.as_secs();
    (1..=count)
        .map(|n| {
            let at = ARRIVAL_EVERY * u32::try_from(n).unwrap_or(u32::MAX);
            let request = PaymentRequested {
                payment_id: format!("pay-1{n:03}"),
                card: format!("card-token-1{n:03}"),
                amount_cents: 500 + n * 7,
            };
            (at, request)
        })
        .collect()
}

/// The morning with your runtime and relay: what the crash checks explore.
pub fn morning() -> Scenario {
    morning_running(crate::runtime::run, crate::runtime::relay)
}

/// The afternoon with your runtime and relay: what the outage checks play.
pub fn afternoon() -> Scenario {
    afternoon_running(crate::runtime::run, crate::runtime::relay)
}

/// The morning with another runtime and relay, so the grader's own tests can
/// prove each check catches the mistake it is named after.
pub fn morning_running<F, FutF, RF, G, FutG, RG>(run: F, relay: G) -> Scenario
where
    F: Fn(ServiceCtx) -> FutF + Send + Sync + 'static,
    FutF: Future<Output = RF> + 'static,
    RF: ServiceResult + 'static,
    G: Fn(ServiceCtx) -> FutG + Send + Sync + 'static,
    FutG: Future<Output = RG> + 'static,
    RG: ServiceResult + 'static,
{
    queues(Scenario::new("capstone-morning"))
        .messages(
            PAYMENT_REQUESTS,
            morning_payments().iter().map(PaymentRequested::to_message),
        )
        .downstream(
            CARD_GATEWAY,
            DownstreamOptions::default().with_latency(GATEWAY_LATENCY),
        )
        .service(RUNTIME, run)
        .service(RELAY, relay)
        .run_for(MORNING_LASTS)
}

/// The afternoon with another runtime and relay.
pub fn afternoon_running<F, FutF, RF, G, FutG, RG>(run: F, relay: G) -> Scenario
where
    F: Fn(ServiceCtx) -> FutF + Send + Sync + 'static,
    FutF: Future<Output = RF> + 'static,
    RF: ServiceResult + 'static,
    G: Fn(ServiceCtx) -> FutG + Send + Sync + 'static,
    FutG: Future<Output = RG> + 'static,
    RG: ServiceResult + 'static,
{
    queues(Scenario::new("capstone-afternoon"))
        .downstream(
            CARD_GATEWAY,
            DownstreamOptions::default()
                .with_latency(GATEWAY_LATENCY)
                .with_outage(OUTAGE_STARTS, OUTAGE_LASTS),
        )
        .setup(send_the_afternoons_requests)
        .service(RUNTIME, run)
        .service(RELAY, relay)
        .run_for(AFTERNOON_LASTS)
        // A runtime that pauses with a plain `tokio::time::sleep` makes no
        // operation for minutes, which the runtime cannot tell from a
        // deadlock (`ctx.pause` tells it). Both are allowed: whether it ever
        // comes back is what `no-resume` judges, in a sentence about the
        // queue rather than a "stuck" verdict.
        .stuck_after(AFTERNOON_LASTS)
}

/// The two queues of both days.
fn queues(scenario: Scenario) -> Scenario {
    scenario
        .queue(PAYMENT_REQUESTS, QueueOptions::default())
        .queue(
            PAYMENT_EVENTS,
            QueueOptions::default().with_duplicate_detection_window(Duration::from_secs(10 * 60)),
        )
}

/// Schedules every request of the afternoon at its arrival time (the
/// checkout's sends, without faults: the afternoon's trouble is downstream).
async fn send_the_afternoons_requests(ctx: ServiceCtx) -> Result<(), BrokerError> {
    for (at, request) in afternoon_payments() {
        ctx.schedule(PAYMENT_REQUESTS, request.to_message(), EPOCH_UTC + at)
            .await?;
    }
    Ok(())
}

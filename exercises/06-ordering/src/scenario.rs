//! The world of the exercise, as scenarios. Do not edit.
//!
//! - The **catalog** publishes the ten events of [`crate::catalog::history`]
//!   over 45 seconds (scheduled before the run starts: the catalog is not
//!   what the graders crash).
//! - The **projection** runs as two competing consumers, `storefront-1` and
//!   `storefront-2`, each on the consumer host below: receive an event under
//!   peek-lock, call [`crate::projection::apply`], complete it when that
//!   returns `Ok`; on an error, wait a moment (longer on each delivery) and
//!   abandon it, so that the broker delivers it again. After ten deliveries
//!   the broker moves it to the dead-letter queue, as Service Bus does.
//! - **Ops** replays the dead-letter queue when its job starts and then every
//!   hour, as the team's runbook says: it receives each dead letter, sends a
//!   copy back to `product-events` and completes the dead letter (what
//!   Service Bus Explorer's "resubmit" does). A replayed event arrives after
//!   everything published since it first failed.
//!
//! Two deployments of the same projection:
//!
//! - [`Deployment::CompetingConsumers`]: a plain queue. Any free consumer
//!   takes the oldest available event, whatever its product.
//! - [`Deployment::Sessions`]: a queue that requires sessions, one per
//!   product: the broker hands out the events of one product in order, one
//!   at a time (FIFO per key), whichever consumer asks.
//!
//! The run lasts two hours and five minutes of virtual time: long enough for
//! two hourly replays, and for every event to be applied and settled.

use std::time::Duration;

use broker::clock::EPOCH_UTC;
use broker::simulation::{Scenario, ServiceCtx};
use broker::{BrokerError, Delivery, QueueOptions, ReceiveOptions, dead_letter_path};

use crate::ProjectionError;
use crate::catalog::{PRODUCT_EVENTS, history};

/// The projection's replicas are named `storefront-1` and `storefront-2`.
pub const STOREFRONT: &str = "storefront";
/// How many replicas of the projection compete for the events.
pub const REPLICAS: usize = 2;
/// The service that replays the dead-letter queue.
pub const OPS: &str = "ops";
/// How often ops replays the dead-letter queue.
pub const REPLAY_EVERY: Duration = Duration::from_secs(60 * 60);
/// How long a run lasts.
pub const RUN_FOR: Duration = Duration::from_secs(2 * 60 * 60 + 5 * 60);

/// How the queue hands the events out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deployment {
    /// A plain queue, two competing consumers.
    CompetingConsumers,
    /// A queue with one session per product (FIFO per product), two
    /// competing consumers.
    Sessions,
}

impl Deployment {
    fn queue_options(self) -> QueueOptions {
        match self {
            Deployment::CompetingConsumers => QueueOptions::default(),
            Deployment::Sessions => QueueOptions::default().with_sessions(),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Deployment::CompetingConsumers => "ordering",
            Deployment::Sessions => "ordering-sessions",
        }
    }
}

/// The scenario the checks explore, with your projection.
pub fn scenario(deployment: Deployment) -> Scenario {
    scenario_running(deployment, crate::projection::apply)
}

/// The same world with another projection in it, so the grader's own tests
/// can prove each check catches the mistake it is named after.
pub fn scenario_running<A>(deployment: Deployment, apply: A) -> Scenario
where
    A: AsyncFn(&ServiceCtx, &Delivery) -> Result<(), ProjectionError>
        + Clone
        + Send
        + Sync
        + 'static,
{
    Scenario::new(deployment.name())
        .queue(PRODUCT_EVENTS, deployment.queue_options())
        .setup(publish_the_catalog)
        .replicas(STOREFRONT, REPLICAS, move |ctx| host(ctx, apply.clone()))
        .service(OPS, replay_dead_letters)
        .run_for(RUN_FOR)
}

/// Schedules every event of the catalog's history at its time (no faults
/// here: the catalog is not under test).
async fn publish_the_catalog(ctx: ServiceCtx) -> Result<(), BrokerError> {
    for published in history() {
        ctx.schedule(
            PRODUCT_EVENTS,
            published.event.to_message(),
            EPOCH_UTC + published.at,
        )
        .await?;
    }
    Ok(())
}

/// The consumer host every replica runs: the team's small framework, in the
/// style of a Service Bus processor. It completes an event when `apply`
/// returns `Ok`, and abandons it after a short back-off when `apply` fails,
/// so the broker delivers it again. A broker error ends this life of the
/// service, and the runtime restarts it.
async fn host<A>(ctx: ServiceCtx, apply: A) -> Result<(), BrokerError>
where
    A: AsyncFn(&ServiceCtx, &Delivery) -> Result<(), ProjectionError>,
{
    loop {
        let delivery = ctx.receive(PRODUCT_EVENTS).await?;
        // The event's store operations carry its product (the message's
        // correlation id) in the trace, so a report's timeline of `teapot`
        // shows every event of the product and what was written for each.
        let product = delivery.correlation_id().unwrap_or(delivery.message_id());
        let handling = ctx.concerning(product);
        match apply(&handling, &delivery).await {
            Ok(()) => ctx.complete(&delivery).await?,
            Err(_) => {
                tokio::time::sleep(retry_backoff(delivery.delivery_count)).await;
                ctx.abandon(&delivery).await?;
            }
        }
    }
}

/// How long the host waits before giving a failed event back: one second
/// more on each delivery, at most five.
pub fn retry_backoff(delivery_count: u32) -> Duration {
    Duration::from_secs(u64::from(delivery_count.clamp(1, 5)))
}

/// Ops' replay job: drains the dead-letter queue back into `product-events`
/// when it starts and then every [`REPLAY_EVERY`]; a failed replay is tried
/// again a minute later.
async fn replay_dead_letters(ctx: ServiceCtx) -> Result<(), BrokerError> {
    loop {
        while replay_once(&ctx).await.is_err() {
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
        let since_start = ctx.now() - EPOCH_UTC;
        let hours = since_start.as_secs() / REPLAY_EVERY.as_secs() + 1;
        let next = REPLAY_EVERY * u32::try_from(hours).unwrap_or(u32::MAX);
        tokio::time::sleep(next.saturating_sub(since_start)).await;
    }
}

/// Moves every dead letter back, one at a time: a copy sent to the queue,
/// then the dead letter completed.
async fn replay_once(ctx: &ServiceCtx) -> Result<(), BrokerError> {
    let dead_letters = dead_letter_path(PRODUCT_EVENTS);
    while let Some(dead) = ctx
        .receive_with(&dead_letters, ReceiveOptions::wait_at_most(Duration::ZERO))
        .await?
    {
        ctx.send(PRODUCT_EVENTS, dead.to_message()).await?;
        ctx.complete(&dead).await?;
    }
    Ok(())
}

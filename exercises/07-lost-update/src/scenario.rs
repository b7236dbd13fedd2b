//! The world of the exercise, as one scenario. Do not edit.
//!
//! - The **store** starts with 3 teapots in stock.
//! - Two requests wait on `reservation-requests`: Ada's order-1 wants 2
//!   teapots, Grace's order-2 wants 2. Only one of them can be reserved.
//! - Two **workers**, `warehouse-1` and `warehouse-2`, compete for the
//!   queue (peek-lock, the default), which is created with the options
//!   [`crate::stock::reservation_queue`] returns. Each receives a request, calls
//!   [`crate::stock::reserve`], and completes the request when `reserve`
//!   returns `Ok` (reserved or refused), or abandons it on an error, so the
//!   broker delivers it again (to either worker; after ten deliveries it
//!   goes to the dead-letter queue).
//!
//! A request can be delivered twice: a worker that crashes after its commit
//! and before its complete never completes it, and the broker gives it to
//! someone else once the lock expires.
//!
//! The run lasts 10 minutes of virtual time.

use std::time::Duration;

use broker::simulation::{Scenario, ServiceCtx};
use broker::store::IsolationLevel;
use broker::{BrokerError, QueueOptions};

use crate::StockError;
use crate::warehouse::{Outcome, RESERVATION_REQUESTS, Reservation, STOCK, stock_row};

/// The workers' names in traces.
pub const WORKERS: [&str; 2] = ["warehouse-1", "warehouse-2"];
/// The product both orders want.
pub const SKU: &str = "teapot";
/// How many teapots the shop has when it opens.
pub const OPENING_STOCK: i64 = 3;

/// The requests waiting when the workers start, in the order they arrive.
pub fn requests() -> Vec<Reservation> {
    [("order-1", "ada", 2), ("order-2", "grace", 2)]
        .into_iter()
        .map(|(order_id, customer, quantity)| Reservation {
            order_id: order_id.to_owned(),
            customer: customer.to_owned(),
            sku: SKU.to_owned(),
            quantity,
        })
        .collect()
}

/// The scenario the checks explore: your `reserve`, in both workers, on
/// your definition of the queue.
pub fn scenario() -> Scenario {
    scenario_on(crate::stock::reservation_queue(), crate::stock::reserve)
}

/// The same world with another `reserve` in it, on a queue with the
/// default options, so the grader's own tests can prove each check catches
/// the mistake it is named after.
pub fn scenario_running<R>(reserve: R) -> Scenario
where
    R: AsyncFn(&ServiceCtx, &Reservation) -> Result<Outcome, StockError>
        + Clone
        + Send
        + Sync
        + 'static,
{
    scenario_on(QueueOptions::default(), reserve)
}

/// The world with `reserve` in both workers and the request queue created
/// with `queue`.
pub fn scenario_on<R>(queue: QueueOptions, reserve: R) -> Scenario
where
    R: AsyncFn(&ServiceCtx, &Reservation) -> Result<Outcome, StockError>
        + Clone
        + Send
        + Sync
        + 'static,
{
    let mut scenario = Scenario::new("lost-update")
        .queue(RESERVATION_REQUESTS, queue)
        .messages(
            RESERVATION_REQUESTS,
            requests().iter().map(Reservation::to_message),
        )
        .setup(open_the_warehouse);
    for worker in WORKERS {
        let reserve = reserve.clone();
        scenario = scenario.service(worker, move |ctx| serve(ctx, reserve.clone()));
    }
    // A worker that retries without waiting makes thousands of statements
    // in no time; stop such a run early, it has shown what it does.
    scenario
        .run_for(Duration::from_secs(10 * 60))
        .max_operations(5_000)
}

/// Fills the stock table before the workers start (no faults here).
async fn open_the_warehouse(ctx: ServiceCtx) -> Result<(), StockError> {
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    tx.insert(STOCK, SKU, stock_row(OPENING_STOCK)).await?;
    tx.commit().await?;
    Ok(())
}

/// One worker: receive a request, reserve, settle.
async fn serve<R>(ctx: ServiceCtx, reserve: R) -> Result<(), BrokerError>
where
    R: AsyncFn(&ServiceCtx, &Reservation) -> Result<Outcome, StockError>,
{
    loop {
        let delivery = ctx.receive(RESERVATION_REQUESTS).await?;
        let Ok(request) = Reservation::from_envelope(&delivery) else {
            ctx.dead_letter(&delivery, "Unreadable", "not a reservation request")
                .await?;
            continue;
        };
        // The request's store statements carry its id in the trace.
        let handling = ctx.concerning(&request.order_id);
        match reserve(&handling, &request).await {
            Ok(_) => ctx.complete(&delivery).await?,
            Err(_) => ctx.abandon(&delivery).await?,
        }
    }
}

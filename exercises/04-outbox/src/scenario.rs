//! The world of the exercise, as one scenario. Do not edit.
//!
//! - The **checkout server** (service `order-service`) takes the
//!   storefront's requests from the `checkout` queue and calls
//!   [`crate::orders::place_order`] for each.
//! - The **relay** (service `relay`) runs [`crate::orders::relay`].
//! - The **store** starts with 3 teapots and 10 cups in stock.
//! - Three customers check out: Ada wants 2 teapots, Grace 6 cups, Linus
//!   2 teapots. Without faults, Ada's and Grace's orders are placed and
//!   Linus's is refused: one teapot is left.
//!
//! **Requests arrive once.** A checkout request is an HTTP request in real
//! life: the storefront sends it once, and if the service crashes while
//! handling it, the connection drops and the customer sees an error page.
//! Nothing redelivers it. The queue here models exactly that: the server
//! receives in receive-and-delete mode, so a request is handed over once
//! (this is the world, not the mistake of this exercise). Whatever must
//! survive a crash after the order is committed, the service has to keep in
//! the database.
//!
//! The run lasts 10 minutes of virtual time: long enough for the relay to
//! get every event out after the worst outage a random fault plan causes.

use std::time::Duration;

use broker::simulation::{Scenario, ServiceCtx, ServiceResult};
use broker::store::IsolationLevel;
use broker::{BrokerError, QueueOptions, ReceiveOptions};
use serde_json::json;

use crate::OrderError;
use crate::shop::{CHECKOUT, DUPLICATE_DETECTION_WINDOW, ORDER_EVENTS, OrderRequest, STOCK};

/// The checkout server's name in traces.
pub const ORDER_SERVICE: &str = "order-service";
/// The relay's name in traces.
pub const RELAY: &str = "relay";

/// The requests waiting when the services start, in the order they arrive.
pub fn requests() -> Vec<OrderRequest> {
    [
        ("order-1", "ada", "teapot", 2),
        ("order-2", "grace", "cup", 6),
        ("order-3", "linus", "teapot", 2),
    ]
    .into_iter()
    .map(|(order_id, customer, sku, quantity)| OrderRequest {
        order_id: order_id.to_owned(),
        customer: customer.to_owned(),
        sku: sku.to_owned(),
        quantity,
    })
    .collect()
}

/// The stock when the shop opens: `(product, available)`.
pub fn opening_stock() -> Vec<(&'static str, u32)> {
    vec![("teapot", 3), ("cup", 10)]
}

/// The orders a run without faults must place: every request the stock
/// allows, in arrival order (`order-1` and `order-2`; `order-3` finds one
/// teapot left).
pub fn orders_the_stock_allows() -> Vec<String> {
    let mut stock = opening_stock();
    let mut placed = Vec::new();
    for request in requests() {
        if let Some((_, available)) = stock.iter_mut().find(|(sku, _)| *sku == request.sku)
            && *available >= request.quantity
        {
            *available -= request.quantity;
            placed.push(request.order_id);
        }
    }
    placed
}

/// The scenario the checks explore: your `place_order` and `relay`.
pub fn scenario() -> Scenario {
    scenario_running(crate::orders::place_order, crate::orders::relay)
}

/// The same world with another order service in it, so the grader's own
/// tests can prove each check catches the mistake it is named after.
pub fn scenario_running<P, R, Fut, Out>(place_order: P, relay: R) -> Scenario
where
    P: AsyncFn(&ServiceCtx, &OrderRequest) -> Result<(), OrderError>
        + Clone
        + Send
        + Sync
        + 'static,
    R: Fn(ServiceCtx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Out> + 'static,
    Out: ServiceResult + 'static,
{
    Scenario::new("outbox")
        .queue(CHECKOUT, QueueOptions::default())
        .queue(
            ORDER_EVENTS,
            QueueOptions::default().with_duplicate_detection_window(DUPLICATE_DETECTION_WINDOW),
        )
        .messages(CHECKOUT, requests().iter().map(OrderRequest::to_message))
        .setup(open_the_shop)
        .service(ORDER_SERVICE, move |ctx| {
            serve_checkout(ctx, place_order.clone())
        })
        .service(RELAY, relay)
        .run_for(Duration::from_secs(10 * 60))
}

/// Fills the stock table before the services start (no faults here).
async fn open_the_shop(ctx: ServiceCtx) -> Result<(), OrderError> {
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    for (sku, available) in opening_stock() {
        tx.insert(STOCK, sku, json!({ "available": available }))
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The checkout server: one request at a time, each handed over once (see
/// the module's docs). A failed request is answered with an error page and
/// the server goes on; only a broker failure to receive stops it (and the
/// runtime restarts it, as a process supervisor would).
async fn serve_checkout<P>(ctx: ServiceCtx, place_order: P) -> Result<(), BrokerError>
where
    P: AsyncFn(&ServiceCtx, &OrderRequest) -> Result<(), OrderError>,
{
    loop {
        let Some(delivery) = ctx
            .receive_with(CHECKOUT, ReceiveOptions::receive_and_delete())
            .await?
        else {
            continue;
        };
        // A request that cannot be read gets a "400 Bad Request".
        let Ok(request) = OrderRequest::from_envelope(&delivery) else {
            continue;
        };
        // The request's store operations carry its id in the trace, so a
        // report's timeline of `order-1` shows its transaction.
        let handling = ctx.concerning(&request.order_id);
        // Ok: "thank you for your order"; an error: an error page. Either
        // way the customer has their answer and the server moves on.
        let _answer = place_order(&handling, &request).await;
    }
}

//! The world of the exercise, as one scenario. Do not edit.
//!
//! - The **checkout server** (service `order-service`) takes the
//!   storefront's requests from the `checkout` queue. It places an order
//!   (the order row, `status: placed`, and its stock, in one transaction) or
//!   cancels one (`status: cancelled`, its stock returned, in one
//!   transaction), and publishes nothing: the order service has moved to
//!   change data capture.
//! - The **tailer** (service `tailer`) runs [`crate::tailer::tail`].
//! - The **store** starts with 3 teapots and 10 cups in stock.
//! - Four requests, in this order: Ada orders 2 teapots (`order-1`), Grace
//!   6 cups (`order-2`), Ada cancels `order-1`, Linus orders 2 teapots
//!   (`order-3`, possible only because Ada's teapots came back). Without
//!   faults the feed ends with four changes of `orders`: `order-1` placed,
//!   `order-2` placed, `order-1` cancelled, `order-3` placed.
//!
//! **Requests arrive once**, as HTTP requests do: the server receives in
//! receive-and-delete mode, and a request it fails on (a crash, an outage)
//! gets an error page and is never sent again. That is the world, not the
//! mistake of this exercise: whatever the store committed, the tailer must
//! announce, and nothing else.
//!
//! The run lasts 10 minutes of virtual time: long enough for the tailer to
//! get every event out after the worst outage a random fault plan causes.

use std::time::Duration;

use broker::simulation::{Scenario, ServiceCtx, ServiceResult};
use broker::store::IsolationLevel;
use broker::{BrokerError, QueueOptions, ReceiveOptions};
use serde_json::json;

use crate::TailError;
use crate::shop::{
    CHECKOUT, CheckoutRequest, DUPLICATE_DETECTION_WINDOW, ORDER_EVENTS, ORDERS, STOCK,
};

/// The checkout server's name in traces.
pub const ORDER_SERVICE: &str = "order-service";
/// The tailer's name in traces.
pub const TAILER_SERVICE: &str = "tailer";

/// The requests waiting when the services start, in the order they arrive.
pub fn requests() -> Vec<CheckoutRequest> {
    let place = |order_id: &str, customer: &str, sku: &str, quantity| CheckoutRequest::Place {
        order_id: order_id.to_owned(),
        customer: customer.to_owned(),
        sku: sku.to_owned(),
        quantity,
    };
    vec![
        place("order-1", "ada", "teapot", 2),
        place("order-2", "grace", "cup", 6),
        CheckoutRequest::Cancel {
            order_id: "order-1".to_owned(),
        },
        place("order-3", "linus", "teapot", 2),
    ]
}

/// The stock when the shop opens: `(product, available)`.
pub fn opening_stock() -> Vec<(&'static str, u32)> {
    vec![("teapot", 3), ("cup", 10)]
}

/// The scenario the checks explore: your `tail`.
pub fn scenario() -> Scenario {
    scenario_running(crate::tailer::tail)
}

/// The same world with another tailer in it, so the grader's own tests can
/// prove each check catches the mistake it is named after.
pub fn scenario_running<T, Fut, Out>(tail: T) -> Scenario
where
    T: Fn(ServiceCtx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Out> + 'static,
    Out: ServiceResult + 'static,
{
    Scenario::new("cdc")
        .queue(CHECKOUT, QueueOptions::default())
        .queue(
            ORDER_EVENTS,
            QueueOptions::default().with_duplicate_detection_window(DUPLICATE_DETECTION_WINDOW),
        )
        .messages(CHECKOUT, requests().iter().map(CheckoutRequest::to_message))
        .setup(open_the_shop)
        .service(ORDER_SERVICE, serve_checkout)
        .service(TAILER_SERVICE, tail)
        .run_for(Duration::from_secs(10 * 60))
}

/// Fills the stock table before the services start (no faults here).
async fn open_the_shop(ctx: ServiceCtx) -> Result<(), TailError> {
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    for (sku, available) in opening_stock() {
        tx.insert(STOCK, sku, json!({ "available": available }))
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The checkout server: one request at a time, each handed over once. A
/// failed request is answered with an error page and the server goes on;
/// only a broker failure to receive stops it (and the runtime restarts it,
/// as a process supervisor would).
async fn serve_checkout(ctx: ServiceCtx) -> Result<(), BrokerError> {
    loop {
        let Some(delivery) = ctx
            .receive_with(CHECKOUT, ReceiveOptions::receive_and_delete())
            .await?
        else {
            continue;
        };
        // A request that cannot be read gets a "400 Bad Request".
        let Ok(request) = CheckoutRequest::from_envelope(&delivery) else {
            continue;
        };
        // The request's store operations carry its order id in the trace, so
        // a report's timeline of `order-1` shows its transactions.
        let handling = ctx.concerning(request.order_id());
        // Ok: "thank you"; an error: an error page. Either way the customer
        // has their answer and the server moves on.
        let _answer = match &request {
            CheckoutRequest::Place {
                order_id,
                customer,
                sku,
                quantity,
            } => place_order(&handling, order_id, customer, sku, *quantity).await,
            CheckoutRequest::Cancel { order_id } => cancel_order(&handling, order_id).await,
        };
    }
}

/// Records the order and takes its stock, in one transaction.
async fn place_order(
    ctx: &ServiceCtx,
    order_id: &str,
    customer: &str,
    sku: &str,
    quantity: u32,
) -> Result<(), TailError> {
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    let row = json!({
        "order_id": order_id,
        "customer": customer,
        "sku": sku,
        "quantity": quantity,
        "status": "placed",
    });
    tx.insert(ORDERS, order_id, row).await?;
    let available = available(&mut tx, sku).await?;
    if available < quantity {
        tx.rollback().await;
        return Err(TailError::OutOfStock {
            sku: sku.to_owned(),
            wanted: quantity,
            available,
        });
    }
    tx.upsert(STOCK, sku, json!({ "available": available - quantity }))
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Marks the order cancelled and returns its stock, in one transaction. An
/// order that does not exist (its placing failed) or is already cancelled
/// is left alone.
async fn cancel_order(ctx: &ServiceCtx, order_id: &str) -> Result<(), TailError> {
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    let Some(order) = tx.get_for_update(ORDERS, order_id).await? else {
        tx.rollback().await;
        return Ok(());
    };
    if order.value["status"] != "placed" {
        tx.rollback().await;
        return Ok(());
    }
    let mut cancelled = order.value.clone();
    cancelled["status"] = json!("cancelled");
    tx.upsert(ORDERS, order_id, cancelled).await?;
    let (Some(sku), Some(quantity)) = (
        order.value["sku"].as_str(),
        order.value["quantity"].as_u64(),
    ) else {
        tx.rollback().await;
        return Err(TailError::Unreadable {
            id: order_id.to_owned(),
            reason: "the order row has no sku or quantity".to_owned(),
        });
    };
    let available = u64::from(available(&mut tx, sku).await?);
    tx.upsert(STOCK, sku, json!({ "available": available + quantity }))
        .await?;
    tx.commit().await?;
    Ok(())
}

/// The stock of `sku`, its row locked until the transaction ends
/// (`SELECT … FOR UPDATE`), so two orders cannot take the last teapot twice.
async fn available(tx: &mut broker::simulation::Tx, sku: &str) -> Result<u32, TailError> {
    Ok(tx
        .get_for_update(STOCK, sku)
        .await?
        .and_then(|row| row.value["available"].as_u64())
        .map_or(0, |available| u32::try_from(available).unwrap_or(u32::MAX)))
}

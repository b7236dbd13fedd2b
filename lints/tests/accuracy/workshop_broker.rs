//! Services written against the workshop's own broker and store.

use broker::simulation::ServiceCtx;
use broker::store::IsolationLevel;
use broker::{Message, ReceiveMode, ReceiveOptions};
use std::time::Duration;

const ORDERS: &str = "orders";
const INVOICES: &str = "invoices";

pub async fn pricing(ctx: ServiceCtx) -> Result<(), Error> {
    let options = ReceiveOptions::default().with_mode(ReceiveMode::ReceiveAndDelete); //~ auto-ack
    loop {
        let Some(delivery) = ctx.receive_with(ORDERS, options).await? else { continue };
        let order: Order = delivery.envelope().body_json()?;
        let invoice = Message::json(format!("invoice-{}", delivery.message_id()), &price(&order))?;
        ctx.send(INVOICES, invoice).await?;
    }
}

pub async fn metering(ctx: ServiceCtx) -> Result<(), Error> {
    let consumer = ctx.auto_commit_consumer("usage", Duration::from_secs(5)); //~ auto-ack
    loop {
        let delivery = consumer.poll().await?;
        record_usage(delivery.envelope().body()).await;
    }
}

pub async fn shipping(ctx: ServiceCtx) -> Result<(), Error> {
    loop {
        let delivery = ctx.receive("invoices").await?;
        ctx.complete(&delivery).await?; //~ ack-before-processing
        let invoice: Invoice = delivery.envelope().body_json()?;
        let label = Message::new(uuid::Uuid::new_v4().to_string(), invoice.address.into_bytes());
        ctx.send("labels", label).await?;
    }
}

pub async fn place_order(ctx: &ServiceCtx, order: Order) -> Result<(), Error> {
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    tx.insert(ORDERS, &order.id, order.row()).await?;
    tx.commit().await?;
    ctx.send("order-events", Message::new(format!("placed-{}", order.id), order.id.clone())).await?; //~ dual-write
    Ok(())
}

pub async fn place_order_outbox(ctx: &ServiceCtx, order: Order) -> Result<(), Error> {
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    tx.insert(ORDERS, &order.id, order.row()).await?;
    tx.insert("outbox", &format!("placed-{}", order.id), order.event_row()).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn reserve_stock(ctx: ServiceCtx) -> Result<(), Error> {
    loop {
        let delivery = ctx.receive("reservations").await?;
        let request: Reservation = delivery.envelope().body_json()?;
        let reply = Message::new(uuid::Uuid::new_v4().to_string(), request.sku.clone());
        ctx.send("reserved", reply).await?; //~ publish-before-ack
        ctx.complete(&delivery).await?;
    }
}

pub async fn reserve_stock_idempotent(ctx: ServiceCtx) -> Result<(), Error> {
    loop {
        let delivery = ctx.receive("reservations").await?;
        let request: Reservation = delivery.envelope().body_json()?;
        let reply = Message::new(format!("reserved-{}", delivery.message_id()), request.sku.clone());
        ctx.send("reserved", reply).await?;
        ctx.complete(&delivery).await?;
    }
}

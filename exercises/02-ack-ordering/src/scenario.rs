//! The world of the exercise, as one scenario. Do not edit.
//!
//! Two queues with Service Bus's defaults (peek-lock, 60-second lock, ten
//! deliveries before dead-lettering), three orders waiting, one pricing
//! service running [`crate::consumer::run`]. The checks run this scenario
//! with no fault, then once per crash point, then under random fault plans.

use std::time::Duration;

use broker::QueueOptions;
use broker::simulation::{Scenario, ServiceCtx, ServiceResult};

use crate::order::{INVOICES, ORDERS, Order};

/// The service's name in traces.
pub const SERVICE: &str = "pricing";

/// The orders waiting when the service starts: `(message id, order)`. The
/// bulk order takes two minutes to price, longer than the lock.
pub fn orders() -> Vec<(&'static str, Order)> {
    vec![
        (
            "order-1",
            Order {
                sku: "teapot".into(),
                quantity: 1,
                unit_price_cents: 3_500,
            },
        ),
        (
            "order-2",
            Order {
                sku: "cup".into(),
                quantity: 6,
                unit_price_cents: 900,
            },
        ),
        (
            "order-3",
            Order {
                sku: "saucer".into(),
                quantity: 400,
                unit_price_cents: 450,
            },
        ),
    ]
}

/// The scenario the checks explore: the learner's [`crate::consumer::run`].
pub fn scenario() -> Scenario {
    scenario_running(crate::consumer::run)
}

/// The same world with another consumer in it, so the grader's own tests can
/// prove each check catches the mistake it is named after.
pub fn scenario_running<F, Fut, R>(consumer: F) -> Scenario
where
    F: Fn(ServiceCtx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = R> + 'static,
    R: ServiceResult + 'static,
{
    Scenario::new("ack-ordering")
        .queue(ORDERS, QueueOptions::default())
        .queue(INVOICES, QueueOptions::default())
        .messages(
            ORDERS,
            orders()
                .iter()
                .map(|(order_id, order)| order.to_message(order_id)),
        )
        .service(SERVICE, consumer)
        // Long enough for a crashed consumer's lock to expire and every
        // order to be redelivered and priced again, several times over.
        .run_for(Duration::from_secs(20 * 60))
}

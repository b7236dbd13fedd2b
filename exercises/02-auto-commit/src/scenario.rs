//! The world of the exercise, as one scenario. Do not edit.
//!
//! The `orders` topic (a queue of the broker, standing in for a Kafka topic
//! of one partition), the `invoices` queue, six orders waiting and one
//! pricing service running [`crate::consumer::run`]. The checks run this
//! scenario with no fault, then once per crash point and fault point, then
//! under random fault plans.

use std::time::Duration;

use broker::QueueOptions;
use broker::simulation::{Scenario, ServiceCtx, ServiceResult};

use crate::order::{INVOICES, ORDERS, Order};

/// The service's name in traces.
pub const SERVICE: &str = "pricing";

/// How long a crashed consumer's uncommitted orders stay with it before the
/// group hands them to the next consumer: librdkafka's default
/// `session.timeout.ms`, 45 s. The topic's lock duration plays that part.
pub const SESSION_TIMEOUT: Duration = Duration::from_secs(45);

/// The orders waiting when the service starts: `(message id, order)`.
/// Pricing them one after the other takes about a minute, at uneven
/// lengths, so that whatever commit interval a consumer sets under a
/// minute, its timer ticks while some order is still being priced.
pub fn orders() -> Vec<(&'static str, Order)> {
    [
        ("order-1", "teapot", 1, 3_500),
        ("order-2", "cup", 6, 900),
        ("order-3", "saucer", 40, 450),
        ("order-4", "spoon", 17, 300),
        ("order-5", "plate", 95, 1_100),
        ("order-6", "tray", 23, 2_000),
    ]
    .into_iter()
    .map(|(id, sku, quantity, unit_price_cents)| {
        (
            id,
            Order {
                sku: sku.into(),
                quantity,
                unit_price_cents,
            },
        )
    })
    .collect()
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
    Scenario::new("auto-commit")
        .queue(
            ORDERS,
            QueueOptions::default()
                .with_lock_duration(SESSION_TIMEOUT)
                // Kafka has no delivery limit and no dead-letter queue: an
                // order nobody commits comes back for as long as it takes.
                .with_max_delivery_count(u32::MAX),
        )
        .queue(INVOICES, QueueOptions::default())
        .messages(
            ORDERS,
            orders()
                .iter()
                .map(|(order_id, order)| order.to_message(order_id)),
        )
        .service(SERVICE, consumer)
        // Long enough for a crashed consumer's orders to come back and be
        // priced again, several times over.
        .run_for(Duration::from_secs(10 * 60))
}

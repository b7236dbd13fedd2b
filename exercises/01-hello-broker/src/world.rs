//! The world of the exercise: two scenarios. Do not edit.
//!
//! - [`greeting`]: a `sender` service runs your `send_greeting`, a
//!   `receiver` service runs your `receive_greeting` in a loop, which prints
//!   what it gets with [`print_message`].
//! - [`order_pipeline`]: a small consumer that receives two orders,
//!   publishes a result for each and completes it. It is correct; the graders
//!   crash it at each of its crash points and ask your `find_crash_point`
//!   where the crash was.

use std::time::Duration;

use broker::simulation::{DownstreamError, Scenario, ServiceCtx, ServiceResult};
use broker::{BrokerError, Delivery, Message, QueueOptions};

use crate::hello;

/// The queue the greeting travels on.
pub const GREETINGS: &str = "greetings";
/// The greeting's message id.
pub const GREETING_ID: &str = "greeting-1";
/// The greeting's text.
pub const GREETING_TEXT: &str = "hello, broker";
/// Where [`print_message`] prints: a downstream system, so the graders can see it in
/// the trace.
pub const CONSOLE: &str = "console";

/// The greeting: a sender, a receiver, one queue.
pub fn greeting() -> Scenario {
    greeting_received_by(receiver)
}

/// The same world with another receiver service in it, so the grader's own
/// tests can prove each check catches the mistake it is named after.
pub fn greeting_received_by<F, Fut, R>(receiver: F) -> Scenario
where
    F: Fn(ServiceCtx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = R> + 'static,
    R: ServiceResult + 'static,
{
    Scenario::new("hello-broker")
        .queue(GREETINGS, QueueOptions::default())
        .service("sender", |ctx: ServiceCtx| async move {
            hello::send_greeting(&ctx).await
        })
        .service("receiver", receiver)
        // Long enough for a lock to expire (60 s) a few times.
        .run_for(Duration::from_secs(4 * 60))
}

/// The receiver service: your `receive_greeting`, again and again, for as
/// long as greetings come.
async fn receiver(ctx: ServiceCtx) -> Result<(), BrokerError> {
    loop {
        hello::receive_greeting(&ctx).await?;
    }
}

/// Prints a received message's text. It goes to the `console`, a downstream
/// system, so that the graders can see what was printed, and when.
pub async fn print_message(ctx: &ServiceCtx, delivery: &Delivery) {
    let text = delivery.body_text().unwrap_or("(not text)").to_string();
    // The graders' fault plans can make the console unavailable for a while
    // (nothing printed): try again until it prints. A lost reply means it
    // did print, so that ends it too. Your code need not care.
    while let Err(DownstreamError::Unavailable { .. }) = ctx
        .call_downstream(CONSOLE, delivery.message_id(), text.clone())
        .await
    {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// The queue of the order pipeline.
pub const ORDERS: &str = "orders";
/// Where the order pipeline publishes its results.
pub const RESULTS: &str = "results";

/// A correct little consumer, for the graders to crash: two orders, each
/// received, answered with a result, then completed.
pub fn order_pipeline() -> Scenario {
    Scenario::new("order-pipeline")
        .queue(ORDERS, QueueOptions::default())
        .queue(RESULTS, QueueOptions::default())
        .message(ORDERS, Message::new("order-1", "one teapot"))
        .message(ORDERS, Message::new("order-2", "two cups"))
        .service("consumer", pipeline_consumer)
        .run_for(Duration::from_secs(5 * 60))
}

/// The order pipeline's consumer: receive, publish the result, complete.
async fn pipeline_consumer(ctx: ServiceCtx) -> Result<(), BrokerError> {
    loop {
        let order = ctx.receive(ORDERS).await?;
        let result = Message::new(format!("{}-done", order.message_id()), "priced")
            .with_correlation_id(order.message_id());
        ctx.send(RESULTS, result).await?;
        ctx.complete(&order).await?;
    }
}

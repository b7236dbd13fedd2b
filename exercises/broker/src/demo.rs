//! The crash demo: the same consumer written two ways, crashed at every
//! possible point.
//!
//! Both consumers take orders from `orders` and publish one result per order
//! to `results`. The naive one completes the order first and publishes
//! second; the correct one publishes first and completes second.
//!
//! - Naive: a crash between the complete and the publish loses the order.
//!   The broker forgot it (it was completed) and the result was never sent.
//!   That is at-most-once, by accident.
//! - Correct: a crash between the publish and the complete means the lock
//!   expires and the order is delivered again, so the result is published
//!   twice. That is at-least-once; the result's deterministic message id lets
//!   duplicate detection on `results` drop the second copy.
//!
//! Run it with `cargo run -p broker --example crash-demo`. The output is the
//! same, byte for byte, on every run and every machine: the runs are
//! simulated on a virtual clock.

use std::fmt::Write;

use crate::grading::{Check, CheckReport, invariants};
use crate::simulation::{Exploration, Scenario, ServiceCtx};
use crate::{BrokerError, Message, QueueOptions};

/// The naive consumer: complete, then publish.
pub async fn naive_consumer(ctx: ServiceCtx) -> Result<(), BrokerError> {
    loop {
        let order = ctx.receive("orders").await?;
        // The mistake: the broker forgets the order here…
        ctx.complete(&order).await?;
        // …so if we crash before this line, nobody will ever publish its result.
        ctx.send("results", result_for(&order)).await?;
    }
}

/// The correct consumer: publish, then complete.
pub async fn correct_consumer(ctx: ServiceCtx) -> Result<(), BrokerError> {
    loop {
        let order = ctx.receive("orders").await?;
        // The work first: if we crash after it, the order comes back and we
        // publish again, with the same id, which duplicate detection drops.
        ctx.send("results", result_for(&order)).await?;
        ctx.complete(&order).await?;
    }
}

/// The result of an order, with a message id derived from the order's: a
/// retry sends the *same* message, not a new one.
fn result_for(order: &crate::Delivery) -> Message {
    Message::new(format!("{}-result", order.message_id()), "shipped")
        .with_correlation_id(order.message_id())
}

/// The scenario both consumers run in: three orders, and a results queue
/// with duplicate detection.
pub fn scenario<F, Fut>(consumer: F) -> Scenario
where
    F: Fn(ServiceCtx) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), BrokerError>> + 'static,
{
    Scenario::new("crash-demo")
        .queue("orders", QueueOptions::default())
        .queue(
            "results",
            QueueOptions::default().with_duplicate_detection(),
        )
        .messages(
            "orders",
            (1..=3).map(|n| Message::new(format!("order-{n}"), format!("order number {n}"))),
        )
        .service("consumer", consumer)
}

/// The `lost-message` check for a consumer, explored at every crash point.
pub fn lost_message_check<F, Fut>(consumer: F) -> Check
where
    F: Fn(ServiceCtx) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), BrokerError>> + 'static,
{
    Check::new("lost-message", 1)
        .scenario(scenario(consumer))
        .exploration(Exploration::every_crash_point())
        .invariant(invariants::no_lost_message(
            "orders",
            invariants::result_published_to("results"),
        ))
        .replay_command("cargo run -p broker --example crash-demo")
}

/// Runs both checks and renders the demo's whole output.
pub fn crash_demo() -> String {
    let naive = lost_message_check(naive_consumer).run();
    let correct = lost_message_check(correct_consumer).run();
    render(&naive, &correct)
}

fn render(naive: &CheckReport, correct: &CheckReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Crash demo: three orders, one consumer, a crash at every possible point."
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "== The naive consumer: complete the order, then publish its result =="
    );
    let _ = writeln!(out);
    out.push_str(&naive.text);
    if let Some(failure) = &naive.failure {
        let _ = writeln!(out);
        let _ = writeln!(out, "The same timeline as a mermaid sequence diagram:");
        let _ = writeln!(out);
        let _ = writeln!(out, "```mermaid");
        out.push_str(&failure.mermaid);
        let _ = writeln!(out, "```");
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "== The correct consumer: publish the result, then complete the order =="
    );
    let _ = writeln!(out);
    out.push_str(&correct.text);
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Why: completing first is at-most-once (a crash in between loses the order); publishing first is at-least-once (a crash in between publishes twice, and the deterministic result id makes the second copy harmless)."
    );
    out
}

//! The ready-made invariants each catch their anomaly, and only it.

use std::time::Duration;

use broker::fault::FaultPlan;
use broker::grading::invariants;
use broker::simulation::{self, DownstreamOptions, Run, Scenario, ServiceCtx};
use broker::store::IsolationLevel;
use broker::{BrokerError, Message, QueueOptions};

fn run(scenario: &Scenario, plan: &str) -> Run {
    simulation::run(scenario, &plan.parse::<FaultPlan>().unwrap()).unwrap()
}

/// Records each order in the store, then completes it.
async fn store_then_complete(ctx: ServiceCtx) -> Result<(), BrokerError> {
    loop {
        let order = ctx.receive("orders").await?;
        if let Ok(mut tx) = ctx.begin(IsolationLevel::ReadCommitted).await {
            let _ = tx
                .upsert("orders", order.message_id(), serde_json::json!("seen"))
                .await;
            let _ = tx.commit().await;
        }
        ctx.complete(&order).await?;
    }
}

/// Completes each order, then records it.
async fn complete_then_store(ctx: ServiceCtx) -> Result<(), BrokerError> {
    loop {
        let order = ctx.receive("orders").await?;
        ctx.complete(&order).await?;
        if let Ok(mut tx) = ctx.begin(IsolationLevel::ReadCommitted).await {
            let _ = tx
                .upsert("orders", order.message_id(), serde_json::json!("seen"))
                .await;
            let _ = tx.commit().await;
        }
    }
}

fn orders<F, Fut>(consumer: F) -> Scenario
where
    F: Fn(ServiceCtx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), BrokerError>> + 'static,
{
    Scenario::new("orders")
        .queue("orders", QueueOptions::default())
        .messages(
            "orders",
            (1..=2).map(|n| Message::new(format!("o-{n}"), "x")),
        )
        .service("consumer", consumer)
}

#[test]
fn lost_message_with_store_evidence() {
    let invariant = invariants::no_lost_message("orders", invariants::row_committed_in("orders"));
    // Crash after the complete of o-1 (operation #1): lost with the naive order…
    let lost = run(&orders(complete_then_store), "crash-after@1");
    let violation = invariant(&lost).unwrap_err();
    assert_eq!(violation.message_id.as_deref(), Some("o-1"));
    // …while storing first survives every crash point tried here.
    for point in 0..8 {
        for fault in ["crash-before", "crash-after"] {
            let run = run(&orders(store_then_complete), &format!("{fault}@{point}"));
            assert_eq!(invariant(&run), Ok(()), "{fault}@{point}");
        }
    }
}

#[test]
fn a_message_still_in_the_queue_is_not_lost() {
    // A consumer that never runs: the order waits, it is not lost.
    let scenario = Scenario::new("idle")
        .queue("orders", QueueOptions::default())
        .message("orders", Message::new("o-1", "x"));
    let run = run(&scenario, "none");
    let invariant =
        invariants::no_lost_message("orders", invariants::result_published_to("results"));
    assert_eq!(invariant(&run), Ok(()));
    // But it is unsettled.
    let unsettled = invariants::no_unsettled_message("orders")(&run).unwrap_err();
    assert!(
        unsettled
            .sentence
            .contains("`o-1` was never settled on `orders`"),
        "{unsettled}"
    );
}

async fn dead_letter_on_failure(ctx: ServiceCtx) -> Result<(), BrokerError> {
    loop {
        let order = ctx.receive("orders").await?;
        match ctx
            .call_downstream("payments", order.message_id(), "charge")
            .await
        {
            Ok(()) => ctx.complete(&order).await?,
            Err(error) => {
                ctx.dead_letter(&order, "PaymentFailed", &error.to_string())
                    .await?
            }
        }
    }
}

#[test]
fn poison_storm_counts_dead_letters() {
    let scenario = Scenario::new("outage")
        .queue("orders", QueueOptions::default())
        .messages(
            "orders",
            (1..=5).map(|n| Message::new(format!("o-{n}"), "x")),
        )
        .downstream(
            "payments",
            DownstreamOptions::default().with_outage(Duration::ZERO, Duration::from_secs(3600)),
        )
        .service("consumer", dead_letter_on_failure);
    let run = run(&scenario, "none");
    assert_eq!(invariants::dead_letters_at_most("orders", 5)(&run), Ok(()));
    let storm = invariants::dead_letters_at_most("orders", 2)(&run).unwrap_err();
    assert!(
        storm
            .sentence
            .starts_with("5 messages were dead-lettered on `orders` (at most 2 expected)"),
        "{storm}"
    );
    // Every order was dead-lettered, none lost: the dead-letter queue holds it.
    let processed = invariants::downstream_called("payments");
    assert_eq!(
        invariants::no_lost_message("orders", processed)(&run),
        Ok(())
    );
}

#[test]
fn duplicate_side_effects_are_counted_per_key() {
    let scenario = Scenario::new("mail")
        .queue("orders", QueueOptions::default())
        .messages(
            "orders",
            (1..=2).map(|n| Message::new(format!("o-{n}"), "x")),
        )
        .service("mailer", |ctx: ServiceCtx| async move {
            loop {
                let order = ctx.receive("orders").await?;
                let _ = ctx
                    .call_downstream("email", order.message_id(), "hello")
                    .await;
                ctx.complete(&order).await?;
            }
            #[allow(unreachable_code)]
            Ok::<(), BrokerError>(())
        });
    let invariant = invariants::no_duplicate_side_effect("email");
    assert_eq!(invariant(&run(&scenario, "none")), Ok(()));
    // Crash after the first email (operation #1): o-1 is mailed twice.
    let violation = invariant(&run(&scenario, "crash-after@1")).unwrap_err();
    assert_eq!(violation.message_id.as_deref(), Some("o-1"));
    assert_eq!(
        violation.sentence,
        "`email` was called 2 times for `o-1`: the side effect happened more than once"
    );
}

#[test]
fn an_invariant_naming_an_unknown_entity_fails_loudly() {
    let run = run(&orders(store_then_complete), "none");
    let typo = invariants::no_unsettled_message("order")(&run).unwrap_err();
    assert_eq!(
        typo.sentence,
        "the check is misconfigured: it reads `order`, but messaging entity `order` could not be found in scenario `orders`"
    );
    assert!(
        invariants::no_lost_message("order", invariants::row_committed_in("orders"))(&run).is_err()
    );
    assert!(invariants::dead_letters_at_most("order", 0)(&run).is_err());
}

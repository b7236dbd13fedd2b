//! The checks of one scenario share its runs: the exploration is made once,
//! whichever check asks first, and every check judges the same runs. A
//! scenario whose runs could differ under the same description (a service
//! that is a closure holding data) is never shared.

use std::sync::atomic::{AtomicUsize, Ordering};

use broker::grading::{Check, Violation, invariants};
use broker::simulation::{Exploration, Run, Scenario, ServiceCtx};
use broker::{BrokerError, Message, QueueOptions};

/// How many times [`counted_consumer`] started, over every run of this
/// binary: one start per run, and one more per restart after a crash.
static STARTS: AtomicUsize = AtomicUsize::new(0);

/// Processes, then acks; counts its starts.
async fn counted_consumer(ctx: ServiceCtx) -> Result<(), BrokerError> {
    STARTS.fetch_add(1, Ordering::SeqCst);
    loop {
        let order = ctx.receive("orders").await?;
        let result = Message::new(format!("{}-result", order.message_id()), "ok")
            .with_correlation_id(order.message_id());
        ctx.send("results", result).await?;
        ctx.complete(&order).await?;
    }
}

fn orders<F, Fut>(consumer: F, body: &str) -> Scenario
where
    F: Fn(ServiceCtx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), BrokerError>> + 'static,
{
    Scenario::new("orders")
        .queue("orders", QueueOptions::default())
        .queue("results", QueueOptions::default())
        .messages(
            "orders",
            (1..=2).map(|n| Message::new(format!("order-{n}"), body)),
        )
        .service("consumer", consumer)
}

fn exploration() -> Exploration {
    Exploration::default().with_random_plans(8)
}

/// An invariant every run keeps: the check passes on every run.
fn anything(_run: &Run) -> Result<(), Violation> {
    Ok(())
}

#[test]
fn a_second_check_of_the_same_scenario_makes_no_run_of_its_own() {
    let lost = Check::new("lost-message", 3)
        .scenario(orders(counted_consumer, "teapot"))
        .exploration(exploration())
        .invariant(invariants::no_lost_message(
            "orders",
            invariants::result_published_to("results"),
        ));
    let other = Check::new("anything", 1)
        .scenario(orders(counted_consumer, "teapot"))
        .exploration(exploration())
        .invariant(anything);

    let before = STARTS.load(Ordering::SeqCst);
    let first = lost.run_with(None, None);
    let made = STARTS.load(Ordering::SeqCst) - before;
    assert!(first.passed, "{}", first.text);
    assert!(made >= first.runs, "{made} starts for {} runs", first.runs);

    let second = other.run_with(None, None);
    assert!(second.passed, "{}", second.text);
    assert_eq!(second.runs, first.runs, "both checks judge the same runs");
    assert_eq!(
        STARTS.load(Ordering::SeqCst) - before,
        made,
        "the second check made runs of its own instead of judging the first one's"
    );
}

#[test]
fn scenarios_that_would_run_differently_do_not_share_runs() {
    let plain = orders(counted_consumer, "teapot");
    let Some(fingerprint) = plain.fingerprint() else {
        panic!("a scenario of `async fn` services has a fingerprint");
    };
    assert_eq!(
        orders(counted_consumer, "teapot").fingerprint().as_deref(),
        Some(fingerprint.as_str()),
        "the same recipe, built twice, is the same scenario"
    );
    // Other message bodies: other runs.
    assert_ne!(
        orders(counted_consumer, "kettle").fingerprint().as_deref(),
        Some(fingerprint.as_str())
    );
    // Another service function under the same name: other runs.
    async fn idle(_ctx: ServiceCtx) -> Result<(), BrokerError> {
        Ok(())
    }
    assert_ne!(
        orders(idle, "teapot").fingerprint().as_deref(),
        Some(fingerprint.as_str())
    );
    // A closure that holds data could behave differently with other data
    // under the same type: never shared.
    let limit = 3_usize;
    let holding = orders(
        move |ctx: ServiceCtx| async move {
            for _ in 0..limit {
                let order = ctx.receive("orders").await?;
                ctx.complete(&order).await?;
            }
            Ok::<(), BrokerError>(())
        },
        "teapot",
    );
    assert_eq!(holding.fingerprint(), None);
}

/// As [`counted_consumer`], counted apart: each test counts its own runs.
static SUBSET_STARTS: AtomicUsize = AtomicUsize::new(0);

async fn subset_consumer(ctx: ServiceCtx) -> Result<(), BrokerError> {
    SUBSET_STARTS.fetch_add(1, Ordering::SeqCst);
    loop {
        let order = ctx.receive("orders").await?;
        ctx.complete(&order).await?;
    }
}

#[test]
fn a_check_that_explores_fewer_runs_judges_the_ones_another_made() {
    let wide = Check::new("anything", 1)
        .scenario(orders(subset_consumer, "teapot"))
        .exploration(Exploration::graded().with_random_plans(6))
        .invariant(anything);
    // The same crash points and random plans, without the fault points.
    let narrow = Check::new("anything-else", 1)
        .scenario(orders(subset_consumer, "teapot"))
        .exploration(
            Exploration::graded()
                .with_random_plans(6)
                .with_fault_points(false),
        )
        .invariant(anything);

    let before = SUBSET_STARTS.load(Ordering::SeqCst);
    let all = wide.run_with(None, None);
    let made = SUBSET_STARTS.load(Ordering::SeqCst) - before;
    let some = narrow.run_with(None, None);
    assert!(all.passed && some.passed, "{}\n{}", all.text, some.text);
    assert!(
        some.runs < all.runs,
        "{} runs, then {}",
        all.runs,
        some.runs
    );
    assert_eq!(
        SUBSET_STARTS.load(Ordering::SeqCst) - before,
        made,
        "the narrower check made runs the wider one had already made"
    );
}

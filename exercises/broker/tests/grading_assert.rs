//! A failing check ends its test without a panic hook: no "panicked at
//! check.rs", and no stack backtrace under the report when `RUST_BACKTRACE=1`
//! is set (many developers set it). A failing check is the expected outcome
//! of a starter, not a bug in the test.
//!
//! Alone in its own test binary because it replaces the process-wide panic
//! hook, which would see the panics of tests running beside it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use broker::grading::{Check, invariants};
use broker::simulation::{Exploration, Scenario, ServiceCtx};
use broker::{BrokerError, Message, QueueOptions};

/// Receives and never completes.
async fn never_completes(ctx: ServiceCtx) -> Result<(), BrokerError> {
    loop {
        let _delivery = ctx.receive("orders").await?;
    }
}

#[test]
fn a_failing_check_fails_its_test_without_running_the_panic_hook() {
    let check = Check::new("unsettled-message", 5)
        .scenario(
            Scenario::new("orders")
                .queue(
                    "orders",
                    QueueOptions::default().with_max_delivery_count(100),
                )
                .message("orders", Message::new("order-1", "x"))
                .service("consumer", never_completes),
        )
        .exploration(Exploration::happy_path())
        .invariant(invariants::no_unsettled_message("orders"));

    let hook_calls = Arc::new(AtomicUsize::new(0));
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new({
        let hook_calls = Arc::clone(&hook_calls);
        move |_| {
            hook_calls.fetch_add(1, Ordering::SeqCst);
        }
    }));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check.assert()));
    std::panic::set_hook(previous);

    let payload = outcome.expect_err("the check fails, so the test must fail");
    assert_eq!(
        hook_calls.load(Ordering::SeqCst),
        0,
        "the panic hook ran: it prints `panicked at` and, with RUST_BACKTRACE=1, a backtrace"
    );
    // The one line left for whoever catches the unwind (the report itself
    // went to stderr, which the test harness shows under the failed test).
    assert_eq!(
        payload.downcast_ref::<String>().map(String::as_str),
        Some("check `unsettled-message` failed: 0 of 5 points (the report is above)")
    );
}

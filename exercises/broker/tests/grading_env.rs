//! The environment contracts, in their own test binary because they set
//! process-wide variables: `EDA_REPLAY` replays one run, and
//! `EDA_GRADE_REPORT_DIR` collects one JSON file per check for
//! `cargo xtask grade`. The default replay command names this package and
//! this test.

use broker::grading::{Check, invariants};
use broker::simulation::{Exploration, Scenario, ServiceCtx};
use broker::{BrokerError, Message, QueueOptions};

async fn ack_first(ctx: ServiceCtx) -> Result<(), BrokerError> {
    loop {
        let order = ctx.receive("orders").await?;
        ctx.complete(&order).await?;
        ctx.send(
            "results",
            Message::new("r", "x").with_correlation_id(order.message_id()),
        )
        .await?;
    }
}

fn check() -> Check {
    let scenario = Scenario::new("orders")
        .queue("orders", QueueOptions::default())
        .queue("results", QueueOptions::default())
        .message("orders", Message::new("order-1", "x"))
        .service("consumer", ack_first);
    Check::new("lost-message", 3)
        .scenario(scenario)
        .exploration(Exploration::every_crash_point())
        .invariant(invariants::no_lost_message(
            "orders",
            invariants::result_published_to("results"),
        ))
}

#[test]
fn checks_honour_the_environment() {
    let dir = std::env::temp_dir().join(format!("eda-grade-env-{}", std::process::id()));
    // SAFETY: this test binary has exactly one test, so no other thread reads
    // the environment while it is changed.
    unsafe {
        std::env::set_var("EDA_GRADE_REPORT_DIR", &dir);
        std::env::remove_var("EDA_REPLAY");
    }
    let explored = check().run();
    assert!(!explored.passed);
    assert!(
        explored
            .text
            .contains("cargo test -p broker -- checks_honour_the_environment --exact"),
        "{}",
        explored.text
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("lost-message.json")).unwrap())
            .unwrap();
    assert_eq!(json["passed"], false);

    unsafe {
        std::env::set_var("EDA_REPLAY", "lost-message:seed=0:plan=crash-after@1");
    }
    let replayed = check().run();
    assert_eq!(replayed.runs, 1);
    assert!(
        replayed.text.starts_with("replay of check `lost-message`"),
        "{}",
        replayed.text
    );
    unsafe {
        std::env::remove_var("EDA_REPLAY");
        std::env::remove_var("EDA_GRADE_REPORT_DIR");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

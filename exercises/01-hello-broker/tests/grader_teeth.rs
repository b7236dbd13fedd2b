//! The grader's own tests, not the learner's: each check the shipped
//! starter already passes must still catch the mistake it is named after.
//! `lost-message` guards the mistake of the next chapter: a receiver that
//! completes the greeting before printing it loses the greeting when it
//! crashes in between. (`cargo xtask verify` proves the checks the starter
//! fails.)

use broker::BrokerError;
use broker::simulation::ServiceCtx;
use hello_broker::rubric;
use hello_broker::world::{GREETINGS, greeting_received_by, print_message};

/// Completes each greeting first, then prints it.
async fn completes_before_printing(ctx: ServiceCtx) -> Result<(), BrokerError> {
    loop {
        let delivery = ctx.receive(GREETINGS).await?;
        ctx.complete(&delivery).await?;
        print_message(&ctx, &delivery).await;
    }
}

#[test]
fn lost_message_catches_a_receiver_that_completes_before_printing() {
    // No replay and no report file: this run must not stand in for the
    // learner's grade.
    let report = rubric::lost_message()
        .scenario(greeting_received_by(completes_before_printing))
        .run_with(None, None);
    assert!(
        !report.passed,
        "lost-message passed a receiver that completes first:\n{}",
        report.text
    );
    assert!(report.text.contains("lost-message"), "{}", report.text);
}

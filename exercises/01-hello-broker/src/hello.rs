//! Your first exercise. **This is the file you edit** (and the only one).
//!
//! Three small functions, three steps. The README walks you through them;
//! `cargo test -p hello-broker` grades them, and `cargo xtask hint
//! hello-broker` gives a hint when you are stuck.

use broker::simulation::ServiceCtx;
use broker::trace::TraceEvent;
use broker::{BrokerError, Message};

use crate::world::{GREETING_ID, GREETING_TEXT, GREETINGS, print_message};

/// Step 1: send the greeting (`GREETING_TEXT`, with message id
/// `GREETING_ID`) to the `GREETINGS` queue.
pub async fn send_greeting(ctx: &ServiceCtx) -> Result<(), BrokerError> {
    ctx.send(GREETINGS, Message::new(GREETING_ID, GREETING_TEXT))
        .await
}

/// Step 2: receive the greeting from the `GREETINGS` queue, print it with
/// [`print_message`], and settle it.
pub async fn receive_greeting(ctx: &ServiceCtx) -> Result<(), BrokerError> {
    // ANCHOR: starter
    // ANCHOR: starter-handler
    let delivery = ctx.receive(GREETINGS).await?;
    print_message(ctx, &delivery).await;
    Ok(())
    // ANCHOR_END: starter-handler
    // ANCHOR_END: starter
}

/// Step 3: given the trace of a run in which a service may have crashed,
/// return the number of the operation at which it crashed (the `#n` of the
/// timeline, which a fault plan such as `crash-after@3` names), or `None` if
/// nothing crashed.
pub fn find_crash_point(events: &[TraceEvent]) -> Option<u64> {
    // The crash is what happened last.
    events.iter().rev().find_map(|event| event.operation_number)
}

//! Your first exercise: the reference solution.

use broker::simulation::ServiceCtx;
use broker::trace::{Operation, TraceEvent};
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
    // ANCHOR: solution
    // ANCHOR: solution-handler
    // Peek-lock (the default): the broker only locks the message...
    let delivery = ctx.receive(GREETINGS).await?;
    print_message(ctx, &delivery).await;
    // ...until we say we are done with it, after the work. Without this, the
    // lock expires after 60 s and the greeting is delivered (and printed)
    // again, and again.
    ctx.complete(&delivery).await?;
    Ok(())
    // ANCHOR_END: solution-handler
    // ANCHOR_END: solution
}

/// Step 3: given the trace of a run in which a service may have crashed,
/// return the number of the operation at which it crashed (the `#n` of the
/// timeline, which a fault plan such as `crash-after@3` names), or `None` if
/// nothing crashed.
pub fn find_crash_point(events: &[TraceEvent]) -> Option<u64> {
    // A crash is an entry of its own, numbered like the operation it
    // interrupted. After it the service restarts and goes on, so it is
    // rarely the last entry.
    events
        .iter()
        .find(|event| event.operation == Operation::Crash)
        .and_then(|event| event.operation_number)
}

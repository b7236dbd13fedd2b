//! A wrong attempt at `receive_greeting`: to print each greeting only once,
//! even when it comes back after a crash, it remembers in a `static` what it
//! printed. In the simulation that memory outlives every crash (the service
//! restarts in the same process); in production the crash takes it along.

use std::collections::BTreeSet;
use std::sync::Mutex;

use broker::BrokerError;
use broker::simulation::ServiceCtx;
use hello_broker::world::{GREETINGS, print_message};

static PRINTED: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

pub async fn receive_greeting(ctx: &ServiceCtx) -> Result<(), BrokerError> {
    let delivery = ctx.receive(GREETINGS).await?;
    let first_time = PRINTED
        .lock()
        .map(|mut printed| printed.insert(delivery.message_id().to_string()))
        .unwrap_or(true);
    if first_time {
        print_message(ctx, &delivery).await;
    }
    ctx.complete(&delivery).await?;
    Ok(())
}

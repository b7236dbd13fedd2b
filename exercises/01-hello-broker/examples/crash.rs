//! Watch one crash: `cargo run -p hello-broker --example crash [PLAN]`.
//!
//! Runs the order pipeline of `src/world.rs` with a fault plan and prints the
//! whole trace as a timeline. By default `crash-after@1`: the consumer dies
//! right after its operation #1 (the send of a result), before it completes
//! the order. Try other plans: `crash-before@2`, `crash-after@5`,
//! `lost-response@2`, `none`.

use std::process::ExitCode;

use broker::fault::FaultPlan;
use broker::simulation;
use broker::trace::render_timeline;
use hello_broker::world::order_pipeline;

fn main() -> ExitCode {
    let text = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "crash-after@1".to_string());
    let plan: FaultPlan = match text.parse() {
        Ok(plan) => plan,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    match simulation::run(&order_pipeline(), &plan) {
        Ok(run) => {
            println!("The order pipeline with fault plan `{plan}`:\n");
            print!("{}", render_timeline(&run.events));
            println!(
                "\nColumns: virtual time, operation number, who, what, on which entity, which \
                 message, outcome and details. Find the CRASH line: what had already happened \
                 to that message, and what happened after the restart?"
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

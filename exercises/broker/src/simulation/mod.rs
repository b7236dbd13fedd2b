//! The simulation runtime: services under fault injection, deterministically.
//!
//! A [`Scenario`] names the entities, the initial messages, the services and
//! the downstream systems. [`run`] runs it once with a [`FaultPlan`];
//! [`explore`] runs it many times (the baseline, every crash point, seeded
//! random plans: see [`Exploration`]). Each [`Run`] carries its trace and the
//! broker and store as the run left them, for the grader's invariants.
//!
//! - `scenario.rs`: [`Scenario`], the recipe.
//! - `context.rs`: [`ServiceCtx`] and [`Tx`], the door through which every
//!   operation passes, with its crash points and faults.
//! - `world.rs`: what survives a crash: broker, store, downstream log, trace.
//! - `runtime.rs`: one run on a paused current-thread runtime; supervisors
//!   that restart crashed services; [`RunOutcome`].
//! - `exploration.rs`: [`Exploration`], the worker thread and its watchdog.
//! - `downstream.rs`: downstream systems (email, payments) and their outages.
//! - `interleaving.rs`: runs with a schedule, which choose who runs each
//!   store statement, so an exploration can try every interleaving.
//!
//! ```
//! use broker::simulation::{self, Scenario, ServiceCtx};
//! use broker::fault::FaultPlan;
//! use broker::{Message, QueueOptions};
//!
//! async fn consumer(ctx: ServiceCtx) -> Result<(), broker::BrokerError> {
//!     loop {
//!         let delivery = ctx.receive("orders").await?;
//!         ctx.complete(&delivery).await?;
//!     }
//! }
//!
//! let scenario = Scenario::new("drain")
//!     .queue("orders", QueueOptions::default())
//!     .message("orders", Message::new("order-1", "teapot"))
//!     .service("consumer", consumer);
//! // Crash the consumer right after its first operation (the receive).
//! let run = simulation::run(&scenario, &"crash-after@0".parse().unwrap()).unwrap();
//! // The lock expired after 60 s, the restarted consumer got it again.
//! assert_eq!(run.broker.stats("orders").unwrap().unsettled(), 0);
//! print!("{}", broker::trace::render_timeline(&run.events));
//! ```
//!
//! **Determinism.** One thread, a paused clock, `BTreeMap`s, and a fixed
//! task order make a run a pure function of the scenario and the plan. Two
//! things in service code can break that: `tokio::select!` without `biased;`
//! (tokio picks a random branch first), and anything that reads the real
//! clock or real randomness. Use `biased;` and the context's time.

mod context;
mod downstream;
mod evidence;
mod exploration;
mod interleaving;
mod runtime;
mod scenario;
mod world;

pub use context::{ServiceCtx, Tx};
pub use downstream::{DownstreamCall, DownstreamError, DownstreamOptions};
pub use exploration::{
    DEFAULT_GRADED_PLANS, DEFAULT_MAX_INTERLEAVINGS, DEFAULT_WATCHDOG, Exploration, FAULT_POINTS,
    Interrupted, SEED_VAR, SEEDS_VAR, SeedsError, explore, explore_until, run, run_scheduled,
    run_with,
};
pub(crate) use exploration::{MadeRuns, Visit, baseline_once, runs_after_baseline};
pub use interleaving::{Decision, Schedule, format_schedule, next_schedule, parse_schedule};
pub(crate) use runtime::panic_message;
pub use runtime::{Run, RunOutcome, SimulationError};
pub use scenario::{
    DEFAULT_MAX_OPERATIONS, DEFAULT_MAX_WAKEUPS_WITHOUT_OPERATION, DEFAULT_RESTART_DELAY,
    DEFAULT_RUN_FOR, Scenario, ServiceResult,
};

pub use crate::fault::FaultPlan;

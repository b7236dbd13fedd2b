//! The runtime: one run of a scenario, on a paused clock.
//!
//! Each run gets a fresh current-thread tokio runtime with its clock paused,
//! and a `LocalSet` for the services. Single-threaded and paused means
//! deterministic: tasks run in a fixed order, and time jumps to the next timer
//! only when every task is waiting. So the same scenario and fault plan give
//! the same trace, byte for byte.
//!
//! Each service runs under a supervisor that restarts it after a crash (or an
//! error return), and reports a panic. The run ends when every service has
//! returned, when the scenario's virtual duration is up, or early, when a
//! service panics, the run exceeds its operation budget (a livelock), or a
//! service keeps waking up without doing any operation (a spin with awaits).

use std::any::Any;
use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::LocalSet;
use tokio::time::Instant;

use super::context::{Life, ServiceCtx};
use super::downstream::DownstreamCall;
use super::interleaving::{Decision, Schedule, Scheduler};
use super::scenario::{EntitySpec, Scenario, ServiceFactory};
use super::world::World;
use crate::broker::Broker;
use crate::error::BrokerError;
use crate::fault::FaultPlan;
use crate::store::Store;
use crate::trace::{Operation, Trace, TraceEvent};

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunOutcome {
    /// Every service returned.
    Finished,
    /// The scenario's virtual duration was reached with services still
    /// running (normal for consumers that loop forever).
    DeadlineReached,
    /// A service, still running at the end, had made no operation for a long
    /// time without waiting for a message: a deadlock, or an await that never
    /// completes.
    Stuck {
        /// The service.
        service: String,
        /// For how long (virtual time) it had made no progress.
        idle_for: Duration,
        /// The operation it was in, if any.
        in_operation: Option<String>,
    },
    /// A service panicked.
    Panicked {
        /// The service.
        service: String,
        /// The panic message.
        message: String,
    },
    /// The run made more operations than its budget: a loop that spins
    /// without ever waiting.
    TooManyOperations {
        /// The service whose operation crossed the limit.
        service: String,
        /// The budget.
        limit: u64,
    },
    /// A service was woken this many times without starting a single
    /// operation: a loop that awaits (`yield_now`, a 1 ms sleep) but waits
    /// for nothing that can change. Without this limit such a loop would
    /// either keep virtual time from moving (`yield_now`) or crawl through
    /// the run a millisecond at a time, and only the real-time watchdog
    /// would end it.
    Spinning {
        /// The service.
        service: String,
        /// The limit on wake-ups without an operation that it crossed.
        limit: u64,
    },
}

impl RunOutcome {
    /// Whether the run ended normally, so its final state can be judged.
    pub fn is_normal(&self) -> bool {
        matches!(self, RunOutcome::Finished | RunOutcome::DeadlineReached)
    }

    /// One sentence for a report, for the abnormal outcomes.
    pub fn describe(&self) -> String {
        match self {
            RunOutcome::Finished => "every service finished".to_owned(),
            RunOutcome::DeadlineReached => "the run reached its time limit".to_owned(),
            RunOutcome::Stuck {
                service,
                idle_for,
                in_operation,
            } => format!(
                "service `{service}` made no progress for {} s of virtual time{}: a deadlock, or an await that never completes",
                idle_for.as_secs(),
                in_operation
                    .as_ref()
                    .map(|op| format!(" (inside `{op}`)"))
                    .unwrap_or_default()
            ),
            RunOutcome::Panicked { service, message } => {
                format!("service `{service}` panicked: {message}")
            }
            RunOutcome::TooManyOperations { service, limit } => format!(
                "the run made more than {limit} operations (the last by `{service}`): a loop that never waits"
            ),
            RunOutcome::Spinning { service, limit } => format!(
                "service `{service}` woke up more than {limit} times without a single broker, store or downstream operation: a loop that awaits (`yield_now`, a very short sleep) but waits for nothing that can change"
            ),
        }
    }
}

/// Why a run could not even start.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum SimulationError {
    /// The tokio runtime could not be built.
    #[error("could not build the simulation runtime: {0}")]
    Runtime(String),
    /// An entity could not be created or a setup message sent.
    #[error("scenario setup failed: {0}")]
    Setup(#[from] BrokerError),
    /// A setup function returned an error.
    #[error("scenario setup failed: {0}")]
    SetupFailed(String),
}

/// A finished run: what happened, and the final state to judge.
#[derive(Clone, Debug)]
pub struct Run {
    /// The scenario's name.
    pub scenario: String,
    /// The seed that produced the plan (0 for plans not drawn at random).
    pub seed: u64,
    /// The faults of this run: with the scenario, all it takes to replay it.
    pub plan: FaultPlan,
    /// How it ended.
    pub outcome: RunOutcome,
    /// How many numbered operations the services made.
    pub operations: u64,
    /// Virtual time at the end.
    pub elapsed: Duration,
    /// Every event, in order.
    pub events: Vec<TraceEvent>,
    /// The broker, as the run left it.
    pub broker: Broker,
    /// The store, as the run left it (open transactions rolled back).
    pub store: Store,
    /// Every downstream call that took effect.
    pub downstream_calls: Vec<DownstreamCall>,
    /// In a run with a schedule, each choice of who ran the next store
    /// statement (empty otherwise).
    pub decisions: Vec<Decision>,
    /// The schedule the run was given, if it was a run with a schedule.
    pub schedule: Option<Schedule>,
}

/// Runs a scenario once on the current thread, which must not be inside a
/// tokio runtime. Use [`super::run`] from tests: it adds the watchdog.
pub(crate) fn execute(
    scenario: &Scenario,
    plan: &FaultPlan,
    seed: u64,
    trace: Trace,
    schedule: Option<Schedule>,
) -> Result<Run, SimulationError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .map_err(|error| SimulationError::Runtime(error.to_string()))?;
    let local = LocalSet::new();
    let result = local.block_on(
        &runtime,
        run_in_runtime(scenario, plan, seed, trace, schedule),
    );
    // Drop the services' futures inside the runtime: their timers and
    // transactions are released with a runtime to release them to.
    {
        let _entered = runtime.enter();
        drop(local);
    }
    drop(runtime);
    result
}

async fn run_in_runtime(
    scenario: &Scenario,
    plan: &FaultPlan,
    seed: u64,
    trace: Trace,
    schedule: Option<Schedule>,
) -> Result<Run, SimulationError> {
    let broker = Broker::with_trace(scenario.tier, trace.clone());
    for entity in &scenario.entities {
        match entity {
            EntitySpec::Queue(path, options) => broker.create_queue(path, options.clone())?,
            EntitySpec::Topic(path, options) => broker.create_topic(path, options.clone())?,
            EntitySpec::Subscription(topic, name, options) => {
                broker.create_subscription(topic, name, options.clone())?
            }
        }
    }
    let store = Store::new();
    let scheduler = schedule
        .clone()
        .map(|schedule| Arc::new(Scheduler::new(schedule)));
    let world = Arc::new(
        World::new(
            broker.clone(),
            store.clone(),
            trace.clone(),
            plan.clone(),
            scenario.max_operations,
            scenario.max_wakeups_without_operation,
            scenario.downstream.clone(),
        )
        .with_scheduler(scheduler.clone()),
    );

    let setup = ServiceCtx::new(
        Arc::clone(&world),
        Arc::from("setup"),
        Arc::new(Life::default()),
        false,
    );
    for (path, message) in &scenario.messages {
        setup.send(path, message.clone()).await?;
    }
    for body in &scenario.setups {
        body(setup.clone())
            .await
            .map_err(SimulationError::SetupFailed)?;
    }

    if let Some(scheduler) = &scheduler {
        tokio::task::spawn_local(Arc::clone(scheduler).drive());
    }
    let remaining = Rc::new(Cell::new(scenario.services.len()));
    let all_done = Rc::new(Notify::new());
    for (name, body) in &scenario.services {
        world.register_service(name);
        tokio::task::spawn_local(supervise(
            Arc::clone(&world),
            Arc::clone(name),
            Arc::clone(body),
            scenario.restart_delay,
            Rc::clone(&remaining),
            Rc::clone(&all_done),
        ));
    }

    let deadline = Instant::now() + scenario.run_for;
    let stall = scenario
        .stuck_after
        .unwrap_or_else(|| (scenario.run_for / 2).min(Duration::from_secs(600)));
    let outcome = if scenario.services.is_empty() {
        RunOutcome::Finished
    } else {
        tokio::select! {
            biased;
            _ = world.stop.notified() => world.stopped().unwrap_or(RunOutcome::DeadlineReached),
            _ = all_done.notified() => RunOutcome::Finished,
            _ = tokio::time::sleep_until(deadline) => {
                // Due timers first, so a STUCK event lands in time order.
                broker.advance();
                find_stuck(&world, stall).unwrap_or(RunOutcome::DeadlineReached)
            }
        }
    };
    // Fire what is due now, so the final state is up to date.
    broker.advance();
    Ok(Run {
        scenario: scenario.name.clone(),
        seed,
        plan: plan.clone(),
        outcome,
        operations: world.operations(),
        elapsed: world.clock.elapsed(),
        events: trace.events(),
        broker,
        store,
        downstream_calls: world.downstream_calls(),
        decisions: scheduler
            .as_ref()
            .map(|scheduler| scheduler.decisions())
            .unwrap_or_default(),
        schedule,
    })
}

/// A service still running, not waiting for a message or a change, that has
/// not started or finished an operation for `stall`.
fn find_stuck(world: &World, stall: Duration) -> Option<RunOutcome> {
    let now = Instant::now();
    world
        .services()
        .into_iter()
        .find(|(_, status)| {
            !status.finished
                && !status.waiting
                && now.saturating_duration_since(status.last_activity) >= stall
        })
        .map(|(name, status)| {
            let idle_for = now.saturating_duration_since(status.last_activity);
            let mut event =
                TraceEvent::new(world.clock.elapsed(), Arc::clone(&name), Operation::Stuck);
            event.note = Some(format!("no progress for {} s", idle_for.as_secs()).into());
            world.trace.record(event);
            RunOutcome::Stuck {
                service: name.to_string(),
                idle_for,
                in_operation: status.current,
            }
        })
}

/// How one life of a service ended.
enum Exit {
    Returned,
    Failed(String),
    Crashed,
    Panicked(String),
}

/// Runs a service, restarting it after each crash or error, until it returns
/// `Ok` or panics.
async fn supervise(
    world: Arc<World>,
    name: Arc<str>,
    body: ServiceFactory,
    restart_delay: Duration,
    remaining: Rc<Cell<usize>>,
    all_done: Rc<Notify>,
) {
    let mut restarted = false;
    loop {
        let life = Arc::new(Life::default());
        let ctx = ServiceCtx::new(
            Arc::clone(&world),
            Arc::clone(&name),
            Arc::clone(&life),
            true,
        );
        let connection = ctx.connection();
        let mut start = TraceEvent::new(world.clock.elapsed(), Arc::clone(&name), Operation::Start);
        if restarted {
            start.note = Some("restarted: memory empty".into());
        }
        world.trace.record(start);
        world.update_service(&name, |status| {
            status.last_activity = Instant::now();
            status.current = None;
            status.waiting = false;
        });

        let mut task = tokio::task::spawn_local(Watched {
            body: body(ctx),
            life: Arc::clone(&life),
            world: Arc::clone(&world),
            name: Arc::clone(&name),
        });
        let exit = tokio::select! {
            biased;
            _ = life.crash.notified() => Exit::Crashed,
            joined = &mut task => match joined {
                Ok(Ok(())) => Exit::Returned,
                Ok(Err(error)) => Exit::Failed(error),
                Err(error) if error.is_panic() => Exit::Panicked(panic_message(error.into_panic())),
                Err(_) => Exit::Crashed,
            },
        };
        // The process is gone: its future, and every task it spawned.
        task.abort();
        for child in life
            .children
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..)
        {
            child.abort();
        }
        world.broker.close_connection(connection);

        match exit {
            Exit::Returned => {
                world.update_service(&name, |status| status.finished = true);
                remaining.set(remaining.get().saturating_sub(1));
                if remaining.get() == 0 {
                    all_done.notify_one();
                }
                return;
            }
            Exit::Failed(error) => {
                let event =
                    TraceEvent::new(world.clock.elapsed(), Arc::clone(&name), Operation::Exit)
                        .with_note(format!("returned an error: {error}"));
                world.trace.record(event);
            }
            Exit::Crashed => {}
            Exit::Panicked(message) => {
                let event =
                    TraceEvent::new(world.clock.elapsed(), Arc::clone(&name), Operation::Panic)
                        .with_note(message.clone());
                world.trace.record(event);
                world.stop_with(RunOutcome::Panicked {
                    service: name.to_string(),
                    message,
                });
                return;
            }
        }
        world.update_service(&name, |status| {
            status.last_activity = Instant::now();
            status.current = None;
            status.waiting = false;
        });
        tokio::time::sleep(restart_delay).await;
        restarted = true;
    }
}

/// A service's future, counting its wake-ups: the runtime's view of a loop
/// that awaits but never gets anywhere. Each poll of the service's task is a
/// wake-up; an operation resets the count (see `ServiceCtx::before`), and
/// wake-ups while the service waits for a message or a change do not count
/// (every send to the broker wakes every waiting receiver).
struct Watched {
    body: Pin<Box<dyn Future<Output = Result<(), String>>>>,
    life: Arc<Life>,
    world: Arc<World>,
    name: Arc<str>,
}

impl Future for Watched {
    type Output = Result<(), String>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(scheduler) = &self.world.scheduler {
            scheduler.polls.fetch_add(1, Ordering::SeqCst);
        }
        if !self.life.waiting.load(Ordering::SeqCst) {
            let wakeups = self
                .life
                .wakeups_since_operation
                .fetch_add(1, Ordering::SeqCst)
                + 1;
            let limit = self.world.max_wakeups_without_operation;
            if wakeups > limit {
                // Due timers first, so the trace stays in time order.
                self.world.broker.advance();
                let mut event = TraceEvent::new(
                    self.world.clock.elapsed(),
                    Arc::clone(&self.name),
                    Operation::Stuck,
                );
                event.note =
                    Some(format!("woke up more than {limit} times without an operation").into());
                self.world.trace.record(event);
                self.world.stop_with(RunOutcome::Spinning {
                    service: self.name.to_string(),
                    limit,
                });
                // Never polled again: the run ends.
                return Poll::Pending;
            }
        }
        self.body.as_mut().poll(cx)
    }
}

/// The text of a panic payload (`panic!("…")` gives a `&str` or a `String`).
pub(crate) fn panic_message(payload: Box<dyn Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(message) => *message,
        Err(payload) => match payload.downcast::<&'static str>() {
            Ok(message) => (*message).to_owned(),
            Err(_) => "a panic with a non-text payload".to_owned(),
        },
    }
}

//! Exploration: which runs to try, and the watchdog that keeps them honest.
//!
//! 1. The **baseline**: the scenario with no faults. It counts the
//!    operations, and so the crash points (one before and one after each).
//! 2. **Every crash point**: one run per crash point, `crash-before@n` and
//!    `crash-after@n` for each operation `n` of the baseline.
//! 3. **Every fault point** (graded explorations): each fault of
//!    [`FAULT_POINTS`] alone, at each operation of the baseline.
//! 4. **Random fault plans**: N plans drawn from a seed (lost replies,
//!    unavailability, delays, duplicate deliveries, outages, more crashes),
//!    one to three faults each.
//! 5. **Every interleaving**, if asked for: one run per order in which the
//!    services' store statements can alternate, without faults, enumerated
//!    depth first (see `interleaving.rs`).
//!
//! [`explore`] makes the runs one after another on one worker thread; the
//! grader ([`runs_after_baseline`]) shares those after the baseline out
//! between a few worker threads, one per core. The calling thread watches
//! each worker: a run that takes longer than the watchdog's
//! real-time limit is reported as hung (a busy loop with no `.await` cannot
//! be interrupted, not even by tokio; so the report is made, and the stuck
//! thread is left to die with the process). Nothing here can hang `cargo
//! test`.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use super::interleaving::{Schedule, next_schedule};
use super::runtime::{Run, SimulationError, execute};
use super::scenario::Scenario;
use crate::fault::{Fault, FaultKind, FaultPlan};
use crate::trace::{Trace, render_timeline};

/// The real-time limit on one run, by default.
pub const DEFAULT_WATCHDOG: Duration = Duration::from_secs(5);

/// The environment variable that sets how many seeded random fault plans a
/// graded exploration ([`Exploration::graded`]) makes: `EDA_SEEDS=5000 cargo
/// test -p <exercise>` before calling an exercise done.
pub const SEEDS_VAR: &str = "EDA_SEEDS";
/// The environment variable that sets where a graded exploration's seeds
/// start: `EDA_SEED=7` draws a different set of plans than the default.
pub const SEED_VAR: &str = "EDA_SEED";
/// How many random plans a graded exploration makes by default: as many as
/// keep a learner's save-to-grade loop (`cargo xtask grade`, the learner's
/// crate rebuilt warm, every run of a passing file explored) within five
/// seconds. Measured on the slowest exercise (`ack-ordering`, three checks)
/// on a 2-core machine: 500 plans cost 2.3 s of CPU time from save to score,
/// rebuild included (200 plans: 1.3 s; 1,000 plans: 3.6 s), which leaves a
/// margin under five seconds of wall time even on one free core.
pub const DEFAULT_GRADED_PLANS: u64 = 500;

/// The faults a graded exploration tries alone at every operation of the
/// baseline, after the crash points: each is one kind of trouble at its
/// worst (the longest delay a random plan draws, an outage longer than a
/// lock), so a mistake that one such fault shows is found every time, not
/// only when a random plan happens to aim it at the right operation.
pub const FAULT_POINTS: [Fault; 5] = [
    Fault::LostResponse,
    Fault::Unavailable,
    Fault::Delay(Duration::from_secs(20)),
    Fault::DuplicateDelivery,
    Fault::Outage(Duration::from_secs(90)),
];

/// The most interleavings an exploration runs by default.
pub const DEFAULT_MAX_INTERLEAVINGS: u64 = 20_000;

/// Which runs an exploration makes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exploration {
    /// Whether to run each crash point of the baseline.
    pub crash_points: bool,
    /// Whether to run each fault point of the baseline: every fault of
    /// [`FAULT_POINTS`] alone, at each operation.
    pub fault_points: bool,
    /// At most this many crash points (the first ones) are explored.
    pub max_crash_points: u64,
    /// How many random fault plans to run after the crash points.
    pub random_plans: u64,
    /// The seed the random plans are drawn from.
    pub seed: u64,
    /// The kinds of fault random plans draw from.
    pub fault_kinds: Vec<FaultKind>,
    /// The real-time limit on one run.
    pub watchdog: Duration,
    /// Whether [`SEEDS_VAR`] and [`SEED_VAR`] may change `random_plans` and
    /// `seed` when a check runs (see [`Exploration::graded`]).
    pub seeds_from_env: bool,
    /// Whether to run every interleaving of the services' store statements
    /// (after the random plans).
    pub interleavings: bool,
    /// The most interleavings to run: an exploration that would need more
    /// stops with [`Interrupted::TooManyInterleavings`] rather than pass
    /// having seen only some.
    pub max_interleavings: u64,
}

impl Default for Exploration {
    /// Every crash point, then 20 random plans from seed 0 with every kind of
    /// fault; a 5-second watchdog.
    fn default() -> Exploration {
        Exploration {
            crash_points: true,
            fault_points: false,
            max_crash_points: 2_000,
            random_plans: 20,
            seed: 0,
            fault_kinds: FaultKind::ALL.to_vec(),
            watchdog: DEFAULT_WATCHDOG,
            seeds_from_env: false,
            interleavings: false,
            max_interleavings: DEFAULT_MAX_INTERLEAVINGS,
        }
    }
}

/// Why [`SEEDS_VAR`] or [`SEED_VAR`] could not be used.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("{var}={value:?} is not a whole number: {expected}")]
pub struct SeedsError {
    /// The variable.
    pub var: &'static str,
    /// What it was set to.
    pub value: String,
    /// What it should be.
    pub expected: &'static str,
}

impl Exploration {
    /// Only the baseline: the happy path.
    pub fn happy_path() -> Exploration {
        Exploration {
            crash_points: false,
            random_plans: 0,
            ..Exploration::default()
        }
    }

    /// What a graded check explores: the baseline, every crash point, and
    /// [`DEFAULT_GRADED_PLANS`] random plans of every kind of fault, unless
    /// [`SEEDS_VAR`] or [`SEED_VAR`] say otherwise when the check runs (see
    /// [`Exploration::with_env_seeds`]).
    pub fn graded() -> Exploration {
        Exploration {
            fault_points: true,
            random_plans: DEFAULT_GRADED_PLANS,
            seeds_from_env: true,
            ..Exploration::default()
        }
    }

    /// This exploration with [`SEEDS_VAR`] (how many random plans) and
    /// [`SEED_VAR`] (where their seeds start) applied, if it takes its seeds
    /// from the environment ([`Exploration::graded`]); otherwise unchanged.
    pub fn with_env_seeds(self) -> Result<Exploration, SeedsError> {
        let plans = std::env::var(SEEDS_VAR)
            .ok()
            .map(|value| (SEEDS_VAR, value));
        let seed = std::env::var(SEED_VAR).ok();
        self.with_seeds_from(
            plans.as_ref().map(|(var, value)| (*var, value.as_str())),
            seed.as_deref(),
        )
    }

    /// As [`Exploration::with_env_seeds`], with the values given (for tests):
    /// `plans` is the variable's name and value.
    pub fn with_seeds_from(
        mut self,
        plans: Option<(&'static str, &str)>,
        seed: Option<&str>,
    ) -> Result<Exploration, SeedsError> {
        if !self.seeds_from_env {
            return Ok(self);
        }
        if let Some((var, value)) = plans {
            self.random_plans = value.trim().parse().map_err(|_| SeedsError {
                var,
                value: value.to_owned(),
                expected: "how many random fault plans to explore, e.g. 1000",
            })?;
        }
        if let Some(value) = seed {
            self.seed = value.trim().parse().map_err(|_| SeedsError {
                var: SEED_VAR,
                value: value.to_owned(),
                expected: "the first seed of the random fault plans, e.g. 7",
            })?;
        }
        Ok(self)
    }

    /// The seeds the random plans are drawn from, first and last (none when
    /// there are no random plans).
    pub fn seed_range(&self) -> Option<(u64, u64)> {
        (self.random_plans > 0).then(|| (self.plan_seed(0), self.plan_seed(self.random_plans - 1)))
    }

    /// The seed of random plan `index`: each plan gets its own, derived from
    /// the exploration's, so a report can name the one seed that drew it.
    fn plan_seed(&self, index: u64) -> u64 {
        self.seed.wrapping_mul(1_000_003).wrapping_add(index + 1)
    }

    /// How many crash points follow a baseline of `operations` operations.
    pub fn crash_point_count(&self, operations: u64) -> u64 {
        if self.crash_points {
            (operations * 2).min(self.max_crash_points)
        } else {
            0
        }
    }

    /// How many fault points follow the crash points.
    pub fn fault_point_count(&self, operations: u64) -> u64 {
        if self.fault_points {
            (operations * FAULT_POINTS.len() as u64).min(self.max_crash_points)
        } else {
            0
        }
    }

    /// Turns fault-point exploration on or off.
    pub fn with_fault_points(mut self, on: bool) -> Exploration {
        self.fault_points = on;
        self
    }

    /// For a scenario too long to run at every crash and fault point (a
    /// whole night, an afternoon's outage): the run without faults, then
    /// `plans` random plans of the faults a consumer meets on any day
    /// (crashes, lost responses, unavailable calls, duplicate deliveries).
    /// `EDA_SEEDS` and `EDA_SEED` choose the plans as in every check, but at
    /// most `max_plans` of them, since each plan is a whole long run.
    pub fn long_runs(plans: u64, max_plans: u64) -> Exploration {
        let long = Exploration {
            crash_points: false,
            fault_points: false,
            ..Exploration::graded()
        }
        .with_fault_kinds(&[
            FaultKind::CrashBefore,
            FaultKind::CrashAfter,
            FaultKind::LostResponse,
            FaultKind::Unavailable,
            FaultKind::DuplicateDelivery,
        ])
        .with_random_plans(plans);
        match long.clone().with_env_seeds() {
            Ok(chosen) => Exploration {
                random_plans: chosen.random_plans.min(max_plans),
                // Already applied: the check must not apply them again.
                seeds_from_env: false,
                ..chosen
            },
            // A value that is not a number: the check reports it, with the
            // variable's name, when it applies the environment itself.
            Err(_) => long,
        }
    }

    /// The baseline and every crash point, no random plans.
    pub fn every_crash_point() -> Exploration {
        Exploration {
            random_plans: 0,
            ..Exploration::default()
        }
    }

    /// Sets the number of random plans.
    pub fn with_random_plans(mut self, count: u64) -> Exploration {
        self.random_plans = count;
        self
    }

    /// Sets the seed of the random plans.
    pub fn with_seed(mut self, seed: u64) -> Exploration {
        self.seed = seed;
        self
    }

    /// Restricts random plans to these kinds of fault.
    pub fn with_fault_kinds(mut self, kinds: &[FaultKind]) -> Exploration {
        self.fault_kinds = kinds.to_vec();
        self
    }

    /// Turns crash-point exploration on or off.
    pub fn with_crash_points(mut self, on: bool) -> Exploration {
        self.crash_points = on;
        self
    }

    /// Runs every interleaving of the services' store statements too, at
    /// most `max` of them.
    pub fn with_every_interleaving(mut self, max: u64) -> Exploration {
        self.interleavings = true;
        self.max_interleavings = max;
        self
    }

    /// Sets the real-time limit on one run.
    pub fn with_watchdog(mut self, limit: Duration) -> Exploration {
        self.watchdog = limit;
        self
    }

    /// The plans after the baseline, given its operation count, each with the
    /// seed that drew it (0 for crash points).
    pub fn plans_after_baseline(&self, baseline_operations: u64) -> Vec<(u64, FaultPlan)> {
        let mut plans = Vec::new();
        for point in 0..self.crash_point_count(baseline_operations) {
            let fault = if point % 2 == 0 {
                Fault::CrashBefore
            } else {
                Fault::CrashAfter
            };
            plans.push((0, FaultPlan::single(point / 2, fault)));
        }
        let faults = FAULT_POINTS.len() as u64;
        for point in 0..self.fault_point_count(baseline_operations) {
            let fault = FAULT_POINTS[(point % faults) as usize];
            plans.push((0, FaultPlan::single(point / faults, fault)));
        }
        for index in 0..self.random_plans {
            let seed = self.plan_seed(index);
            plans.push((
                seed,
                FaultPlan::random(seed, baseline_operations.max(1), &self.fault_kinds),
            ));
        }
        plans
    }
}

/// Why an exploration stopped before it finished.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum Interrupted {
    /// A run did not finish within the watchdog's real-time limit.
    #[error("the run with fault plan `{plan}` (seed {seed}) did not finish within {} s of real time: a loop that never reaches an `.await`, or a blocking call, in service code", limit.as_secs_f64())]
    Hung {
        /// The run's plan.
        plan: FaultPlan,
        /// The run's seed.
        seed: u64,
        /// The watchdog's limit.
        limit: Duration,
        /// The last events the run recorded, as a timeline.
        last_events: String,
    },
    /// The run could not start.
    #[error(transparent)]
    Simulation(#[from] SimulationError),
    /// The services' store statements can interleave in more ways than the
    /// exploration may run, so it could not try them all.
    #[error(
        "the services' store statements interleave in more than {limit} ways, too many to try them all: make fewer statements per message (a retry loop needs a small bound)"
    )]
    TooManyInterleavings {
        /// The exploration's limit.
        limit: u64,
    },
    /// The grader itself (an invariant, say) panicked.
    #[error("the grader panicked: {0}")]
    GraderPanicked(String),
}

/// What the watchdog can see of the run in progress.
#[derive(Default)]
struct CurrentRun {
    plan: FaultPlan,
    seed: u64,
    started: Option<std::time::Instant>,
    trace: Option<Trace>,
}

/// Runs a scenario once with a plan, on a worker thread with the watchdog.
pub fn run(scenario: &Scenario, plan: &FaultPlan) -> Result<Run, Interrupted> {
    run_with(scenario, plan, 0, DEFAULT_WATCHDOG)
}

/// As [`run`], with the seed to record and a watchdog limit.
pub fn run_with(
    scenario: &Scenario,
    plan: &FaultPlan,
    seed: u64,
    watchdog: Duration,
) -> Result<Run, Interrupted> {
    let scenario = scenario.clone();
    let plan = plan.clone();
    let mut runs = on_worker(watchdog, move |runner| {
        let run = runner.run(&scenario, &plan, seed, None)?;
        Ok(vec![run])
    })?;
    runs.pop()
        .ok_or_else(|| Interrupted::GraderPanicked("the run returned nothing".to_owned()))
}

/// Runs a scenario once, without faults, with `schedule` choosing who runs
/// each store statement (see `interleaving.rs`); with the watchdog.
pub fn run_scheduled(
    scenario: &Scenario,
    schedule: &[usize],
    watchdog: Duration,
) -> Result<Run, Interrupted> {
    let scenario = scenario.clone();
    let schedule = schedule.to_vec();
    let mut runs = on_worker(watchdog, move |runner| {
        let run = runner.run(&scenario, &FaultPlan::none(), 0, Some(schedule))?;
        Ok(vec![run])
    })?;
    runs.pop()
        .ok_or_else(|| Interrupted::GraderPanicked("the run returned nothing".to_owned()))
}

/// Explores a scenario (baseline, crash points, random plans), calling
/// `visit` with each run on the worker thread and collecting what it returns,
/// in run order. Only the summaries cross back, not the runs, so exploring
/// thousands of runs takes the memory of one.
pub fn explore<R, V>(
    scenario: &Scenario,
    exploration: &Exploration,
    mut visit: V,
) -> Result<Vec<R>, Interrupted>
where
    R: Send + 'static,
    V: FnMut(Run) -> R + Send + 'static,
{
    explore_until(scenario, exploration, move |run| {
        ControlFlow::Continue(visit(run))
    })
}

/// As [`explore`], but `visit` may stop the exploration early by returning
/// [`ControlFlow::Break`] (its value is kept as the last result). A grader
/// stops when the baseline already fails: faults cannot make that clearer.
pub fn explore_until<R, V>(
    scenario: &Scenario,
    exploration: &Exploration,
    mut visit: V,
) -> Result<Vec<R>, Interrupted>
where
    R: Send + 'static,
    V: FnMut(Run) -> ControlFlow<R, R> + Send + 'static,
{
    let scenario = scenario.clone();
    let exploration = exploration.clone();
    on_worker(exploration.watchdog, move |runner| {
        let baseline = runner.run(&scenario, &FaultPlan::none(), 0, None)?;
        let operations = baseline.operations;
        let mut results = Vec::new();
        match visit(baseline) {
            ControlFlow::Continue(result) => results.push(result),
            ControlFlow::Break(result) => {
                results.push(result);
                return Ok(results);
            }
        }
        for (seed, plan) in exploration.plans_after_baseline(operations) {
            let run = runner.run(&scenario, &plan, seed, None)?;
            match visit(run) {
                ControlFlow::Continue(result) => results.push(result),
                ControlFlow::Break(result) => {
                    results.push(result);
                    return Ok(results);
                }
            }
        }
        if exploration.interleavings {
            let mut schedule: Option<Schedule> = Some(Vec::new());
            let mut tried = 0;
            while let Some(next) = schedule {
                if tried == exploration.max_interleavings {
                    return Err(Interrupted::TooManyInterleavings {
                        limit: exploration.max_interleavings,
                    });
                }
                tried += 1;
                let run = runner.run(&scenario, &FaultPlan::none(), 0, Some(next))?;
                schedule = next_schedule(&run.decisions);
                match visit(run) {
                    ControlFlow::Continue(result) => results.push(result),
                    ControlFlow::Break(result) => {
                        results.push(result);
                        break;
                    }
                }
            }
        }
        Ok(results)
    })
}

/// Hands runs to the worker thread's job, telling the watchdog about each.
pub(crate) struct Runner {
    current: Arc<Mutex<CurrentRun>>,
    /// The watchdog's limit on one run.
    watchdog: Duration,
}

impl Runner {
    pub(crate) fn run(
        &self,
        scenario: &Scenario,
        plan: &FaultPlan,
        seed: u64,
        schedule: Option<Schedule>,
    ) -> Result<Run, Interrupted> {
        let trace = Trace::new();
        {
            let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
            *current = CurrentRun {
                plan: plan.clone(),
                seed,
                started: Some(std::time::Instant::now()),
                trace: Some(trace.clone()),
            };
        }
        let run = execute(scenario, plan, seed, trace, schedule)?;
        self.current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .started = None;
        Ok(run)
    }
}

/// Runs `job` on a fresh thread while this thread watches the run in
/// progress; returns the job's result, or why it was interrupted.
pub(crate) fn on_worker<R, J>(watchdog: Duration, job: J) -> Result<R, Interrupted>
where
    R: Send + 'static,
    J: FnOnce(&Runner) -> Result<R, Interrupted> + Send + 'static,
{
    let current = Arc::new(Mutex::new(CurrentRun::default()));
    let runner = Runner {
        current: Arc::clone(&current),
        watchdog,
    };
    let (done, finished) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("eda-simulation".to_owned())
        .spawn(move || {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&runner)))
                .unwrap_or_else(|payload| {
                    Err(Interrupted::GraderPanicked(super::runtime::panic_message(
                        payload,
                    )))
                });
            // The watcher may have given up on us already: nothing to do then.
            let _ = done.send(outcome);
        });
    if let Err(error) = spawned {
        return Err(Interrupted::Simulation(SimulationError::Runtime(
            error.to_string(),
        )));
    }
    let tick = Duration::from_millis(20).min(watchdog);
    loop {
        match finished.recv_timeout(tick) {
            Ok(outcome) => return outcome,
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(Interrupted::GraderPanicked(
                    "the simulation thread ended without a result".to_owned(),
                ));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                // `try_lock`: if the stuck thread somehow holds this lock, we
                // still must not block; we look again next tick.
                let Ok(current) = current.try_lock() else {
                    continue;
                };
                if current
                    .started
                    .is_some_and(|started| started.elapsed() >= watchdog)
                {
                    let last_events = current
                        .trace
                        .as_ref()
                        .map(|trace| render_timeline(&trace.last_events(12)))
                        .unwrap_or_default();
                    return Err(Interrupted::Hung {
                        plan: current.plan.clone(),
                        seed: current.seed,
                        limit: watchdog,
                        last_events,
                    });
                }
            }
        }
    }
}

/// The runs of one scenario made so far, by seed, plan and schedule: the
/// grader keeps them so that the checks exploring the same scenario make
/// each run once (see `grading::shared`). A run is made by the first worker
/// that asks for it; a worker that asks while it is being made waits for it,
/// under its own watchdog, which sees the same trace.
#[derive(Default)]
pub(crate) struct MadeRuns {
    slots: Mutex<HashMap<RunKey, Arc<RunSlot>>>,
}

/// What makes a run of a given scenario what it is.
type RunKey = (u64, FaultPlan, Option<Schedule>);

/// One run, made once.
#[derive(Default)]
struct RunSlot {
    /// Its trace while it is being made, for the watchdog's report.
    trace: Trace,
    made: OnceLock<Result<Arc<Run>, Interrupted>>,
}

/// The most runs kept in the whole process for checks still to come, some
/// 150 KB each: a learner's grade explores fewer than 800 runs of a scenario,
/// all kept; `EDA_SEEDS=5000` or `verify` make thousands, of which only
/// these are shared, the rest made by each check that asks and dropped once
/// judged.
const KEPT_RUNS: usize = 2_000;

/// How many runs every [`MadeRuns`] together keeps now.
static KEPT: AtomicUsize = AtomicUsize::new(0);

impl MadeRuns {
    /// The slot of the run with this key: the one kept, or a new one, kept
    /// if the process keeps fewer than [`KEPT_RUNS`].
    fn slot(&self, key: RunKey) -> Arc<RunSlot> {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(slot) = slots.get(&key) {
            return Arc::clone(slot);
        }
        let slot = Arc::new(RunSlot::default());
        let room = KEPT.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |kept| {
            (kept < KEPT_RUNS).then_some(kept + 1)
        });
        if room.is_ok() {
            slots.insert(key, Arc::clone(&slot));
        }
        slot
    }
}

impl Drop for MadeRuns {
    fn drop(&mut self) {
        let kept = self
            .slots
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        KEPT.fetch_sub(kept, Ordering::SeqCst);
    }
}

impl Runner {
    /// The run of `scenario` with this plan, seed and schedule: made now,
    /// or the one already made (or being made) for another check.
    fn run_once(
        &self,
        made: &MadeRuns,
        scenario: &Scenario,
        plan: &FaultPlan,
        seed: u64,
        schedule: Option<Schedule>,
    ) -> Result<Arc<Run>, Interrupted> {
        let slot = made.slot((seed, plan.clone(), schedule.clone()));
        if let Some(run) = slot.made.get() {
            return run.clone();
        }
        // At most one run per core at a time in the whole process, whatever
        // the number of checks and workers: a run's real time is what the
        // watchdog limits, and more runs than cores would stretch it. The
        // watchdog starts once the core is ours.
        let _core = CORES.take(self.watchdog);
        {
            let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
            *current = CurrentRun {
                plan: plan.clone(),
                seed,
                started: Some(std::time::Instant::now()),
                trace: Some(slot.trace.clone()),
            };
        }
        let run = slot
            .made
            .get_or_init(|| {
                // A panic is this run's outcome, for every check that asks:
                // made again, it would append to the same trace.
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    execute(scenario, plan, seed, slot.trace.clone(), schedule)
                }))
                .map_err(|payload| {
                    Interrupted::GraderPanicked(super::runtime::panic_message(payload))
                })
                .and_then(|made| made.map(Arc::new).map_err(Interrupted::from))
            })
            .clone();
        self.current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .started = None;
        run
    }
}

/// A counting semaphore: one permit per core.
struct Cores {
    free: Mutex<Option<usize>>,
    freed: Condvar,
}

/// The permits to make a run, shared by every exploration of the process.
static CORES: Cores = Cores {
    free: Mutex::new(None),
    freed: Condvar::new(),
};

/// A permit to make a run, given back when dropped; or none, when none came
/// free in time.
struct Core<'a>(Option<&'a Cores>);

impl Cores {
    /// Waits for a free core and takes it; after `patience` without one,
    /// goes ahead without. A run that hangs keeps its core for good (its
    /// thread cannot be stopped), so waiting for ever could stop every
    /// exploration after it.
    fn take(&self, patience: Duration) -> Core<'_> {
        let deadline = std::time::Instant::now() + patience;
        let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            let left = free
                .get_or_insert_with(|| std::thread::available_parallelism().map_or(1, usize::from));
            if *left > 0 {
                *left -= 1;
                return Core(Some(self));
            }
            let now = std::time::Instant::now();
            if now >= deadline {
                return Core(None);
            }
            free = self
                .freed
                .wait_timeout(free, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

impl Drop for Core<'_> {
    fn drop(&mut self) {
        let Some(cores) = self.0 else {
            return;
        };
        let mut free = cores.free.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(left) = free.as_mut() {
            *left += 1;
        }
        cores.freed.notify_one();
    }
}

/// The run of `scenario` without faults, under the watchdog, made once in
/// `made`.
pub(crate) fn baseline_once(
    made: &Arc<MadeRuns>,
    scenario: &Scenario,
    watchdog: Duration,
) -> Result<Arc<Run>, Interrupted> {
    let made = Arc::clone(made);
    let scenario = scenario.clone();
    on_worker(watchdog, move |runner| {
        runner.run_once(&made, &scenario, &FaultPlan::none(), 0, None)
    })
}

/// What to do with each run of [`runs_after_baseline`], given its position
/// among them (from 0), on the worker thread that made it.
pub(crate) type Visit<R> = Arc<dyn Fn(usize, &Run) -> R + Send + Sync>;

/// Every run of an exploration after its baseline (the crash points, the
/// fault points, the random plans, then the interleavings), in the order
/// [`explore`] makes them, given the baseline's operation count, each handed
/// to `visit` as soon as it is made: what `visit` returns is collected, in
/// that order, so the runs themselves need not stay in memory; or the first
/// run, in that order, that was interrupted (a panic in `visit` is one).
/// Each run is made once in `made`: a run another exploration of the
/// scenario made is not made again, while `made` keeps it.
///
/// The runs with a plan are independent of each other, so `workers` threads
/// share them out (each under its own watchdog, as [`explore`]'s one
/// worker); the interleavings follow on one worker, as each depends on the
/// run before it. The result does not depend on how many workers there are:
/// each run is made from its scenario, plan and seed alone, and when runs
/// are interrupted, every run before the first of them has been made, as it
/// would have been one after another.
pub(crate) fn runs_after_baseline<R: Send + 'static>(
    made: &Arc<MadeRuns>,
    scenario: &Scenario,
    exploration: &Exploration,
    baseline_operations: u64,
    workers: usize,
    visit: Visit<R>,
) -> Result<Vec<R>, Interrupted> {
    let plans: Arc<[(u64, FaultPlan)]> =
        exploration.plans_after_baseline(baseline_operations).into();
    let runs: Arc<Mutex<Vec<Option<R>>>> =
        Arc::new(Mutex::new((0..plans.len()).map(|_| None).collect()));
    let next = Arc::new(AtomicUsize::new(0));
    // The index of the earliest run interrupted so far: no worker starts a
    // later one, since the exploration stops there.
    let first_interrupted = Arc::new(AtomicUsize::new(usize::MAX));
    let workers = workers.clamp(1, plans.len().max(1));
    let interruptions: Vec<(usize, Interrupted)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let made = Arc::clone(made);
                let scenario = scenario.clone();
                let plans = Arc::clone(&plans);
                let runs = Arc::clone(&runs);
                let next = Arc::clone(&next);
                let first_interrupted = Arc::clone(&first_interrupted);
                let visit = Arc::clone(&visit);
                let watchdog = exploration.watchdog;
                scope.spawn(move || {
                    // The run this worker is making, for the watchdog's
                    // report of which one hung.
                    let current = Arc::new(AtomicUsize::new(usize::MAX));
                    let job_current = Arc::clone(&current);
                    let job_first = Arc::clone(&first_interrupted);
                    let outcome = on_worker(watchdog, move |runner| {
                        loop {
                            let index = next.fetch_add(1, Ordering::SeqCst);
                            if index >= plans.len() || index > job_first.load(Ordering::SeqCst) {
                                return Ok(());
                            }
                            job_current.store(index, Ordering::SeqCst);
                            let (seed, plan) = &plans[index];
                            let run = runner.run_once(&made, &scenario, plan, *seed, None)?;
                            let result = visit(index, &run);
                            runs.lock().unwrap_or_else(PoisonError::into_inner)[index] =
                                Some(result);
                        }
                    });
                    outcome.err().map(|interrupted| {
                        let index = current.load(Ordering::SeqCst);
                        first_interrupted.fetch_min(index, Ordering::SeqCst);
                        (index, interrupted)
                    })
                })
            })
            .collect();
        handles
            .into_iter()
            .filter_map(|handle| match handle.join() {
                Ok(interruption) => interruption,
                // `on_worker` catches the job's panics; this would be one
                // of its own.
                Err(payload) => Some((
                    usize::MAX,
                    Interrupted::GraderPanicked(super::runtime::panic_message(payload)),
                )),
            })
            .collect()
    });
    if let Some((_, interrupted)) = interruptions.into_iter().min_by_key(|(index, _)| *index) {
        return Err(interrupted);
    }
    let made_runs = std::mem::take(&mut *runs.lock().unwrap_or_else(PoisonError::into_inner));
    let mut runs = Vec::with_capacity(made_runs.len());
    for run in made_runs {
        runs.push(run.ok_or_else(|| {
            Interrupted::GraderPanicked("a run of the exploration was never made".to_owned())
        })?);
    }
    if exploration.interleavings {
        let made = Arc::clone(made);
        let scenario = scenario.clone();
        let exploration = exploration.clone();
        let first = runs.len();
        runs.extend(on_worker(exploration.watchdog, move |runner| {
            let mut runs = Vec::new();
            let mut schedule: Option<Schedule> = Some(Vec::new());
            let mut tried = 0;
            while let Some(next) = schedule {
                if tried == exploration.max_interleavings {
                    return Err(Interrupted::TooManyInterleavings {
                        limit: exploration.max_interleavings,
                    });
                }
                tried += 1;
                let run = runner.run_once(&made, &scenario, &FaultPlan::none(), 0, Some(next))?;
                schedule = next_schedule(&run.decisions);
                runs.push(visit(first + runs.len(), &run));
            }
            Ok(runs)
        })?);
    }
    Ok(runs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulation::ServiceCtx;
    use crate::{BrokerError, Message, QueueOptions};

    async fn forward(ctx: ServiceCtx) -> Result<(), BrokerError> {
        loop {
            let order = ctx.receive("orders").await?;
            ctx.send(
                "results",
                Message::new(format!("{}-done", order.message_id()), "ok"),
            )
            .await?;
            ctx.complete(&order).await?;
        }
    }

    #[test]
    fn past_the_budget_runs_are_made_for_one_check_and_not_kept() {
        let made = MadeRuns::default();
        let keys = (0..KEPT_RUNS as u64 + 10).map(|seed| (seed, FaultPlan::none(), None));
        for key in keys {
            let _ = made.slot(key);
        }
        let kept = made.slots.lock().map(|slots| slots.len()).unwrap_or(0);
        assert!(kept <= KEPT_RUNS, "{kept} runs kept");
        // A run past the budget gets a slot of its own each time it is
        // asked for: nothing keeps it.
        let key = || (KEPT_RUNS as u64 + 9, FaultPlan::none(), None);
        assert!(!Arc::ptr_eq(&made.slot(key()), &made.slot(key())));
    }

    #[test]
    fn the_runs_are_the_same_whatever_the_number_of_workers() {
        let scenario = Scenario::new("forward")
            .queue("orders", QueueOptions::default())
            .queue("results", QueueOptions::default())
            .messages(
                "orders",
                (1..=2).map(|n| Message::new(format!("order-{n}"), "x")),
            )
            .service("forwarder", forward);
        let exploration = Exploration::graded().with_random_plans(12);
        let baseline = run(&scenario, &FaultPlan::none()).expect("the baseline runs");
        let made = |workers| {
            let visit: Visit<(usize, u64, String, String)> = Arc::new(|index, run: &Run| {
                (
                    index,
                    run.seed,
                    run.plan.to_string(),
                    render_timeline(&run.events),
                )
            });
            runs_after_baseline(
                &Arc::new(MadeRuns::default()),
                &scenario,
                &exploration,
                baseline.operations,
                workers,
                visit,
            )
        };
        let alone = made(1).expect("one worker makes every run");
        let shared = made(3).expect("three workers make every run");
        assert_eq!(
            alone.len() as u64,
            exploration.crash_point_count(baseline.operations)
                + exploration.fault_point_count(baseline.operations)
                + 12
        );
        assert_eq!(alone, shared);
        assert!(
            alone
                .iter()
                .enumerate()
                .all(|(at, (index, ..))| at == *index)
        );
    }
}

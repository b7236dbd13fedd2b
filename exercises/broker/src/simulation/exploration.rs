//! Exploration: which runs to try, and the watchdog that keeps them honest.
//!
//! 1. The **baseline**: the scenario with no faults. It counts the
//!    operations, and so the crash points (one before and one after each).
//! 2. **Every crash point**: one run per crash point, `crash-before@n` and
//!    `crash-after@n` for each operation `n` of the baseline.
//! 3. **Every pause point**, when asked for
//!    ([`Exploration::with_pause_points`]): one run per operation `n` of the
//!    baseline, held up for a while (`delay-<d>ms@n`). A crash ends what a
//!    service was doing; a pause lets every other service go on meanwhile,
//!    which is how two competing consumers end up racing (a read, a pause,
//!    then a write that another consumer's newer write has made stale).
//! 4. **Random fault plans**: N plans drawn from a seed (lost replies,
//!    unavailability, delays, duplicate deliveries, outages, more crashes).
//!
//! All runs of an exploration happen one after another on one worker thread.
//! The calling thread watches it: a run that takes longer than the watchdog's
//! real-time limit is reported as hung (a busy loop with no `.await` cannot
//! be interrupted, not even by tokio; so the report is made, and the stuck
//! thread is left to die with the process). Nothing here can hang `cargo
//! test`.

use std::ops::ControlFlow;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::runtime::{Run, SimulationError, execute};
use super::scenario::Scenario;
use crate::fault::{Fault, FaultKind, FaultPlan};
use crate::trace::{Trace, render_timeline};

/// The real-time limit on one run, by default.
pub const DEFAULT_WATCHDOG: Duration = Duration::from_secs(5);

/// Which runs an exploration makes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exploration {
    /// Whether to run each crash point of the baseline.
    pub crash_points: bool,
    /// At most this many crash points (the first ones) are explored.
    pub max_crash_points: u64,
    /// `Some(pause)`: after the crash points, one run per operation of the
    /// baseline with that operation held up for `pause` (see
    /// [`Exploration::with_pause_points`]). `None` by default.
    pub pause_points: Option<Duration>,
    /// How many random fault plans to run after the crash points.
    pub random_plans: u64,
    /// The seed the random plans are drawn from.
    pub seed: u64,
    /// The kinds of fault random plans draw from.
    pub fault_kinds: Vec<FaultKind>,
    /// The real-time limit on one run.
    pub watchdog: Duration,
}

impl Default for Exploration {
    /// Every crash point, then 20 random plans from seed 0 with every kind of
    /// fault; a 5-second watchdog.
    fn default() -> Exploration {
        Exploration {
            crash_points: true,
            max_crash_points: 2_000,
            pause_points: None,
            random_plans: 20,
            seed: 0,
            fault_kinds: FaultKind::ALL.to_vec(),
            watchdog: DEFAULT_WATCHDOG,
        }
    }
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

    /// After the crash points, runs the scenario once per operation of the
    /// baseline with that operation held up for `pause`: every place where a
    /// slow step lets the other services overtake this one. (At most
    /// `max_crash_points / 2` of them, as for crash points.)
    pub fn with_pause_points(mut self, pause: Duration) -> Exploration {
        self.pause_points = Some(pause);
        self
    }

    /// How many pause-point runs follow the crash points for a baseline of
    /// `baseline_operations` operations.
    pub fn pause_point_count(&self, baseline_operations: u64) -> u64 {
        match self.pause_points {
            Some(_) => baseline_operations.min(self.max_crash_points / 2),
            None => 0,
        }
    }

    /// Turns crash-point exploration on or off.
    pub fn with_crash_points(mut self, on: bool) -> Exploration {
        self.crash_points = on;
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
        if self.crash_points {
            let points = (baseline_operations * 2).min(self.max_crash_points);
            for point in 0..points {
                let fault = if point % 2 == 0 {
                    Fault::CrashBefore
                } else {
                    Fault::CrashAfter
                };
                plans.push((0, FaultPlan::single(point / 2, fault)));
            }
        }
        if let Some(pause) = self.pause_points {
            for operation in 0..self.pause_point_count(baseline_operations) {
                plans.push((0, FaultPlan::single(operation, Fault::Delay(pause))));
            }
        }
        for index in 0..self.random_plans {
            // Each plan gets its own seed, derived from the exploration's, so
            // a report can name the one seed that drew it.
            let seed = self.seed.wrapping_mul(1_000_003).wrapping_add(index + 1);
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
        let run = runner.run(&scenario, &plan, seed)?;
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
        let baseline = runner.run(&scenario, &FaultPlan::none(), 0)?;
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
            let run = runner.run(&scenario, &plan, seed)?;
            match visit(run) {
                ControlFlow::Continue(result) => results.push(result),
                ControlFlow::Break(result) => {
                    results.push(result);
                    break;
                }
            }
        }
        Ok(results)
    })
}

/// Hands runs to the worker thread's job, telling the watchdog about each.
pub(crate) struct Runner {
    current: Arc<Mutex<CurrentRun>>,
}

impl Runner {
    pub(crate) fn run(
        &self,
        scenario: &Scenario,
        plan: &FaultPlan,
        seed: u64,
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
        let run = execute(scenario, plan, seed, trace)?;
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

//! One exploration's runs, made once and judged by every check that asks.
//!
//! The checks of a rubric usually explore the same scenario the same way and
//! differ only in their invariants: each is its own `#[test]`, so without
//! sharing, the same few hundred runs were made once per check. A run is
//! determined by its scenario, plan and seed (virtual time, seeded plans),
//! so the runs one check makes are the runs any other would: here the first
//! check to ask makes them, any other that asks meanwhile waits for them,
//! and every check then judges the same runs with its own invariants. The
//! verdicts and reports are the ones each check would reach alone.
//!
//! Two checks share runs when their scenarios have the same
//! [`Scenario::fingerprint`] and their explorations are equal (after
//! `EDA_SEEDS` and `EDA_SEED` are applied). A scenario without a fingerprint
//! (a service that is a closure holding data) is explored for its check
//! alone, as before.
//!
//! The runs are kept in memory for the checks still to come, for the few
//! most recent explorations only ([`KEPT`]): a checks binary needs one or
//! two, and a test binary that tries many scenarios one after another (the
//! grader's own teeth tests) does not pile them all up.
//!
//! The baseline is made on its own first: a check whose baseline already
//! fails needs no other run, so a starter that fails without faults costs
//! one run, not the whole exploration.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use crate::simulation::{self, Exploration, Interrupted, Run, Scenario};

/// How many explorations' runs are kept for checks still to come.
const KEPT: usize = 4;

/// The runs of one exploration, made when first asked for.
#[derive(Default)]
pub(crate) struct SharedRuns {
    baseline: OnceLock<Result<Arc<Run>, Interrupted>>,
    rest: OnceLock<Result<Arc<[Run]>, Interrupted>>,
}

/// The explorations whose runs are kept, the most recently used last.
static KEPT_RUNS: Mutex<Vec<(String, Arc<SharedRuns>)>> = Mutex::new(Vec::new());

impl SharedRuns {
    /// The runs of `exploration` of `scenario`: the ones already made for
    /// another check, if their fingerprints match; otherwise new ones, kept
    /// for the checks that may follow.
    pub(crate) fn of(scenario: &Scenario, exploration: &Exploration) -> Arc<SharedRuns> {
        let Some(fingerprint) = scenario.fingerprint() else {
            return Arc::new(SharedRuns::default());
        };
        let key = format!("{fingerprint}\n{exploration:?}");
        let mut kept = KEPT_RUNS.lock().unwrap_or_else(PoisonError::into_inner);
        let runs = match kept.iter().position(|(known, _)| *known == key) {
            Some(position) => kept.remove(position).1,
            None => Arc::new(SharedRuns::default()),
        };
        kept.push((key, Arc::clone(&runs)));
        if kept.len() > KEPT {
            kept.remove(0);
        }
        runs
    }

    /// The run without faults, made by the first check that asks (the
    /// others wait for it).
    pub(crate) fn baseline(
        &self,
        scenario: &Scenario,
        exploration: &Exploration,
    ) -> Result<Arc<Run>, Interrupted> {
        self.baseline
            .get_or_init(|| {
                simulation::run_with(
                    scenario,
                    &crate::fault::FaultPlan::none(),
                    0,
                    exploration.watchdog,
                )
                .map(Arc::new)
            })
            .clone()
    }

    /// Every run after the baseline, in the exploration's order, made by the
    /// first check that asks, on as many threads as there are cores.
    pub(crate) fn rest(
        &self,
        scenario: &Scenario,
        exploration: &Exploration,
        baseline_operations: u64,
    ) -> Result<Arc<[Run]>, Interrupted> {
        self.rest
            .get_or_init(|| {
                let workers = std::thread::available_parallelism().map_or(1, usize::from);
                simulation::runs_after_baseline(scenario, exploration, baseline_operations, workers)
                    .map(Arc::from)
            })
            .clone()
    }
}

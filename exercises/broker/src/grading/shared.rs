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
//! [`Scenario::fingerprint`]: each run is then the same run, whatever
//! exploration asks for it, so a check that explores fewer runs than
//! another (no fault points, say) judges a subset of the other's. A scenario
//! without a fingerprint (a service that is a closure holding data) is
//! explored for its check alone, as before.
//!
//! The runs are kept in memory for the checks still to come, for the few
//! most recent scenarios only ([`KEPT`]): a checks binary has one or two,
//! and a test binary that tries many scenarios one after another (the
//! grader's own teeth tests) does not pile them all up. The process keeps
//! 2,000 runs at most (some 300 MB); past that, as with `EDA_SEEDS=5000`,
//! each check makes the rest itself, judges each run as it is made and
//! drops it.
//!
//! The baseline is made on its own first: a check whose baseline already
//! fails needs no other run, so a starter that fails without faults costs
//! one run, not the whole exploration.

use std::sync::{Arc, Mutex, PoisonError};

use crate::simulation::{self, Exploration, Interrupted, MadeRuns, Run, Scenario, Visit};

/// How many scenarios' runs are kept for checks still to come.
const KEPT: usize = 4;

/// The scenarios whose runs are kept, the most recently used last.
static KEPT_RUNS: Mutex<Vec<(String, Arc<MadeRuns>)>> = Mutex::new(Vec::new());

/// The runs of one scenario, made when first asked for.
pub(crate) struct SharedRuns {
    made: Arc<MadeRuns>,
}

impl SharedRuns {
    /// The runs of `scenario`: the ones already made for another check, if
    /// their fingerprints match; otherwise a new set, kept for the checks
    /// that may follow.
    pub(crate) fn of(scenario: &Scenario) -> SharedRuns {
        let Some(fingerprint) = scenario.fingerprint() else {
            return SharedRuns {
                made: Arc::default(),
            };
        };
        let mut kept = KEPT_RUNS.lock().unwrap_or_else(PoisonError::into_inner);
        let made = match kept.iter().position(|(known, _)| *known == fingerprint) {
            Some(position) => kept.remove(position).1,
            None => Arc::default(),
        };
        kept.push((fingerprint, Arc::clone(&made)));
        if kept.len() > KEPT {
            kept.remove(0);
        }
        SharedRuns { made }
    }

    /// The run without faults, made by the first check that asks (the
    /// others wait for it).
    pub(crate) fn baseline(
        &self,
        scenario: &Scenario,
        exploration: &Exploration,
    ) -> Result<Arc<Run>, Interrupted> {
        simulation::baseline_once(&self.made, scenario, exploration.watchdog)
    }

    /// Every run of `exploration` after the baseline, in its order, on as
    /// many threads as there are cores, each made by the first check that
    /// asks for it and handed to `visit` (see
    /// [`simulation::runs_after_baseline`]).
    pub(crate) fn rest<R: Send + 'static>(
        &self,
        scenario: &Scenario,
        exploration: &Exploration,
        baseline_operations: u64,
        visit: Visit<R>,
    ) -> Result<Vec<R>, Interrupted> {
        let workers = std::thread::available_parallelism().map_or(1, usize::from);
        simulation::runs_after_baseline(
            &self.made,
            scenario,
            exploration,
            baseline_operations,
            workers,
            visit,
        )
    }
}

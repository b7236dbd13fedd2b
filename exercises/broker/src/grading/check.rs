//! [`Check`]: a scenario, an exploration and invariants, worth points.

use std::fmt::Write;
use std::path::Path;
use std::sync::Arc;

use super::replay::{Replay, ReplayError};
use super::shared::SharedRuns;
use super::source::{GlobalState, StateKind, global_state};
use super::violation::Violation;
use crate::fault::{Fault, FaultPlan};
use crate::simulation::{self, Exploration, Interrupted, Run, Scenario, Visit};
use crate::trace::{
    TraceEvent, events_for_message, render_folded_mermaid, render_folded_timeline, render_mermaid,
    render_timeline,
};

/// The environment variable that makes a check replay one run (see
/// [`super::replay`]).
pub const REPLAY_VAR: &str = "EDA_REPLAY";
/// The environment variable naming a directory where each check writes
/// `<check>.json` = `{"check", "points", "passed", "report"}` for
/// `cargo xtask grade`.
pub const REPORT_DIR_VAR: &str = "EDA_GRADE_REPORT_DIR";

/// An invariant over a run: `Ok` or the anomaly found.
pub type Invariant = Arc<dyn Fn(&Run) -> Result<(), Violation> + Send + Sync>;

/// A graded check, named after the anomaly it catches.
#[derive(Clone)]
pub struct Check {
    name: String,
    points: u32,
    scenario: Option<Scenario>,
    exploration: Exploration,
    invariants: Vec<Invariant>,
    replay_command: Option<String>,
    /// The learner's file, read for state that outlives a simulated crash.
    learner_file: Option<(String, Arc<str>)>,
}

impl std::fmt::Debug for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Check")
            .field("name", &self.name)
            .field("points", &self.points)
            .field("scenario", &self.scenario)
            .field("exploration", &self.exploration)
            .field("invariants", &self.invariants.len())
            .finish()
    }
}

/// The shortest failing run of a check, ready to show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The anomaly in one sentence.
    pub sentence: String,
    /// The message concerned, if any.
    pub message_id: Option<String>,
    /// The run's fault plan.
    pub plan: FaultPlan,
    /// The seed that drew the plan (0 for crash points).
    pub seed: u64,
    /// How many service operations the run started (numbered `#0` up).
    pub operations: u64,
    /// The operations it started but never finished (a receive still
    /// waiting when the run ended): they have a number but no line.
    pub unfinished: Vec<u64>,
    /// The run's position in the exploration, from 0 (the run without
    /// faults); reports count from 1.
    pub run_index: usize,
    /// Which kind of run it was.
    pub kind: RunKind,
    /// What each planned fault hit, e.g. `crash-after at #4: consumer complete orders order-2`.
    pub faults_hit: Vec<String>,
    /// The timeline of the message concerned (or of the whole run), with
    /// repeated cycles folded.
    pub timeline: String,
    /// The same events as a mermaid sequence diagram, folded the same way.
    pub mermaid: String,
    /// The one command that replays this run.
    pub replay: String,
    /// In a run of an exploration of interleavings, the service that ran
    /// each store statement, in order (empty otherwise).
    pub schedule: Vec<String>,
}

/// The result of running a check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckReport {
    /// The check's name (the anomaly).
    pub check: String,
    /// What the check is worth.
    pub points: u32,
    /// Whether every explored run passed.
    pub passed: bool,
    /// How many runs were explored.
    pub runs: usize,
    /// How many of them failed.
    pub failing_runs: usize,
    /// The shortest failing run, if any failed.
    pub failure: Option<Failure>,
    /// The report as text: what a failing test prints.
    pub text: String,
    /// Whether this was a replay of one run (`EDA_REPLAY`), not an
    /// exploration.
    pub replayed: bool,
}

/// Which kind of run of an exploration a run was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunKind {
    /// The first run: the scenario with no fault injected.
    FaultFree,
    /// One crash before or after one operation.
    CrashPoint,
    /// One other fault (a lost reply, an unavailable broker, a long delay,
    /// a duplicate delivery, an outage) at one operation.
    FaultPoint,
    /// A plan of faults drawn from a seed.
    RandomPlan,
    /// One interleaving of the services' store statements, without faults.
    Interleaving,
    /// A run replayed on its own from `EDA_REPLAY`.
    Replayed,
}

/// One run's verdict, computed on the worker thread; only failures carry
/// their (small) rendering back.
struct Verdict {
    kind: RunKind,
    failure: Option<Failure>,
}

impl Check {
    /// A check named after its anomaly (`lost-message`,
    /// `duplicate-side-effect`, …), worth `points`. Give it a scenario and
    /// invariants; the exploration defaults to [`Exploration::graded`]:
    /// every crash point, every fault point, and the seeded random plans
    /// (`EDA_SEEDS` of them, 500 by default).
    pub fn new(name: &str, points: u32) -> Check {
        Check {
            name: name.to_owned(),
            points,
            scenario: None,
            exploration: Exploration::graded(),
            invariants: Vec::new(),
            replay_command: None,
            learner_file: None,
        }
    }

    /// The file the learner edits (its path for the report, and its text,
    /// `include_str!`-ed by the rubric): before any run, the check reads it
    /// for state kept outside the service (a `static`, a `thread_local!`, a
    /// lazy global; see [`super::source`]), which survives the simulated
    /// crashes and so would make every run pass for the wrong reason. If it
    /// finds any, the check fails and says so; no run is made.
    pub fn learner_file(mut self, path: &str, source: &str) -> Check {
        self.learner_file = Some((path.to_owned(), Arc::from(source)));
        self
    }

    /// The check's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The scenario to explore.
    pub fn scenario(mut self, scenario: Scenario) -> Check {
        self.scenario = Some(scenario);
        self
    }

    /// Which runs to make.
    pub fn exploration(mut self, exploration: Exploration) -> Check {
        self.exploration = exploration;
        self
    }

    /// An invariant every run must keep (see [`super::invariants`]). Several
    /// may be given; the first broken one is reported.
    pub fn invariant<F>(mut self, invariant: F) -> Check
    where
        F: Fn(&Run) -> Result<(), Violation> + Send + Sync + 'static,
    {
        self.invariants.push(Arc::new(invariant));
        self
    }

    /// The command a learner runs to replay, before `EDA_REPLAY` is put in
    /// front of it. By default `cargo test -p <package> -- <test> --exact`,
    /// from the running test's name and `CARGO_PKG_NAME`.
    pub fn replay_command(mut self, command: impl Into<String>) -> Check {
        self.replay_command = Some(command.into());
        self
    }

    /// Runs the check and, if it fails, prints the report and fails the
    /// test: one call in a `#[test]`. Also writes the JSON report when
    /// `EDA_GRADE_REPORT_DIR` is set.
    ///
    /// A failing check is an expected outcome, not a bug in the test, so it
    /// does not `panic!`: that would run the panic hook, which prints
    /// "panicked at check.rs" and, with `RUST_BACKTRACE=1` (which many
    /// developers set), a stack backtrace of the grader under the report.
    /// Instead the report goes to stderr (`eprint!`, which the test harness
    /// captures and shows under the failed test), followed by one line that
    /// says the check failed, and the test ends with
    /// [`std::panic::resume_unwind`], which unwinds without calling the hook.
    ///
    /// A replayed run that passes prints its trace anyway, straight to
    /// stderr (past the test harness's output capture): whoever asked for a
    /// replay wants to read it.
    pub fn assert(&self) {
        let report = self.run();
        if !report.passed {
            let verdict = format!(
                "check `{}` failed: 0 of {} points (the report is above)",
                self.name, self.points
            );
            eprint!("\n{}\n{verdict}\n", report.text);
            std::panic::resume_unwind(Box::new(verdict));
        }
        if report.replayed {
            use std::io::Write as _;
            let _ = std::io::stderr().write_all(report.text.as_bytes());
        }
    }

    /// Runs the check (or, with `EDA_REPLAY` naming it, replays one run) and
    /// returns the report; writes the JSON report when
    /// `EDA_GRADE_REPORT_DIR` is set.
    pub fn run(&self) -> CheckReport {
        let replay = std::env::var(REPLAY_VAR).ok();
        let report_dir = std::env::var_os(REPORT_DIR_VAR).map(std::path::PathBuf::from);
        self.run_with(replay.as_deref(), report_dir.as_deref())
    }

    /// As [`Check::run`], with the replay value and the report directory
    /// given instead of read from the environment (for tests, and tools that
    /// run checks in-process).
    pub fn run_with(&self, replay: Option<&str>, report_dir: Option<&Path>) -> CheckReport {
        let report = if let Some(report) = self.state_outside_service() {
            report
        } else {
            match replay {
                Some(text) if Replay::names_check(text, &self.name) => match Replay::parse(text) {
                    Ok(replay) => self.replay(&replay),
                    Err(error) => self.broken(&error),
                },
                _ => self.explore(),
            }
        };
        if let Some(dir) = report_dir
            && let Err(error) = write_json(dir, &report)
        {
            eprintln!(
                "warning: could not write the grade report for `{}` in {}: {error}",
                self.name,
                dir.display()
            );
        }
        report
    }

    /// The failing report when the learner's file keeps state outside the
    /// service, or cannot be read for it; `None` when it is clean (or the
    /// check was given no file).
    fn state_outside_service(&self) -> Option<CheckReport> {
        let (path, source) = self.learner_file.as_ref()?;
        let found = match global_state(path, source) {
            Ok(found) if found.is_empty() => return None,
            Ok(found) => found,
            Err(error) => return Some(self.misconfigured(&error.to_string())),
        };
        Some(CheckReport {
            check: self.name.clone(),
            points: self.points,
            passed: false,
            runs: 0,
            failing_runs: 0,
            failure: None,
            text: self.state_outside_service_text(path, &found),
            replayed: false,
        })
    }

    fn state_outside_service_text(&self, path: &str, found: &[GlobalState]) -> String {
        let mut text = format!(
            "check `{}` FAILED (0 of {} points)\n",
            self.name, self.points
        );
        let list = |kind: StateKind| -> String {
            found
                .iter()
                .filter(|state| state.kind == kind)
                .map(|state| format!("    {state}\n"))
                .collect()
        };
        let globals = list(StateKind::Global);
        if !globals.is_empty() {
            let _ = write!(
                text,
                "\n{path} keeps state outside the service:\n{globals}\n\
                 This state lives outside the service and would be lost in a real crash: keep \
                 it in the store.\n\n\
                 The grader crashes your service by starting it afresh inside the same process, \
                 so a `static`, a `thread_local!` or a lazy global (`OnceLock`, `LazyLock`, \
                 `lazy_static!`) is still there after each simulated crash; a real crash takes \
                 the process, and the state, with it. No run can show what your code would do \
                 then, so this check explores nothing until that state is gone. Keep what must \
                 outlive a crash where a crash cannot reach it: in the store (`ctx.begin(..)`), \
                 in the broker, or in the downstream system itself (an idempotency key).\n"
            );
        }
        let elsewhere = list(StateKind::OtherFile);
        if !elsewhere.is_empty() {
            let _ = write!(
                text,
                "\n{path} brings in code from another file:\n{elsewhere}\n\
                 The grader reads only {path}, for state that would outlive its simulated \
                 crashes but not a real one, so it cannot vouch for code elsewhere: keep your \
                 code in {path}.\n"
            );
        }
        text
    }

    fn explore(&self) -> CheckReport {
        let Some(scenario) = &self.scenario else {
            return self.misconfigured("the check has no scenario");
        };
        let exploration = match self.exploration.clone().with_env_seeds() {
            Ok(exploration) => exploration,
            Err(error) => return self.misconfigured(&error.to_string()),
        };
        let replay_base = self.replay_base();
        let seeds = exploration.seed_range();
        // The same runs as every other check of this scenario (see
        // `shared`): each made once, judged here.
        let shared = SharedRuns::of(scenario);
        let baseline = match shared.baseline(scenario, &exploration) {
            Ok(baseline) => baseline,
            Err(interrupted) => return self.interrupted(&interrupted),
        };
        let first = match self.judge_guarded(&baseline, &replay_base, 0, RunKind::FaultFree) {
            Ok(verdict) => verdict,
            Err(interrupted) => return self.interrupted(&interrupted),
        };
        // A baseline that fails needs no faults to explain it.
        if first.failure.is_some() {
            return self.summarise(vec![first], seeds);
        }
        let crash_points = exploration.crash_point_count(baseline.operations);
        let fault_points = exploration.fault_point_count(baseline.operations);
        // Judged on the worker that made each run, as soon as it is made:
        // only the verdicts are collected, not the runs.
        let visit: Visit<Verdict> = {
            let invariants = self.invariants.clone();
            let name = self.name.clone();
            let replay_base = replay_base.clone();
            Arc::new(move |offset, run: &Run| {
                let index = offset + 1;
                let kind = match index as u64 {
                    _ if run.schedule.is_some() => RunKind::Interleaving,
                    n if n <= crash_points => RunKind::CrashPoint,
                    n if n <= crash_points + fault_points => RunKind::FaultPoint,
                    _ => RunKind::RandomPlan,
                };
                judge(run, &invariants, &name, &replay_base, index, kind)
            })
        };
        let rest = match shared.rest(scenario, &exploration, baseline.operations, visit) {
            Ok(rest) => rest,
            Err(interrupted) => return self.interrupted(&interrupted),
        };
        let mut verdicts = Vec::with_capacity(rest.len() + 1);
        verdicts.push(first);
        verdicts.extend(rest);
        self.summarise(verdicts, seeds)
    }

    /// [`judge`], with a panic in an invariant reported as the grader's own
    /// (as when the invariants ran on the exploration's worker thread).
    fn judge_guarded(
        &self,
        run: &Run,
        replay_base: &str,
        index: usize,
        kind: RunKind,
    ) -> Result<Verdict, Interrupted> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            judge(run, &self.invariants, &self.name, replay_base, index, kind)
        }))
        .map_err(|payload| Interrupted::GraderPanicked(simulation::panic_message(payload)))
    }

    fn replay(&self, replay: &Replay) -> CheckReport {
        let Some(scenario) = &self.scenario else {
            return self.misconfigured("the check has no scenario");
        };
        let replayed = match &replay.schedule {
            Some(schedule) => {
                simulation::run_scheduled(scenario, schedule, self.exploration.watchdog)
            }
            None => simulation::run_with(
                scenario,
                &replay.plan,
                replay.seed,
                self.exploration.watchdog,
            ),
        };
        match replayed {
            Ok(run) => {
                let verdict = judge(
                    &run,
                    &self.invariants,
                    &self.name,
                    &self.replay_base(),
                    0,
                    RunKind::Replayed,
                );
                let mut report = self.summarise(vec![verdict], None);
                let mut text = format!(
                    "replay of check `{}` (seed {}, plan {}{}): {}\n\nThe whole run:\n{}\n```mermaid\n{}```\n",
                    self.name,
                    replay.seed,
                    replay.plan,
                    match &run.schedule {
                        Some(_) => format!(
                            ", who ran each store statement: {}",
                            run.decisions
                                .iter()
                                .map(|decision| decision.service())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                        None => String::new(),
                    },
                    if report.passed {
                        "this run passes"
                    } else {
                        "this run FAILS"
                    },
                    indent(&render_timeline(&run.events)),
                    render_mermaid(&run.events),
                );
                if !report.passed {
                    text.push('\n');
                    text.push_str(&report.text);
                }
                report.text = text;
                report.replayed = true;
                report
            }
            Err(interrupted) => self.interrupted(&interrupted),
        }
    }

    fn summarise(&self, verdicts: Vec<Verdict>, seeds: Option<(u64, u64)>) -> CheckReport {
        let runs = verdicts.len();
        let count = |kind| verdicts.iter().filter(|v| v.kind == kind).count();
        let kinds = [
            (
                count(RunKind::FaultFree),
                "without faults",
                "without faults",
            ),
            (
                count(RunKind::CrashPoint),
                "at a crash point",
                "at crash points",
            ),
            (
                count(RunKind::FaultPoint),
                "at a fault point",
                "at fault points",
            ),
            (
                count(RunKind::RandomPlan),
                "with a random fault plan",
                "with random fault plans",
            ),
            (
                count(RunKind::Interleaving),
                "interleaving of the store statements (every one there is)",
                "interleavings of the store statements (every one there is)",
            ),
        ];
        let mut explored: Vec<String> = kinds
            .iter()
            .filter(|(n, _, _)| *n > 0)
            .map(|(n, one, many)| format!("{n} {}", if *n == 1 { one } else { many }))
            .collect();
        // The seeds, when the random plans were all made (`EDA_SEEDS` and
        // `EDA_SEED` choose others).
        if let Some((first, last)) = seeds
            && count(RunKind::RandomPlan) > 0
            && let Some(plans) = explored.last_mut()
        {
            let _ = write!(plans, " from seeds {first} to {last}");
        }
        let explored = explored.join(", ");
        let failures: Vec<Failure> = verdicts
            .into_iter()
            .filter_map(|verdict| verdict.failure)
            .collect();
        let failing_runs = failures.len();
        // The shortest failing run: the shortest timeline shown, then the
        // fewest operations, then the earliest (crash points come before
        // random plans, so the simpler plan wins a tie).
        let failure = failures.into_iter().min_by_key(|failure| {
            (
                failure.timeline.lines().count(),
                failure.operations,
                failure.run_index,
            )
        });
        let text = match &failure {
            None => format!(
                "check `{}` passed ({} of {} points): {} explored ({explored}), no anomaly\n",
                self.name,
                self.points,
                self.points,
                plural(runs, "run", "runs")
            ),
            Some(failure) => self.failure_text(failure, runs, failing_runs, &explored),
        };
        CheckReport {
            check: self.name.clone(),
            points: self.points,
            passed: failure.is_none(),
            runs,
            failing_runs,
            failure,
            text,
            replayed: false,
        }
    }

    fn failure_text(
        &self,
        failure: &Failure,
        runs: usize,
        failing_runs: usize,
        explored: &str,
    ) -> String {
        let mut text = String::new();
        let _ = writeln!(
            text,
            "check `{}` FAILED (0 of {} points)",
            self.name, self.points
        );
        let _ = writeln!(text);
        let _ = writeln!(text, "{}.", failure.sentence.trim_end_matches('.'));
        let _ = writeln!(text);
        let about = format!(
            "seed {}, plan {}, {}",
            failure.seed,
            failure.plan,
            operations_phrase(failure.operations, &failure.unfinished)
        );
        match failure.kind {
            RunKind::Replayed => {
                let _ = writeln!(text, "This run: {about}.");
            }
            RunKind::FaultFree => {
                let _ = writeln!(
                    text,
                    "It fails in the run without faults, the first one the grader makes (so it \
                     tried nothing else): {about}."
                );
            }
            RunKind::CrashPoint
            | RunKind::FaultPoint
            | RunKind::RandomPlan
            | RunKind::Interleaving => {
                let _ = writeln!(
                    text,
                    "The grader explored {} ({explored}); {failing_runs} failed.",
                    plural(runs, "run", "runs")
                );
                let _ = writeln!(
                    text,
                    "Shortest failing run: run {} of {runs}, {}: {about}.",
                    failure.run_index + 1,
                    match failure.kind {
                        RunKind::CrashPoint => "a crash point".to_owned(),
                        RunKind::FaultPoint => "a fault point".to_owned(),
                        RunKind::Interleaving => format!(
                            "an interleaving, no fault; who ran each store statement: {}",
                            failure.schedule.join(", ")
                        ),
                        _ => "a random fault plan".to_owned(),
                    }
                );
            }
        }
        if failure.faults_hit.is_empty() {
            let _ = writeln!(text, "Crash point: none (it fails without any fault)");
        }
        for hit in &failure.faults_hit {
            let label = if hit.starts_with("crash") {
                "Crash point"
            } else {
                "Fault"
            };
            let _ = writeln!(text, "{label}: {hit}");
        }
        let _ = writeln!(text);
        match &failure.message_id {
            Some(id) => {
                let _ = writeln!(
                    text,
                    "Timeline of `{id}` (only the events about it; the replay shows the whole run):"
                );
            }
            None => {
                let _ = writeln!(text, "Timeline of the whole run:");
            }
        }
        text.push_str(&indent(&failure.timeline));
        let _ = writeln!(text);
        let _ = writeln!(
            text,
            "Replay this run (prints the whole trace and its diagram):"
        );
        let _ = writeln!(text, "    {}", failure.replay);
        text
    }

    fn interrupted(&self, interrupted: &Interrupted) -> CheckReport {
        let mut text = format!(
            "check `{}` FAILED (0 of {} points)\n\n{interrupted}.\n",
            self.name, self.points
        );
        if let Interrupted::Hung {
            plan,
            seed,
            last_events,
            ..
        } = interrupted
        {
            let _ = write!(
                text,
                "\nLast events before it hung:\n{}\nReplay this run:\n    {}\n",
                indent(last_events),
                replay_line(&self.replay_base(), &self.name, *seed, plan)
            );
        }
        CheckReport {
            check: self.name.clone(),
            points: self.points,
            passed: false,
            runs: 0,
            failing_runs: 1,
            failure: None,
            text,
            replayed: false,
        }
    }

    fn broken(&self, error: &ReplayError) -> CheckReport {
        self.misconfigured(&format!(
            "{REPLAY_VAR} is set for this check but cannot be used: {error}"
        ))
    }

    fn misconfigured(&self, why: &str) -> CheckReport {
        CheckReport {
            check: self.name.clone(),
            points: self.points,
            passed: false,
            runs: 0,
            failing_runs: 0,
            failure: None,
            text: format!("check `{}` could not run: {why}\n", self.name),
            replayed: false,
        }
    }

    fn replay_base(&self) -> String {
        if let Some(command) = &self.replay_command {
            return command.clone();
        }
        let package = std::env::var("CARGO_PKG_NAME").unwrap_or_else(|_| "<package>".to_owned());
        match std::thread::current().name() {
            Some(test) if test != "main" => format!("cargo test -p {package} -- {test} --exact"),
            _ => format!("cargo test -p {package}"),
        }
    }
}

/// Judges one run: an abnormal end (panic, stuck, livelock) fails it
/// whatever the invariants say; otherwise the first broken invariant does.
fn judge(
    run: &Run,
    invariants: &[Invariant],
    check: &str,
    replay_base: &str,
    index: usize,
    kind: RunKind,
) -> Verdict {
    let violation = if run.outcome.is_normal() {
        invariants.iter().find_map(|invariant| invariant(run).err())
    } else {
        Some(Violation::new(run.outcome.describe()))
    };
    let Some(violation) = violation else {
        return Verdict {
            kind,
            failure: None,
        };
    };
    let events: Vec<TraceEvent> = match &violation.message_id {
        Some(id) => events_for_message(&run.events, id),
        None => run.events.clone(),
    };
    // Bounded twice: the events rendered (each failing run of an
    // exploration renders its own, on the worker thread), then the lines
    // shown once repeated cycles are folded.
    let dropped = events.len().saturating_sub(MAX_EVENTS_RENDERED);
    let events = last(events, MAX_EVENTS_RENDERED);
    let faults_hit = run
        .plan
        .faults()
        .iter()
        .map(|planned| describe_hit(run, planned.operation, planned.fault))
        .collect();
    let recorded: std::collections::BTreeSet<u64> = run
        .events
        .iter()
        .filter_map(|event| event.operation_number)
        .collect();
    let unfinished = (0..run.operations)
        .filter(|number| !recorded.contains(number))
        .collect();
    Verdict {
        kind,
        failure: Some(Failure {
            sentence: violation.sentence,
            message_id: violation.message_id,
            plan: run.plan.clone(),
            seed: run.seed,
            operations: run.operations,
            unfinished,
            run_index: index,
            kind,
            faults_hit,
            timeline: head_and_tail(
                &render_folded_timeline(&events),
                MAX_TIMELINE_LINES,
                TIMELINE_HEAD_LINES,
                dropped,
            ),
            mermaid: render_folded_mermaid(&events),
            replay: match &run.schedule {
                Some(_) => {
                    let chosen: Vec<usize> = run
                        .decisions
                        .iter()
                        .map(|decision| decision.chosen)
                        .collect();
                    format!(
                        "{REPLAY_VAR}='{}' {replay_base}",
                        Replay::format_scheduled(check, run.seed, &run.plan, &chosen)
                    )
                }
                None => replay_line(replay_base, check, run.seed, &run.plan),
            },
            schedule: run
                .decisions
                .iter()
                .map(|decision| decision.service().to_owned())
                .collect(),
        }),
    }
}

/// "crash-after at #4: consumer complete orders order-2"
fn describe_hit(run: &Run, operation: u64, fault: Fault) -> String {
    let what = run
        .events
        .iter()
        .find(|event| event.operation_number == Some(operation) && !event.operation.is_lifecycle())
        .or_else(|| run.operation(operation))
        .map(|event| {
            let mut parts = vec![event.actor.to_string(), event.operation.name().to_owned()];
            if let Some(target) = &event.target {
                parts.push(target.to_string());
            }
            if let Some(id) = &event.message_id {
                parts.push(id.to_string());
            }
            parts.join(" ")
        })
        .unwrap_or_else(|| "not reached in this run".to_owned());
    let name = match fault {
        Fault::CrashBefore => "crash before".to_owned(),
        Fault::CrashAfter => "crash after".to_owned(),
        other => other.to_string(),
    };
    format!("{name} #{operation} ({what})")
}

/// The most events of a failing run that are rendered.
const MAX_EVENTS_RENDERED: usize = 600;
/// The most lines of timeline a report shows.
const MAX_TIMELINE_LINES: usize = 60;
/// Of those, how many come from the start of the run: its first round
/// (the first delivery, what the consumer did with it, why it came back) is
/// the most telling part, and the end holds the anomaly itself.
const TIMELINE_HEAD_LINES: usize = 24;

/// A timeline cut to `count` lines when it is longer: its first `head`
/// lines, a line saying how many were left out, and its last lines (the
/// end of the run, where the anomaly shows). `dropped` events were already
/// left out before it was rendered, at its start.
fn head_and_tail(timeline: &str, count: usize, head: usize, dropped: usize) -> String {
    let lines: Vec<&str> = timeline.lines().collect();
    let mut text = if dropped > 0 {
        format!("  … {dropped} earlier events left out (the replay shows the whole run) …\n")
    } else {
        String::new()
    };
    if lines.len() <= count {
        for line in &lines {
            text.push_str(line);
            text.push('\n');
        }
        return text;
    }
    // One line of the `count` goes to saying what was left out.
    let head = head.min(count.saturating_sub(1));
    let tail = count.saturating_sub(head + 1);
    let left_out = lines.len() - head - tail;
    for line in &lines[..head] {
        text.push_str(line);
        text.push('\n');
    }
    text.push_str(&format!(
        "  … {left_out} lines left out here (the replay shows the whole run) …\n"
    ));
    for line in &lines[lines.len() - tail..] {
        text.push_str(line);
        text.push('\n');
    }
    text
}

fn last(mut events: Vec<TraceEvent>, count: usize) -> Vec<TraceEvent> {
    if events.len() > count {
        events.drain(..events.len() - count);
    }
    events
}

fn replay_line(base: &str, check: &str, seed: u64, plan: &FaultPlan) -> String {
    format!(
        "{REPLAY_VAR}='{}' {base}",
        Replay::format(check, seed, plan)
    )
}

/// "6 service operations (#0 to #5)", and which never finished: the
/// numbers a reader looks for in the timeline.
fn operations_phrase(operations: u64, unfinished: &[u64]) -> String {
    if operations == 0 {
        return "no service operation".to_owned();
    }
    let mut phrase = format!(
        "{} ({})",
        plural(
            usize::try_from(operations).unwrap_or(usize::MAX),
            "service operation",
            "service operations"
        ),
        if operations == 1 {
            "#0".to_owned()
        } else if operations == 2 {
            "#0 and #1".to_owned()
        } else {
            format!("#0 to #{}", operations - 1)
        }
    );
    match unfinished {
        [] => {}
        [one] => {
            let _ = write!(
                phrase,
                ", of which #{one} was still waiting when the run ended"
            );
        }
        [.., last] if unfinished.len() <= 3 => {
            let listed: Vec<String> = unfinished[..unfinished.len() - 1]
                .iter()
                .map(|n| format!("#{n}"))
                .collect();
            let _ = write!(
                phrase,
                ", of which {} and #{last} were still waiting when the run ended",
                listed.join(", ")
            );
        }
        _ => {
            let _ = write!(
                phrase,
                ", of which {} were still waiting when the run ended",
                unfinished.len()
            );
        }
    }
    phrase
}

/// "1 run", "35 runs".
fn plural(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

fn indent(text: &str) -> String {
    text.lines().map(|line| format!("    {line}\n")).collect()
}

fn write_json(dir: &Path, report: &CheckReport) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let value = serde_json::json!({
        "check": report.check,
        "points": report.points,
        "passed": report.passed,
        "report": report.text,
    });
    let text = serde_json::to_string_pretty(&value).map_err(std::io::Error::other)?;
    std::fs::write(dir.join(format!("{}.json", report.check)), text + "\n")
}

#[cfg(test)]
mod tests {
    use super::head_and_tail;

    #[test]
    fn a_long_timeline_keeps_its_start_and_its_end_and_says_what_it_left_out() {
        let timeline: String = (1..=10).map(|n| format!("line {n}\n")).collect();
        assert_eq!(head_and_tail(&timeline, 10, 3, 0), timeline);
        assert_eq!(
            head_and_tail(&timeline, 6, 2, 0),
            "line 1\nline 2\n  … 5 lines left out here (the replay shows the whole run) …\n\
             line 8\nline 9\nline 10\n"
        );
        assert!(head_and_tail(&timeline, 10, 3, 5).starts_with("  … 5 earlier events left out"));
    }
}

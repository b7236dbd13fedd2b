//! `cargo xtask real`: start the engine, run the consumer process under a
//! few crash points, judge each run, print the report.
//!
//! One run: the harness empties the queues, publishes the scenario's input,
//! starts the consumer (killing it at the run's crash point and starting it
//! again, as a supervisor would, and after any exit), waits until the system
//! is quiet (the consumer waits for a message, holds none, and the engine has
//! nothing left for it) or the scenario's time is up, kills the consumer,
//! and reads what the engine and the mail provider hold. The first run has
//! no crash; the crash points of the others come from it.
//!
//! Exit codes: 0 every check passed; 1 a check failed; 2 the run could not
//! be made (bad arguments, an unknown exercise or engine, an exercise
//! without a real mode, a missing engine or consumer binary, an engine that
//! would not start).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use clap::{CommandFactory, FromArgMatches};

use crate::real::config::{CONFIG_VAR, CrashPoint, EngineKind, RunnerConfig, When};
use crate::real::ctx::LoggedCall;
use crate::real::engine::Engine;
use crate::real::exercises::{self, Event, Exercise, Outcome, Verdict, What};
use crate::real::protocol::Line;

/// The simulator restarts a crashed service after this long (consumer time).
const RESTART_DELAY: Duration = sim::simulation::DEFAULT_RESTART_DELAY;

/// How long the system must stay quiet before a run ends (real time).
const QUIET_FOR: Duration = Duration::from_millis(600);

/// At most this many lives in one run: a consumer that dies at once, again
/// and again, ends its run here rather than at the scenario's end.
const MAX_LIVES: u32 = 60;

/// RabbitMQ's own consumer timeout (its `consumer_timeout` default).
const RABBITMQ_CONSUMER_TIMEOUT: Duration = Duration::from_secs(30 * 60);

pub use crate::real::args::{Args, DEFAULT_SPEED};

/// Why a run could not be made.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CannotRun(String);

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_interrupt(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// The `main` of the `real` binary.
pub fn main() -> ExitCode {
    // The name a learner types, in usage lines and errors.
    let command = Args::command()
        .name("cargo xtask real")
        .bin_name("cargo xtask real");
    let args = match Args::from_arg_matches(&command.get_matches()) {
        Ok(args) => args,
        Err(error) => error.exit(),
    };
    // Ctrl-C ends the runs cleanly, so the engine (in a process group of its
    // own, out of reach of the terminal's signal) is stopped too.
    // SAFETY: the handler only stores to an atomic, which is
    // async-signal-safe.
    unsafe {
        libc::signal(
            libc::SIGINT,
            on_interrupt as *const () as libc::sighandler_t,
        );
    }
    match run(&args) {
        Ok(passed) => {
            if passed {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(CannotRun(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

/// What the simulator's catalogue says about an id real mode does not run.
fn unknown_exercise(id: &str) -> CannotRun {
    let catalogue = concat!(env!("CARGO_MANIFEST_DIR"), "/../exercises.toml");
    let known = std::fs::read_to_string(catalogue)
        .ok()
        .and_then(|text| text.parse::<toml_lite::Ids>().ok())
        .map(|ids| ids.0)
        .unwrap_or_default();
    let with_real_mode: Vec<&str> = exercises::all().iter().map(|e| e.id).collect();
    if known.iter().any(|known| known == id) {
        CannotRun(format!(
            "`{id}` has no real mode: its scenario does not map onto a real engine yet (real mode \
             runs {}). Grade it in the simulator: `cargo xtask grade {id}`",
            with_real_mode.join(", ")
        ))
    } else {
        CannotRun(format!(
            "unknown exercise `{id}`: real mode runs {}",
            with_real_mode.join(", ")
        ))
    }
}

/// The catalogue's ids, without a TOML parser in this binary: the lines
/// `id = "…"` of `[[exercise]]` entries.
mod toml_lite {
    pub struct Ids(pub Vec<String>);
    impl std::str::FromStr for Ids {
        type Err = ();
        fn from_str(text: &str) -> Result<Ids, ()> {
            Ok(Ids(text
                .lines()
                .filter_map(|line| line.trim().strip_prefix("id = \""))
                .filter_map(|rest| rest.strip_suffix('"'))
                .map(str::to_owned)
                .collect()))
        }
    }
}

/// Everything one invocation shares between its runs.
struct Session<'a> {
    args: &'a Args,
    exercise: Exercise,
    engine_kind: EngineKind,
    version: String,
    url: String,
    binary: PathBuf,
    admin: Engine,
    runtime: tokio::runtime::Runtime,
    speed: u32,
}

/// One run's plan.
#[derive(Clone, Copy, Debug)]
struct Plan {
    crash: Option<CrashPoint>,
}

/// One run's result.
struct RunResult {
    plan: Plan,
    outcome: Outcome,
    verdicts: Vec<Verdict>,
    quiet: bool,
    real_time: Duration,
}

/// What the arguments ask for, checked.
struct Validated {
    exercise: Exercise,
    engine: EngineKind,
    explicit: Vec<CrashPoint>,
    binary_name: &'static str,
}

fn validate(args: &Args) -> Result<Validated, CannotRun> {
    let exercise =
        exercises::find(&args.exercise).ok_or_else(|| unknown_exercise(&args.exercise))?;
    let engine: EngineKind = args.engine.parse().map_err(CannotRun)?;
    let explicit: Vec<CrashPoint> = args
        .crash_at
        .iter()
        .map(|text| text.parse().map_err(CannotRun))
        .collect::<Result<_, _>>()?;
    if !["default", "all", "none"].contains(&args.crash_points.as_str()) {
        return Err(CannotRun(format!(
            "`--crash-points {}`: write `default`, `all` or `none`",
            args.crash_points
        )));
    }
    if args.speed == 0 || args.speed > 200 {
        return Err(CannotRun(format!(
            "`--speed {}`: the consumer's clock can run 1 to 200 times faster than the wall clock",
            args.speed
        )));
    }
    let binary_name = if args.solution {
        exercise.solution_binary
    } else {
        exercise.binary
    };
    Ok(Validated {
        exercise,
        engine,
        explicit,
        binary_name,
    })
}

fn run(args: &Args) -> Result<bool, CannotRun> {
    let Validated {
        exercise,
        engine: engine_kind,
        explicit,
        binary_name,
    } = validate(args)?;
    if args.validate_only {
        // For `cargo xtask real`: which consumer binary to build.
        println!("{binary_name}");
        return Ok(true);
    }
    let binary = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(binary_name)))
        .filter(|path| path.is_file())
        .ok_or_else(|| {
            CannotRun(format!(
                "the consumer binary `{binary_name}` is not built: run real mode with `cargo \
                 xtask real`, which builds it (`cargo build -p real-mode --bins`)"
            ))
        })?;
    let speed = args.speed;
    let started = match engine_kind {
        EngineKind::Nats => conformance::engines::nats(),
        EngineKind::Rabbitmq => conformance::engines::rabbitmq(RABBITMQ_CONSUMER_TIMEOUT / speed),
    }
    .map_err(|error| {
        CannotRun(format!(
            "{} could not be started: {error}",
            engine_kind.title()
        ))
    })?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|error| CannotRun(format!("starting the harness's runtime: {error}")))?;
    let admin = runtime
        .block_on(Engine::connect(
            engine_kind,
            &started.url,
            exercise.queues.clone(),
            speed,
            None,
        ))
        .map_err(|error| CannotRun(error.to_string()))?;
    let session = Session {
        args,
        exercise,
        engine_kind,
        version: started.version.clone(),
        url: started.url.clone(),
        binary,
        admin,
        runtime,
        speed,
    };
    print!("{}", session.header());
    let mut results = Vec::new();
    let baseline = session.run_once(Plan { crash: None })?;
    println!("{}", session.run_line(1, &baseline));
    let points = if explicit.is_empty() {
        session.crash_points(&baseline.outcome)
    } else {
        explicit
    };
    results.push(baseline);
    for point in points {
        if INTERRUPTED.load(Ordering::SeqCst) {
            return Err(CannotRun("interrupted".into()));
        }
        let result = session.run_once(Plan { crash: Some(point) })?;
        println!("{}", session.run_line(results.len() + 1, &result));
        results.push(result);
    }
    let (report, passed) = session.report(&results);
    print!("{report}");
    // The engine stops when `started` is dropped, here.
    drop(started);
    Ok(passed)
}

impl Session<'_> {
    fn header(&self) -> String {
        let exercise = &self.exercise;
        let whose = if self.args.solution {
            "the reference solution".to_owned()
        } else {
            format!("your `{}`", exercise.learner_file)
        };
        let version = self.version.replace("nats-server: ", "nats-server ");
        let lock = exercise
            .queues
            .iter()
            .find(|queue| queue.name == exercise.input)
            .map(|queue| queue.lock)
            .unwrap_or_default();
        let mut text = format!(
            "real mode: `{}`, {whose}, on {} ({version})\n\n",
            exercise.id,
            self.engine_kind.title()
        );
        let _ = writeln!(
            text,
            "  The consumer's clock runs {}x faster than the wall clock, and the engine's timers \
             are set to match:",
            self.speed
        );
        let _ = match self.engine_kind {
            EngineKind::Nats => writeln!(
                text,
                "  the queue's {} s lock is an ack wait of {} ms.",
                lock.as_secs(),
                (lock / self.speed).as_millis()
            ),
            EngineKind::Rabbitmq => writeln!(
                text,
                "  RabbitMQ's consumer timeout, 30 min of the consumer's time, is {} s (RabbitMQ \
                 has no per-delivery lock).",
                (RABBITMQ_CONSUMER_TIMEOUT / self.speed).as_secs()
            ),
        };
        for note in (exercise.notes)(self.engine_kind) {
            let _ = writeln!(text, "  {note}");
        }
        text.push('\n');
        text
    }

    /// The crash points to try after the baseline.
    fn crash_points(&self, baseline: &Outcome) -> Vec<CrashPoint> {
        let operations = baseline.operations();
        let life_one: Vec<_> = operations.iter().filter(|o| o.life == 1).collect();
        match self.args.crash_points.as_str() {
            "none" => Vec::new(),
            "all" => life_one
                .iter()
                .flat_map(|o| [When::Before, When::After].map(|when| CrashPoint { when, op: o.op }))
                .collect(),
            _ => {
                // After each operation on the first message received, up to
                // (not including) the one that settles it: the points where
                // the work is half done.
                let Some(first) = life_one.iter().find(|o| {
                    o.operation == "receive" && o.id.is_some() && matches!(o.outcome, Some(Ok(_)))
                }) else {
                    return Vec::new();
                };
                let id = first.id.clone();
                let mut points = Vec::new();
                for operation in life_one.iter().filter(|o| o.op >= first.op) {
                    let settles = ["complete", "abandon", "dead-letter"]
                        .contains(&operation.operation.as_str())
                        && operation.id == id;
                    if settles {
                        break;
                    }
                    if operation.op != first.op && operation.operation == "receive" {
                        break;
                    }
                    points.push(CrashPoint {
                        when: When::After,
                        op: operation.op,
                    });
                }
                points
            }
        }
    }

    fn consumer_time(&self, since: Instant) -> Duration {
        since.elapsed().saturating_mul(self.speed)
    }

    fn admin<T>(
        &self,
        future: impl Future<Output = Result<T, crate::real::engine::EngineError>>,
    ) -> Result<T, CannotRun> {
        self.runtime
            .block_on(future)
            .map_err(|error| CannotRun(error.to_string()))
    }

    fn run_once(&self, plan: Plan) -> Result<RunResult, CannotRun> {
        let exercise = &self.exercise;
        self.admin(self.admin.reset())?;
        for (queue, message) in (exercise.messages)() {
            self.runtime
                .block_on(self.admin.send(&queue, &message))
                .map_err(|error| CannotRun(format!("publishing the scenario's input: {error}")))?;
        }
        let calls_file = tempfile::NamedTempFile::new()
            .map_err(|error| CannotRun(format!("a file for the downstream calls: {error}")))?;
        let run_started = Instant::now();
        let run_started_unix_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|since| i64::try_from(since.as_millis()).unwrap_or(0))
            .unwrap_or(0);
        let mut events: Vec<Event> = Vec::new();
        let mut quiet = false;
        let mut life = 0;
        'lives: while life < MAX_LIVES {
            life += 1;
            let config = RunnerConfig {
                engine: self.engine_kind,
                url: self.url.clone(),
                service: exercise.service.to_owned(),
                speed: self.speed,
                run_started_unix_ms,
                queues: exercise.queues.clone(),
                downstream: exercise.downstream.clone(),
                downstream_log: calls_file.path().to_path_buf(),
                crash: if life == 1 { plan.crash } else { None },
                disconnect_before: if life == 1 {
                    self.args.disconnect_before
                } else {
                    None
                },
            };
            let mut child = spawn(&self.binary, &config)?;
            events.push(Event {
                at: self.consumer_time(run_started),
                life,
                what: What::Started,
            });
            let lines = read_lines(&mut child);
            let stderr = read_stderr(&mut child);
            let mut quiet_since: Option<Instant> = None;
            let mut last_probe = Instant::now() - Duration::from_secs(1);
            loop {
                if INTERRUPTED.load(Ordering::SeqCst) {
                    kill(&mut child);
                    return Err(CannotRun("interrupted".into()));
                }
                if self.consumer_time(run_started) > exercise.run_for {
                    kill(&mut child);
                    events.push(Event {
                        at: self.consumer_time(run_started),
                        life,
                        what: What::Killed,
                    });
                    break 'lives;
                }
                match lines.recv_timeout(Duration::from_millis(50)) {
                    Ok(text) => {
                        quiet_since = None;
                        let at = self.consumer_time(run_started);
                        let what = match Line::parse(&text) {
                            Some(line) => What::Line(line),
                            None => What::Printed(text),
                        };
                        let crash = matches!(what, What::Line(Line::CrashPoint(_)));
                        events.push(Event { at, life, what });
                        if crash {
                            kill(&mut child);
                            events.push(Event {
                                at: self.consumer_time(run_started),
                                life,
                                what: What::Killed,
                            });
                            std::thread::sleep(RESTART_DELAY / self.speed);
                            continue 'lives;
                        }
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => {
                        let status = child.wait().map_err(|error| {
                            CannotRun(format!("waiting for the consumer: {error}"))
                        })?;
                        let errors = stderr
                            .recv_timeout(Duration::from_secs(1))
                            .unwrap_or_default();
                        if matches!(status.code(), Some(2 | 5)) {
                            return Err(CannotRun(format!(
                                "the consumer process could not start ({status}): {}",
                                errors.trim()
                            )));
                        }
                        let described = describe_exit(status, &errors);
                        events.push(Event {
                            at: self.consumer_time(run_started),
                            life,
                            what: What::Exited(described),
                        });
                        std::thread::sleep(RESTART_DELAY / self.speed);
                        continue 'lives;
                    }
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        if !waiting_idle(&events, life) {
                            quiet_since = None;
                            continue;
                        }
                        if last_probe.elapsed() < Duration::from_millis(150) {
                            continue;
                        }
                        last_probe = Instant::now();
                        let left = self.admin(self.admin.unsettled(exercise.input))?;
                        if left > 0 {
                            quiet_since = None;
                            continue;
                        }
                        let since = *quiet_since.get_or_insert_with(Instant::now);
                        if since.elapsed() >= QUIET_FOR {
                            kill(&mut child);
                            quiet = true;
                            break 'lives;
                        }
                    }
                }
            }
        }
        let real_time = run_started.elapsed();
        if self.args.verbose {
            print!("{}", all_events(&events));
        }
        // Give the engine a moment to take back what the last life held
        // (RabbitMQ requeues when the connection closes).
        std::thread::sleep(Duration::from_millis(300));
        let mut outcome = Outcome {
            engine: Some(self.engine_kind),
            events,
            ..Outcome::default()
        };
        for output in exercise.outputs {
            let contents = self.admin(self.admin.contents(output))?;
            outcome.outputs.insert((*output).to_owned(), contents);
        }
        outcome.left_in_input = self.admin(self.admin.unsettled(exercise.input))?;
        outcome.dead_letters = self.admin(self.admin.dead_letters(exercise.input))?;
        outcome.calls = read_calls(calls_file.path());
        let verdicts = exercise
            .checks
            .iter()
            .map(|check| check.judge(&outcome))
            .collect();
        Ok(RunResult {
            plan,
            outcome,
            verdicts,
            quiet,
            real_time,
        })
    }

    fn describe_plan(&self, plan: Plan, outcome: Option<&Outcome>) -> String {
        let Some(point) = plan.crash else {
            return "no crash".to_owned();
        };
        let when = match point.when {
            When::Before => "before",
            When::After => "after",
        };
        let what = outcome
            .and_then(|outcome| {
                outcome
                    .operations()
                    .into_iter()
                    .find(|o| o.life == 1 && o.op == point.op)
            })
            .map(|o| {
                format!(
                    " ({} {}{})",
                    o.operation,
                    o.target,
                    o.id.map(|id| format!(" {id}")).unwrap_or_default()
                )
            })
            .unwrap_or_default();
        format!("crash {when} op {}{what}", point.op)
    }

    fn run_line(&self, number: usize, result: &RunResult) -> String {
        let failed: Vec<&str> = self
            .exercise
            .checks
            .iter()
            .zip(&result.verdicts)
            .filter(|(_, verdict)| matches!(verdict, Verdict::Fail { .. }))
            .map(|(check, _)| check.name)
            .collect();
        let operations = result.outcome.operations().len();
        let lives = result
            .outcome
            .events
            .iter()
            .filter(|e| e.what == What::Started)
            .count();
        let end = result
            .outcome
            .events
            .last()
            .map(|event| sim::clock::format_offset(event.at))
            .unwrap_or_default();
        format!(
            "run {number}: {:<46} {operations} operations, {lives} {}, {} at {end} ({:.1} s) {}",
            self.describe_plan(result.plan, Some(&result.outcome)),
            if lives == 1 { "life" } else { "lives" },
            if result.quiet { "quiet" } else { "time up" },
            result.real_time.as_secs_f64(),
            if failed.is_empty() {
                "ok".to_owned()
            } else {
                format!("FAILED {}", failed.join(", "))
            }
        )
    }

    fn rerun_command(&self, plan: Plan) -> String {
        let mut command = format!(
            "cargo xtask real {} --engine {}",
            self.exercise.id, self.engine_kind
        );
        if self.args.solution {
            command.push_str(" --solution");
        }
        match plan.crash {
            Some(point) => {
                let _ = write!(command, " --crash-at {point}");
            }
            None => command.push_str(" --crash-points none"),
        }
        if let Some(op) = self.args.disconnect_before {
            let _ = write!(command, " --disconnect-before {op}");
        }
        if self.speed != DEFAULT_SPEED {
            let _ = write!(command, " --speed {}", self.speed);
        }
        command
    }

    fn report(&self, results: &[RunResult]) -> (String, bool) {
        let mut text = String::from("\n");
        let mut passed = true;
        let mut score = 0;
        let mut total = 0;
        let mut failures = Vec::new();
        let no_message = String::new();
        for (index, check) in self.exercise.checks.iter().enumerate() {
            let first_failure = results
                .iter()
                .enumerate()
                .find_map(|(run, result)| match &result.verdicts[index] {
                    Verdict::Fail { message_id, why } => Some((run, message_id, why)),
                    _ => None,
                });
            let not_applicable = results
                .iter()
                .find_map(|result| match &result.verdicts[index] {
                    Verdict::NotApplicable(why) => Some(why),
                    _ => None,
                });
            let status = match (&first_failure, not_applicable) {
                (Some((run, _, _)), _) => {
                    passed = false;
                    total += check.points;
                    format!("FAILED (run {})", run + 1)
                }
                (None, Some(_)) => "cannot fail on this engine (see below)".to_owned(),
                (None, None) => {
                    score += check.points;
                    total += check.points;
                    "passed".to_owned()
                }
            };
            let _ = writeln!(
                text,
                "  {:<24} {:>2} pts  {status}",
                check.name, check.points
            );
            if let Some(failure) = first_failure {
                failures.push((check, failure));
            } else if let Some(why) = not_applicable {
                failures.push((check, (usize::MAX, &no_message, why)));
            }
        }
        let _ = writeln!(
            text,
            "  real mode: {score}/{total} (the simulator's grade: `cargo xtask grade {}`)",
            self.exercise.id
        );
        for (check, (run, message_id, why)) in failures {
            if run == usize::MAX {
                let _ = writeln!(
                    text,
                    "\n{}: not checked on {}. {why}.",
                    check.name,
                    self.engine_kind.title()
                );
                continue;
            }
            let result = &results[run];
            let _ = writeln!(
                text,
                "\n{}, run {} ({}): {why}.",
                check.name,
                run + 1,
                self.describe_plan(result.plan, Some(&result.outcome))
            );
            if !result.quiet {
                let _ = writeln!(
                    text,
                    "  (the run did not come to rest within the scenario's {} min of consumer \
                     time: it was stopped there)",
                    self.exercise.run_for.as_secs() / 60
                );
            }
            let _ = writeln!(text, "  timeline of `{message_id}` (consumer time, life):");
            text.push_str(&timeline(&result.outcome, message_id));
            let _ = writeln!(text, "  rerun it: {}", self.rerun_command(result.plan));
        }
        text.push_str(&self.limits(results.len()));
        (text, passed)
    }

    fn limits(&self, runs: usize) -> String {
        format!(
            "\nWhat real mode does not do, and the simulator does (`cargo xtask grade {id}`):\n\
             - it made {runs} {}: one without faults, and one per crash point listed above; \
             the simulator tries every crash point, before and after every operation, then 500 \
             seeded random fault plans;\n\
             - it injects no lost replies, outages or delays: only kills{}, and what the engine \
             does on its own;\n\
             - its timing is real: a rerun can interleave differently, so a run cannot be \
             replayed exactly, and a pass here proves less than a pass there;\n\
             - the consumer's clock is compressed ({}x), so the engine's scaled timers stay \
             within the network's and the scheduler's jitter of the lesson's.\n",
            if runs == 1 { "run" } else { "runs" },
            if self.args.disconnect_before.is_some() {
                " and the connection cut"
            } else {
                ""
            },
            self.speed,
            id = self.exercise.id,
        )
    }
}

/// Whether the current life's last operation is a receive still waiting,
/// and the life holds no delivery it has not settled.
fn waiting_idle(events: &[Event], life: u32) -> bool {
    let mut held: BTreeMap<String, i32> = BTreeMap::new();
    let mut last_op: Option<(u64, &str)> = None;
    let mut answered = true;
    for event in events.iter().filter(|e| e.life == life) {
        let What::Line(line) = &event.what else {
            continue;
        };
        match line {
            Line::Op { op, operation, .. } => {
                last_op = Some((*op, operation));
                answered = false;
            }
            Line::Ok { op, detail } => {
                if last_op.map(|(last, _)| last) == Some(*op) {
                    answered = true;
                }
                if last_op.map(|(_, kind)| kind) == Some("receive")
                    && let Some(id) = detail.split_whitespace().next()
                    && id != "nothing"
                    && !detail.ends_with(exercises::RECEIVE_AND_DELETE)
                {
                    *held.entry(id.to_owned()).or_default() += 1;
                }
            }
            Line::Failed { op, .. } if last_op.map(|(last, _)| last) == Some(*op) => {
                answered = true;
            }
            _ => {}
        }
    }
    // Settlements that succeeded, by id.
    let operations = Outcome {
        events: events.to_vec(),
        ..Outcome::default()
    }
    .operations();
    for operation in operations.iter().filter(|o| o.life == life) {
        if ["complete", "abandon", "dead-letter"].contains(&operation.operation.as_str())
            && matches!(operation.outcome, Some(Ok(_)))
            && let Some(id) = &operation.id
            && let Some(count) = held.get_mut(id)
        {
            *count -= 1;
        }
    }
    let holds = held.values().any(|count| *count > 0);
    matches!(last_op, Some((_, "receive"))) && !answered && !holds
}

fn spawn(binary: &Path, config: &RunnerConfig) -> Result<Child, CannotRun> {
    let json = serde_json::to_string(config)
        .map_err(|error| CannotRun(format!("the consumer's configuration: {error}")))?;
    let mut command = Command::new(binary);
    command
        .env(CONFIG_VAR, json)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: prctl is async-signal-safe; it asks the kernel to kill the
    // consumer should the harness die first, so no consumer outlives it.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    command.spawn().map_err(|error| {
        CannotRun(format!(
            "starting the consumer {}: {error}",
            binary.display()
        ))
    })
}

fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

fn read_lines(child: &mut Child) -> mpsc::Receiver<String> {
    let (send, lines) = mpsc::channel();
    if let Some(stdout) = child.stdout.take() {
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
    }
    lines
}

fn read_stderr(child: &mut Child) -> mpsc::Receiver<String> {
    let (send, text) = mpsc::channel();
    if let Some(mut stderr) = child.stderr.take() {
        std::thread::spawn(move || {
            let mut all = String::new();
            let _ = stderr.read_to_string(&mut all);
            let _ = send.send(all);
        });
    }
    text
}

fn describe_exit(status: std::process::ExitStatus, stderr: &str) -> String {
    let last = stderr
        .lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .unwrap_or("")
        .trim();
    match (status.code(), status.signal()) {
        (Some(0), _) => "returned Ok(()): the supervisor starts it again".to_owned(),
        (Some(1), _) => "returned an error: the supervisor starts it again".to_owned(),
        (Some(101), _) => format!("panicked: {last}"),
        (Some(code), _) => format!("exited with code {code}: {last}"),
        (None, Some(signal)) => format!("was killed by signal {signal}"),
        (None, None) => "ended".to_owned(),
    }
}

fn read_calls(path: &Path) -> Vec<LoggedCall> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

/// Every event of a run, one per line (`--verbose`).
fn all_events(events: &[Event]) -> String {
    let mut text = String::new();
    for event in events {
        let what = match &event.what {
            What::Line(line) => line.to_string(),
            What::Printed(text) => format!("printed: {text}"),
            What::Killed => "killed (SIGKILL)".to_owned(),
            What::Exited(how) => format!("the process {how}"),
            What::Started => "started".to_owned(),
        };
        let _ = writeln!(
            text,
            "    {:>14}  {}  {what}",
            sim::clock::format_offset(event.at),
            event.life
        );
    }
    text
}

/// The events of a run that concern `message_id`, with the lives' starts,
/// kills and exits, one per line.
fn timeline(outcome: &Outcome, message_id: &str) -> String {
    let mut text = String::new();
    let operations = outcome.operations();
    for event in &outcome.events {
        let about = match &event.what {
            What::Line(Line::Op {
                op,
                operation,
                target,
                ..
            }) => {
                let Some(found) = operations
                    .iter()
                    .find(|o| o.life == event.life && o.op == *op)
                else {
                    continue;
                };
                if found.id.as_deref() != Some(message_id)
                    && !found
                        .id
                        .as_deref()
                        .is_some_and(|id| id.contains(message_id))
                {
                    continue;
                }
                let outcome = match &found.outcome {
                    Some(Ok(detail)) if detail.is_empty() => "ok".to_owned(),
                    Some(Ok(detail)) => format!("ok: {detail}"),
                    Some(Err(error)) => format!("failed: {error}"),
                    None => "(no answer: the life ended)".to_owned(),
                };
                let id = if operation == "receive" {
                    String::new()
                } else {
                    format!(" {}", found.id.clone().unwrap_or_default())
                };
                format!("op {op} {operation} {target}{id} -> {outcome}")
            }
            What::Line(Line::HandedOutAgain {
                queue,
                id,
                delivery,
            }) if id == message_id => {
                format!("the engine handed `{id}` out again on `{queue}` (delivery {delivery})")
            }
            What::Line(Line::LockRanOut { queue, id }) if id == message_id => format!(
                "  (the line above came after the ack wait of `{id}` on `{queue}` had run out)"
            ),
            What::Line(Line::CrashPoint(point)) => format!("stops at its crash point ({point})"),
            What::Line(Line::Note(note)) => format!("note: {note}"),
            What::Line(Line::Exit(Err(error))) => format!("run returned an error: {error}"),
            What::Killed => "killed (SIGKILL)".to_owned(),
            What::Started => "started".to_owned(),
            What::Exited(how) => format!("the process {how}"),
            _ => continue,
        };
        let _ = writeln!(
            text,
            "    {:>10}  {}  {about}",
            sim::clock::format_offset(event.at),
            event.life
        );
    }
    text
}

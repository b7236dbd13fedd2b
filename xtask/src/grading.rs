//! Running an exercise's graded checks and collecting their reports.
//!
//! The runner does what `cargo test -p <crate> --test checks` does, in two
//! steps, so that it can tell the learner's three kinds of trouble apart:
//!
//! 1. build the test binary (`cargo test --no-run`): if the learner's file
//!    does not compile, the compiler's errors are the answer;
//! 2. run the binary with `EDA_GRADE_REPORT_DIR` set, under a wall-clock
//!    deadline: each check writes `<dir>/<check>.json`
//!    (`{"check","points","passed","report"}`), and a run past the deadline
//!    is killed and reported as hung rather than hanging the runner.
//!
//! `grade`, `watch` and `verify` all grade through [`grade`].

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::catalogue::Exercise;
use crate::progress::Score;

/// The name of the integration test that holds an exercise's checks.
pub const CHECKS_TEST: &str = "checks";

/// Which version of the learner's file to grade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// The file in `src/`: the learner's work (or the starter, untouched).
    Learner,
    /// The reference solution, compiled in with the crate's `solution` feature.
    Solution,
}

/// Where and how to grade.
pub struct Grading<'a> {
    /// The workspace to run cargo in: the repository, or a temporary copy
    /// (`verify` grades the shipped starter in one).
    pub workspace: &'a Path,
    pub exercise: &'a Exercise,
    pub variant: Variant,
    /// How long the checks may run (wall clock) before they count as hung.
    pub timeout: Duration,
    /// Which random fault plans the checks explore, if not their default
    /// (500 from seed 0, or what `EDA_SEEDS` and `EDA_SEED` in the
    /// runner's own environment say, which the checks inherit): passed as
    /// `EDA_SEEDS` and `EDA_SEED`.
    pub random_plans: Option<Seeds>,
    /// Let cargo print its progress ("Compiling broker…") to the terminal, so
    /// a learner's first build (minutes, on a small machine) is not a silent wait.
    pub show_progress: bool,
}

/// A set of random fault plans: how many, and the seed they start from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seeds {
    pub plans: u64,
    pub first: u64,
}

/// One check's verdict, as the check itself reported it.
#[derive(Debug, Clone, Deserialize)]
pub struct CheckResult {
    /// The anomaly the check is named after: `lost-message`.
    pub check: String,
    pub points: u32,
    pub passed: bool,
    /// For a failed check: the anomaly, the shortest timeline, the seed, the
    /// crash point and the command that replays it.
    #[serde(default)]
    pub report: String,
}

/// A test in the checks binary that failed without writing a report: a bug
/// in the check or the harness rather than a verdict. Shown, never hidden.
#[derive(Debug, Clone)]
pub struct Unreported {
    pub test: String,
    /// What libtest printed for it (its panic message).
    pub output: String,
}

/// Every verdict of one run.
#[derive(Debug, Clone)]
pub struct Graded {
    /// In the order the test binary listed them.
    pub checks: Vec<CheckResult>,
    pub unreported: Vec<Unreported>,
    /// eda-lint's verdict on the graded file, for an exercise that must be
    /// lint-clean (`lint_clean` in the catalogue); `None` for the others.
    pub lint: Option<LintVerdict>,
}

/// What eda-lint said about the graded file. It earns no points: it is the
/// second half of "done" for an exercise whose catalogue entry says
/// `lint_clean`, beside every check passing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LintVerdict {
    /// The file linted, relative to the repository root.
    pub file: String,
    /// How many findings.
    pub findings: usize,
    /// Why the file could not be linted cleanly (unreadable, does not parse):
    /// such a file never counts as clean.
    pub trouble: Vec<String>,
    /// The findings as `eda-lint check` prints them, with its summary line.
    pub rendered: String,
}

impl LintVerdict {
    /// No finding, and the file was read and parsed.
    pub fn is_clean(&self) -> bool {
        self.findings == 0 && self.trouble.is_empty()
    }
}

impl Graded {
    /// Points earned out of the points available.
    pub fn score(&self) -> Score {
        Score {
            points: self
                .checks
                .iter()
                .filter(|check| check.passed)
                .map(|check| check.points)
                .sum(),
            max: self.checks.iter().map(|check| check.points).sum(),
        }
    }

    /// True when every check passed, nothing failed unreported and, for an
    /// exercise that must be lint-clean, eda-lint reports nothing.
    pub fn all_passed(&self) -> bool {
        !self.checks.is_empty()
            && self.checks.iter().all(|check| check.passed)
            && self.unreported.is_empty()
            && self.lint.as_ref().is_none_or(LintVerdict::is_clean)
    }

    /// The names of the failed checks, sorted.
    pub fn failed(&self) -> Vec<String> {
        let mut failed: Vec<String> = self
            .checks
            .iter()
            .filter(|check| !check.passed)
            .map(|check| check.check.clone())
            .collect();
        failed.sort();
        failed
    }
}

/// Why an exercise could not be graded.
#[derive(Debug, thiserror::Error)]
pub enum GradingError {
    #[error("{file} does not compile:\n{diagnostics}")]
    DoesNotCompile { file: String, diagnostics: String },
    #[error(
        "the checks of {package} were still running after {seconds} s and were stopped; \
         the code under test probably hangs (a loop that never awaits, or a deadlock). \
         Checks that finished: {finished}"
    )]
    Hung {
        package: String,
        seconds: u64,
        finished: String,
    },
    #[error("cannot run {what}: {source}")]
    Spawn {
        what: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Harness(String),
}

/// Builds and runs the checks of one exercise, and lints the graded file
/// if the exercise must be lint-clean.
pub fn grade(grading: &Grading<'_>) -> Result<Graded, GradingError> {
    let binary = build(grading)?;
    let mut graded = run(grading, &binary)?;
    if grading.exercise.lint_clean {
        graded.lint = Some(lint_verdict(
            grading.workspace,
            grading.exercise,
            grading.variant,
        ));
    }
    Ok(graded)
}

/// eda-lint's verdict on the file `variant` grades (the learner's, or the
/// reference solution), read from `workspace`, with the default
/// configuration, as `verify` lints the starter and the solution.
pub fn lint_verdict(workspace: &Path, exercise: &Exercise, variant: Variant) -> LintVerdict {
    let file = match variant {
        Variant::Learner => exercise.learner_file(),
        Variant::Solution => exercise.solution_file(),
    };
    let shown = file.display().to_string();
    match std::fs::read_to_string(workspace.join(&file)) {
        Ok(text) => {
            let linted = crate::linting::lint(&file, &text);
            LintVerdict {
                file: shown,
                findings: linted.findings.len(),
                trouble: linted.trouble,
                rendered: linted.rendered,
            }
        }
        Err(error) => {
            let trouble = format!("{shown} cannot be read for eda-lint: {error}");
            LintVerdict {
                file: shown,
                findings: 0,
                rendered: format!("{trouble}\n"),
                trouble: vec![trouble],
            }
        }
    }
}

/// The cargo the runner was started by (so the same toolchain builds the
/// exercise), or the one on the PATH.
fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Step 1: build the checks binary; returns its path.
pub fn build(grading: &Grading<'_>) -> Result<PathBuf, GradingError> {
    let exercise = grading.exercise;
    let mut command = build_command(grading);
    command.stderr(if grading.show_progress {
        Stdio::inherit()
    } else {
        Stdio::piped()
    });
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|source| GradingError::Spawn {
            what: "cargo".into(),
            source,
        })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        let file = match grading.variant {
            Variant::Learner => exercise.learner_file(),
            Variant::Solution => exercise.solution_file(),
        };
        let rendered: Vec<String> = stdout
            .lines()
            .filter_map(|line| serde_json::from_str::<Artifact>(line).ok())
            .filter(|message| message.reason == "compiler-message")
            .filter_map(|message| message.message.and_then(|m| m.rendered))
            .collect();
        let diagnostics = if !rendered.is_empty() {
            rendered.concat().trim_end().to_string()
        } else if grading.show_progress {
            // Not the compiler: cargo itself failed, and said why above.
            "cargo could not build it (its message is above)".to_string()
        } else {
            compiler_messages(&String::from_utf8_lossy(&output.stderr))
        };
        return Err(GradingError::DoesNotCompile {
            file: file.display().to_string(),
            diagnostics,
        });
    }
    stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<Artifact>(line).ok())
        .find(|artifact| {
            artifact.reason == "compiler-artifact"
                && artifact.target.name == CHECKS_TEST
                && artifact.target.kind.iter().any(|kind| kind == "test")
        })
        .and_then(|artifact| artifact.executable)
        .ok_or_else(|| {
            GradingError::Harness(format!(
                "cargo built {} but reported no `{CHECKS_TEST}` test binary; \
                 does {} have tests/{CHECKS_TEST}.rs?",
                exercise.package,
                exercise.dir.display()
            ))
        })
}

/// The `cargo test --no-run` that builds the checks binary of the exercise.
fn build_command(grading: &Grading<'_>) -> Command {
    let exercise = grading.exercise;
    let mut command = cargo();
    // A temporary workspace (see `shipped`) shares the repository's target
    // folder, so that only the broker and the exercise are rebuilt in it.
    if std::env::var_os("CARGO_TARGET_DIR").is_none() {
        command.env("CARGO_TARGET_DIR", crate::workspace::root().join("target"));
    }
    command
        .current_dir(grading.workspace)
        // The compiler's messages come as JSON on stdout (each with its
        // rendered text), so cargo's own progress on stderr can go straight
        // to the terminal.
        .args(["test", "--no-run", "--message-format=json"])
        .args(["-p", &exercise.package, "--test", CHECKS_TEST])
        .args(["--config", &line_tables_only(&exercise.package)]);
    if grading.variant == Variant::Solution {
        command.args(["--features", "solution"]);
    }
    command
}

/// The exercise crate, the one a learner's save rebuilds, with line tables
/// for its debug information instead of everything a debugger reads: a
/// backtrace still names the learner's lines, and the rebuild and the link
/// of the checks binary after a one-line edit cost some 30% less CPU
/// (outbox: 1.44 s -> 1.0 s). The dependencies are as `cargo test` builds
/// them; cargo keeps this build of the exercise apart from that one, so
/// neither rebuilds the other.
fn line_tables_only(package: &str) -> String {
    format!("profile.dev.package.{package}.debug=\"line-tables-only\"")
}

/// The part of one cargo JSON message the runner needs.
#[derive(Deserialize)]
struct Artifact {
    reason: String,
    #[serde(default)]
    target: ArtifactTarget,
    #[serde(default)]
    executable: Option<PathBuf>,
    /// For a `compiler-message`: the diagnostic.
    #[serde(default)]
    message: Option<CompilerMessage>,
}

/// A compiler diagnostic, as cargo's JSON carries it.
#[derive(Deserialize)]
struct CompilerMessage {
    /// The text rustc would have printed.
    #[serde(default)]
    rendered: Option<String>,
}

#[derive(Default, Deserialize)]
struct ArtifactTarget {
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: Vec<String>,
}

/// Cargo's stderr without its progress lines ("Compiling x", "Finished …"),
/// which leaves the compiler's errors and warnings.
fn compiler_messages(stderr: &str) -> String {
    const PROGRESS: &[&str] = &[
        "Compiling",
        "Checking",
        "Finished",
        "Blocking",
        "Downloading",
        "Downloaded",
        "Updating",
        "Locking",
        "Adding",
        "Fresh",
        "Executable",
        "Building",
    ];
    let kept: Vec<&str> = stderr
        .lines()
        .filter(|line| {
            let trimmed = line.trim_start();
            let is_progress = line.starts_with(' ')
                && PROGRESS.iter().any(|word| {
                    trimmed
                        .strip_prefix(word)
                        .is_some_and(|rest| rest.starts_with(' '))
                });
            // Cargo's own chatter about the failed build, not the compiler's.
            let is_chatter = line.starts_with("warning: build failed");
            !is_progress && !is_chatter
        })
        .collect();
    kept.join("\n").trim_end().to_string()
}

/// Step 2: run the checks binary under a deadline and read the reports.
pub fn run(grading: &Grading<'_>, binary: &Path) -> Result<Graded, GradingError> {
    let exercise = grading.exercise;
    let reports = tempfile::tempdir().map_err(|source| GradingError::Spawn {
        what: "a temporary report folder".into(),
        source,
    })?;
    let crate_dir = grading.workspace.join(&exercise.dir);
    let mut child = Command::new(binary)
        .current_dir(&crate_dir)
        .env("CARGO_MANIFEST_DIR", &crate_dir)
        // What `cargo test` would set: the checks print replay commands
        // that name the package.
        .env("CARGO_PKG_NAME", &exercise.package)
        .env("EDA_GRADE_REPORT_DIR", reports.path())
        .envs(grading.random_plans.into_iter().flat_map(|seeds| {
            [
                ("EDA_SEEDS", seeds.plans.to_string()),
                ("EDA_SEED", seeds.first.to_string()),
            ]
        }))
        .args(["--color", "never"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| GradingError::Spawn {
            what: binary.display().to_string(),
            source,
        })?;
    // Drain both pipes on their own threads: a chatty test must never block
    // on a full pipe while the runner waits for it to exit.
    let stdout = child.stdout.take().map(drain);
    let stderr = child.stderr.take().map(drain);
    let deadline = Instant::now() + grading.timeout;
    let hung = loop {
        match child.try_wait() {
            Ok(Some(_)) => break false,
            Ok(None) if Instant::now() >= deadline => {
                // The process may exit between the check and the kill; either
                // way it is gone afterwards.
                let _ = child.kill();
                let _ = child.wait();
                break true;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(source) => {
                return Err(GradingError::Spawn {
                    what: binary.display().to_string(),
                    source,
                });
            }
        }
    };
    let stdout = stdout.map(join).unwrap_or_default();
    let stderr = stderr.map(join).unwrap_or_default();
    let checks = read_reports(reports.path())?;
    if hung {
        let mut finished: Vec<String> = checks
            .iter()
            .map(|check| {
                format!(
                    "{} ({})",
                    check.check,
                    if check.passed { "passed" } else { "failed" }
                )
            })
            .collect();
        if finished.is_empty() {
            finished.push("none".into());
        }
        return Err(GradingError::Hung {
            package: exercise.package.clone(),
            seconds: grading.timeout.as_secs(),
            finished: finished.join(", "),
        });
    }
    let outcomes = test_outcomes(&stdout);
    if outcomes.is_empty() && checks.is_empty() {
        return Err(GradingError::Harness(format!(
            "the checks binary of {} ran no test:\n{stdout}\n{stderr}",
            exercise.package
        )));
    }
    let unreported = outcomes
        .iter()
        .filter(|(test, passed)| {
            !passed && !checks.iter().any(|check| test_name(&check.check) == *test)
        })
        .map(|(test, _)| Unreported {
            test: test.clone(),
            output: failure_output(&stdout, test),
        })
        .collect();
    // The catalogue's order, which is the rubric's and the README's: the
    // same order on every run, and the one the learner reads everywhere
    // else. A check the catalogue does not list goes last, by name.
    let mut checks = checks;
    sort_as_catalogued(&mut checks, exercise);
    Ok(Graded {
        checks,
        unreported,
        lint: None,
    })
}

/// Sorts graded checks in the order the catalogue lists them.
fn sort_as_catalogued(checks: &mut [CheckResult], exercise: &Exercise) {
    let position = |name: &str| {
        exercise
            .checks
            .iter()
            .position(|listed| listed.check == name)
            .unwrap_or(usize::MAX)
    };
    checks.sort_by(|a, b| {
        position(&a.check)
            .cmp(&position(&b.check))
            .then_with(|| a.check.cmp(&b.check))
    });
}

fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

fn join(handle: std::thread::JoinHandle<String>) -> String {
    handle.join().unwrap_or_default()
}

/// The `#[test]` function of a check: `lost-message` is `lost_message`.
pub fn test_name(check: &str) -> String {
    check.replace('-', "_")
}

/// Reads every `<check>.json` in the report folder.
fn read_reports(folder: &Path) -> Result<Vec<CheckResult>, GradingError> {
    let entries = std::fs::read_dir(folder).map_err(|source| GradingError::Spawn {
        what: format!("reading {}", folder.display()),
        source,
    })?;
    let mut checks = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|extension| extension != "json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).map_err(|source| GradingError::Spawn {
            what: format!("reading {}", path.display()),
            source,
        })?;
        let check: CheckResult = serde_json::from_str(&text).map_err(|error| {
            GradingError::Harness(format!(
                "the check report {} is not valid: {error}",
                path.display()
            ))
        })?;
        checks.push(check);
    }
    Ok(checks)
}

/// `(test name, passed)` for every `test <name> ... ok|FAILED` line.
fn test_outcomes(stdout: &str) -> Vec<(String, bool)> {
    stdout
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("test ")?;
            let (name, verdict) = rest.rsplit_once(" ... ")?;
            match verdict.trim() {
                "ok" => Some((name.to_string(), true)),
                "FAILED" => Some((name.to_string(), false)),
                _ => None,
            }
        })
        .collect()
}

/// The `---- <test> stdout ----` section libtest prints for a failed test.
fn failure_output(stdout: &str, test: &str) -> String {
    let header = format!("---- {test} stdout ----");
    let Some(start) = stdout.find(&header) else {
        return String::from("(no output)");
    };
    let body = &stdout[start + header.len()..];
    let end = [body.find("\n---- "), body.find("\nfailures:")]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(body.len());
    body[..end].trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIBTEST: &str = "\nrunning 3 tests\ntest lost_message ... FAILED\n\
        test unsettled_message ... ok\ntest helper_panics ... FAILED\n\nfailures:\n\n\
        ---- lost_message stdout ----\nreport one\n\n---- helper_panics stdout ----\n\
        thread 'helper_panics' panicked at tests/checks.rs:9:5:\nboom\n\nfailures:\n    \
        lost_message\n    helper_panics\n\ntest result: FAILED. 1 passed; 2 failed\n";

    #[test]
    fn reads_libtest_verdicts_and_failure_sections() {
        assert_eq!(
            test_outcomes(LIBTEST),
            vec![
                ("lost_message".to_string(), false),
                ("unsettled_message".to_string(), true),
                ("helper_panics".to_string(), false),
            ]
        );
        assert_eq!(
            failure_output(LIBTEST, "helper_panics"),
            "thread 'helper_panics' panicked at tests/checks.rs:9:5:\nboom"
        );
        assert_eq!(failure_output(LIBTEST, "lost_message"), "report one");
    }

    #[test]
    fn graded_checks_come_in_the_catalogues_order() {
        let root = crate::workspace::root();
        let catalogue = crate::catalogue::Catalogue::load(&root).expect("the catalogue loads");
        let exercise = catalogue
            .find("claim-check")
            .expect("claim-check is catalogued");
        let result = |check: &str| CheckResult {
            check: check.to_owned(),
            points: 10,
            passed: true,
            report: String::new(),
        };
        // As the report folder lists them: alphabetically, with one the
        // catalogue does not know.
        let mut checks = vec![
            result("lost-payload"),
            result("extra-check"),
            result("orphaned-payload"),
            result("oversized-message"),
        ];
        sort_as_catalogued(&mut checks, exercise);
        let order: Vec<&str> = checks.iter().map(|check| check.check.as_str()).collect();
        assert_eq!(
            order,
            [
                "oversized-message",
                "lost-payload",
                "orphaned-payload",
                "extra-check"
            ]
        );
    }

    #[test]
    fn reads_a_fake_report_folder() {
        let folder = tempfile::tempdir().expect("temporary directory");
        let write = |name: &str, json: &str| {
            std::fs::write(folder.path().join(name), json).expect("written");
        };
        write(
            "lost-message.json",
            r#"{"check":"lost-message","points":10,"passed":false,"report":"lost m-2"}"#,
        );
        write(
            "unsettled-message.json",
            r#"{"check":"unsettled-message","points":5,"passed":true,"report":""}"#,
        );
        write("notes.txt", "ignored");
        let graded = Graded {
            checks: read_reports(folder.path()).expect("valid reports"),
            unreported: vec![],
            lint: None,
        };
        assert_eq!(graded.score(), Score { points: 5, max: 15 });
        assert_eq!(graded.failed(), vec!["lost-message".to_string()]);
        assert!(!graded.all_passed());

        write("broken.json", "{");
        assert!(matches!(
            read_reports(folder.path()),
            Err(GradingError::Harness(_))
        ));
    }

    #[test]
    fn builds_the_exercise_crate_with_line_tables_only() {
        let root = crate::workspace::root();
        let catalogue = crate::catalogue::Catalogue::load(&root).expect("the catalogue loads");
        let exercise = catalogue
            .find("outbox")
            .expect("outbox is in the catalogue");
        let grading = Grading {
            workspace: &root,
            exercise,
            variant: Variant::Learner,
            timeout: Duration::from_secs(1),
            random_plans: None,
            show_progress: false,
        };
        let command = build_command(&grading);
        let args: Vec<String> = command
            .get_args()
            .map(|arg| arg.to_string_lossy().into_owned())
            .collect();
        let config = args
            .iter()
            .position(|arg| arg == "--config")
            .and_then(|at| args.get(at + 1));
        assert_eq!(
            config.map(String::as_str),
            Some("profile.dev.package.outbox.debug=\"line-tables-only\""),
            "{args:?}"
        );
        // The value is TOML that cargo reads as the profile override.
        let table: toml::Table = config
            .map(|text| toml::from_str(text).expect("valid TOML"))
            .unwrap_or_default();
        assert_eq!(
            table["profile"]["dev"]["package"]["outbox"]["debug"].as_str(),
            Some("line-tables-only")
        );
    }

    #[test]
    fn keeps_compiler_errors_and_drops_cargo_progress() {
        let stderr = "   Compiling broker v0.1.0 (/w/exercises/broker)\n\
            error[E0425]: cannot find value `x` in this scope\n --> src/consumer.rs:3:5\n\
            \nerror: could not compile `ack-ordering` (lib) due to 1 previous error\n\
            warning: build failed, waiting for other jobs to finish...\n";
        let kept = compiler_messages(stderr);
        assert!(kept.starts_with("error[E0425]"));
        assert!(!kept.contains("Compiling"));
        assert!(kept.contains("could not compile"));
    }
}

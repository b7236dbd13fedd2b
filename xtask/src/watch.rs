//! `cargo xtask watch`: re-grade the current exercise on every save.
//!
//! The current exercise is the first, in course order, that has not passed.
//! Each time a `.rs` file in its folder changes, watch rebuilds and re-runs
//! its checks, shows the first failing check's report (or the compiler's
//! errors) and the score, and offers the next hint. When every check passes
//! it records the pass and names the next exercise; until the learner moves
//! on (Enter, or a save in the next exercise's folder), saves to the passed
//! exercise keep re-grading it, so tidying up cannot break it unseen. A save
//! in any exercise's folder re-grades that exercise.
//!
//! Some filesystems (network mounts, some containers and VMs) deliver no
//! change events. `--manual` re-grades when you press Enter instead, and
//! watch falls back to it by itself if the file watcher cannot start.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::{Duration, Instant};

use notify::{RecursiveMode, Watcher};

use crate::catalogue::{Catalogue, Exercise};
use crate::exit::Status;
use crate::grade::failure_reports;
use crate::grading::{self, CheckResult, Graded, Grading, GradingError, Variant};
use crate::progress::Progress;

/// Options of `cargo xtask watch`.
#[derive(clap::Args)]
#[command(
    after_help = "Keys (type, then Enter): h the next hint, q quit; Enter alone re-grades (or, \
     once the exercise passes, starts the next one); r re-grades the exercise shown.\n\
     Exit status: 0 when you quit or every exercise passes; 2 unknown exercise or bad catalogue."
)]
pub struct Args {
    /// Start from this exercise instead of the first one not yet passed.
    pub exercise: Option<String>,
    /// Re-grade when you press Enter instead of on every save: for
    /// filesystems where watching for changes does not work.
    #[arg(long)]
    pub manual: bool,
    /// Seconds the checks may run before they count as hung and are stopped.
    #[arg(long, default_value_t = 120)]
    pub timeout: u64,
}

/// What wakes the loop up.
enum Input {
    /// Source files changed, at this instant (to measure the learner's
    /// loop).
    Saved(Instant, Vec<PathBuf>),
    /// A line typed on the terminal.
    Line(String),
    /// The terminal closed (stdin reached its end).
    Closed,
    /// The file watcher failed while running.
    WatchFailed(String),
}

/// Runs `cargo xtask watch`.
pub fn run(args: Args) -> ExitCode {
    let root = crate::workspace::root();
    let catalogue = match Catalogue::load(&root) {
        Ok(catalogue) => catalogue,
        Err(error) => {
            eprintln!("error: {error}");
            return Status::Usage.into();
        }
    };
    let mut progress = Progress::load(&root);
    let mut current = match &args.exercise {
        Some(name) => match catalogue.find(name) {
            Ok(exercise) => exercise,
            Err(error) => {
                eprintln!("error: {error}");
                return Status::Usage.into();
            }
        },
        None => match progress.current(&catalogue) {
            Some(exercise) => exercise,
            None => {
                println!(
                    "Every exercise passes. Well done! (`cargo xtask grade` shows the scores.)"
                );
                return Status::Success.into();
            }
        },
    };

    let (sender, inputs) = mpsc::channel();
    spawn_stdin_reader(sender.clone());
    let mut manual = args.manual;
    // Bound to a name so the watcher lives as long as the loop runs.
    let _watcher = if manual {
        None
    } else {
        match start_watcher(&root, sender.clone()) {
            Ok(watcher) => Some(watcher),
            Err(error) => {
                println!(
                    "Cannot watch files for changes here ({error}); switching to manual mode: \
                     save, then press Enter to re-grade."
                );
                manual = true;
                None
            }
        }
    };

    let timeout = Duration::from_secs(args.timeout);
    let mut saved_at = None;
    loop {
        let outcome = regrade(&root, current, timeout, saved_at);
        // The exercise Enter moves on to, once `current` passes. Until the
        // learner moves on, saves to `current` keep re-grading it: tidying
        // up a passed file must not break it unseen.
        let mut next_up = None;
        match &outcome {
            Some(graded) => progress.record_graded(current, graded),
            // Not graded (it does not compile, or hung): no pass now, so
            // h + Enter does not show the solution over this file.
            None => progress.record_ungraded(current),
        }
        if let Err(error) = progress.save(&root) {
            eprintln!("warning: your progress was not saved: {error:#}");
        }
        if let Some(graded) = &outcome
            && graded.all_passed()
        {
            match progress.current(&catalogue) {
                Some(next) => {
                    println!(
                        "\n{} passes! `cargo xtask hint {}` now shows the reference solution.\n\
                         Next: {}, in {}.",
                        current.id,
                        current.id,
                        next.id,
                        next.learner_file().display()
                    );
                    next_up = Some(next);
                }
                None => {
                    println!("\nEvery exercise passes. Well done!");
                    return Status::Success.into();
                }
            }
        }
        offer_hint(&progress, current);
        print_keys(manual, current, next_up);
        // Wait for the next reason to re-grade.
        saved_at = loop {
            match inputs.recv() {
                // A save re-grades the exercise it was made in: the shown
                // one, or another the learner went back (or on) to.
                Ok(Input::Saved(at, paths)) if !manual => {
                    match saved_exercise(&catalogue, &root, current, &paths) {
                        Some(saved) => {
                            current = saved;
                            break Some(settle(&inputs, at));
                        }
                        None => continue,
                    }
                }
                Ok(Input::Saved(..)) => continue,
                Ok(Input::Line(line)) => match line.trim() {
                    "q" | "quit" | "exit" => return Status::Success.into(),
                    "h" | "hint" => {
                        println!(
                            "\n{}",
                            crate::hint::next_hint(&root, &mut progress, current, "h + Enter")
                        );
                        if let Err(error) = progress.save(&root) {
                            eprintln!("warning: your progress was not saved: {error:#}");
                        }
                        print_keys(manual, current, next_up);
                    }
                    "r" => break None,
                    "" => {
                        if let Some(next) = next_up {
                            current = next;
                        }
                        break None;
                    }
                    other => {
                        println!("Unknown key `{other}`.");
                        print_keys(manual, current, next_up);
                    }
                },
                Ok(Input::Closed) if manual => return Status::Success.into(),
                // With no terminal (stdin closed), keep re-grading on saves.
                Ok(Input::Closed) => continue,
                Ok(Input::WatchFailed(error)) => {
                    println!(
                        "The file watcher stopped ({error}); switching to manual mode: save, \
                         then press Enter to re-grade."
                    );
                    manual = true;
                }
                Err(_) => return Status::Success.into(),
            }
        };
    }
}

/// The exercise a save belongs to: the shown one if any saved path is in
/// its folder, else the first exercise whose folder holds a saved path.
/// `None` for saves outside every exercise (the broker, say).
fn saved_exercise<'a>(
    catalogue: &'a Catalogue,
    root: &Path,
    shown: &'a Exercise,
    paths: &[PathBuf],
) -> Option<&'a Exercise> {
    let holds = |exercise: &Exercise| {
        paths
            .iter()
            .any(|path| path.starts_with(root.join(&exercise.dir)))
    };
    if holds(shown) {
        return Some(shown);
    }
    catalogue.exercises.iter().find(|exercise| holds(exercise))
}

/// Grades `exercise` and shows the result. `saved_at` is when the save that
/// triggered this run happened: the time from it to the result shown is the
/// learner's loop, printed so it can be measured.
fn regrade(
    root: &Path,
    exercise: &Exercise,
    timeout: Duration,
    saved_at: Option<Instant>,
) -> Option<Graded> {
    if std::io::stdout().is_terminal() {
        // Clear the screen so the newest result is the only one in view.
        print!("\x1b[2J\x1b[H");
    }
    println!(
        "Exercise {} (about {} minutes): edit {} (the README in {} says how).\nGrading…",
        exercise.id,
        exercise.minutes,
        exercise.learner_file().display(),
        exercise.dir.display()
    );
    let _ = std::io::stdout().flush();
    crate::grade::warn_about_other_edits(root, exercise);
    let grading = Grading {
        workspace: root,
        exercise,
        variant: Variant::Learner,
        timeout,
        random_plans: None,
        show_progress: std::io::stderr().is_terminal(),
    };
    let result = grading::grade(&grading);
    let graded = match result {
        Ok(graded) => {
            show(&graded, exercise);
            Some(graded)
        }
        Err(GradingError::DoesNotCompile { file, diagnostics }) => {
            println!("\n{file} does not compile yet:\n\n{diagnostics}");
            println!("  score 0/{} (no check ran)", exercise.max_points());
            None
        }
        Err(error) => {
            println!("\n{error}");
            None
        }
    };
    if let Some(at) = saved_at {
        println!(
            "(graded {:.1} s after your save)",
            at.elapsed().as_secs_f64()
        );
    }
    graded
}

/// The first failing check's report in full, and the score of every check.
/// "First" is the one to fix first: a cause before its symptoms, otherwise
/// the catalogue's `checks` order, the order they are taught in (the test
/// binary lists them alphabetically). A failing check that another failing
/// check explains says so on its score line.
fn show(graded: &Graded, exercise: &Exercise) {
    let first_failure = Graded {
        checks: first_failing(graded, exercise)
            .cloned()
            .into_iter()
            .collect(),
        unreported: graded.unreported.iter().take(1).cloned().collect(),
        lint: graded.lint.clone(),
    };
    print!("{}", failure_reports(&first_failure, exercise));
    println!();
    print!("{}", score_lines(graded, exercise));
}

/// One line per check, ✓ or ✗ and its points, then the score.
fn score_lines(graded: &Graded, exercise: &Exercise) -> String {
    let failing = graded.failed();
    let mut out = String::new();
    for check in &graded.checks {
        let causes = exercise.failing_causes(&check.check, &failing);
        let follows = if check.passed || causes.is_empty() {
            String::new()
        } else {
            format!("  (follows from {})", causes.join(", "))
        };
        out.push_str(&format!(
            "  {} {:<28} {}/{}{follows}\n",
            if check.passed { "✓" } else { "✗" },
            check.check,
            if check.passed { check.points } else { 0 },
            check.points
        ));
    }
    let score = graded.score();
    out.push_str(&format!("  score {}/{}\n", score.points, score.max));
    out
}

/// The failing check to fix first (see [`Exercise::by_cause`]).
fn first_failing<'a>(graded: &'a Graded, exercise: &Exercise) -> Option<&'a CheckResult> {
    let first = exercise.by_cause(&graded.failed()).into_iter().next()?;
    graded.checks.iter().find(|check| check.check == first)
}

/// Offers the next hint of an exercise that does not pass yet, naming the
/// check it is about when that check is failing.
fn offer_hint(progress: &Progress, exercise: &Exercise) {
    let state = progress.of(exercise);
    if state.passes_now() {
        return;
    }
    println!("\n{}", hint_offer(exercise, &state));
}

fn hint_offer(exercise: &Exercise, state: &crate::progress::ExerciseProgress) -> String {
    let total = exercise.hints.len();
    let seen = state.revealed_hints.len().min(total);
    match crate::hint::next_hint_index(exercise, &state.revealed_hints, &state.last_failing) {
        Some(index) => match exercise.hints[index].check() {
            Some(check) if state.last_failing.iter().any(|failed| failed == check) => format!(
                "Stuck on `{check}`? h + Enter shows a hint about it ({seen} of {total} hints seen)."
            ),
            _ => format!("Stuck? h + Enter shows another hint ({seen} of {total} seen)."),
        },
        None => format!("You have seen all {total} hints: h + Enter shows them again."),
    }
}

/// The keys, and what is being watched: `shown` is the exercise a save
/// (or Enter) re-grades; `next_up` the one Enter moves on to, once `shown`
/// passes.
fn print_keys(manual: bool, shown: &Exercise, next_up: Option<&Exercise>) {
    println!("\n{}", keys_text(manual, shown, next_up));
    let _ = std::io::stdout().flush();
}

fn keys_text(manual: bool, shown: &Exercise, next_up: Option<&Exercise>) -> String {
    let file = shown.learner_file();
    match (manual, next_up) {
        (true, None) => format!(
            "Save {}, then press Enter to re-grade {}; h + Enter: a hint; q + Enter: quit.",
            file.display(),
            shown.id
        ),
        (true, Some(next)) => format!(
            "Enter: start {}; r + Enter: re-grade {} again; h + Enter: the solution; \
             q + Enter: quit.",
            next.id, shown.id
        ),
        (false, None) => format!(
            "Watching {} for saves (they re-grade {}). h + Enter: a hint; Enter: re-grade now; \
             q + Enter: quit.",
            file.display(),
            shown.id
        ),
        (false, Some(next)) => format!(
            "Still watching {}: a save re-grades {} (tidy up safely). Enter: start {} \
             (saving its file does too); h + Enter: the solution; q + Enter: quit.",
            file.display(),
            shown.id,
            next.id
        ),
    }
}

/// Editors write a file in several steps (truncate, write, rename): wait
/// until the events stop for a moment so one save means one re-grade.
fn settle(inputs: &Receiver<Input>, first: Instant) -> Instant {
    while let Ok(input) = inputs.recv_timeout(Duration::from_millis(150)) {
        if !matches!(input, Input::Saved(..)) {
            // A key pressed mid-save: the re-grade about to run answers it.
            break;
        }
    }
    first
}

/// Watches every exercise folder (the learner may move on to the next one
/// while this runs) and reports changes to `.rs` files.
fn start_watcher(root: &Path, sender: Sender<Input>) -> notify::Result<notify::RecommendedWatcher> {
    let events = sender.clone();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let _ = match event {
            Ok(event) if is_source_change(&event) => {
                events.send(Input::Saved(Instant::now(), event.paths))
            }
            Ok(_) => Ok(()),
            Err(error) => events.send(Input::WatchFailed(error.to_string())),
        };
    })?;
    let folder: PathBuf = root.join("exercises");
    watcher.watch(&folder, RecursiveMode::Recursive)?;
    Ok(watcher)
}

/// A content change to a Rust source file outside any build folder.
fn is_source_change(event: &notify::Event) -> bool {
    use notify::EventKind;
    matches!(
        event.kind,
        EventKind::Modify(_) | EventKind::Create(_) | EventKind::Remove(_)
    ) && event.paths.iter().any(|path| {
        path.extension().is_some_and(|extension| extension == "rs")
            && !path.components().any(|part| part.as_os_str() == "target")
    })
}

/// Reads the terminal on its own thread, one line at a time.
fn spawn_stdin_reader(sender: Sender<Input>) {
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        for line in stdin.lock().lines() {
            match line {
                Ok(line) => {
                    if sender.send(Input::Line(line)).is_err() {
                        return;
                    }
                }
                Err(_) => break,
            }
        }
        let _ = sender.send(Input::Closed);
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{AccessKind, DataChange, EventKind, ModifyKind};

    fn event(kind: EventKind, path: &str) -> notify::Event {
        notify::Event::new(kind).add_path(PathBuf::from(path))
    }

    const CATALOGUE: &str = r#"
[[exercise]]
id = "hello-broker"
chapter = "distributed-systems"
crate = "hello-broker"
dir = "exercises/01-hello-broker"
file = "src/hello.rs"
solution = "solution/hello.rs"
minutes = 20
anomalies = ["unsettled-message"]
lints = []
checks = [{ check = "unsettled-message", points = 5 }]
hints = ["one"]

[[exercise]]
id = "ack-ordering"
chapter = "configuration"
crate = "ack-ordering"
dir = "exercises/02-ack-ordering"
file = "src/consumer.rs"
solution = "solution/consumer.rs"
minutes = 45
anomalies = ["lost-message"]
lints = []
checks = [
    { check = "lost-message", points = 10 },
    { check = "lock-expired", points = 10 },
]
hints = ["one"]
"#;

    #[test]
    fn a_save_regrades_the_exercise_it_was_made_in_even_after_it_passed() {
        let catalogue =
            Catalogue::parse(CATALOGUE, Path::new("exercises.toml")).expect("valid catalogue");
        let root = Path::new("/w");
        let (hello, ack) = (&catalogue.exercises[0], &catalogue.exercises[1]);
        let saved = |path: &str| vec![PathBuf::from(path)];
        // hello-broker passed and is still shown: tidying its file re-grades it.
        let tidy = saved("/w/exercises/01-hello-broker/src/hello.rs");
        assert_eq!(
            saved_exercise(&catalogue, root, hello, &tidy).map(|e| e.id.as_str()),
            Some("hello-broker")
        );
        // Saving the next exercise's file moves on to it.
        let next = saved("/w/exercises/02-ack-ordering/src/consumer.rs");
        assert_eq!(
            saved_exercise(&catalogue, root, hello, &next).map(|e| e.id.as_str()),
            Some("ack-ordering")
        );
        // Going back to a passed exercise from a later one re-grades it.
        assert_eq!(
            saved_exercise(&catalogue, root, ack, &tidy).map(|e| e.id.as_str()),
            Some("hello-broker")
        );
        assert!(
            saved_exercise(
                &catalogue,
                root,
                ack,
                &saved("/w/exercises/broker/src/lib.rs")
            )
            .is_none()
        );
    }

    #[test]
    fn the_hint_offered_is_about_the_failing_check() {
        let catalogue =
            Catalogue::parse(CATALOGUE, Path::new("exercises.toml")).expect("valid catalogue");
        let mut ack = catalogue.exercises[1].clone();
        ack.hints = vec![
            crate::catalogue::Hint::About {
                check: Some("lost-message".into()),
                text: "peek-lock".into(),
            },
            crate::catalogue::Hint::About {
                check: Some("lock-expired".into()),
                text: "renew".into(),
            },
        ];
        let state = crate::progress::ExerciseProgress {
            last_failing: vec!["lock-expired".into()],
            ..Default::default()
        };
        assert_eq!(
            hint_offer(&ack, &state),
            "Stuck on `lock-expired`? h + Enter shows a hint about it (0 of 2 hints seen)."
        );
    }

    #[test]
    fn the_report_shown_is_the_first_failing_check_in_teaching_order() {
        let catalogue =
            Catalogue::parse(CATALOGUE, Path::new("exercises.toml")).expect("valid catalogue");
        let ack = &catalogue.exercises[1];
        let result = |check: &str, passed| CheckResult {
            check: check.into(),
            points: 10,
            passed,
            report: String::new(),
        };
        // Alphabetical, as the test binary lists them.
        let graded = Graded {
            checks: vec![result("lock-expired", false), result("lost-message", false)],
            unreported: vec![],
            lint: None,
        };
        assert_eq!(
            first_failing(&graded, ack).map(|check| check.check.as_str()),
            Some("lost-message")
        );
    }

    #[test]
    fn watch_leads_with_the_cause_not_its_symptom() {
        // The catalogue's order puts the symptom first; its `explained_by`
        // says which failure explains it.
        let with_causes = CATALOGUE.replace(
            "    { check = \"lost-message\", points = 10 },\n",
            "    { check = \"lost-message\", points = 10 },\n    \
             { check = \"unsettled-message\", points = 5, explained_by = [\"lock-expired\"] },\n",
        );
        let catalogue =
            Catalogue::parse(&with_causes, Path::new("exercises.toml")).expect("valid catalogue");
        let ack = &catalogue.exercises[1];
        let result = |check: &str, passed| CheckResult {
            check: check.into(),
            points: 10,
            passed,
            report: String::new(),
        };
        let graded = Graded {
            checks: vec![
                result("lock-expired", false),
                result("lost-message", true),
                result("unsettled-message", false),
            ],
            unreported: vec![],
            lint: None,
        };
        assert_eq!(
            first_failing(&graded, ack).map(|check| check.check.as_str()),
            Some("lock-expired")
        );
        let lines = score_lines(&graded, ack);
        assert!(
            lines.contains("✗ unsettled-message            0/10  (follows from lock-expired)\n"),
            "{lines}"
        );
        assert!(
            lines.contains("✗ lock-expired                 0/10\n"),
            "{lines}"
        );
    }

    #[test]
    fn the_keys_say_what_is_watched_and_what_enter_does() {
        let catalogue =
            Catalogue::parse(CATALOGUE, Path::new("exercises.toml")).expect("valid catalogue");
        let (hello, ack) = (&catalogue.exercises[0], &catalogue.exercises[1]);
        let passed = keys_text(false, hello, Some(ack));
        assert!(
            passed.contains("Still watching exercises/01-hello-broker/src/hello.rs")
                && passed.contains("Enter: start ack-ordering"),
            "{passed}"
        );
        let working = keys_text(false, ack, None);
        assert!(
            working.contains("Watching exercises/02-ack-ordering/src/consumer.rs for saves"),
            "{working}"
        );
        assert!(keys_text(true, hello, Some(ack)).contains("r + Enter: re-grade hello-broker"));
    }

    #[test]
    fn a_watcher_that_cannot_start_is_an_error_not_a_panic() {
        // watch falls back to manual mode on this error.
        let (sender, _inputs) = mpsc::channel();
        let missing = tempfile::tempdir().expect("temporary directory");
        assert!(start_watcher(&missing.path().join("nowhere"), sender).is_err());
    }

    #[test]
    fn only_source_changes_outside_target_trigger_a_regrade() {
        let write = EventKind::Modify(ModifyKind::Data(DataChange::Content));
        assert!(is_source_change(&event(
            write,
            "/w/exercises/02-ack-ordering/src/consumer.rs"
        )));
        assert!(!is_source_change(&event(
            write,
            "/w/exercises/02-ack-ordering/README.md"
        )));
        assert!(!is_source_change(&event(
            write,
            "/w/exercises/target/debug/x.rs"
        )));
        assert!(!is_source_change(&event(
            EventKind::Access(AccessKind::Any),
            "/w/exercises/02-ack-ordering/src/consumer.rs"
        )));
    }
}

//! `cargo xtask grade [exercise]`: run the graded checks and print the score.
//!
//! For each exercise: build and run its checks (see [`crate::grading`]),
//! print the report of every failed check, then the score table — points
//! per check, per exercise and in total — and record the result in the
//! learner's progress.

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use crate::catalogue::{Catalogue, Exercise};
use crate::exit::Status;
use crate::grading::{self, Graded, Grading, GradingError, LintVerdict, Variant};
use crate::progress::{Progress, Score};

/// Options of `cargo xtask grade`.
#[derive(clap::Args)]
#[command(after_help = crate::exit::HELP)]
pub struct Args {
    /// The exercise to grade: its id (`ack-ordering`), folder or number.
    /// Without it, every exercise is graded.
    pub exercise: Option<String>,
    /// Seconds the checks may run before they count as hung and are stopped.
    #[arg(long, default_value_t = 120)]
    pub timeout: u64,
    /// Grade the reference solution instead of your file (it does not count
    /// towards your progress).
    #[arg(long)]
    pub solution: bool,
}

/// Runs `cargo xtask grade`.
pub fn run(args: Args) -> ExitCode {
    let root = crate::workspace::root();
    let catalogue = match Catalogue::load(&root) {
        Ok(catalogue) => catalogue,
        Err(error) => {
            eprintln!("error: {error}");
            return Status::Usage.into();
        }
    };
    let chosen: Vec<&Exercise> = match &args.exercise {
        Some(name) => match catalogue.find(name) {
            Ok(exercise) => vec![exercise],
            Err(error) => {
                eprintln!("error: {error}");
                return Status::Usage.into();
            }
        },
        None => catalogue.exercises.iter().collect(),
    };
    let variant = if args.solution {
        Variant::Solution
    } else {
        Variant::Learner
    };
    let mut progress = Progress::load(&root);
    let mut rows = Vec::new();
    let mut status = Status::Success;
    let mut newly_passed = Vec::new();
    for exercise in chosen {
        let (row, outcome) = grade_one(&root, exercise, variant, Duration::from_secs(args.timeout));
        match (&row.graded, variant) {
            (Some(graded), Variant::Learner) => {
                let passed_before = progress.of(exercise).passed;
                progress.record_graded(exercise, graded);
                if graded.all_passed() && !passed_before {
                    newly_passed.push(exercise.id.as_str());
                }
            }
            // Not graded (it does not compile, or hung): no pass now, so
            // `hint` does not show the solution over this file.
            (None, Variant::Learner) => progress.record_ungraded(exercise),
            (_, Variant::Solution) => {}
        }
        status = status.worst(outcome);
        rows.push(row);
    }
    if variant == Variant::Learner
        && let Err(error) = progress.save(&root)
    {
        eprintln!("warning: your progress was not saved: {error:#}");
    }
    println!();
    print!("{}", score_table(&rows));
    for id in newly_passed {
        println!(
            "\n{id} passes for the first time! `cargo xtask hint {id}` now shows the reference \
             solution, to compare with yours."
        );
    }
    if variant == Variant::Learner {
        // Keep the learner on the exercise they are working on, if it
        // does not pass yet; otherwise send them to the next one.
        let unfinished = rows
            .iter()
            .find(|row| !row.graded.as_ref().is_some_and(Graded::all_passed))
            .map(|row| row.exercise);
        print_next_step(unfinished.or_else(|| progress.current(&catalogue)));
    }
    status.into()
}

/// One exercise's line in the score table: its checks, or why it has none.
pub struct Row<'a> {
    pub exercise: &'a Exercise,
    pub graded: Option<Graded>,
    /// Set when the exercise could not be graded ("does not compile").
    pub trouble: Option<&'static str>,
}

/// Grades one exercise, printing failed checks' reports and any error.
pub fn grade_one<'a>(
    root: &Path,
    exercise: &'a Exercise,
    variant: Variant,
    timeout: Duration,
) -> (Row<'a>, Status) {
    println!(
        "grading {}{} ({})…",
        exercise.id,
        if variant == Variant::Solution {
            " (reference solution)"
        } else {
            ""
        },
        match variant {
            Variant::Learner => exercise.learner_file(),
            Variant::Solution => exercise.solution_file(),
        }
        .display()
    );
    let grading = Grading {
        workspace: root,
        exercise,
        variant,
        timeout,
        random_plans: None,
        show_progress: std::io::stderr().is_terminal(),
    };
    if variant == Variant::Learner {
        warn_about_other_edits(root, exercise);
    }
    match grading::grade(&grading) {
        Ok(graded) => {
            print!("{}", failure_reports(&graded, exercise));
            let status = if graded.all_passed() {
                Status::Success
            } else {
                Status::Failed
            };
            (
                Row {
                    exercise,
                    graded: Some(graded),
                    trouble: None,
                },
                status,
            )
        }
        Err(error) => {
            let (trouble, status) = trouble_of(&error);
            eprintln!("error: {error}");
            (
                Row {
                    exercise,
                    graded: None,
                    trouble: Some(trouble),
                },
                status,
            )
        }
    }
}

/// Says so when the learner changed files of the exercise other than the
/// one they edit: the grade would not mean what it says.
pub fn warn_about_other_edits(root: &Path, exercise: &Exercise) {
    let edits = crate::shipped::other_edits(root, exercise);
    if edits.is_empty() {
        return;
    }
    let list: Vec<String> = edits
        .iter()
        .map(|path| path.display().to_string())
        .collect();
    eprintln!(
        "warning: you changed {}, but this exercise asks you to edit only {}. The grade \
         counts only if the rest is as shipped: `git checkout -- {}` restores it.",
        list.join(", "),
        exercise.learner_file().display(),
        list.join(" ")
    );
}

/// A short label and the exit status for a grading error.
pub fn trouble_of(error: &GradingError) -> (&'static str, Status) {
    match error {
        GradingError::DoesNotCompile { .. } => ("does not compile", Status::DoesNotCompile),
        GradingError::Hung { .. } => ("hung (stopped)", Status::Hung),
        GradingError::Spawn { .. } | GradingError::Harness(_) => ("not graded", Status::Hung),
    }
}

/// The report of every failed check, each under a banner, plus any test
/// that failed without reporting. Causes come first (see
/// [`Exercise::by_cause`]): a check whose failure another failing check
/// explains is shown after it, and says so.
pub fn failure_reports(graded: &Graded, exercise: &Exercise) -> String {
    let failing = graded.failed();
    let mut out = String::new();
    for name in exercise.by_cause(&failing) {
        let Some(check) = graded.checks.iter().find(|check| check.check == name) else {
            continue;
        };
        out.push_str(&format!(
            "\n── {} ({} points) FAILED ──\n",
            check.check, check.points
        ));
        let causes = exercise.failing_causes(&check.check, &failing);
        if !causes.is_empty() {
            out.push_str(&format!(
                "(This failure follows from {}, reported above: fix {} first, and this one \
                 may pass with it.)\n\n",
                quoted_list(&causes),
                if causes.len() == 1 { "it" } else { "them" }
            ));
        }
        out.push_str(check.report.trim_end());
        out.push('\n');
    }
    for test in &graded.unreported {
        out.push_str(&format!(
            "\n── {} FAILED without a report ──\n{}\n",
            test.test, test.output
        ));
    }
    if let Some(lint) = graded.lint.as_ref().filter(|lint| !lint.is_clean()) {
        out.push_str(&format!(
            "\n── eda-lint on {} ──\n(This exercise is done when every check passes and \
             eda-lint reports nothing on your file: `cargo run -p eda-lint -- check {}` \
             prints the same.)\n\n{}",
            lint.file, lint.file, lint.rendered
        ));
    }
    out
}

/// "`a`", "`a` and `b`", "`a`, `b` and `c`".
fn quoted_list(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|name| format!("`{name}`")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => quoted.concat(),
    }
}

/// The score table: one line per check, a subtotal per exercise, a total.
pub fn score_table(rows: &[Row<'_>]) -> String {
    let width = rows
        .iter()
        .flat_map(|row| row.graded.iter().flat_map(|graded| &graded.checks))
        .map(|check| check.check.len() + 2)
        .chain(rows.iter().map(|row| row.exercise.id.len()))
        .chain([24])
        .max()
        .unwrap_or(24);
    let mut out = String::new();
    let mut total = Score { points: 0, max: 0 };
    let mut complete = true;
    let mut lint_findings = 0;
    let mut lint_trouble = false;
    for row in rows {
        out.push_str(&format!(
            "{:width$}  {:>7}  result\n",
            row.exercise.id, "points"
        ));
        match (&row.graded, row.trouble) {
            (Some(graded), _) => {
                for check in &graded.checks {
                    let earned = if check.passed { check.points } else { 0 };
                    out.push_str(&format!(
                        "  {:w$}  {:>7}  {}\n",
                        check.check,
                        format!("{earned}/{}", check.points),
                        if check.passed { "passed" } else { "FAILED" },
                        w = width - 2
                    ));
                }
                if let Some(lint) = &graded.lint {
                    lint_findings += lint.findings;
                    lint_trouble |= !lint.trouble.is_empty();
                    out.push_str(&format!(
                        "  {:w$}  {:>7}  {}\n",
                        "eda-lint",
                        "-",
                        lint_result(lint),
                        w = width - 2
                    ));
                }
                for test in &graded.unreported {
                    complete = false;
                    out.push_str(&format!(
                        "  {:w$}  {:>7}  FAILED (no report)\n",
                        test.test,
                        "?",
                        w = width - 2
                    ));
                }
                let score = graded.score();
                total.points += score.points;
                total.max += score.max;
                out.push_str(&format!(
                    "  {:w$}  {:>7}\n",
                    "subtotal",
                    format!("{}/{}", score.points, score.max),
                    w = width - 2
                ));
            }
            (None, trouble) => {
                // No check ran, so none earned a point: the exercise is
                // still worth what the catalogue says.
                complete = false;
                let max = row.exercise.max_points();
                total.max += max;
                out.push_str(&format!(
                    "  {:w$}  {:>7}  {}\n",
                    "(no checks ran)",
                    format!("0/{max}"),
                    trouble.unwrap_or("not graded"),
                    w = width - 2
                ));
            }
        }
    }
    out.push_str(&format!(
        "{:width$}  {:>7}{}\n",
        "total",
        format!("{}/{}", total.points, total.max),
        if complete {
            ""
        } else {
            "  (some checks did not run)"
        }
    ));
    // Full points with the linter unhappy is not done: say so under the
    // total, where the eye goes.
    if lint_trouble {
        out.push_str("not done yet: eda-lint could not lint your file (above)\n");
    } else if lint_findings > 0 {
        out.push_str(&format!(
            "not done yet: eda-lint still reports {} on your file (above)\n",
            if lint_findings == 1 {
                "a finding".to_owned()
            } else {
                format!("{lint_findings} findings")
            }
        ));
    }
    out
}

/// The score table's word for eda-lint's verdict: it earns no points, but
/// the exercise is not done until it is clean.
fn lint_result(lint: &LintVerdict) -> String {
    match (lint.findings, lint.trouble.is_empty()) {
        (_, false) => "FAILED (the file could not be linted)".to_owned(),
        (0, true) => "clean".to_owned(),
        (1, true) => "FAILED (1 finding)".to_owned(),
        (n, true) => format!("FAILED ({n} findings)"),
    }
}

/// Tells the learner what to do next.
fn print_next_step(next: Option<&Exercise>) {
    match next {
        Some(next) => println!(
            "\nnext: {} — edit {}, then `cargo xtask grade {}` (stuck? `cargo xtask hint {}`)",
            next.id,
            next.learner_file().display(),
            next.id,
            next.id
        ),
        None => println!("\nevery exercise passes. Well done!"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::CheckPoints;
    use crate::grading::{CheckResult, Unreported};

    fn exercise(id: &str) -> Exercise {
        Exercise {
            id: id.into(),
            chapter: "configuration".into(),
            package: id.into(),
            dir: format!("exercises/{id}").into(),
            file: "src/consumer.rs".into(),
            solution: "solution/consumer.rs".into(),
            minutes: 10,
            anomalies: vec![],
            lints: vec![],
            lint_clean: false,
            checks: vec![
                CheckPoints {
                    check: "lost-message".into(),
                    points: 10,
                    explained_by: vec![],
                },
                CheckPoints {
                    check: "lock-expired".into(),
                    points: 15,
                    explained_by: vec![],
                },
            ],
            hints: vec!["hint".into()],
        }
    }

    fn check(name: &str, points: u32, passed: bool) -> CheckResult {
        CheckResult {
            check: name.into(),
            points,
            passed,
            report: format!("report of {name}"),
        }
    }

    #[test]
    fn the_table_adds_points_per_exercise_and_in_total() {
        let (one, two, three) = (
            exercise("ack-ordering"),
            exercise("idempotent-consumer"),
            exercise("hello-broker"),
        );
        let rows = vec![
            Row {
                exercise: &one,
                graded: Some(Graded {
                    checks: vec![
                        check("lost-message", 10, false),
                        check("unsettled-message", 5, true),
                    ],
                    unreported: vec![],
                    lint: None,
                }),
                trouble: None,
            },
            Row {
                exercise: &two,
                graded: Some(Graded {
                    checks: vec![check("duplicate-side-effect", 20, true)],
                    unreported: vec![Unreported {
                        test: "helper".into(),
                        output: "boom".into(),
                    }],
                    lint: None,
                }),
                trouble: None,
            },
            Row {
                exercise: &three,
                graded: None,
                trouble: Some("does not compile"),
            },
        ];
        let table = score_table(&rows);
        assert!(
            table.contains("  lost-message               0/10  FAILED"),
            "{table}"
        );
        assert!(
            table.contains("  unsettled-message           5/5  passed"),
            "{table}"
        );
        assert!(
            table.contains("  subtotal                   5/15"),
            "{table}"
        );
        assert!(table.contains("helper"), "{table}");
        assert!(
            table.contains("  (no checks ran)            0/25  does not compile"),
            "{table}"
        );
        assert!(
            table.ends_with("total                       25/60  (some checks did not run)\n"),
            "{table}"
        );
        let reports = failure_reports(rows[0].graded.as_ref().expect("graded"), &one);
        assert!(reports.contains("── lost-message (10 points) FAILED ──\nreport of lost-message"));
        assert!(!reports.contains("unsettled-message"));
    }

    #[test]
    fn the_cause_is_reported_first_and_its_symptom_says_so() {
        let mut ack = exercise("ack-ordering");
        ack.checks.push(CheckPoints {
            check: "unsettled-message".into(),
            points: 5,
            explained_by: vec!["lock-expired".into()],
        });
        // Alphabetical, as the test binary lists them.
        let graded = Graded {
            checks: vec![
                check("lock-expired", 15, false),
                check("lost-message", 10, true),
                check("unsettled-message", 5, false),
            ],
            unreported: vec![],
            lint: None,
        };
        let reports = failure_reports(&graded, &ack);
        let cause = reports
            .find("── lock-expired")
            .expect("lock-expired reported");
        let symptom = reports
            .find("── unsettled-message")
            .expect("unsettled-message reported");
        assert!(cause < symptom, "{reports}");
        assert!(
            reports.contains(
                "── unsettled-message (5 points) FAILED ──\n(This failure follows from \
                 `lock-expired`, reported above"
            ),
            "{reports}"
        );
        assert!(!reports[..symptom].contains("follows from"), "{reports}");
    }

    #[test]
    fn a_lint_clean_exercise_is_not_done_while_eda_lint_reports_anything() {
        let mut capstone = exercise("capstone");
        capstone.lint_clean = true;
        let linted = crate::linting::lint(
            std::path::Path::new("exercises/12-capstone/src/runtime.rs"),
            "use broker::{ReceiveMode, ReceiveOptions};\n\
             fn options() -> ReceiveOptions {\n\
                 ReceiveOptions::default().with_mode(ReceiveMode::ReceiveAndDelete)\n\
             }\n",
        );
        let verdict = LintVerdict {
            file: "exercises/12-capstone/src/runtime.rs".into(),
            findings: linted.findings.len(),
            trouble: linted.trouble,
            rendered: linted.rendered,
        };
        // Every check passes: only the linter stands between it and done.
        let mut graded = Graded {
            checks: vec![
                check("lost-message", 10, true),
                check("lock-expired", 15, true),
            ],
            unreported: vec![],
            lint: Some(verdict.clone()),
        };
        assert!(!graded.all_passed());
        let reports = failure_reports(&graded, &capstone);
        assert!(
            reports.contains("── eda-lint on exercises/12-capstone/src/runtime.rs ──"),
            "{reports}"
        );
        // The findings as the linter prints them, rustc-style.
        assert!(
            reports.contains("warning[auto-ack]: ")
                && reports.contains("--> exercises/12-capstone/src/runtime.rs:3:"),
            "{reports}"
        );
        let rows = vec![Row {
            exercise: &capstone,
            graded: Some(graded.clone()),
            trouble: None,
        }];
        let table = score_table(&rows);
        assert!(
            table.contains("  eda-lint                      -  FAILED (1 finding)"),
            "{table}"
        );
        assert!(
            table.contains("  subtotal                  25/25"),
            "{table}"
        );
        // Full points, and still not done: said under the total.
        assert!(
            table.contains("not done yet: eda-lint still reports a finding on your file"),
            "{table}"
        );
        let mut progress = crate::progress::Progress::default();
        progress.record_graded(&capstone, &graded);
        assert!(
            !progress.of(&capstone).passed,
            "a pass with the linter unhappy"
        );
        assert_eq!(progress.of(&capstone).last_passed, Some(false));

        // Clean: done, and nothing to report.
        graded.lint = Some(LintVerdict {
            findings: 0,
            trouble: vec![],
            rendered: "eda-lint: no findings in 1 file\n".into(),
            ..verdict.clone()
        });
        assert!(graded.all_passed());
        assert!(!failure_reports(&graded, &capstone).contains("eda-lint"));
        let rows = vec![Row {
            exercise: &capstone,
            graded: Some(graded.clone()),
            trouble: None,
        }];
        assert!(!score_table(&rows).contains("not done yet"));
        progress.record_graded(&capstone, &graded);
        assert!(
            progress.of(&capstone).passed,
            "the first clean grade is the pass"
        );

        // A file the linter could not read is never clean.
        graded.lint = Some(LintVerdict {
            findings: 0,
            trouble: vec!["runtime.rs:1:1: does not parse".into()],
            ..verdict
        });
        assert!(!graded.all_passed());
    }

    #[test]
    fn the_verdict_lints_the_file_the_variant_grades() {
        let workspace = tempfile::tempdir().expect("temporary folder");
        let mut capstone = exercise("capstone");
        capstone.lint_clean = true;
        let dir = workspace.path().join(&capstone.dir);
        std::fs::create_dir_all(dir.join("src")).expect("src folder");
        std::fs::create_dir_all(dir.join("solution")).expect("solution folder");
        std::fs::write(
            dir.join(&capstone.file),
            "use broker::{ReceiveMode, ReceiveOptions};\n\
             fn options() -> ReceiveOptions {\n\
                 ReceiveOptions::default().with_mode(ReceiveMode::ReceiveAndDelete)\n\
             }\n",
        )
        .expect("learner file");
        std::fs::write(dir.join(&capstone.solution), "fn main() {}\n").expect("solution");
        let learner = grading::lint_verdict(workspace.path(), &capstone, Variant::Learner);
        assert_eq!(learner.findings, 1, "{}", learner.rendered);
        assert_eq!(learner.file, "exercises/capstone/src/consumer.rs");
        let solution = grading::lint_verdict(workspace.path(), &capstone, Variant::Solution);
        assert!(solution.is_clean(), "{}", solution.rendered);

        std::fs::remove_file(dir.join(&capstone.file)).expect("remove");
        let missing = grading::lint_verdict(workspace.path(), &capstone, Variant::Learner);
        assert!(!missing.is_clean());
        assert!(
            missing.rendered.contains("cannot be read"),
            "{}",
            missing.rendered
        );
    }
}

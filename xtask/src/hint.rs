//! `cargo xtask hint [exercise]`: the next hint, one at a time.
//!
//! Hints come from the catalogue, vaguest first, each about one check (or
//! the exercise as a whole). Each call reveals one more and repeats the
//! earlier ones: the next unseen hint about the first check that failed at
//! the last grading, so a learner with only `lock-expired` left is not walked
//! through the hints of the checks they already fixed. Which hints were
//! revealed, and which checks failed last, are kept in the learner's
//! progress. The reference solution is shown only while the last grading
//! passes: reading it before living through the failure skips the lesson,
//! and that holds as much for a learner who passed once and is back on a
//! failing file.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::ExitCode;

use crate::catalogue::{Catalogue, Exercise};
use crate::exit::Status;
use crate::progress::Progress;

/// Options of `cargo xtask hint`.
#[derive(clap::Args)]
#[command(
    after_help = "Exit status: 0 a hint or the solution was shown; 2 unknown exercise or \
     bad catalogue."
)]
pub struct Args {
    /// The exercise: its id (`ack-ordering`), folder or number. Without it,
    /// your current exercise (the first not yet passed).
    pub exercise: Option<String>,
}

/// Runs `cargo xtask hint`.
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
    let exercise = match &args.exercise {
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
                println!("Every exercise passes: there is nothing left to hint at.");
                return Status::Success.into();
            }
        },
    };
    let again = format!("`cargo xtask hint {}`", exercise.id);
    print!("{}", next_hint(&root, &mut progress, exercise, &again));
    if let Err(error) = progress.save(&root) {
        eprintln!("warning: your progress was not saved: {error:#}");
    }
    Status::Success.into()
}

/// Reveals one more hint of `exercise` (recording it in `progress`) and
/// returns the text to show; after a pass, the reference solution instead.
/// `again` says how to ask for the next one (`h + Enter` in watch).
pub fn next_hint(root: &Path, progress: &mut Progress, exercise: &Exercise, again: &str) -> String {
    let state = progress.of(exercise);
    if state.passes_now() {
        return solution_text(root, exercise);
    }
    let total = exercise.hints.len();
    let entry = progress.entry(exercise);
    let new = next_hint_index(exercise, &entry.revealed_hints, &entry.last_failing);
    if let Some(index) = new {
        entry.revealed_hints.insert(index);
    }
    let revealed = entry.revealed_hints.clone();
    let failing = entry.last_failing.clone();
    let shown = revealed.iter().filter(|index| **index < total).count();
    let mut out = String::new();
    if state.passed {
        // Passed once, failing now (the learner put a file back, or tried
        // something else): say why no solution is shown, and hint on.
        let latest = match state.last_score {
            Some(score) if score.points < score.max => {
                format!("your latest grade: {}/{}", score.points, score.max)
            }
            _ => "your latest grading did not pass".to_string(),
        };
        out.push_str(&format!(
            "{} passed once, but not now ({latest}). The reference solution is shown again \
             once every check passes; until then, hints.\n\n",
            exercise.id
        ));
    }
    out.push_str(&format!(
        "Hints for {} ({shown} of {total} seen):\n",
        exercise.id
    ));
    for (index, hint) in exercise.hints.iter().enumerate() {
        if !revealed.contains(&index) {
            continue;
        }
        // Each hint is placed on its own ladder (the hints about one check),
        // not by its place in the whole list: hints follow the failing
        // check, so the first one seen may be the list's fourth, and
        // "4." under "1 of 5" reads as a mistake.
        let (step, steps) = ladder_step(exercise, index);
        let about = match hint.check() {
            Some(check) if failing.iter().any(|failed| failed == check) => {
                format!("{check} (failing)")
            }
            Some(check) => check.to_string(),
            None => "the exercise".to_string(),
        };
        let marker = if new == Some(index) { ", new" } else { "" };
        out.push_str(&format!(
            "\n[{about}, step {step} of {steps}{marker}] {}\n",
            hint.text().trim()
        ));
    }
    if shown == total {
        out.push_str(&format!(
            "\nThat was the last hint. The reference solution is shown here once every check \
             passes (`cargo xtask grade {}`).\n",
            exercise.id
        ));
    } else {
        out.push_str(&format!("\nAnother hint: {again}.\n"));
    }
    out
}

/// Where the hint at `index` stands on its ladder (the hints about the same
/// check, or the general ones): step `n` of `m`, from 1.
fn ladder_step(exercise: &Exercise, index: usize) -> (usize, usize) {
    let check = exercise.hints[index].check();
    let same = |hint: &&crate::catalogue::Hint| hint.check() == check;
    let step = exercise.hints[..=index].iter().filter(same).count();
    let steps = exercise.hints.iter().filter(same).count();
    (step, steps)
}

/// The hint to reveal next, by its place in the catalogue's list: the first
/// unseen hint about the first check in `failing` that has one (causes
/// before their symptoms, then the catalogue's `checks` order: see
/// [`Exercise::by_cause`]), or an unseen general hint listed before it
/// (it sets the scene); with no failing check to follow (never graded, or
/// their hints all seen), the first unseen hint in the list. `None` once
/// every hint was revealed.
pub fn next_hint_index(
    exercise: &Exercise,
    revealed: &BTreeSet<usize>,
    failing: &[String],
) -> Option<usize> {
    let unseen = |index: &usize| !revealed.contains(index);
    for check in exercise.by_cause(failing) {
        let about = (0..exercise.hints.len())
            .filter(unseen)
            .find(|index| exercise.hints[*index].check() == Some(check.as_str()));
        if let Some(about) = about {
            let general = (0..about)
                .filter(unseen)
                .find(|index| exercise.hints[*index].check().is_none());
            return Some(general.unwrap_or(about));
        }
    }
    (0..exercise.hints.len()).find(unseen)
}

/// The reference solution, for an exercise that has passed.
fn solution_text(root: &Path, exercise: &Exercise) -> String {
    let path = exercise.solution_file();
    match std::fs::read_to_string(root.join(&path)) {
        Ok(contents) => format!(
            "{} passes. Compare your file with the reference solution, {}:\n\n{}\n",
            exercise.id,
            path.display(),
            contents.trim_end()
        ),
        Err(error) => format!(
            "{} passes. The reference solution should be at {}, but it cannot be read: {error}\n",
            exercise.id,
            path.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::{CheckPoints, Hint};
    use crate::progress::Score;

    fn about(check: &str, text: &str) -> Hint {
        Hint::About {
            check: Some(check.into()),
            text: text.into(),
        }
    }

    fn exercise() -> Exercise {
        Exercise {
            id: "ack-ordering".into(),
            chapter: "configuration".into(),
            package: "ack-ordering".into(),
            dir: "ex".into(),
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
                    points: 10,
                    explained_by: vec![],
                },
            ],
            hints: vec!["Look at the receive mode.".into(), "Complete last.".into()],
        }
    }

    #[test]
    fn reveals_one_hint_at_a_time_and_the_solution_only_after_a_pass() {
        let root = tempfile::tempdir().expect("temporary directory");
        std::fs::create_dir_all(root.path().join("ex/solution")).expect("folder");
        std::fs::write(
            root.path().join("ex/solution/consumer.rs"),
            "fn fixed() {}\n",
        )
        .expect("written");
        let exercise = exercise();
        let mut progress = Progress::default();

        let first = next_hint(root.path(), &mut progress, &exercise, "again");
        assert!(
            first.contains("(1 of 2 seen)")
                && first.contains("[the exercise, step 1 of 2, new] Look at"),
            "{first}"
        );
        assert!(!first.contains("Complete last"));
        let second = next_hint(root.path(), &mut progress, &exercise, "again");
        assert!(
            second.contains("[the exercise, step 1 of 2] Look at")
                && second.contains("[the exercise, step 2 of 2, new] Complete last."),
            "{second}"
        );
        assert!(second.contains("last hint") && !second.contains("fn fixed"));
        let third = next_hint(root.path(), &mut progress, &exercise, "again");
        assert!(third.contains("(2 of 2 seen)") && !third.contains("new]"));
        assert_eq!(progress.of(&exercise).revealed_hints.len(), 2);

        progress.record(
            &exercise,
            Score {
                points: 30,
                max: 30,
            },
        );
        let solution = next_hint(root.path(), &mut progress, &exercise, "again");
        assert!(solution.contains("ex/solution/consumer.rs") && solution.contains("fn fixed"));
    }

    #[test]
    fn the_solution_shows_only_while_the_last_grading_passes() {
        let root = tempfile::tempdir().expect("temporary directory");
        std::fs::create_dir_all(root.path().join("ex/solution")).expect("folder");
        std::fs::write(
            root.path().join("ex/solution/consumer.rs"),
            "fn fixed() {}\n",
        )
        .expect("written");
        let exercise = exercise();
        let mut progress = Progress::default();
        let full = Score {
            points: 20,
            max: 20,
        };
        progress.record(&exercise, full);
        // The learner puts the starter back and grades it: 5/20.
        progress.record(&exercise, Score { points: 5, max: 20 });
        let after_regression = next_hint(root.path(), &mut progress, &exercise, "again");
        assert!(
            !after_regression.contains("fn fixed") && !after_regression.contains("passes."),
            "{after_regression}"
        );
        assert!(
            after_regression.contains("passed once")
                && after_regression.contains("5/20")
                && after_regression.contains("Look at"),
            "{after_regression}"
        );
        // A file that does not compile is no pass either.
        progress.record(&exercise, full);
        progress.record_ungraded(&exercise);
        let broken = next_hint(root.path(), &mut progress, &exercise, "again");
        assert!(!broken.contains("fn fixed"), "{broken}");
        // Passing again brings the solution back.
        progress.record(&exercise, full);
        let solution = next_hint(root.path(), &mut progress, &exercise, "again");
        assert!(solution.contains("fn fixed"), "{solution}");
    }

    #[test]
    fn the_next_hint_is_about_the_first_failing_check() {
        let mut exercise = exercise();
        exercise.hints = vec![
            "Read the report.".into(),
            about("lost-message", "Switch to peek-lock."),
            about("lost-message", "Complete last."),
            about("lock-expired", "Renew the lock."),
        ];
        let none = BTreeSet::new();
        let failing = |checks: &[&str]| checks.iter().map(|c| c.to_string()).collect::<Vec<_>>();
        // Never graded: the list's order.
        assert_eq!(next_hint_index(&exercise, &none, &[]), Some(0));
        // Only lock-expired fails: its hint first, after the unseen general one.
        let lock = failing(&["lock-expired"]);
        assert_eq!(next_hint_index(&exercise, &none, &lock), Some(0));
        let seen_general = BTreeSet::from([0]);
        assert_eq!(next_hint_index(&exercise, &seen_general, &lock), Some(3));
        // Both fail: the first in the catalogue's `checks` order leads.
        let both = failing(&["lock-expired", "lost-message"]);
        assert_eq!(next_hint_index(&exercise, &seen_general, &both), Some(1));
        // Its hints seen, the failing check's run out: back to the list.
        let seen = BTreeSet::from([0, 3]);
        assert_eq!(next_hint_index(&exercise, &seen, &lock), Some(1));
        assert_eq!(
            next_hint_index(&exercise, &BTreeSet::from([0, 1, 2, 3]), &lock),
            None
        );

        let root = tempfile::tempdir().expect("temporary directory");
        let mut progress = Progress::default();
        let entry = progress.entry(&exercise);
        entry.last_failing = lock;
        entry.revealed_hints.insert(0);
        let shown = next_hint(root.path(), &mut progress, &exercise, "again");
        // The fourth hint of the list, seen second: numbered on its own
        // ladder, never "4." under "2 of 4".
        assert!(
            shown.contains("(2 of 4 seen)")
                && shown.contains("[lock-expired (failing), step 1 of 1, new] Renew the lock."),
            "{shown}"
        );
        assert!(!shown.contains("4."), "{shown}");
        assert!(!shown.contains("Switch to peek-lock"), "{shown}");
    }

    #[test]
    fn the_hint_ladder_starts_from_the_cause_of_a_symptom() {
        let mut exercise = exercise();
        exercise.checks.insert(
            1,
            CheckPoints {
                check: "unsettled-message".into(),
                points: 5,
                explained_by: vec!["lock-expired".into()],
            },
        );
        exercise.hints = vec![
            about("unsettled-message", "Does every order end settled?"),
            about("lock-expired", "How long may a consumer hold an order?"),
        ];
        let both = vec!["lock-expired".to_string(), "unsettled-message".to_string()];
        assert_eq!(next_hint_index(&exercise, &BTreeSet::new(), &both), Some(1));
        // Without its cause failing, the symptom's own hint comes first.
        let alone = vec!["unsettled-message".to_string()];
        assert_eq!(
            next_hint_index(&exercise, &BTreeSet::new(), &alone),
            Some(0)
        );
    }

    /// What is wrong with an exercise's hint ladders, given its starter and
    /// its solution: each check the starter fails has a ladder of two steps
    /// or more that opens with a question; and no step but a ladder's last
    /// gives away code the learner has to write, that is a code span (in
    /// backticks) found word for word in the solution and not in the
    /// starter, or naming an identifier only the solution has.
    fn ladder_problems(exercise: &Exercise, starter: &str, solution: &str) -> Vec<String> {
        use std::collections::HashSet;
        let words = |text: &str| -> HashSet<String> {
            text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .filter(|word| word.len() >= 3)
                .map(str::to_string)
                .collect()
        };
        let (starter_words, solution_words) = (words(starter), words(solution));
        let checks: Vec<&str> = exercise.checks.iter().map(|c| c.check.as_str()).collect();
        let mut problems = Vec::new();
        let ladders = exercise
            .anomalies
            .iter()
            .map(|check| Some(check.as_str()))
            .chain(checks.iter().map(|check| Some(*check)))
            .chain([None]);
        let mut done = Vec::new();
        for check in ladders {
            if done.contains(&check) {
                continue;
            }
            done.push(check);
            let ladder: Vec<&str> = exercise
                .hints
                .iter()
                .filter(|hint| hint.check() == check)
                .map(|hint| hint.text())
                .collect();
            let name = check.unwrap_or("the exercise");
            if check.is_some_and(|check| exercise.anomalies.iter().any(|a| a == check)) {
                if ladder.len() < 2 {
                    problems.push(format!("{name}: a ladder needs two steps or more"));
                }
                if ladder.first().is_some_and(|first| !first.contains('?')) {
                    problems.push(format!("{name}: the first step should ask a question"));
                }
            }
            let Some((_, before_last)) = ladder.split_last() else {
                continue;
            };
            for (step, text) in before_last.iter().enumerate() {
                let spans = text.split('`').skip(1).step_by(2);
                for span in spans.filter(|span| !checks.contains(span)) {
                    let verbatim = solution.contains(span) && !starter.contains(span);
                    let only_in_solution = words(span).into_iter().find(|word| {
                        solution_words.contains(word) && !starter_words.contains(word)
                    });
                    if verbatim || only_in_solution.is_some() {
                        problems.push(format!(
                            "{name}, step {} of {}: `{span}` gives the solution's code away \
                             before the last step",
                            step + 1,
                            ladder.len()
                        ));
                    }
                }
            }
        }
        problems
    }

    #[test]
    fn hint_ladders_go_from_a_question_to_a_principle_and_give_code_only_last() {
        let root = crate::workspace::root();
        let catalogue = crate::catalogue::Catalogue::load(&root).expect("a valid catalogue");
        let read = |path: std::path::PathBuf| {
            std::fs::read_to_string(root.join(&path))
                .unwrap_or_else(|error| panic!("{}: {error}", path.display()))
        };
        let problems: Vec<String> = catalogue
            .exercises
            .iter()
            .flat_map(|exercise| {
                ladder_problems(
                    exercise,
                    &read(exercise.learner_file()),
                    &read(exercise.solution_file()),
                )
                .into_iter()
                .map(|problem| format!("{}: {problem}", exercise.id))
            })
            .collect();
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn a_step_that_gives_the_code_away_early_is_found() {
        let mut exercise = exercise();
        exercise.anomalies = vec!["lock-expired".into()];
        let starter = "let invoice = price(&order).await;";
        let solution = "tokio::select! { biased; _ = sleep(RENEW) => ctx.renew_lock(d) }";
        exercise.hints = vec![
            about("lock-expired", "How long does pricing take?"),
            about("lock-expired", "Race it with `tokio::select!`."),
            about("lock-expired", "Call `ctx.renew_lock(&mut delivery)`."),
        ];
        let problems = ladder_problems(&exercise, starter, solution);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("`tokio::select!`"), "{problems:?}");
        exercise.hints.remove(1);
        assert!(ladder_problems(&exercise, starter, solution).is_empty());
        exercise.hints.remove(0);
        let problems = ladder_problems(&exercise, starter, solution);
        assert!(
            problems.iter().any(|p| p.contains("two steps"))
                && problems.iter().any(|p| p.contains("question")),
            "{problems:?}"
        );
    }
}

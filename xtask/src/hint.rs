//! `cargo xtask hint [exercise]`: the next hint, one at a time.
//!
//! Hints come from the catalogue, vaguest first; how many were revealed is
//! kept in the learner's progress, so each call shows one more (and repeats
//! the earlier ones). The reference solution is shown only once the exercise
//! has passed: reading it before living through the failure skips the lesson.

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
    if progress.of(exercise).passed {
        return solution_text(root, exercise);
    }
    let total = exercise.hints.len();
    let entry = progress.entry(exercise);
    let fresh = entry.hints_revealed < total;
    if fresh {
        entry.hints_revealed += 1;
    }
    let shown = entry.hints_revealed.min(total);
    let mut out = format!("Hints for {} ({shown} of {total}):\n", exercise.id);
    for (number, hint) in exercise.hints.iter().take(shown).enumerate() {
        let marker = if fresh && number + 1 == shown {
            " (new)"
        } else {
            ""
        };
        out.push_str(&format!("\n{}.{marker} {}\n", number + 1, hint.trim()));
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
    use crate::progress::Score;

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
        assert!(first.contains("(1 of 2)") && first.contains("1. (new) Look at"));
        assert!(!first.contains("Complete last"));
        let second = next_hint(root.path(), &mut progress, &exercise, "again");
        assert!(second.contains("1. Look at") && second.contains("2. (new) Complete last."));
        assert!(second.contains("last hint") && !second.contains("fn fixed"));
        let third = next_hint(root.path(), &mut progress, &exercise, "again");
        assert!(third.contains("(2 of 2)") && !third.contains("(new)"));
        assert_eq!(progress.of(&exercise).hints_revealed, 2);

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
}

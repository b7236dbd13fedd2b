//! The learner's progress, kept across runs in `.progress/progress.json` at
//! the repository root (ignored by git: it is the learner's, not the
//! project's).
//!
//! It remembers, per exercise, the last and best score, whether every check
//! has passed once, and how many hints were revealed. `grade` and `watch`
//! write it; `hint` and `watch` read it to pick the next hint and to decide
//! whether the solution may be shown.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::catalogue::{Catalogue, Exercise};

/// Where progress lives, relative to the repository root.
pub const PROGRESS_PATH: &str = ".progress/progress.json";

/// Everything remembered, keyed by exercise id.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Progress {
    #[serde(default)]
    pub exercises: BTreeMap<String, ExerciseProgress>,
}

/// What is remembered about one exercise.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct ExerciseProgress {
    /// True once every check has passed in one run. It stays true: the
    /// solution, once earned, is not taken back by a later experiment.
    #[serde(default)]
    pub passed: bool,
    /// The hints `hint` or `watch` has revealed, by their place in the
    /// catalogue's list (hints follow the failing check, so not always in
    /// order).
    #[serde(default)]
    pub revealed_hints: BTreeSet<usize>,
    /// Older progress files counted the hints revealed, in order; [`Progress::load`]
    /// turns that count into `revealed_hints`.
    #[serde(default, rename = "hints_revealed", skip_serializing)]
    pub(crate) legacy_hints_revealed: usize,
    /// The checks that failed at the last grading that ran, sorted: the next
    /// hint is about the first of them.
    #[serde(default)]
    pub last_failing: Vec<String>,
    /// The points of the last grading run, and out of how many.
    #[serde(default)]
    pub last_score: Option<Score>,
    /// The best points ever scored.
    #[serde(default)]
    pub best_points: u32,
    /// Whether the last grading that was attempted passed: false after a
    /// failing grade and after one that could not run (a file that does not
    /// compile). `None` in progress files written before it was kept: then
    /// the last score says. See [`ExerciseProgress::passes_now`].
    #[serde(default)]
    pub last_passed: Option<bool>,
}

impl ExerciseProgress {
    /// True when the last grading passed. The reference solution is shown
    /// only then: `passed` stays true after a learner puts a failing file
    /// back, and showing the solution over a failing file hands over the
    /// answer to the failure they are living through.
    pub fn passes_now(&self) -> bool {
        self.last_passed.unwrap_or_else(|| {
            self.last_score
                .is_some_and(|score| score.max > 0 && score.points == score.max)
        })
    }
}

/// Points out of a maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Score {
    pub points: u32,
    pub max: u32,
}

impl Progress {
    /// Reads the progress file of the repository at `root`; a missing file is
    /// a fresh start. A damaged file is moved aside (never deleted: it is the
    /// learner's) and progress starts afresh, with a warning.
    pub fn load(root: &Path) -> Progress {
        let path = root.join(PROGRESS_PATH);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Progress::default();
            }
            Err(error) => {
                eprintln!(
                    "warning: cannot read {} ({error}); starting with no progress",
                    path.display()
                );
                return Progress::default();
            }
        };
        match serde_json::from_str::<Progress>(&text) {
            Ok(mut progress) => {
                for entry in progress.exercises.values_mut() {
                    let count = std::mem::take(&mut entry.legacy_hints_revealed);
                    entry.revealed_hints.extend(0..count);
                }
                progress
            }
            Err(error) => {
                let aside = path.with_extension("json.damaged");
                let moved = std::fs::rename(&path, &aside).is_ok();
                eprintln!(
                    "warning: {} is damaged ({error}); {}starting with no progress",
                    path.display(),
                    if moved {
                        format!("kept it as {} and ", aside.display())
                    } else {
                        String::new()
                    }
                );
                Progress::default()
            }
        }
    }

    /// Writes the progress file, creating `.progress/` if needed. Written to
    /// a temporary file then renamed, so a crash never leaves half a file.
    pub fn save(&self, root: &Path) -> Result<()> {
        let path: PathBuf = root.join(PROGRESS_PATH);
        let folder = path.parent().unwrap_or(root);
        std::fs::create_dir_all(folder)
            .with_context(|| format!("creating {}", folder.display()))?;
        let text = serde_json::to_string_pretty(self).context("serialising progress")?;
        let temporary = path.with_extension("json.tmp");
        std::fs::write(&temporary, text + "\n")
            .with_context(|| format!("writing {}", temporary.display()))?;
        std::fs::rename(&temporary, &path)
            .with_context(|| format!("replacing {}", path.display()))?;
        Ok(())
    }

    /// What is known about `exercise` (nothing yet is a default entry).
    pub fn of(&self, exercise: &Exercise) -> ExerciseProgress {
        self.exercises
            .get(&exercise.id)
            .cloned()
            .unwrap_or_default()
    }

    /// The entry of `exercise`, created if needed.
    pub fn entry(&mut self, exercise: &Exercise) -> &mut ExerciseProgress {
        self.exercises.entry(exercise.id.clone()).or_default()
    }

    /// Records a grading run of `exercise` judged by its score alone (the
    /// tests' shorthand; a real grading goes through [`Self::record_graded`],
    /// which also weighs unreported failures and eda-lint).
    #[cfg(test)]
    pub fn record(&mut self, exercise: &Exercise, score: Score) {
        let entry = self.entry(exercise);
        entry.last_score = Some(score);
        entry.best_points = entry.best_points.max(score.points);
        let full = score.max > 0 && score.points == score.max;
        entry.last_passed = Some(full);
        if full {
            entry.passed = true;
        }
    }

    /// Records a grading of `exercise` that could not run its checks (the
    /// file does not compile, or the checks hang): it did not pass, so the
    /// solution is not shown until a grading passes again.
    pub fn record_ungraded(&mut self, exercise: &Exercise) {
        self.entry(exercise).last_passed = Some(false);
    }

    /// Records a grading run of `exercise` that ran its checks: the score,
    /// and which checks failed (the next hint follows them).
    pub fn record_graded(&mut self, exercise: &Exercise, graded: &crate::grading::Graded) {
        let score = graded.score();
        // Done means every check passed, nothing failed without a report (a
        // panic scores no points missing) and, for an exercise that must be
        // lint-clean, eda-lint reports nothing: full points alone are not a
        // pass, or the first clean grade would never be announced.
        let done = graded.all_passed();
        let entry = self.entry(exercise);
        entry.last_score = Some(score);
        entry.best_points = entry.best_points.max(score.points);
        entry.last_failing = graded.failed();
        entry.last_passed = Some(done);
        if done {
            entry.passed = true;
        }
    }

    /// The learner's current exercise: the first, in course order, not yet
    /// passed. `None` when every exercise has passed.
    pub fn current<'a>(&self, catalogue: &'a Catalogue) -> Option<&'a Exercise> {
        catalogue
            .exercises
            .iter()
            .find(|exercise| !self.of(exercise).passed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exercise(id: &str) -> Exercise {
        Exercise {
            id: id.into(),
            chapter: "configuration".into(),
            package: id.into(),
            dir: PathBuf::from("exercises").join(id),
            file: "src/consumer.rs".into(),
            solution: "solution/consumer.rs".into(),
            minutes: 10,
            anomalies: vec![],
            lints: vec![],
            lint_clean: false,
            checks: vec![],
            hints: vec!["hint".into()],
        }
    }

    #[test]
    fn passing_once_is_remembered_and_moves_the_learner_on() {
        let catalogue = Catalogue {
            exercises: vec![exercise("one"), exercise("two")],
        };
        let mut progress = Progress::default();
        assert_eq!(
            progress.current(&catalogue).map(|e| e.id.as_str()),
            Some("one")
        );
        progress.record(
            &catalogue.exercises[0],
            Score {
                points: 20,
                max: 30,
            },
        );
        assert!(!progress.of(&catalogue.exercises[0]).passed);
        progress.record(
            &catalogue.exercises[0],
            Score {
                points: 30,
                max: 30,
            },
        );
        progress.record(
            &catalogue.exercises[0],
            Score {
                points: 10,
                max: 30,
            },
        );
        let one = progress.of(&catalogue.exercises[0]);
        assert!(one.passed, "a later regression does not take the pass back");
        assert_eq!(one.best_points, 30);
        assert_eq!(
            progress.current(&catalogue).map(|e| e.id.as_str()),
            Some("two")
        );
    }

    #[test]
    fn survives_a_round_trip_and_a_damaged_file() {
        let root = tempfile::tempdir().expect("temporary directory");
        let catalogue = Catalogue {
            exercises: vec![exercise("one")],
        };
        let mut progress = Progress::default();
        progress
            .entry(&catalogue.exercises[0])
            .revealed_hints
            .extend([0, 3]);
        progress.save(root.path()).expect("saved");
        let again = Progress::load(root.path());
        assert_eq!(
            again.of(&catalogue.exercises[0]).revealed_hints,
            BTreeSet::from([0, 3])
        );

        std::fs::write(root.path().join(PROGRESS_PATH), "{ not json").expect("written");
        let fresh = Progress::load(root.path());
        assert!(fresh.of(&catalogue.exercises[0]).revealed_hints.is_empty());
        assert!(root.path().join(".progress/progress.json.damaged").exists());
    }

    #[test]
    fn an_older_count_of_hints_becomes_the_hints_it_counted() {
        let root = tempfile::tempdir().expect("temporary directory");
        std::fs::create_dir_all(root.path().join(".progress")).expect("folder");
        std::fs::write(
            root.path().join(PROGRESS_PATH),
            r#"{"exercises":{"one":{"passed":false,"hints_revealed":2,"best_points":5}}}"#,
        )
        .expect("written");
        let progress = Progress::load(root.path());
        assert_eq!(
            progress.of(&exercise("one")).revealed_hints,
            BTreeSet::from([0, 1])
        );
    }
}

//! The catalogue: `exercises/exercises.toml`, the one list of every exercise.
//!
//! Everything the runner knows about an exercise comes from here: which crate
//! to test, which file the learner edits, the hints, the anomalies the
//! starter must show and the lint rules it must trip. `verify` proves every
//! entry true, so adding an exercise means adding an entry and its crate.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Where the catalogue lives, relative to the repository root.
pub const CATALOGUE_PATH: &str = "exercises/exercises.toml";

/// The whole catalogue, in the order a learner takes the exercises.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    #[serde(rename = "exercise")]
    pub exercises: Vec<Exercise>,
}

/// One exercise.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exercise {
    /// The name learners type: `cargo xtask hint ack-ordering`.
    pub id: String,
    /// The book folder of the chapter that teaches it (`configuration`);
    /// that chapter's `index.md` must link to the exercise.
    pub chapter: String,
    /// The Cargo package: `cargo test -p <crate>` grades it.
    #[serde(rename = "crate")]
    pub package: String,
    /// The crate's folder, relative to the repository root.
    pub dir: PathBuf,
    /// The one file the learner edits, relative to `dir`.
    pub file: PathBuf,
    /// The reference solution of `file`, relative to `dir`; compiled in its
    /// place by the crate's `solution` feature.
    pub solution: PathBuf,
    /// A rough time to budget, shown in listings and under the chapter's
    /// title (`verify` fails if the page says otherwise: [`crate::book::shape`]).
    pub minutes: u32,
    /// The checks (named after anomalies) the shipped starter must fail;
    /// every other check must pass on the starter too.
    pub anomalies: Vec<String>,
    /// The eda-lint rules the shipped starter must trip (and no others).
    pub lints: Vec<String>,
    /// The exercise is finished only when eda-lint reports nothing on the
    /// learner's file, as well as every check passing (the capstone): `grade`
    /// and `watch` show the linter's findings, rustc-style, under the checks'
    /// reports, and do not call the exercise done while any remain.
    #[serde(default)]
    pub lint_clean: bool,
    /// Every graded check of the crate's rubric and its points, in the
    /// rubric's order. `verify` proves they agree with the rubric; `grade`
    /// uses them to show what an exercise that does not compile is worth.
    /// Optional for the parser (a catalogue without them still grades), but
    /// `verify` fails an exercise whose `checks` differ from its rubric.
    #[serde(default)]
    pub checks: Vec<CheckPoints>,
    /// Hints, vaguest first. `hint` and `watch` reveal them one at a time,
    /// starting with those about the first check that fails.
    pub hints: Vec<Hint>,
}

/// One graded check and what it is worth.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckPoints {
    /// The check's name, the anomaly it catches (`lost-message`).
    pub check: String,
    pub points: u32,
    /// The checks whose failure explains this one's: when one of them fails
    /// too, this failure is its symptom. An order whose lock expired cannot be
    /// completed, so `unsettled-message` fails along with `lock-expired`, and
    /// its report ("never completed") sends a learner who does call complete
    /// the wrong way. `grade`, `watch` and `hint` lead with the cause.
    #[serde(default)]
    pub explained_by: Vec<String>,
}

/// One hint: `{ check = "lost-message", text = "..." }`, or just its text
/// for a hint about the exercise as a whole.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Hint {
    About {
        /// The check this hint helps to pass; `None` for the whole exercise.
        #[serde(default)]
        check: Option<String>,
        text: String,
    },
    General(String),
}

impl Hint {
    /// The check this hint is about, if it names one.
    pub fn check(&self) -> Option<&str> {
        match self {
            Hint::About { check, .. } => check.as_deref(),
            Hint::General(_) => None,
        }
    }

    /// What the hint says.
    pub fn text(&self) -> &str {
        match self {
            Hint::About { text, .. } | Hint::General(text) => text,
        }
    }
}

impl From<&str> for Hint {
    fn from(text: &str) -> Hint {
        Hint::General(text.to_string())
    }
}

impl Exercise {
    /// The learner's file, relative to the repository root.
    pub fn learner_file(&self) -> PathBuf {
        self.dir.join(&self.file)
    }

    /// The reference solution, relative to the repository root.
    pub fn solution_file(&self) -> PathBuf {
        self.dir.join(&self.solution)
    }

    /// The points of every check together: what the exercise is worth.
    pub fn max_points(&self) -> u32 {
        self.checks.iter().map(|check| check.points).sum()
    }

    /// The checks whose failure explains `check`'s (its `explained_by`).
    pub fn explained_by(&self, check: &str) -> &[String] {
        self.checks
            .iter()
            .find(|listed| listed.check == check)
            .map_or(&[], |listed| listed.explained_by.as_slice())
    }

    /// The failing checks among `failing` that explain `check`'s failure.
    pub fn failing_causes<'a>(&'a self, check: &str, failing: &[String]) -> Vec<&'a str> {
        self.explained_by(check)
            .iter()
            .filter(|cause| failing.contains(cause))
            .map(String::as_str)
            .collect()
    }

    /// `failing` in the order to show them: a check comes after every
    /// failing check that explains it (its cause), and otherwise in the
    /// catalogue's `checks` order, the order they are taught in; checks the
    /// catalogue does not list come last, by name. The first is the one to
    /// fix first.
    pub fn by_cause(&self, failing: &[String]) -> Vec<String> {
        let position = |name: &str| {
            self.checks
                .iter()
                .position(|listed| listed.check == name)
                .unwrap_or(usize::MAX)
        };
        let mut waiting: Vec<String> = failing.to_vec();
        waiting.sort_by(|a, b| (position(a), a).cmp(&(position(b), b)));
        waiting.dedup();
        let mut ordered = Vec::with_capacity(waiting.len());
        while !waiting.is_empty() {
            // The first, in teaching order, none of whose causes is still
            // waiting. `parse` rejects cycles; the fallback only keeps this
            // total if one slipped through.
            let next = waiting
                .iter()
                .position(|check| {
                    self.explained_by(check)
                        .iter()
                        .all(|cause| !waiting.contains(cause))
                })
                .unwrap_or(0);
            ordered.push(waiting.remove(next));
        }
        ordered
    }
}

/// Why the catalogue could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error("cannot read the catalogue {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the catalogue {path} is not valid: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("the catalogue {path} is not valid: {problem}")]
    Invalid { path: PathBuf, problem: String },
    #[error("there is no exercise `{name}`; the exercises are: {known}")]
    UnknownExercise { name: String, known: String },
}

impl Catalogue {
    /// Reads and checks the catalogue of the repository at `root`.
    pub fn load(root: &Path) -> Result<Catalogue, CatalogueError> {
        let path = root.join(CATALOGUE_PATH);
        let text = std::fs::read_to_string(&path).map_err(|source| CatalogueError::Read {
            path: path.clone(),
            source,
        })?;
        Catalogue::parse(&text, &path)
    }

    /// Parses catalogue text; `path` is only used in error messages.
    pub fn parse(text: &str, path: &Path) -> Result<Catalogue, CatalogueError> {
        let catalogue: Catalogue =
            toml::from_str(text).map_err(|source| CatalogueError::Parse {
                path: path.to_path_buf(),
                source: Box::new(source),
            })?;
        let invalid = |problem: String| CatalogueError::Invalid {
            path: path.to_path_buf(),
            problem,
        };
        if catalogue.exercises.is_empty() {
            return Err(invalid("it lists no exercise".into()));
        }
        for (index, exercise) in catalogue.exercises.iter().enumerate() {
            if exercise.id.trim().is_empty() {
                return Err(invalid(format!("exercise #{} has an empty id", index + 1)));
            }
            if catalogue.exercises[..index]
                .iter()
                .any(|earlier| earlier.id == exercise.id || earlier.package == exercise.package)
            {
                return Err(invalid(format!(
                    "exercise `{}` appears twice (same id or crate)",
                    exercise.id
                )));
            }
            if exercise.hints.is_empty() {
                return Err(invalid(format!("exercise `{}` has no hint", exercise.id)));
            }
            let checks: Vec<&str> = exercise
                .checks
                .iter()
                .map(|check| check.check.as_str())
                .collect();
            if let Some(twice) = checks
                .iter()
                .enumerate()
                .find(|(index, name)| checks[..*index].contains(name))
            {
                return Err(invalid(format!(
                    "exercise `{}` lists the check `{}` twice",
                    exercise.id, twice.1
                )));
            }
            let unknown = exercise
                .anomalies
                .iter()
                .map(String::as_str)
                .chain(exercise.hints.iter().filter_map(Hint::check))
                .find(|name| !checks.is_empty() && !checks.contains(name));
            if let Some(name) = unknown {
                return Err(invalid(format!(
                    "exercise `{}` names `{name}` (an anomaly or a hint's check), which is not \
                     in its `checks`: {}",
                    exercise.id,
                    checks.join(", ")
                )));
            }
            if let Some(problem) = cause_problem(exercise) {
                return Err(invalid(problem));
            }
            for relative in [&exercise.dir, &exercise.file, &exercise.solution] {
                if relative.is_absolute()
                    || relative
                        .components()
                        .any(|part| matches!(part, std::path::Component::ParentDir))
                {
                    return Err(invalid(format!(
                        "exercise `{}`: path {} must be relative and stay inside the repository",
                        exercise.id,
                        relative.display()
                    )));
                }
            }
        }
        Ok(catalogue)
    }

    /// The exercise a learner named: its id (`ack-ordering`), its crate, its
    /// folder name (`02-ack-ordering`), its folder as tab completion writes
    /// it (`exercises/02-ack-ordering/`) or its number in the course order
    /// (`2`). An unknown name gets the nearest id as a suggestion.
    pub fn find(&self, name: &str) -> Result<&Exercise, CatalogueError> {
        // Tab completion gives `exercises/02-ack-ordering/`: keep the last
        // folder of the path.
        let trimmed = name.trim().trim_end_matches(['/', '\\']);
        let name = trimmed.rsplit(['/', '\\']).next().unwrap_or(trimmed);
        let by_number = name
            .parse::<usize>()
            .ok()
            .and_then(|number| number.checked_sub(1))
            .and_then(|index| self.exercises.get(index));
        by_number
            .or_else(|| {
                self.exercises.iter().find(|exercise| {
                    exercise.id == name
                        || exercise.package == name
                        || exercise
                            .dir
                            .file_name()
                            .is_some_and(|folder| folder == name)
                })
            })
            .ok_or_else(|| CatalogueError::UnknownExercise {
                name: name.to_string(),
                known: format!(
                    "{}{}",
                    self.exercises
                        .iter()
                        .map(|exercise| exercise.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    self.nearest(name)
                        .map(|id| format!(" (did you mean `{id}`?)"))
                        .unwrap_or_default()
                ),
            })
    }

    /// The id closest to a mistyped `name` (`hello_broker`, `ack-odering`),
    /// if one is close enough to be what the learner meant.
    fn nearest(&self, name: &str) -> Option<&str> {
        let typed = name.to_lowercase().replace(['_', ' '], "-");
        self.exercises
            .iter()
            .map(|exercise| {
                let folder = exercise
                    .dir
                    .file_name()
                    .map(|folder| folder.to_string_lossy().to_lowercase())
                    .unwrap_or_default();
                let distance =
                    edit_distance(&typed, &exercise.id).min(edit_distance(&typed, &folder));
                (distance, exercise.id.as_str())
            })
            .filter(|(distance, id)| *distance <= (id.len() / 3).max(2))
            .min_by_key(|(distance, _)| *distance)
            .map(|(_, id)| id)
    }
}

/// The number of single-character insertions, deletions and substitutions
/// that turn `a` into `b` (Levenshtein distance).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, from) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, to) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(from != *to);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

/// What is wrong with an exercise's `explained_by` lists, if anything: a
/// cause must be another check of the exercise, and no check may explain
/// itself, directly or through others (then no failing check could be shown
/// first).
fn cause_problem(exercise: &Exercise) -> Option<String> {
    let listed = |name: &str| exercise.checks.iter().any(|check| check.check == name);
    for check in &exercise.checks {
        if let Some(cause) = check
            .explained_by
            .iter()
            .find(|cause| !listed(cause) || **cause == check.check)
        {
            return Some(format!(
                "exercise `{}`: `{}` is explained_by `{cause}`, which is not another of its \
                 `checks`",
                exercise.id, check.check
            ));
        }
    }
    // A cycle: follow the causes from each check; coming back to it is one.
    for check in &exercise.checks {
        let mut seen: Vec<&str> = Vec::new();
        let mut frontier: Vec<&str> = check.explained_by.iter().map(String::as_str).collect();
        while let Some(cause) = frontier.pop() {
            if cause == check.check {
                return Some(format!(
                    "exercise `{}`: `{}` explains itself through `explained_by`; causes must \
                     not go round in a circle",
                    exercise.id, check.check
                ));
            }
            if !seen.contains(&cause) {
                seen.push(cause);
                frontier.extend(exercise.explained_by(cause).iter().map(String::as_str));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO: &str = r#"
[[exercise]]
id = "hello-broker"
chapter = "distributed-systems"
crate = "hello-broker"
dir = "exercises/01-hello-broker"
file = "src/hello.rs"
solution = "solution/hello.rs"
minutes = 20
anomalies = ["crash-point-not-found"]
lints = []
checks = [{ check = "crash-point-not-found", points = 10 }]
hints = ["one", { check = "crash-point-not-found", text = "two" }]

[[exercise]]
id = "ack-ordering"
chapter = "configuration"
crate = "ack-ordering"
dir = "exercises/02-ack-ordering"
file = "src/consumer.rs"
solution = "solution/consumer.rs"
minutes = 45
anomalies = ["lost-message"]
lints = ["auto-ack"]
checks = [
    { check = "lost-message", points = 10 },
    { check = "lock-expired", points = 15 },
]
hints = ["one"]
"#;

    fn parse(text: &str) -> Result<Catalogue, CatalogueError> {
        Catalogue::parse(text, Path::new("exercises.toml"))
    }

    #[test]
    fn finds_an_exercise_by_id_crate_folder_or_number() {
        let catalogue = parse(TWO).expect("valid catalogue");
        for name in [
            "ack-ordering",
            "02-ack-ordering",
            "2",
            "exercises/02-ack-ordering/",
            "exercises/02-ack-ordering",
            "./exercises/02-ack-ordering/",
        ] {
            assert_eq!(catalogue.find(name).expect(name).id, "ack-ordering");
        }
        assert_eq!(
            catalogue.exercises[1].learner_file(),
            Path::new("exercises/02-ack-ordering/src/consumer.rs")
        );
    }

    #[test]
    fn an_unknown_exercise_names_the_known_ones() {
        let catalogue = parse(TWO).expect("valid catalogue");
        let error = catalogue.find("outbox").expect_err("no such exercise");
        assert_eq!(
            error.to_string(),
            "there is no exercise `outbox`; the exercises are: hello-broker, ack-ordering"
        );
        assert!(catalogue.find("0").is_err());
        let typo = catalogue.find("hello_broker").expect_err("underscores");
        assert!(
            typo.to_string().ends_with("(did you mean `hello-broker`?)"),
            "{typo}"
        );
        let typo = catalogue.find("ack-odering").expect_err("a letter missing");
        assert!(typo.to_string().contains("did you mean `ack-ordering`"));
        assert!(catalogue.find("3").is_err());
    }

    #[test]
    fn the_workshop_catalogue_is_valid_and_its_files_exist() {
        let root = crate::workspace::root();
        let catalogue = Catalogue::load(&root).expect("exercises/exercises.toml is valid");
        for exercise in &catalogue.exercises {
            for path in [
                exercise.dir.join("Cargo.toml"),
                exercise.dir.join("README.md"),
                exercise.learner_file(),
                exercise.solution_file(),
            ] {
                assert!(root.join(&path).is_file(), "{} is missing", path.display());
            }
            assert!(
                !exercise.checks.is_empty(),
                "{}: the catalogue must list the rubric's checks and points",
                exercise.id
            );
            assert!(
                !exercise.anomalies.is_empty(),
                "{}: a starter that fails no check teaches nothing",
                exercise.id
            );
        }
    }

    #[test]
    fn rejects_duplicates_unknown_keys_and_escaping_paths() {
        let twice = format!(
            "{TWO}\n{}",
            &TWO[TWO.find("[[exercise]]\nid = \"ack").unwrap_or(0)..]
        );
        assert!(matches!(parse(&twice), Err(CatalogueError::Invalid { .. })));
        let typo = TWO.replace("minutes = 20", "minute = 20");
        assert!(matches!(parse(&typo), Err(CatalogueError::Parse { .. })));
        let escaping = TWO.replace("src/hello.rs", "../../etc/passwd");
        assert!(matches!(
            parse(&escaping),
            Err(CatalogueError::Invalid { .. })
        ));
        assert!(matches!(parse(""), Err(CatalogueError::Parse { .. })));
    }

    #[test]
    fn hints_and_anomalies_name_checks_that_exist_and_points_add_up() {
        let catalogue = parse(TWO).expect("valid catalogue");
        assert_eq!(catalogue.exercises[1].max_points(), 25);
        let hello = &catalogue.exercises[0];
        assert_eq!(hello.hints[0], Hint::from("one"));
        assert_eq!(hello.hints[1].check(), Some("crash-point-not-found"));
        assert_eq!(hello.hints[1].text(), "two");
        let stray_hint = TWO.replace(
            "check = \"crash-point-not-found\", text",
            "check = \"lost-message\", text",
        );
        assert!(matches!(
            parse(&stray_hint),
            Err(CatalogueError::Invalid { .. })
        ));
        let stray_anomaly = TWO.replace(
            "anomalies = [\"lost-message\"]",
            "anomalies = [\"lost-mesage\"]",
        );
        assert!(matches!(
            parse(&stray_anomaly),
            Err(CatalogueError::Invalid { .. })
        ));
        let twice = TWO.replace("\"lock-expired\", points", "\"lost-message\", points");
        assert!(matches!(parse(&twice), Err(CatalogueError::Invalid { .. })));
    }

    const CAUSES: &str = r#"
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
    { check = "unsettled-message", points = 5, explained_by = ["lock-expired"] },
    { check = "lock-expired", points = 10 },
]
hints = ["one"]
"#;

    #[test]
    fn a_cause_comes_before_its_symptom_and_the_rest_keep_the_teaching_order() {
        let catalogue = parse(CAUSES).expect("valid catalogue");
        let exercise = &catalogue.exercises[0];
        let names = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        // Alphabetical, as the test binary lists them.
        let failing = names(&["lock-expired", "lost-message", "unsettled-message"]);
        assert_eq!(
            exercise.by_cause(&failing),
            names(&["lost-message", "lock-expired", "unsettled-message"])
        );
        let two = names(&["lock-expired", "unsettled-message"]);
        assert_eq!(
            exercise.by_cause(&two),
            names(&["lock-expired", "unsettled-message"])
        );
        assert_eq!(
            exercise.failing_causes("unsettled-message", &two),
            vec!["lock-expired"]
        );
        // Without its cause failing, a check keeps its place.
        let alone = names(&["unsettled-message", "zz-unlisted", "lost-message"]);
        assert_eq!(
            exercise.by_cause(&alone),
            names(&["lost-message", "unsettled-message", "zz-unlisted"])
        );
        assert!(
            exercise
                .failing_causes("unsettled-message", &alone)
                .is_empty()
        );
    }

    #[test]
    fn causes_must_be_other_checks_and_never_go_round_in_a_circle() {
        let unknown = CAUSES.replace("[\"lock-expired\"]", "[\"lock-expird\"]");
        assert!(matches!(
            parse(&unknown),
            Err(CatalogueError::Invalid { .. })
        ));
        let itself = CAUSES.replace("[\"lock-expired\"]", "[\"unsettled-message\"]");
        assert!(matches!(
            parse(&itself),
            Err(CatalogueError::Invalid { .. })
        ));
        let circle = CAUSES.replace(
            "{ check = \"lock-expired\", points = 10 }",
            "{ check = \"lock-expired\", points = 10, explained_by = [\"unsettled-message\"] }",
        );
        let error = parse(&circle).expect_err("a circle of causes");
        assert!(error.to_string().contains("circle"), "{error}");
    }
}

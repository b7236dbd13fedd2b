//! `cargo xtask verify`: prove the catalogue true (for maintainers; CI runs it).
//!
//! For every exercise of the catalogue:
//!
//! - its files are there (crate, learner file, solution, README, checks) and
//!   the README names the file to edit;
//! - the reference solution passes every check, on every seed and fault plan
//!   its checks explore;
//! - the shipped starter fails exactly the checks the catalogue lists under
//!   `anomalies`, and passes the others. "Shipped" means as committed: a
//!   learner's edits are never graded here (see [`crate::shipped`]);
//! - eda-lint reports exactly the catalogue's `lints` on the shipped starter,
//!   and nothing on the solution;
//! - its chapter page (`book/src/<chapter>/index.md`) points to it by naming
//!   the learner file, and has the chapter shape ([`crate::book::shape`]):
//!   the catalogue's minutes under the title, a prediction prompt before the
//!   failure diagram, neither the solution nor the fix before the exercise,
//!   broker tables folded;
//! - its failure figures (diagram and report) are what the starter produces
//!   today.
//!
//! Then the book: the linter chapter's API coverage table is current, the
//! broker tables are rendered from `book/facts/brokers.toml` and no page
//! states a broker default or limit that file does not hold, it
//! builds, no internal link is broken, every quiz parses and no right answer
//! stands out by its length (the book module's
//! checks). Every result is printed; the exit status is 1
//! if any failed.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use crate::catalogue::{Catalogue, Exercise};
use crate::exit::Status;
use crate::figures::Figure;
use crate::grading::{self, Grading, Seeds, Variant};
use crate::shipped::ShippedWorkspace;

/// Options of `cargo xtask verify`.
#[derive(clap::Args)]
#[command(
    after_help = "The starters are tested as committed (HEAD): if a learner file differs from \
     HEAD, the committed starter is graded in a temporary copy of the workspace and the edited \
     file is left alone.\n\
     Exit status: 0 everything holds; 1 something does not (each failure is listed); 2 the \
     catalogue is missing or invalid."
)]
pub struct Args {
    /// Only verify this exercise (the book is still checked unless `--no-book`).
    #[arg(long)]
    pub exercise: Option<String>,
    /// Skip the book checks.
    #[arg(long)]
    pub no_book: bool,
    /// Seconds one exercise's checks may run before they count as hung.
    #[arg(long, default_value_t = 600)]
    pub timeout: u64,
    /// Random fault plans (seeds) each check explores, for solutions and
    /// starters alike (a learner's graded run explores 500, from seed 0).
    #[arg(long, alias = "random-plans", default_value_t = 5000)]
    pub seeds: u64,
    /// The seed the random fault plans start from: not a learner's (0), so
    /// the solutions are proven on plans a learner's grade never showed.
    #[arg(long, default_value_t = 1)]
    pub first_seed: u64,
}

/// One proven or disproven claim.
struct Verdict {
    subject: String,
    claim: String,
    problem: Option<String>,
}

/// Collects verdicts and prints each as it comes.
#[derive(Default)]
struct Verdicts(Vec<Verdict>);

impl Verdicts {
    fn record(&mut self, subject: &str, claim: impl Into<String>, problem: Option<String>) {
        let verdict = Verdict {
            subject: subject.to_string(),
            claim: claim.into(),
            problem,
        };
        match &verdict.problem {
            None => println!("  ok    {}: {}", verdict.subject, verdict.claim),
            Some(problem) => println!(
                "  FAIL  {}: {}\n{}",
                verdict.subject,
                verdict.claim,
                indent(problem)
            ),
        }
        self.0.push(verdict);
    }
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|line| format!("        {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs `cargo xtask verify`.
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
    let mut verdicts = Verdicts::default();
    let timeout = Duration::from_secs(args.timeout);

    let shipped = match crate::shipped::prepare(&root, &chosen) {
        Ok(shipped) => {
            for note in &shipped.notes {
                println!("note: {note}");
            }
            Some(shipped)
        }
        Err(error) => {
            verdicts.record(
                "starters",
                "the shipped starters can be found",
                Some(format!("{error:#}")),
            );
            None
        }
    };

    for exercise in chosen {
        println!("\n{} ({})", exercise.id, exercise.dir.display());
        if !files_present(&root, exercise, &mut verdicts) {
            continue;
        }
        let seeds = Seeds {
            plans: args.seeds,
            first: args.first_seed,
        };
        solution_passes(&root, exercise, timeout, seeds, &mut verdicts);
        if let Some(shipped) = &shipped {
            starter_fails_as_catalogued(shipped, exercise, timeout, seeds, &mut verdicts);
        }
        lints_as_catalogued(&root, exercise, &mut verdicts);
        chapter_links(&root, exercise, &mut verdicts);
        chapter_shape(&root, exercise, &mut verdicts);
        if let Some(shipped) = &shipped {
            figure_current(&root, shipped, exercise, &mut verdicts);
        }
    }

    if !args.no_book {
        println!("\nbook");
        coverage_page_current(&root, &mut verdicts);
        glossary_complete(&root, &mut verdicts);
        broker_facts(&root, &mut verdicts);
        match crate::book::check_book(&root) {
            Ok(problems) if problems.is_empty() => verdicts.record(
                "book",
                "builds with no warning, no broken internal link, every quiz parses and no quiz answer stands out by its length",
                None,
            ),
            Ok(problems) => verdicts.record(
                "book",
                "builds with no warning, no broken internal link, every quiz parses and no quiz answer stands out by its length",
                Some(
                    problems
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("\n"),
                ),
            ),
            Err(error) => {
                verdicts.record("book", "the book checks run", Some(format!("{error:#}")))
            }
        }
    }

    let failed: Vec<&Verdict> = verdicts.0.iter().filter(|v| v.problem.is_some()).collect();
    println!(
        "\nverify: {} claims checked, {} failed",
        verdicts.0.len(),
        failed.len()
    );
    for verdict in &failed {
        println!("  FAIL  {}: {}", verdict.subject, verdict.claim);
    }
    if failed.is_empty() {
        Status::Success.into()
    } else {
        Status::Failed.into()
    }
}

/// The crate, the learner file, the solution, the README and the checks are
/// there, and the README names the file to edit.
fn files_present(root: &Path, exercise: &Exercise, verdicts: &mut Verdicts) -> bool {
    let dir = &exercise.dir;
    let required = [
        dir.join("Cargo.toml"),
        exercise.learner_file(),
        exercise.solution_file(),
        dir.join("README.md"),
        dir.join("tests")
            .join(format!("{}.rs", grading::CHECKS_TEST)),
    ];
    let missing: Vec<String> = required
        .iter()
        .filter(|path| !root.join(path).is_file())
        .map(|path| path.display().to_string())
        .collect();
    let mut problem = (!missing.is_empty()).then(|| format!("missing: {}", missing.join(", ")));
    if problem.is_none() {
        let readme = std::fs::read_to_string(root.join(dir).join("README.md")).unwrap_or_default();
        let file = exercise.file.display().to_string();
        if !readme.contains(&file) {
            problem = Some(format!("the README never names the file to edit, `{file}`"));
        }
    }
    let ok = problem.is_none();
    verdicts.record(
        &exercise.id,
        "crate, learner file, solution, README (naming the file) and checks are present",
        problem,
    );
    ok
}

/// The reference solution passes every check.
fn solution_passes(
    root: &Path,
    exercise: &Exercise,
    timeout: Duration,
    seeds: Seeds,
    verdicts: &mut Verdicts,
) {
    let claim = format!(
        "the solution passes every check (crash points, fault points, and {} random plans from \
         seed {})",
        seeds.plans, seeds.first
    );
    let grading = Grading {
        workspace: root,
        exercise,
        variant: Variant::Solution,
        timeout,
        random_plans: Some(seeds),
        show_progress: false,
    };
    let graded = grading::grade(&grading);
    let problem = match &graded {
        Ok(graded) if graded.all_passed() => None,
        Ok(graded) => Some(format!(
            "failed: {}{}\n{}",
            graded.failed().join(", "),
            unreported_names(graded),
            crate::grade::failure_reports(graded, exercise)
        )),
        Err(error) => Some(error.to_string()),
    };
    verdicts.record(&exercise.id, claim, problem);
    if let Ok(graded) = &graded {
        verdicts.record(
            &exercise.id,
            "the catalogue's `checks` are the rubric's checks, with the same points",
            checks_differ(exercise, graded),
        );
    }
}

/// How the catalogue's `checks` differ from the checks the rubric ran
/// (names and points; the catalogue's order is the teaching order, the
/// test binary's is alphabetical, so order is not compared).
fn checks_differ(exercise: &Exercise, graded: &grading::Graded) -> Option<String> {
    let catalogued: BTreeSet<(&str, u32)> = exercise
        .checks
        .iter()
        .map(|check| (check.check.as_str(), check.points))
        .collect();
    let rubric: BTreeSet<(&str, u32)> = graded
        .checks
        .iter()
        .map(|check| (check.check.as_str(), check.points))
        .collect();
    let show = |set: &BTreeSet<(&str, u32)>| {
        set.iter()
            .map(|(check, points)| format!("{check} = {points}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    (catalogued != rubric).then(|| {
        format!(
            "the catalogue says [{}], the rubric [{}]",
            show(&catalogued),
            show(&rubric)
        )
    })
}

/// The shipped starter fails exactly the catalogue's anomalies.
fn starter_fails_as_catalogued(
    shipped: &ShippedWorkspace,
    exercise: &Exercise,
    timeout: Duration,
    seeds: Seeds,
    verdicts: &mut Verdicts,
) {
    let expected: BTreeSet<&str> = exercise.anomalies.iter().map(String::as_str).collect();
    let claim = format!(
        "the shipped starter fails exactly [{}]",
        expected.iter().copied().collect::<Vec<_>>().join(", ")
    );
    let grading = Grading {
        workspace: &shipped.root,
        exercise,
        variant: Variant::Learner,
        timeout,
        random_plans: Some(seeds),
        show_progress: false,
    };
    let problem = match grading::grade(&grading) {
        Ok(graded) => {
            let failed = graded.failed();
            let actual: BTreeSet<&str> = failed.iter().map(String::as_str).collect();
            let known: BTreeSet<&str> = graded.checks.iter().map(|c| c.check.as_str()).collect();
            let unknown: Vec<&str> = expected.difference(&known).copied().collect();
            if !unknown.is_empty() {
                Some(format!(
                    "the catalogue names anomalies no check reports: {}",
                    unknown.join(", ")
                ))
            } else if actual != expected || !graded.unreported.is_empty() {
                Some(format!(
                    "it fails [{}]{}",
                    failed.join(", "),
                    unreported_names(&graded)
                ))
            } else {
                None
            }
        }
        Err(error) => Some(error.to_string()),
    };
    verdicts.record(&exercise.id, claim, problem);
}

fn unreported_names(graded: &grading::Graded) -> String {
    if graded.unreported.is_empty() {
        String::new()
    } else {
        format!(
            " and, without a report, [{}]",
            graded
                .unreported
                .iter()
                .map(|test| test.test.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

/// eda-lint reports exactly the catalogue's rules on the shipped starter and
/// nothing on the solution.
fn lints_as_catalogued(root: &Path, exercise: &Exercise, verdicts: &mut Verdicts) {
    let expected: BTreeSet<&str> = exercise.lints.iter().map(String::as_str).collect();
    let claim = format!(
        "eda-lint reports exactly [{}] on the shipped starter",
        expected.iter().copied().collect::<Vec<_>>().join(", ")
    );
    let learner = exercise.learner_file();
    let problem = match crate::shipped::starter_text(root, exercise) {
        Err(error) => Some(format!("the shipped starter cannot be read: {error:#}")),
        Ok(text) => {
            let report = crate::linting::lint(&learner, &text);
            let actual = report.rules();
            if !report.trouble.is_empty() {
                Some(report.trouble.join("\n"))
            } else if actual.iter().map(String::as_str).collect::<BTreeSet<_>>() != expected {
                Some(format!(
                    "it reports [{}]\n{}",
                    actual.join(", "),
                    report.listing
                ))
            } else {
                None
            }
        }
    };
    verdicts.record(&exercise.id, claim, problem);

    let solution = exercise.solution_file();
    let problem = match std::fs::read_to_string(root.join(&solution)) {
        Err(error) => Some(format!("cannot read {}: {error}", solution.display())),
        Ok(text) => {
            let report = crate::linting::lint(&solution, &text);
            if !report.trouble.is_empty() {
                Some(report.trouble.join("\n"))
            } else if !report.rules().is_empty() {
                Some(format!(
                    "it reports [{}]\n{}",
                    report.rules().join(", "),
                    report.listing
                ))
            } else {
                None
            }
        }
    };
    verdicts.record(
        &exercise.id,
        "eda-lint reports nothing on the solution",
        problem,
    );
}

/// The chapter page names the exercise's learner file (so a reader of the
/// chapter is sent to the exercise).
fn chapter_links(root: &Path, exercise: &Exercise, verdicts: &mut Verdicts) {
    let page = Path::new("book/src")
        .join(&exercise.chapter)
        .join("index.md");
    let claim = format!("{} sends the reader to the exercise", page.display());
    let file = exercise.learner_file().display().to_string();
    let problem = match std::fs::read_to_string(root.join(&page)) {
        Err(error) => Some(format!("cannot read {}: {error}", page.display())),
        Ok(text) if !text.contains(&file) => Some(format!(
            "the page never names the exercise's file `{file}` (its exercise section must)"
        )),
        Ok(text) if !text.contains(&exercise.id) => Some(format!(
            "the page never names the exercise `{}`",
            exercise.id
        )),
        Ok(_) => None,
    };
    verdicts.record(&exercise.id, claim, problem);
}

/// The chapter page has the shape every exercise's chapter follows
/// ([`crate::book::shape`]).
fn chapter_shape(root: &Path, exercise: &Exercise, verdicts: &mut Verdicts) {
    let page = crate::book::shape::chapter_page(exercise);
    let claim = format!(
        "{} shows the catalogue's {} minutes under its title, asks for a prediction before the \
         failure diagram, shows neither the solution nor the fix before the exercise, and folds \
         its broker tables",
        page.display(),
        exercise.minutes
    );
    let problem = match crate::book::shape::exercise_shape(root, exercise) {
        Err(error) => Some(format!("{error:#}")),
        Ok(problems) if problems.is_empty() => None,
        Ok(problems) => Some(problems.join("\n")),
    };
    verdicts.record(&exercise.id, claim, problem);
}

/// The committed figures (diagram and report) are what the shipped starter
/// produces today.
fn figure_current(
    root: &Path,
    shipped: &ShippedWorkspace,
    exercise: &Exercise,
    verdicts: &mut Verdicts,
) {
    for figure in Figure::ALL {
        let path = figure.path(exercise);
        let claim = format!("{} is current", path.display());
        let problem = match crate::figures::render(&shipped.root, exercise, figure) {
            Err(error) => Some(format!("{error:#}")),
            Ok(fresh) => match std::fs::read_to_string(root.join(&path)) {
                Err(error) => Some(format!(
                    "cannot read it ({error}); run `cargo xtask figures`"
                )),
                Ok(committed) if committed != fresh => Some(format!(
                    "it differs from what the starter produces now ({}); run `cargo xtask \
                     figures` and commit the result",
                    first_difference(&committed, &fresh)
                )),
                Ok(_) => None,
            },
        };
        verdicts.record(&exercise.id, claim, problem);
    }
}

/// The linter chapter's API coverage table is what eda-lint's coverage
/// data renders today.
fn coverage_page_current(root: &Path, verdicts: &mut Verdicts) {
    let page = eda_lint::analysis::coverage::BOOK_PAGE;
    let claim = format!("{page} is current");
    let problem = match crate::figures::coverage_page() {
        Err(error) => Some(format!("{error:#}")),
        Ok(fresh) => match std::fs::read_to_string(root.join(page)) {
            Err(error) => Some(format!(
                "cannot read it ({error}); run `cargo xtask figures`"
            )),
            Ok(committed) if committed != fresh => Some(format!(
                "it differs from lints/src/analysis/coverage.toml ({}); run `cargo xtask \
                 figures` and commit the result",
                first_difference(&committed, &fresh)
            )),
            Ok(_) => None,
        },
    };
    verdicts.record("book", claim, problem);
}

/// The broker tables are rendered from the facts file as it is, and no page,
/// quiz or comment of the workshop broker states a broker fact (a value next
/// to a setting's name) the file does not hold.
fn broker_facts(root: &Path, verdicts: &mut Verdicts) {
    let facts = match crate::facts::Facts::load(root) {
        Ok(facts) => facts,
        Err(error) => {
            verdicts.record(
                "book",
                "the broker facts file is valid",
                Some(error.to_string()),
            );
            return;
        }
    };
    let tables = format!(
        "the broker tables ({}/facts-*.md) are rendered from {}",
        crate::facts::TABLES_DIR,
        crate::facts::FACTS_FILE
    );
    let problem = match crate::facts::stale_tables(root) {
        Err(error) => Some(format!("{error:#}")),
        Ok(stale) if stale.is_empty() => None,
        Ok(stale) => Some(format!(
            "{}\nrun `cargo xtask figures` and commit the result",
            stale.join("\n")
        )),
    };
    verdicts.record("book", tables, problem);
    let claim = format!(
        "every broker default or limit a page states is in {}",
        crate::facts::FACTS_FILE
    );
    let problem = match crate::facts::check_pages(&facts, root, &root.join("book/src")) {
        Err(error) => Some(format!("{error:#}")),
        Ok(found) if found.is_empty() => None,
        Ok(found) => Some(
            found
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n"),
        ),
    };
    verdicts.record("book", claim, problem);
    let claim = format!(
        "every broker default or limit the workshop broker's comments ({}) state is in {}",
        crate::facts::BROKER_SOURCES,
        crate::facts::FACTS_FILE
    );
    let problem = match crate::facts::check_comments(
        &facts,
        root,
        &root.join(crate::facts::BROKER_SOURCES),
    ) {
        Err(error) => Some(format!("{error:#}")),
        Ok(found) if found.is_empty() => None,
        Ok(found) => Some(
            found
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n"),
        ),
    };
    verdicts.record("broker", claim, problem);
}

/// Every term the course must cover has a glossary entry that links to the
/// chapter section teaching it (`xtask/src/book/glossary.rs`).
fn glossary_complete(root: &Path, verdicts: &mut Verdicts) {
    let claim = format!(
        "the glossary defines each of the {} terms the course must cover and links each to the chapter section that teaches it",
        crate::book::glossary::REQUIRED_TERMS.len()
    );
    let problem = match crate::book::glossary::check_glossary(root) {
        Err(error) => Some(format!("{error:#}")),
        Ok(found) if found.is_empty() => None,
        Ok(found) => Some(
            found
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n"),
        ),
    };
    verdicts.record("book", claim, problem);
}

/// Where two texts first differ, for a drift message: "line 7: committed
/// `…`, now `…`".
pub(crate) fn first_difference(committed: &str, fresh: &str) -> String {
    let mut committed_lines = committed.lines();
    let mut fresh_lines = fresh.lines();
    let mut number = 1;
    loop {
        match (committed_lines.next(), fresh_lines.next()) {
            (Some(old), Some(new)) if old == new => number += 1,
            (old, new) => {
                return format!(
                    "line {number}: committed `{}`, now `{}`",
                    old.unwrap_or("(end)").trim(),
                    new.unwrap_or("(end)").trim()
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{
        Verdicts, broker_facts, chapter_shape, checks_differ, coverage_page_current,
        first_difference, grading,
    };
    use std::path::Path;

    /// The coverage page check fails on a missing or stale page and passes
    /// on the page as rendered.
    #[test]
    fn the_coverage_page_must_be_as_rendered() {
        let root = tempfile::tempdir().expect("a temporary folder");
        let page = root.path().join(eda_lint::analysis::coverage::BOOK_PAGE);
        let problem = |root: &Path| {
            let mut verdicts = Verdicts::default();
            coverage_page_current(root, &mut verdicts);
            verdicts.0.remove(0).problem
        };
        let missing = problem(root.path()).expect("a missing page fails");
        assert!(missing.contains("cargo xtask figures"), "{missing}");
        std::fs::create_dir_all(page.parent().expect("the page has a folder")).expect("mkdir");
        std::fs::write(&page, "| stale |\n").expect("write");
        let stale = problem(root.path()).expect("a stale page fails");
        assert!(stale.contains("line 1"), "{stale}");
        let fresh = crate::figures::coverage_page().expect("the table renders");
        std::fs::write(&page, fresh).expect("write");
        assert_eq!(problem(root.path()), None);
    }

    /// The repository's broker tables and pages hold; a repository without a
    /// facts file fails the claim and says which file is missing.
    #[test]
    fn broker_facts_are_claimed_from_the_facts_file() {
        let mut verdicts = Verdicts::default();
        broker_facts(&crate::workspace::root(), &mut verdicts);
        let claims: Vec<(&str, Option<&String>)> = verdicts
            .0
            .iter()
            .map(|verdict| (verdict.claim.as_str(), verdict.problem.as_ref()))
            .collect();
        assert_eq!(claims.len(), 3, "{claims:#?}");
        assert!(
            claims.iter().all(|(_, problem)| problem.is_none()),
            "{claims:#?}"
        );

        let empty = tempfile::tempdir().expect("a temporary folder");
        let mut verdicts = Verdicts::default();
        broker_facts(empty.path(), &mut verdicts);
        let problem = verdicts.0[0].problem.clone().expect("no facts file fails");
        assert!(problem.contains("book/facts/brokers.toml"), "{problem}");
    }

    /// The chapter-shape claim holds on the repository's pages, and fails,
    /// naming the page, where the chapter is missing.
    #[test]
    fn the_chapter_shape_is_claimed_per_exercise() {
        let root = crate::workspace::root();
        let catalogue = crate::catalogue::Catalogue::load(&root).expect("the catalogue");
        let mut verdicts = Verdicts::default();
        for exercise in &catalogue.exercises {
            chapter_shape(&root, exercise, &mut verdicts);
        }
        assert_eq!(verdicts.0.len(), catalogue.exercises.len());
        for verdict in &verdicts.0 {
            assert_eq!(
                verdict.problem, None,
                "{}: {}",
                verdict.subject, verdict.claim
            );
        }

        let empty = tempfile::tempdir().expect("a temporary folder");
        let mut verdicts = Verdicts::default();
        chapter_shape(empty.path(), &catalogue.exercises[0], &mut verdicts);
        let problem = verdicts.0[0].problem.clone().expect("a missing page fails");
        assert!(
            problem.contains(&format!(
                "cannot read book/src/{}/index.md",
                catalogue.exercises[0].chapter
            )),
            "{problem}"
        );
    }

    #[test]
    fn catalogued_points_must_match_the_rubric() {
        let exercise = crate::catalogue::Catalogue::parse(
            r#"
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
"#,
            Path::new("exercises.toml"),
        )
        .expect("valid catalogue")
        .exercises
        .remove(0);
        let result = |check: &str, points| grading::CheckResult {
            check: check.into(),
            points,
            passed: true,
            report: String::new(),
        };
        let graded = |checks| grading::Graded {
            checks,
            unreported: vec![],
            lint: None,
        };
        let same = graded(vec![result("lock-expired", 10), result("lost-message", 10)]);
        assert_eq!(checks_differ(&exercise, &same), None);
        let repriced = graded(vec![result("lock-expired", 15), result("lost-message", 10)]);
        assert_eq!(
            checks_differ(&exercise, &repriced).as_deref(),
            Some(
                "the catalogue says [lock-expired = 10, lost-message = 10], the rubric \
                 [lock-expired = 15, lost-message = 10]"
            )
        );
        let missing = graded(vec![result("lost-message", 10)]);
        assert!(checks_differ(&exercise, &missing).is_some());
    }

    #[test]
    fn names_the_first_line_that_drifted() {
        assert_eq!(
            first_difference("a\nb\nc\n", "a\nB\nc\n"),
            "line 2: committed `b`, now `B`"
        );
        assert_eq!(
            first_difference("a\n", "a\nb\n"),
            "line 2: committed `(end)`, now `b`"
        );
    }
}

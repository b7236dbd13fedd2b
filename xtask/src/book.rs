//! `cargo xtask book`: build the book with mdBook used as a library, and the
//! book checks that `cargo xtask verify` runs.
//!
//! - [`build_book_at`]: `book/` into `book/build`, with two in-process preprocessors
//!   ([`mermaid`], [`quiz`]); mdBook's own errors are caught by [`diagnostics`].
//!   Before mdBook expands the includes, [`includes`] makes every include of
//!   an exercise's learner file show the starter as shipped (not the
//!   learner's edit), and fails the build on an include of a missing anchor.
//! - [`check_book`]: everything `verify` asks of the book: it builds without
//!   warnings, no internal link is broken ([`links`]), every quiz parses and
//!   is used.
//! - [`shape`]: the order every exercise's chapter follows (time under the
//!   title, a prediction before the failure diagram, the fix after the
//!   exercise, broker tables folded); `verify` claims it per exercise,
//!   `book --check` checks it too.
//!
//! For `verify` (and any other command):
//!
//! ```ignore
//! let problems = crate::book::check_book(&crate::workspace::root())?;
//! for problem in &problems { eprintln!("{problem}"); }   // "book/src/x.md: ..."
//! ```
//!
//! `Err` means the checks could not run (an unreadable directory); a book
//! that fails to build is a [`Problem`], like a broken link.

pub mod diagnostics;
pub mod folds;
pub mod glossary;
pub mod includes;
pub mod links;
pub mod mermaid;
pub mod quiz;
pub mod shape;

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use mdbook_driver::MDBook;

use diagnostics::{BuildLog, Severity};
use includes::ShippedFiles;
use mermaid::MermaidPreprocessor;
use quiz::QuizPreprocessor;

/// Options of `cargo xtask book`.
#[derive(clap::Args)]
pub struct Args {
    /// Also run the checks of `cargo xtask verify` on the book: no warning,
    /// no broken internal link, every quiz parses and is used, and (for a
    /// book in a repository with a catalogue) every exercise's chapter has
    /// the chapter shape. (An include of a missing anchor fails any build.)
    #[arg(long)]
    pub check: bool,
    /// Build another mdBook folder instead of the workshop's `book/` (a test
    /// fixture, a copy being edited).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// Builds `book/` into `book/build` and, with `--check`, checks it.
pub fn run(args: Args) -> Result<()> {
    let book_root = match args.dir {
        Some(dir) => std::path::absolute(&dir)
            .with_context(|| format!("cannot resolve {}", dir.display()))?,
        None => book_dir(&crate::workspace::root()),
    };
    if args.check {
        let mut problems = check_book_at(&book_root)?;
        // The chapter shape needs the catalogue: a book outside the
        // workshop's repository (a fixture, a copy) has none to check against.
        if let Some(repository) = book_root.parent()
            && repository.join(crate::catalogue::CATALOGUE_PATH).is_file()
        {
            problems.extend(shape::check_shapes(repository)?);
            problems.extend(folds::check_folds(repository)?);
            problems.extend(glossary::check_glossary(repository)?);
        }
        if problems.is_empty() {
            println!(
                "The book builds and passes its checks: {}",
                book_root.join("build").display()
            );
            return Ok(());
        }
        for problem in &problems {
            eprintln!("{problem}");
        }
        anyhow::bail!("the book has {} problem(s)", problems.len());
    }
    let built = build_book_at(&book_root)?;
    for note in &built.notes {
        eprintln!("note: {note}");
    }
    for warning in &built.warnings {
        eprintln!("warning (mdBook): {warning}");
    }
    println!(
        "Built the book into {} ({} warning(s)); open {}",
        built.out_dir.display(),
        built.warnings.len(),
        built.out_dir.join("index.html").display()
    );
    Ok(())
}

/// One thing wrong with the book, and the file it is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file.display(), self.message)
    }
}

/// A finished build.
pub struct BuiltBook {
    /// Where the HTML is: `book/build`.
    pub out_dir: PathBuf,
    /// What mdBook warned about (unbalanced HTML in a chapter, ...).
    pub warnings: Vec<String>,
    /// Worth telling the reader, not a fault of the book: a learner file
    /// shown from the working tree because git could not give the shipped one.
    pub notes: Vec<String>,
}

/// The book's folder in the repository at `root`.
pub fn book_dir(root: &Path) -> PathBuf {
    root.join("book")
}

/// Builds the mdBook whose `book.toml` is in `book_root` (the workshop's:
/// [`book_dir`]) into its `build/`.
///
/// Includes of the workshop's learner files show them as shipped (see
/// [`includes`]), whichever book includes them.
///
/// Fails, naming the file, on anything mdBook reports as an error: a chapter
/// file missing, an `{{#include}}` of a missing file, a quiz that does not
/// parse; and on an `{{#include file:anchor}}` whose file lacks the anchor.
pub fn build_book_at(book_root: &Path) -> Result<BuiltBook> {
    build_book_showing(
        book_root,
        &ShippedFiles::of_repository(&crate::workspace::root()),
    )
}

/// [`build_book_at`], with includes of the files in `shipped` showing their
/// shipped text.
pub fn build_book_showing(book_root: &Path, shipped: &ShippedFiles) -> Result<BuiltBook> {
    let log = BuildLog::default();
    let outcome = log.capture(|| -> Result<PathBuf> {
        let mut book = MDBook::load(book_root)
            .with_context(|| format!("cannot load the book at {}", book_root.display()))?;
        let source_dir = book.source_dir();
        let problems = includes::resolve_includes(&mut book.book, &source_dir, shipped);
        if !problems.is_empty() {
            let repository = book_root.parent().unwrap_or(book_root);
            let shown: Vec<String> = problems
                .into_iter()
                .map(|problem| relative_to(problem, repository).to_string())
                .collect();
            anyhow::bail!(
                "building the book at {}: {} include(s) would show nothing:\n  {}",
                book_root.display(),
                shown.len(),
                shown.join("\n  ")
            );
        }
        book.with_preprocessor(MermaidPreprocessor)
            .with_preprocessor(QuizPreprocessor);
        book.build()
            .with_context(|| format!("building the book at {}", book_root.display()))?;
        let out_dir = book.build_dir_for("html");
        let first_chapter = book
            .book
            .chapters()
            .find_map(|chapter| chapter.path.clone());
        if let Some(first_chapter) = first_chapter {
            write_front_page(&out_dir, &first_chapter, book.config.book.title.as_deref())?;
        }
        Ok(out_dir)
    });
    let messages = log.messages();
    let out_dir = outcome?;
    let errors: Vec<&str> = messages
        .iter()
        .filter(|logged| logged.severity == Severity::Error)
        .map(|logged| logged.message.as_str())
        .collect();
    if !errors.is_empty() {
        anyhow::bail!(
            "building the book at {}: mdBook reported {} error(s):\n  {}",
            book_root.display(),
            errors.len(),
            errors.join("\n  ")
        );
    }
    let warnings = messages
        .into_iter()
        .filter(|logged| logged.severity == Severity::Warning)
        .map(|logged| logged.message)
        .collect();
    Ok(BuiltBook {
        out_dir,
        warnings,
        notes: shipped.notes.clone(),
    })
}

/// Replaces mdBook's `index.html` with a redirect to the first chapter.
///
/// mdBook writes the first chapter a second time as `index.html` at the
/// root, but with the chapter's own relative links: when the chapter lives in
/// a folder (`welcome/index.md`), every `../other/index.html` link of that
/// copy is broken, and `http://127.0.0.1:3000/` is the page `serve` prints.
/// (The empty icon stops browsers asking for a `/favicon.ico` that mdBook
/// does not write.)
fn write_front_page(out_dir: &Path, first_chapter: &Path, title: Option<&str>) -> Result<()> {
    if first_chapter
        .parent()
        .is_none_or(|dir| dir.as_os_str().is_empty())
    {
        // A chapter at the root has the same links either way.
        return Ok(());
    }
    let target = first_chapter
        .with_extension("html")
        .components()
        .map(|part| part.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/");
    let title = title
        .unwrap_or("The book")
        .replace('&', "&amp;")
        .replace('<', "&lt;");
    let page = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{title}</title>\n\
         <meta http-equiv=\"refresh\" content=\"0; url={target}\">\n\
         <link rel=\"canonical\" href=\"{target}\">\n\
         <link rel=\"icon\" href=\"data:,\">\n</head>\n\
         <body><p>The book starts at <a href=\"{target}\">{target}</a>.</p></body>\n</html>\n"
    );
    let index = out_dir.join("index.html");
    std::fs::write(&index, page).with_context(|| format!("cannot write {}", index.display()))
}

/// The book checks of `cargo xtask verify`, for the repository at `root`:
/// the book builds with no error (every anchored include finds its anchor)
/// and no warning, no internal link of the built HTML is broken, every quiz
/// file parses and is used by a chapter.
pub fn check_book(root: &Path) -> Result<Vec<Problem>> {
    check_book_at(&book_dir(root))
}

/// [`check_book`] for the mdBook whose `book.toml` is in `book_root`.
pub fn check_book_at(book_root: &Path) -> Result<Vec<Problem>> {
    let book_root = book_root.to_path_buf();
    let mut problems = check_quizzes(&book_root.join("src"))?;
    match build_book_at(&book_root) {
        Err(error) => problems.push(Problem {
            file: book_root.join("book.toml"),
            message: format!("the book does not build: {error:#}"),
        }),
        Ok(built) => {
            problems.extend(built.warnings.into_iter().map(|warning| Problem {
                file: book_root.clone(),
                message: format!("mdBook warns: {warning}"),
            }));
            let src_dir = book_root.join("src");
            problems.extend(
                links::check_links(&built.out_dir)?
                    .into_iter()
                    .map(|problem| point_at_source(problem, &built.out_dir, &src_dir)),
            );
        }
    }
    // Paths as a maintainer types them: `book/src/...`, from the repository.
    let repository = book_root.parent().unwrap_or(&book_root).to_path_buf();
    Ok(problems
        .into_iter()
        .map(|problem| relative_to(problem, &repository))
        .collect())
}

/// The problem with its file as a maintainer types it: `book/src/...`, from
/// the repository.
fn relative_to(problem: Problem, repository: &Path) -> Problem {
    match problem.file.strip_prefix(repository) {
        Ok(relative) => Problem {
            file: relative.to_path_buf(),
            message: problem.message,
        },
        Err(_) => problem,
    }
}

/// A broken link is fixed in the chapter's Markdown, not in the HTML: name
/// the `.md` file when the page comes from one.
fn point_at_source(problem: Problem, out_dir: &Path, src_dir: &Path) -> Problem {
    let Ok(page) = problem.file.strip_prefix(out_dir) else {
        return problem;
    };
    let chapter = src_dir.join(page).with_extension("md");
    if chapter.is_file() {
        Problem {
            message: format!("{} (in the built page {})", problem.message, page.display()),
            file: chapter,
        }
    } else {
        problem
    }
}

/// Every quiz under `src_dir`: each `{{#quiz}}` directive names a file that
/// parses and whose option lengths do not give its answers away
/// ([`quiz::balance_problems`]), and each `.toml` file under `src_dir` (where
/// quizzes live) is used by some chapter.
pub fn check_quizzes(src_dir: &Path) -> Result<Vec<Problem>> {
    let mut files = Vec::new();
    collect_files(src_dir, &mut files)?;
    files.sort();
    let mut problems = Vec::new();
    let mut used = std::collections::HashSet::new();
    for chapter in files.iter().filter(|file| has_extension(file, "md")) {
        let content = std::fs::read_to_string(chapter)
            .with_context(|| format!("cannot read {}", chapter.display()))?;
        let directives = match quiz::find_directives(&content, chapter) {
            Ok(directives) => directives,
            Err(error) => {
                problems.push(Problem {
                    file: chapter.clone(),
                    message: error.to_string(),
                });
                continue;
            }
        };
        let chapter_dir = chapter.parent().unwrap_or(src_dir);
        for directive in directives {
            let quiz_file = chapter_dir.join(&directive.path);
            match quiz::parse_quiz_file(&quiz_file) {
                Err(error) => problems.push(Problem {
                    file: chapter.clone(),
                    message: format!("`{{{{#quiz {}}}}}`: {error}", directive.path),
                }),
                Ok(parsed) => problems.extend(parsed.balance.into_iter().map(|message| Problem {
                    file: quiz_file.clone(),
                    message,
                })),
            }
            used.insert(includes::normalise(&quiz_file));
        }
    }
    for quiz_file in files.iter().filter(|file| has_extension(file, "toml")) {
        if !used.contains(&includes::normalise(quiz_file)) {
            problems.push(Problem {
                file: quiz_file.clone(),
                message: "no chapter includes this quiz with `{{#quiz ...}}`".into(),
            });
        }
    }
    Ok(problems)
}

fn has_extension(path: &Path, extension: &str) -> bool {
    path.extension().is_some_and(|found| found == extension)
}

fn collect_files(dir: &Path, found: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            collect_files(&path, found)?;
        } else {
            found.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small book on disk: `book.toml`, a SUMMARY and the given files.
    fn fixture(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut all = vec![
            (
                "book.toml",
                "[book]\ntitle = \"Fixture\"\n[build]\nbuild-dir = \"build\"\ncreate-missing = false\n",
            ),
            (
                "src/SUMMARY.md",
                "# Summary\n\n- [Welcome](welcome/index.md)\n- [Acks](acks/index.md)\n",
            ),
            (
                "src/welcome/index.md",
                "# Welcome\n\nGo to [acks](../acks/index.md#the-fix).\n",
            ),
        ];
        all.extend_from_slice(files);
        for (path, content) in all {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
            std::fs::write(path, content).expect("write");
        }
        dir
    }

    const QUIZ: &str = "[[questions]]\ntype = \"MultipleChoice\"\nprompt.prompt = \"When?\"\n\
                        prompt.distractors = [\"On its receipt\"]\nanswer.answer = \"On complete\"\n";

    const CHAPTER: &str = "# Acks\n\n## The fix\n\n```mermaid\nsequenceDiagram\n  B->>C: deliver\n```\n\n{{#quiz quiz.toml}}\n";

    #[test]
    fn a_book_with_a_diagram_and_a_quiz_builds_and_checks_clean() {
        let book = fixture(&[("src/acks/index.md", CHAPTER), ("src/acks/quiz.toml", QUIZ)]);
        let built = build_book_at(book.path()).expect("builds");
        let page = std::fs::read_to_string(built.out_dir.join("acks/index.html")).expect("page");
        assert!(
            page.contains("<pre class=\"mermaid\" data-diagram=\"sequenceDiagram\n  B-&gt;&gt;C: deliver\n\"></pre>"),
            "{page}"
        );
        assert!(page.contains("class=\"quiz-placeholder\""));
        assert!(!page.contains("{{#quiz"));
        let front = std::fs::read_to_string(built.out_dir.join("index.html")).expect("front");
        assert!(front.contains("url=welcome/index.html"), "{front}");
        assert_eq!(check_book_at(book.path()).expect("checks run"), vec![]);
    }

    #[test]
    fn a_quiz_that_does_not_parse_fails_the_build_naming_chapter_and_quiz() {
        let book = fixture(&[
            ("src/acks/index.md", CHAPTER),
            (
                "src/acks/quiz.toml",
                &QUIZ.replace("answer.answer", "answer.answr"),
            ),
        ]);
        let error = format!("{:#}", build_book_at(book.path()).err().expect("must fail"));
        assert!(error.contains("acks/index.md"), "{error}");
        assert!(error.contains("acks/quiz.toml"), "{error}");
    }

    #[test]
    fn a_missing_include_fails_the_build_naming_the_file() {
        let book = fixture(&[(
            "src/acks/index.md",
            "# Acks\n\n## The fix\n\n```rust\n{{#include ../../code/missing.rs}}\n```\n",
        )]);
        let error = format!("{:#}", build_book_at(book.path()).err().expect("must fail"));
        assert!(error.contains("missing.rs"), "{error}");
    }

    #[test]
    fn an_include_of_an_anchor_the_file_lacks_fails_a_plain_build_and_the_check() {
        let book = fixture(&[
            (
                "src/acks/index.md",
                "# Acks\n\n## The fix\n\n```rust\n{{#include code.rs:fix}}\n```\n\n\
                 ```rust\n{{#include code.rs:gone}}\n```\n\n```rust\n{{#include code.rs:2:3}}\n```\n",
            ),
            (
                "src/acks/code.rs",
                "// ANCHOR: fix\nfn fix() {}\n// ANCHOR_END: fix\n",
            ),
        ]);
        let error = format!("{:#}", build_book_at(book.path()).err().expect("must fail"));
        assert!(
            error.contains("1 include(s) would show nothing")
                && error.contains("acks/index.md: `{{#include code.rs:gone}}`")
                && !error.contains(":fix}}"),
            "{error}"
        );
        let problems = check_book_at(book.path()).expect("checks run");
        let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(shown.len(), 1, "{shown:#?}");
        assert!(shown[0].contains("{{#include code.rs:gone}}"), "{shown:#?}");
    }

    /// A repository with a one-exercise catalogue and a book that shows its
    /// starter, committed: what a learner clones.
    fn repository_with_an_exercise() -> tempfile::TempDir {
        let repository = tempfile::tempdir().expect("temp dir");
        let root = repository.path();
        let files = [
            (
                "exercises/exercises.toml",
                "[[exercise]]\nid = \"ack-ordering\"\nchapter = \"acks\"\ncrate = \"ack-ordering\"\n\
                 dir = \"exercises/02-ack-ordering\"\nfile = \"src/consumer.rs\"\n\
                 solution = \"solution/consumer.rs\"\nminutes = 10\nanomalies = [\"lost-message\"]\n\
                 lints = []\nhints = [\"Ack last.\"]\n",
            ),
            (
                "exercises/02-ack-ordering/src/consumer.rs",
                "fn handle() {\n    // ANCHOR: starter\n    ack_first();\n    // ANCHOR_END: starter\n}\n",
            ),
            (
                "book/book.toml",
                "[book]\ntitle = \"Fixture\"\n[build]\nbuild-dir = \"build\"\n",
            ),
            (
                "book/src/SUMMARY.md",
                "# Summary\n\n- [Acks](acks/index.md)\n",
            ),
            (
                "book/src/acks/index.md",
                "# Acks\n\n```rust\n{{#include ../../../exercises/02-ack-ordering/src/consumer.rs:starter}}\n```\n",
            ),
        ];
        for (path, content) in files {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
            std::fs::write(path, content).expect("write");
        }
        for args in [
            &["init", "-q"][..],
            &["add", "."],
            &["commit", "-q", "-m", "ship"],
        ] {
            let output = std::process::Command::new("git")
                .current_dir(root)
                .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
                .args(args)
                .output()
                .expect("git runs");
            assert!(output.status.success(), "git {args:?}: {output:?}");
        }
        repository
    }

    fn acks_page(book_root: &Path) -> String {
        std::fs::read_to_string(book_root.join("build/acks/index.html")).expect("page")
    }

    #[test]
    fn the_book_shows_the_shipped_starter_whatever_the_learner_did_to_it() {
        let repository = repository_with_an_exercise();
        let root = repository.path();
        let book_root = root.join("book");
        let learner_file = root.join("exercises/02-ack-ordering/src/consumer.rs");

        // Solved, and the anchors deleted on the way.
        std::fs::write(&learner_file, "fn handle() {\n    work_then_ack();\n}\n").expect("edit");
        let shipped = ShippedFiles::of_repository(root);
        assert_eq!(shipped.notes, Vec::<String>::new());
        let built = build_book_showing(&book_root, &shipped).expect("builds");
        assert_eq!(built.warnings, Vec::<String>::new());
        let page = acks_page(&book_root);
        assert!(page.contains("ack_first();"), "{page}");
        assert!(!page.contains("work_then_ack"), "{page}");
        assert!(!page.contains("ANCHOR"), "{page}");

        // Deleted altogether: still the shipped starter.
        std::fs::remove_file(&learner_file).expect("delete");
        build_book_showing(&book_root, &ShippedFiles::of_repository(root)).expect("builds");
        assert!(acks_page(&book_root).contains("ack_first();"));
    }

    #[test]
    fn without_git_the_book_shows_the_working_copy_and_says_so() {
        let repository = repository_with_an_exercise();
        let root = repository.path();
        std::fs::remove_dir_all(root.join(".git")).expect("no longer a checkout");
        std::fs::write(
            root.join("exercises/02-ack-ordering/src/consumer.rs"),
            "fn handle() {\n    // ANCHOR: starter\n    work_then_ack();\n    // ANCHOR_END: starter\n}\n",
        )
        .expect("edit");
        let shipped = ShippedFiles::of_repository(root);
        assert_eq!(shipped.notes.len(), 1, "{:?}", shipped.notes);
        assert!(
            shipped.notes[0]
                .contains("exercises/02-ack-ordering/src/consumer.rs as it is in your folder"),
            "{:?}",
            shipped.notes
        );
        let built = build_book_showing(&root.join("book"), &shipped).expect("builds");
        assert_eq!(built.notes, shipped.notes);
        assert!(acks_page(&root.join("book")).contains("work_then_ack();"));
    }

    /// The book's own quizzes: they parse, and no right answer can be picked
    /// by its length (see `quiz::balance_problems`).
    #[test]
    fn the_books_quizzes_do_not_give_their_answers_away_by_length() {
        let src = book_dir(&crate::workspace::root()).join("src");
        let problems = check_quizzes(&src).expect("the quizzes can be read");
        let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert!(problems.is_empty(), "{shown:#?}");
    }

    #[test]
    fn broken_links_and_unused_quizzes_are_problems_in_the_markdown_files() {
        let book = fixture(&[
            (
                "src/acks/index.md",
                "# Acks\n\nSee [nothing](../nowhere/index.md) and [here](#not-here).\n",
            ),
            ("src/acks/quiz.toml", QUIZ),
        ]);
        let problems = check_book_at(book.path()).expect("checks run");
        let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(problems.len(), 4, "{shown:#?}");
        // The quiz file nobody includes.
        assert!(
            shown[0].contains("acks/quiz.toml: no chapter includes"),
            "{shown:#?}"
        );
        // The welcome page's anchor into a page that has no such heading.
        assert!(
            shown
                .iter()
                .any(|p| p.contains("welcome/index.md: link `../acks/index.html#the-fix`")),
            "{shown:#?}"
        );
        assert!(
            shown.iter().any(|p| p
                .contains("acks/index.md: link `../nowhere/index.html` points to a missing file")),
            "{shown:#?}"
        );
        assert!(
            shown
                .iter()
                .any(|p| p.contains("acks/index.md: link `#not-here`")),
            "{shown:#?}"
        );
    }
}

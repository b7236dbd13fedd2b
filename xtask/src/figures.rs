//! `cargo xtask figures`: regenerate the book's failure diagrams from real runs.
//!
//! Each exercise crate has an example, `failure_figure`, that runs the
//! shipped starter's failing check and prints the trace of its failing run
//! as a mermaid `sequenceDiagram` (or, with the argument `report`, the
//! check's report as `cargo test` prints it). This command writes them to
//! `book/src/figures/<exercise>-failure.mmd` and `<exercise>-report.txt`,
//! which the chapters include. `verify` renders them again and fails if a
//! committed file differs: the book's pictures and quotes of the failures
//! cannot drift from what the code does.
//!
//! It also writes the linter chapter's API coverage table
//! ([`eda_lint::analysis::coverage::BOOK_PAGE`]) from the table eda-lint's
//! own tests check against its recogniser, so that page cannot drift from
//! what the linter recognises either.
//!
//! And the broker tables of the configuration chapter and the broker
//! reference (`book/src/figures/facts-*.md`), from `book/facts/brokers.toml`
//! (see [`crate::facts`]).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::catalogue::{Catalogue, Exercise};

/// The example every exercise crate ships to draw its failure.
pub const FIGURE_EXAMPLE: &str = "failure_figure";

/// Options of `cargo xtask figures`.
#[derive(clap::Args)]
pub struct Args {
    /// Only this exercise's figure.
    pub exercise: Option<String>,
    /// Only the broker tables, from `book/facts/brokers.toml` (runs nothing, so
    /// it is instant).
    #[arg(long, conflicts_with = "exercise")]
    pub facts: bool,
    /// Only the linter chapter's API coverage table, from eda-lint's
    /// coverage data (runs nothing, so it is instant).
    #[arg(long, conflicts_with_all = ["exercise", "facts"])]
    pub coverage: bool,
}

/// What the book shows of a starter's failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Figure {
    /// The failing run as a mermaid sequence diagram.
    Diagram,
    /// The failing check's report, as `cargo test` prints it.
    Report,
}

impl Figure {
    /// Both, in the order they are written and checked.
    pub const ALL: [Figure; 2] = [Figure::Diagram, Figure::Report];

    /// Where this figure of an exercise lives, relative to the repository root.
    pub fn path(self, exercise: &Exercise) -> PathBuf {
        let name = match self {
            Figure::Diagram => format!("{}-failure.mmd", exercise.id),
            Figure::Report => format!("{}-report.txt", exercise.id),
        };
        PathBuf::from("book/src/figures").join(name)
    }
}

/// Regenerates the figures (from the shipped starters, like `verify`).
pub fn run(args: Args) -> Result<()> {
    let root = crate::workspace::root();
    if args.facts {
        for table in crate::facts::write_tables(&root)? {
            println!("wrote {}", table.display());
        }
        return Ok(());
    }
    if args.exercise.is_none() {
        let page = coverage_page()?;
        let path = root.join(eda_lint::analysis::coverage::BOOK_PAGE);
        std::fs::write(&path, page).with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", eda_lint::analysis::coverage::BOOK_PAGE);
        if args.coverage {
            return Ok(());
        }
        for table in crate::facts::write_tables(&root)? {
            println!("wrote {}", table.display());
        }
    }
    let catalogue = Catalogue::load(&root)?;
    let chosen: Vec<&Exercise> = match &args.exercise {
        Some(name) => vec![catalogue.find(name)?],
        None => catalogue.exercises.iter().collect(),
    };
    let shipped = crate::shipped::prepare(&root, &chosen)?;
    for note in &shipped.notes {
        println!("note: {note}");
    }
    for exercise in chosen {
        for figure in Figure::ALL {
            let text = render(&shipped.root, exercise, figure)?;
            let path = root.join(figure.path(exercise));
            if let Some(folder) = path.parent() {
                std::fs::create_dir_all(folder)
                    .with_context(|| format!("creating {}", folder.display()))?;
            }
            std::fs::write(&path, &text).with_context(|| format!("writing {}", path.display()))?;
            println!("wrote {}", figure.path(exercise).display());
        }
    }
    Ok(())
}

/// Runs the exercise's figure example in `workspace` and returns what it
/// printed for `figure`.
pub fn render(workspace: &Path, exercise: &Exercise, figure: Figure) -> Result<String> {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    if std::env::var_os("CARGO_TARGET_DIR").is_none() {
        command.env("CARGO_TARGET_DIR", crate::workspace::root().join("target"));
    }
    command.current_dir(workspace).args([
        "run",
        "--quiet",
        "-p",
        &exercise.package,
        "--example",
        FIGURE_EXAMPLE,
    ]);
    if figure == Figure::Report {
        command.args(["--", "report"]);
    }
    let output = command
        .stdin(Stdio::null())
        .output()
        .context("running cargo")?;
    if !output.status.success() {
        bail!(
            "the {FIGURE_EXAMPLE} example of {} failed:\n{}",
            exercise.package,
            String::from_utf8_lossy(&output.stderr).trim_end()
        );
    }
    let text = String::from_utf8(output.stdout)
        .with_context(|| format!("the figure of {} is not UTF-8", exercise.id))?;
    let expected_start = match figure {
        Figure::Diagram => "sequenceDiagram",
        Figure::Report => "check `",
    };
    if !text.starts_with(expected_start) {
        bail!(
            "the {FIGURE_EXAMPLE} example of {} printed no {}",
            exercise.package,
            match figure {
                Figure::Diagram => "mermaid sequenceDiagram",
                Figure::Report => "check report",
            }
        );
    }
    Ok(text)
}

/// The linter chapter's API coverage table, rendered from eda-lint's
/// coverage data.
pub fn coverage_page() -> Result<String> {
    let coverage = eda_lint::analysis::coverage::Coverage::load()?;
    Ok(coverage.markdown())
}

//! `cargo xtask figures`: regenerate the book's failure diagrams from real runs.
//!
//! Each exercise crate has an example, `failure_figure`, that runs the
//! shipped starter under the fault that breaks it and prints the trace of
//! that run as a mermaid `sequenceDiagram`. This command writes it to
//! `book/src/figures/<exercise>-failure.mmd`, which the chapter includes.
//! `verify` renders them again and fails if a committed figure differs: the
//! book's pictures of the failures cannot drift from what the code does.

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
}

/// Where an exercise's figure lives, relative to the repository root.
pub fn figure_path(exercise: &Exercise) -> PathBuf {
    PathBuf::from("book/src/figures").join(format!("{}-failure.mmd", exercise.id))
}

/// Regenerates the figures (from the shipped starters, like `verify`).
pub fn run(args: Args) -> Result<()> {
    let root = crate::workspace::root();
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
        let figure = render(&shipped.root, exercise)?;
        let path = root.join(figure_path(exercise));
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder)
                .with_context(|| format!("creating {}", folder.display()))?;
        }
        std::fs::write(&path, &figure).with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", figure_path(exercise).display());
    }
    Ok(())
}

/// Runs the exercise's figure example in `workspace` and returns the diagram.
pub fn render(workspace: &Path, exercise: &Exercise) -> Result<String> {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    if std::env::var_os("CARGO_TARGET_DIR").is_none() {
        command.env("CARGO_TARGET_DIR", crate::workspace::root().join("target"));
    }
    let output = command
        .current_dir(workspace)
        .args([
            "run",
            "--quiet",
            "-p",
            &exercise.package,
            "--example",
            FIGURE_EXAMPLE,
        ])
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
    let figure = String::from_utf8(output.stdout)
        .with_context(|| format!("the figure of {} is not UTF-8", exercise.id))?;
    if !figure.starts_with("sequenceDiagram") {
        bail!(
            "the {FIGURE_EXAMPLE} example of {} printed no mermaid sequenceDiagram",
            exercise.package
        );
    }
    Ok(figure)
}

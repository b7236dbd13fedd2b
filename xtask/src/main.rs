//! `cargo xtask`: the workshop runner and the maintainers' checks.
//!
//! One module per command. To add a command: one `mod` line, one variant of
//! [`Command`] (its `Args` type lives in the module) and one arm in `main`.
//!
//! - `book`: build the book with mdBook used as a library ([`book`]).
//! - `serve`: build, serve on loopback and rebuild on change ([`serve`]).
//! - [`workspace`]: where the repository is, whatever the current directory.

mod book;
mod catalogue;
mod exit;
mod figures;
mod grade;
mod grading;
mod hint;
mod lint_corpus;
mod linting;
mod progress;
mod serve;
mod shipped;
mod verify;
mod watch;
mod workspace;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The workshop runner.
#[derive(Parser)]
#[command(name = "cargo xtask", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build the book into `book/build`.
    Book(book::Args),
    /// Build the book, serve it on http://127.0.0.1:3000 and rebuild it on change.
    Serve(serve::Args),
    /// Run an exercise's graded checks (all exercises without a name), print the score table
    /// and remember your progress.
    Grade(grade::Args),
    /// Show the next hint of an exercise; its reference solution once it passes.
    Hint(hint::Args),
    /// Re-grade your current exercise on every save, show the failing check's report and offer
    /// hints (`--manual`: re-grade on Enter).
    Watch(watch::Args),
    /// Maintainers (CI runs it): prove the catalogue true — solutions pass, shipped starters fail
    /// exactly as catalogued, lints, chapter links, figures, the book checks.
    Verify(verify::Args),
    /// Regenerate the book's failure diagrams (`book/src/figures/`) from real runs of the starters.
    Figures(figures::Args),
    /// Maintainers (CI runs it): lint every crate in the local cargo registry with a release
    /// eda-lint and fail on any crash, panic or hang.
    LintCorpus(lint_corpus::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Book(args) => book::run(args),
        Command::Serve(args) => serve::run(args),
        // The learner's commands choose their own exit status (see `exit`).
        Command::Grade(args) => return grade::run(args),
        Command::Hint(args) => return hint::run(args),
        Command::Watch(args) => return watch::run(args),
        Command::Verify(args) => return verify::run(args),
        Command::Figures(args) => figures::run(args),
        Command::LintCorpus(args) => lint_corpus::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // `{:#}` prints the whole context chain on one line: "building the
            // book: book/src/x/index.md: ...".
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

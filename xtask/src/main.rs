//! `cargo xtask`: the workshop runner and the maintainers' checks.
//!
//! One module per command. To add a command: one `mod` line, one variant of
//! [`Command`] (its `Args` type lives in the module) and one arm in `main`.
//!
//! - `book`: build the book with mdBook used as a library ([`book`]).
//! - `serve`: build, serve on loopback and rebuild on change ([`serve`]).
//! - [`workspace`]: where the repository is, whatever the current directory.

mod accuracy;
mod bench;
mod book;
mod catalogue;
mod exit;
mod facts;
mod figures;
mod grade;
mod grading;
mod hint;
mod lint_corpus;
mod linting;
mod progress;
mod real;
mod serve;
mod shipped;
mod verify;
mod watch;
mod workspace;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The workshop runner.
#[derive(Parser)]
// `bin_name`: clap would otherwise take the name of the executable,
// `xtask`, for every "Usage:" line, which is not what a learner types.
#[command(name = "cargo xtask", bin_name = "cargo xtask", version, about)]
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
    /// Show the next hint of an exercise; its reference solution while its last grade passes.
    Hint(hint::Args),
    /// Re-grade your current exercise on every save, show the failing check's report and offer
    /// hints (`--manual`: re-grade on Enter).
    Watch(watch::Args),
    /// Maintainers (CI runs it): prove the catalogue true — solutions pass, shipped starters fail
    /// exactly as catalogued, lints, chapter links, figures, the book checks.
    Verify(verify::Args),
    /// Regenerate the book's failure diagrams (`book/src/figures/`) from real runs of the starters,
    /// and the linter chapter's API coverage table from eda-lint's coverage data.
    Figures(figures::Args),
    /// Maintainers (CI runs it): lint every crate in the local cargo registry with a release
    /// eda-lint and fail on any crash, panic or hang.
    LintCorpus(lint_corpus::Args),
    /// Maintainers (CI runs it): eda-lint's precision and recall per rule on real code, scored
    /// against the labels in lints/tests/realworld/ (`--split NAME` for a held-out part:
    /// `holdout`, `fresh`, `fresh-2`, ...; an unknown name exits 2).
    Accuracy(accuracy::Args),
    /// Maintainers: time the learner's loop per exercise (start, rebuild after a one-line edit,
    /// the checks), in wall and CPU time beside the load, against every check run alone.
    Bench(bench::Args),
    /// Run an exercise's consumer (your file, or `--solution`) against a real engine, RabbitMQ or
    /// NATS JetStream, killing and restarting it at chosen points.
    Real(real::Args),
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
        Command::Bench(args) => return bench::run(args),
        Command::Real(args) => return real::run(args),
        // An unknown split is a usage error (2), as clap's own are.
        Command::Accuracy(args) => return accuracy::main(args),
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

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::process::Command;

    use clap::CommandFactory;

    use super::*;

    /// Every help and usage message names the command a learner types.
    #[test]
    fn help_and_errors_say_cargo_xtask_for_every_subcommand() {
        let help = Cli::try_parse_from(["xtask", "--help"])
            .err()
            .expect("--help stops parsing")
            .to_string();
        assert!(help.contains("Usage: cargo xtask <COMMAND>"), "{help}");
        let names: Vec<String> = Cli::command()
            .get_subcommands()
            .map(|command| command.get_name().to_string())
            .filter(|name| name != "help")
            .collect();
        assert!(names.len() >= 8, "{names:?}");
        for name in &names {
            let help = Cli::try_parse_from(["xtask", name, "--help"])
                .err()
                .expect("--help stops parsing")
                .to_string();
            assert!(
                help.contains(&format!("Usage: cargo xtask {name}")),
                "{name}: {help}"
            );
            let error = Cli::try_parse_from(["xtask", name, "--no-such-flag"])
                .err()
                .expect("an unknown flag is an error")
                .to_string();
            assert!(
                error.contains(&format!("Usage: cargo xtask {name}")),
                "{name}: {error}"
            );
        }
    }

    /// The arguments of the `cargo xtask` alias in `.cargo/config.toml`.
    fn alias() -> Vec<String> {
        let config = crate::workspace::root().join(".cargo/config.toml");
        let text = std::fs::read_to_string(&config).expect("the cargo config");
        let config: toml::Table = toml::from_str(&text).expect("the cargo config is TOML");
        match &config["alias"]["xtask"] {
            toml::Value::String(line) => line.split_whitespace().map(String::from).collect(),
            toml::Value::Array(words) => words
                .iter()
                .map(|word| word.as_str().expect("alias words are strings").to_string())
                .collect(),
            other => panic!("alias.xtask is {other:?}"),
        }
    }

    /// A fresh clone's first `cargo xtask` compiles for a minute or more:
    /// the alias must show that work, and stay quiet on the runs after it.
    /// Tried with the alias's own options on a scratch crate whose build
    /// script takes two seconds, in its own target folder.
    #[test]
    fn the_alias_shows_progress_while_building_and_nothing_once_built() {
        let scratch = tempfile::tempdir().expect("temp dir");
        let write = |path: &str, text: &str| {
            let path = scratch.path().join(path);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        };
        write(
            "Cargo.toml",
            "[package]\nname = \"scratch\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
        );
        write(
            "build.rs",
            "fn main() { std::thread::sleep(std::time::Duration::from_secs(2)); }\n",
        );
        write("src/main.rs", "fn main() { println!(\"ran\"); }\n");

        // The alias, with the scratch crate in place of `--package xtask`.
        let mut args = alias();
        let package = args
            .iter()
            .position(|word| word == "--package" || word == "-p")
            .expect("the alias names the xtask package");
        args.drain(package..package + 2);
        assert_eq!(args.pop().as_deref(), Some("--"), "{args:?}");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let run = || {
            Command::new(&cargo)
                .args(&args)
                .arg("--manifest-path")
                .arg(Path::new(scratch.path()).join("Cargo.toml"))
                .env("CARGO_TARGET_DIR", scratch.path().join("target"))
                .env_remove("CARGO_TERM_PROGRESS_WHEN")
                .env_remove("CARGO_TERM_QUIET")
                .current_dir(scratch.path())
                .output()
                .expect("cargo runs")
        };

        let first = run();
        let progress = String::from_utf8_lossy(&first.stderr);
        assert!(first.status.success(), "{progress}");
        assert_eq!(String::from_utf8_lossy(&first.stdout), "ran\n");
        assert!(
            progress.contains('[') && progress.contains("scratch"),
            "the first build showed no progress: {progress:?}"
        );

        let later = run();
        assert!(later.status.success());
        assert_eq!(String::from_utf8_lossy(&later.stdout), "ran\n");
        assert_eq!(
            String::from_utf8_lossy(&later.stderr),
            "",
            "a later run is not tidy"
        );
    }
}

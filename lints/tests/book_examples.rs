//! The linter output the book quotes comes from real runs.
//!
//! Each example is a small project in `tests/book/<folder>` and a command
//! run in it; the book includes `book/src/figures/<output>`, which holds the
//! command and what it printed. This test runs each command again and fails
//! if the committed output differs, so the book cannot quote output the
//! linter no longer prints. With `EDA_LINT_UPDATE_BOOK=1` it writes the
//! outputs instead (then review the diff).

use std::path::{Path, PathBuf};
use std::process::Command;

/// One command the book shows, and where its output is kept.
struct Example {
    /// The project, under `tests/book/`.
    folder: &'static str,
    /// The arguments after `eda-lint`.
    args: &'static [&'static str],
    /// The file under `book/src/figures/` the chapter includes.
    output: &'static str,
}

const EXAMPLES: &[Example] = &[
    Example {
        folder: "test-exclusion",
        args: &["check", "--output-format", "concise"],
        output: "linter-test-exclusion.txt",
    },
    Example {
        folder: "test-exclusion",
        args: &["check", "--include-tests", "--output-format", "concise"],
        output: "linter-test-exclusion-included.txt",
    },
    Example {
        folder: "api-coverage",
        args: &["check"],
        output: "linter-api-coverage-example.txt",
    },
    Example {
        folder: "cross-file-helper",
        args: &["check", "src/worker.rs"],
        output: "linter-cross-file-helper.txt",
    },
];

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// What the book shows for `example`: the command line, then its output.
fn run(example: &Example) -> String {
    let folder = manifest_dir().join("tests/book").join(example.folder);
    let output = Command::new(env!("CARGO_BIN_EXE_eda-lint"))
        .args(example.args)
        .current_dir(&folder)
        .env("NO_COLOR", "1")
        .output()
        .expect("run eda-lint");
    assert!(
        output.status.code().is_some_and(|code| code <= 1),
        "eda-lint failed on {}: {}",
        folder.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.stderr.is_empty(),
        "eda-lint warned on {}: {}",
        folder.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    format!(
        "$ eda-lint {}\n{}",
        example.args.join(" "),
        String::from_utf8_lossy(&output.stdout)
    )
}

#[test]
fn the_book_quotes_real_runs() {
    let figures = manifest_dir().join("../book/src/figures");
    let update = std::env::var_os("EDA_LINT_UPDATE_BOOK").is_some_and(|v| v == "1");
    let mut stale = Vec::new();
    for example in EXAMPLES {
        let fresh = run(example);
        let path = figures.join(example.output);
        if update {
            std::fs::write(&path, &fresh).expect("write the book's copy");
            continue;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        if committed != fresh {
            stale.push(format!(
                "{}:\n--- committed\n{committed}\n--- now\n{fresh}",
                display(&path)
            ));
        }
    }
    assert!(
        stale.is_empty(),
        "the book quotes linter output that changed; run `EDA_LINT_UPDATE_BOOK=1 cargo test -p eda-lint --test book_examples` and review the diff\n\n{}",
        stale.join("\n")
    );
}

#[test]
fn every_quoted_output_is_included_by_the_book() {
    let chapter = manifest_dir().join("../book/src/linter/index.md");
    let text = std::fs::read_to_string(&chapter).expect("the linter chapter");
    for example in EXAMPLES {
        let include = format!("{{{{#include ../figures/{}}}}}", example.output);
        assert!(
            text.contains(&include),
            "{} does not include {}",
            display(&chapter),
            example.output
        );
    }
}

fn display(path: &Path) -> String {
    path.display().to_string()
}

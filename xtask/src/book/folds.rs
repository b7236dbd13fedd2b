//! What a chapter's folded fix promises, checked against what it shows.
//!
//! The workshop's policy (issue 8): the fix comes after the exercise, folded
//! in a `<details>` block, and the complete reference solution is shown by
//! `cargo xtask hint <id>` only while the learner's latest grade passes.
//! Some folds include the heart of the reference solution's code, some only
//! explain the fix. Chapters used to disagree ("we do not show the reference
//! solution here" on one page, the solution's code in the fold on the next),
//! so each fix fold is now announced by the paragraph just above it, which
//! says which kind it is:
//!
//! - `Do the exercise before you open this: the fold shows the fix with the
//!   reference solution's code. ...` when the fold includes a file from an
//!   exercise's `solution/` folder;
//! - `Do the exercise before you open this: the fold explains the fix without
//!   the reference solution's code. ...` otherwise.
//!
//! Both name `cargo xtask hint`. A fix fold is a `<details>` block whose
//! `<summary>` mentions "the fix". `cargo xtask book --check` runs
//! [`check_folds`] on every chapter page.

use std::path::Path;

use anyhow::{Context, Result};

use super::Problem;

/// The fix folds' problems of every chapter page
/// (`book/src/<chapter>/index.md`) of the repository at `root`, each named
/// by its page relative to `root`.
pub fn check_folds(root: &Path) -> Result<Vec<Problem>> {
    let src = root.join("book/src");
    let mut folders: Vec<_> = std::fs::read_dir(&src)
        .with_context(|| format!("reading {}", src.display()))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.join("index.md").is_file())
        .collect();
    folders.sort();
    let mut problems = Vec::new();
    for folder in folders {
        let page = folder.join("index.md");
        let text = std::fs::read_to_string(&page)
            .with_context(|| format!("reading {}", page.display()))?;
        let file = page.strip_prefix(root).unwrap_or(&page).to_path_buf();
        problems.extend(fold_problems(&text).into_iter().map(|message| Problem {
            file: file.clone(),
            message,
        }));
    }
    Ok(problems)
}

/// The words that open the line announcing a fix fold.
pub const ANNOUNCEMENT: &str = "Do the exercise before you open this:";
/// What the announcement of a fold with the solution's code says.
pub const WITH_CODE: &str = "with the reference solution's code";
/// What the announcement of a fold without it says.
pub const WITHOUT_CODE: &str = "without the reference solution's code";

/// What is wrong with the fix folds of one page, each starting with the
/// fold's line number: a fold without its announcement just above it,
/// or with one that says the wrong kind, or that does not name
/// `cargo xtask hint`.
pub fn fold_problems(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut problems = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        if !lines[index].trim_start().starts_with("<details") {
            index += 1;
            continue;
        }
        let opened = index;
        // The block runs to the line that closes it (fix folds are not
        // nested; a nested block only moves the end further down).
        let mut depth = 0usize;
        let mut end = opened;
        for (at, line) in lines.iter().enumerate().skip(opened) {
            depth += line.matches("<details").count();
            depth = depth.saturating_sub(line.matches("</details>").count());
            end = at;
            if depth == 0 {
                break;
            }
        }
        let block = &lines[opened..=end];
        let summary = block
            .iter()
            .find(|line| line.contains("<summary>"))
            .map(|line| line.to_lowercase())
            .unwrap_or_default();
        if summary.contains("the fix") {
            let shows_code = block
                .iter()
                .any(|line| line.contains("{{#include") && line.contains("/solution/"));
            // The paragraph just above the fold, its lines joined.
            let above: Vec<&str> = lines[..opened]
                .iter()
                .rev()
                .skip_while(|line| line.trim().is_empty())
                .take_while(|line| !line.trim().is_empty())
                .map(|line| line.trim())
                .collect();
            let announcement: String = above.into_iter().rev().collect::<Vec<_>>().join(" ");
            let at = opened + 1;
            let (said, unsaid) = if shows_code {
                (WITH_CODE, WITHOUT_CODE)
            } else {
                (WITHOUT_CODE, WITH_CODE)
            };
            if !announcement.starts_with(ANNOUNCEMENT) {
                problems.push(format!(
                    "line {at}: the fix fold is not announced: the line above it should start \
                     `{ANNOUNCEMENT}` and say that the fold shows the fix {said}"
                ));
            } else if !announcement.contains(said) || announcement.contains(unsaid) {
                problems.push(format!(
                    "line {at}: the fold {} the reference solution's code, so its announcement \
                     should say `{said}`",
                    if shows_code {
                        "includes"
                    } else {
                        "does not include"
                    }
                ));
            } else if !announcement.contains("cargo xtask hint") {
                problems.push(format!(
                    "line {at}: the fold's announcement should say that `cargo xtask hint` shows \
                     the whole reference solution once the latest grade passes"
                ));
            }
        }
        index = end + 1;
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    const WITH: &str = "Do the exercise before you open this: the fold shows the fix with the\n\
                        reference solution's code. `cargo xtask hint x` shows the whole file\n\
                        once your latest grade passes.";
    const WITHOUT: &str = "Do the exercise before you open this: the fold explains the fix \
                           without the reference solution's code, which `cargo xtask hint x` \
                           shows once your latest grade passes.";
    const CODE: &str = "```rust\n{{#include ../../../exercises/x/solution/a.rs:fix}}\n```\n";

    fn fold(announcement: &str, body: &str) -> String {
        format!(
            "## The fix\n\n{announcement}\n\n<details>\n<summary>The fix, step by step</summary>\n\n\
             {body}\n</details>\n"
        )
    }

    #[test]
    fn a_fold_announced_as_what_it_shows_passes() {
        assert!(fold_problems(&fold(WITH, CODE)).is_empty());
        assert!(fold_problems(&fold(WITHOUT, "Renew the lock.")).is_empty());
        // Other folds (broker tables) need no announcement.
        let table = "Text.\n\n<details>\n<summary>Limits</summary>\n\n| a |\n</details>\n";
        assert!(fold_problems(table).is_empty());
    }

    #[test]
    fn a_fold_that_says_the_wrong_kind_or_nothing_is_named() {
        let wrong = fold_problems(&fold(WITHOUT, CODE));
        assert!(
            wrong.len() == 1 && wrong[0].contains("includes the reference solution's code"),
            "{wrong:?}"
        );
        let promised = fold_problems(&fold(WITH, "Renew the lock."));
        assert!(
            promised.len() == 1 && promised[0].contains(WITHOUT_CODE),
            "{promised:?}"
        );
        let bare = fold_problems(&fold("Try the exercise before you open this.", CODE));
        assert!(
            bare.len() == 1 && bare[0].contains("not announced"),
            "{bare:?}"
        );
        let no_hint = fold_problems(&fold(
            "Do the exercise before you open this: the fold shows the fix with the \
                 reference solution's code.",
            CODE,
        ));
        assert!(
            no_hint.len() == 1 && no_hint[0].contains("cargo xtask hint"),
            "{no_hint:?}"
        );
    }

    /// Every page of the workshop's book says the same true thing about what
    /// its fix folds show.
    #[test]
    fn every_fix_fold_of_the_book_says_what_it_shows() {
        let problems = check_folds(&crate::workspace::root()).expect("the pages can be read");
        let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert!(problems.is_empty(), "{shown:#?}");
    }
}

//! Every exercise page's commands name the exercise they are about.
//!
//! `cargo xtask watch` without a name follows the first exercise not yet
//! passed, so a learner who opens chapter 8's exercise page first and runs
//! the page's bare `cargo xtask watch` watches hello-broker instead. A new
//! learner did exactly that. The page's other commands (`grade`, `hint`)
//! already named the exercise.

use std::path::{Path, PathBuf};

fn book_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../book/src")
}

/// The exercise pages: `<chapter>/exercise*.md`.
fn exercise_pages() -> Vec<PathBuf> {
    let mut pages = Vec::new();
    let chapters = std::fs::read_dir(book_src()).expect("book/src lists");
    for chapter in chapters {
        let chapter = chapter.expect("a folder entry").path();
        if !chapter.is_dir() {
            continue;
        }
        for entry in std::fs::read_dir(&chapter).expect("a chapter folder lists") {
            let path = entry.expect("a folder entry").path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.starts_with("exercise") && name.ends_with(".md") {
                pages.push(path);
            }
        }
    }
    pages.sort();
    pages
}

/// The exercise a page is about: the one its `cargo xtask hint <id>` names.
fn exercise_of(text: &str) -> Option<&str> {
    text.lines().find_map(|line| {
        let rest = line.trim_start().strip_prefix("cargo xtask hint ")?;
        rest.split_whitespace().next()
    })
}

#[test]
fn every_exercise_page_names_its_exercise_in_each_command() {
    let pages = exercise_pages();
    assert!(
        pages.len() >= 8,
        "found only {} exercise pages",
        pages.len()
    );
    let mut wrong = Vec::new();
    for page in &pages {
        let text = std::fs::read_to_string(page)
            .unwrap_or_else(|error| panic!("cannot read {}: {error}", page.display()));
        let Some(id) = exercise_of(&text) else {
            wrong.push(format!(
                "{}: no `cargo xtask hint <exercise>` line",
                page.display()
            ));
            continue;
        };
        for (number, line) in text.lines().enumerate() {
            let Some(rest) = line.trim_start().strip_prefix("cargo xtask ") else {
                continue;
            };
            let mut words = rest.split_whitespace();
            let command = words.next().unwrap_or("");
            if ["watch", "grade", "hint"].contains(&command) && words.next() != Some(id) {
                wrong.push(format!(
                    "{}:{}: `cargo xtask {command}` should name `{id}`: {line}",
                    page.display(),
                    number + 1
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

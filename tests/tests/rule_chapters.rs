//! Every eda-lint finding links to the chapter that explains its rule: the
//! link must land on a page the book really has, and on a heading of that
//! page when it names one. A rule whose chapter is not written yet would
//! otherwise send users to a 404 from every finding.

use std::path::{Path, PathBuf};

fn book_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../book/src")
}

/// The id mdBook gives a heading: lower case, spaces to `-`, and only
/// letters, digits, `-` and `_` kept.
fn heading_id(heading: &str) -> String {
    heading
        .trim()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

fn heading_ids(markdown: &str) -> Vec<String> {
    let mut in_fence = false;
    let mut ids = Vec::new();
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
        } else if !in_fence && line.starts_with('#') {
            ids.push(heading_id(line.trim_start_matches('#')));
        }
    }
    ids
}

#[test]
fn every_rule_links_to_a_chapter_and_heading_that_exist() {
    let summary =
        std::fs::read_to_string(book_src().join("SUMMARY.md")).expect("book/src/SUMMARY.md");
    let mut problems = Vec::new();
    for rule in eda_lint::rules::RULES {
        let (page, anchor) = match rule.chapter.split_once('#') {
            Some((page, anchor)) => (page, Some(anchor)),
            None => (rule.chapter, None),
        };
        let Some(markdown_path) = page.strip_suffix(".html").map(|stem| format!("{stem}.md"))
        else {
            problems.push(format!(
                "{}: chapter `{}` is not an .html page",
                rule.name, rule.chapter
            ));
            continue;
        };
        if !summary.contains(&format!("]({markdown_path})")) {
            problems.push(format!(
                "{}: `{markdown_path}` is not a written chapter in SUMMARY.md",
                rule.name
            ));
            continue;
        }
        let markdown = match std::fs::read_to_string(book_src().join(&markdown_path)) {
            Ok(markdown) => markdown,
            Err(error) => {
                problems.push(format!("{}: book/src/{markdown_path}: {error}", rule.name));
                continue;
            }
        };
        if let Some(anchor) = anchor
            && !heading_ids(&markdown).iter().any(|id| id == anchor)
        {
            problems.push(format!(
                "{}: book/src/{markdown_path} has no heading `#{anchor}`",
                rule.name
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "rule chapter links that lead nowhere:\n{}",
        problems.join("\n")
    );
}

#[test]
fn heading_ids_follow_mdbook() {
    assert_eq!(heading_id(" dual-write"), "dual-write");
    assert_eq!(
        heading_id(" Baselines: adopting it on a large codebase"),
        "baselines-adopting-it-on-a-large-codebase"
    );
    assert_eq!(
        heading_ids("# A\n```\n# not a heading\n```\n## B c"),
        ["a", "b-c"]
    );
}

//! The glossary covers every term the course promises, and each entry says
//! where the term is taught.
//!
//! The course's design lists the terms a learner must meet ("Terms the
//! course must cover"); [`REQUIRED_TERMS`] is that list. The glossary page
//! (`book/src/glossary/index.md`) has one `## Term` entry per term, and each
//! required term's entry has a "Taught in" sentence that links to a section
//! of a chapter page (`../<chapter>/<page>.md#<section>`), not only to the
//! glossary itself or to the appendices. That the linked page and anchor
//! exist is the link check's job (it reads the built HTML, so it also
//! catches a link to a chapter that is still a draft); this check makes sure
//! there is such a link to check.

use std::path::Path;

use anyhow::{Context, Result};

use super::Problem;

/// The glossary page, relative to the repository root.
pub const GLOSSARY_PAGE: &str = "book/src/glossary/index.md";

/// The terms the course must cover, as the course design lists them.
pub const REQUIRED_TERMS: &[&str] = &[
    "Delivery semantics",
    "Idempotency",
    "Dual write",
    "Change data capture",
    "Two-phase commit",
    "Distributed transaction",
    "Transactional outbox",
    "Dead letter",
    "Peek-lock",
    "Topics",
    "Queues",
    "Subscriptions",
    "Partitioning",
    "FIFO",
    "LIFO",
    "Exactly-once delivery",
    "At-least-once delivery",
    "At-most-once delivery",
    "Exactly-once processing",
    "Two Generals problem",
    "Failure semantics",
    "Sync",
    "Async",
    "Eventual consistency",
    "Competing consumers",
    "Envelope timestamps",
    "Tombstones",
    "Kill switch",
    "Lost update",
    "Isolation level",
    "Inbox",
    "Claim check",
];

/// Pages a "Taught in" link must not (only) point at: they define or list
/// terms, they do not teach them.
const NOT_TEACHING: &[&str] = &["glossary", "broker-reference", "further-reading"];

/// The problems of the glossary of the repository at `root`.
pub fn check_glossary(root: &Path) -> Result<Vec<Problem>> {
    let page = root.join(GLOSSARY_PAGE);
    let text =
        std::fs::read_to_string(&page).with_context(|| format!("reading {}", page.display()))?;
    Ok(glossary_problems(&text, REQUIRED_TERMS)
        .into_iter()
        .map(|message| Problem {
            file: GLOSSARY_PAGE.into(),
            message,
        })
        .collect())
}

/// One `## Heading` entry of the glossary and the text under it.
struct Entry<'a> {
    heading: &'a str,
    body: String,
}

fn entries(text: &str) -> Vec<Entry<'_>> {
    let mut found: Vec<Entry<'_>> = Vec::new();
    for line in text.lines() {
        if let Some(heading) = line.strip_prefix("## ") {
            found.push(Entry {
                heading: heading.trim(),
                body: String::new(),
            });
        } else if let Some(entry) = found.last_mut() {
            entry.body.push_str(line);
            entry.body.push('\n');
        }
    }
    found
}

/// A heading or term reduced to what names it: lower case, hyphens as
/// spaces, and without a parenthesised abbreviation ("Acknowledgement
/// (ack)").
fn normalised(name: &str) -> String {
    let without_aside = match name.find(" (") {
        Some(at) if name.ends_with(')') => &name[..at],
        _ => name,
    };
    without_aside
        .to_lowercase()
        .replace('-', " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The Markdown link targets in `text` (`[label](target)`).
fn link_targets(text: &str) -> Vec<&str> {
    let mut targets = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("](") {
        let after = &rest[at + 2..];
        match after.find(')') {
            Some(end) => {
                targets.push(&after[..end]);
                rest = &after[end..];
            }
            None => break,
        }
    }
    targets
}

/// Whether `target` names a section of a chapter page:
/// `../<chapter>/<page>.md#<section>`, the chapter not an appendix.
fn teaches(target: &str) -> bool {
    let Some(path) = target.strip_prefix("../") else {
        return false;
    };
    let Some((file, anchor)) = path.split_once('#') else {
        return false;
    };
    let Some((folder, page)) = file.split_once('/') else {
        return false;
    };
    !anchor.is_empty() && page.ends_with(".md") && !NOT_TEACHING.contains(&folder)
}

/// What is wrong with the glossary `text` for the `required` terms, one
/// message per term.
fn glossary_problems(text: &str, required: &[&str]) -> Vec<String> {
    let entries = entries(text);
    let mut problems = Vec::new();
    for term in required {
        let key = normalised(term);
        let Some(entry) = entries
            .iter()
            .find(|entry| normalised(entry.heading) == key)
        else {
            problems.push(format!(
                "the glossary has no entry for `{term}`, a term the course must cover: add `## {term}` with a definition and a \"Taught in\" link to the section that teaches it"
            ));
            continue;
        };
        let taught = entry
            .body
            .find("Taught in")
            .map(|at| &entry.body[at..])
            .is_some_and(|sentence| link_targets(sentence).into_iter().any(teaches));
        if !taught {
            problems.push(format!(
                "the glossary entry `{}` has no \"Taught in\" link to a chapter section (`../<chapter>/index.md#<section>`)",
                entry.heading
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "# Glossary\n\nIntro.\n\n\
        ## Acknowledgement (ack)\n\nThe consumer says it is done.\n\
        Taught in [chapter 3](../configuration/index.md#the-ack).\n\n\
        ## Dead letter\n\nA message set aside.\n\
        Taught in [chapter 9](../kill-switch/index.md#dead-letters) and the \
        [reference](../broker-reference/index.md#dlq).\n\n\
        ## Peek-lock\n\nA lock. See the [reference](../broker-reference/index.md#locks).\n\n\
        ## Inbox\n\nProcessed ids. Taught in [the glossary](#idempotency).\n";

    #[test]
    fn a_term_with_an_entry_and_a_chapter_link_passes() {
        let problems = glossary_problems(PAGE, &["Acknowledgement", "dead-letter", "Dead letter"]);
        assert!(problems.is_empty(), "{problems:#?}");
    }

    #[test]
    fn a_missing_term_is_named() {
        let problems = glossary_problems(PAGE, &["Claim check"]);
        assert_eq!(problems.len(), 1, "{problems:#?}");
        assert!(
            problems[0].contains("no entry for `Claim check`"),
            "{problems:#?}"
        );
    }

    #[test]
    fn an_entry_that_only_links_to_an_appendix_or_itself_is_named() {
        let problems = glossary_problems(PAGE, &["Peek-lock", "Inbox"]);
        assert_eq!(problems.len(), 2, "{problems:#?}");
        assert!(problems[0].contains("`Peek-lock`"), "{problems:#?}");
        assert!(problems[1].contains("`Inbox`"), "{problems:#?}");
    }

    #[test]
    fn a_link_without_a_section_does_not_count() {
        let page = "## Sync\n\nTaught in [chapter 2](../distributed-systems/index.md).\n";
        assert_eq!(glossary_problems(page, &["Sync"]).len(), 1);
    }

    #[test]
    fn the_workshop_glossary_covers_every_required_term() {
        let root = crate::workspace::root();
        let problems = check_glossary(&root).expect("the glossary is readable");
        assert!(
            problems.is_empty(),
            "{}",
            problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

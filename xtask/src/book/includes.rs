//! What an `{{#include}}` shows: the learner files as shipped, and never an
//! anchor that is not there.
//!
//! Chapters include the exercises' learner files to show the starter
//! (`{{#include ../../../exercises/02-ack-ordering/src/consumer.rs:starter}}`).
//! Those are the very files the learner edits, so mdBook alone would show
//! the learner's fix as "the starter" once they solved it, and an empty code
//! block once they deleted the `ANCHOR` lines. This pass runs on the loaded
//! book before mdBook's own `links` preprocessor: it replaces each include of
//! a catalogue learner file with the lines it names from the file *as
//! shipped* (committed at `HEAD`, read by [`crate::shipped`]); every other
//! include is left to mdBook.
//!
//! It also checks every include that names an anchor: mdBook includes nothing,
//! silently, for an anchor the file lacks, so a renamed anchor would leave a
//! chapter with an empty code block. Here that is a build error that names
//! the chapter.
//!
//! The line selection follows mdBook's (`file`, `file:anchor`, `file:3`,
//! `file:3:7`, `file:3:`, `file::7`), so a page reads the same whichever of
//! the two expanded the include.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use mdbook_preprocessor::book::{Book, BookItem};

use super::Problem;
use crate::catalogue::Catalogue;

/// The catalogue's learner files as shipped, by absolute path.
#[derive(Default)]
pub struct ShippedFiles {
    /// Normalised absolute path -> the shipped text.
    texts: HashMap<PathBuf, String>,
    /// Why some learner file is shown as it is in the working tree instead
    /// (no git, no catalogue): worth saying, not worth failing the build.
    pub notes: Vec<String>,
}

impl ShippedFiles {
    /// The shipped text of every learner file in the catalogue of the
    /// repository at `root`. A file whose shipped text cannot be had (git is
    /// not installed, the folder is not a checkout) is left out with a note,
    /// and mdBook reads it from the working tree.
    pub fn of_repository(root: &Path) -> ShippedFiles {
        let catalogue = match Catalogue::load(root) {
            Ok(catalogue) => catalogue,
            Err(error) => {
                return ShippedFiles {
                    texts: HashMap::new(),
                    notes: vec![format!(
                        "{error}: the book shows the exercises' files as they are in your folder"
                    )],
                };
            }
        };
        let mut shipped = ShippedFiles::default();
        for exercise in &catalogue.exercises {
            match crate::shipped::starter_text(root, exercise) {
                Ok(text) => shipped.insert(&root.join(exercise.learner_file()), text),
                Err(error) => shipped.notes.push(format!(
                    "the book shows {} as it is in your folder, not as shipped: {error:#}",
                    exercise.learner_file().display()
                )),
            }
        }
        shipped
    }

    /// Shows `text` wherever a chapter includes the file at `path`.
    pub fn insert(&mut self, path: &Path, text: String) {
        self.texts.insert(normalise(path), text);
    }

    fn text(&self, path: &Path) -> Option<&str> {
        self.texts.get(path).map(String::as_str)
    }
}

/// Expands the includes of learner files in every chapter of `book` from
/// `shipped`, and checks every anchored include. `src_dir` is the book's
/// source folder (include paths are relative to the chapter's folder in it).
/// Returns what is wrong, one problem per include, naming the chapter file.
pub fn resolve_includes(book: &mut Book, src_dir: &Path, shipped: &ShippedFiles) -> Vec<Problem> {
    let mut problems = Vec::new();
    book.for_each_mut(|item| {
        let BookItem::Chapter(chapter) = item else {
            return;
        };
        let Some(path) = &chapter.path else {
            return;
        };
        let base = src_dir.join(path.parent().unwrap_or(Path::new("")));
        let file = src_dir.join(chapter.source_path.as_ref().unwrap_or(path));
        let (content, messages) = resolve_in(&chapter.content, &base, shipped);
        chapter.content = content;
        problems.extend(messages.into_iter().map(|message| Problem {
            file: file.clone(),
            message,
        }));
    });
    problems
}

/// [`resolve_includes`] for one chapter's Markdown: the new Markdown and the
/// problems.
fn resolve_in(markdown: &str, base: &Path, shipped: &ShippedFiles) -> (String, Vec<String>) {
    let mut problems = Vec::new();
    let mut rewritten = String::with_capacity(markdown.len());
    let mut copied_up_to = 0;
    for directive in find_includes(markdown) {
        let target = normalise(&base.join(directive.path));
        let learner_file = shipped.text(&target);
        let text = match learner_file {
            Some(text) => Cow::Borrowed(text),
            None => match std::fs::read_to_string(&target) {
                Ok(text) => Cow::Owned(text),
                // A missing file is mdBook's error, which the build reports.
                Err(_) => continue,
            },
        };
        if let Selection::Anchor(anchor) = &directive.selection
            && !(has_anchor(&text, "ANCHOR:", anchor) && has_anchor(&text, "ANCHOR_END:", anchor))
        {
            problems.push(format!(
                "`{}`: {} has no `ANCHOR: {anchor}` ... `ANCHOR_END: {anchor}` pair, so the page \
                 would show nothing{}",
                directive.text,
                target.display(),
                if learner_file.is_some() {
                    " (read as shipped, committed at HEAD)"
                } else {
                    ""
                }
            ));
            continue;
        }
        if learner_file.is_none() {
            continue;
        }
        if directive.rustdoc {
            problems.push(format!(
                "`{}`: show an exercise's learner file with `{{{{#include}}}}`; \
                 `rustdoc_include` of it is not supported",
                directive.text
            ));
            continue;
        }
        rewritten.push_str(&markdown[copied_up_to..directive.range.start]);
        rewritten.push_str(&select(&text, &directive.selection));
        copied_up_to = directive.range.end;
    }
    rewritten.push_str(&markdown[copied_up_to..]);
    (rewritten, problems)
}

/// One `{{#include ...}}` or `{{#rustdoc_include ...}}` of a chapter.
pub(super) struct Include<'a> {
    /// Where the directive is in the Markdown, braces included.
    pub(super) range: std::ops::Range<usize>,
    /// The directive as written, for messages.
    pub(super) text: &'a str,
    /// The file, relative to the chapter's folder.
    pub(super) path: &'a str,
    selection: Selection<'a>,
    rustdoc: bool,
}

/// Which lines of the file an include shows.
#[derive(Debug, PartialEq, Eq)]
enum Selection<'a> {
    Whole,
    /// Zero-based, end exclusive; `None`: to the end.
    Lines {
        start: usize,
        end: Option<usize>,
    },
    Anchor(&'a str),
}

/// Every include directive, as mdBook finds them: `{{`, optional spaces,
/// `#include` or `#rustdoc_include`, spaces, the target up to `}}`. One
/// escaped with a backslash (`\{{#include ...}}`) is text, not a directive.
pub(super) fn find_includes(markdown: &str) -> Vec<Include<'_>> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(offset) = markdown[from..].find("{{") {
        let start = from + offset;
        from = start + 2;
        if markdown[..start].ends_with('\\') {
            continue;
        }
        let after_braces = &markdown[start + 2..];
        let Some(after_hash) = after_braces.trim_start().strip_prefix('#') else {
            continue;
        };
        let name_length = after_hash
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after_hash.len());
        let rustdoc = match &after_hash[..name_length] {
            "include" => false,
            "rustdoc_include" => true,
            _ => continue,
        };
        let arguments = &after_hash[name_length..];
        if !arguments.starts_with(char::is_whitespace) {
            continue;
        }
        let Some(close) = arguments.find('}') else {
            continue;
        };
        if !arguments[close..].starts_with("}}") {
            continue;
        }
        let end = markdown.len() - arguments.len() + close + 2;
        let Some(target) = arguments[..close].split_whitespace().next() else {
            continue;
        };
        let (path, selection) = match target.split_once(':') {
            Some((path, selection)) => (path, parse_selection(selection)),
            None => (target, Selection::Whole),
        };
        found.push(Include {
            range: start..end,
            text: &markdown[start..end],
            path,
            selection,
            rustdoc,
        });
        from = end;
    }
    found
}

/// mdBook's reading of what follows the path's `:`: line numbers (1-based,
/// the end inclusive), or else an anchor's name.
fn parse_selection(selection: &str) -> Selection<'_> {
    let mut parts = selection.splitn(3, ':');
    let start = match parts.next() {
        None | Some("") => None,
        Some(first) => match first.parse::<usize>() {
            Ok(line) => Some(line.saturating_sub(1)),
            Err(_) => return Selection::Anchor(first),
        },
    };
    let end = parts.next().map(str::parse::<usize>);
    match (start, end) {
        (Some(start), Some(Ok(end))) => Selection::Lines {
            start,
            end: Some(end),
        },
        (Some(start), Some(Err(_))) => Selection::Lines { start, end: None },
        (Some(start), None) => Selection::Lines {
            start,
            end: Some(start + 1),
        },
        (None, Some(Ok(end))) => Selection::Lines {
            start: 0,
            end: Some(end),
        },
        (None, None | Some(Err(_))) => Selection::Whole,
    }
}

/// The lines of `text` that `selection` names, as mdBook joins them (no
/// final newline). Lines that mark any anchor are left out of an anchor's.
fn select(text: &str, selection: &Selection<'_>) -> String {
    match selection {
        Selection::Whole => text.lines().collect::<Vec<_>>().join("\n"),
        Selection::Lines { start, end } => {
            let lines = text.lines().skip(*start);
            match end {
                Some(end) => lines.take(end.saturating_sub(*start)).collect::<Vec<_>>(),
                None => lines.collect::<Vec<_>>(),
            }
            .join("\n")
        }
        Selection::Anchor(anchor) => {
            let mut kept = Vec::new();
            let mut inside = false;
            for line in text.lines() {
                if inside {
                    if anchor_on(line, "ANCHOR_END:") == Some(anchor) {
                        break;
                    }
                    if anchor_on(line, "ANCHOR_END:").is_none()
                        && anchor_on(line, "ANCHOR:").is_none()
                    {
                        kept.push(line);
                    }
                } else if anchor_on(line, "ANCHOR:") == Some(anchor) {
                    inside = true;
                }
            }
            kept.join("\n")
        }
    }
}

/// Whether a line of `text` has `marker` (`ANCHOR:` or `ANCHOR_END:`)
/// followed by `anchor`.
fn has_anchor(text: &str, marker: &str, anchor: &str) -> bool {
    text.lines()
        .any(|line| anchor_on(line, marker) == Some(anchor))
}

/// The anchor name after the first `marker` of `line` that has one: as
/// mdBook's `ANCHOR:\s*([\w_-]+)`.
fn anchor_on<'a>(line: &'a str, marker: &str) -> Option<&'a str> {
    line.match_indices(marker).find_map(|(at, _)| {
        let after = line[at + marker.len()..].trim_start();
        let length = after
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(after.len());
        (length > 0).then(|| &after[..length])
    })
}

/// `a/b/../c.rs` and `a/c.rs` are the same file (without asking the file
/// system, which would fail for a file that does not exist).
pub fn normalise(path: &Path) -> PathBuf {
    let mut normal = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                normal.pop();
            }
            Component::CurDir => {}
            other => normal.push(other),
        }
    }
    normal
}

#[cfg(test)]
mod tests {
    use super::*;

    const STARTER: &str = "fn main() {\n    // ANCHOR: starter\n    // ANCHOR: starter-handler\n    \
                           ack();\n    // ANCHOR_END: starter-handler\n    work();\n    \
                           // ANCHOR_END: starter\n}\n";

    #[test]
    fn selections_read_as_mdbook_reads_them() {
        assert_eq!(parse_selection(""), Selection::Whole);
        assert_eq!(parse_selection("starter"), Selection::Anchor("starter"));
        assert_eq!(
            parse_selection("2"),
            Selection::Lines {
                start: 1,
                end: Some(2)
            }
        );
        assert_eq!(
            parse_selection("2:3"),
            Selection::Lines {
                start: 1,
                end: Some(3)
            }
        );
        assert_eq!(
            parse_selection("2:"),
            Selection::Lines {
                start: 1,
                end: None
            }
        );
        assert_eq!(
            parse_selection(":2"),
            Selection::Lines {
                start: 0,
                end: Some(2)
            }
        );
        assert_eq!(
            select(STARTER, &Selection::Anchor("starter")),
            "    ack();\n    work();"
        );
        assert_eq!(
            select(STARTER, &Selection::Anchor("starter-handler")),
            "    ack();"
        );
        assert_eq!(
            select(STARTER, &parse_selection("1:2")),
            "fn main() {\n    // ANCHOR: starter"
        );
        assert_eq!(select("a\nb\n", &Selection::Whole), "a\nb");
    }

    #[test]
    fn includes_of_learner_files_show_the_shipped_text_and_others_are_left_to_mdbook() {
        let folder = tempfile::tempdir().expect("temp dir");
        let learner = folder.path().join("exercises/02/src/consumer.rs");
        std::fs::create_dir_all(learner.parent().expect("parent")).expect("mkdir");
        std::fs::write(&learner, "fn fixed() {}\n").expect("write");
        let other = folder.path().join("book/src/code.rs");
        std::fs::create_dir_all(other.parent().expect("parent")).expect("mkdir");
        std::fs::write(&other, "// ANCHOR: fix\nfn fix() {}\n// ANCHOR_END: fix\n").expect("w");
        let mut shipped = ShippedFiles::default();
        shipped.insert(&learner, STARTER.to_string());
        let base = folder.path().join("book/src/chapter");
        let markdown = "```rust\n{{#include ../../../exercises/02/src/consumer.rs:starter}}\n```\n\
                        {{ #include ../code.rs:fix }}\n\
                        \\{{#include ../../../exercises/02/src/consumer.rs}}\n\
                        {{#include ../../../exercises/02/src/consumer.rs:2:2}}\n";
        let (rewritten, problems) = resolve_in(markdown, &base, &shipped);
        assert_eq!(problems, Vec::<String>::new());
        assert_eq!(
            rewritten,
            "```rust\n    ack();\n    work();\n```\n{{ #include ../code.rs:fix }}\n\
             \\{{#include ../../../exercises/02/src/consumer.rs}}\n    // ANCHOR: starter\n"
        );
    }

    #[test]
    fn an_anchor_missing_from_the_file_or_the_shipped_starter_is_a_problem() {
        let folder = tempfile::tempdir().expect("temp dir");
        let learner = folder.path().join("exercises/02/src/consumer.rs");
        std::fs::create_dir_all(learner.parent().expect("parent")).expect("mkdir");
        // The learner deleted the anchors: it is the shipped text that counts.
        std::fs::write(&learner, "fn fixed() {}\n").expect("write");
        std::fs::write(
            folder.path().join("code.rs"),
            "// ANCHOR: fix\nfn fix() {}\n",
        )
        .expect("write");
        let mut shipped = ShippedFiles::default();
        shipped.insert(&learner, STARTER.to_string());
        let markdown = "{{#include code.rs:fix}}\n\
                        {{#include exercises/02/src/consumer.rs:starter}}\n\
                        {{#include exercises/02/src/consumer.rs:gone}}\n\
                        {{#include missing.rs:gone}}\n";
        let (_, problems) = resolve_in(markdown, folder.path(), &shipped);
        assert_eq!(problems.len(), 2, "{problems:#?}");
        assert!(
            problems[0].starts_with("`{{#include code.rs:fix}}`: ")
                && problems[0].contains("no `ANCHOR: fix` ... `ANCHOR_END: fix` pair"),
            "{problems:#?}"
        );
        assert!(
            problems[1].starts_with("`{{#include exercises/02/src/consumer.rs:gone}}`")
                && problems[1].contains("as shipped"),
            "{problems:#?}"
        );
    }
}

//! The shape of a chapter that teaches an exercise, checked.
//!
//! Every such chapter (`book/src/<chapter>/index.md`, for each exercise of
//! the catalogue) is written in the same order, so that the learner meets
//! the failure before the theory and tries the exercise before reading its
//! answer:
//!
//! 1. **Time.** Under the title, before the first section, a line
//!    ``**Time:** about N minutes for the exercise `id` `` with N the
//!    catalogue's `minutes`, so the page and `cargo xtask watch` agree. The
//!    exercise's README says the same in its first paragraph (`About N
//!    minutes.`).
//! 2. **Predict, then look.** A visible line starting "Before you read on"
//!    (bold or not, in a quote or not: `**Before you read on:** what ...`)
//!    comes before the first include of the grader's failure diagram
//!    (`figures/<id>-failure.mmd`), which the page must show.
//! 3. **Try before the answer.** Above the section `## Exercise: <id>`, the
//!    exercise's reference solution is not included, and no heading starts
//!    with "The fix", unless inside a collapsed `<details>` block.
//! 4. **A story, not a reference.** A broker table generated from the facts
//!    file (`figures/facts-*.md`) is included only inside a collapsed
//!    `<details>` block; open, such tables belong to the broker reference.
//!
//! A page may teach several exercises (chapter 5: `outbox`, then `cdc`).
//! Each then has its own arc, one after the other, and each is checked on
//! its own: its prompt must come after the previous exercise's failure
//! diagram (the first exercise's prompt does not stand in for the second's),
//! and a heading "The fix" belongs to the nearest `## Exercise: <id>`
//! section above it, so the first exercise's fix may sit before the second
//! exercise's section (unless it names the second exercise).
//!
//! What cannot be checked by reading the Markdown (the opening is a concrete
//! incident or the starter code; a long table written by hand is collapsed
//! too) is the author's to keep. `cargo xtask verify` makes
//! one claim per exercise from [`exercise_shape`]; `cargo xtask book --check`
//! runs [`check_shapes`] on the workshop's book.
//!
//! "Collapsed" is read from the raw lines: between a line that opens
//! `<details` and the line that closes it, outside fenced code.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::Problem;
use super::includes::{self, normalise};
use crate::catalogue::{Catalogue, Exercise};

/// The words that start the time line under a chapter's title.
pub const TIME_MARKER: &str = "**Time:**";
/// The words that start a prediction prompt, as the pages write them.
pub const PREDICTION_MARKER: &str = "**Before you read on:**";
/// What the check looks for: the words, whatever emphasis or quote marks
/// come before them and whatever punctuation after.
const PREDICTION_WORDS: &str = "before you read on";
/// How the broker tables rendered from the facts file are named
/// (`book/src/figures/facts-locks.md`).
const FACTS_TABLE_PREFIX: &str = "facts-";

/// The chapter page of an exercise, relative to the repository root.
pub fn chapter_page(exercise: &Exercise) -> PathBuf {
    Path::new("book/src")
        .join(&exercise.chapter)
        .join("index.md")
}

/// What is wrong with the shape of `exercise`'s chapter in the repository
/// at `root`, one sentence each; empty when it holds. `Err` when the page
/// cannot be read.
pub fn exercise_shape(root: &Path, exercise: &Exercise) -> Result<Vec<String>> {
    let page = chapter_page(exercise);
    let text = std::fs::read_to_string(root.join(&page))
        .with_context(|| format!("cannot read {}", page.display()))?;
    let chapter_dir = root.join(page.parent().unwrap_or(Path::new("")));
    let mut problems = shape_problems(&text, &chapter_dir, root, exercise);
    let readme = Path::new(&exercise.dir).join("README.md");
    let readme_text = std::fs::read_to_string(root.join(&readme))
        .with_context(|| format!("cannot read {}", readme.display()))?;
    problems.extend(readme_minutes_problem(&readme_text, &readme, exercise));
    Ok(problems)
}

/// The exercise's README (which the book includes too) gives its time in
/// its first paragraph, `About N minutes.`; the learner who opens the crate
/// first reads it there, so it must be the catalogue's `minutes` as well.
/// `None` when it is.
pub fn readme_minutes_problem(text: &str, readme: &Path, exercise: &Exercise) -> Option<String> {
    let wanted = exercise.minutes;
    // The text before the first section, its lines joined: Markdown wraps a
    // sentence where it likes ("About 30\nminutes." is one sentence).
    let top = text
        .lines()
        .take_while(|line| !line.starts_with("## "))
        .collect::<Vec<_>>()
        .join(" ");
    let stated = top.split("About ").skip(1).find_map(|after| {
        let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
        let minutes: u32 = digits.parse().ok()?;
        after[digits.len()..]
            .trim_start()
            .starts_with("minutes")
            .then_some(minutes)
    });
    match stated {
        Some(minutes) if minutes == wanted => None,
        Some(minutes) => Some(format!(
            "{} gives the exercise `{}` about {minutes} minutes, the catalogue \
             (exercises/exercises.toml) {wanted}: make them agree",
            readme.display(),
            exercise.id
        )),
        None => Some(format!(
            "{} states no time before its first section: add `About {wanted} minutes.` (the \
             catalogue's `minutes`) to its first paragraph",
            readme.display()
        )),
    }
}

/// [`exercise_shape`] for every exercise of the catalogue of the repository
/// at `root`, as book problems naming the page.
pub fn check_shapes(root: &Path) -> Result<Vec<Problem>> {
    let catalogue = Catalogue::load(root)?;
    let mut problems = Vec::new();
    for exercise in &catalogue.exercises {
        let page = chapter_page(exercise);
        problems.extend(
            exercise_shape(root, exercise)?
                .into_iter()
                .map(|message| Problem {
                    file: page.clone(),
                    message,
                }),
        );
    }
    Ok(problems)
}

/// One line of the page outside fenced code, with what the checks need.
struct Line<'a> {
    /// Byte offset of the line's start in the page.
    start: usize,
    text: &'a str,
    /// Inside a `<details>` block.
    collapsed: bool,
}

/// A heading, `## Exercise: hello-broker`.
struct Heading<'a> {
    start: usize,
    level: usize,
    title: &'a str,
    collapsed: bool,
}

/// The page read line by line: the lines outside fenced code, and for every
/// byte offset whether it is collapsed.
struct Page<'a> {
    lines: Vec<Line<'a>>,
    /// (start of a line, collapsed) for every line, code included, in order.
    collapsed_from: Vec<(usize, bool)>,
}

impl<'a> Page<'a> {
    fn read(text: &'a str) -> Page<'a> {
        let mut lines = Vec::new();
        let mut collapsed_from = Vec::new();
        let mut fence: Option<(char, usize)> = None;
        let mut depth = 0usize;
        let mut start = 0;
        for raw in text.split_inclusive('\n') {
            let line = raw.trim_end_matches(['\n', '\r']);
            let trimmed = line.trim_start();
            collapsed_from.push((start, depth > 0));
            match fence {
                Some((mark, length)) => {
                    let closing = trimmed.chars().take_while(|&c| c == mark).count();
                    if closing >= length && trimmed[closing..].trim().is_empty() {
                        fence = None;
                    }
                }
                None => {
                    if let Some(opened) = fence_opening(trimmed) {
                        fence = Some(opened);
                    } else {
                        // A line that opens a block is inside it; the one
                        // that closes it is too (its text is `</details>`).
                        depth += trimmed.matches("<details").count();
                        lines.push(Line {
                            start,
                            text: line,
                            collapsed: depth > 0,
                        });
                        depth = depth.saturating_sub(trimmed.matches("</details>").count());
                    }
                }
            }
            start += raw.len();
        }
        Page {
            lines,
            collapsed_from,
        }
    }

    fn headings(&self) -> Vec<Heading<'a>> {
        self.lines
            .iter()
            .filter_map(|line| {
                let level = line.text.chars().take_while(|&c| c == '#').count();
                let title = line.text.get(level..)?;
                ((1..=6).contains(&level) && title.starts_with(' ')).then(|| Heading {
                    start: line.start,
                    level,
                    title: title.trim(),
                    collapsed: line.collapsed,
                })
            })
            .collect()
    }

    /// Whether the byte at `offset` is inside a `<details>` block.
    fn collapsed_at(&self, offset: usize) -> bool {
        let index = self
            .collapsed_from
            .partition_point(|(start, _)| *start <= offset);
        index > 0 && self.collapsed_from[index - 1].1
    }
}

/// A fence that opens a code block: three or more backticks or tildes.
fn fence_opening(trimmed: &str) -> Option<(char, usize)> {
    let mark = trimmed.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let length = trimmed.chars().take_while(|&c| c == mark).count();
    (length >= 3).then_some((mark, length))
}

/// The shape problems of one chapter page (`text`, in `chapter_dir`) for
/// one of its exercises; `root` is the repository, to recognise an include
/// of the solution however its path is written.
pub fn shape_problems(
    text: &str,
    chapter_dir: &Path,
    root: &Path,
    exercise: &Exercise,
) -> Vec<String> {
    let page = Page::read(text);
    let headings = page.headings();
    let mut problems = Vec::new();
    let id = &exercise.id;

    // 1. The time line, before the first section.
    let first_section = headings
        .iter()
        .find(|heading| heading.level >= 2)
        .map_or(text.len(), |heading| heading.start);
    let wanted = format!("about {} minutes for the exercise `{id}`", exercise.minutes);
    let time_lines: Vec<&Line> = page
        .lines
        .iter()
        .filter(|line| line.start < first_section && line.text.starts_with(TIME_MARKER))
        .collect();
    if !time_lines.iter().any(|line| line.text.contains(&wanted)) {
        let stated = time_lines
            .iter()
            .find_map(|line| minutes_stated(line.text, id));
        problems.push(match stated {
            Some(minutes) => format!(
                "the time under the title gives the exercise `{id}` about {minutes} minutes, the \
                 catalogue (exercises/exercises.toml) {}: make them agree",
                exercise.minutes
            ),
            None => format!(
                "no time under the title: before the first section, add the line \
                 `{TIME_MARKER} {wanted}` (the catalogue's `minutes`)"
            ),
        });
    }

    // 2. The prediction prompt, then the grader's diagram.
    let figure_name = format!("{id}-failure.mmd");
    let included = includes::find_includes(text);
    let figure = included.iter().find(|include| {
        Path::new(include.path)
            .file_name()
            .is_some_and(|name| name.to_string_lossy() == figure_name)
    });
    match figure {
        None => problems.push(format!(
            "the page never shows the grader's failure diagram: include \
             `../figures/{figure_name}` after a `{PREDICTION_MARKER}` prompt"
        )),
        Some(figure) => {
            // On a page of several exercises, the prompt for this diagram
            // comes after the diagram of the exercise before it.
            let after = included
                .iter()
                .filter(|include| {
                    include.range.start < figure.range.start
                        && Path::new(include.path)
                            .file_name()
                            .is_some_and(|name| name.to_string_lossy().ends_with("-failure.mmd"))
                })
                .map(|include| include.range.end)
                .max()
                .unwrap_or(0);
            let prompted = page.lines.iter().any(|line| {
                line.start >= after
                    && line.start < figure.range.start
                    && !line.collapsed
                    && is_prediction_prompt(line.text)
            });
            if !prompted {
                problems.push(format!(
                    "the failure diagram (`{}`) comes before any prediction prompt{}: ask the \
                     learner what fails, in a visible line starting `{PREDICTION_MARKER}`, \
                     before showing it",
                    figure.text,
                    if after > 0 {
                        " of its own (after the previous exercise's diagram)"
                    } else {
                        ""
                    }
                ));
            }
        }
    }

    // 4 (checked first: it needs no exercise section). Broker tables folded away.
    for include in &included {
        let name = Path::new(include.path)
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with(FACTS_TABLE_PREFIX) && !page.collapsed_at(include.range.start) {
            problems.push(format!(
                "`{}` shows a broker table open in the middle of the chapter: fold it into a \
                 `<details>` block (keeping the lesson in the text), or leave it to the broker \
                 reference",
                include.text
            ));
        }
    }

    // 3. Nothing gives the exercise away before the exercise.
    let exercise_title = format!("Exercise: {id}");
    let exercise_heading = headings.iter().find(|heading| {
        heading.level == 2 && !heading.collapsed && heading.title == exercise_title
    });
    let Some(exercise_heading) = exercise_heading else {
        problems.push(format!(
            "no section `## {exercise_title}`: the exercise needs its own section, and the \
             solution and the fix go after it"
        ));
        return problems;
    };
    let solution = normalise(&root.join(exercise.solution_file()));
    for include in &included {
        let target = normalise(&chapter_dir.join(include.path));
        if target == solution
            && include.range.start < exercise_heading.start
            && !page.collapsed_at(include.range.start)
        {
            problems.push(format!(
                "`{}` shows the reference solution before `## {exercise_title}`: move it after \
                 the exercise, or into a collapsed `<details>` block",
                include.text
            ));
        }
    }
    // A fix under another exercise's section is that exercise's, unless it
    // names this one.
    let belongs_to_another = |heading: &Heading| {
        let owner = headings.iter().rfind(|other| {
            other.level == 2
                && !other.collapsed
                && other.start < heading.start
                && other.title.starts_with("Exercise: ")
        });
        owner.is_some_and(|owner| owner.title != exercise_title)
            && !heading.title.contains(id.as_str())
    };
    for heading in &headings {
        if heading.start < exercise_heading.start
            && !heading.collapsed
            && heading.title.to_lowercase().starts_with("the fix")
            && !belongs_to_another(heading)
        {
            problems.push(format!(
                "the section `{} {}` comes before `## {exercise_title}`: put the fix after the \
                 exercise, or into a collapsed `<details>` block",
                "#".repeat(heading.level),
                heading.title
            ));
        }
    }
    problems
}

/// Whether a line opens a prediction prompt: "Before you read on", after
/// any quote marker or emphasis.
fn is_prediction_prompt(line: &str) -> bool {
    let words =
        line.trim_start_matches(|c: char| c.is_whitespace() || matches!(c, '>' | '*' | '_'));
    words
        .get(..PREDICTION_WORDS.len())
        .is_some_and(|start| start.eq_ignore_ascii_case(PREDICTION_WORDS))
}

/// The minutes a time line gives exercise `id`: the number in the words
/// `about N minutes for the exercise `id``.
fn minutes_stated(line: &str, id: &str) -> Option<u32> {
    let tail = format!(" minutes for the exercise `{id}`");
    let end = line.find(&tail)?;
    let before = line[..end].trim_end();
    let digits = before
        .rsplit(|c: char| !c.is_ascii_digit())
        .next()
        .filter(|digits| !digits.is_empty())?;
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exercise() -> Exercise {
        crate::catalogue::Catalogue::parse(
            r#"
[[exercise]]
id = "ack-ordering"
chapter = "acks"
crate = "ack-ordering"
dir = "exercises/02-ack-ordering"
file = "src/consumer.rs"
solution = "solution/consumer.rs"
minutes = 30
anomalies = ["lost-message"]
lints = []
hints = ["one"]
"#,
            Path::new("exercises.toml"),
        )
        .expect("a valid catalogue")
        .exercises
        .remove(0)
    }

    fn problems(page: &str) -> Vec<String> {
        let root = Path::new("/repo");
        shape_problems(page, &root.join("book/src/acks"), root, &exercise())
    }

    const STARTER: &str =
        "```rust\n{{#include ../../../exercises/02-ack-ordering/src/consumer.rs:starter}}\n```\n";
    const FIGURE: &str = "```mermaid\n{{#include ../figures/ack-ordering-failure.mmd}}\n```\n";
    const SOLUTION: &str = "```rust\n{{#include ../../../exercises/02-ack-ordering/solution/consumer.rs:solution}}\n```\n";

    /// The chapter as the pattern wants it: time, code, prompt, diagram,
    /// theory, exercise, then the fix and the solution.
    fn good_page() -> String {
        format!(
            "# Acks\n\n**Time:** about 30 minutes for the exercise `ack-ordering`.\n\n\
             ## A consumer that loses orders\n\n{STARTER}\n\
             **Before you read on:** what happens if it dies after the receive?\n\n{FIGURE}\n\
             ## Theory\n\nText.\n\n## Exercise: ack-ordering\n\nGo.\n\n## The fix\n\n{SOLUTION}"
        )
    }

    #[test]
    fn a_chapter_in_the_pattern_has_no_problem() {
        assert_eq!(problems(&good_page()), Vec::<String>::new());
    }

    /// The first three chapters before they were reshaped: no time, the
    /// diagram with no prompt, the fix and the solution before the exercise.
    #[test]
    fn theory_first_and_fix_first_is_reported_point_by_point() {
        let page = format!(
            "# Acks\n\nTheory first.\n\n## What the grader saw\n\n{FIGURE}\n## The fix\n\n\
             {SOLUTION}\n## Exercise: ack-ordering\n\nGo.\n"
        );
        let found = problems(&page);
        assert_eq!(found.len(), 4, "{found:#?}");
        assert!(
            found[0].contains("no time under the title")
                && found[0]
                    .contains("`**Time:** about 30 minutes for the exercise `ack-ordering``"),
            "{found:#?}"
        );
        assert!(
            found[1].contains("comes before any prediction prompt"),
            "{found:#?}"
        );
        assert!(
            found[2].contains("shows the reference solution before `## Exercise: ack-ordering`"),
            "{found:#?}"
        );
        assert!(
            found[3].contains("the section `## The fix` comes before"),
            "{found:#?}"
        );
    }

    #[test]
    fn the_readme_must_give_the_catalogues_minutes() {
        let readme = Path::new("exercises/02-ack-ordering/README.md");
        let page = "# Exercise 2\n\nChapter 3 of the book. About 30 minutes.\n\n## What to edit\n";
        assert_eq!(readme_minutes_problem(page, readme, &exercise()), None);
        // A sentence wrapped across two lines is still read.
        let wrapped = page.replace("About 30 minutes.", "About 30\nminutes.");
        assert_eq!(readme_minutes_problem(&wrapped, readme, &exercise()), None);
        let stale = readme_minutes_problem(&page.replace("30", "45"), readme, &exercise())
            .expect("45 minutes against the catalogue's 30");
        assert!(stale.contains("about 45 minutes, the catalogue"), "{stale}");
        // A time stated only further down does not count: the learner reads
        // the first paragraph.
        let missing = "# Exercise 2\n\n## What to edit\n\nAbout 30 minutes.\n";
        let found = readme_minutes_problem(missing, readme, &exercise()).expect("no time up top");
        assert!(found.contains("states no time"), "{found}");
    }

    #[test]
    fn minutes_that_differ_from_the_catalogue_are_named() {
        let page = good_page().replace("about 30 minutes", "about 45 minutes");
        let found = problems(&page);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(
            found[0].contains("about 45 minutes, the catalogue (exercises/exercises.toml) 30"),
            "{found:#?}"
        );
        // After the first section, a time line does not count.
        let page = good_page().replace(
            "**Time:** about 30 minutes for the exercise `ack-ordering`.\n\n## A consumer that loses orders\n",
            "## A consumer that loses orders\n\n**Time:** about 30 minutes for the exercise `ack-ordering`.\n",
        );
        assert!(problems(&page)[0].contains("no time under the title"));
    }

    #[test]
    fn a_prompt_after_the_diagram_or_hidden_does_not_count_and_the_diagram_is_required() {
        let after = good_page().replace(
            &format!(
                "**Before you read on:** what happens if it dies after the receive?\n\n{FIGURE}"
            ),
            &format!("{FIGURE}\n**Before you read on:** too late.\n"),
        );
        let found = problems(&after);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(found[0].contains("comes before any prediction prompt"));

        let hidden = good_page().replace(
            "**Before you read on:** what happens if it dies after the receive?\n",
            "<details>\n\n**Before you read on:** hidden.\n\n</details>\n",
        );
        assert_eq!(problems(&hidden).len(), 1);

        let without = good_page().replace(FIGURE, "");
        let found = problems(&without);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(
            found[0].contains("never shows the grader's failure diagram"),
            "{found:#?}"
        );
    }

    #[test]
    fn the_fix_and_the_solution_may_come_early_if_collapsed() {
        let page = good_page().replace(
            "## Theory\n",
            &format!(
                "<details>\n<summary>A peek</summary>\n\n### The fix, early\n\n{SOLUTION}\n\
                 </details>\n\n## Theory\n"
            ),
        );
        assert_eq!(problems(&page), Vec::<String>::new());
        // The same, open: two problems.
        let open = page
            .replace("<details>\n<summary>A peek</summary>\n", "")
            .replace("</details>\n", "");
        assert_eq!(problems(&open).len(), 2, "{:#?}", problems(&open));
    }

    #[test]
    fn a_broker_table_must_be_folded() {
        let table = "{{#include ../figures/facts-time-limits.md}}\n";
        let open = good_page().replace("Text.\n", &format!("Text.\n\n{table}"));
        let found = problems(&open);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(
            found[0].contains("facts-time-limits.md}}` shows a broker table open"),
            "{found:#?}"
        );
        let folded = good_page().replace(
            "Text.\n",
            &format!("Text.\n\n<details>\n<summary>Limits</summary>\n\n{table}\n</details>\n"),
        );
        assert_eq!(problems(&folded), Vec::<String>::new());
    }

    #[test]
    fn headings_and_markers_inside_code_blocks_are_not_read() {
        let page = good_page().replace(
            "## Theory\n",
            "```text\n## The fix\n<details>\n```\n\n## Theory\n",
        );
        assert_eq!(problems(&page), Vec::<String>::new());
    }

    /// A second exercise on the page, `ack-ordering` after `first-one`.
    const FIRST: &str = "```mermaid\n{{#include ../figures/first-one-failure.mmd}}\n```\n";

    /// Two arcs one after the other: `first-one`'s (prompt, diagram,
    /// exercise, fix), then `ack-ordering`'s.
    fn two_exercise_page() -> String {
        format!(
            "# Two\n\n**Time:** about 20 minutes for the exercise `first-one`, and about 30 \
             minutes for the exercise `ack-ordering`.\n\n\
             ## The first\n\n**Before you read on:** what fails first?\n\n{FIRST}\n\
             ## Exercise: first-one\n\nGo.\n\n## The fix\n\nFolded.\n\n\
             ## The second\n\n{STARTER}\n**Before you read on:** and now?\n\n{FIGURE}\n\
             ## Exercise: ack-ordering\n\nGo.\n\n## The fix: ack-ordering\n\n{SOLUTION}"
        )
    }

    #[test]
    fn a_page_of_two_exercises_checks_each_arc_on_its_own() {
        assert_eq!(problems(&two_exercise_page()), Vec::<String>::new());
        // The first exercise's prompt does not stand in for the second's.
        let one_prompt = two_exercise_page().replace("**Before you read on:** and now?\n", "");
        let found = problems(&one_prompt);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(
            found[0].contains("before any prediction prompt of its own"),
            "{found:#?}"
        );
        // The first exercise's fix may precede the second's section; a fix
        // that names the second exercise, or one before any exercise, may not.
        let named = two_exercise_page().replace(
            "## The fix\n\nFolded.",
            "## The fix for ack-ordering\n\nEarly.",
        );
        let found = problems(&named);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(
            found[0].contains("`## The fix for ack-ordering` comes before"),
            "{found:#?}"
        );
        let before_any = two_exercise_page().replace(
            "## The first\n",
            "## The fix, first of all\n\nText.\n\n## The first\n",
        );
        let found = problems(&before_any);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(
            found[0].contains("`## The fix, first of all`"),
            "{found:#?}"
        );
    }

    #[test]
    fn a_chapter_without_its_exercise_section_says_so() {
        let page = good_page().replace("## Exercise: ack-ordering", "## Exercise");
        let found = problems(&page);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(found[0].contains("no section `## Exercise: ack-ordering`"));
    }

    /// The workshop's own chapters follow the pattern (the claim `verify`
    /// makes per exercise, here without grading anything).
    #[test]
    fn the_workshops_chapters_have_the_chapter_shape() {
        let problems = check_shapes(&crate::workspace::root()).expect("the pages can be read");
        let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert!(problems.is_empty(), "{shown:#?}");
    }

    #[test]
    fn a_prediction_prompt_is_read_whatever_its_emphasis() {
        for prompt in [
            "**Before you read on:** what fails?",
            "Before you read on, decide:",
            "> *Before you read on*: what fails?",
            "before you read on: guess",
        ] {
            assert!(is_prediction_prompt(prompt), "{prompt}");
        }
        for other in ["Read on before you decide.", "**Before** you go", ""] {
            assert!(!is_prediction_prompt(other), "{other}");
        }
    }

    #[test]
    fn the_minutes_are_read_from_the_time_line() {
        assert_eq!(
            minutes_stated("**Time:** about 25 minutes for the exercise `x`.", "x"),
            Some(25)
        );
        assert_eq!(
            minutes_stated("**Time:** some minutes for the exercise `x`", "x"),
            None
        );
        assert_eq!(
            minutes_stated("**Time:** about 25 minutes for the exercise `y`", "x"),
            None
        );
    }
}

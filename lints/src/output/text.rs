//! `text`: rustc-style diagnostics with the source snippet, rendered by
//! annotate-snippets (the renderer rustc's own output is modelled on).

use annotate_snippets::{AnnotationKind, Level, Origin, Renderer, Snippet};

use super::{Context, Entry, display_path, help_url, summary};
use crate::finding::{Region, Severity};
use crate::source::LineIndex;

pub fn render(entries: &[Entry<'_>], context: &Context<'_>) -> String {
    let renderer = if context.color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    let mut out = String::new();
    for entry in entries {
        out.push_str(&render_one(entry, context, &renderer));
        out.push_str("\n\n");
    }
    out.push_str(&summary(entries, context.report));
    out
}

fn render_one(entry: &Entry<'_>, context: &Context<'_>, renderer: &Renderer) -> String {
    let f = entry.finding;
    let level = match entry.severity {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
    };
    let path = display_path(entry.path);
    let title = level.primary_title(f.message.as_str()).id(f.rule);
    let see = format!(
        "`eda-lint rule {}` explains this; the chapter: {}",
        f.rule,
        help_url(context.book_url, f.rule)
    );
    let mut group = match entry.source {
        Some(source) => {
            let index = LineIndex::new(source);
            let mut snippet = Snippet::source(source.as_ref())
                .path(path.as_str())
                .annotation(AnnotationKind::Primary.span(byte_range(&index, f.region)));
            for label in f.labels.iter().filter(|label| label.path.is_none()) {
                snippet = snippet.annotation(
                    AnnotationKind::Context
                        .span(byte_range(&index, label.region))
                        .label(label.message.as_str()),
                );
            }
            title.element(snippet)
        }
        None => title.element(
            Origin::path(path.as_str())
                .line(f.region.start.line)
                .char_column(f.region.start.column),
        ),
    };
    // A label in another file (a helper elsewhere in the crate) cannot be
    // drawn on this file's snippet: it is a note with its place.
    let elsewhere: Vec<String> = f
        .labels
        .iter()
        .filter_map(|label| {
            let path = label.path.as_ref()?;
            Some(format!(
                "{}: {}:{}:{}",
                label.message,
                display_path(path),
                label.region.start.line,
                label.region.start.column
            ))
        })
        .collect();
    for note in &elsewhere {
        group = group.element(Level::NOTE.message(note.as_str()));
    }
    if let Some(help) = &f.help {
        group = group.element(Level::HELP.message(help.as_str()));
    }
    group = group.element(Level::NOTE.message(see));
    renderer.render(&[group]).to_string()
}

/// The byte range of a region, at least one character wide when the text
/// allows, so the caret has something to point at.
fn byte_range(index: &LineIndex<'_>, region: Region) -> std::ops::Range<usize> {
    let start = index.offset(region.start);
    let mut end = index.offset(region.end).max(start);
    if end == start {
        end = index.text()[start..]
            .chars()
            .next()
            .filter(|c| *c != '\n')
            .map_or(start, |c| start + c.len_utf8());
    }
    start..end
}

//! `json`: a list of findings, one object each, for scripts.
//!
//! Fields: `rule`, `path`, `line`, `column`, `end_line`, `end_column`
//! (1-based, columns in characters, end exclusive), `severity`, `message`,
//! `help` (or null), `confidence` (`low`/`medium`/`high`), `labels` (other
//! places that explain the finding, each with its `path`: a helper in
//! another file of the crate), `fingerprint` (content-based, stable
//! across line moves) and `url` (the chapter that explains the rule).

use serde_json::{Value, json};

use super::{Context, Entry, display_path, help_url, severity_word};

pub fn render(entries: &[Entry<'_>], context: &Context<'_>) -> String {
    let list: Vec<Value> = entries
        .iter()
        .map(|entry| finding(entry, context))
        .collect();
    let mut out = serde_json::to_string_pretty(&list).unwrap_or_else(|_| String::from("[]"));
    out.push('\n');
    out
}

fn finding(entry: &Entry<'_>, context: &Context<'_>) -> Value {
    let f = entry.finding;
    json!({
        "rule": f.rule,
        "path": display_path(entry.path),
        "line": f.region.start.line,
        "column": f.region.start.column,
        "end_line": f.region.end.line,
        "end_column": f.region.end.column,
        "severity": severity_word(entry.severity),
        "message": f.message,
        "help": f.help,
        "confidence": f.confidence,
        "labels": f.labels.iter().map(|label| json!({
            "path": display_path(label.path.as_deref().unwrap_or(entry.path)),
            "line": label.region.start.line,
            "column": label.region.start.column,
            "end_line": label.region.end.line,
            "end_column": label.region.end.column,
            "message": label.message,
        })).collect::<Vec<_>>(),
        "fingerprint": entry.fingerprint,
        "url": help_url(context.book_url, f.rule),
    })
}

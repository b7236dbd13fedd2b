//! Rendering a run's findings in each output format.
//!
//! Every format renders the same flat list of [`Entry`]s, built once per
//! run in a deterministic order (path, then position, then rule, then
//! message), so two runs on the same input print the same bytes.
//!
//! | format | for |
//! | --- | --- |
//! | `text` | people: rustc-style, with the source snippet |
//! | `concise` | people and grep: one line per finding |
//! | `json` | scripts: a list of findings |
//! | `sarif` | code scanning (SARIF 2.1.0) |
//! | `github` | GitHub Actions annotations (workflow commands) |
//! | `rustc-json` | rust-analyzer's `check.overrideCommand`: cargo's JSON messages |

mod concise;
mod github;
mod json;
mod rustc_json;
mod sarif;
mod text;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::baseline;
use crate::config::Config;
use crate::finding::{Finding, Severity};
use crate::run::RunReport;

/// An output format, as named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// rustc-style, with the source snippet.
    Text,
    /// One line per finding: `path:line:column: severity[rule] message`.
    Concise,
    /// A JSON list of findings.
    Json,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
    /// GitHub Actions workflow commands (annotations on the pull request).
    Github,
    /// cargo's JSON messages wrapping rustc diagnostics, for rust-analyzer.
    RustcJson,
}

/// Where the book is served. `cargo xtask serve` and `mdbook serve` serve
/// it here by default; `--book-url` points elsewhere (a published copy).
pub const DEFAULT_BOOK_URL: &str = "http://localhost:3000/";

/// One finding ready to render.
pub struct Entry<'a> {
    pub finding: &'a Finding,
    /// The path as the user sees it (as walked, `./` removed).
    pub path: &'a Path,
    /// The path relative to the project root, `/`-separated: SARIF URIs
    /// and baselines use it.
    pub key_path: String,
    pub severity: Severity,
    /// The content-based fingerprint (see [`crate::baseline`]).
    pub fingerprint: String,
    /// The file's text, when it could be read.
    pub source: Option<&'a Arc<str>>,
}

/// Everything a renderer needs beyond the entries.
pub struct Context<'a> {
    pub config: &'a Config,
    pub report: &'a RunReport,
    /// Where links to the book's chapters start.
    pub book_url: &'a str,
    /// Whether `text` may use colour.
    pub color: bool,
    /// The folder SARIF URIs are relative to (the repository root).
    pub project_root: PathBuf,
}

/// The entries of a run, in output order.
pub fn entries<'a>(report: &'a RunReport, config: &Config) -> Vec<Entry<'a>> {
    let mut entries = Vec::new();
    for file in &report.files {
        let key_path = baseline::key_path(config, &file.report.path);
        let all = file.report.all();
        let fingerprints = baseline::fingerprints(&key_path, &all, file.source.as_deref());
        for (finding, fingerprint) in all.into_iter().zip(fingerprints) {
            entries.push(Entry {
                finding,
                path: &file.report.path,
                key_path: key_path.clone(),
                severity: config.severity_of(finding.rule),
                fingerprint,
                source: file.source.as_ref(),
            });
        }
    }
    entries
}

/// Renders the run in one format.
pub fn render(format: Format, context: &Context<'_>) -> String {
    let entries = entries(context.report, context.config);
    match format {
        Format::Text => text::render(&entries, context),
        Format::Concise => concise::render(&entries, context),
        Format::Json => json::render(&entries, context),
        Format::Sarif => sarif::render(&entries, context),
        Format::Github => github::render(&entries),
        Format::RustcJson => rustc_json::render(&entries),
    }
}

/// The documentation link of a rule or diagnostic: the book chapter for a
/// rule, the linter chapter for the tool's own diagnostics.
pub fn help_url(book_url: &str, rule: &str) -> String {
    let chapter = crate::rules::by_name(rule).map_or("linter/index.html", |rule| rule.chapter);
    let base = book_url.trim_end_matches('/');
    format!("{base}/{chapter}")
}

/// A rule's documentation as Markdown: doc comments keep the space after
/// `///`, which would indent every line.
pub fn doc_text(doc: &str) -> String {
    doc.lines()
        .map(|line| line.strip_prefix(' ').unwrap_or(line))
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}

/// `warning` or `error`.
pub fn severity_word(severity: Severity) -> &'static str {
    match severity {
        Severity::Warning => "warning",
        Severity::Error => "error",
    }
}

/// The closing summary line of the human formats.
pub fn summary(entries: &[Entry<'_>], report: &RunReport) -> String {
    let errors = entries
        .iter()
        .filter(|e| e.severity == Severity::Error)
        .count();
    let warnings = entries.len() - errors;
    let files = {
        let mut paths: Vec<&Path> = entries.iter().map(|e| e.path).collect();
        paths.dedup();
        paths.len()
    };
    let mut skipped = if report.files_skipped > 0 {
        format!(" ({} skipped by the pre-filter)", report.files_skipped)
    } else {
        String::new()
    };
    if report.tests_skipped > 0 {
        skipped.push_str(&format!(
            "; {} test {} not linted (--include-tests lints {})",
            report.tests_skipped,
            plural(report.tests_skipped, "file", "files"),
            plural(report.tests_skipped, "it", "them"),
        ));
    }
    // The noun agrees with the number it follows ("1 of 1 file", "1 of 2
    // files").
    let checked = format!(
        "{} {}",
        report.files_checked,
        plural(report.files_checked, "file", "files")
    );
    if entries.is_empty() {
        format!("eda-lint: no findings in {checked}{skipped}\n")
    } else {
        format!(
            "eda-lint: {} {} ({errors} {}, {warnings} {}) in {files} of {checked}{skipped}\n",
            entries.len(),
            plural(entries.len(), "finding", "findings"),
            plural(errors, "error", "errors"),
            plural(warnings, "warning", "warnings"),
        )
    }
}

/// `one` for 1, `many` for any other count.
pub fn plural(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}

/// The path as shown to people: `/`-separated on every platform, so
/// snapshots and CI logs agree.
pub fn display_path(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

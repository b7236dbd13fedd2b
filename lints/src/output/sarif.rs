//! `sarif`: SARIF 2.1.0 for code scanning (GitHub, GitLab, Azure DevOps).
//!
//! - One run, tool `eda-lint`, with metadata for every rule and diagnostic
//!   (`shortDescription`, `fullDescription`, `help`, `helpUri`, default level).
//! - URIs are relative to the repository root (`uriBaseId` `%SRCROOT%`,
//!   declared in `originalUriBaseIds`), which is how code scanning expects them.
//! - `columnKind` is stated: our columns count Unicode code points.
//! - `partialFingerprints` carry the content-based key of [`crate::baseline`],
//!   so an alert follows its code when lines move.
//! - Results are capped at [`MAX_RESULTS`] (GitHub's limit per run); the run
//!   says so in a notification when the cap is hit.

use serde_json::{Value, json};

use super::{Context, Entry, help_url, severity_word};
use crate::diagnostics::TOOL_DIAGNOSTICS;
use crate::finding::Severity;
use crate::rules::RULES;

/// GitHub code scanning accepts at most this many results per run.
pub const MAX_RESULTS: usize = 5_000;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

pub fn render(entries: &[Entry<'_>], context: &Context<'_>) -> String {
    let mut rules: Vec<Value> = RULES
        .iter()
        .map(|rule| {
            let mut descriptor = descriptor(
                rule.name,
                rule.summary,
                rule.doc,
                rule.default_severity,
                context,
            );
            // An opt-in rule is off unless the run names it: SARIF's own
            // word for that is a default configuration that is not enabled.
            if rule.opt_in {
                descriptor["defaultConfiguration"]["enabled"] = json!(false);
            }
            descriptor
        })
        .collect();
    rules.extend(
        TOOL_DIAGNOSTICS
            .iter()
            .map(|d| descriptor(d.name, d.summary, d.summary, d.severity, context)),
    );
    let rule_index = |name: &str| {
        RULES
            .iter()
            .map(|r| r.name)
            .chain(TOOL_DIAGNOSTICS.iter().map(|d| d.name))
            .position(|n| n == name)
    };
    let results: Vec<Value> = entries
        .iter()
        .take(MAX_RESULTS)
        .map(|entry| result(entry, rule_index(entry.finding.rule), context))
        .collect();
    let mut notifications = Vec::new();
    if entries.len() > MAX_RESULTS {
        notifications.push(json!({
            "level": "warning",
            "message": { "text": format!(
                "{} results; only the first {MAX_RESULTS} are included (code scanning's limit)",
                entries.len()
            )},
        }));
    }
    let root = format!(
        "file://{}/",
        percent_encode(&context.project_root.to_string_lossy()).trim_end_matches('/')
    );
    let log = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "eda-lint",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": help_url(context.book_url, "linter"),
                "rules": rules,
            }},
            "originalUriBaseIds": { "%SRCROOT%": { "uri": root } },
            "columnKind": "unicodeCodePoints",
            "invocations": [{
                // False when some file could not be analysed at all.
                "executionSuccessful": !context.report.reports().any(|r| r.is_fatal()),
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
        }],
    });
    let mut out = serde_json::to_string_pretty(&log).unwrap_or_default();
    out.push('\n');
    out
}

fn level(severity: Severity) -> &'static str {
    severity_word(severity)
}

fn descriptor(
    name: &str,
    summary: &str,
    doc: &str,
    severity: Severity,
    context: &Context<'_>,
) -> Value {
    json!({
        "id": name,
        "name": name,
        "shortDescription": { "text": summary },
        "fullDescription": { "text": summary },
        "help": { "text": super::doc_text(doc), "markdown": super::doc_text(doc) },
        "helpUri": help_url(context.book_url, name),
        "defaultConfiguration": { "level": level(severity) },
    })
}

fn result(entry: &Entry<'_>, rule_index: Option<usize>, context: &Context<'_>) -> Value {
    let f = entry.finding;
    let mut message = f.message.clone();
    if let Some(help) = &f.help {
        message.push_str("\nhelp: ");
        message.push_str(help);
    }
    let location_in = |key_path: &str, region: crate::finding::Region| {
        json!({
            "artifactLocation": { "uri": percent_encode(key_path), "uriBaseId": "%SRCROOT%" },
            "region": {
                "startLine": region.start.line,
                "startColumn": region.start.column,
                "endLine": region.end.line.max(region.start.line),
                "endColumn": region.end.column.max(1),
            },
        })
    };
    let mut value = json!({
        "ruleId": f.rule,
        "level": level(entry.severity),
        "message": { "text": message },
        "locations": [{ "physicalLocation": location_in(&entry.key_path, f.region) }],
        "partialFingerprints": { "edaLint/v1": entry.fingerprint },
        "properties": { "confidence": f.confidence },
    });
    if let Some(index) = rule_index {
        value["ruleIndex"] = json!(index);
    }
    if !f.labels.is_empty() {
        value["relatedLocations"] = f
            .labels
            .iter()
            .enumerate()
            .map(|(id, label)| {
                // A helper in another file of the crate: its own URI.
                let key_path = label.path.as_deref().map_or_else(
                    || entry.key_path.clone(),
                    |path| crate::baseline::key_path(context.config, path),
                );
                json!({
                    "id": id,
                    "physicalLocation": location_in(&key_path, label.region),
                    "message": { "text": label.message },
                })
            })
            .collect();
    }
    value
}

/// Encodes the characters a URI cannot hold as they are (spaces, `%`, `#`,
/// `?` and non-ASCII); `/` stays a separator.
fn percent_encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

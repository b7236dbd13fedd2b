//! Suppression comments through the library entry point, with a real rule
//! (`local-time`, whose `Local::now()` finding is the simplest to provoke).

use std::path::Path;

use eda_lint::{Config, FileReport, lint_source};

fn lint(text: &str) -> FileReport {
    lint_source(Path::new("src/lib.rs"), text, &Config::default())
}

fn rules(report: &FileReport) -> Vec<(usize, &'static str)> {
    report
        .all()
        .into_iter()
        .map(|f| (f.region.start.line, f.rule))
        .collect()
}

const STAMP: &str =
    "use chrono::Local;\n#[derive(serde::Serialize)]\npub struct Event { pub at: String }\n";

#[test]
fn the_unsuppressed_code_fires() {
    let text = format!(
        "{STAMP}pub fn make() -> Event {{\n    Event {{ at: Local::now().to_rfc3339() }}\n}}\n"
    );
    assert_eq!(rules(&lint(&text)), [(5, "local-time")]);
}

#[test]
fn an_own_line_allow_covers_the_whole_next_item() {
    let text = format!(
        "{STAMP}// eda-lint: allow(local-time) -- shown to the operator only\npub fn make() -> Event {{\n    Event {{ at: Local::now().to_rfc3339() }}\n}}\n"
    );
    assert_eq!(rules(&lint(&text)), []);
}

#[test]
fn an_own_line_allow_covers_only_the_next_item() {
    let text = format!(
        "{STAMP}// eda-lint: allow(local-time) -- shown to the operator only\npub fn make() -> Event {{\n    Event {{ at: Local::now().to_rfc3339() }}\n}}\npub fn other() -> Event {{\n    Event {{ at: Local::now().to_rfc3339() }}\n}}\n"
    );
    assert_eq!(rules(&lint(&text)), [(9, "local-time")]);
}

#[test]
fn a_trailing_allow_covers_its_line() {
    let text = format!(
        "{STAMP}pub fn make() -> Event {{\n    Event {{ at: Local::now().to_rfc3339() }} // eda-lint: allow(local-time) -- display only\n}}\n"
    );
    assert_eq!(rules(&lint(&text)), []);
}

#[test]
fn an_allow_file_covers_everything() {
    let text = format!(
        "// eda-lint: allow-file(local-time) -- a demo of the mistake for the book\n{STAMP}pub fn make() -> Event {{\n    Event {{ at: Local::now().to_rfc3339() }}\n}}\n"
    );
    assert_eq!(rules(&lint(&text)), []);
}

#[test]
fn an_allow_that_suppresses_nothing_is_reported_where_the_rule_is_named() {
    let text =
        "// eda-lint: allow(local-time) -- stale\npub fn add(a: u32, b: u32) -> u32 { a + b }\n";
    let report = lint(text);
    assert_eq!(rules(&report), [(1, "unused-suppression")]);
    assert_eq!(report.diagnostics[0].region.start.column, 20);
}

#[test]
fn an_allow_of_a_rule_that_did_not_run_is_not_judged() {
    let text =
        "// eda-lint: allow(local-time) -- stale\npub fn add(a: u32, b: u32) -> u32 { a + b }\n";
    let table: toml::Table = "ignore = [\"local-time\"]".parse().expect("TOML");
    let config =
        Config::from_table(&table, Path::new("eda-lint.toml"), Path::new(".")).expect("config");
    let report = lint_source(Path::new("src/lib.rs"), text, &config);
    assert_eq!(rules(&report), []);
}

#[test]
fn an_allow_in_a_file_that_did_not_fully_parse_is_not_judged_unused() {
    // Its finding may be in the part that could not be read.
    let text = "// eda-lint: allow-file(local-time) -- legacy\nfn broken(x: ) { let t = chrono::Local::now(); }\n";
    assert_eq!(rules(&lint(text)), [(2, "parse-error")]);
}

#[test]
fn a_suppression_in_a_string_is_not_a_suppression() {
    let text = format!(
        "{STAMP}pub fn make() -> Event {{\n    let _doc = \"// eda-lint: allow(local-time) -- no\";\n    Event {{ at: Local::now().to_rfc3339() }}\n}}\n"
    );
    assert_eq!(rules(&lint(&text)), [(6, "local-time")]);
}

#[test]
fn a_parse_error_cannot_be_suppressed() {
    let text = "// eda-lint: allow(parse-error) -- no\nfn broken(x: ) {}\n";
    let report = lint(text);
    assert_eq!(
        rules(&report),
        [(1, "unknown-rule-in-suppression"), (2, "parse-error")]
    );
}

#[test]
fn findings_are_sorted_and_deterministic() {
    let text = format!(
        "{STAMP}pub fn b() -> Event {{ Event {{ at: Local::now().to_rfc3339() }} }}\npub fn a() -> Event {{ Event {{ at: Local::now().to_rfc3339() }} }}\n"
    );
    let first = lint(&text);
    assert_eq!(first, lint(&text));
    let lines: Vec<usize> = first.findings.iter().map(|f| f.region.start.line).collect();
    let mut sorted = lines.clone();
    sorted.sort();
    assert_eq!(lines, sorted);
}

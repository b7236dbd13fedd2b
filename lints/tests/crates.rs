//! The crate-wide pass on small crates: `tests/fixtures/crates/<name>/` is
//! a package (a `Cargo.toml` and a `src/` tree, never built) whose files
//! mark the lines that must be reported with `//~ <rule>`, as the one-file
//! fixtures do.
//!
//! Each crate is checked three ways:
//!
//! - as a folder (`eda-lint check DIR`): every marked line in every file is
//!   reported, and nothing else;
//! - file by file (`eda-lint check FILE`): the crate around the file is
//!   read for its summaries, and only that file's findings come back;
//! - each file's text alone (no crate around it): at least one marked
//!   finding of the crate is then missed, which is what the crate-wide pass
//!   adds (the fixture would not show anything otherwise).
//!
//! The findings, with their labels and the files those point into, are
//! snapshotted.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use eda_lint::Config;
use eda_lint::finding::Finding;
use eda_lint::run::{RunOptions, lint_paths};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/crates")
        .join(name)
}

/// Every `.rs` file of a fixture crate, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("fixture folder").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// `(line, rule)` pairs marked with `//~ rule`.
fn expected(source: &str) -> BTreeSet<(usize, String)> {
    source
        .lines()
        .enumerate()
        .flat_map(|(index, line)| {
            line.split("//~").skip(1).flat_map(move |marks| {
                marks
                    .split_whitespace()
                    .map(move |mark| (index + 1, mark.trim_end_matches(',').to_string()))
            })
        })
        .collect()
}

fn found(findings: &[Finding]) -> BTreeSet<(usize, String)> {
    findings
        .iter()
        .map(|f| (f.region.start.line, f.rule.to_string()))
        .collect()
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

fn render(root: &Path, path: &Path, findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|finding| {
            let mut line = format!(
                "{}:{}:{} {} [{:?}] {}",
                relative(root, path),
                finding.region.start.line,
                finding.region.start.column,
                finding.rule,
                finding.confidence,
                finding.message
            );
            for label in &finding.labels {
                let file = label
                    .path
                    .as_deref()
                    .map_or_else(|| relative(root, path), |other| relative(root, other));
                line.push_str(&format!(
                    "\n    {file}:{}:{} {}",
                    label.region.start.line, label.region.start.column, label.message
                ));
            }
            line
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn check_crate(name: &str) {
    let root = fixture(name);
    let config = Config::default();
    let options = RunOptions::default();
    let files = rust_files(&root);
    assert!(!files.is_empty(), "{name}: no files");

    // As a folder.
    let run = lint_paths(std::slice::from_ref(&root), &config, &options);
    let mut snapshot = Vec::new();
    let mut alone_missed = 0;
    for file in &files {
        let source = std::fs::read_to_string(file).expect("fixture file");
        let want = expected(&source);
        let report = run
            .reports()
            .find(|report| report.path == *file)
            .unwrap_or_else(|| panic!("{}: not linted", file.display()));
        assert!(
            !report.is_incomplete(),
            "{}: {:#?}",
            file.display(),
            report.diagnostics
        );
        assert_eq!(
            found(&report.findings),
            want,
            "{}: findings (left) differ from the //~ marks (right):\n{}",
            file.display(),
            render(&root, file, &report.findings)
        );
        snapshot.push(render(&root, file, &report.findings));

        // As `check FILE`: the same findings, only this file's.
        let single = lint_paths(std::slice::from_ref(file), &config, &options);
        assert_eq!(
            single.files.len(),
            1,
            "{}: only the file is reported",
            file.display()
        );
        assert_eq!(
            found(&single.files[0].report.findings),
            want,
            "{}: `check FILE` differs from the folder run",
            file.display()
        );

        // The text alone, with no crate around it.
        let alone = eda_lint::lint_source(file, &source, &config);
        alone_missed += want.difference(&found(&alone.findings)).count();
    }
    assert!(
        alone_missed > 0,
        "{name}: every finding is also found file by file; the fixture shows nothing of the crate-wide pass"
    );
    insta::assert_snapshot!(
        format!("crate-{name}"),
        snapshot
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn lapin_helpers_publish_and_build_properties_in_other_files() {
    check_crate("lapin-helpers");
}

#[test]
fn a_helper_that_commits_before_its_caller_writes_is_an_ack_before_processing() {
    check_crate("kafka-read-message");
}

#[test]
fn a_commit_then_a_publish_through_state_traits_and_job_lists_is_a_dual_write() {
    check_crate("service-plumbing");
}

#[test]
fn kafka_offset_facts_count_wherever_in_the_crate_they_are_written() {
    check_crate("kafka-offsets");
}

#[test]
fn mqtt_options_and_the_subscription_in_different_modules_are_judged_together() {
    check_crate("mqtt-options");
}

#[test]
fn an_mqtt_client_subscribed_through_a_helper_acks_and_a_publish_only_one_does_not() {
    check_crate("mqtt-relay");
}

#[test]
fn a_helper_in_a_sibling_crate_of_the_workspace_is_followed() {
    check_crate("workspace-siblings");
}

#[test]
fn a_helper_whose_every_caller_hands_it_an_identified_reply_is_not_reported() {
    check_crate("nats-reply-helpers");
}

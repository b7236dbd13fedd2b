//! The `eda-lint` command line, run as users run it: exit codes, every
//! output format, config errors, suppressions and baselines.
//!
//! Each test builds a small project in a temporary folder and runs the real
//! binary in it, so paths in the output are relative and snapshots stable.

use std::path::Path;
use std::process::{Command, Output};

/// A throw-away project folder.
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("a temporary folder");
        Project { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn file(&self, relative: &str, text: impl AsRef<[u8]>) -> &Self {
        let path = self.path().join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create folders");
        }
        std::fs::write(path, text).expect("write file");
        self
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_eda-lint"))
            .args(args)
            .current_dir(self.path())
            .env("NO_COLOR", "1")
            .output()
            .expect("run eda-lint")
    }

    /// Output with the temporary folder's path replaced by `[ROOT]`.
    fn redact(&self, text: &str) -> String {
        let root = self.path().to_string_lossy().into_owned();
        let canonical = self
            .path()
            .canonicalize()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|_| root.clone());
        text.replace(&canonical, "[ROOT]").replace(&root, "[ROOT]")
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn code(output: &Output) -> i32 {
    output
        .status
        .code()
        .expect("exited normally, not by a signal")
}

/// Code that every format renders: suppression diagnostics, a parse error
/// with recovery, and event code for the rules (a local-time timestamp in
/// an event, an ack before the work).
const HANDLER: &str = r#"use chrono::Local;
use serde::Serialize;

#[derive(Serialize)]
pub struct OrderPlaced {
    pub order_id: String,
    pub at: chrono::DateTime<Local>,
}

pub fn stamp() -> OrderPlaced {
    OrderPlaced { order_id: String::from("o-1"), at: Local::now() }
}

// eda-lint: allow(local-tme)
pub fn helper() {}

fn broken(x: ) {}

pub fn after_the_broken_one() {}
"#;

fn sample() -> Project {
    let project = Project::new();
    project.file("src/handler.rs", HANDLER).file(
        "src/clean.rs",
        "pub fn add(a: u32, b: u32) -> u32 { a + b }\n",
    );
    project
}

#[test]
fn a_clean_folder_exits_0() {
    let project = Project::new();
    project.file(
        "src/lib.rs",
        "pub fn add(a: u32, b: u32) -> u32 { a + b }\n",
    );
    let output = project.run(&["check"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_eq!(stdout(&output), "eda-lint: no findings in 1 file\n");
}

#[test]
fn findings_exit_1_and_exit_zero_turns_that_into_0() {
    let project = sample();
    assert_eq!(code(&project.run(&["check"])), 1);
    assert_eq!(code(&project.run(&["check", "--exit-zero"])), 0);
}

#[test]
fn a_file_that_cannot_be_read_exits_2_even_with_exit_zero() {
    let project = Project::new();
    project.file("src/lib.rs", b"fn a() {}\n\xff\xfe\n".as_slice());
    let output = project.run(&["check", "--exit-zero", "--output-format", "concise"]);
    assert_eq!(code(&output), 2);
    insta::assert_snapshot!(stdout(&output), @r"
    src/lib.rs:2:1: error[io-error] is not valid UTF-8 (first invalid byte at line 2, column 1); Rust source must be UTF-8, it was not linted
    eda-lint: 1 finding (1 error, 0 warnings) in 1 of 1 file
    ");
}

#[test]
fn a_missing_path_exits_2() {
    let project = Project::new();
    let output = project.run(&["check", "no/such/dir", "--output-format", "concise"]);
    assert_eq!(code(&output), 2);
    assert!(
        stdout(&output).contains("no/such/dir:1:1: error[io-error] could not be read"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn usage_errors_exit_2_with_a_suggestion() {
    let project = Project::new();
    let output = project.run(&["check", "--output-format", "sarf"]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("unknown format `sarf` (did you mean `sarif`?)"),
        "{}",
        stderr(&output)
    );

    let output = project.run(&["check", "--no-such-flag"]);
    assert_eq!(code(&output), 2);

    let output = project.run(&[
        "check",
        "--output-format",
        "json",
        "--output-format",
        "text",
    ]);
    assert_eq!(code(&output), 2);
    assert!(stderr(&output).contains("only one output format can go to standard output"));
}

#[test]
fn rule_explains_and_suggests_the_nearest_name() {
    let project = Project::new();
    let output = project.run(&["rule", "--all"]);
    assert_eq!(code(&output), 0);
    assert!(stdout(&output).contains("`unused-suppression`"));

    let output = project.run(&["rule", "parse-eror"]);
    assert_eq!(code(&output), 2);
    assert_eq!(
        stderr(&output),
        "error: no rule named `parse-eror`; did you mean `parse-error`?\n"
    );
}

#[test]
fn text_output() {
    let project = sample();
    let output = project.run(&["check"]);
    insta::assert_snapshot!(stdout(&output));
}

#[test]
fn concise_output() {
    let project = sample();
    insta::assert_snapshot!(stdout(&project.run(&[
        "check",
        "--output-format",
        "concise"
    ])));
}

#[test]
fn json_output() {
    let project = sample();
    let output = project.run(&["check", "--output-format", "json"]);
    let findings: serde_json::Value = serde_json::from_slice(&output.stdout).expect("valid JSON");
    for finding in findings.as_array().expect("a list") {
        for key in [
            "rule",
            "path",
            "line",
            "column",
            "end_line",
            "severity",
            "message",
            "help",
            "confidence",
        ] {
            assert!(finding.get(key).is_some(), "{key} missing in {finding}");
        }
    }
    insta::assert_snapshot!(stdout(&output));
}

#[test]
fn sarif_output() {
    let project = sample();
    let output = project.run(&["check", "--output-format", "sarif"]);
    let mut log: serde_json::Value =
        serde_json::from_str(&project.redact(&stdout(&output))).expect("SARIF is JSON");
    // Every rule and diagnostic has its metadata; the texts themselves
    // belong to the rules' own tests (and would make this snapshot change
    // with every doc edit), so only their presence is checked here.
    for rule in log["runs"][0]["tool"]["driver"]["rules"]
        .as_array_mut()
        .expect("rule metadata")
    {
        for field in [
            "/shortDescription/text",
            "/fullDescription/text",
            "/help/text",
            "/help/markdown",
            "/helpUri",
        ] {
            assert!(
                rule.pointer(field)
                    .and_then(|v| v.as_str())
                    .is_some_and(|text| !text.is_empty()),
                "{field} missing in {rule}"
            );
        }
        assert!(
            rule["helpUri"]
                .as_str()
                .is_some_and(|uri| uri.starts_with("http://localhost:3000/"))
        );
        *rule = serde_json::json!({
            "id": rule["id"],
            "defaultConfiguration": rule["defaultConfiguration"],
        });
    }

    insta::assert_snapshot!(serde_json::to_string_pretty(&log).expect("print"));
}

#[test]
fn github_output() {
    let project = sample();
    insta::assert_snapshot!(stdout(&project.run(&[
        "check",
        "--output-format",
        "github"
    ])));
}

#[test]
fn rustc_json_output_is_cargo_messages() {
    let project = sample();
    let output = project.run(&["check", "--output-format", "rustc-json"]);
    for line in stdout(&output).lines() {
        let message: serde_json::Value =
            serde_json::from_str(line).expect("one JSON object per line");
        assert_eq!(message["reason"], "compiler-message");
        assert!(
            message["message"]["spans"][0]["is_primary"]
                .as_bool()
                .unwrap_or(false)
        );
    }
    insta::assert_snapshot!(project.redact(&stdout(&output)));
}

#[test]
fn several_formats_in_one_run() {
    let project = sample();
    let output = project.run(&[
        "check",
        "--output-format",
        "concise",
        "--output-format",
        "sarif=out.sarif",
        "--output-format=json=out.json",
    ]);
    assert_eq!(code(&output), 1);
    assert!(stdout(&output).starts_with("src/handler.rs:"));
    let sarif: serde_json::Value = serde_json::from_slice(
        &std::fs::read(project.path().join("out.sarif")).expect("sarif written"),
    )
    .expect("valid SARIF JSON");
    assert_eq!(sarif["version"], "2.1.0");
    let json: serde_json::Value = serde_json::from_slice(
        &std::fs::read(project.path().join("out.json")).expect("json written"),
    )
    .expect("valid JSON");
    assert_eq!(
        json.as_array().map(Vec::len),
        sarif["runs"][0]["results"].as_array().map(Vec::len)
    );
}

#[test]
fn output_file_takes_the_format_without_a_file() {
    let project = sample();
    let output = project.run(&[
        "check",
        "--output-format",
        "concise",
        "--output-file",
        "report.txt",
    ]);
    assert_eq!(code(&output), 1);
    assert!(stdout(&output).is_empty());
    let report =
        std::fs::read_to_string(project.path().join("report.txt")).expect("report written");
    assert!(report.contains("warning[unknown-rule-in-suppression]"));
}

#[test]
fn output_is_deterministic() {
    let project = sample();
    for i in 0..20 {
        project.file(
            &format!("src/more/m{i}.rs"),
            "// eda-lint: allow(parse-error)\nfn f() {}\n",
        );
    }
    let first = stdout(&project.run(&["check", "--output-format", "json", "-j", "2"]));
    let second = stdout(&project.run(&["check", "--output-format", "json", "-j", "1"]));
    assert_eq!(first, second);
}

#[test]
fn an_unknown_config_key_is_an_error_that_suggests_the_nearest() {
    let project = sample();
    project.file("eda-lint.toml", "ignroe = [\"unused-suppression\"]\n");
    let output = project.run(&["check"]);
    assert_eq!(code(&output), 2);
    assert_eq!(
        project.redact(&stderr(&output)),
        "error: [ROOT]/eda-lint.toml: unknown key `ignroe`; did you mean `ignore`?\n"
    );
}

#[test]
fn an_unknown_rule_in_cargo_metadata_is_an_error_that_suggests_the_nearest() {
    let project = sample();
    project.file(
        "Cargo.toml",
        "[package]\nname = \"demo\"\nversion = \"0.1.0\"\n\n[package.metadata.eda-lint]\nignore = [\"unused-supression\"]\n",
    );
    let output = project.run(&["check"]);
    assert_eq!(code(&output), 2);
    assert_eq!(
        project.redact(&stderr(&output)),
        "error: [ROOT]/Cargo.toml: unknown rule `unused-supression` in `ignore`; did you mean `unused-suppression`?\n"
    );
}

#[test]
fn workspace_metadata_config_applies_and_per_file_ignores_match_globs() {
    let project = sample();
    project.file(
        "Cargo.toml",
        "[workspace]\n\n[workspace.metadata.eda-lint]\nexclude = [\"src/generated/**\"]\n\n[workspace.metadata.eda-lint.per-file-ignores]\n\"src/handler.rs\" = [\"unknown-rule-in-suppression\", \"suppression-without-reason\"]\n",
    );
    project.file("src/generated/big.rs", "fn broken( {}\n");
    let output = project.run(&["check", "--output-format", "concise"]);
    let text = stdout(&output);
    assert!(!text.contains("generated"), "{text}");
    assert!(!text.contains("unknown-rule-in-suppression"), "{text}");
    assert!(
        text.contains("parse-error"),
        "parse errors cannot be ignored: {text}"
    );
}

#[test]
fn a_diagnostic_about_unanalysed_code_cannot_be_ignored() {
    let project = sample();
    let output = project.run(&["check", "--ignore", "parse-error"]);
    assert_eq!(code(&output), 2);
    assert!(stderr(&output).contains("`parse-error` cannot be ignored"));
}

#[test]
fn suppressions_need_a_reason_name_real_rules_and_must_be_used() {
    let project = Project::new();
    project.file(
        "src/lib.rs",
        "// eda-lint: allow(unused-suppression)\nfn a() {}\n\n// eda-lint: allow(no-such-rule) -- typo\nfn b() {}\n\n// eda-lint: allow\nfn c() {}\n",
    );
    let output = project.run(&["check", "--output-format", "concise"]);
    assert_eq!(code(&output), 1);
    insta::assert_snapshot!(stdout(&output), @r"
    src/lib.rs:1:1: warning[suppression-without-reason] this suppression gives no reason
    src/lib.rs:1:20: warning[unused-suppression] `unused-suppression` is allowed here but reported nothing
    src/lib.rs:4:20: warning[unknown-rule-in-suppression] `no-such-rule` is not a rule of eda-lint
    src/lib.rs:7:1: warning[invalid-suppression] malformed suppression: expected `(` and a list of rule names
    eda-lint: 4 findings (0 errors, 4 warnings) in 1 of 1 file
    ");
}

#[test]
fn a_file_level_suppression_covers_the_whole_file() {
    let project = Project::new();
    project.file(
        "src/lib.rs",
        "// eda-lint: allow-file(suppression-without-reason) -- legacy comments, cleaned up in #12\nfn a() {}\n// eda-lint: allow(unknown-rule-in-suppression)\n// eda-lint: allow(nope) -- x\nfn b() {}\n",
    );
    let output = project.run(&["check", "--output-format", "concise"]);
    assert_eq!(code(&output), 0, "{}", stdout(&output));
}

#[test]
fn baseline_messages_agree_with_their_numbers() {
    let project = Project::new();
    project.file("src/lib.rs", "// eda-lint: allow(nope) -- x\nfn b() {}\n");
    let output = project.run(&["check", "--write-baseline", "baseline.json"]);
    assert!(
        stderr(&output).contains("eda-lint: recorded 1 finding in baseline.json"),
        "{}",
        stderr(&output)
    );
    let output = project.run(&["check", "--baseline", "baseline.json"]);
    assert!(
        stderr(&output).contains("eda-lint: the baseline hid 1 finding\n"),
        "{}",
        stderr(&output)
    );
    project.file("src/lib.rs", "fn b() {}\n");
    let output = project.run(&["check", "--baseline", "baseline.json"]);
    assert!(
        stderr(&output).contains("eda-lint: 1 baseline entry matched nothing"),
        "{}",
        stderr(&output)
    );
    assert_eq!(stdout(&output), "eda-lint: no findings in 1 file\n");
}

#[test]
fn a_baseline_hides_known_findings_even_when_lines_move() {
    let project = sample();
    let output = project.run(&["check", "--write-baseline", "baseline.json"]);
    assert!(stderr(&output).contains("recorded"), "{}", stderr(&output));
    // The parse error cannot be hidden by a baseline, so it still reports.
    let output = project.run(&[
        "check",
        "--baseline",
        "baseline.json",
        "--output-format",
        "concise",
    ]);
    let text = stdout(&output);
    assert!(!text.contains("unknown-rule-in-suppression"), "{text}");
    assert!(text.contains("parse-error"), "{text}");

    // Move everything down three lines and add one new problem.
    let moved = format!("\n\n\n{HANDLER}// eda-lint: allow(locl-time) -- new\nfn new_one() {{}}\n");
    project.file("src/handler.rs", moved);
    let output = project.run(&[
        "check",
        "--baseline",
        "baseline.json",
        "--output-format",
        "concise",
    ]);
    let text = stdout(&output);
    assert_eq!(
        text.matches("unknown-rule-in-suppression").count(),
        1,
        "{text}"
    );
    assert!(text.contains("`locl-time`"), "{text}");
    assert_eq!(code(&output), 1);
}

#[test]
fn a_broken_baseline_is_an_error() {
    let project = sample();
    project.file("baseline.json", "{\"version\": 9, \"findings\": []}");
    let output = project.run(&["check", "--baseline", "baseline.json"]);
    assert_eq!(code(&output), 2);
    assert!(stderr(&output).contains("version 9 is not supported"));
}

#[test]
fn gitignored_files_and_target_are_skipped_but_named_files_are_linted() {
    let project = Project::new();
    project
        .file(".gitignore", "ignored/\n")
        .file("ignored/a.rs", "fn broken( {}\n")
        .file("target/debug/b.rs", "fn broken( {}\n")
        .file("src/lib.rs", "fn fine() {}\n");
    let output = project.run(&["check", "--output-format", "concise"]);
    assert_eq!(code(&output), 0, "{}", stdout(&output));
    let output = project.run(&["check", "ignored/a.rs", "--output-format", "concise"]);
    assert_eq!(code(&output), 1, "{}", stdout(&output));
}

/// Correct 2015-edition code: the words that became keywords in 2018 used
/// as names, `dyn` as the keyword it already was, and a trait method's
/// parameters given by their types alone.
const EDITION_2015: &str = r#"use std::error::Error;

pub trait Handler {
    fn handle(&self, u8, &[u8]) -> bool;
}

pub fn run(async: u32, e: &dyn Error) -> Result<u32, Box<Error>> {
    let await = try!(check(async));
    let dyn = await + 1;
    Ok(dyn)
}
"#;

#[test]
fn a_crate_without_an_edition_is_read_as_2015() {
    let project = Project::new();
    project
        .file(
            "Cargo.toml",
            "[package]\nname = \"old\"\nversion = \"0.1.0\"\n",
        )
        .file("src/lib.rs", EDITION_2015);
    let output = project.run(&["check", "--output-format", "concise"]);
    assert_eq!(code(&output), 0, "{}", stdout(&output));
    // Named on its own, the file is still read in its crate's edition.
    let output = project.run(&["check", "src/lib.rs", "--output-format", "concise"]);
    assert_eq!(code(&output), 0, "{}", stdout(&output));
}

#[test]
fn an_edition_inherited_from_the_workspace_is_followed() {
    let project = Project::new();
    project
        .file(
            "Cargo.toml",
            "[workspace]\nmembers = [\"old\"]\n[workspace.package]\nedition = \"2015\"\n",
        )
        .file(
            "old/Cargo.toml",
            "[package]\nname = \"old\"\nversion = \"0.1.0\"\nedition.workspace = true\n",
        )
        .file("old/src/lib.rs", EDITION_2015);
    let output = project.run(&["check", "--output-format", "concise"]);
    assert_eq!(code(&output), 0, "{}", stdout(&output));
}

#[test]
fn in_a_2018_crate_the_same_code_is_one_parse_error_per_problem() {
    let project = Project::new();
    project
        .file(
            "Cargo.toml",
            "[package]\nname = \"new\"\nversion = \"0.1.0\"\nedition = \"2018\"\n",
        )
        .file("src/lib.rs", EDITION_2015);
    let output = project.run(&["check", "--output-format", "concise"]);
    assert_eq!(code(&output), 1, "{}", stdout(&output));
    insta::assert_snapshot!(stdout(&output), @r"
    src/lib.rs:4:24: error[parse-error] this does not parse: expected `:`; lines 3-5 were skipped, the rest of the file was linted
    src/lib.rs:7:12: error[parse-error] this does not parse: expected one of: identifier, `::`, `<`, `_`, literal, `const`, `ref`, `mut`, `&`, parentheses, square brackets, `..`, `const`; lines 7-11 were skipped, the rest of the file was linted
    eda-lint: 2 findings (2 errors, 0 warnings) in 1 of 1 file
    ");
}

/// A library with a publish in production code, in a `#[tokio::test]` and
/// in a `#[cfg(all(test, ..))]` module, with one used and two unused
/// suppressions, one inside the module and one above it.
const LIB_WITH_TESTS: &str = r#"use lapin::options::BasicPublishOptions;
use lapin::{BasicProperties, Channel};

pub async fn publish(channel: &Channel) -> lapin::Result<()> {
    channel.basic_publish("".into(), "q".into(), BasicPublishOptions::default(), b"x", BasicProperties::default()).await?;
    Ok(())
}

#[tokio::test]
async fn publishes_twice() {
    let channel = connect().await;
    channel.basic_publish("".into(), "q".into(), BasicPublishOptions::default(), b"x", BasicProperties::default()).await.unwrap();
}

// eda-lint: allow(local-time) -- stale as well, and about test code only
#[cfg(all(test, feature = "rabbit"))]
mod tests {
    use super::*;

    // eda-lint: allow(missing-idempotency-key) -- probes need no id
    async fn probe(channel: &Channel) {
        channel.basic_publish("".into(), "q".into(), BasicPublishOptions::default(), b"x", BasicProperties::default()).await.unwrap();
    }

    // eda-lint: allow(local-time) -- stale: nothing here reads the clock
    fn helper() {}
}
"#;

/// One publish without an id, for files that are or are not test code.
const PUBLISH: &str = "use lapin::options::BasicPublishOptions;\nuse lapin::BasicProperties;\n\npub async fn send(channel: &lapin::Channel) {\n    channel.basic_publish(\"\".into(), \"q\".into(), BasicPublishOptions::default(), b\"x\", BasicProperties::default()).await.unwrap();\n}\n";

fn crate_with_tests() -> Project {
    let project = Project::new();
    project
        .file(
            "Cargo.toml",
            "[package]\nname = \"orders\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
        )
        .file("src/lib.rs", LIB_WITH_TESTS)
        // A module named `tests`, and a build script: not test code.
        .file("src/tests/mod.rs", PUBLISH)
        .file("build.rs", PUBLISH)
        .file("tests/it.rs", PUBLISH)
        .file("tests/common/mod.rs", PUBLISH)
        .file("benches/speed.rs", PUBLISH)
        .file("examples/demo.rs", PUBLISH);
    project
}

#[test]
fn test_code_is_not_linted_by_default() {
    let project = crate_with_tests();
    let output = project.run(&["check", "--output-format", "concise"]);
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    insta::assert_snapshot!(stdout(&output), @r"
    build.rs:5:13: warning[missing-idempotency-key] this lapin publish sets no message id or deduplication id
    src/lib.rs:5:13: warning[missing-idempotency-key] this lapin publish sets no message id or deduplication id
    src/tests/mod.rs:5:13: warning[missing-idempotency-key] this lapin publish sets no message id or deduplication id
    eda-lint: 3 findings (0 errors, 3 warnings) in 3 of 3 files; 4 test files not linted (--include-tests lints them)
    ");
}

#[test]
fn include_tests_lints_test_code() {
    let project = crate_with_tests();
    let output = project.run(&["check", "--include-tests", "--output-format", "concise"]);
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    insta::assert_snapshot!(stdout(&output), @r"
    benches/speed.rs:5:13: warning[missing-idempotency-key] this lapin publish sets no message id or deduplication id
    build.rs:5:13: warning[missing-idempotency-key] this lapin publish sets no message id or deduplication id
    examples/demo.rs:5:13: warning[missing-idempotency-key] this lapin publish sets no message id or deduplication id
    src/lib.rs:5:13: warning[missing-idempotency-key] this lapin publish sets no message id or deduplication id
    src/lib.rs:12:13: warning[missing-idempotency-key] this lapin publish sets no message id or deduplication id
    src/lib.rs:15:20: warning[unused-suppression] `local-time` is allowed here but reported nothing
    src/lib.rs:25:24: warning[unused-suppression] `local-time` is allowed here but reported nothing
    src/tests/mod.rs:5:13: warning[missing-idempotency-key] this lapin publish sets no message id or deduplication id
    tests/common/mod.rs:5:13: warning[missing-idempotency-key] this lapin publish sets no message id or deduplication id
    tests/it.rs:5:13: warning[missing-idempotency-key] this lapin publish sets no message id or deduplication id
    eda-lint: 10 findings (0 errors, 10 warnings) in 7 of 7 files
    ");
}

#[test]
fn include_tests_can_be_set_in_either_config() {
    let project = crate_with_tests();
    project.file("eda-lint.toml", "include-tests = true\n");
    let from_file = project.run(&["check", "--output-format", "concise"]);
    std::fs::remove_file(project.path().join("eda-lint.toml")).expect("remove eda-lint.toml");
    project.file(
        "Cargo.toml",
        "[package]\nname = \"orders\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[package.metadata.eda-lint]\ninclude-tests = true\n",
    );
    let from_manifest = project.run(&["check", "--output-format", "concise"]);
    let included = project.run(&["check", "--include-tests", "--output-format", "concise"]);
    assert_eq!(stdout(&from_file), stdout(&included));
    assert_eq!(stdout(&from_manifest), stdout(&included));
    assert!(
        stdout(&included).contains("tests/it.rs:5:"),
        "{}",
        stdout(&included)
    );
}

#[test]
fn a_test_file_named_on_the_command_line_is_still_test_code() {
    let project = crate_with_tests();
    let output = project.run(&["check", "tests/it.rs", "--output-format", "concise"]);
    assert_eq!(code(&output), 0, "{}", stdout(&output));
    insta::assert_snapshot!(stdout(&output), @r"
    eda-lint: no findings in 0 files; 1 test file not linted (--include-tests lints it)
    ");
    let output = project.run(&[
        "check",
        "tests/it.rs",
        "--include-tests",
        "--output-format",
        "concise",
    ]);
    assert_eq!(code(&output), 1, "{}", stdout(&output));
}

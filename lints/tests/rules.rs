//! The rules against their own documentation and their fixtures.
//!
//! - Every rule's doc `## Example` must trigger the rule and its
//!   `## Use instead` must not.
//! - Every fixture `tests/fixtures/<rule>.rs` marks the lines that must be
//!   reported with a trailing `//~ <rule>` comment; a finding on an unmarked
//!   line, or a marked line with no finding, fails the test. The findings
//!   are also snapshotted (line:col, rule, confidence, message), so a change
//!   in what a rule says is reviewed as a diff.

use std::collections::BTreeSet;
use std::path::Path;

use eda_lint::finding::Finding;
use eda_lint::rules::RULES;
use eda_lint::{Config, lint_source};

/// The findings of `rule` on `source`, through the real pipeline.
fn findings(rule: &str, path: &str, source: &str) -> Vec<Finding> {
    findings_with(rule, path, source, &config_for(rule, &Config::default()))
}

/// `base` with `rule` selected as well: an opt-in rule runs only when
/// named, and its fixtures and examples are checked with it on.
fn config_for(rule: &str, base: &Config) -> Config {
    let mut select = toml::Table::new();
    select.insert(
        "select".into(),
        toml::Value::Array(vec!["all".into(), rule.into()]),
    );
    base.with_overrides(&select, Path::new("tests/rules.rs"))
        .expect("a known rule")
}

fn findings_with(rule: &str, path: &str, source: &str, config: &Config) -> Vec<Finding> {
    let report = lint_source(Path::new(path), source, config);
    assert!(
        !report.is_incomplete(),
        "{path} was not fully analysed: {:#?}",
        report.diagnostics
    );
    report
        .findings
        .into_iter()
        .filter(|finding| finding.rule == rule)
        .collect()
}

/// The first fenced code block after `heading` in a rule's doc.
fn code_after(doc: &str, heading: &str) -> Option<String> {
    let rest = &doc[doc.find(heading)? + heading.len()..];
    let start = rest.find("```")?;
    let rest = &rest[start..];
    let body_start = rest.find('\n')? + 1;
    let body = &rest[body_start..];
    let end = body.find("```")?;
    Some(body[..end].to_string())
}

#[test]
fn every_rule_documents_itself_completely() {
    for rule in RULES {
        for heading in [
            "## What it does",
            "## Why is this bad?",
            "## Example",
            "## Use instead",
            "## Known limitations",
            "## Chapter",
        ] {
            assert!(rule.doc.contains(heading), "{} lacks {heading}", rule.name);
        }
        assert!(
            rule.doc.contains(rule.chapter),
            "{}: the doc names another chapter than {}",
            rule.name,
            rule.chapter
        );
    }
    let names: BTreeSet<&str> = RULES.iter().map(|rule| rule.name).collect();
    assert_eq!(
        names,
        BTreeSet::from([
            "auto-ack",
            "ack-before-processing",
            "publish-before-ack",
            "missing-idempotency-key",
            "local-time",
            "dual-write",
            "lost-update"
        ])
    );
}

#[test]
fn every_doc_example_fires_and_every_use_instead_is_silent() {
    for rule in RULES {
        let example = code_after(rule.doc, "## Example")
            .unwrap_or_else(|| panic!("{}: no Example code", rule.name));
        let fixed = code_after(rule.doc, "## Use instead")
            .unwrap_or_else(|| panic!("{}: no Use instead code", rule.name));
        let fired = findings(rule.name, "example.rs", &example);
        assert!(
            !fired.is_empty(),
            "{}: its Example does not trigger it",
            rule.name
        );
        let silent = findings(rule.name, "use_instead.rs", &fixed);
        assert!(
            silent.is_empty(),
            "{}: its Use instead triggers it: {silent:#?}",
            rule.name
        );
    }
}

/// `(line, rule)` pairs marked with `//~ rule` in a fixture.
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

/// The compact rendering that is snapshotted.
fn render(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|finding| {
            let mut line = format!(
                "{}:{} {} [{:?}] {}",
                finding.region.start.line,
                finding.region.start.column,
                finding.rule,
                finding.confidence,
                finding.message
            );
            for label in &finding.labels {
                line.push_str(&format!(
                    "\n    {}:{} {}",
                    label.region.start.line, label.region.start.column, label.message
                ));
            }
            line
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn check_fixture(rule: &str) {
    check_fixture_file(rule, rule, &Config::default());
}

fn check_fixture_file(file: &str, rule: &str, config: &Config) {
    let path = format!("{}/tests/fixtures/{}.rs", env!("CARGO_MANIFEST_DIR"), file);
    let source = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
    let found = findings_with(rule, &path, &source, &config_for(rule, config));
    let got: BTreeSet<(usize, String)> = found
        .iter()
        .map(|f| (f.region.start.line, f.rule.to_string()))
        .collect();
    let want: BTreeSet<(usize, String)> = expected(&source)
        .into_iter()
        .filter(|(_, r)| r == rule)
        .collect();
    let missing: Vec<_> = want.difference(&got).collect();
    let unexpected: Vec<_> = got.difference(&want).collect();
    assert!(
        missing.is_empty() && unexpected.is_empty(),
        "{rule}: missing {missing:?}, unexpected {unexpected:?}\n{}",
        render(&found)
    );
    let name = if file == rule {
        rule.to_string()
    } else {
        format!("{file}-{rule}")
    };
    insta::assert_snapshot!(name, render(&found));
}

/// The workshop broker's Kafka-style `ClientConfig` is judged as rdkafka's:
/// the `auto-commit` exercise's starter keeps librdkafka's default.
#[test]
fn fixture_auto_ack_workshop_kafka_config() {
    check_fixture_file("auto-ack-workshop", "auto-ack", &Config::default());
}

#[test]
fn fixture_auto_ack() {
    check_fixture("auto-ack");
}

#[test]
fn fixture_ack_before_processing() {
    check_fixture("ack-before-processing");
}

#[test]
fn fixture_publish_before_ack() {
    check_fixture("publish-before-ack");
}

#[test]
fn fixture_missing_idempotency_key() {
    check_fixture("missing-idempotency-key");
}

#[test]
fn fixture_local_time() {
    check_fixture("local-time");
}

#[test]
fn fixture_dual_write() {
    check_fixture("dual-write");
}

#[test]
fn fixture_dual_write_repository_transaction() {
    check_fixture_file("dual-write-repo-tx", "dual-write", &Config::default());
}

#[test]
fn fixture_lost_update() {
    check_fixture("lost-update");
}

/// The same read-modify-write through sea-orm, with no SQL text: a model
/// read with `find_by_id`/`find`, a field set from it, `update` writing it
/// back; and sea-orm's lock, version filter and atomic forms, silent.
#[test]
fn fixture_lost_update_sea_orm() {
    check_fixture_file("lost-update-sea-orm", "lost-update", &Config::default());
}

/// `lost-update` ships opt-in: the default configuration and `"all"` leave
/// it out, and naming it turns it on.
#[test]
fn lost_update_runs_only_when_named() {
    let path = format!(
        "{}/tests/fixtures/lost-update.rs",
        env!("CARGO_MANIFEST_DIR")
    );
    let source = std::fs::read_to_string(&path).expect("the fixture reads");
    assert!(findings_with("lost-update", &path, &source, &Config::default()).is_empty());
    let table: toml::Table = "select = [\"all\"]".parse().expect("TOML");
    let all = Config::from_table(&table, Path::new("eda-lint.toml"), Path::new("."))
        .expect("valid config");
    assert!(findings_with("lost-update", &path, &source, &all).is_empty());
    let table: toml::Table = "select = [\"all\", \"lost-update\"]".parse().expect("TOML");
    let named = Config::from_table(&table, Path::new("eda-lint.toml"), Path::new("."))
        .expect("valid config");
    assert!(!findings_with("lost-update", &path, &source, &named).is_empty());
    assert!(
        !findings_with("dual-write", "a.rs", DUAL_WRITE_SAMPLE, &named).is_empty(),
        "naming an opt-in rule next to \"all\" keeps the default rules"
    );
}

const DUAL_WRITE_SAMPLE: &str = r#"
use sqlx::PgPool;
use rdkafka::producer::{FutureProducer, FutureRecord};
async fn f(pool: &PgPool, producer: &FutureProducer, id: &str) -> anyhow::Result<()> {
    sqlx::query("INSERT INTO orders (id) VALUES ($1)").bind(id).execute(pool).await?;
    producer.send(FutureRecord::to("orders").key(id).payload(id), std::time::Duration::from_secs(1)).await.map_err(|(e, _)| e)?;
    Ok(())
}
"#;

#[test]
fn fixture_wrappers() {
    // As `[wrappers]` in eda-lint.toml would give them.
    let wrappers: eda_lint::analysis::UserApis = toml::from_str(
        r#"
        publish = ["EventBus::emit"]
        ack = ["Inbox::done"]
        consume = ["next_job"]
        event-types = ["OrderPlaced"]
        outbox = ["outbox::enqueue"]
        "#,
    )
    .expect("the wrappers parse");
    let mut config = Config::default();
    config.user_apis = wrappers;
    for rule in RULES {
        check_fixture_file("wrappers", rule.name, &config);
    }
}

#[test]
fn unknown_wrapper_keys_are_rejected() {
    let error = toml::from_str::<eda_lint::analysis::UserApis>("publishes = [\"emit\"]")
        .expect_err("unknown key");
    assert!(error.to_string().contains("publishes"), "{error}");
}

/// The rustc-style text a user sees for each fixture, through the real
/// binary: reviewing a rule change means reading this diff too.
#[test]
fn fixtures_render_as_users_see_them() {
    for rule in RULES {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_eda-lint"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args([
                "check",
                &format!("tests/fixtures/{}.rs", rule.name),
                "--select",
                rule.name,
                "--color",
                "never",
                // The fixtures sit in this package's `tests/` folder, which
                // is test code and left out by default.
                "--include-tests",
            ])
            .env("NO_COLOR", "1")
            .output()
            .expect("the eda-lint binary runs");
        assert_eq!(
            output.status.code(),
            Some(1),
            "{}: findings exit with 1",
            rule.name
        );
        let text = String::from_utf8(output.stdout).expect("the text output is UTF-8");
        insta::assert_snapshot!(format!("text-{}", rule.name), text);
    }
}

/// Every rule on a fixture file that is not one rule's own: the precision
/// fixtures hold shapes of real code that some rule got wrong, and a
/// finding of any rule on an unmarked line fails.
fn check_fixture_all_rules(file: &str) {
    for rule in RULES {
        check_fixture_file(file, rule.name, &Config::default());
    }
}

#[test]
fn fixture_ack_precision() {
    check_fixture_all_rules("ack-precision");
}

/// The `.rs` files of the fixtures and of the labelled accuracy set.
fn all_sample_files() -> Vec<std::path::PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut pending = vec![root.join("fixtures"), root.join("accuracy")];
    let mut files = Vec::new();
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("a readable directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The confidence rule of `finding::Confidence`: a finding that rests on a
/// name heuristic is never `high`. `ack-before-processing` says which work
/// it found: "`name` on the message" is a call taken for work because it
/// reads the message, a heuristic; "a publish" or "a database write" is a
/// recognised operation.
#[test]
fn findings_resting_on_a_name_heuristic_are_never_high() {
    let files = all_sample_files();
    assert!(files.len() > 20, "the samples were not found");
    let mut heuristic = 0;
    for path in files {
        let source = std::fs::read_to_string(&path).expect("a readable sample");
        let report = lint_source(&path, &source, &Config::default());
        for finding in &report.findings {
            // Without config, a type is a message by its name, or by a
            // field only a message has; only the latter is sure, and a
            // type with such an id is never a missing-idempotency-key
            // finding.
            if finding.rule == "missing-idempotency-key"
                && finding.message.contains("is a serialized message type")
            {
                heuristic += 1;
                assert!(
                    finding.confidence < eda_lint::finding::Confidence::High,
                    "{}:{}: a type taken for a message by its name is reported as high",
                    path.display(),
                    finding.region.start.line
                );
            }
            // A local time in a message type is sure only when the type
            // is a message by a field only a message has.
            if finding.rule == "local-time"
                && finding.message.contains("in a serialized message type")
                && finding.confidence == eda_lint::finding::Confidence::High
            {
                let type_name = finding
                    .message
                    .trim_start_matches('`')
                    .split('.')
                    .next()
                    .unwrap_or_default();
                let body = source
                    .split(&format!("struct {type_name} {{"))
                    .nth(1)
                    .and_then(|rest| rest.split('}').next())
                    .unwrap_or_default();
                assert!(
                    [
                        "event_id",
                        "message_id",
                        "msg_id",
                        "command_id",
                        "idempotency_key"
                    ]
                    .iter()
                    .any(|field| body.contains(&format!("{field}:"))),
                    "{}:{}: `{type_name}` is a message by its name only, yet the finding is high",
                    path.display(),
                    finding.region.start.line
                );
            }
            if finding.rule == "ack-before-processing"
                && finding.message.contains("` on the message)")
            {
                heuristic += 1;
                assert!(
                    finding.confidence < eda_lint::finding::Confidence::High,
                    "{}:{}: a call taken for work by a heuristic is reported as high",
                    path.display(),
                    finding.region.start.line
                );
            }
        }
    }
    assert!(
        heuristic > 5,
        "the samples hold too few heuristic findings to test the rule"
    );
}

/// `--min-confidence high` keeps what rests on recognised operations and
/// drops the guesses: of the ack-precision fixture's findings, only the
/// acks before a publish stay.
#[test]
fn min_confidence_high_keeps_only_recognised_work() {
    let path = format!(
        "{}/tests/fixtures/ack-precision.rs",
        env!("CARGO_MANIFEST_DIR")
    );
    let source = std::fs::read_to_string(&path).expect("the fixture is readable");
    let mut config = Config::default();
    config.min_confidence = eda_lint::finding::Confidence::High;
    let kept: Vec<usize> = findings_with("ack-before-processing", &path, &source, &config)
        .iter()
        .map(|finding| finding.region.start.line)
        .collect();
    let ack_line = |function: &str, offset: usize| {
        source
            .lines()
            .position(|line| line.contains(&format!("fn {function}(")))
            .map(|index| index + offset)
            .unwrap_or_else(|| panic!("the fixture has {function}"))
    };
    assert_eq!(
        kept,
        vec![
            ack_line("ack_then_publish", 2),
            ack_line("ack_then_requeue", 3)
        ]
    );
}

#[test]
fn fixture_id_provenance() {
    check_fixture_all_rules("id-provenance");
}

#[test]
fn fixture_local_time_flow() {
    check_fixture_all_rules("local-time-flow");
}

/// Types that are messages because the crate publishes them, whatever
/// their names.
#[test]
fn fixture_published_types() {
    check_fixture_all_rules("published-types");
}

/// `--min-confidence high` on local times: of the local-time-flow
/// fixture's findings, only the one that reaches an SQL bind stays; those
/// that reach data known by names (a message's type or field, `push`) go.
#[test]
fn min_confidence_high_keeps_only_local_times_in_recognised_stores() {
    let path = format!(
        "{}/tests/fixtures/local-time-flow.rs",
        env!("CARGO_MANIFEST_DIR")
    );
    let source = std::fs::read_to_string(&path).expect("the fixture is readable");
    let mut config = Config::default();
    config.min_confidence = eda_lint::finding::Confidence::High;
    let kept: Vec<usize> = findings_with("local-time", &path, &source, &config)
        .iter()
        .map(|finding| finding.region.start.line)
        .collect();
    let bind_line = source
        .lines()
        .position(|line| line.contains(".bind(Local::now())"))
        .map(|index| index + 1)
        .expect("the fixture has the bind");
    assert_eq!(kept, vec![bind_line]);
}

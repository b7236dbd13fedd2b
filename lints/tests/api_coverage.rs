//! The API coverage table (`src/analysis/coverage.toml`) against the
//! recogniser, and the book's page against the table.
//!
//! Every row of the table is a claim ("lapin's `delivery.ack(..)` is an
//! ack of `delivery`"); this test builds the row's snippet and checks the
//! claim through the same analysis the rules use. A row the recogniser does
//! not honour fails here, so the book cannot promise coverage the linter
//! does not have.

use std::collections::BTreeSet;
use std::path::Path;

use eda_lint::analysis::apis::{Op, PublishInfo, Recognized};
use eda_lint::analysis::coverage::{
    BOOK_PAGE, ConfidenceExpectation, Coverage, CrateCoverage, IdExpectation, Row, RowOp,
};
use eda_lint::analysis::ids::IdEvidence;
use eda_lint::analysis::{FileAnalysis, UserApis};
use eda_lint::finding::Confidence;
use eda_lint::{Config, lint_source};

/// Everything the recogniser made of a snippet.
fn recognised(source: &str) -> Result<Vec<Recognized>, String> {
    let file = syn::parse_file(source).map_err(|error| format!("does not parse: {error}"))?;
    let analysis = FileAnalysis::compute(&file.items, &UserApis::NONE);
    Ok(analysis
        .flows
        .iter()
        .flat_map(|flow| flow.ops().map(|(_, recognized)| recognized.clone()))
        .collect())
}

fn confidence_of(expected: ConfidenceExpectation) -> Confidence {
    match expected {
        ConfidenceExpectation::Low => Confidence::Low,
        ConfidenceExpectation::Medium => Confidence::Medium,
        ConfidenceExpectation::High => Confidence::High,
    }
}

/// Whether one recognised call is what the row says.
fn matches(row: &Row, found: &Recognized) -> bool {
    let op_matches = match (&row.op, &found.op) {
        (RowOp::Consume, Op::Consume) | (RowOp::Nack, Op::Nack) => true,
        (RowOp::Ack, Op::Ack { message }) => row
            .settles
            .as_ref()
            .is_none_or(|name| message.contains(name)),
        (RowOp::Publish, Op::Publish(PublishInfo { id, dedup })) => {
            let id_ok = matches!(
                (row.id, id),
                (None, _)
                    | (Some(IdExpectation::Present), IdEvidence::Present { .. })
                    | (Some(IdExpectation::Absent), IdEvidence::Absent)
                    | (Some(IdExpectation::Unknown), IdEvidence::Unknown)
            );
            id_ok && row.dedup.is_none_or(|want| want == *dedup)
        }
        (RowOp::DbWrite, Op::DbWrite { committed, .. }) => *committed,
        (RowOp::DbWriteInTransaction, Op::DbWrite { committed, .. }) => !*committed,
        (RowOp::DbCommit, Op::DbCommit) | (RowOp::DbTransaction, Op::DbTransaction) => true,
        _ => false,
    };
    let expected_confidence = row
        .confidence
        .map(confidence_of)
        .unwrap_or(Confidence::High);
    op_matches && found.confidence == expected_confidence
}

/// Checks one row; the problem, if it does not hold.
fn check_row(krate: &CrateCoverage, row: &Row) -> Option<String> {
    let source = krate.snippet(row);
    let problem = match row.op {
        RowOp::AutoAck | RowOp::NoAutoAck => {
            let report = lint_source(Path::new("snippet.rs"), &source, &Config::default());
            if report.is_incomplete() {
                Some(format!("does not parse: {:?}", report.diagnostics))
            } else {
                let reported = report.findings.iter().any(|f| f.rule == "auto-ack");
                match (row.op, reported) {
                    (RowOp::AutoAck, false) => Some("auto-ack does not report it".to_string()),
                    (RowOp::NoAutoAck, true) => Some(format!(
                        "auto-ack reports it: {:?}",
                        report
                            .findings
                            .iter()
                            .filter(|f| f.rule == "auto-ack")
                            .map(|f| &f.message)
                            .collect::<Vec<_>>()
                    )),
                    _ => None,
                }
            }
        }
        RowOp::Nothing => match recognised(&source) {
            Err(error) => Some(error),
            Ok(found) if found.is_empty() => None,
            Ok(found) => Some(format!("expected no operation, got {found:#?}")),
        },
        _ => match recognised(&source) {
            Err(error) => Some(error),
            Ok(found) if found.iter().any(|f| matches(row, f)) => None,
            Ok(found) => Some(format!(
                "expected {:?} (id {:?}, dedup {:?}, confidence {:?}, settles {:?}), got {found:#?}",
                row.op, row.id, row.dedup, row.confidence, row.settles
            )),
        },
    };
    problem.map(|problem| {
        format!(
            "{} {}, row {:?}:\n{problem}\n--- snippet ---\n{source}",
            krate.name,
            krate.version.as_deref().unwrap_or("(no crate)"),
            row.form.as_deref().unwrap_or(row.code.trim())
        )
    })
}

#[test]
fn every_row_of_the_coverage_table_is_recognised_as_it_says() {
    let coverage = Coverage::load().unwrap_or_else(|error| panic!("{error}"));
    let failures: Vec<String> = coverage
        .crates
        .iter()
        .flat_map(|krate| krate.rows.iter().map(move |row| (krate, row)))
        .filter_map(|(krate, row)| check_row(krate, row))
        .collect();
    assert!(
        failures.is_empty(),
        "{} rows of coverage.toml do not hold:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// The check has teeth: a row that claims what the recogniser does not do
/// fails.
#[test]
fn a_row_the_recogniser_does_not_honour_fails() {
    let coverage = Coverage::parse(
        r#"
        [[crate]]
        name = "lapin"
        version = "4.12.3"
        kind = "broker"
        prelude = "use lapin::options::*;"
        params = "delivery: lapin::message::Delivery"
        [[crate.row]]
        op = "nack"
        code = "delivery.ack(BasicAckOptions::default()).await?;"
        [[crate.row]]
        op = "ack"
        settles = "other"
        code = "delivery.ack(BasicAckOptions::default()).await?;"
        "#,
    )
    .expect("valid");
    let krate = &coverage.crates[0];
    for row in &krate.rows {
        assert!(check_row(krate, row).is_some(), "{row:?} should not hold");
    }
}

#[test]
fn every_crate_the_issue_names_is_in_the_table() {
    let coverage = Coverage::load().unwrap_or_else(|error| panic!("{error}"));
    let names: Vec<&str> = coverage.crates.iter().map(|c| c.name.as_str()).collect();
    for wanted in [
        "lapin",
        "amqprs",
        "rdkafka",
        "async-nats",
        "aws-sdk-sqs",
        "azservicebus",
        "azure_messaging_servicebus",
        "redis",
        "fe2o3-amqp",
        "rumqttc",
        "paho-mqtt",
        "pulsar",
        "google-cloud-pubsub",
        "gcloud-pubsub",
        "omniqueue",
        "apalis",
        "iggy",
        "sqlx",
        "tokio-postgres",
        "diesel",
        "sea-orm",
        "mongodb",
    ] {
        assert!(names.contains(&wanted), "{wanted} is not in coverage.toml");
    }
}

/// The other direction: every crate the recogniser asks about has its
/// entry in the table, or is named here as another face of one that has,
/// so the book cannot leave out a crate the linter reads.
#[test]
fn every_crate_the_recogniser_knows_is_in_the_table() {
    use eda_lint::analysis::apis::{APALIS_CRATES, MESSAGING_CRATES, SQL_CRATES};
    let coverage = Coverage::load().unwrap_or_else(|error| panic!("{error}"));
    let in_table: Vec<String> = coverage
        .crates
        .iter()
        .map(|c| c.name.replace('-', "_"))
        .collect();
    // Crates the recogniser treats as one the table lists, and the
    // workshop's own broker, which the exercises document.
    let covered_by = [
        ("broker", "the workshop's broker (exercises/broker)"),
        ("iggy_common", "iggy"),
        ("apalis_core", "apalis"),
        ("apalis_redis", "apalis"),
        ("apalis_sql", "apalis"),
        ("apalis_amqp", "apalis"),
        ("postgres", "tokio-postgres (its blocking wrapper)"),
        (
            "deadpool_postgres",
            "tokio-postgres (a pool of its clients)",
        ),
        ("bb8_postgres", "tokio-postgres (a pool of its clients)"),
        ("rusqlite", "sqlx (the same SQL text rules)"),
        ("diesel_async", "diesel"),
    ];
    for name in MESSAGING_CRATES
        .iter()
        .chain(SQL_CRATES)
        .chain(APALIS_CRATES)
        .chain(&["mongodb"])
    {
        assert!(
            in_table.iter().any(|t| t == name) || covered_by.iter().any(|(alias, _)| alias == name),
            "{name} is recognised but has no entry in coverage.toml"
        );
    }
}

/// The book shows the table as generated from the data: regenerate it with
/// `cargo xtask figures` after changing coverage.toml.
#[test]
fn the_book_page_is_the_table_as_generated() {
    let coverage = Coverage::load().unwrap_or_else(|error| panic!("{error}"));
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(BOOK_PAGE);
    let committed = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error}; run `cargo xtask figures`", path.display()));
    assert!(
        committed == coverage.markdown(),
        "{BOOK_PAGE} differs from coverage.toml; run `cargo xtask figures` and commit the result"
    );
}

/// `(line, rule)` pairs marked with `//~ rule` in a fixture (words after
/// `//~` that name no rule are prose).
fn marked(source: &str) -> BTreeSet<(usize, String)> {
    let rules: BTreeSet<&str> = eda_lint::rules::RULES
        .iter()
        .map(|rule| rule.name)
        .collect();
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
        .filter(|(_, mark)| rules.contains(mark.as_str()))
        .collect()
}

/// The per-crate fixtures in `tests/fixtures/apis/`, each written from one
/// crate's real signatures: every rule runs on each, a finding must be on a
/// line marked `//~ rule` and every mark must have its finding. The
/// findings are snapshotted (`apis-<file>`) so a change in what is said is
/// reviewed as a diff.
#[test]
fn every_api_fixture_is_reported_exactly_where_marked() {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/apis");
    let mut files: Vec<_> = std::fs::read_dir(&folder)
        .unwrap_or_else(|error| panic!("{}: {error}", folder.display()))
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", folder.display());
    let mut problems = Vec::new();
    let mut snapshots = Vec::new();
    for path in files {
        let source = std::fs::read_to_string(&path)
            .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        let report = lint_source(&path, &source, &Config::default());
        assert!(
            !report.is_incomplete(),
            "{} was not fully analysed: {:#?}",
            path.display(),
            report.diagnostics
        );
        let got: BTreeSet<(usize, String)> = report
            .findings
            .iter()
            .map(|f| (f.region.start.line, f.rule.to_string()))
            .collect();
        let want = marked(&source);
        let missing: Vec<_> = want.difference(&got).collect();
        let unexpected: Vec<_> = got.difference(&want).collect();
        let stem = path
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_default();
        let rendered = report
            .findings
            .iter()
            .map(|f| {
                format!(
                    "{}:{} {} [{:?}] {}",
                    f.region.start.line, f.region.start.column, f.rule, f.confidence, f.message
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        if !missing.is_empty() || !unexpected.is_empty() {
            problems.push(format!(
                "{stem}: missing {missing:?}, unexpected {unexpected:?}\n{rendered}"
            ));
        }
        snapshots.push((stem, rendered));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
    for (stem, rendered) in snapshots {
        insta::assert_snapshot!(format!("apis-{stem}"), rendered);
    }
}

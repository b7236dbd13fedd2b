//! The book states this broker's defaults and limits from one file,
//! `book/facts/brokers.toml` (its `workshop.*` facts), and the tables the
//! learner reads are generated from it. Nothing else ties those values to the
//! constants the broker runs with: a changed constant would leave the book
//! stating the old value. This test reads the file and holds every
//! `workshop.*` fact against the code, and fails on a workshop fact it does not
//! know how to check, so a new one cannot go unchecked.

use std::path::PathBuf;
use std::time::Duration;

use broker::{
    DEFAULT_AUTO_COMMIT_INTERVAL, DEFAULT_DUPLICATE_DETECTION_WINDOW, DEFAULT_ENABLE_AUTO_COMMIT,
    DEFAULT_ENABLE_AUTO_OFFSET_STORE, DEFAULT_LOCK_DURATION, DEFAULT_MAX_DELIVERY_COUNT,
    MAX_DUPLICATE_DETECTION_WINDOW, MAX_LOCK_DURATION, MIN_DUPLICATE_DETECTION_WINDOW,
    QueueOptions, ReceiveMode, Tier,
};
use serde::Deserialize;

/// The facts file, from this crate's folder.
fn facts_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../book/facts/brokers.toml")
}

#[derive(Debug, Deserialize)]
struct FactsFile {
    #[serde(rename = "fact")]
    facts: Vec<Fact>,
}

/// The fields of a fact this test reads (the file has more).
#[derive(Debug, Deserialize)]
struct Fact {
    id: String,
    broker: String,
    default: String,
    limit: Option<String>,
}

/// A value as the file writes it: a duration, a size or a plain number.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Value {
    Time(Duration),
    Bytes(u64),
    Count(u64),
}

/// The values written in `text`, in order: `60 s`, `at most 5 min`, `20 s to
/// 7 days`, `256 KB` (the file's KB and MB are 1024-based, as Service Bus's
/// quotas are), `10`.
fn values(text: &str) -> Vec<Value> {
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '(' | ')'))
        .filter(|word| !word.is_empty())
        .collect();
    let mut found = Vec::new();
    for (index, word) in words.iter().enumerate() {
        let Ok(number) = word.parse::<u64>() else {
            continue;
        };
        let unit = words.get(index + 1).copied().unwrap_or("");
        found.push(match unit {
            "ms" => Value::Time(Duration::from_millis(number)),
            "s" => Value::Time(Duration::from_secs(number)),
            "min" => Value::Time(Duration::from_secs(number * 60)),
            "h" => Value::Time(Duration::from_secs(number * 3600)),
            "day" | "days" => Value::Time(Duration::from_secs(number * 86_400)),
            "KB" | "KiB" => Value::Bytes(number * 1024),
            "MB" | "MiB" => Value::Bytes(number * 1024 * 1024),
            _ => Value::Count(number),
        });
    }
    found
}

/// Whether the file's `text` states exactly `expected`, in that order.
fn states(text: &str, expected: &[Value]) -> bool {
    values(text) == expected
}

/// What is wrong with one workshop fact, held against the code; `None` when
/// it agrees.
fn problem(fact: &Fact) -> Option<String> {
    let limit = fact.limit.as_deref().unwrap_or("");
    let mismatch = |field: &str, text: &str, code: String| {
        Some(format!(
            "fact `{}`: its {field} says {text:?}, the broker runs with {code}: correct the \
             file (or the constant), then `cargo xtask figures`",
            fact.id
        ))
    };
    match fact.id.as_str() {
        "workshop.receive-mode" => {
            let code = format!("{:?}", ReceiveMode::default()).to_lowercase();
            let file = fact.default.replace('-', "").to_lowercase();
            (file != code).then(|| {
                format!(
                    "fact `{}`: its default says {:?}, the broker's ReceiveMode::default() is \
                     {code}",
                    fact.id, fact.default
                )
            })
        }
        "workshop.lock-duration" => {
            let default = QueueOptions::default().lock_duration;
            if default != DEFAULT_LOCK_DURATION
                || !states(&fact.default, &[Value::Time(DEFAULT_LOCK_DURATION)])
            {
                return mismatch("default", &fact.default, format!("{default:?}"));
            }
            // The longest lock is allowed, one millisecond more is refused.
            let at_most = QueueOptions::default().with_lock_duration(MAX_LOCK_DURATION);
            let over = QueueOptions::default()
                .with_lock_duration(MAX_LOCK_DURATION + Duration::from_millis(1));
            if at_most.limit_broken().is_some()
                || over.limit_broken().is_none()
                || !states(limit, &[Value::Time(MAX_LOCK_DURATION)])
            {
                return mismatch("limit", limit, format!("at most {MAX_LOCK_DURATION:?}"));
            }
            None
        }
        "workshop.max-delivery-count" => {
            let default = QueueOptions::default().max_delivery_count;
            if default != DEFAULT_MAX_DELIVERY_COUNT
                || !states(&fact.default, &[Value::Count(u64::from(default))])
            {
                return mismatch("default", &fact.default, default.to_string());
            }
            // Asking for none gives the least there can be.
            let least = QueueOptions::default()
                .with_max_delivery_count(0)
                .max_delivery_count;
            if !states(limit, &[Value::Count(u64::from(least))]) {
                return mismatch("limit", limit, format!("at least {least}"));
            }
            None
        }
        "workshop.duplicate-window" => {
            let default = QueueOptions::default()
                .with_duplicate_detection()
                .duplicate_detection_window;
            if default != Some(DEFAULT_DUPLICATE_DETECTION_WINDOW)
                || !states(
                    &fact.default,
                    &[Value::Time(DEFAULT_DUPLICATE_DETECTION_WINDOW)],
                )
            {
                return mismatch("default", &fact.default, format!("{default:?}"));
            }
            let window = |length| {
                QueueOptions::default()
                    .with_duplicate_detection_window(length)
                    .limit_broken()
            };
            let edges_hold = window(MIN_DUPLICATE_DETECTION_WINDOW).is_none()
                && window(MAX_DUPLICATE_DETECTION_WINDOW).is_none()
                && window(MIN_DUPLICATE_DETECTION_WINDOW - Duration::from_millis(1)).is_some()
                && window(MAX_DUPLICATE_DETECTION_WINDOW + Duration::from_millis(1)).is_some();
            let range = [
                Value::Time(MIN_DUPLICATE_DETECTION_WINDOW),
                Value::Time(MAX_DUPLICATE_DETECTION_WINDOW),
            ];
            if !edges_hold || !states(limit, &range) {
                return mismatch(
                    "limit",
                    limit,
                    format!(
                        "{MIN_DUPLICATE_DETECTION_WINDOW:?} to {MAX_DUPLICATE_DETECTION_WINDOW:?}"
                    ),
                );
            }
            None
        }
        "workshop.auto-commit-interval" => (!states(
            &fact.default,
            &[Value::Time(DEFAULT_AUTO_COMMIT_INTERVAL)],
        ))
        .then(|| {
            format!(
                "fact `{}`: its default says {:?}, the broker's DEFAULT_AUTO_COMMIT_INTERVAL is \
                 {DEFAULT_AUTO_COMMIT_INTERVAL:?}",
                fact.id, fact.default
            )
        }),
        "workshop.kafka-consumer" => {
            // "librdkafka's: both `true`, every 5 s": the two flags and the
            // interval a ClientConfig with nothing set runs with.
            let both_true = DEFAULT_ENABLE_AUTO_COMMIT && DEFAULT_ENABLE_AUTO_OFFSET_STORE;
            let says_both_true = fact.default.contains("both `true`");
            (says_both_true != both_true
                || !states(&fact.default, &[Value::Time(DEFAULT_AUTO_COMMIT_INTERVAL)]))
            .then(|| {
                format!(
                    "fact `{}`: its default says {:?}, a ClientConfig with nothing set runs with \
                     enable.auto.commit={DEFAULT_ENABLE_AUTO_COMMIT}, \
                     enable.auto.offset.store={DEFAULT_ENABLE_AUTO_OFFSET_STORE}, every \
                     {DEFAULT_AUTO_COMMIT_INTERVAL:?}",
                    fact.id, fact.default
                )
            })
        }
        "workshop.message-size-standard" => {
            let code = [Tier::Basic, Tier::Standard].map(Tier::max_message_size);
            (code[0] != code[1] || !states(&fact.default, &[Value::Bytes(code[0] as u64)])).then(
                || {
                    format!(
                        "fact `{}`: its default says {:?}, Basic and Standard accept {:?} bytes",
                        fact.id, fact.default, code
                    )
                },
            )
        }
        "workshop.message-size-premium" => {
            let code = Tier::Premium.max_message_size();
            (!states(&fact.default, &[Value::Bytes(code as u64)])).then(|| {
                format!(
                    "fact `{}`: its default says {:?}, Premium accepts {code} bytes",
                    fact.id, fact.default
                )
            })
        }
        unknown => Some(format!(
            "fact `{unknown}` is about this broker, and tests/facts_file.rs does not check it: \
             add its check against the constant it states"
        )),
    }
}

/// Every problem of the workshop facts in the facts text `text`.
fn problems(text: &str) -> Vec<String> {
    let file: FactsFile = match toml::from_str(text) {
        Ok(file) => file,
        Err(error) => return vec![format!("the facts file does not parse: {error}")],
    };
    let workshop: Vec<&Fact> = file
        .facts
        .iter()
        .filter(|fact| fact.broker == "workshop")
        .collect();
    if workshop.is_empty() {
        return vec![
            "the facts file has no fact about this broker (`broker = \"workshop\"`)".into(),
        ];
    }
    workshop.into_iter().filter_map(problem).collect()
}

fn facts_text() -> String {
    let path = facts_path();
    std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

#[test]
fn the_facts_file_states_the_defaults_and_limits_this_broker_runs_with() {
    let found = problems(&facts_text());
    assert!(found.is_empty(), "{found:#?}");
}

/// The test above would pass on a file that checks nothing: each of these
/// edits of the real file, a value the code does not run with or a fact no
/// check knows, must be reported, naming the fact.
#[test]
fn a_fact_that_differs_from_the_code_is_reported() {
    let text = facts_text();
    let edits = [
        (
            "default = \"60 s\"\nlimit = \"at most 5 min, as Service Bus\"",
            "default = \"30 s\"\nlimit = \"at most 5 min, as Service Bus\"",
            "workshop.lock-duration",
        ),
        (
            "limit = \"at most 5 min, as Service Bus\"",
            "limit = \"at most 10 min, as Service Bus\"",
            "workshop.lock-duration",
        ),
        (
            "default = \"10\"\nlimit = \"at least 1\"",
            "default = \"20\"\nlimit = \"at least 1\"",
            "workshop.max-delivery-count",
        ),
        (
            "limit = \"20 s to 7 days, as Service Bus\"",
            "limit = \"60 s to 7 days, as Service Bus\"",
            "workshop.duplicate-window",
        ),
        (
            "default = \"librdkafka's: both `true`, every 5 s\"",
            "default = \"librdkafka's: both `true`, every 1 s\"",
            "workshop.kafka-consumer",
        ),
        (
            "default = \"100 MB\"",
            "default = \"1 MB\"",
            "workshop.message-size-premium",
        ),
        (
            "id = \"workshop.receive-mode\"",
            "id = \"workshop.prefetch\"",
            "workshop.prefetch",
        ),
    ];
    for (from, to, fact) in edits {
        assert!(text.contains(from), "the file no longer holds {from:?}");
        let found = problems(&text.replacen(from, to, 1));
        assert!(
            found.iter().any(|problem| problem.contains(fact)),
            "{fact}: {to:?} was not reported: {found:#?}"
        );
    }
}

#[test]
fn values_are_read_as_the_file_writes_them() {
    assert_eq!(
        values("at most 5 min, as Service Bus"),
        [Value::Time(Duration::from_secs(300))]
    );
    assert_eq!(
        values("20 s to 7 days"),
        [
            Value::Time(Duration::from_secs(20)),
            Value::Time(Duration::from_secs(7 * 86_400))
        ]
    );
    assert_eq!(values("256 KB"), [Value::Bytes(256 * 1024)]);
    assert_eq!(values("at least 1"), [Value::Count(1)]);
}

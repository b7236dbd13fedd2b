//! The SARIF output validated against the official SARIF 2.1.0 JSON schema
//! (OASIS, `sarif-schema-2.1.0.json`, vendored beside this test: the copy
//! serde-sarif 0.8.0 ships, whose `$id` is the OASIS schema's).

use std::process::Command;

/// The official schema's `language` pattern has a stray `]`, which draft-07
/// meta-validation rejects as an invalid regex. We never emit `language`, so
/// that one keyword is dropped from the in-memory copy; the vendored file
/// stays byte-for-byte the published one.
const BROKEN_LANGUAGE_PATTERN: &str = "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$";

fn drop_broken_pattern(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            if map.get("pattern").and_then(|p| p.as_str()) == Some(BROKEN_LANGUAGE_PATTERN) {
                map.remove("pattern");
            }
            map.values_mut().for_each(drop_broken_pattern);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(drop_broken_pattern),
        _ => {}
    }
}

fn validator() -> jsonschema::Validator {
    let mut schema: serde_json::Value =
        serde_json::from_str(include_str!("sarif-schema-2.1.0.json")).expect("the schema is JSON");
    drop_broken_pattern(&mut schema);
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the schema compiles")
}

fn sarif_of(files: &[(&str, &[u8])]) -> serde_json::Value {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("folders");
        std::fs::write(path, text).expect("write");
    }
    let output = Command::new(env!("CARGO_BIN_EXE_eda-lint"))
        .args(["check", "--output-format", "sarif"])
        .current_dir(dir.path())
        .output()
        .expect("run eda-lint");
    serde_json::from_slice(&output.stdout).expect("SARIF is JSON")
}

fn assert_valid(log: &serde_json::Value) {
    let validator = validator();
    let errors: Vec<String> = validator
        .iter_errors(log)
        .map(|error| format!("{} at {}", error, error.instance_path()))
        .collect();
    assert!(errors.is_empty(), "invalid SARIF:\n{}", errors.join("\n"));
}

#[test]
fn sarif_with_findings_of_every_kind_is_valid() {
    let log = sarif_of(&[
        (
            "src/handler.rs",
            b"use chrono::Local;\npub fn at() -> String { Local::now().to_rfc3339() }\n// eda-lint: allow(nope)\nfn broken(x: ) {}\n",
        ),
        ("src/dir with space/latin1.rs", b"// caf\xe9\n"),
    ]);
    let results = log["runs"][0]["results"].as_array().expect("results");
    assert!(results.len() >= 3, "{results:?}");
    let uris: Vec<&str> = results
        .iter()
        .filter_map(|r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str())
        .collect();
    assert!(
        uris.contains(&"src/dir%20with%20space/latin1.rs"),
        "{uris:?}"
    );
    assert_valid(&log);
}

#[test]
fn sarif_without_findings_is_valid() {
    let log = sarif_of(&[(
        "src/lib.rs",
        b"pub fn add(a: u32, b: u32) -> u32 { a + b }\n",
    )]);
    assert_eq!(log["runs"][0]["results"], serde_json::json!([]));
    assert_valid(&log);
}

#[test]
fn the_validator_rejects_a_broken_log() {
    // A check that cannot fail proves nothing: show the schema bites.
    let mut log = sarif_of(&[("src/lib.rs", b"fn broken(x: ) {}\n")]);
    log["runs"][0]["results"][0]["level"] = serde_json::json!("catastrophic");
    assert!(validator().iter_errors(&log).next().is_some());
}

//! Precision and recall of the rules on the labelled set in
//! `tests/accuracy/` (see its README): every `//~ <rule>` marker is an
//! expected finding on that line; everything else the rules report is a
//! false positive. The files at the top of the folder are the set the rules
//! were tuned on; each sub-folder is a later batch, written and labelled
//! before the rules were changed for it (its pre-fix figures are in the
//! README). The figures are printed per batch and for the whole set
//! (`cargo test -p eda-lint --test rules_accuracy -- --nocapture`), and the
//! whole set must stay above the targets.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use eda_lint::rules::RULES;
use eda_lint::{Config, lint_source};

const PRECISION_TARGET: f64 = 0.9;
const RECALL_TARGET: f64 = 0.8;

#[derive(Default, Clone, Copy)]
struct Counts {
    true_positives: usize,
    false_positives: usize,
    false_negatives: usize,
}

impl Counts {
    fn precision(&self) -> f64 {
        let reported = self.true_positives + self.false_positives;
        if reported == 0 {
            1.0
        } else {
            self.true_positives as f64 / reported as f64
        }
    }

    fn recall(&self) -> f64 {
        let expected = self.true_positives + self.false_negatives;
        if expected == 0 {
            1.0
        } else {
            self.true_positives as f64 / expected as f64
        }
    }

    fn add(&mut self, other: Counts) {
        self.true_positives += other.true_positives;
        self.false_positives += other.false_positives;
        self.false_negatives += other.false_negatives;
    }
}

/// `(line, rule)` pairs marked in a file.
fn expected(source: &str) -> BTreeSet<(usize, String)> {
    source
        .lines()
        .enumerate()
        .flat_map(|(index, line)| {
            line.split("//~").skip(1).flat_map(move |marks| {
                marks
                    .split_whitespace()
                    .map(move |mark| (index + 1, mark.to_string()))
            })
        })
        .collect()
}

/// The `.rs` files directly in `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("the accuracy set exists")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .collect();
    files.sort();
    files
}

/// The batches: the tuning set at the top, then each sub-folder by name.
fn batches(dir: &Path) -> Vec<(String, Vec<PathBuf>)> {
    let mut batches = vec![("tuning".to_string(), rust_files(dir))];
    let mut folders: Vec<_> = std::fs::read_dir(dir)
        .expect("the accuracy set exists")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_dir())
        .collect();
    folders.sort();
    for folder in folders {
        let name = folder
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        batches.push((name, rust_files(&folder)));
    }
    batches
}

fn print_table(title: &str, per_rule: &BTreeMap<&str, Counts>) -> Counts {
    let mut overall = Counts::default();
    println!("== {title}");
    println!(
        "{:<26} {:>4} {:>4} {:>4} {:>9} {:>7}",
        "rule", "TP", "FP", "FN", "precision", "recall"
    );
    for (rule, counts) in per_rule {
        overall.add(*counts);
        println!(
            "{:<26} {:>4} {:>4} {:>4} {:>9.2} {:>7.2}",
            rule,
            counts.true_positives,
            counts.false_positives,
            counts.false_negatives,
            counts.precision(),
            counts.recall()
        );
    }
    println!(
        "{:<26} {:>4} {:>4} {:>4} {:>9.2} {:>7.2}",
        "overall",
        overall.true_positives,
        overall.false_positives,
        overall.false_negatives,
        overall.precision(),
        overall.recall()
    );
    overall
}

#[test]
fn precision_and_recall_stay_above_the_targets() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/accuracy");
    let batches = batches(&dir);
    let file_count: usize = batches.iter().map(|(_, files)| files.len()).sum();
    assert!(
        file_count >= 10,
        "the accuracy set is too small to say anything"
    );

    let empty = || -> BTreeMap<&str, Counts> {
        RULES
            .iter()
            .map(|rule| (rule.name, Counts::default()))
            .collect()
    };
    let mut per_rule = empty();
    let mut mistakes = Vec::new();
    // Every rule runs, the opt-in ones too: this set has no label for an
    // opt-in rule (its figure comes from real code, see
    // `tests/realworld/README.md`), but a finding of one here is still a
    // false positive and counts against it.
    let mut every_rule = toml::Table::new();
    every_rule.insert(
        "select".into(),
        toml::Value::Array(RULES.iter().map(|rule| rule.name.into()).collect()),
    );
    let config = Config::default()
        .with_overrides(&every_rule, Path::new("tests/rules_accuracy.rs"))
        .expect("every rule is known");
    for (batch, files) in &batches {
        let mut batch_counts = empty();
        for path in files {
            let source = std::fs::read_to_string(path).expect("readable");
            let report = lint_source(path, &source, &config);
            assert!(
                !report.is_incomplete(),
                "{} was not fully analysed: {:#?}",
                path.display(),
                report.diagnostics
            );
            let got: BTreeSet<(usize, String)> = report
                .findings
                .iter()
                .map(|finding| (finding.region.start.line, finding.rule.to_string()))
                .collect();
            let want = expected(&source);
            let file = format!(
                "{batch}/{}",
                path.file_name().unwrap_or_default().to_string_lossy()
            );
            for rule in RULES {
                let got: BTreeSet<_> = got.iter().filter(|(_, r)| r == rule.name).collect();
                let want: BTreeSet<_> = want.iter().filter(|(_, r)| r == rule.name).collect();
                let counts = Counts {
                    true_positives: got.intersection(&want).count(),
                    false_positives: got.difference(&want).count(),
                    false_negatives: want.difference(&got).count(),
                };
                for (line, _) in got.difference(&want) {
                    mistakes.push(format!("FP {file}:{line} {}", rule.name));
                }
                for (line, _) in want.difference(&got) {
                    mistakes.push(format!("FN {file}:{line} {}", rule.name));
                }
                if let Some(total) = per_rule.get_mut(rule.name) {
                    total.add(counts);
                }
                if let Some(total) = batch_counts.get_mut(rule.name) {
                    total.add(counts);
                }
            }
        }
        print_table(
            &format!("batch {batch} ({} files)", files.len()),
            &batch_counts,
        );
    }

    let overall = print_table("all batches", &per_rule);
    for mistake in &mistakes {
        println!("{mistake}");
    }

    for (rule, counts) in &per_rule {
        let opt_in = RULES.iter().any(|r| r.name == *rule && r.opt_in);
        assert!(
            opt_in || counts.true_positives + counts.false_negatives > 0,
            "{rule}: no labelled finding in the set"
        );
        assert!(
            counts.precision() >= PRECISION_TARGET,
            "{rule}: precision {:.2} below {PRECISION_TARGET}",
            counts.precision()
        );
        assert!(
            counts.recall() >= RECALL_TARGET,
            "{rule}: recall {:.2} below {RECALL_TARGET}",
            counts.recall()
        );
    }
    assert!(overall.precision() >= PRECISION_TARGET && overall.recall() >= RECALL_TARGET);
}

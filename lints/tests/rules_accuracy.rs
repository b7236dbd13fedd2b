//! Precision and recall of the rules on the labelled set in
//! `tests/accuracy/` (see its README): every `//~ <rule>` marker is an
//! expected finding on that line; everything else the rules report is a
//! false positive. The figures are printed (`cargo test -p eda-lint --test
//! rules_accuracy -- --nocapture`) and must stay above the targets.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

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

#[test]
fn precision_and_recall_stay_above_the_targets() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/accuracy");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("the accuracy set exists")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 10,
        "the accuracy set is too small to say anything"
    );

    let mut per_rule: BTreeMap<&str, Counts> = RULES
        .iter()
        .map(|rule| (rule.name, Counts::default()))
        .collect();
    let mut mistakes = Vec::new();
    for path in &files {
        let source = std::fs::read_to_string(path).expect("readable");
        let report = lint_source(path, &source, &Config::default());
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
        for rule in RULES {
            let got: BTreeSet<_> = got.iter().filter(|(_, r)| r == rule.name).collect();
            let want: BTreeSet<_> = want.iter().filter(|(_, r)| r == rule.name).collect();
            let counts = Counts {
                true_positives: got.intersection(&want).count(),
                false_positives: got.difference(&want).count(),
                false_negatives: want.difference(&got).count(),
            };
            for (line, _) in got.difference(&want) {
                mistakes.push(format!(
                    "FP {}:{line} {}",
                    path.file_name().unwrap_or_default().to_string_lossy(),
                    rule.name
                ));
            }
            for (line, _) in want.difference(&got) {
                mistakes.push(format!(
                    "FN {}:{line} {}",
                    path.file_name().unwrap_or_default().to_string_lossy(),
                    rule.name
                ));
            }
            if let Some(total) = per_rule.get_mut(rule.name) {
                total.add(counts);
            }
        }
    }

    let mut overall = Counts::default();
    println!(
        "{:<26} {:>4} {:>4} {:>4} {:>9} {:>7}",
        "rule", "TP", "FP", "FN", "precision", "recall"
    );
    for (rule, counts) in &per_rule {
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
    for mistake in &mistakes {
        println!("{mistake}");
    }

    for (rule, counts) in &per_rule {
        assert!(
            counts.true_positives + counts.false_negatives > 0,
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

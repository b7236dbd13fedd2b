//! eda-lint, called as a library on one file's text.
//!
//! `verify` lints the shipped starter (its committed text, which may not be
//! on disk) and the solution, and compares the rules reported with the
//! catalogue. A file the linter could not fully analyse never counts as
//! clean: that is reported as trouble.

use std::path::Path;

/// What eda-lint said about one file.
pub struct Linted {
    /// `(rule, line)` of each finding, in the linter's order.
    pub findings: Vec<(String, usize)>,
    /// The linter's diagnostics about the file itself (a parse error, a
    /// suppression problem): the file was not cleanly analysed.
    pub trouble: Vec<String>,
    /// One line per finding, for a failure message.
    pub listing: String,
    /// The findings as `eda-lint check` prints them: rustc-style, with the
    /// source snippet and the chapter to read, then its summary line.
    pub rendered: String,
}

impl Linted {
    /// The rules reported, sorted, each once.
    pub fn rules(&self) -> Vec<String> {
        let mut rules: Vec<String> = self.findings.iter().map(|(rule, _)| rule.clone()).collect();
        rules.sort();
        rules.dedup();
        rules
    }
}

/// Lints `text` as the file `path` with the default configuration.
pub fn lint(path: &Path, text: &str) -> Linted {
    let owned_path = path.to_path_buf();
    let owned_text = text.to_string();
    // eda-lint recommends a big stack for deeply nested input; a learner's
    // file is small, but the linter's advice costs nothing to follow.
    let worker = std::thread::Builder::new()
        .stack_size(64 * 1024 * 1024)
        .spawn(move || {
            eda_lint::lint_source(&owned_path, &owned_text, &eda_lint::Config::default())
        });
    let report = match worker.map(|handle| handle.join()) {
        Ok(Ok(report)) => report,
        Ok(Err(_)) => {
            return trouble(path, "eda-lint panicked on this file");
        }
        Err(error) => return trouble(path, &format!("cannot start the lint thread: {error}")),
    };
    let describe = |finding: &eda_lint::finding::Finding| {
        format!(
            "{}:{}:{}: {}: {}",
            path.display(),
            finding.region.start.line,
            finding.region.start.column,
            finding.rule,
            finding.message
        )
    };
    let rendered = rustc_style(path, text, &report);
    Linted {
        rendered,
        findings: report
            .findings
            .iter()
            .map(|finding| (finding.rule.to_string(), finding.region.start.line))
            .collect(),
        trouble: report.diagnostics.iter().map(describe).collect(),
        listing: report
            .findings
            .iter()
            .map(describe)
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

/// The report rendered as the linter's own `text` format (no colour), for a
/// learner who reads it in `grade`'s output as they would in a terminal.
fn rustc_style(path: &Path, text: &str, report: &eda_lint::FileReport) -> String {
    let config = eda_lint::Config::default();
    let run = eda_lint::run::RunReport {
        files: vec![eda_lint::run::LintedFile {
            report: report.clone(),
            source: Some(std::sync::Arc::from(text)),
        }],
        files_checked: 1,
        ..Default::default()
    };
    let context = eda_lint::output::Context {
        config: &config,
        report: &run,
        book_url: eda_lint::output::DEFAULT_BOOK_URL,
        color: false,
        project_root: path.parent().unwrap_or(Path::new("")).to_path_buf(),
    };
    eda_lint::output::render(eda_lint::output::Format::Text, &context)
}

fn trouble(path: &Path, problem: &str) -> Linted {
    let trouble = format!("{}: {problem}", path.display());
    Linted {
        findings: Vec::new(),
        rendered: format!("{trouble}\n"),
        trouble: vec![trouble],
        listing: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_the_rules_a_file_trips_and_nothing_on_a_clean_one() {
        let auto_ack = "use broker::{ReceiveMode, ReceiveOptions};\n\
            fn options() -> ReceiveOptions {\n\
                ReceiveOptions::default().with_mode(ReceiveMode::ReceiveAndDelete)\n\
            }\n";
        let linted = lint(Path::new("consumer.rs"), auto_ack);
        assert_eq!(
            linted.rules(),
            vec!["auto-ack".to_string()],
            "{}",
            linted.listing
        );
        assert!(linted.trouble.is_empty());

        // As `eda-lint check` prints it: the rule, the place, the snippet.
        assert!(
            linted.rendered.starts_with("warning[auto-ack]: "),
            "{}",
            linted.rendered
        );
        assert!(
            linted.rendered.contains("--> consumer.rs:3:"),
            "{}",
            linted.rendered
        );
        assert!(
            linted
                .rendered
                .ends_with("eda-lint: 1 finding (0 errors, 1 warning) in 1 of 1 file\n"),
            "{}",
            linted.rendered
        );

        let clean = lint(Path::new("clean.rs"), "fn main() {}\n");
        assert!(clean.rendered.contains("no findings"), "{}", clean.rendered);
        assert!(clean.rules().is_empty() && clean.trouble.is_empty());
    }

    #[test]
    fn a_file_that_does_not_parse_is_trouble_not_clean() {
        let broken = lint(Path::new("broken.rs"), "fn main( {\n");
        assert!(!broken.trouble.is_empty());
    }
}

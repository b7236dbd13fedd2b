//! What linting one file produced.

use std::path::PathBuf;

use crate::diagnostics;
use crate::finding::Finding;

/// The result of linting one file: rule findings and the linter's own
/// diagnostics, each sorted by position (then rule, then message), so the
/// same input always gives the same output.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileReport {
    /// The path as given.
    pub path: PathBuf,
    /// What the rules found, after suppressions and `min-confidence`.
    pub findings: Vec<Finding>,
    /// What the linter says about the file itself: `parse-error`,
    /// `too-deeply-nested`, `internal-error`, `io-error` and the suppression
    /// diagnostics (see [`crate::diagnostics`]).
    pub diagnostics: Vec<Finding>,
}

impl FileReport {
    /// Rule findings and diagnostics together, sorted by position.
    pub fn all(&self) -> Vec<&Finding> {
        let mut all: Vec<&Finding> = self.findings.iter().chain(&self.diagnostics).collect();
        all.sort_by(|a, b| order(a, b));
        all
    }

    /// True if nothing at all was reported.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty() && self.diagnostics.is_empty()
    }

    /// True if some of the file was not analysed (so it must not look clean).
    pub fn is_incomplete(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| diagnostics::by_name(d.rule).is_some_and(|d| d.unanalysed))
    }

    /// True if none of the file was analysed, or the linter failed on it.
    pub fn is_fatal(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| diagnostics::by_name(d.rule).is_some_and(|d| d.fatal))
    }
}

/// The order findings are reported in: position, then rule, then message.
pub fn order(a: &Finding, b: &Finding) -> std::cmp::Ordering {
    (a.region, a.rule, &a.message).cmp(&(b.region, b.rule, &b.message))
}

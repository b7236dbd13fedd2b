//! Baselines: adopt the linter on a large codebase and see only new findings.
//!
//! `--write-baseline FILE` records every current finding; `--baseline FILE`
//! hides the findings recorded there. An entry is keyed on content, not on
//! line numbers, so code moving up or down does not bring old findings back:
//!
//! - the rule,
//! - the file's path relative to the project root (`/` separators),
//! - the text the finding points at, with whitespace collapsed,
//! - the occurrence index among findings with the same three values in that
//!   file (so two identical findings need two entries).
//!
//! The same key is the SARIF `partialFingerprints` value, so code scanning
//! tracks a finding across commits the same way.
//!
//! Diagnostics that mean a file was not analysed (`io-error`, `parse-error`,
//! `too-deeply-nested`, `internal-error`) are never hidden by a baseline:
//! a baseline must not make an unread file look clean.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::diagnostics;
use crate::finding::Finding;
use crate::source::LineIndex;

/// The on-disk format version.
const VERSION: u32 = 1;

/// A baseline file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    pub version: u32,
    pub findings: Vec<Entry>,
}

/// One recorded finding. `message` is kept for humans reading the file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub rule: String,
    pub path: String,
    pub fingerprint: String,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("could not read the baseline {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not an eda-lint baseline: {message}")]
    Format { path: PathBuf, message: String },
    #[error("could not write the baseline {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A 64-bit FNV-1a hash: tiny, and stable across Rust versions and
/// platforms, unlike `std`'s `DefaultHasher`.
fn fnv1a(parts: &[&str]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain(std::iter::once(0)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    hash
}

/// The text a finding points at, whitespace collapsed; the whole start line
/// if the region is empty; the message if there is no text at all.
fn snippet(finding: &Finding, source: Option<&LineIndex<'_>>) -> String {
    let Some(index) = source else {
        return finding.message.clone();
    };
    let mut text = index.slice(finding.region);
    if text.trim().is_empty() {
        text = index.line(finding.region.start.line);
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The project-relative path used in keys and SARIF URIs: `/`-separated.
pub fn key_path(config: &Config, path: &Path) -> String {
    let relative = config.relative(path);
    relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// The fingerprint of each finding of one file (same order as `findings`).
pub fn fingerprints(rule_path: &str, findings: &[&Finding], source: Option<&str>) -> Vec<String> {
    let index = source.map(LineIndex::new);
    let mut seen: BTreeMap<(u64, &str), usize> = BTreeMap::new();
    findings
        .iter()
        .map(|finding| {
            let hash = fnv1a(&[finding.rule, rule_path, &snippet(finding, index.as_ref())]);
            let occurrence = seen.entry((hash, finding.rule)).or_insert(0);
            let key = format!("{hash:016x}:{occurrence}");
            *occurrence += 1;
            key
        })
        .collect()
}

/// Whether a baseline may hide this finding.
fn may_hide(finding: &Finding) -> bool {
    !diagnostics::by_name(finding.rule).is_some_and(|d| d.unanalysed)
}

impl Baseline {
    pub fn read(path: &Path) -> Result<Baseline, BaselineError> {
        let text = std::fs::read_to_string(path).map_err(|source| BaselineError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let baseline: Baseline =
            serde_json::from_str(&text).map_err(|error| BaselineError::Format {
                path: path.to_path_buf(),
                message: error.to_string(),
            })?;
        if baseline.version != VERSION {
            return Err(BaselineError::Format {
                path: path.to_path_buf(),
                message: format!(
                    "version {} is not supported (expected {VERSION})",
                    baseline.version
                ),
            });
        }
        Ok(baseline)
    }

    pub fn write(&self, path: &Path) -> Result<(), BaselineError> {
        let mut text =
            serde_json::to_string_pretty(self).map_err(|error| BaselineError::Format {
                path: path.to_path_buf(),
                message: error.to_string(),
            })?;
        text.push('\n');
        std::fs::write(path, text).map_err(|source| BaselineError::Write {
            path: path.to_path_buf(),
            source,
        })
    }

    /// A baseline of every finding in `files`.
    pub fn record(files: &[crate::run::LintedFile], config: &Config) -> Baseline {
        let mut findings = Vec::new();
        for file in files {
            let path = key_path(config, &file.report.path);
            let all = file.report.all();
            let keys = fingerprints(&path, &all, file.source.as_deref());
            for (finding, fingerprint) in all.into_iter().zip(keys) {
                if may_hide(finding) {
                    findings.push(Entry {
                        rule: finding.rule.to_string(),
                        path: path.clone(),
                        fingerprint,
                        message: finding.message.clone(),
                    });
                }
            }
        }
        findings.sort();
        Baseline {
            version: VERSION,
            findings,
        }
    }

    /// Removes the findings this baseline records from `files`. Returns how
    /// many were hidden and how many entries matched nothing (stale).
    pub fn apply(&self, files: &mut [crate::run::LintedFile], config: &Config) -> (usize, usize) {
        let known: BTreeSet<(&str, &str, &str)> = self
            .findings
            .iter()
            .map(|e| (e.rule.as_str(), e.path.as_str(), e.fingerprint.as_str()))
            .collect();
        let mut matched: BTreeSet<(String, String, String)> = BTreeSet::new();
        let mut hidden = 0;
        for file in files.iter_mut() {
            let path = key_path(config, &file.report.path);
            let keep = |list: &[Finding], source: Option<&str>, matched: &mut BTreeSet<_>| {
                let refs: Vec<&Finding> = list.iter().collect();
                let keys = fingerprints(&path, &refs, source);
                list.iter()
                    .zip(keys)
                    .map(|(finding, key)| {
                        let hit = may_hide(finding)
                            && known.contains(&(finding.rule, path.as_str(), key.as_str()));
                        if hit {
                            matched.insert((finding.rule.to_string(), path.clone(), key));
                        }
                        !hit
                    })
                    .collect::<Vec<bool>>()
            };
            // Fingerprints are computed over findings and diagnostics
            // together, as when recording.
            let source = file.source.clone();
            let all: Vec<Finding> = file.report.all().into_iter().cloned().collect();
            let keep_all = keep(&all, source.as_deref(), &mut matched);
            let kept: Vec<&Finding> = all
                .iter()
                .zip(&keep_all)
                .filter(|(_, keep)| **keep)
                .map(|(f, _)| f)
                .collect();
            hidden += all.len() - kept.len();
            let is_rule_finding = |f: &Finding| diagnostics::by_name(f.rule).is_none();
            file.report.findings = kept
                .iter()
                .filter(|f| is_rule_finding(f))
                .map(|f| (*f).clone())
                .collect();
            file.report.diagnostics = kept
                .iter()
                .filter(|f| !is_rule_finding(f))
                .map(|f| (*f).clone())
                .collect();
        }
        let stale = self.findings.len() - matched.len().min(self.findings.len());
        (hidden, stale)
    }
}

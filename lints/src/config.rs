//! Configuration: which rules run where, and how they report.
//!
//! It is read from the first of these found walking up from the first path
//! being linted (the closest one wins; they are not merged):
//!
//! 1. `eda-lint.toml` (keys at the top level),
//! 2. `Cargo.toml` `[package.metadata.eda-lint]`,
//! 3. `Cargo.toml` `[workspace.metadata.eda-lint]`.
//!
//! (Not `[lints.eda-lint]`: cargo passes those through to rustc, which fails
//! on an unknown lint tool.) Every key:
//!
//! ```toml
//! select = ["all"]                 # rules to run (default: all but the opt-in ones;
//!                                  # an opt-in rule runs only when named:
//!                                  # select = ["all", "lost-update"])
//! ignore = ["local-time"]          # rules not to run, after `select`
//! exclude = ["generated/**"]       # globs, relative to the config's folder
//! min-confidence = "medium"        # drop findings less sure than this
//! prefilter = false                # skip files that mention no relevant crate
//! include-tests = false            # also lint test code (see `test_code.rs`)
//!
//! [per-file-ignores]
//! "tests/**" = ["missing-idempotency-key"]
//!
//! [rules.dual-write]
//! severity = "error"               # or "warning"
//!
//! [wrappers]                       # your own publish / ack / event APIs
//! ```
//!
//! An unknown key or rule name is an error that names the nearest valid one.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::analysis::UserApis;
use crate::diagnostics;
use crate::finding::{Confidence, Severity};
use crate::rules::{self, Rule};

/// The file name of a stand-alone config.
pub const CONFIG_FILE: &str = "eda-lint.toml";

/// Every top-level key, for suggestions.
const KEYS: &[&str] = &[
    "select",
    "ignore",
    "exclude",
    "per-file-ignores",
    "min-confidence",
    "prefilter",
    "include-tests",
    "rules",
    "wrappers",
];

/// Every key of a `[rules.<name>]` table.
const RULE_KEYS: &[&str] = &["severity"];

/// A config that could not be used. Each variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("could not read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not valid TOML: {message}")]
    Toml { path: PathBuf, message: String },
    #[error("{path}: unknown key `{key}`{}", suggestion_text(.suggestion))]
    UnknownKey {
        path: PathBuf,
        key: String,
        suggestion: Option<String>,
    },
    #[error("{path}: unknown rule `{name}` in `{key}`{}", suggestion_text(.suggestion))]
    UnknownRule {
        path: PathBuf,
        key: String,
        name: String,
        suggestion: Option<String>,
    },
    #[error("{path}: `{name}` cannot be ignored: it means a file was not (fully) analysed")]
    NotIgnorable { path: PathBuf, name: String },
    #[error("{path}: `{key}`: {message}")]
    Invalid {
        path: PathBuf,
        key: String,
        message: String,
    },
}

fn suggestion_text(suggestion: &Option<String>) -> String {
    match suggestion {
        Some(near) => format!("; did you mean `{near}`?"),
        None => String::new(),
    }
}

/// The candidate closest to `name`, if any is close enough to be a typo.
pub fn nearest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|candidate| (strsim::jaro_winkler(name, candidate), candidate))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate)
}

/// Every name a user can write in `select`, `ignore` or a suppression.
pub fn all_names() -> Vec<&'static str> {
    rules::RULES
        .iter()
        .map(|rule| rule.name)
        .chain(diagnostics::TOOL_DIAGNOSTICS.iter().map(|d| d.name))
        .collect()
}

/// The validated configuration of one run.
#[derive(Debug, Clone)]
pub struct Config {
    /// The rules that run, in registry order.
    selected: Vec<&'static str>,
    /// Tool diagnostics switched off (only those that do not hide unanalysed code).
    ignored_diagnostics: BTreeSet<&'static str>,
    per_file_ignores: Vec<(globset::GlobMatcher, Vec<&'static str>)>,
    exclude: GlobSet,
    severities: BTreeMap<&'static str, Severity>,
    /// Findings less sure than this are dropped.
    pub min_confidence: Confidence,
    /// Skip files that mention none of the crates the rules know (see `prefilter.rs`).
    pub prefilter: bool,
    /// Lint test code too (`#[cfg(test)]` and `#[test]` items, `tests/`,
    /// `benches/`, `examples/`): by default it is left out, because acking
    /// first or publishing without an id is what a test does on purpose.
    pub include_tests: bool,
    /// The folder globs are relative to: the config's folder, or the
    /// current directory when there is no config.
    pub root: PathBuf,
    /// The file this came from, if any.
    pub origin: Option<PathBuf>,
    /// The last path segment of every name under `wrappers`, for the pre-filter.
    wrapper_words: Vec<String>,
    /// The team's own APIs, from `wrappers`.
    pub user_apis: UserApis,
}

impl Default for Config {
    /// Every rule and every diagnostic, no exclusions, paths relative to the
    /// current directory.
    fn default() -> Self {
        Config {
            selected: rules::default_names().collect(),
            ignored_diagnostics: BTreeSet::new(),
            per_file_ignores: Vec::new(),
            exclude: GlobSet::empty(),
            severities: BTreeMap::new(),
            min_confidence: Confidence::Low,
            prefilter: false,
            include_tests: false,
            root: std::env::current_dir().unwrap_or_default(),
            origin: None,
            wrapper_words: Vec::new(),
            user_apis: UserApis::default(),
        }
    }
}

impl Config {
    /// The rules that run on `path` (per-file ignores applied).
    pub fn rules_for(&self, path: &Path) -> Vec<&'static Rule> {
        let ignored = self.ignored_for(path);
        self.selected
            .iter()
            .filter(|name| !ignored.contains(*name))
            .filter_map(|name| rules::by_name(name))
            .collect()
    }

    /// Whether the tool diagnostic (or rule) `name` is reported on `path`.
    pub fn reports(&self, name: &str, path: &Path) -> bool {
        if let Some(diagnostic) = diagnostics::by_name(name) {
            return diagnostic.unanalysed
                || (!self.ignored_diagnostics.contains(name)
                    && !self.ignored_for(path).contains(&name));
        }
        self.selected.contains(&name) && !self.ignored_for(path).contains(&name)
    }

    fn ignored_for(&self, path: &Path) -> BTreeSet<&'static str> {
        if self.per_file_ignores.is_empty() {
            return BTreeSet::new();
        }
        let relative = self.relative(path);
        self.per_file_ignores
            .iter()
            .filter(|(glob, _)| glob.is_match(&relative))
            .flat_map(|(_, names)| names.iter().copied())
            .collect()
    }

    /// Whether `path` is excluded from linting.
    pub fn is_excluded(&self, path: &Path) -> bool {
        !self.exclude.is_empty() && self.exclude.is_match(self.relative(path))
    }

    /// `path` relative to the config's root (or as given if outside it).
    pub fn relative(&self, path: &Path) -> PathBuf {
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        absolute
            .strip_prefix(&self.root)
            .map_or_else(|_| path.to_path_buf(), Path::to_path_buf)
    }

    /// The names the user's wrappers are called by (last path segments).
    pub fn wrapper_names(&self) -> impl Iterator<Item = &str> {
        self.wrapper_words.iter().map(String::as_str)
    }

    /// The severity a finding of `rule` is reported with.
    pub fn severity_of(&self, rule: &str) -> Severity {
        if let Some(severity) = self.severities.get(rule) {
            return *severity;
        }
        if let Some(rule) = rules::by_name(rule) {
            return rule.default_severity;
        }
        diagnostics::by_name(rule).map_or(Severity::Warning, |d| d.severity)
    }

    /// Finds and reads the config that applies to `start` (a file or folder),
    /// walking up its ancestors. No config found is not an error: the
    /// defaults apply, rooted at the current directory.
    pub fn discover(start: &Path) -> Result<Config, ConfigError> {
        let absolute = std::path::absolute(start).unwrap_or_else(|_| start.to_path_buf());
        let mut folder = if absolute.is_dir() {
            Some(absolute.as_path())
        } else {
            absolute.parent()
        };
        while let Some(dir) = folder {
            if let Some(config) = Self::in_folder(dir)? {
                return Ok(config);
            }
            folder = dir.parent();
        }
        Ok(Config::default())
    }

    /// The config that lives in exactly this folder, if any.
    pub fn in_folder(dir: &Path) -> Result<Option<Config>, ConfigError> {
        let standalone = dir.join(CONFIG_FILE);
        if standalone.is_file() {
            let table = read_table(&standalone)?;
            return Self::from_table(&table, &standalone, dir).map(Some);
        }
        let manifest = dir.join("Cargo.toml");
        if manifest.is_file() {
            let table = read_table(&manifest)?;
            for section in ["package", "workspace"] {
                let found = table
                    .get(section)
                    .and_then(|s| s.get("metadata"))
                    .and_then(|m| m.get("eda-lint"));
                if let Some(found) = found {
                    let origin = manifest.clone();
                    let Some(inner) = found.as_table() else {
                        return Err(ConfigError::Invalid {
                            path: origin,
                            key: format!("{section}.metadata.eda-lint"),
                            message: String::from("expected a table"),
                        });
                    };
                    return Self::from_table(inner, &origin, dir).map(Some);
                }
            }
        }
        Ok(None)
    }

    /// Reads a config file given explicitly (`--config`): an `eda-lint.toml`
    /// or a `Cargo.toml` with an `eda-lint` metadata table.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let root = std::path::absolute(path)
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf))
            .unwrap_or_default();
        if path.file_name().is_some_and(|name| name == "Cargo.toml") {
            return Self::in_folder(&root)?.ok_or_else(|| ConfigError::Invalid {
                path: path.to_path_buf(),
                key: String::from("metadata.eda-lint"),
                message: String::from(
                    "no [package.metadata.eda-lint] or [workspace.metadata.eda-lint] table",
                ),
            });
        }
        let table = read_table(path)?;
        Self::from_table(&table, path, &root)
    }

    /// Validates the keys of one config table.
    pub fn from_table(
        table: &toml::Table,
        origin: &Path,
        root: &Path,
    ) -> Result<Config, ConfigError> {
        let path = origin.to_path_buf();
        for key in table.keys() {
            if !KEYS.contains(&key.as_str()) {
                return Err(ConfigError::UnknownKey {
                    path,
                    key: key.clone(),
                    suggestion: nearest(key, KEYS.iter().copied()).map(String::from),
                });
            }
        }
        let names = all_names();
        let rule_names = |key: &str| -> Result<Vec<&'static str>, ConfigError> {
            let Some(value) = table.get(key) else {
                return Ok(Vec::new());
            };
            names_in(value, key, &path, &names)
        };
        let mut config = Config {
            root: std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf()),
            origin: Some(path.clone()),
            ..Config::default()
        };
        if table.contains_key("select") {
            let select = rule_names("select")?;
            config.selected = rules::RULES
                .iter()
                .filter(|rule| {
                    select.contains(&rule.name) || (select.contains(&"all") && !rule.opt_in)
                })
                .map(|rule| rule.name)
                .collect();
        }
        for name in rule_names("ignore")? {
            if name == "all" {
                config.selected.clear();
                continue;
            }
            if diagnostics::by_name(name).is_some_and(|d| d.unanalysed) {
                return Err(ConfigError::NotIgnorable {
                    path,
                    name: name.to_string(),
                });
            }
            config.selected.retain(|selected| *selected != name);
            if diagnostics::by_name(name).is_some() {
                config.ignored_diagnostics.insert(name);
            }
        }
        if let Some(value) = table.get("exclude") {
            let mut builder = GlobSetBuilder::new();
            for pattern in strings_in(value, "exclude", &path)? {
                builder.add(glob(&pattern, "exclude", &path)?);
            }
            config.exclude = builder.build().map_err(|error| ConfigError::Invalid {
                path: path.clone(),
                key: String::from("exclude"),
                message: error.to_string(),
            })?;
        }
        if let Some(value) = table.get("per-file-ignores") {
            let Some(entries) = value.as_table() else {
                return Err(invalid(
                    &path,
                    "per-file-ignores",
                    "expected a table of glob = [rules]",
                ));
            };
            for (pattern, rules) in entries {
                let key = format!("per-file-ignores.\"{pattern}\"");
                let matcher = glob(pattern, &key, &path)?.compile_matcher();
                let names = names_in(rules, &key, &path, &names)?;
                if let Some(name) = names
                    .iter()
                    .find(|n| diagnostics::by_name(n).is_some_and(|d| d.unanalysed))
                {
                    return Err(ConfigError::NotIgnorable {
                        path,
                        name: name.to_string(),
                    });
                }
                config.per_file_ignores.push((matcher, names));
            }
        }
        if let Some(value) = table.get("min-confidence") {
            config.min_confidence = match value.as_str() {
                Some("low") => Confidence::Low,
                Some("medium") => Confidence::Medium,
                Some("high") => Confidence::High,
                _ => {
                    return Err(invalid(
                        &path,
                        "min-confidence",
                        "expected \"low\", \"medium\" or \"high\"",
                    ));
                }
            };
        }
        if let Some(value) = table.get("prefilter") {
            config.prefilter = value
                .as_bool()
                .ok_or_else(|| invalid(&path, "prefilter", "expected true or false"))?;
        }
        if let Some(value) = table.get("include-tests") {
            config.include_tests = value
                .as_bool()
                .ok_or_else(|| invalid(&path, "include-tests", "expected true or false"))?;
        }
        if let Some(value) = table.get("rules") {
            let Some(entries) = value.as_table() else {
                return Err(invalid(
                    &path,
                    "rules",
                    "expected tables such as [rules.dual-write]",
                ));
            };
            for (name, options) in entries {
                let Some(rule) = rules::by_name(name) else {
                    return Err(ConfigError::UnknownRule {
                        path,
                        key: String::from("rules"),
                        name: name.clone(),
                        suggestion: nearest(name, rules::RULES.iter().map(|r| r.name))
                            .map(String::from),
                    });
                };
                let key = format!("rules.{name}");
                let Some(options) = options.as_table() else {
                    return Err(invalid(&path, &key, "expected a table"));
                };
                for option in options.keys() {
                    if !RULE_KEYS.contains(&option.as_str()) {
                        return Err(ConfigError::UnknownKey {
                            path,
                            key: format!("{key}.{option}"),
                            suggestion: nearest(option, RULE_KEYS.iter().copied())
                                .map(String::from),
                        });
                    }
                }
                if let Some(severity) = options.get("severity") {
                    let severity = match severity.as_str() {
                        Some("warning") => Severity::Warning,
                        Some("error") => Severity::Error,
                        _ => {
                            return Err(invalid(
                                &path,
                                &format!("{key}.severity"),
                                "expected \"warning\" or \"error\"",
                            ));
                        }
                    };
                    config.severities.insert(rule.name, severity);
                }
            }
        }
        if let Some(value) = table.get("wrappers") {
            config.user_apis = value.clone().try_into().map_err(|error: toml::de::Error| {
                ConfigError::Invalid {
                    path: path.clone(),
                    key: String::from("wrappers"),
                    message: with_suggestion(error.message().trim()),
                }
            })?;
            collect_words(value, &mut config.wrapper_words);
        }
        Ok(config)
    }
}

impl Config {
    /// This config with `select` / `ignore` replaced or extended from the
    /// command line: `select` replaces, `ignore` adds.
    pub fn with_overrides(
        &self,
        overrides: &toml::Table,
        origin: &Path,
    ) -> Result<Config, ConfigError> {
        let names = all_names();
        let mut config = self.clone();
        if let Some(value) = overrides.get("select") {
            let select = names_in(value, "--select", origin, &names)?;
            config.selected = rules::RULES
                .iter()
                .filter(|rule| {
                    select.contains(&rule.name) || (select.contains(&"all") && !rule.opt_in)
                })
                .map(|rule| rule.name)
                .collect();
        }
        if let Some(value) = overrides.get("ignore") {
            for name in names_in(value, "--ignore", origin, &names)? {
                if diagnostics::by_name(name).is_some_and(|d| d.unanalysed) {
                    return Err(ConfigError::NotIgnorable {
                        path: origin.to_path_buf(),
                        name: name.to_string(),
                    });
                }
                if name == "all" {
                    config.selected.clear();
                }
                config.selected.retain(|selected| *selected != name);
                if diagnostics::by_name(name).is_some() {
                    config.ignored_diagnostics.insert(name);
                }
            }
        }
        Ok(config)
    }
}

/// serde's "unknown field `publsh`, expected one of `publish`, ..." with
/// the nearest candidate named, as for every other key.
fn with_suggestion(message: &str) -> String {
    let Some(rest) = message.strip_prefix("unknown field `") else {
        return message.to_string();
    };
    let Some((field, expected)) = rest.split_once('`') else {
        return message.to_string();
    };
    let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    match nearest(field, candidates) {
        Some(near) => format!("unknown key `{field}`; did you mean `{near}`?"),
        None => message.to_string(),
    }
}

/// Every string in a TOML value, reduced to its last `::` segment.
fn collect_words(value: &toml::Value, words: &mut Vec<String>) {
    match value {
        toml::Value::String(text) => {
            let last = text.rsplit("::").next().unwrap_or(text);
            words.push(last.to_string());
        }
        toml::Value::Array(items) => items.iter().for_each(|item| collect_words(item, words)),
        toml::Value::Table(table) => table.values().for_each(|item| collect_words(item, words)),
        _ => {}
    }
}

fn read_table(path: &Path) -> Result<toml::Table, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    text.parse::<toml::Table>()
        .map_err(|error| ConfigError::Toml {
            path: path.to_path_buf(),
            message: error.to_string(),
        })
}

fn invalid(path: &Path, key: &str, message: &str) -> ConfigError {
    ConfigError::Invalid {
        path: path.to_path_buf(),
        key: key.to_string(),
        message: message.to_string(),
    }
}

fn strings_in(value: &toml::Value, key: &str, path: &Path) -> Result<Vec<String>, ConfigError> {
    let Some(array) = value.as_array() else {
        return Err(invalid(path, key, "expected a list of strings"));
    };
    array
        .iter()
        .map(|item| {
            item.as_str()
                .map(String::from)
                .ok_or_else(|| invalid(path, key, "expected a list of strings"))
        })
        .collect()
}

/// The rule names in a list; `"all"` is allowed.
fn names_in(
    value: &toml::Value,
    key: &str,
    path: &Path,
    names: &[&'static str],
) -> Result<Vec<&'static str>, ConfigError> {
    strings_in(value, key, path)?
        .into_iter()
        .map(|name| {
            if name == "all" {
                return Ok("all");
            }
            names
                .iter()
                .copied()
                .find(|known| *known == name)
                .ok_or_else(|| ConfigError::UnknownRule {
                    path: path.to_path_buf(),
                    key: key.to_string(),
                    suggestion: nearest(&name, names.iter().copied()).map(String::from),
                    name,
                })
        })
        .collect()
}

fn glob(pattern: &str, key: &str, path: &Path) -> Result<Glob, ConfigError> {
    Glob::new(pattern).map_err(|error| ConfigError::Invalid {
        path: path.to_path_buf(),
        key: key.to_string(),
        message: error.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        let table: toml::Table = text.parse().expect("test config is TOML");
        Config::from_table(&table, Path::new("eda-lint.toml"), Path::new("/project"))
    }

    #[test]
    fn an_unknown_key_suggests_the_nearest_one() {
        let error = parse("selct = []").expect_err("unknown key");
        assert_eq!(
            error.to_string(),
            "eda-lint.toml: unknown key `selct`; did you mean `select`?"
        );
    }

    #[test]
    fn include_tests_is_a_key_and_its_typos_are_caught() {
        assert!(!Config::default().include_tests);
        assert!(parse("include-tests = true").expect("valid").include_tests);
        let error = parse("include-test = true").expect_err("unknown key");
        assert_eq!(
            error.to_string(),
            "eda-lint.toml: unknown key `include-test`; did you mean `include-tests`?"
        );
        let error = parse("include-tests = \"yes\"").expect_err("not a boolean");
        assert_eq!(
            error.to_string(),
            "eda-lint.toml: `include-tests`: expected true or false"
        );
    }

    #[test]
    fn an_unknown_rule_suggests_the_nearest_one() {
        let error = parse("ignore = [\"unused-supression\"]").expect_err("unknown rule");
        assert_eq!(
            error.to_string(),
            "eda-lint.toml: unknown rule `unused-supression` in `ignore`; did you mean `unused-suppression`?"
        );
    }

    #[test]
    fn an_unknown_wrapper_key_suggests_the_nearest_one() {
        let error = parse("[wrappers]\npublsh = [\"bus::emit\"]").expect_err("unknown key");
        assert_eq!(
            error.to_string(),
            "eda-lint.toml: `wrappers`: unknown key `publsh`; did you mean `publish`?"
        );
    }

    #[test]
    fn wrappers_reach_the_rules_and_the_prefilter() {
        let config = parse("[wrappers]\npublish = [\"bus::emit\"]").expect("valid");
        assert_eq!(config.user_apis.publish, ["bus::emit"]);
        assert_eq!(config.wrapper_names().collect::<Vec<_>>(), ["emit"]);
    }

    #[test]
    fn a_diagnostic_about_unanalysed_code_cannot_be_ignored() {
        assert!(matches!(
            parse("ignore = [\"parse-error\"]"),
            Err(ConfigError::NotIgnorable { .. })
        ));
    }

    #[test]
    fn per_file_ignores_apply_to_matching_paths_only() {
        let config = parse("[per-file-ignores]\n\"tests/**\" = [\"unused-suppression\"]\n")
            .expect("valid config");
        assert!(!config.reports("unused-suppression", Path::new("/project/tests/a.rs")));
        assert!(config.reports("unused-suppression", Path::new("/project/src/a.rs")));
        assert!(config.reports("parse-error", Path::new("/project/tests/a.rs")));
    }
}

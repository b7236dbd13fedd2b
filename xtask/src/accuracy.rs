//! `cargo xtask accuracy`: eda-lint measured on real code nobody here wrote.
//!
//! The labels in `lints/tests/realworld/labels/` say which lines of which
//! published crate (pinned in `xtask/corpus/Cargo.toml`) or public
//! repository (at a fixed commit) a correct linter reports, and why; they
//! were written before anyone looked at what the linter says about those
//! lines (`lints/tests/realworld/README.md` has the discipline and the
//! format). This command lints each labelled source as a user would — the
//! release `eda-lint check` on the source's root, with a config that only
//! turns the opt-in rules on — matches the findings in the listed files to
//! the labels, and prints precision and recall per rule; the opt-in rules,
//! scored only on the sources labelled for them, get a table of their own.
//!
//! The tuning part is scored by default, and CI fails when a rule falls
//! below its floor in `lints/tests/realworld/floors.toml`. Any other split
//! (`--split holdout`, `--split fresh-3`: whatever name the label files
//! give a batch held out whole) is scored on request: it is the honest
//! figure, kept for the end of a change, and its details are shown only
//! with `--details`, so that looking at its figures does not turn into
//! tuning on it.
//!
//! Crate sources come from the cargo registry (`cargo fetch` of the corpus
//! manifest fills it, once; everything after that is offline). Repository
//! sources need a fetched mirror (`$EDA_MIRRORS`, default `/work/.mirror`):
//! without one they are skipped and the report says so, which is what
//! happens in CI.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::exit::Status;
use crate::lint_corpus::{self, JsonRun};

/// The rules a label may name: the linter's own registry.
fn rule_names() -> BTreeSet<&'static str> {
    eda_lint::rules::RULES
        .iter()
        .map(|rule| rule.name)
        .collect()
}

/// The rules that are off by default and run only when named.
fn opt_in_names() -> BTreeSet<&'static str> {
    eda_lint::rules::RULES
        .iter()
        .filter(|rule| rule.opt_in)
        .map(|rule| rule.name)
        .collect()
}

impl LabelFile {
    /// Whether this source was labelled for `rule` (see [`LabelFile::rules`]).
    pub fn labelled_for(&self, rule: &str) -> bool {
        match &self.rules {
            Some(rules) => rules.iter().any(|r| r == rule),
            None => !opt_in_names().contains(rule),
        }
    }
}

#[derive(clap::Args)]
pub struct Args {
    /// Score this split of the labels: `tune` (the default), `holdout`, or a
    /// batch held out whole (`fresh`, `fresh-2`, `fresh-3`, ...), as the
    /// label files' `split` names it.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["holdout", "fresh", "fresh_2"])]
    split: Option<String>,
    /// The same as `--split holdout`: the held-out third of the first batch.
    #[arg(long, conflicts_with_all = ["fresh", "fresh_2"])]
    holdout: bool,
    /// The same as `--split fresh`: the first batch labelled blind.
    #[arg(long, conflicts_with = "fresh_2")]
    fresh: bool,
    /// The same as `--split fresh-2`: the second batch labelled blind.
    #[arg(long = "fresh-2")]
    fresh_2: bool,
    /// Print every false positive and false negative (always on for the
    /// tuning part's sources named with --source).
    #[arg(long)]
    details: bool,
    /// Score only the sources whose name contains this text.
    #[arg(long, value_name = "TEXT")]
    source: Option<String>,
    /// Pass `--min-confidence` to eda-lint (low, medium or high).
    #[arg(long, value_name = "LEVEL")]
    min_confidence: Option<String>,
    /// Do not fail on the floors (print the figures only).
    #[arg(long)]
    no_floors: bool,
    /// Seconds one source may take before it counts as a hang.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
}

/// One labelled source: a crate at a version, or a repository at a commit.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelFile {
    pub source: SourceKind,
    pub name: String,
    pub version: String,
    pub split: Split,
    pub labelled: String,
    /// For the people who read the labels; the scoring ignores it.
    #[serde(default)]
    #[allow(dead_code, reason = "documentation for readers of the label file")]
    pub notes: Option<String>,
    /// The rules this source was labelled for. Findings of other rules in
    /// its files are not scored: nobody looked for those mistakes there.
    /// Absent: every rule that is not opt-in (an opt-in rule is scored only
    /// on sources labelled for it by name).
    #[serde(default)]
    pub rules: Option<Vec<String>>,
    #[serde(default, rename = "file")]
    pub files: Vec<ListedFile>,
    #[serde(default, rename = "label")]
    pub labels: Vec<Label>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    Crate,
    Github,
}

/// Which part of the labels a source belongs to: `tune` or `holdout`, by
/// the byte-sum rule ([`split_of`]), or a later batch held out whole
/// (`fresh`, `fresh-2`, `fresh-3`, ...): labelled blind after the parts
/// before it were spent, and scored once, at the end of the change it
/// measures. A new batch needs only a new name in its label files; a name
/// of any other shape is refused, so a typo (`fresh2`) cannot start a
/// batch of its own.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
pub struct Split(String);

impl Split {
    pub const TUNE: &'static str = "tune";
    pub const HOLDOUT: &'static str = "holdout";

    pub fn tune() -> Split {
        Split(String::from(Self::TUNE))
    }

    pub fn holdout() -> Split {
        Split(String::from(Self::HOLDOUT))
    }

    pub fn name(&self) -> &str {
        &self.0
    }

    /// Held out whole: a blind batch, outside the byte-sum rule.
    pub fn is_batch(&self) -> bool {
        self.0 != Self::TUNE && self.0 != Self::HOLDOUT
    }

    /// How the report names the part.
    fn describe(&self) -> String {
        match self.0.as_str() {
            Self::TUNE => String::from("tuning part"),
            Self::HOLDOUT => String::from("held-out third"),
            name => format!("`{name}` batch"),
        }
    }
}

impl TryFrom<String> for Split {
    type Error = String;

    fn try_from(name: String) -> Result<Split, String> {
        let numbered = |rest: &str| {
            // `fresh-2`, `fresh-3`, ...: a number from 2 on, no leading zero.
            !rest.is_empty()
                && rest.bytes().all(|b| b.is_ascii_digit())
                && !rest.starts_with('0')
                && rest != "1"
        };
        let known = name == Self::TUNE
            || name == Self::HOLDOUT
            || name == "fresh"
            || name.strip_prefix("fresh-").is_some_and(numbered);
        if known {
            Ok(Split(name))
        } else {
            Err(format!(
                "`{name}` is not a split: `tune`, `holdout`, `fresh` or `fresh-N` (N from 2 on)"
            ))
        }
    }
}

/// `--split` named a part no label file has: a usage error (exit 2).
#[derive(Debug)]
pub struct UnknownSplit {
    pub asked: String,
    pub known: Vec<String>,
}

impl std::fmt::Display for UnknownSplit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "no labelled source is in the split `{}`; the splits the label files name are: {}",
            self.asked,
            self.known.join(", ")
        )
    }
}

impl std::error::Error for UnknownSplit {}

impl Args {
    /// The split asked for: `--split NAME`, one of its aliases, or `tune`.
    fn split_name(&self) -> &str {
        if let Some(name) = &self.split {
            name
        } else if self.fresh_2 {
            "fresh-2"
        } else if self.fresh {
            "fresh"
        } else if self.holdout {
            Split::HOLDOUT
        } else {
            Split::TUNE
        }
    }
}

/// The split `asked` among those the label files name, or a usage error
/// that lists them.
pub fn choose_split<'a>(
    files: impl IntoIterator<Item = &'a LabelFile>,
    asked: &str,
) -> Result<Split, UnknownSplit> {
    let known: BTreeSet<&Split> = files.into_iter().map(|f| &f.split).collect();
    match known.iter().find(|split| split.name() == asked) {
        Some(split) => Ok((*split).clone()),
        None => {
            let mut names: Vec<String> = known.iter().map(|s| s.name().to_string()).collect();
            // Tune and holdout first, then the batches in the order they came.
            names.sort_by_key(|name| batch_order(name));
            Err(UnknownSplit {
                asked: asked.to_string(),
                known: names,
            })
        }
    }
}

/// Sort key: `tune`, `holdout`, `fresh`, `fresh-2`, `fresh-3`, ...
fn batch_order(name: &str) -> (u8, u64) {
    match name {
        Split::TUNE => (0, 0),
        Split::HOLDOUT => (1, 0),
        "fresh" => (2, 1),
        other => (
            2,
            other
                .strip_prefix("fresh-")
                .and_then(|n| n.parse().ok())
                .unwrap_or(u64::MAX),
        ),
    }
}

/// The exit status of `cargo xtask accuracy`: 0 when it scored (and, on the
/// tuning part, every rule held its floor), 2 for an unknown split, 1 for
/// anything else that went wrong.
pub fn main(args: Args) -> std::process::ExitCode {
    match run(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            exit_status(&error).into()
        }
    }
}

fn exit_status(error: &anyhow::Error) -> Status {
    if error.downcast_ref::<UnknownSplit>().is_some() {
        Status::Usage
    } else {
        Status::Failed
    }
}

/// A file read in full: a finding in it that no label expects is a false
/// positive.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListedFile {
    pub path: String,
    /// What the file does, for the people who read the labels.
    #[serde(default)]
    #[allow(dead_code, reason = "documentation for readers of the label file")]
    pub about: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Label {
    pub path: String,
    pub line: usize,
    pub rule: String,
    pub verdict: Verdict,
    pub reason: String,
    /// Why the label was changed after it was first written, if it was.
    #[serde(default)]
    pub corrected: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Clear,
    Debatable,
}

/// A finding of the linter, as the JSON output gives it.
#[derive(Debug, Clone)]
pub struct Found {
    pub path: String,
    pub rule: String,
    pub line: usize,
    pub end_line: usize,
    pub message: String,
    /// The other places the finding points at (`path`, `line`): where a
    /// finding resting on a helper's summary shows the helper's line.
    pub also: Vec<(String, usize)>,
}

/// True positives, false positives and false negatives of one rule.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub tp: usize,
    pub fp: usize,
    pub fn_: usize,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.tp += other.tp;
        self.fp += other.fp;
        self.fn_ += other.fn_;
    }
    pub fn precision(&self) -> Option<f64> {
        let reported = self.tp + self.fp;
        (reported > 0).then(|| self.tp as f64 / reported as f64)
    }
    pub fn recall(&self) -> Option<f64> {
        let expected = self.tp + self.fn_;
        (expected > 0).then(|| self.tp as f64 / expected as f64)
    }
}

/// What scoring one source found: per rule, and the misses to show.
#[derive(Debug, Default)]
pub struct Scored {
    pub by_rule: BTreeMap<String, Tally>,
    pub false_positives: Vec<Found>,
    pub false_negatives: Vec<Label>,
}

/// How far (in lines) a label may sit from the first line of a finding
/// that does not span it: a call chain's first line and the line of the
/// call at fault are often a few lines apart.
const NEAR: usize = 3;

/// Matches the findings in the listed files to the labels. Each finding
/// matches at most one label of the same file and rule: the closest one
/// whose line lies within the finding's lines or within [`NEAR`] lines of
/// its first line. Findings outside the listed files are not scored.
pub fn score(file: &LabelFile, found: &[Found]) -> Scored {
    let listed: BTreeSet<&str> = file.files.iter().map(|f| f.path.as_str()).collect();
    let mut scored = Scored::default();
    let mut taken = vec![false; found.len()];
    // Clear labels first, so a debatable one nearby cannot take the finding
    // a clear one needs.
    let mut order: Vec<&Label> = file.labels.iter().collect();
    order.sort_by_key(|label| (label.verdict == Verdict::Debatable, label.line));
    for label in order {
        // How far a finding is from the label, and whether it reaches it
        // only through a helper's line: a finding on the label's own line
        // takes it before one at a call that also names that line.
        let distance = |f: &Found| {
            let through_helper = f
                .also
                .iter()
                .any(|(path, line)| *path == label.path && *line == label.line);
            if f.path != label.path {
                // A finding at a call, resting on a helper elsewhere,
                // reports the helper's line too.
                return through_helper.then_some((0, true));
            }
            if (f.line..=f.end_line.max(f.line)).contains(&label.line) {
                Some((0, false))
            } else if through_helper {
                Some((0, true))
            } else {
                let d = f.line.abs_diff(label.line);
                (d <= NEAR).then_some((d, false))
            }
        };
        let best = found
            .iter()
            .enumerate()
            .filter(|(i, f)| !taken[*i] && f.rule == label.rule)
            .filter_map(|(i, f)| distance(f).map(|(d, through_helper)| (d, through_helper, i)))
            .min();
        let tally = scored.by_rule.entry(label.rule.clone()).or_default();
        match (best, label.verdict) {
            (Some((_, _, i)), Verdict::Clear) => {
                taken[i] = true;
                tally.tp += 1;
            }
            (Some((_, _, i)), Verdict::Debatable) => taken[i] = true,
            (None, Verdict::Clear) => {
                tally.fn_ += 1;
                scored.false_negatives.push(label.clone());
            }
            (None, Verdict::Debatable) => {}
        }
    }
    for (i, f) in found.iter().enumerate() {
        if taken[i] || !listed.contains(f.path.as_str()) {
            continue;
        }
        scored.by_rule.entry(f.rule.clone()).or_default().fp += 1;
        scored.false_positives.push(f.clone());
    }
    scored
}

/// The split a source belongs to: the held-out third when the bytes of its
/// name add up to a multiple of three. Fixed before any label was written.
pub fn split_of(name: &str) -> Split {
    let sum: u64 = name.bytes().map(u64::from).sum();
    if sum.is_multiple_of(3) {
        Split::holdout()
    } else {
        Split::tune()
    }
}

/// Reads and checks every label file.
pub fn read_labels(dir: &Path) -> Result<Vec<(PathBuf, LabelFile)>> {
    let rules = rule_names();
    let mut out = Vec::new();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    for path in paths {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let file: LabelFile =
            toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        check_label_file(&file, &rules).with_context(|| format!("in {}", path.display()))?;
        out.push((path, file));
    }
    Ok(out)
}

fn check_label_file(file: &LabelFile, rules: &BTreeSet<&str>) -> Result<()> {
    if !file.split.is_batch() && split_of(&file.name) != file.split {
        bail!(
            "`{}` belongs to the `{}` split by the byte-sum rule, but the file says `{}`",
            file.name,
            split_of(&file.name).name(),
            file.split.name()
        );
    }
    if file.source == SourceKind::Github
        && !(file.version.len() == 40 && file.version.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        bail!(
            "a repository is labelled at a full 40-hex commit, not `{}`",
            file.version
        );
    }
    let date = file.labelled.as_bytes();
    if !(date.len() == 10
        && date[4] == b'-'
        && date[7] == b'-'
        && date
            .iter()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit()))
    {
        bail!(
            "`labelled` is the day the labels were written, as YYYY-MM-DD, not `{}`",
            file.labelled
        );
    }
    if file.files.is_empty() {
        bail!("no [[file]] listed: nothing would be scored");
    }
    let listed: BTreeSet<&str> = file.files.iter().map(|f| f.path.as_str()).collect();
    for name in file.rules.iter().flatten() {
        if !rules.contains(name.as_str()) {
            bail!("`rules` names `{name}`, which is not a rule");
        }
    }
    for label in &file.labels {
        if !file.labelled_for(&label.rule) {
            bail!(
                "label at {}:{} names `{}`, which is not one of the rules this source was labelled for (`rules`)",
                label.path,
                label.line,
                label.rule
            );
        }
        if !rules.contains(label.rule.as_str()) {
            bail!(
                "label at {}:{} names `{}`, which is not a rule (rules: {})",
                label.path,
                label.line,
                label.rule,
                rules.iter().copied().collect::<Vec<_>>().join(", ")
            );
        }
        if !listed.contains(label.path.as_str()) {
            bail!(
                "label at {}:{} is in a file not listed under [[file]]",
                label.path,
                label.line
            );
        }
        if label.line == 0 {
            bail!("label in {} has line 0: lines start at 1", label.path);
        }
    }
    Ok(())
}

/// The pinned versions in the corpus manifest: `name = "=x.y.z"` or
/// `{ version = "=x.y.z", package = "name" }`.
fn pinned(manifest: &Path) -> Result<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(manifest)
        .with_context(|| format!("reading {}", manifest.display()))?;
    let value: toml::Table =
        toml::from_str(&text).with_context(|| format!("parsing {}", manifest.display()))?;
    let mut out = BTreeMap::new();
    if let Some(deps) = value.get("dependencies").and_then(|d| d.as_table()) {
        for (key, dep) in deps {
            let (name, version) = match dep {
                toml::Value::String(v) => (key.clone(), v.clone()),
                toml::Value::Table(t) => (
                    t.get("package")
                        .and_then(|p| p.as_str())
                        .unwrap_or(key)
                        .to_string(),
                    t.get("version")
                        .and_then(|v| v.as_str())
                        .unwrap_or_default()
                        .to_string(),
                ),
                _ => continue,
            };
            out.insert(
                format!("{name}@{}", version.trim_start_matches('=')),
                version,
            );
        }
    }
    Ok(out)
}

fn cargo_home() -> Result<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .context("neither CARGO_HOME nor HOME is set")
}

/// The unpacked source of `name-version` in any registry index.
fn registry_source(name: &str, version: &str) -> Result<Option<PathBuf>> {
    let src = cargo_home()?.join("registry").join("src");
    let Ok(indexes) = std::fs::read_dir(&src) else {
        return Ok(None);
    };
    Ok(indexes
        .filter_map(|e| e.ok())
        .map(|e| e.path().join(format!("{name}-{version}")))
        .find(|p| p.is_dir()))
}

/// The corpus manifests: `xtask/corpus/Cargo.toml`, and one in each
/// subfolder of it for crates whose `links` dependencies cannot share one
/// resolution with the main corpus (each is its own workspace and lock).
pub fn corpus_manifests(root: &Path) -> Result<Vec<PathBuf>> {
    let corpus = root.join("xtask/corpus");
    let mut out = vec![corpus.join("Cargo.toml")];
    let mut more: Vec<PathBuf> = std::fs::read_dir(&corpus)
        .with_context(|| format!("reading {}", corpus.display()))?
        .filter_map(|e| e.ok().map(|e| e.path().join("Cargo.toml")))
        .filter(|p| p.is_file())
        .collect();
    more.sort();
    out.extend(more);
    Ok(out)
}

/// Every pin of every corpus manifest: `name@version` to the requirement
/// and the manifest that holds it. A crate pinned twice is refused, so a
/// label names exactly one place to fetch it from.
fn all_pins(manifests: &[PathBuf]) -> Result<BTreeMap<String, (String, PathBuf)>> {
    let mut out: BTreeMap<String, (String, PathBuf)> = BTreeMap::new();
    for manifest in manifests {
        for (key, req) in pinned(manifest)? {
            if let Some((_, first)) = out.get(&key) {
                bail!(
                    "{key} is pinned in both {} and {}: keep one",
                    first.display(),
                    manifest.display()
                );
            }
            out.insert(key, (req, manifest.clone()));
        }
    }
    Ok(out)
}

/// Brings the corpus crates into the registry: `cargo fetch` on the corpus
/// manifest, with its lock file, as CI does on a fresh machine.
fn fetch_corpus(manifest: &Path) -> Result<()> {
    println!("accuracy: fetching the corpus crates (cargo fetch, once per machine)");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(["fetch", "--locked", "--manifest-path"])
        .arg(manifest)
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .status()
        .context("running cargo fetch")?;
    if !status.success() {
        bail!(
            "cargo fetch of {} failed (is its Cargo.lock current? run `cargo generate-lockfile --manifest-path {}`)",
            manifest.display(),
            manifest.display()
        );
    }
    Ok(())
}

/// A repository's files at the labelled commit, unpacked into `into`.
fn github_source(file: &LabelFile, into: &Path) -> Result<Option<PathBuf>> {
    let mirrors = std::env::var_os("EDA_MIRRORS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/work/.mirror"));
    let mirror = mirrors.join(file.name.replace('/', "+"));
    let git_dir = match find_git_dir(&mirror) {
        Some(dir) => dir,
        None => return Ok(None),
    };
    let root = into.join(file.name.replace('/', "+"));
    // Only the Rust sources and the manifests matter to the linter. A
    // fetched mirror may leave its largest blobs out, so `git archive` of
    // the whole tree can fail on a data file nobody lints.
    let listing = Command::new("git")
        .arg("--git-dir")
        .arg(&git_dir)
        .args(["ls-tree", "-r", "-z", "--name-only", &file.version])
        .output()
        .context("running git ls-tree")?;
    if !listing.status.success() {
        bail!(
            "{}: commit {} is not in the mirror {}: {}",
            file.name,
            file.version,
            git_dir.display(),
            String::from_utf8_lossy(&listing.stderr).trim()
        );
    }
    let paths: Vec<String> = listing
        .stdout
        .split(|&b| b == 0)
        .filter_map(|p| std::str::from_utf8(p).ok())
        .filter(|p| p.ends_with(".rs") || p.ends_with("Cargo.toml"))
        .map(String::from)
        .collect();
    let request: String = paths
        .iter()
        .map(|p| format!("{}:{p}\n", file.version))
        .collect();
    let mut cat = Command::new("git")
        .arg("--git-dir")
        .arg(&git_dir)
        .args(["cat-file", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("running git cat-file")?;
    let writer = cat.stdin.take().map(|mut stdin| {
        std::thread::spawn(move || {
            use std::io::Write;
            let _ = stdin.write_all(request.as_bytes());
        })
    });
    let output = cat.wait_with_output().context("reading git cat-file")?;
    if let Some(writer) = writer {
        let _ = writer.join();
    }
    // `<sha> blob <size>\n<bytes>\n` per object, or `<name> missing\n`.
    let mut rest = output.stdout.as_slice();
    for path in &paths {
        let Some(newline) = rest.iter().position(|&b| b == b'\n') else {
            bail!("{}: git cat-file stopped early at {path}", file.name);
        };
        let header = String::from_utf8_lossy(&rest[..newline]).to_string();
        rest = &rest[newline + 1..];
        if header.ends_with(" missing") {
            // A blob the mirror left out; the linter never sees it.
            continue;
        }
        let mut parts = header.split(' ');
        let (Some(_), Some(kind), Some(size)) = (parts.next(), parts.next(), parts.next()) else {
            bail!("{}: unexpected git cat-file header `{header}`", file.name);
        };
        let size: usize = size
            .parse()
            .with_context(|| format!("git cat-file header `{header}`"))?;
        if rest.len() < size + 1 {
            bail!("{}: git cat-file output is cut short at {path}", file.name);
        }
        if kind == "blob" {
            let target = root.join(path);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("creating {}", parent.display()))?;
            }
            std::fs::write(&target, &rest[..size])
                .with_context(|| format!("writing {}", target.display()))?;
        }
        rest = &rest[size + 1..];
    }
    Ok(Some(root))
}

/// The bare git folder of a fetched mirror: the mirror itself, or the one
/// folder below it that is a git folder.
/// The git directory of a mirror: the mirror itself, a bare repository
/// one folder down, or the `.git` of a clone with a work tree one folder
/// down (how some fetches leave it).
fn find_git_dir(mirror: &Path) -> Option<PathBuf> {
    if mirror.join("HEAD").is_file() {
        return Some(mirror.to_path_buf());
    }
    let children: Vec<PathBuf> = std::fs::read_dir(mirror)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    children
        .iter()
        .find(|p| p.join("HEAD").is_file())
        .cloned()
        .or_else(|| {
            children
                .iter()
                .map(|p| p.join(".git"))
                .find(|git| git.join("HEAD").is_file())
        })
}

pub fn run(args: Args) -> Result<()> {
    let root = crate::workspace::root();
    let labels_dir = root.join("lints/tests/realworld/labels");
    let manifests = corpus_manifests(&root)?;
    let files = read_labels(&labels_dir)?;
    let want = choose_split(files.iter().map(|(_, f)| f), args.split_name())?;
    let held_out = want.name() != Split::TUNE;
    let selected: Vec<&(PathBuf, LabelFile)> = files
        .iter()
        .filter(|(_, f)| f.split == want)
        .filter(|(_, f)| args.source.as_deref().is_none_or(|s| f.name.contains(s)))
        .collect();
    if selected.is_empty() {
        bail!(
            "no labelled source of the split `{}` has a name containing the --source text",
            want.name()
        );
    }

    // Every crate must be pinned, so CI's `cargo fetch` brings exactly it.
    let pins = all_pins(&manifests)?;
    for (path, file) in &selected {
        if file.source == SourceKind::Crate {
            let key = format!("{}@{}", file.name, file.version);
            match pins.get(&key) {
                Some((req, _)) if req.starts_with('=') => {}
                Some((req, manifest)) => bail!(
                    "{}: {} is pinned as `{req}` in {}; pin it exactly (`={}`)",
                    path.display(),
                    file.name,
                    manifest.display(),
                    file.version
                ),
                None => bail!(
                    "{}: {}@{} is not pinned in any corpus manifest (xtask/corpus/Cargo.toml, or a subfolder's when its `links` dependencies conflict)",
                    path.display(),
                    file.name,
                    file.version
                ),
            }
        }
    }
    // Fetch each manifest that holds a selected crate missing here.
    let mut to_fetch = BTreeSet::new();
    for (_, f) in &selected {
        if f.source == SourceKind::Crate
            && matches!(registry_source(&f.name, &f.version), Ok(None))
            && let Some((_, manifest)) = pins.get(&format!("{}@{}", f.name, f.version))
        {
            to_fetch.insert(manifest.clone());
        }
    }
    for manifest in &to_fetch {
        fetch_corpus(manifest)?;
    }

    let binary = lint_corpus::build_release()?;
    let scratch = tempfile::tempdir().context("creating a scratch folder")?;
    // Every rule runs, the opt-in ones too: a default rule's findings do not
    // depend on which other rules run, so its figures are those of the
    // default configuration, and the opt-in rules get a table of their own.
    let config = scratch.path().join("eda-lint.toml");
    let select: Vec<String> = std::iter::once("all")
        .chain(opt_in_names())
        .map(|name| format!("\"{name}\""))
        .collect();
    std::fs::write(&config, format!("select = [{}]\n", select.join(", ")))
        .context("writing the config")?;
    let output = scratch.path().join("findings.json");
    let mut extra = Vec::new();
    if let Some(level) = &args.min_confidence {
        extra.push(format!("--min-confidence={level}"));
    }

    let corrected: usize = selected
        .iter()
        .map(|(_, f)| f.labels.iter().filter(|l| l.corrected.is_some()).count())
        .sum();
    let mut total: BTreeMap<String, Tally> = BTreeMap::new();
    // The published crates alone: what every machine can score, since
    // `cargo fetch` brings them anywhere; repositories need a mirror.
    let mut registry: BTreeMap<String, Tally> = BTreeMap::new();
    // The opt-in rules, on the sources labelled for them: kept out of the
    // rows above, so that adding one changes no default rule's figure.
    let mut opt_in: BTreeMap<String, Tally> = BTreeMap::new();
    let mut skipped = Vec::new();
    let mut trouble = Vec::new();
    let count = selected.len();
    for (i, (_, file)) in selected.iter().enumerate() {
        let source_root = match file.source {
            SourceKind::Crate => {
                registry_source(&file.name, &file.version)?.with_context(|| {
                    format!(
                        "{}-{} is not in the cargo registry even after cargo fetch",
                        file.name, file.version
                    )
                })?
            }
            SourceKind::Github => match github_source(file, scratch.path())? {
                Some(root) => root,
                None => {
                    skipped.push(format!("{}@{} (no mirror)", file.name, &file.version[..12]));
                    continue;
                }
            },
        };
        let run = lint_corpus::lint_json(
            &binary,
            &source_root,
            &config,
            &output,
            &extra,
            Duration::from_secs(args.timeout),
        );
        let findings = match run {
            JsonRun::Ok(findings) => findings,
            JsonRun::Failed(why) => {
                bail!("{}@{}: eda-lint failed: {why}", file.name, file.version)
            }
        };
        let found: Vec<Found> = findings
            .iter()
            .filter_map(|f| {
                Some(Found {
                    path: relative(f["path"].as_str()?, &source_root),
                    rule: f["rule"].as_str()?.to_string(),
                    line: f["line"].as_u64()? as usize,
                    end_line: f["end_line"].as_u64().unwrap_or(0) as usize,
                    message: f["message"].as_str().unwrap_or_default().to_string(),
                    also: f["labels"]
                        .as_array()
                        .map(|labels| {
                            labels
                                .iter()
                                .filter_map(|l| {
                                    Some((
                                        relative(l["path"].as_str()?, &source_root),
                                        l["line"].as_u64()? as usize,
                                    ))
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                })
            })
            .collect();
        let listed: BTreeSet<&str> = file.files.iter().map(|f| f.path.as_str()).collect();
        for f in &found {
            if listed.contains(f.path.as_str())
                && !rule_names().contains(f.rule.as_str())
                && f.rule != "unused-suppression"
            {
                trouble.push(format!(
                    "{}@{}: {}:{}: {}: {}",
                    file.name, file.version, f.path, f.line, f.rule, f.message
                ));
            }
        }
        let found: Vec<Found> = found
            .into_iter()
            .filter(|f| rule_names().contains(f.rule.as_str()) && file.labelled_for(&f.rule))
            .collect();
        let scored = score(file, &found);
        let mut line = format!(
            "[{:>2}/{count}] {}@{}:",
            i + 1,
            file.name,
            short(&file.version)
        );
        let mut sum = Tally::default();
        for tally in scored.by_rule.values() {
            sum.add(*tally);
        }
        line.push_str(&format!(" {} TP, {} FP, {} FN", sum.tp, sum.fp, sum.fn_));
        println!("{line}");
        let show = args.details || (!held_out && args.source.is_some());
        if show {
            for f in &scored.false_positives {
                println!("    FP {}:{} {}: {}", f.path, f.line, f.rule, f.message);
            }
            for l in &scored.false_negatives {
                println!("    FN {}:{} {}: {}", l.path, l.line, l.rule, l.reason);
            }
        }
        for (rule, tally) in scored.by_rule {
            if opt_in_names().contains(rule.as_str()) {
                opt_in.entry(rule).or_default().add(tally);
                continue;
            }
            if file.source == SourceKind::Crate {
                registry.entry(rule.clone()).or_default().add(tally);
            }
            total.entry(rule).or_default().add(tally);
        }
    }

    println!();
    let part = want.describe();
    let crates = selected
        .iter()
        .filter(|(_, f)| f.source == SourceKind::Crate)
        .count();
    println!("accuracy on the {part}, published crates only ({crates} sources):");
    println!("{}", table(&registry));
    println!();
    println!(
        "accuracy on the {part}, every source scored ({} of {count} sources):",
        count - skipped.len()
    );
    println!("{}", table(&total));
    if !opt_in.is_empty() {
        let labelled = selected
            .iter()
            .filter(|(_, f)| opt_in.keys().any(|rule| f.labelled_for(rule)))
            .count();
        println!();
        println!(
            "opt-in rules (off by default; run here by name), on the {labelled} sources of the {part} labelled for them:"
        );
        println!("{}", table(&opt_in));
    }
    if corrected > 0 {
        println!(
            "({corrected} labels were corrected after they were written; see their `corrected` notes)"
        );
    }
    for s in &skipped {
        println!("skipped: {s}");
    }
    if !trouble.is_empty() {
        println!("files of the labelled set that eda-lint could not fully analyse:");
        for t in &trouble {
            println!("  {t}");
        }
    }
    if held_out || args.no_floors || args.source.is_some() || args.min_confidence.is_some() {
        return Ok(());
    }
    let floors = read_floors(&root.join("lints/tests/realworld/floors.toml"))?;
    let mut below: Vec<String> = below_floors(&registry, &floors.registry)
        .into_iter()
        .map(|b| format!("published crates: {b}"))
        .collect();
    // The floors over every source hold only when every source was scored.
    if skipped.is_empty() {
        below.extend(
            below_floors(&total, &floors.all)
                .into_iter()
                .map(|b| format!("every source: {b}")),
        );
    } else {
        println!(
            "the floors over every source were not checked: {} sources have no mirror here",
            skipped.len()
        );
    }
    if below.is_empty() {
        println!("every rule is at or above its floor");
        Ok(())
    } else {
        for b in &below {
            println!("  BELOW FLOOR {b}");
        }
        bail!("{} rule figures fell below their floor", below.len())
    }
}

fn short(version: &str) -> &str {
    if version.len() == 40 {
        &version[..12]
    } else {
        version
    }
}

/// A finding's path relative to the source's root, with `/` separators.
fn relative(path: &str, root: &Path) -> String {
    let p = Path::new(path);
    let rel = p.strip_prefix(root).unwrap_or(p);
    let text = rel.to_string_lossy().replace('\\', "/");
    text.trim_start_matches("./").to_string()
}

/// The figures as a Markdown table, one row per rule and the total.
pub fn table(total: &BTreeMap<String, Tally>) -> String {
    let fmt = |v: Option<f64>| v.map_or_else(|| String::from("–"), |v| format!("{v:.2}"));
    let mut out = String::from(
        "| rule | TP | FP | FN | precision | recall |\n| --- | --- | --- | --- | --- | --- |\n",
    );
    let mut sum = Tally::default();
    for (rule, t) in total {
        sum.add(*t);
        out.push_str(&format!(
            "| {rule} | {} | {} | {} | {} | {} |\n",
            t.tp,
            t.fp,
            t.fn_,
            fmt(t.precision()),
            fmt(t.recall())
        ));
    }
    out.push_str(&format!(
        "| overall | {} | {} | {} | {} | {} |",
        sum.tp,
        sum.fp,
        sum.fn_,
        fmt(sum.precision()),
        fmt(sum.recall())
    ));
    out
}

/// Per rule, the lowest precision and recall the tuning part may show.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Floor {
    precision: f64,
    recall: f64,
}

/// The floors of the two scores: the published crates (checked on every
/// machine) and every source (checked where every mirror is present).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Floors {
    #[serde(default)]
    registry: BTreeMap<String, Floor>,
    #[serde(default)]
    all: BTreeMap<String, Floor>,
}

fn read_floors(path: &Path) -> Result<Floors> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let floors: Floors =
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let rules = rule_names();
    for name in floors.registry.keys().chain(floors.all.keys()) {
        if name != "overall" && !rules.contains(name.as_str()) {
            bail!("{}: `{name}` is not a rule", path.display());
        }
    }
    Ok(floors)
}

fn below_floors(total: &BTreeMap<String, Tally>, floors: &BTreeMap<String, Floor>) -> Vec<String> {
    let mut sum = Tally::default();
    for t in total.values() {
        sum.add(*t);
    }
    let mut below = Vec::new();
    for (rule, floor) in floors {
        let t = if rule == "overall" {
            sum
        } else {
            total.get(rule).copied().unwrap_or_default()
        };
        if let Some(p) = t.precision()
            && p + 1e-9 < floor.precision
        {
            below.push(format!("{rule}: precision {p:.2} < {:.2}", floor.precision));
        }
        if let Some(r) = t.recall()
            && r + 1e-9 < floor.recall
        {
            below.push(format!("{rule}: recall {r:.2} < {:.2}", floor.recall));
        }
    }
    below
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(line: usize, rule: &str, verdict: Verdict) -> Label {
        Label {
            path: String::from("src/a.rs"),
            line,
            rule: rule.to_string(),
            verdict,
            reason: String::from("r"),
            corrected: None,
        }
    }

    fn found(path: &str, line: usize, end: usize, rule: &str) -> Found {
        Found {
            path: path.to_string(),
            rule: rule.to_string(),
            line,
            end_line: end,
            message: String::new(),
            also: Vec::new(),
        }
    }

    fn source(labels: Vec<Label>) -> LabelFile {
        LabelFile {
            source: SourceKind::Crate,
            name: String::from("xy"),
            version: String::from("1.0.0"),
            split: Split::tune(),
            labelled: String::from("2026-12-06"),
            notes: None,
            rules: None,
            files: vec![ListedFile {
                path: String::from("src/a.rs"),
                about: None,
            }],
            labels,
        }
    }

    #[test]
    fn an_opt_in_rule_is_scored_only_where_a_source_was_labelled_for_it() {
        let everything = source(vec![label(10, "auto-ack", Verdict::Clear)]);
        assert!(everything.labelled_for("auto-ack"));
        assert!(!everything.labelled_for("lost-update"));
        let mut only = source(vec![label(10, "lost-update", Verdict::Clear)]);
        only.rules = Some(vec![String::from("lost-update")]);
        assert!(only.labelled_for("lost-update"));
        assert!(!only.labelled_for("auto-ack"));
        check_label_file(&only, &rule_names())
            .expect("a lost-update label in a lost-update source");
        // A label for a rule the source was not labelled for is refused.
        let mut wrong = source(vec![label(10, "auto-ack", Verdict::Clear)]);
        wrong.rules = Some(vec![String::from("lost-update")]);
        assert!(check_label_file(&wrong, &rule_names()).is_err());
        let mut unknown = source(Vec::new());
        unknown.rules = Some(vec![String::from("lost-updates")]);
        assert!(check_label_file(&unknown, &rule_names()).is_err());
    }

    #[test]
    fn a_finding_matches_a_label_within_its_lines_or_near_its_start() {
        let file = source(vec![
            label(10, "auto-ack", Verdict::Clear),
            label(30, "auto-ack", Verdict::Clear),
            label(50, "local-time", Verdict::Clear),
        ]);
        let scored = score(
            &file,
            &[
                found("src/a.rs", 8, 12, "auto-ack"),    // spans 10
                found("src/a.rs", 33, 33, "auto-ack"),   // 3 from 30
                found("src/a.rs", 44, 44, "local-time"), // 6 from 50: no
            ],
        );
        assert_eq!(
            scored.by_rule["auto-ack"],
            Tally {
                tp: 2,
                fp: 0,
                fn_: 0
            }
        );
        assert_eq!(
            scored.by_rule["local-time"],
            Tally {
                tp: 0,
                fp: 1,
                fn_: 1
            }
        );
    }

    #[test]
    fn a_finding_matches_one_label_and_the_rule_must_agree() {
        let file = source(vec![
            label(10, "auto-ack", Verdict::Clear),
            label(11, "auto-ack", Verdict::Clear),
        ]);
        let scored = score(
            &file,
            &[
                found("src/a.rs", 10, 10, "auto-ack"),
                found("src/a.rs", 11, 11, "dual-write"),
            ],
        );
        assert_eq!(
            scored.by_rule["auto-ack"],
            Tally {
                tp: 1,
                fp: 0,
                fn_: 1
            }
        );
        assert_eq!(scored.by_rule["dual-write"].fp, 1);
    }

    #[test]
    fn debatable_labels_count_neither_way_and_unlisted_files_are_not_scored() {
        let file = source(vec![label(10, "auto-ack", Verdict::Debatable)]);
        let scored = score(
            &file,
            &[
                found("src/a.rs", 10, 10, "auto-ack"),
                found("src/other.rs", 1, 1, "auto-ack"),
            ],
        );
        assert_eq!(
            scored.by_rule.get("auto-ack").copied().unwrap_or_default(),
            Tally::default()
        );
        let missed = score(&file, &[]);
        assert!(missed.false_negatives.is_empty());
    }

    #[test]
    fn a_finding_at_a_call_matches_the_label_on_the_helper_line_it_points_at() {
        let mut file = source(vec![label(40, "publish-before-ack", Verdict::Clear)]);
        file.files.push(ListedFile {
            path: String::from("src/b.rs"),
            about: None,
        });
        let mut at_call = found("src/b.rs", 7, 7, "publish-before-ack");
        at_call.also = vec![(String::from("src/a.rs"), 40)];
        let scored = score(&file, &[at_call.clone()]);
        assert_eq!(
            scored.by_rule["publish-before-ack"],
            Tally {
                tp: 1,
                fp: 0,
                fn_: 0
            }
        );
        // Pointing near the label is not enough for a secondary place.
        at_call.also = vec![(String::from("src/a.rs"), 41)];
        let scored = score(&file, &[at_call]);
        assert_eq!(scored.by_rule["publish-before-ack"].tp, 0);
    }

    #[test]
    fn a_finding_on_the_labelled_line_takes_it_before_one_that_points_there() {
        // Two labelled acks in a helper; the helper's caller is reported too,
        // pointing at the first. The findings on the lines themselves match;
        // the call's is the extra one.
        let file = source(vec![
            label(152, "ack-before-processing", Verdict::Clear),
            label(218, "ack-before-processing", Verdict::Clear),
        ]);
        let mut at_call = found("src/a.rs", 63, 76, "ack-before-processing");
        at_call.also = vec![(String::from("src/a.rs"), 152)];
        let on_152 = found("src/a.rs", 152, 152, "ack-before-processing");
        let on_218 = found("src/a.rs", 218, 218, "ack-before-processing");
        let scored = score(&file, &[at_call, on_152, on_218]);
        assert_eq!(scored.by_rule["ack-before-processing"].tp, 2);
        let lines: Vec<usize> = scored.false_positives.iter().map(|f| f.line).collect();
        assert_eq!(lines, vec![63]);
    }

    #[test]
    fn a_mirror_is_a_bare_repository_or_a_clone_one_folder_down() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let bare = dir.path().join("a+bare/repo");
        std::fs::create_dir_all(&bare).expect("a folder");
        std::fs::write(bare.join("HEAD"), "ref: refs/heads/main\n").expect("a file");
        assert_eq!(find_git_dir(&dir.path().join("a+bare")), Some(bare));
        let clone = dir.path().join("a+clone/repo/.git");
        std::fs::create_dir_all(&clone).expect("a folder");
        std::fs::write(clone.join("HEAD"), "ref: refs/heads/main\n").expect("a file");
        assert_eq!(find_git_dir(&dir.path().join("a+clone")), Some(clone));
        assert_eq!(find_git_dir(&dir.path().join("a+missing")), None);
    }

    #[test]
    fn the_split_is_the_byte_sum_rule() {
        // b"abc" = 97 + 98 + 99 = 294 = 3 * 98.
        assert_eq!(split_of("abc"), Split::holdout());
        assert_eq!(split_of("abd"), Split::tune());
    }

    #[test]
    fn a_split_is_tune_holdout_or_a_numbered_fresh_batch_in_a_label_file() {
        #[derive(Deserialize)]
        struct Only {
            split: Split,
        }
        for name in ["tune", "holdout", "fresh", "fresh-2", "fresh-3", "fresh-12"] {
            let only: Only = toml::from_str(&format!("split = \"{name}\"")).unwrap();
            assert_eq!(only.split.name(), name);
        }
        // A typo must not start a batch of its own.
        for typo in [
            "fresh2", "fresh-", "fresh-1", "fresh-02", "Fresh-3", "hold-out", "",
        ] {
            assert!(
                toml::from_str::<Only>(&format!("split = \"{typo}\"")).is_err(),
                "{typo}"
            );
        }
    }

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    fn asked(argv: &[&str]) -> Result<String, clap::Error> {
        use clap::Parser;
        Cli::try_parse_from(std::iter::once("accuracy").chain(argv.iter().copied()))
            .map(|cli| cli.args.split_name().to_string())
    }

    #[test]
    fn split_takes_any_name_and_the_old_flags_are_its_aliases() {
        assert_eq!(asked(&[]).unwrap(), "tune");
        assert_eq!(asked(&["--split", "fresh-3"]).unwrap(), "fresh-3");
        assert_eq!(asked(&["--holdout"]).unwrap(), "holdout");
        assert_eq!(asked(&["--fresh"]).unwrap(), "fresh");
        assert_eq!(asked(&["--fresh-2"]).unwrap(), "fresh-2");
        // Two splits at once is a usage error (clap exits 2 on it).
        let error = asked(&["--split", "fresh", "--holdout"]).unwrap_err();
        assert_eq!(error.exit_code(), 2);
        assert!(asked(&["--fresh", "--fresh-2"]).is_err());
    }

    #[test]
    fn an_unknown_split_lists_the_known_ones_and_exits_2() {
        let mut files = Vec::new();
        for split in ["fresh-2", "tune", "fresh-10", "fresh", "holdout", "fresh-2"] {
            let mut file = source(Vec::new());
            file.split = Split::try_from(split.to_string()).unwrap();
            files.push(file);
        }
        assert_eq!(choose_split(&files, "fresh-10").unwrap().name(), "fresh-10");
        let error = choose_split(&files, "fresh-3").unwrap_err();
        assert_eq!(
            error.known,
            ["tune", "holdout", "fresh", "fresh-2", "fresh-10"]
        );
        let message = error.to_string();
        assert!(
            message.contains("`fresh-3`")
                && message.contains("tune, holdout, fresh, fresh-2, fresh-10"),
            "{message}"
        );
        assert_eq!(exit_status(&anyhow::Error::new(error)).code(), 2);
        assert_eq!(
            exit_status(&anyhow::anyhow!("eda-lint failed")),
            Status::Failed
        );
    }

    #[test]
    fn a_label_file_in_the_wrong_split_or_with_an_unknown_rule_is_refused() {
        let rules = rule_names();
        let mut file = source(vec![label(1, "auto-ack", Verdict::Clear)]);
        file.name = String::from("abc");
        let error = check_label_file(&file, &rules).unwrap_err().to_string();
        assert!(error.contains("byte-sum"), "{error}");
        // A fresh batch is held out whole, whatever its byte sum.
        for batch in ["fresh", "fresh-2", "fresh-3"] {
            file.split = Split::try_from(batch.to_string()).unwrap();
            assert!(check_label_file(&file, &rules).is_ok(), "{batch}");
        }
        let file = source(vec![label(1, "auto-acks", Verdict::Clear)]);
        let error = check_label_file(&file, &rules).unwrap_err().to_string();
        assert!(error.contains("not a rule"), "{error}");
        let mut file = source(vec![label(1, "auto-ack", Verdict::Clear)]);
        file.labelled = String::from("yesterday");
        let error = check_label_file(&file, &rules).unwrap_err().to_string();
        assert!(error.contains("YYYY-MM-DD"), "{error}");
        let mut file = source(vec![label(1, "auto-ack", Verdict::Clear)]);
        file.labels[0].path = String::from("src/unlisted.rs");
        let error = check_label_file(&file, &rules).unwrap_err().to_string();
        assert!(error.contains("not listed"), "{error}");
    }

    #[test]
    fn floors_fail_only_below_them() {
        let mut total = BTreeMap::new();
        total.insert(
            String::from("auto-ack"),
            Tally {
                tp: 9,
                fp: 1,
                fn_: 3,
            },
        );
        let floors: BTreeMap<String, Floor> =
            toml::from_str("auto-ack = { precision = 0.9, recall = 0.8 }").unwrap();
        let below = below_floors(&total, &floors);
        assert_eq!(below.len(), 1, "{below:?}");
        assert!(below[0].contains("recall 0.75"), "{below:?}");
    }

    /// Every label file in the project parses and passes the checks.
    #[test]
    fn the_projects_label_files_are_well_formed() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let files = read_labels(&root.join("lints/tests/realworld/labels")).unwrap();
        let pins = all_pins(&corpus_manifests(&root).unwrap()).unwrap();
        for (path, file) in &files {
            if file.source == SourceKind::Crate {
                assert!(
                    pins.contains_key(&format!("{}@{}", file.name, file.version)),
                    "{}: {}@{} is not pinned in any corpus manifest",
                    path.display(),
                    file.name,
                    file.version
                );
            }
        }
    }
}

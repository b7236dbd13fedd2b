//! `cargo bench -p eda-lint`: how fast is linting next to parsing alone?
//!
//! Reads every `.rs` file under the local cargo registry sources into
//! memory (hundreds of real crates once the workspace's dependencies are
//! fetched), then times, on the same files and the same big-stack thread
//! pool the driver uses:
//!
//! 1. parse only: `syn::parse_file` on every file;
//! 2. lint: [`eda_lint::lint_source`] with every rule;
//! 3. lint with the pre-filter: files mentioning no relevant crate skipped;
//! 4. the driver alone, with no rule selected, to tell its cost from the rules'.
//! 5. crate-wide: the files grouped by crate, each crate parsed once,
//!    summarised and linted on one thread (what `eda-lint check DIR` does),
//!    crates in parallel;
//! 6. parse only and crate-wide again on the crates that import a broker
//!    client: on the whole registry the analysis skips most files (they name
//!    no broker or database), so this is the figure for real broker-using
//!    code.
//!
//! It prints files, lines, lines per second and the ratio lint ÷ parse-only
//! for 2, 3, 5 and 6. The passes take turns for `ROUNDS` rounds (after a
//! warm-up round; `EDA_LINT_BENCH_ROUNDS=N` sets how many) and the fastest
//! run of each counts, the figure least disturbed by other work on the
//! machine. Reading the files is not timed. `EDA_LINT_CORPUS=DIR` benches
//! another folder.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use eda_lint::Config;
use eda_lint::prefilter::Prefilter;
use rayon::prelude::*;

/// Timed rounds after the warm-up; `EDA_LINT_BENCH_ROUNDS` overrides it
/// (the whole registry takes minutes a round on a small machine).
const ROUNDS: usize = 3;

fn rounds() -> usize {
    std::env::var("EDA_LINT_BENCH_ROUNDS")
        .ok()
        .and_then(|value| value.parse().ok())
        .filter(|rounds| *rounds > 0)
        .unwrap_or(ROUNDS)
}

fn main() {
    let roots = corpus_roots();
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    for root in &roots {
        collect(root, &mut files);
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    if files.is_empty() {
        println!("no .rs files under {roots:?}; run `cargo fetch` first");
        return;
    }
    // Files the depth guard refuses would overflow a parse-only pass too.
    files.retain(|(_, text)| eda_lint::parse::nesting_depth(text) <= eda_lint::parse::MAX_NESTING);
    let lines: usize = files.iter().map(|(_, text)| text.lines().count()).sum();
    let bytes: usize = files.iter().map(|(_, text)| text.len()).sum();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .stack_size(eda_lint::run::STACK_SIZE)
        .build()
        .expect("a thread pool");
    println!(
        "corpus: {} files, {lines} lines, {:.1} MB, {threads} threads",
        files.len(),
        bytes as f64 / 1e6
    );

    let config = Config::default();
    // The driver alone (recovering parser, guards, suppressions), no rule.
    let no_rules: toml::Table = "select = []".parse().expect("valid TOML");
    let driver_only =
        Config::from_table(&no_rules, Path::new("bench"), Path::new(".")).expect("a valid config");
    let prefilter = Prefilter::new(config.wrapper_names());
    let parse_pass = || {
        pool.install(|| {
            files
                .par_iter()
                .filter(|(_, text)| {
                    let parsed = syn::parse_file(text).is_ok();
                    proc_macro2::extra::invalidate_current_thread_spans();
                    parsed
                })
                .count()
        })
    };
    let lint_pass = |filter: Option<&Prefilter>, config: &Config| {
        pool.install(|| {
            files
                .par_iter()
                .filter(|(_, text)| filter.is_none_or(|f| f.is_relevant(text)))
                .map(|(path, text)| {
                    let report = eda_lint::lint_source(path, text, config);
                    proc_macro2::extra::invalidate_current_thread_spans();
                    report.findings.len()
                })
                .sum::<usize>()
        })
    };
    // The passes take turns in each round, so a burst of other work on the
    // machine slows all three alike instead of one; the fastest round of
    // each counts.
    let mut parse = Best::new();
    let mut lint = Best::new();
    let mut filtered = Best::new();
    let mut driver = Best::new();
    for round in 0..=rounds() {
        let timed = |best: &mut Best, pass: &dyn Fn() -> usize| keep_fastest(round, best, pass);
        timed(&mut parse, &parse_pass);
        timed(&mut lint, &|| lint_pass(None, &config));
        timed(&mut filtered, &|| lint_pass(Some(&prefilter), &config));
        timed(&mut driver, &|| lint_pass(None, &driver_only));
    }
    let kept = files
        .iter()
        .filter(|(_, text)| prefilter.is_relevant(text))
        .count();

    // Crates: the registry's `<name>-<version>` folders (or the corpus
    // folder's children), each file with its module path in the crate.
    let mut crates = group_by_crate(&roots, &files);
    // As the driver does: the biggest crates first.
    crates.sort_by_key(|krate| std::cmp::Reverse(krate.files.len()));
    let broker: Vec<&CrateFiles> = crates.iter().filter(|c| c.uses_broker(&files)).collect();
    let broker_files: usize = broker.iter().map(|c| c.files.len()).sum();
    let broker_lines: usize = broker
        .iter()
        .flat_map(|c| &c.files)
        .map(|&i| files[i].1.lines().count())
        .sum();
    let packages = eda_lint::package::Packages::default();
    // Crates are handed out one at a time, biggest first, as the driver
    // does (`largest_first`).
    let crate_pass = |crates: &[&CrateFiles]| {
        pool.install(|| {
            eda_lint::run::largest_first(crates, |krate| {
                let linted = krate
                    .files
                    .iter()
                    .map(|&i| Ok(files[i].1.clone()))
                    .collect();
                eda_lint::run::lint_unit_texts(
                    &krate.unit,
                    linted,
                    Vec::new(),
                    &config,
                    None,
                    &packages,
                )
                .into_iter()
                .flatten()
                .map(|file| file.report.findings.len())
                .sum::<usize>()
            })
            .into_iter()
            .sum::<usize>()
        })
    };
    // Parsing needs no crate-wide view: the baseline parses file by file,
    // spread evenly over the threads like the first parse-only pass.
    let parse_some = |crates: &[&CrateFiles]| {
        let indexes: Vec<usize> = crates
            .iter()
            .flat_map(|krate| krate.files.iter().copied())
            .collect();
        pool.install(|| {
            indexes
                .par_iter()
                .filter(|&&i| {
                    let parsed = syn::parse_file(&files[i].1).is_ok();
                    proc_macro2::extra::invalidate_current_thread_spans();
                    parsed
                })
                .count()
        })
    };
    let all: Vec<&CrateFiles> = crates.iter().collect();
    let mut crate_wide = Best::new();
    let mut broker_parse = Best::new();
    let mut broker_lint = Best::new();
    let mut parse_again = Best::new();
    for round in 0..=rounds() {
        let timed = |best: &mut Best, pass: &dyn Fn() -> usize| keep_fastest(round, best, pass);
        timed(&mut parse_again, &parse_pass);
        timed(&mut crate_wide, &|| crate_pass(&all));
        timed(&mut broker_parse, &|| parse_some(&broker));
        timed(&mut broker_lint, &|| crate_pass(&broker));
    }

    let per_second = |time: Duration| lines as f64 / time.as_secs_f64();
    println!(
        "parse only:            {:>8.3} s  {:>12.0} lines/s  ({} of {} files parse as a whole)",
        parse.wall.as_secs_f64(),
        per_second(parse.wall),
        parse.result,
        files.len()
    );
    println!(
        "lint:                  {:>8.3} s  {:>12.0} lines/s  ratio lint/parse {:.2}  ({} findings)",
        lint.wall.as_secs_f64(),
        per_second(lint.wall),
        lint.wall.as_secs_f64() / parse.wall.as_secs_f64(),
        lint.result
    );
    println!(
        "driver alone, no rule: {:>8.3} s  {:>12.0} lines/s  ratio lint/parse {:.2}",
        driver.wall.as_secs_f64(),
        per_second(driver.wall),
        driver.wall.as_secs_f64() / parse.wall.as_secs_f64(),
    );
    println!(
        "lint with pre-filter:  {:>8.3} s  {:>12.0} lines/s  ratio lint/parse {:.2}  ({} findings; {kept} of {} files linted)",
        filtered.wall.as_secs_f64(),
        per_second(filtered.wall),
        filtered.wall.as_secs_f64() / parse.wall.as_secs_f64(),
        filtered.result,
        files.len()
    );
    println!(
        "crate-wide:            {:>8.3} s  {:>12.0} lines/s  ratio lint/parse {:.2}  ({} findings; {} crates){}",
        crate_wide.wall.as_secs_f64(),
        per_second(crate_wide.wall),
        crate_wide.wall.as_secs_f64() / parse_again.wall.as_secs_f64(),
        crate_wide.result,
        crates.len(),
        cpu_ratio(&crate_wide, &parse_again)
    );
    println!(
        "broker-using crates:   {} crates, {broker_files} files, {broker_lines} lines",
        broker.len()
    );
    println!(
        "  parse only:          {:>8.3} s  {:>12.0} lines/s",
        broker_parse.wall.as_secs_f64(),
        broker_lines as f64 / broker_parse.wall.as_secs_f64(),
    );
    println!(
        "  crate-wide:          {:>8.3} s  {:>12.0} lines/s  ratio lint/parse {:.2}  ({} findings){}",
        broker_lint.wall.as_secs_f64(),
        broker_lines as f64 / broker_lint.wall.as_secs_f64(),
        broker_lint.wall.as_secs_f64() / broker_parse.wall.as_secs_f64(),
        broker_lint.result,
        cpu_ratio(&broker_lint, &broker_parse)
    );
}

/// One crate of the corpus: its files (indexes into the corpus) and the
/// unit the driver would make of them.
struct CrateFiles {
    files: Vec<usize>,
    unit: eda_lint::crates::Unit,
}

impl CrateFiles {
    /// Whether a file of the crate imports a broker client crate.
    fn uses_broker(&self, files: &[(PathBuf, String)]) -> bool {
        self.files.iter().any(|&i| {
            let text = &files[i].1;
            eda_lint::analysis::apis::MESSAGING_CRATES
                .iter()
                .filter(|name| **name != "broker")
                .any(|name| {
                    text.contains(&format!("use {name}::")) || text.contains(&format!(" {name}::"))
                })
        })
    }
}

/// The files grouped by the crate folder they are in (the first folder
/// under a corpus root), with their module paths as the driver computes
/// them.
fn group_by_crate(roots: &[PathBuf], files: &[(PathBuf, String)]) -> Vec<CrateFiles> {
    let mut by_dir: std::collections::BTreeMap<PathBuf, Vec<usize>> = Default::default();
    for (index, (path, _)) in files.iter().enumerate() {
        let dir = roots
            .iter()
            .find_map(|root| {
                let first = path.strip_prefix(root).ok()?.components().next()?;
                Some(root.join(first))
            })
            .unwrap_or_else(|| path.parent().map(Path::to_path_buf).unwrap_or_default());
        by_dir.entry(dir).or_default().push(index);
    }
    by_dir
        .into_iter()
        .map(|(dir, indexes)| {
            let linted: Vec<PathBuf> = indexes.iter().map(|&i| files[i].0.clone()).collect();
            let modules = linted
                .iter()
                .map(|path| (path.clone(), eda_lint::crates::module_path(&dir, path)))
                .collect();
            CrateFiles {
                files: indexes,
                unit: eda_lint::crates::Unit {
                    linted,
                    modules,
                    ..Default::default()
                },
            }
        })
        .collect()
}

fn corpus_roots() -> Vec<PathBuf> {
    if let Some(dir) = std::env::var_os("EDA_LINT_CORPUS") {
        return vec![PathBuf::from(dir)];
    }
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    let Some(home) = home else { return Vec::new() };
    std::fs::read_dir(home.join("registry").join("src"))
        .map(|entries| entries.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default()
}

/// Every UTF-8 `.rs` file under `dir` (iteratively; symlinks not followed).
fn collect(dir: &Path, files: &mut Vec<(PathBuf, String)>) {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.filter_map(|e| e.ok()) {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let path = entry.path();
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file()
                && path.extension().is_some_and(|e| e == "rs")
                && let Ok(text) = std::fs::read_to_string(&path)
            {
                files.push((path, text));
            }
        }
    }
}

/// The fastest run of a pass: wall time, CPU time (user + system, of the
/// whole process, on Linux) and what the pass returned.
///
/// On a machine shared with other work, wall time swings with the load;
/// CPU time counts only this process's own work, so its ratio is the
/// steadier figure. Each keeps its own minimum over the rounds.
struct Best {
    wall: Duration,
    cpu: Option<Duration>,
    result: usize,
}

impl Best {
    fn new() -> Best {
        Best {
            wall: Duration::MAX,
            cpu: None,
            result: 0,
        }
    }
}

/// Times `pass` and keeps its wall and CPU time in `best` where they are
/// the lowest so far; round 0 warms caches and is not counted.
fn keep_fastest(round: usize, best: &mut Best, pass: &dyn Fn() -> usize) {
    let cpu_before = cpu_time();
    let started = Instant::now();
    let result = pass();
    let took = started.elapsed();
    let cpu = cpu_time()
        .zip(cpu_before)
        .map(|(after, before)| after.saturating_sub(before));
    if round == 0 {
        return;
    }
    if took < best.wall {
        best.wall = took;
        best.result = result;
    }
    if let Some(cpu) = cpu {
        best.cpu = Some(best.cpu.map_or(cpu, |known| known.min(cpu)));
    }
}

/// The CPU time this process has used so far, user and system, from
/// `/proc/self/stat` (fields 14 and 15, in clock ticks of 1/100 s, the
/// fixed `USER_HZ` of Linux's interface); `None` where there is no such
/// file.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) is in parentheses and may hold spaces:
    // count the fields after its closing one, where field 3 starts.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis((user + system) * 10))
}

/// `lint`'s CPU time over `parse`'s, as text for the report ("  cpu ratio
/// 1.23 (4.56 s / 3.70 s)"), or nothing where CPU time is not known.
fn cpu_ratio(lint: &Best, parse: &Best) -> String {
    match (lint.cpu, parse.cpu) {
        (Some(lint), Some(parse)) if !parse.is_zero() => format!(
            "  cpu ratio {:.2} ({:.2} s / {:.2} s)",
            lint.as_secs_f64() / parse.as_secs_f64(),
            lint.as_secs_f64(),
            parse.as_secs_f64()
        ),
        _ => String::new(),
    }
}

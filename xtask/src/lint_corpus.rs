//! `cargo xtask lint-corpus`: eda-lint must survive real code.
//!
//! Lints every crate under the local cargo registry sources
//! (`$CARGO_HOME/registry/src/*/*`, hundreds of real crates once the
//! workspace's dependencies are fetched) with a release build of
//! `eda-lint`, one process per crate so that a hang can be cut off by a
//! timeout and a crash (stack overflow, abort) is seen as such. It fails if
//! any run crashes, panics (an `internal-error` diagnostic or a panic
//! message), or outlives the timeout. Findings, parse errors and unreadable
//! files are counted and printed, not failures: real crates contain test
//! files that are not Rust or not UTF-8 on purpose.
//!
//! Each run uses an empty config (`--config`), so a crate's own
//! `[package.metadata]` cannot change what is checked.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

#[derive(clap::Args)]
pub struct Args {
    /// The folder holding one folder per crate; default: every index under
    /// `$CARGO_HOME/registry/src`.
    #[arg(long, value_name = "DIR")]
    registry: Option<PathBuf>,
    /// Seconds one crate may take before it counts as a hang.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
    /// Lint at most this many crates (the first ones by name); 0 = all.
    #[arg(long, default_value_t = 0)]
    limit: usize,
}

/// How one crate's run went.
enum Outcome {
    Ok { findings: Vec<String> },
    Failed(String),
}

pub fn run(args: Args) -> Result<()> {
    let crates = crate_folders(args.registry.as_deref())?;
    if crates.is_empty() {
        bail!("no crate sources found; run `cargo fetch` first to fill the registry");
    }
    let binary = build_release()?;
    let scratch = tempfile::tempdir().context("creating a scratch folder")?;
    let config = scratch.path().join("eda-lint.toml");
    std::fs::write(&config, "").context("writing the empty config")?;
    let output = scratch.path().join("findings.json");
    let crates: Vec<PathBuf> = match args.limit {
        0 => crates,
        n => crates.into_iter().take(n).collect(),
    };

    let started = Instant::now();
    let mut by_rule: BTreeMap<String, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    let total = crates.len();
    let (mut files, mut lines) = (0usize, 0usize);
    for (i, folder) in crates.iter().enumerate() {
        let name = folder
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let (crate_files, crate_lines) = count_rust(folder);
        files += crate_files;
        lines += crate_lines;
        let run_started = Instant::now();
        let outcome = lint_crate(
            &binary,
            folder,
            &config,
            &output,
            Duration::from_secs(args.timeout),
        );
        let took = run_started.elapsed().as_secs_f64();
        match outcome {
            Outcome::Ok { findings } => {
                println!(
                    "[{:>4}/{total}] {name}: {crate_files} files, {} findings, {took:.1} s",
                    i + 1,
                    findings.len()
                );
                for rule in findings {
                    *by_rule.entry(rule).or_default() += 1;
                }
            }
            Outcome::Failed(why) => {
                println!("[{:>4}/{total}] {name}: FAILED: {why}", i + 1);
                failures.push(format!("{name}: {why}"));
            }
        }
    }

    println!();
    println!(
        "lint-corpus: {total} crates, {files} files, {lines} lines in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    for (rule, count) in &by_rule {
        println!("  {rule}: {count}");
    }
    if failures.is_empty() {
        println!("lint-corpus: no crash, panic or hang");
        Ok(())
    } else {
        for failure in &failures {
            println!("  FAILED {failure}");
        }
        bail!(
            "{} of {total} crates crashed, panicked or hung",
            failures.len()
        )
    }
}

/// Every crate folder, sorted, across all registry indexes.
fn crate_folders(registry: Option<&Path>) -> Result<Vec<PathBuf>> {
    let roots: Vec<PathBuf> = match registry {
        Some(dir) => vec![dir.to_path_buf()],
        None => {
            let home = std::env::var_os("CARGO_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
                .context("neither CARGO_HOME nor HOME is set")?;
            let src = home.join("registry").join("src");
            match std::fs::read_dir(&src) {
                Ok(entries) => entries.filter_map(|e| e.ok()).map(|e| e.path()).collect(),
                Err(_) => Vec::new(),
            }
        }
    };
    let mut crates = Vec::new();
    for root in roots {
        let entries =
            std::fs::read_dir(&root).with_context(|| format!("reading {}", root.display()))?;
        crates.extend(
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.is_dir()),
        );
    }
    crates.sort_by(|a, b| a.file_name().cmp(&b.file_name()).then(a.cmp(b)));
    Ok(crates)
}

/// Builds `eda-lint` in release mode and returns the binary's path, as cargo reports it.
pub(crate) fn build_release() -> Result<PathBuf> {
    println!("building eda-lint (release)");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "build",
            "--release",
            "-p",
            "eda-lint",
            "--bin",
            "eda-lint",
            "--message-format=json",
        ])
        .stderr(Stdio::inherit())
        .output()
        .context("running cargo build")?;
    if !output.status.success() {
        bail!("building eda-lint failed");
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["reason"] == "compiler-artifact")
        .filter_map(|message| message["executable"].as_str().map(PathBuf::from))
        .next_back()
        .context("cargo build did not report the eda-lint executable")
}

/// Lints one crate in its own process, killed after `timeout`.
fn lint_crate(
    binary: &Path,
    folder: &Path,
    config: &Path,
    output: &Path,
    timeout: Duration,
) -> Outcome {
    // Every file: this hunts crashes and hangs, and a crate's tests and
    // examples are input like any other (they also match `count_rust`).
    let every_file = [String::from("--include-tests")];
    let findings = match lint_json(binary, folder, config, output, &every_file, timeout) {
        JsonRun::Ok(findings) => findings,
        JsonRun::Failed(why) => return Outcome::Failed(why),
    };
    if let Some(internal) = findings.iter().find(|f| f["rule"] == "internal-error") {
        return Outcome::Failed(format!(
            "internal error in {}: {}",
            internal["path"].as_str().unwrap_or("?"),
            internal["message"].as_str().unwrap_or("?")
        ));
    }
    Outcome::Ok {
        findings: findings
            .iter()
            .filter_map(|f| f["rule"].as_str().map(String::from))
            .collect(),
    }
}

/// How one `eda-lint check --output-format=json` run went.
pub(crate) enum JsonRun {
    /// The findings and diagnostics, as the JSON output lists them.
    Ok(Vec<serde_json::Value>),
    /// A crash, a panic, a hang or no output: why, in one line.
    Failed(String),
}

/// Runs `eda-lint check FOLDER` in its own process with `config`, writing
/// JSON to `output`, killed after `timeout`; `extra` are more flags.
pub(crate) fn lint_json(
    binary: &Path,
    folder: &Path,
    config: &Path,
    output: &Path,
    extra: &[String],
    timeout: Duration,
) -> JsonRun {
    let _ = std::fs::remove_file(output);
    let spawned = Command::new(binary)
        .arg("check")
        .arg(folder)
        .arg("--config")
        .arg(config)
        .arg("--exit-zero")
        .arg("--color=never")
        .arg(format!("--output-format=json={}", output.display()))
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(error) => return JsonRun::Failed(format!("could not start eda-lint: {error}")),
    };
    // Drain stderr on a thread so a chatty run cannot block on a full pipe.
    let mut stderr = child.stderr.take();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(stderr) = stderr.as_mut() {
            let _ = stderr.read_to_string(&mut text);
        }
        text
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return JsonRun::Failed(format!(
                    "hung: still running after {} s",
                    timeout.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(error) => return JsonRun::Failed(format!("could not wait for eda-lint: {error}")),
        }
    };
    let stderr = reader.join().unwrap_or_default();
    if stderr.contains("panicked") {
        let line = stderr
            .lines()
            .find(|l| l.contains("panicked"))
            .unwrap_or_default();
        return JsonRun::Failed(format!("panic: {line}"));
    }
    // 0: clean or findings (--exit-zero); 2: some file could not be read,
    // which real crates do on purpose (non-UTF-8 test data). Anything else,
    // or death by a signal, is a crash.
    match status.code() {
        Some(0 | 2) => {}
        Some(code) => return JsonRun::Failed(format!("exit code {code}: {}", stderr.trim())),
        None => {
            return JsonRun::Failed(format!("killed by a signal ({status}): {}", stderr.trim()));
        }
    }
    match std::fs::read_to_string(output)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
    {
        Some(findings) => JsonRun::Ok(findings),
        None => JsonRun::Failed(format!("no JSON output: {}", stderr.trim())),
    }
}

/// How many `.rs` files and lines a folder holds (for the summary).
fn count_rust(folder: &Path) -> (usize, usize) {
    let mut stack = vec![folder.to_path_buf()];
    let (mut files, mut lines) = (0, 0);
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
            } else if kind.is_file() && path.extension().is_some_and(|e| e == "rs") {
                files += 1;
                lines +=
                    std::fs::read(&path).map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count());
            }
        }
    }
    (files, lines)
}

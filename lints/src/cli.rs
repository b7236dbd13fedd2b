//! The command line of `eda-lint` and `cargo eda-lint`.
//!
//! Exit codes (the same for both):
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | no findings (or `--exit-zero`) |
//! | 1 | findings: rule findings, `parse-error`s, suppression diagnostics |
//! | 2 | a usage, config, baseline or output error, or a file that could not be analysed at all (`io-error`, `too-deeply-nested`, `internal-error`); `--exit-zero` does not hide these |

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::baseline::Baseline;
use crate::config::{self, Config};
use crate::diagnostics::TOOL_DIAGNOSTICS;
use crate::finding::Confidence;
use crate::output::{self, DEFAULT_BOOK_URL, Format, plural};
use crate::rules::RULES;
use crate::run::{self, RunOptions, RunReport};

/// The exit code for findings.
pub const EXIT_FINDINGS: u8 = 1;
/// The exit code for errors.
pub const EXIT_ERROR: u8 = 2;

/// The exit codes, for `--help`.
pub const EXIT_CODES_HELP: &str = "\
Exit codes: 0 no findings, 1 findings, 2 usage/config/I/O error or a file that could not be
analysed at all (--exit-zero turns 1 into 0, never 2).";

const CHECK_AFTER_HELP: &str = "\
Output: --output-format can be given several times; FORMAT=FILE writes that format to FILE,
e.g. `--output-format text --output-format sarif=eda-lint.sarif`. --output-file FILE sends the
one format given without a file there. At most one format goes to standard output.

Exit codes: 0 no findings, 1 findings, 2 usage/config/I/O error or a file that could not be
analysed at all (--exit-zero turns 1 into 0, never 2).";

/// A linter for reliability mistakes in event-driven Rust code: acking before
/// the work is done, publishing without an idempotency key, local-time
/// timestamps in events, dual writes to a database and a broker.
///
/// It reads source only (with syn): it never compiles or runs your code.
#[derive(Debug, Parser)]
#[command(name = "eda-lint", version, about, long_about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Lint files and folders (default: the current folder).
    #[command(after_help = CHECK_AFTER_HELP)]
    Check(Box<CheckArgs>),
    /// Explain a rule: what it finds, why it matters, an example and the fix.
    Rule(RuleArgs),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Files or folders to lint. Folders are walked honouring .gitignore;
    /// target/ is skipped.
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub options: CheckOptions,
}

/// Options shared by `eda-lint check` and `cargo eda-lint`.
#[derive(Debug, Args, Clone)]
pub struct CheckOptions {
    /// Output format: text, concise, json, sarif, github or rustc-json; FORMAT=FILE writes it to FILE. Repeatable.
    #[arg(long = "output-format", value_name = "FORMAT[=FILE]", value_parser = parse_output)]
    pub output_format: Vec<OutputSpec>,
    /// Write the format given without a file (default: text) to FILE instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub output_file: Option<PathBuf>,
    /// Use this config file instead of looking for eda-lint.toml or [*.metadata.eda-lint].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Run only these rules (comma-separated), overriding the config's `select`.
    #[arg(long, value_delimiter = ',', value_name = "RULE")]
    pub select: Vec<String>,
    /// Do not run these rules (comma-separated), on top of the config's `ignore`.
    #[arg(long, value_delimiter = ',', value_name = "RULE")]
    pub ignore: Vec<String>,
    /// Drop findings less sure than this.
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub min_confidence: Option<ConfidenceArg>,
    /// Hide the findings recorded in this baseline file.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Record every current finding in FILE (then report only what a baseline cannot hide).
    #[arg(long, value_name = "FILE", conflicts_with = "baseline")]
    pub write_baseline: Option<PathBuf>,
    /// Exit 0 even when there are findings (errors still exit 2).
    #[arg(long)]
    pub exit_zero: bool,
    /// Skip files that mention no crate or API the rules know (faster, may miss wrapped APIs).
    #[arg(long)]
    pub prefilter: bool,
    /// Lint test code too: #[cfg(test)] and #[test] items, and tests/, benches/ and examples/.
    #[arg(long)]
    pub include_tests: bool,
    /// Worker threads (default: one per core).
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    /// When to colour the text output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Where the book is served, for links to chapters.
    #[arg(long, value_name = "URL", default_value = DEFAULT_BOOK_URL)]
    pub book_url: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConfidenceArg {
    Low,
    Medium,
    High,
}

/// One `--output-format` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputSpec {
    pub format: Format,
    pub file: Option<PathBuf>,
}

fn parse_output(value: &str) -> Result<OutputSpec, String> {
    let (name, file) = match value.split_once('=') {
        Some((name, file)) if !file.is_empty() => (name, Some(PathBuf::from(file))),
        Some(_) => return Err(String::from("expected FORMAT=FILE with a file name")),
        None => (value, None),
    };
    let format = Format::from_str(name, true).map_err(|_| {
        let names: Vec<String> = Format::value_variants()
            .iter()
            .filter_map(|f| f.to_possible_value())
            .map(|v| v.get_name().to_string())
            .collect();
        let hint = config::nearest(name, names.iter().map(String::as_str))
            .map(|near| format!(" (did you mean `{near}`?)"))
            .unwrap_or_default();
        format!(
            "unknown format `{name}`{hint}; expected one of {}",
            names.join(", ")
        )
    })?;
    Ok(OutputSpec { format, file })
}

#[derive(Debug, Args)]
pub struct RuleArgs {
    /// The rule's name, e.g. `ack-before-processing`.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub name: Option<String>,
    /// Explain every rule, and the linter's own diagnostics.
    #[arg(long)]
    pub all: bool,
}

/// An error that ends the run with exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(transparent)]
    Baseline(#[from] crate::baseline::BaselineError),
    #[error("could not write {path}: {source}")]
    Output {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Usage(String),
}

/// `eda-lint`'s main.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => check(&args.paths, &args.options, &[]),
        Command::Rule(args) => rule(&args),
    };
    finish(result)
}

/// Prints an error and turns a result into the process exit code.
pub fn finish(result: Result<u8, CliError>) -> ExitCode {
    match result {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// `eda-lint rule`.
pub fn rule(args: &RuleArgs) -> Result<u8, CliError> {
    let mut out = String::new();
    if args.all {
        for rule in RULES {
            out.push_str(&explain_rule(rule));
            out.push('\n');
        }
        out.push_str("# The linter's own diagnostics\n\n");
        for diagnostic in TOOL_DIAGNOSTICS {
            out.push_str(&format!(
                "- `{}`: {}\n",
                diagnostic.name, diagnostic.summary
            ));
        }
    } else if let Some(name) = &args.name {
        if let Some(rule) = crate::rules::by_name(name) {
            out.push_str(&explain_rule(rule));
        } else if let Some(diagnostic) = crate::diagnostics::by_name(name) {
            out.push_str(&format!(
                "# {}\n\n{}\n\nThis is one of the linter's own diagnostics, not a rule about your code.\n",
                diagnostic.name, diagnostic.summary
            ));
        } else {
            let names = config::all_names();
            let hint = match config::nearest(name, names.iter().copied()) {
                Some(near) => format!("; did you mean `{near}`?"),
                None => String::from("; `eda-lint rule --all` lists them"),
            };
            return Err(CliError::Usage(format!("no rule named `{name}`{hint}")));
        }
    }
    print!("{out}");
    Ok(0)
}

fn explain_rule(rule: &crate::rules::Rule) -> String {
    format!(
        "# {}\n\n{}\n\nDefault severity: {}. Chapter: {}\n\n{}\n",
        rule.name,
        rule.summary,
        output::severity_word(rule.default_severity),
        rule.chapter,
        output::doc_text(rule.doc)
    )
}

/// Lints `paths` with `options`: the body of `eda-lint check` and `cargo eda-lint`.
pub fn check(
    paths: &[PathBuf],
    options: &CheckOptions,
    skip_dirs: &[PathBuf],
) -> Result<u8, CliError> {
    let base = match &options.config {
        Some(file) => Config::from_file(file)?,
        None => Config::discover(paths.first().map_or(Path::new("."), PathBuf::as_path))?,
    };
    check_with_config(paths, options, skip_dirs, base)
}

/// [`check`] with the config already found (command-line overrides still apply).
pub fn check_with_config(
    paths: &[PathBuf],
    options: &CheckOptions,
    skip_dirs: &[PathBuf],
    base: Config,
) -> Result<u8, CliError> {
    let outputs = plan_outputs(options)?;
    let config = apply_overrides(base, options)?;
    let run_options = RunOptions {
        jobs: options.jobs.unwrap_or(0),
        skip_dirs: skip_dirs.to_vec(),
    };
    let mut report = run::lint_paths(paths, &config, &run_options);
    for warning in &report.warnings {
        eprintln!("warning: {warning}");
    }
    if let Some(path) = &options.write_baseline {
        let baseline = Baseline::record(&report.files, &config);
        baseline.write(path)?;
        eprintln!(
            "eda-lint: recorded {} {} in {}",
            baseline.findings.len(),
            plural(baseline.findings.len(), "finding", "findings"),
            path.display()
        );
        baseline.apply(&mut report.files, &config);
    } else if let Some(path) = &options.baseline {
        let baseline = Baseline::read(path)?;
        let (hidden, stale) = baseline.apply(&mut report.files, &config);
        eprintln!(
            "eda-lint: the baseline hid {hidden} {}",
            plural(hidden, "finding", "findings")
        );
        if stale > 0 {
            eprintln!(
                "eda-lint: {stale} baseline {} nothing (fixed or changed); refresh it with --write-baseline",
                plural(stale, "entry matched", "entries matched")
            );
        }
    }
    write_outputs(&outputs, &report, &config, options)?;
    Ok(exit_code(&report, options.exit_zero))
}

/// The exit code a finished run deserves.
pub fn exit_code(report: &RunReport, exit_zero: bool) -> u8 {
    if report.reports().any(|r| r.is_fatal()) {
        EXIT_ERROR
    } else if !exit_zero && report.reports().any(|r| !r.is_clean()) {
        EXIT_FINDINGS
    } else {
        0
    }
}

fn plan_outputs(options: &CheckOptions) -> Result<Vec<OutputSpec>, CliError> {
    let mut outputs = options.output_format.clone();
    if outputs.is_empty() {
        outputs.push(OutputSpec {
            format: Format::Text,
            file: None,
        });
    }
    if let Some(file) = &options.output_file {
        let mut without_file = outputs.iter_mut().filter(|o| o.file.is_none());
        match (without_file.next(), without_file.next()) {
            (Some(spec), None) => spec.file = Some(file.clone()),
            (None, _) => {
                return Err(CliError::Usage(String::from(
                    "--output-file has no format to take: every --output-format already names a file",
                )));
            }
            (Some(_), Some(_)) => {
                return Err(CliError::Usage(String::from(
                    "--output-file is ambiguous with several formats without a file; use FORMAT=FILE",
                )));
            }
        }
    }
    if outputs.iter().filter(|o| o.file.is_none()).count() > 1 {
        return Err(CliError::Usage(String::from(
            "only one output format can go to standard output; send the others to files with FORMAT=FILE",
        )));
    }
    Ok(outputs)
}

fn apply_overrides(mut config: Config, options: &CheckOptions) -> Result<Config, CliError> {
    let mut overrides = toml::Table::new();
    if !options.select.is_empty() {
        overrides.insert(String::from("select"), strings(&options.select));
    }
    if !options.ignore.is_empty() {
        overrides.insert(String::from("ignore"), strings(&options.ignore));
    }
    if !overrides.is_empty() {
        config = config.with_overrides(&overrides, Path::new("the command line"))?;
    }
    if let Some(level) = options.min_confidence {
        config.min_confidence = match level {
            ConfidenceArg::Low => Confidence::Low,
            ConfidenceArg::Medium => Confidence::Medium,
            ConfidenceArg::High => Confidence::High,
        };
    }
    config.prefilter |= options.prefilter;
    config.include_tests |= options.include_tests;
    Ok(config)
}

fn strings(values: &[String]) -> toml::Value {
    toml::Value::Array(values.iter().cloned().map(toml::Value::String).collect())
}

fn write_outputs(
    outputs: &[OutputSpec],
    report: &RunReport,
    config: &Config,
    options: &CheckOptions,
) -> Result<(), CliError> {
    let project_root = project_root();
    for spec in outputs {
        let to_terminal = spec.file.is_none() && std::io::stdout().is_terminal();
        let color = match options.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => to_terminal && std::env::var_os("NO_COLOR").is_none(),
        };
        let context = output::Context {
            config,
            report,
            book_url: &options.book_url,
            color: color && spec.format == Format::Text,
            project_root: project_root.clone(),
        };
        let rendered = output::render(spec.format, &context);
        match &spec.file {
            Some(path) => std::fs::write(path, rendered).map_err(|source| CliError::Output {
                path: path.clone(),
                source,
            })?,
            None => {
                let mut stdout = std::io::stdout().lock();
                // A closed pipe (`eda-lint check | head`) is not an error worth a panic.
                let _ = stdout.write_all(rendered.as_bytes());
                let _ = stdout.flush();
            }
        }
    }
    Ok(())
}

/// The repository root (the nearest folder above the current one holding
/// `.git`), else the current folder: SARIF URIs are relative to it.
pub fn project_root() -> PathBuf {
    let current = std::env::current_dir().unwrap_or_default();
    current
        .ancestors()
        .find(|dir| dir.join(".git").exists())
        .map_or(current.clone(), Path::to_path_buf)
}

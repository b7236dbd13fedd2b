//! `cargo eda-lint`: which folders to lint, from `cargo metadata`.
//!
//! Cargo runs `cargo-eda-lint eda-lint <args>`; the package selection works
//! like other cargo commands:
//!
//! - `-p NAME` (repeatable): those packages of the workspace;
//! - `--workspace`: every member;
//! - neither: the package whose `Cargo.toml` is the nearest one (or the one
//!   given with `--manifest-path`), or the default members if that manifest
//!   is a virtual workspace.
//!
//! Each selected package's folder is linted, without the folders of other
//! members nested inside it. The config is found from the single selected
//! package's folder, or from the workspace root when several are selected.

use std::path::{Path, PathBuf};
use std::process::Command;

use clap::{Args, Parser};
use serde::Deserialize;

use crate::cli::{self, CheckOptions, CliError};

/// `cargo eda-lint`.
#[derive(Debug, Parser)]
#[command(name = "cargo", bin_name = "cargo")]
pub enum CargoCli {
    /// Lint the packages of a cargo workspace for reliability mistakes in
    /// event-driven code (see `eda-lint --help`).
    #[command(name = "eda-lint", version, after_help = cli::EXIT_CODES_HELP)]
    EdaLint(CargoArgs),
}

#[derive(Debug, Args)]
pub struct CargoArgs {
    /// Path to Cargo.toml.
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    /// Package to lint (repeatable).
    #[arg(long, short = 'p', value_name = "SPEC")]
    pub package: Vec<String>,
    /// Lint every member of the workspace.
    #[arg(long, conflicts_with = "package")]
    pub workspace: bool,
    #[command(flatten)]
    pub options: CheckOptions,
}

/// The parts of `cargo metadata --no-deps` we read.
#[derive(Debug, Deserialize)]
struct Metadata {
    packages: Vec<Package>,
    workspace_members: Vec<String>,
    #[serde(default)]
    workspace_default_members: Option<Vec<String>>,
    workspace_root: PathBuf,
}

#[derive(Debug, Deserialize)]
struct Package {
    name: String,
    id: String,
    manifest_path: PathBuf,
}

/// `cargo-eda-lint`'s main.
pub fn main() -> std::process::ExitCode {
    let CargoCli::EdaLint(args) = CargoCli::parse();
    cli::finish(run(&args))
}

fn run(args: &CargoArgs) -> Result<u8, CliError> {
    let metadata = metadata(args.manifest_path.as_deref())?;
    let manifest = match &args.manifest_path {
        Some(path) => std::path::absolute(path).unwrap_or_else(|_| path.clone()),
        None => locate_project()?,
    };
    let members: Vec<&Package> = metadata
        .packages
        .iter()
        .filter(|p| metadata.workspace_members.contains(&p.id))
        .collect();
    let selected: Vec<&Package> = if args.workspace {
        members.clone()
    } else if !args.package.is_empty() {
        let mut selected = Vec::new();
        for name in &args.package {
            match members.iter().find(|p| &p.name == name) {
                Some(package) => selected.push(*package),
                None => {
                    let hint =
                        crate::config::nearest(name, members.iter().map(|p| p.name.as_str()))
                            .map(|near| format!("; did you mean `{near}`?"))
                            .unwrap_or_default();
                    return Err(CliError::Usage(format!(
                        "package `{name}` is not a member of the workspace{hint}"
                    )));
                }
            }
        }
        selected
    } else if let Some(package) = members
        .iter()
        .find(|p| same_file(&p.manifest_path, &manifest))
    {
        vec![*package]
    } else {
        let defaults = metadata
            .workspace_default_members
            .as_ref()
            .unwrap_or(&metadata.workspace_members);
        members
            .iter()
            .filter(|p| defaults.contains(&p.id))
            .copied()
            .collect()
    };
    let folder = |p: &Package| {
        p.manifest_path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    };
    let paths: Vec<PathBuf> = selected
        .iter()
        .map(|p| relative_to_cwd(&folder(p)))
        .collect();
    let skip: Vec<PathBuf> = members
        .iter()
        .filter(|p| !selected.iter().any(|s| s.id == p.id))
        .map(|p| folder(p))
        .collect();
    if paths.is_empty() {
        return Err(CliError::Usage(String::from("no package selected")));
    }
    let options = &args.options;
    if options.config.is_none() && paths.len() > 1 {
        // Several packages: the workspace's config applies to all of them.
        if let Some(config) = crate::config::Config::in_folder(&metadata.workspace_root)? {
            return cli::check_with_config(&paths, options, &skip, config);
        }
    }
    cli::check(&paths, options, &skip)
}

fn metadata(manifest_path: Option<&Path>) -> Result<Metadata, CliError> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.args(["metadata", "--format-version", "1", "--no-deps"]);
    if let Some(path) = manifest_path {
        command.arg("--manifest-path").arg(path);
    }
    let output = command
        .output()
        .map_err(|error| CliError::Usage(format!("could not run `cargo metadata`: {error}")))?;
    if !output.status.success() {
        return Err(CliError::Usage(format!(
            "`cargo metadata` failed:\n{}",
            String::from_utf8_lossy(&output.stderr).trim_end()
        )));
    }
    serde_json::from_slice(&output.stdout).map_err(|error| {
        CliError::Usage(format!("could not read `cargo metadata`'s output: {error}"))
    })
}

/// The nearest `Cargo.toml`, as cargo itself finds it.
fn locate_project() -> Result<PathBuf, CliError> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["locate-project", "--message-format", "plain"])
        .output()
        .map_err(|error| {
            CliError::Usage(format!("could not run `cargo locate-project`: {error}"))
        })?;
    if !output.status.success() {
        return Err(CliError::Usage(format!(
            "no Cargo.toml here or above: {}",
            String::from_utf8_lossy(&output.stderr).trim_end()
        )));
    }
    Ok(PathBuf::from(
        String::from_utf8_lossy(&output.stdout).trim_end(),
    ))
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Paths under the current folder are shown relative to it, as users type them.
fn relative_to_cwd(path: &Path) -> PathBuf {
    let Ok(cwd) = std::env::current_dir() else {
        return path.to_path_buf();
    };
    match path.strip_prefix(&cwd) {
        Ok(rest) if rest.as_os_str().is_empty() => PathBuf::from("."),
        Ok(rest) => rest.to_path_buf(),
        Err(_) => path.to_path_buf(),
    }
}

//! `cargo xtask` starts here: a program without dependencies that builds the
//! workshop's tools (the `xtask` package) and hands over to them.
//!
//! Why a launcher: the alias in `.cargo/config.toml` runs cargo with
//! `--quiet`, so that every run after the first prints nothing but the
//! command's own output. But a fresh clone's first run compiles some 140
//! crates, for a minute or more, and in quiet mode cargo's progress bar has
//! no verb: a newcomer saw a bar ending in `185 comp…`, and nothing saying
//! what was going on. The launcher compiles in a second; then, when the
//! tools have never been built, it says so and builds them at cargo's normal
//! verbosity ("Compiling …", "Building [==>  ] 185/250"). Later runs build
//! quietly, with only the bar, as before; a build with nothing to do prints
//! nothing.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// The package of the workshop's tools.
const TOOLS_PACKAGE: &str = "xtask";

/// Said before the first build, which is long.
const FIRST_BUILD_NOTE: &str = "Building the workshop's tools: the first time only, some 140 \
     crates, a minute or two. Later runs start at once.";

/// The exit status when cargo cannot even be started (cargo's own failures
/// keep cargo's status).
const CANNOT_RUN: u8 = 4;

fn main() -> ExitCode {
    let tools = match tools_path() {
        Ok(tools) => tools,
        Err(error) => {
            eprintln!("error: cannot find where the workshop's tools are built: {error}");
            return ExitCode::from(CANNOT_RUN);
        }
    };
    let first = !tools.exists();
    if first {
        eprintln!("{FIRST_BUILD_NOTE}");
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    match Command::new(&cargo).args(build_args(first)).status() {
        Ok(status) if status.success() => {}
        Ok(status) => {
            // Cargo said why; keep its status (101 for a failed build).
            let code = status.code().and_then(|code| u8::try_from(code).ok());
            return ExitCode::from(code.unwrap_or(1));
        }
        Err(error) => {
            eprintln!(
                "error: cannot run {} to build the workshop's tools: {error}",
                Path::new(&cargo).display()
            );
            return ExitCode::from(CANNOT_RUN);
        }
    }
    hand_over(&tools, std::env::args_os().skip(1).collect())
}

/// The tools' executable: next to the launcher's, since both are built by
/// the same cargo into the same target folder and profile.
fn tools_path() -> std::io::Result<PathBuf> {
    let launcher = std::env::current_exe()?;
    let folder = launcher
        .parent()
        .ok_or_else(|| std::io::Error::other("the launcher's path has no folder"))?;
    Ok(folder.join(format!("{TOOLS_PACKAGE}{}", std::env::consts::EXE_SUFFIX)))
}

/// The arguments of the build: at cargo's normal verbosity the first time;
/// quiet afterwards, with the progress bar forced on (cargo hides it in
/// quiet mode) at a width that fits any terminal, so that a rebuild after a
/// change still shows it is working.
fn build_args(first: bool) -> Vec<&'static str> {
    let mut args = vec!["build", "--package", TOOLS_PACKAGE];
    if !first {
        args.extend([
            "--quiet",
            "--config",
            "term.progress.when='always'",
            "--config",
            "term.progress.width=60",
        ]);
    }
    args
}

/// Runs the tools with the learner's arguments in place of this process
/// (on Unix), so that stopping `cargo xtask serve` stops the server itself;
/// elsewhere as a child, passing its exit status on.
fn hand_over(tools: &Path, args: Vec<OsString>) -> ExitCode {
    let mut command = Command::new(tools);
    command.args(args);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // `exec` returns only if it failed.
        let error = command.exec();
        eprintln!("error: cannot run {}: {error}", tools.display());
        ExitCode::from(CANNOT_RUN)
    }
    #[cfg(not(unix))]
    match command.status() {
        Ok(status) => {
            let code = status.code().and_then(|code| u8::try_from(code).ok());
            ExitCode::from(code.unwrap_or(1))
        }
        Err(error) => {
            eprintln!("error: cannot run {}: {error}", tools.display());
            ExitCode::from(CANNOT_RUN)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_build_is_loud_and_the_later_ones_quiet() {
        assert_eq!(build_args(true), ["build", "--package", "xtask"]);
        let later = build_args(false);
        assert!(later.contains(&"--quiet"), "{later:?}");
        assert!(later.contains(&"term.progress.when='always'"), "{later:?}");
    }
}

//! `cargo xtask real`: run an exercise's consumer (your file, or the
//! reference solution) against a real engine, RabbitMQ or NATS JetStream,
//! with real crashes (see `exercises/real-mode` and the book's page "From
//! the simulator to a real broker").
//!
//! The work is done by the `real` binary of the `real-mode` crate, which
//! links the engines' clients; this command only builds what the run needs
//! and hands over, so that the other commands of `xtask` do not build those
//! clients:
//!
//! 1. build the harness and ask it to check the arguments, and which
//!    consumer binary they need (a bad argument ends here, exit 2);
//! 2. build that consumer binary, which compiles your file (if it does not
//!    compile, the compiler's errors are shown, exit 3);
//! 3. run the harness, which passes its exit status on: 0 every check
//!    passed, 1 a check failed, 2 the run could not be made (an unknown
//!    exercise or engine, an exercise without a real mode, an engine that is
//!    not installed or would not start).

use std::ffi::OsString;
use std::process::{Command, ExitCode, Stdio};

use crate::exit::Status;
use crate::workspace;

/// The harness's own options (one definition, shared with the harness).
#[path = "../../exercises/real-mode/src/real/args.rs"]
mod args;

pub use args::Args;

/// The options as the harness takes them on its command line.
fn forwarded(args: &Args) -> Vec<OsString> {
    let mut out: Vec<OsString> = vec![args.exercise.clone().into()];
    out.extend(["--engine".into(), args.engine.clone().into()]);
    if args.solution {
        out.push("--solution".into());
    }
    for point in &args.crash_at {
        out.extend(["--crash-at".into(), point.clone().into()]);
    }
    out.extend(["--crash-points".into(), args.crash_points.clone().into()]);
    if let Some(op) = args.disconnect_before {
        out.extend(["--disconnect-before".into(), op.to_string().into()]);
    }
    out.extend(["--speed".into(), args.speed.to_string().into()]);
    if args.verbose {
        out.push("--verbose".into());
    }
    out
}

fn cargo() -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(workspace::root());
    command
}

/// Builds `real-mode`'s binaries `bins`; `false` when the build failed
/// (cargo has shown why).
fn build(bins: &[&str]) -> Result<bool, std::io::Error> {
    let mut command = cargo();
    command.args(["build", "--quiet", "-p", "real-mode"]);
    for bin in bins {
        command.args(["--bin", bin]);
    }
    Ok(command.stdin(Stdio::null()).status()?.success())
}

/// Runs the harness with `args` (and `extra`), returning its exit status.
fn harness(args: &[OsString], extra: &[&str]) -> Result<std::process::Output, std::io::Error> {
    cargo()
        .args(["run", "--quiet", "-p", "real-mode", "--bin", "real", "--"])
        .args(args)
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .output()
}

pub fn run(args: Args) -> ExitCode {
    match run_inner(&forwarded(&args)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: cargo could not be started: {error}");
            ExitCode::from(Status::Usage.code())
        }
    }
}

fn run_inner(args: &[OsString]) -> Result<ExitCode, std::io::Error> {
    if !build(&["real"])? {
        eprintln!("error: real mode's harness did not build (see cargo's errors above)");
        return Ok(ExitCode::from(Status::Usage.code()));
    }
    // 1. The arguments, and the consumer binary they need.
    let checked = harness(args, &["--validate-only"])?;
    if !checked.status.success() {
        print!("{}", String::from_utf8_lossy(&checked.stdout));
        return Ok(ExitCode::from(exit_code(&checked.status)));
    }
    let consumer = String::from_utf8_lossy(&checked.stdout).trim().to_owned();
    // 2. The consumer, which compiles the learner's file.
    if !build(&[&consumer])? {
        eprintln!(
            "error: the consumer does not compile against real mode's broker (see the errors \
             above). Real mode supports the simulator's ServiceCtx operations on queues and \
             downstream systems; it has no store, scheduling or deferral."
        );
        return Ok(ExitCode::from(Status::DoesNotCompile.code()));
    }
    // 3. The run, its output as it comes.
    let status = cargo()
        .args(["run", "--quiet", "-p", "real-mode", "--bin", "real", "--"])
        .args(args)
        .stdin(Stdio::null())
        .status()?;
    Ok(ExitCode::from(exit_code(&status)))
}

fn exit_code(status: &std::process::ExitStatus) -> u8 {
    status
        .code()
        .and_then(|code| u8::try_from(code).ok())
        .unwrap_or(Status::Usage.code())
}

//! `cargo xtask bench`: the learner's loop, measured. From saving the file
//! to seeing the new grade, per exercise, in wall and CPU time, each figure
//! next to the machine's load.
//!
//! For each exercise it builds the checks once (not timed: the loop is
//! measured warm), then:
//!
//! 1. **start**: `cargo xtask --version`, what every `cargo xtask grade`
//!    pays before grading: the launcher and cargo's look at the tools;
//! 2. **rebuild**: appends one comment line to the file being graded and
//!    builds the checks as `grade` does ([`grading::build`]); the file is
//!    restored at once, byte for byte;
//! 3. **checks**: runs them as `grade` does ([`grading::run`]), every check
//!    judging the runs they share;
//! 4. **alone**, the baseline, measured in the same run: every check in a
//!    process of its own, one after another, so that none shares a run with
//!    another: what grading cost before checks shared their runs.
//!
//! The loop is start + rebuild + checks; the table ends with the ratio of
//! the checks' CPU time alone to shared. Wall time depends on what else the
//! machine runs (hence the load beside it); CPU time much less so. Nothing
//! is recorded in the learner's progress.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use crate::catalogue::{Catalogue, Exercise};
use crate::exit::Status;
use crate::grading::{self, Grading, Variant};

/// Options of `cargo xtask bench`.
#[derive(clap::Args)]
#[command(after_help = crate::exit::HELP)]
pub struct Args {
    /// The exercises to measure (id, folder or number); all without.
    pub exercises: Vec<String>,
    /// Edit and grade the reference solution instead of the learner's file:
    /// a passing file, whose every run is explored (the slowest case).
    #[arg(long)]
    pub solution: bool,
    /// Measure each exercise this many times and show the median.
    #[arg(long, default_value_t = 1)]
    pub repeat: u32,
}

/// The one-line edit: a comment, so the file means the same.
const EDIT: &str = "\n// cargo xtask bench: a one-line edit, removed when the bench ends\n";

/// Runs `cargo xtask bench`.
pub fn run(args: Args) -> ExitCode {
    let root = crate::workspace::root();
    let catalogue = match Catalogue::load(&root) {
        Ok(catalogue) => catalogue,
        Err(error) => {
            eprintln!("error: {error}");
            return Status::Usage.into();
        }
    };
    let mut chosen = Vec::new();
    for name in &args.exercises {
        match catalogue.find(name) {
            Ok(exercise) => chosen.push(exercise),
            Err(error) => {
                eprintln!("error: {error}");
                return Status::Usage.into();
            }
        }
    }
    if chosen.is_empty() {
        chosen = catalogue.exercises.iter().collect();
    }
    if args.repeat == 0 {
        eprintln!("error: --repeat 0 measures nothing: give 1 or more");
        return Status::Usage.into();
    }
    let variant = if args.solution {
        Variant::Solution
    } else {
        Variant::Learner
    };
    println!(
        "The learner's loop, warm: start (cargo xtask), rebuild after a one-line edit of {}, \
         the checks; each `wall s / CPU s`, the load average beside it. `alone`: every check \
         in a process of its own, as before checks shared their runs. {} core(s).",
        match variant {
            Variant::Learner => "the learner's file",
            Variant::Solution => "the reference solution",
        },
        std::thread::available_parallelism().map_or(1, usize::from)
    );
    println!("{}", Row::header());
    let mut status = Status::Success;
    for exercise in chosen {
        let mut rows = Vec::new();
        for _ in 0..args.repeat {
            match measure(&root, exercise, variant) {
                Ok(row) => rows.push(row),
                Err(error) => {
                    eprintln!("error: {}: {error:#}", exercise.id);
                    status = status.worst(Status::Failed);
                    break;
                }
            }
        }
        rows.sort_by(|a, b| a.total().wall.total_cmp(&b.total().wall));
        if let Some(median) = rows.get(rows.len() / 2) {
            println!("{}", median.line());
        }
    }
    println!(
        "\nloop = start + rebuild + checks; ratio = CPU of the checks alone / shared. \
         Under 5 s on a free 2-core machine is the budget."
    );
    status.into()
}

/// Wall and CPU time of one step.
#[derive(Clone, Copy, Default)]
struct Cost {
    wall: f64,
    cpu: f64,
}

impl Cost {
    fn plus(self, other: Cost) -> Cost {
        Cost {
            wall: self.wall + other.wall,
            cpu: self.cpu + other.cpu,
        }
    }

    fn show(self) -> String {
        format!("{:5.2} / {:4.2}", self.wall, self.cpu)
    }
}

/// Times `step`: the wall clock, and the CPU time of the child processes it
/// waited for (cargo and rustc, the checks binary).
fn timed<T>(step: impl FnOnce() -> T) -> (T, Cost) {
    let cpu = children_cpu();
    let started = Instant::now();
    let value = step();
    let cost = Cost {
        wall: started.elapsed().as_secs_f64(),
        cpu: children_cpu() - cpu,
    };
    (value, cost)
}

/// The CPU time (user and system) of every child process waited for so far.
#[cfg(unix)]
fn children_cpu() -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::uninit();
    // SAFETY: `getrusage` fills the struct it is given and reads nothing
    // else; `RUSAGE_CHILDREN` is a valid `who` on every unix.
    let filled = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, usage.as_mut_ptr()) };
    if filled != 0 {
        return f64::NAN;
    }
    // SAFETY: `getrusage` returned 0, so it filled the struct.
    let usage = unsafe { usage.assume_init() };
    let seconds = |time: libc::timeval| time.tv_sec as f64 + time.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// No portable way to read it elsewhere: the CPU column shows `NaN`.
#[cfg(not(unix))]
fn children_cpu() -> f64 {
    f64::NAN
}

/// The one-minute load average, if the system says (Linux).
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

/// One measurement of one exercise.
struct Row {
    exercise: String,
    load: String,
    start: Cost,
    rebuild: Cost,
    checks: Cost,
    alone: Cost,
    score: String,
}

impl Row {
    fn header() -> String {
        format!(
            "{:<20} {:>5}  {:>12}  {:>12}  {:>12}  {:>12}  {:>12}  {:>5}  {}",
            "exercise", "load", "start", "rebuild", "checks", "loop", "alone", "ratio", "score"
        )
    }

    fn total(&self) -> Cost {
        self.start.plus(self.rebuild).plus(self.checks)
    }

    fn line(&self) -> String {
        format!(
            "{:<20} {:>5}  {}  {}  {}  {}  {}  {:>5}  {}",
            self.exercise,
            self.load,
            self.start.show(),
            self.rebuild.show(),
            self.checks.show(),
            self.total().show(),
            self.alone.show(),
            format!("{:.1}x", self.alone.cpu / self.checks.cpu),
            self.score
        )
    }
}

/// Puts the graded file back as it was when dropped, even when a step fails.
struct Restore {
    path: PathBuf,
    text: Vec<u8>,
}

impl Drop for Restore {
    fn drop(&mut self) {
        if let Err(error) = std::fs::write(&self.path, &self.text) {
            eprintln!(
                "error: could not restore {} after the bench's edit: {error}; remove the \
                 line `{}` from its end",
                self.path.display(),
                EDIT.trim()
            );
        }
    }
}

fn measure(root: &Path, exercise: &Exercise, variant: Variant) -> anyhow::Result<Row> {
    let grading = Grading {
        workspace: root,
        exercise,
        variant,
        timeout: Duration::from_secs(300),
        random_plans: None,
        show_progress: false,
    };
    let file = root.join(match variant {
        Variant::Learner => exercise.learner_file(),
        Variant::Solution => exercise.solution_file(),
    });
    // Warm: everything built but what the edit changes.
    grading::build(&grading)?;
    let load_before = load();

    let (started, start) = timed(|| {
        Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            .current_dir(root)
            .args(["xtask", "--version"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
    });
    let started = started?;
    anyhow::ensure!(
        started.status.success(),
        "`cargo xtask --version` failed: {}",
        String::from_utf8_lossy(&started.stderr)
    );

    let binary = {
        let restore = Restore {
            text: std::fs::read(&file)?,
            path: file.clone(),
        };
        let mut edited = std::fs::OpenOptions::new().append(true).open(&file)?;
        edited.write_all(EDIT.as_bytes())?;
        drop(edited);
        let (binary, rebuild) = timed(|| grading::build(&grading));
        drop(restore);
        (binary?, rebuild)
    };
    let (binary, rebuild) = binary;

    let (graded, checks) = timed(|| grading::run(&grading, &binary));
    let graded = graded?;
    let score = graded.score();

    let (alone, alone_cost) = timed(|| each_check_alone(&grading, &binary));
    alone?;

    Ok(Row {
        exercise: exercise.id.clone(),
        load: load_before,
        start,
        rebuild,
        checks,
        alone: alone_cost,
        score: format!("{}/{}", score.points, score.max),
    })
}

/// Runs every test of the checks binary in a process of its own, one after
/// another: no check can share a run with another.
fn each_check_alone(grading: &Grading<'_>, binary: &Path) -> anyhow::Result<()> {
    let crate_dir = grading.workspace.join(&grading.exercise.dir);
    let listed = Command::new(binary)
        .current_dir(&crate_dir)
        .args(["--list", "--format", "terse"])
        .stdin(Stdio::null())
        .output()?;
    anyhow::ensure!(
        listed.status.success(),
        "{} --list failed",
        binary.display()
    );
    let listed = String::from_utf8_lossy(&listed.stdout);
    let tests: Vec<&str> = listed
        .lines()
        .filter_map(|line| line.strip_suffix(": test"))
        .collect();
    anyhow::ensure!(!tests.is_empty(), "{} lists no test", binary.display());
    for test in tests {
        // The verdicts are `grade`'s business: only the time counts here.
        Command::new(binary)
            .current_dir(&crate_dir)
            .env("CARGO_MANIFEST_DIR", &crate_dir)
            .env("CARGO_PKG_NAME", &grading.exercise.package)
            .args(["--exact", test, "--color", "never"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?;
    }
    Ok(())
}

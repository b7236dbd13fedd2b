//! The exit statuses of the learner's commands (`grade`, `watch`, `hint`,
//! `verify`), one per kind of outcome, so scripts and CI can tell them apart.
//! Each command's `--help` lists the ones it uses.

use std::process::ExitCode;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// 0: everything graded passed (or the command did what was asked).
    Success,
    /// 1: at least one check failed (grade), or a maintainer check failed (verify).
    Failed,
    /// 2: bad input: an unknown exercise, a missing or invalid catalogue.
    Usage,
    /// 3: the learner's file does not compile; the compiler's errors were shown.
    DoesNotCompile,
    /// 4: the checks hung and were stopped, or the test harness misbehaved.
    Hung,
}

impl Status {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Status::Success => 0,
            Status::Failed => 1,
            Status::Usage => 2,
            Status::DoesNotCompile => 3,
            Status::Hung => 4,
        }
    }

    /// The worse of two outcomes (the higher code), for commands that
    /// grade several exercises.
    pub fn worst(self, other: Status) -> Status {
        if other.code() > self.code() {
            other
        } else {
            self
        }
    }
}

impl From<Status> for ExitCode {
    fn from(status: Status) -> ExitCode {
        ExitCode::from(status.code())
    }
}

/// The `--help` text that documents the statuses.
pub const HELP: &str = "Exit status: 0 all checks passed; 1 a check failed; 2 unknown exercise or \
     bad catalogue; 3 the learner's file does not compile; 4 the checks hung or the harness failed.";

//! The driver: lints many files in parallel, safely.
//!
//! - Each file is read, checked and parsed on a worker thread with a very
//!   large stack ([`STACK_SIZE`]): syn, `Drop` and `Visit` are recursive,
//!   and a stack overflow aborts the whole process (it is not a panic).
//!   Stacks are virtual memory, committed only as they are touched, so a
//!   big reservation costs nothing on ordinary files.
//! - [`crate::parse::nesting_depth`] refuses absurdly nested files before
//!   syn sees them.
//! - Each file is wrapped in `catch_unwind`: a panic becomes an
//!   `internal-error` diagnostic on that file, and the run goes on.
//! - Only regular files are read (a FIFO named `x.rs` would block forever),
//!   and files larger than [`MAX_FILE_BYTES`] are refused.
//! - Results come back in path order whatever the thread timing.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use crate::config::Config;
use crate::diagnostics;
use crate::lint::{lint_source_as, panic_message, whole_file};
use crate::package::Packages;
use crate::prefilter::Prefilter;
use crate::report::FileReport;
use crate::source::invalid_utf8_position;
use crate::walk;

/// The stack of each worker thread. syn needs about 1.3 KiB per nesting
/// level in release builds and several times that in debug builds, and the
/// costliest shapes far more (see [`crate::parse::MAX_EXPRESSION_TOKENS`]);
/// [`crate::parse::MAX_NESTING`] brackets and that many chained tokens fit
/// with a margin. It is only reserved address space until touched.
pub const STACK_SIZE: usize = 1024 * 1024 * 1024;

/// Files larger than this are not read: no hand-written Rust file is, and
/// generated ones belong in `exclude`.
pub const MAX_FILE_BYTES: u64 = 32 * 1024 * 1024;

/// How to run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Worker threads; 0 means one per core.
    pub jobs: usize,
    /// Folders never entered while walking.
    pub skip_dirs: Vec<PathBuf>,
}

/// One linted file, with its text kept for rendering when it has
/// something to show.
#[derive(Debug, Clone)]
pub struct LintedFile {
    pub report: FileReport,
    /// The (sanitised) text, kept only if the report is not clean.
    pub source: Option<Arc<str>>,
}

/// The result of a whole run, in path order.
#[derive(Debug, Default)]
pub struct RunReport {
    pub files: Vec<LintedFile>,
    /// How many files were looked at (including unreadable ones).
    pub files_checked: usize,
    /// How many were skipped by the pre-filter.
    pub files_skipped: usize,
    /// How many files were left out as test code (`tests/`, `benches/`,
    /// `examples/`; see [`crate::test_code`]). They are not counted in
    /// `files_checked`: nothing in them was looked at.
    pub tests_skipped: usize,
    /// Non-fatal walking problems (a malformed `.gitignore`).
    pub warnings: Vec<String>,
}

impl RunReport {
    /// Every file report, in path order.
    pub fn reports(&self) -> impl Iterator<Item = &FileReport> {
        self.files.iter().map(|file| &file.report)
    }
}

/// Walks `paths` and lints every Rust file found.
pub fn lint_paths(paths: &[PathBuf], config: &Config, options: &RunOptions) -> RunReport {
    let discovered = walk::discover_skipping(paths, config, &options.skip_dirs);
    let (files, tests_skipped) = without_test_files(discovered.files, config);
    let mut report = lint_files(&files, config, options);
    report.tests_skipped = tests_skipped;
    report.warnings = discovered.warnings;
    report.files_checked += discovered.errors.len();
    report
        .files
        .extend(discovered.errors.into_iter().map(|report| LintedFile {
            report,
            source: None,
        }));
    report
        .files
        .sort_by(|a, b| a.report.path.cmp(&b.report.path));
    report
}

/// `files` without those that are test code by where they live (unless
/// the config includes tests), and how many were left out. A file named on
/// the command line is judged the same way: `tests/it.rs` is a test
/// wherever the user found it.
fn without_test_files(files: Vec<PathBuf>, config: &Config) -> (Vec<PathBuf>, usize) {
    if config.include_tests {
        return (files, 0);
    }
    let packages = Packages::default();
    let before = files.len();
    let kept: Vec<PathBuf> = files
        .into_iter()
        .filter(|file| !packages.is_test_file(file))
        .collect();
    let skipped = before - kept.len();
    (kept, skipped)
}

/// Lints exactly these files, in parallel.
pub fn lint_files(files: &[PathBuf], config: &Config, options: &RunOptions) -> RunReport {
    let prefilter = config
        .prefilter
        .then(|| Prefilter::new(config.wrapper_names()));
    let packages = Packages::default();
    let jobs = if options.jobs == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        options.jobs
    };
    let work = |files: &[PathBuf]| -> Vec<Option<LintedFile>> {
        files
            .par_iter()
            .map(|path| lint_file(path, config, prefilter.as_ref(), &packages))
            .collect()
    };
    let results = match rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .stack_size(STACK_SIZE)
        .thread_name(|i| format!("eda-lint-{i}"))
        .build()
    {
        Ok(pool) => pool.install(|| work(files)),
        // No pool (threads could not be spawned): lint on a single big-stack
        // thread rather than on the caller's small one.
        Err(_) => std::thread::scope(|scope| {
            std::thread::Builder::new()
                .stack_size(STACK_SIZE)
                .spawn_scoped(scope, || {
                    files
                        .iter()
                        .map(|path| lint_file(path, config, prefilter.as_ref(), &packages))
                        .collect::<Vec<_>>()
                })
                .map(|handle| handle.join().unwrap_or_default())
                .unwrap_or_default()
        }),
    };
    let mut report = RunReport {
        files_checked: files.len(),
        ..RunReport::default()
    };
    for result in results {
        match result {
            Some(file) => report.files.push(file),
            None => report.files_skipped += 1,
        }
    }
    report
}

/// Reads and lints one file, as code of its package's edition. `None` if
/// the pre-filter skipped it.
pub fn lint_file(
    path: &Path,
    config: &Config,
    prefilter: Option<&Prefilter>,
    packages: &Packages,
) -> Option<LintedFile> {
    let text = match read(path) {
        Ok(text) => text,
        Err(report) => {
            return Some(LintedFile {
                report,
                source: None,
            });
        }
    };
    if prefilter.is_some_and(|filter| !filter.is_relevant(&text)) {
        return None;
    }
    let edition = packages.edition_of(path);
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        lint_source_as(path, &text, config, edition)
    }));
    // Spans of this file are no longer needed; free proc-macro2's
    // per-thread copy of its text so long runs do not grow without bound.
    proc_macro2::extra::invalidate_current_thread_spans();
    let report = outcome.unwrap_or_else(|panic| FileReport {
        path: path.to_path_buf(),
        diagnostics: vec![whole_file(
            diagnostics::INTERNAL_ERROR,
            format!(
                "eda-lint panicked on this file ({}); it was not linted",
                panic_message(panic.as_ref())
            ),
            "please report this with the file, or a small part of it that still fails",
        )],
        ..FileReport::default()
    });
    let source = (!report.is_clean()).then(|| Arc::from(crate::source::sanitize(&text).as_ref()));
    Some(LintedFile { report, source })
}

/// The text of a file, or an `io-error` report saying why not.
fn read(path: &Path) -> Result<String, FileReport> {
    let fail = |message: String, help: &str| FileReport {
        path: path.to_path_buf(),
        diagnostics: vec![whole_file(diagnostics::IO_ERROR, message, help)],
        ..FileReport::default()
    };
    let metadata = std::fs::metadata(path).map_err(|error| {
        fail(
            format!("could not be read: {error}"),
            "check that it exists and is readable",
        )
    })?;
    if !metadata.is_file() {
        return Err(fail(
            String::from("is not a regular file (a pipe, socket or device); it was not read"),
            "only regular files are linted",
        ));
    }
    if metadata.len() > MAX_FILE_BYTES {
        return Err(fail(
            format!(
                "is {} MiB, larger than the {} MiB eda-lint reads; it was not linted",
                metadata.len() / (1024 * 1024),
                MAX_FILE_BYTES / (1024 * 1024)
            ),
            "generated code is best excluded with `exclude` in the config",
        ));
    }
    let bytes = std::fs::read(path).map_err(|error| {
        fail(
            format!("could not be read: {error}"),
            "check that it is readable",
        )
    })?;
    String::from_utf8(bytes).map_err(|error| {
        let position = invalid_utf8_position(error.as_bytes(), &error.utf8_error());
        let mut report = fail(
            format!(
                "is not valid UTF-8 (first invalid byte at line {}, column {}); Rust source must be UTF-8, it was not linted",
                position.line, position.column
            ),
            "re-encode the file as UTF-8",
        );
        report.diagnostics[0].region.start = position;
        report.diagnostics[0].region.end = position;
        report
    })
}

//! The driver: lints many files in parallel, safely.
//!
//! - Files are grouped by crate ([`crate::crates`]); each crate is read,
//!   parsed (each file once), summarised and linted on one worker thread,
//!   since syntax trees cannot cross threads, and crates run in parallel.
//!   The rest of a crate is read for its summaries, not reported.
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

use crate::analysis::summary::CrateIndex;
use crate::config::Config;
use crate::diagnostics;
use crate::lint::{
    ParsedSource, first_pass, lint_parsed, lint_source_as, panic_message, parse_source, whole_file,
};
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
    let jobs = if options.jobs == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        options.jobs
    };
    let mut units = crate::crates::units(files);
    // The biggest crates first: a crate is one indivisible task, and one
    // started last would leave the other threads idle while it runs.
    units.sort_by_key(|unit| std::cmp::Reverse(unit.linted.len() + unit.context.len()));
    let packages = Packages::default();
    let work = |units: &[crate::crates::Unit]| -> Vec<Option<LintedFile>> {
        largest_first(units, |unit| {
            lint_unit(unit, config, prefilter.as_ref(), &packages)
        })
        .into_iter()
        .flatten()
        .collect()
    };
    let results = match rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .stack_size(STACK_SIZE)
        .thread_name(|i| format!("eda-lint-{i}"))
        .build()
    {
        Ok(pool) => pool.install(|| work(&units)),
        // No pool (threads could not be spawned): lint on a single big-stack
        // thread rather than on the caller's small one.
        Err(_) => std::thread::scope(|scope| {
            std::thread::Builder::new()
                .stack_size(STACK_SIZE)
                .spawn_scoped(scope, || {
                    units
                        .iter()
                        .flat_map(|unit| lint_unit(unit, config, prefilter.as_ref(), &packages))
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
        .files
        .sort_by(|a, b| a.report.path.cmp(&b.report.path));
    report
}

/// `work` on every task, on the current rayon pool, each idle thread taking
/// the next task in the order given; the results in that order.
///
/// A crate is one indivisible task, and crates differ in size by orders of
/// magnitude. `par_iter` splits a slice into a few contiguous ranges up
/// front and runs each range on one thread: with the biggest crates first,
/// one thread got all of them while the others finished early and idled
/// (on two threads, a third of the crate-wide run had one thread working).
/// Handing out tasks one at a time, biggest first, keeps every thread busy
/// until the last and smallest ones.
pub fn largest_first<T: Sync, R: Send>(tasks: &[T], work: impl Fn(&T) -> R + Sync) -> Vec<R> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let workers = rayon::current_num_threads().clamp(1, tasks.len().max(1));
    let mut done: Vec<Vec<(usize, R)>> = (0..workers).map(|_| Vec::new()).collect();
    let (next, work) = (&next, &work);
    rayon::scope(|scope| {
        for finished in done.iter_mut() {
            scope.spawn(move |_| {
                loop {
                    let position = next.fetch_add(1, Ordering::Relaxed);
                    let Some(task) = tasks.get(position) else {
                        break;
                    };
                    finished.push((position, work(task)));
                }
            });
        }
    });
    let mut results: Vec<(usize, R)> = done.into_iter().flatten().collect();
    results.sort_by_key(|(position, _)| *position);
    results.into_iter().map(|(_, result)| result).collect()
}

/// What became of one file of a unit on its way through the passes.
enum Stage {
    /// Skipped by the pre-filter.
    Skipped,
    /// Finished early: unreadable, refused, or a panic.
    Done(FileReport, Option<String>),
    /// Parsed; its first pass may follow.
    Parsed(Box<ParsedSource>, String),
}

/// Reads, parses, summarises and lints one crate's files on this thread,
/// reporting the linted ones (`None` for those the pre-filter skipped).
/// Every step of every file is behind its own `catch_unwind`: a panic in
/// one file's summary becomes that file's `internal-error`, and the other
/// files are linted with what the rest of the crate told.
pub fn lint_unit(
    unit: &crate::crates::Unit,
    config: &Config,
    prefilter: Option<&Prefilter>,
    packages: &Packages,
) -> Vec<Option<LintedFile>> {
    let linted: Vec<Result<String, FileReport>> =
        unit.linted.iter().map(|path| read(path)).collect();
    // The rest of the crate, for its summaries only: a file that cannot be
    // read here is simply not used (it is not being reported).
    let context: Vec<(PathBuf, String)> = unit
        .context
        .iter()
        .filter_map(|path| Some((path.clone(), read(path).ok()?)))
        .collect();
    lint_unit_texts(unit, linted, context, config, prefilter, packages)
}

/// [`lint_unit`] on texts already read: `linted` holds the text (or the
/// read error) of each of `unit.linted`, in order; `context` the other
/// files of the crate. The benchmark times this, without the reading.
pub fn lint_unit_texts(
    unit: &crate::crates::Unit,
    linted: Vec<Result<String, FileReport>>,
    context: Vec<(PathBuf, String)>,
    config: &Config,
    prefilter: Option<&Prefilter>,
    packages: &Packages,
) -> Vec<Option<LintedFile>> {
    let panicked = |path: &Path, when: &str, panic: Box<dyn std::any::Any + Send>| FileReport {
        path: path.to_path_buf(),
        diagnostics: vec![whole_file(
            diagnostics::INTERNAL_ERROR,
            format!(
                "eda-lint panicked on this file{when} ({}); it was not linted",
                panic_message(panic.as_ref())
            ),
            "please report this with the file, or a small part of it that still fails",
        )],
        ..FileReport::default()
    };
    // A crate whose files name no broker, database or configured wrapper
    // has nothing for its summaries to tell: each file is linted on its
    // own as soon as it is parsed, and its tree dropped at once, instead of
    // keeping every tree of a large crate (generated bindings run to
    // thousands of files) until the whole crate is summarised.
    let words = Prefilter::new(config.wrapper_names());
    let relevant = linted
        .iter()
        .filter_map(|text| text.as_ref().ok())
        .chain(context.iter().map(|(_, text)| text))
        .any(|text| words.is_relevant(text));
    if !relevant {
        return unit
            .linted
            .iter()
            .zip(linted)
            .map(|(path, text)| match text {
                Err(report) => Some(finish(report, None)),
                Ok(text) if prefilter.is_some_and(|filter| !filter.is_relevant(&text)) => None,
                Ok(text) => {
                    let edition = packages.edition_of(path);
                    let outcome = catch_unwind(AssertUnwindSafe(|| {
                        lint_source_as(path, &text, config, edition)
                    }));
                    proc_macro2::extra::invalidate_current_thread_spans();
                    let report = outcome.unwrap_or_else(|panic| panicked(path, "", panic));
                    Some(finish(report, Some(&text)))
                }
            })
            .collect();
    }
    let parse = |path: &Path, text: String| -> Stage {
        let edition = packages.edition_of(path);
        match catch_unwind(AssertUnwindSafe(|| {
            parse_source(path, &text, edition, config)
        })) {
            Ok(Ok(parsed)) => Stage::Parsed(Box::new(parsed), text),
            Ok(Err(report)) => Stage::Done(report, Some(text)),
            Err(panic) => Stage::Done(panicked(path, " while parsing", panic), Some(text)),
        }
    };
    // Only files that can hold an operation are walked in the first pass,
    // as when a file is linted alone: walking every file of a crate that
    // talks to a broker would also find helpers of helpers in files that
    // name no client, at about twice the analysis time.
    let walk_all = false;
    let module = |path: &Path| unit.modules.get(path).cloned().unwrap_or_default();
    let mut summaries = Vec::new();
    // Each file is summarised right after it is parsed, while its tree is
    // still in the cache; its lint pass waits for the whole crate.
    let linted: Vec<(Stage, Option<(usize, crate::lint::FirstPass)>)> = unit
        .linted
        .iter()
        .zip(linted)
        .map(|(path, text)| match text {
            Err(report) => (Stage::Done(report, None), None),
            Ok(text) if prefilter.is_some_and(|filter| !filter.is_relevant(&text)) => {
                (Stage::Skipped, None)
            }
            Ok(text) => match parse(path, text) {
                // No rule runs on it: nothing to summarise for.
                Stage::Parsed(parsed, text) if config.rules_for(path).is_empty() => {
                    (Stage::Parsed(parsed, text), None)
                }
                Stage::Parsed(parsed, text) => {
                    let outcome = catch_unwind(AssertUnwindSafe(|| {
                        first_pass(&parsed, &config.user_apis, module(path), walk_all)
                    }));
                    match outcome {
                        Ok((summary, first)) => {
                            summaries.push(summary);
                            (
                                Stage::Parsed(parsed, text),
                                Some((summaries.len() - 1, first)),
                            )
                        }
                        Err(panic) => {
                            let report = panicked(path, " while summarising its functions", panic);
                            (Stage::Done(report, Some(text)), None)
                        }
                    }
                }
                other => (other, None),
            },
        })
        .collect();
    // The rest of the crate is read for its summaries only; its trees are
    // dropped at once. A file that does not parse, or whose summary panics,
    // is simply not used (it is not being reported).
    let any_rules = linted.iter().any(|(_, first)| first.is_some());
    for (path, text) in context.into_iter().filter(|_| any_rules) {
        if let Stage::Parsed(parsed, _) = parse(&path, text)
            && let Ok((summary, _)) = catch_unwind(AssertUnwindSafe(|| {
                first_pass(&parsed, &config.user_apis, module(&path), walk_all)
            }))
        {
            summaries.push(summary);
        }
    }
    let index = catch_unwind(AssertUnwindSafe(|| {
        CrateIndex::build(summaries, unit.lib_name.clone(), &unit.siblings)
    }))
    .ok();

    let results = linted
        .into_iter()
        .map(|(stage, first)| match stage {
            Stage::Skipped => None,
            Stage::Done(report, text) => Some(finish(report, text.as_deref())),
            Stage::Parsed(parsed, text) => {
                let (place, first) = first.unzip();
                let with_index = index.as_ref().zip(place);
                let outcome = catch_unwind(AssertUnwindSafe(|| {
                    lint_parsed(&parsed, config, with_index, first)
                }));
                let report = outcome.unwrap_or_else(|panic| panicked(parsed.path(), "", panic));
                Some(finish(report, Some(&text)))
            }
        })
        .collect();
    // Spans of these files are no longer needed; free proc-macro2's
    // per-thread copy of their text so long runs do not grow without bound.
    drop(index);
    proc_macro2::extra::invalidate_current_thread_spans();
    results
}

/// A report with the text kept for rendering when it has something to show.
fn finish(report: FileReport, text: Option<&str>) -> LintedFile {
    let source = text
        .filter(|_| !report.is_clean())
        .map(|text| Arc::from(crate::source::sanitize(text).as_ref()));
    LintedFile { report, source }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn largest_first_runs_every_task_once_and_keeps_their_order() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .expect("a thread pool");
        let tasks: Vec<usize> = (0..50).rev().collect();
        let ran = std::sync::atomic::AtomicUsize::new(0);
        let results = pool.install(|| {
            largest_first(&tasks, |task| {
                ran.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                task * 2
            })
        });
        assert_eq!(ran.into_inner(), tasks.len());
        let expected: Vec<usize> = tasks.iter().map(|task| task * 2).collect();
        assert_eq!(results, expected);
        assert!(
            pool.install(|| largest_first(&[] as &[usize], |task| *task))
                .is_empty()
        );
    }
}

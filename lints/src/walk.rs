//! Finding the `.rs` files to lint.
//!
//! Built on `ignore` (ripgrep's walker): it honours `.gitignore`,
//! `.ignore` and hidden files, inside a git repository or not. On top of
//! that we skip `target/` folders and the config's `exclude` globs, follow
//! symbolic links (so a linked source folder is linted) and report a link
//! that loops back to an ancestor instead of going round forever.
//!
//! Only `.rs` files matter inside a folder: a dangling link named anything
//! else (a `README.md` pointing at a file that was moved, a link to a
//! build output that does not exist yet) is ignored without a word. A
//! dangling link named `*.rs`, and any entry that may be a folder, stay
//! `io-error`s: they may hold code that would otherwise look clean.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::Config;
use crate::diagnostics;
use crate::lint::whole_file;
use crate::report::FileReport;

/// The files found, and the paths that could not be walked.
#[derive(Debug, Default)]
pub struct Discovered {
    /// Sorted, without duplicates.
    pub files: Vec<PathBuf>,
    /// One `io-error` report per path that could not be read as a folder
    /// (a missing path, a loop, a permission problem).
    pub errors: Vec<FileReport>,
    /// Non-fatal problems, such as a malformed `.gitignore` line.
    pub warnings: Vec<String>,
}

/// Walks `paths` (files or folders). A file named explicitly is linted even
/// if it does not end in `.rs` or is ignored; inside folders only
/// non-ignored `.rs` files are.
pub fn discover(paths: &[PathBuf], config: &Config) -> Discovered {
    discover_skipping(paths, config, &[])
}

/// Like [`discover`], but never enters the folders in `skip` (used by
/// `cargo eda-lint` to leave out workspace members nested inside a selected
/// package that were not selected themselves).
pub fn discover_skipping(paths: &[PathBuf], config: &Config, skip: &[PathBuf]) -> Discovered {
    let skip: Vec<PathBuf> = skip
        .iter()
        .map(|dir| std::path::absolute(dir).unwrap_or_else(|_| dir.clone()))
        .collect();
    let mut found = Discovered::default();
    let Some((first, rest)) = paths.split_first() else {
        return found;
    };
    let mut builder = ignore::WalkBuilder::new(first);
    for path in rest {
        builder.add(path);
    }
    let filter_config = Arc::new(config.clone());
    builder
        .follow_links(true)
        .require_git(false)
        .filter_entry(move |entry| {
            // Roots were named by the user: always walk them.
            if entry.depth() == 0 {
                return true;
            }
            let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
            if is_dir && entry.file_name() == "target" {
                return false;
            }
            if is_dir && !skip.is_empty() {
                let absolute = std::path::absolute(entry.path());
                if absolute.is_ok_and(|a| skip.contains(&a)) {
                    return false;
                }
            }
            !filter_config.is_excluded(entry.path())
        });
    for entry in builder.build() {
        match entry {
            Ok(entry) => {
                let named = entry.depth() == 0;
                let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
                if is_dir {
                    continue;
                }
                let is_rust = entry.path().extension().is_some_and(|ext| ext == "rs");
                if named || is_rust {
                    found.files.push(clean(entry.path()));
                }
            }
            Err(error) => record(error, paths, &mut found),
        }
    }
    found.files.sort();
    found.files.dedup();
    found.errors.sort_by(|a, b| a.path.cmp(&b.path));
    found
}

/// `./src/a.rs` → `src/a.rs`, as users write paths.
fn clean(path: &Path) -> PathBuf {
    path.strip_prefix(".")
        .map_or_else(|_| path.to_path_buf(), Path::to_path_buf)
}

fn record(error: ignore::Error, roots: &[PathBuf], found: &mut Discovered) {
    let mut path = None;
    let mut depth = None;
    let mut current = &error;
    loop {
        match current {
            ignore::Error::WithPath { path: p, err } => {
                path.get_or_insert_with(|| p.clone());
                current = err;
            }
            ignore::Error::WithDepth { depth: d, err } => {
                depth.get_or_insert(*d);
                current = err;
            }
            ignore::Error::WithLineNumber { err, .. } => {
                current = err;
            }
            ignore::Error::Loop { ancestor, child } => {
                found.errors.push(FileReport {
                    path: clean(child),
                    diagnostics: vec![whole_file(
                        diagnostics::IO_ERROR,
                        format!(
                            "this symbolic link loops back to {}; it was not followed",
                            ancestor.display()
                        ),
                        "remove the link, or add it to `exclude` in the config",
                    )],
                    ..FileReport::default()
                });
                return;
            }
            ignore::Error::Partial(_) | ignore::Error::Glob { .. } => {
                // A bad line in an ignore file: the walk goes on without it.
                found.warnings.push(error.to_string());
                return;
            }
            _ => break,
        }
    }
    match path {
        Some(path) if is_dangling_non_rust(&path, depth, roots, current) => {}
        Some(path) => found.errors.push(FileReport {
            path: clean(&path),
            diagnostics: vec![whole_file(
                diagnostics::IO_ERROR,
                format!("could not be read: {}", io_message(current)),
                "check that the path exists and is readable",
            )],
            ..FileReport::default()
        }),
        None => found.warnings.push(error.to_string()),
    }
}

/// True for an entry found inside a folder whose name does not end in
/// `.rs` and that does not exist (a dangling symbolic link): it cannot be
/// Rust code we would skip, so it is no error. A path the user named, a
/// `*.rs` name, and any other failure (a folder that cannot be listed, a
/// link whose target cannot be checked for lack of permission, which may
/// be a folder of code) are still reported.
fn is_dangling_non_rust(
    path: &Path,
    depth: Option<usize>,
    roots: &[PathBuf],
    error: &ignore::Error,
) -> bool {
    let named = depth == Some(0) || roots.iter().any(|root| root == path);
    let is_rust = path.extension().is_some_and(|ext| ext == "rs");
    let missing =
        matches!(error, ignore::Error::Io(io) if io.kind() == std::io::ErrorKind::NotFound);
    !named && !is_rust && missing
}

fn io_message(error: &ignore::Error) -> String {
    match error {
        ignore::Error::Io(io) => io.to_string(),
        other => other.to_string(),
    }
}

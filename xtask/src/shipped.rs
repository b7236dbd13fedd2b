//! The shipped starters: what `verify` and `figures` must test, whatever a
//! learner did to their copy.
//!
//! A maintainer who has been doing the exercises has edited the learner files
//! in place. `verify` must still prove that the starters *as shipped* (as
//! committed at `HEAD`) fail exactly as the catalogue says, without touching
//! the learner's work. So:
//!
//! - if every learner file matches `HEAD` (always true in CI), the repository
//!   itself is used;
//! - otherwise a temporary workspace is built: the root manifest and lock
//!   file, the broker and the exercise crates are copied, and each edited
//!   learner file is replaced by its `HEAD` version. It shares the
//!   repository's target folder, so only the broker and the exercises are
//!   rebuilt, not their dependencies;
//! - a learner file that is not in `HEAD` (a new exercise being written) is
//!   used as it is, with a note.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::catalogue::Exercise;

/// A workspace whose learner files are the shipped starters.
pub struct ShippedWorkspace {
    /// Where to run cargo.
    pub root: PathBuf,
    /// What the reader should know: which files were swapped, which are new.
    pub notes: Vec<String>,
    /// Kept so the temporary copy lives as long as this value.
    _copy: Option<tempfile::TempDir>,
}

/// The shipped text of an exercise's learner file: as committed, or the
/// working copy if it is not committed yet.
pub fn starter_text(root: &Path, exercise: &Exercise) -> Result<String> {
    let path = exercise.learner_file();
    match committed(root, &path)? {
        Some(text) => Ok(text),
        None => std::fs::read_to_string(root.join(&path))
            .with_context(|| format!("reading {}", path.display())),
    }
}

/// The workspace to grade shipped starters in.
///
/// Only `exercises` are compared and copied; one whose learner file is
/// missing is skipped here (`verify` reports the missing file itself).
pub fn prepare(root: &Path, exercises: &[&Exercise]) -> Result<ShippedWorkspace> {
    let mut notes = Vec::new();
    let mut swapped = Vec::new();
    for exercise in exercises {
        let path = exercise.learner_file();
        let Ok(working) = std::fs::read_to_string(root.join(&path)) else {
            continue;
        };
        match committed(root, &path)? {
            None => notes.push(format!(
                "{} is not committed yet: its working copy is taken as the shipped starter",
                path.display()
            )),
            Some(shipped) if shipped != working => {
                notes.push(format!(
                    "{} differs from HEAD (a learner's edits?): the committed starter is \
                     tested, in a temporary copy; your file is not touched",
                    path.display()
                ));
                swapped.push((path, shipped));
            }
            Some(_) => {}
        }
    }
    if swapped.is_empty() {
        return Ok(ShippedWorkspace {
            root: root.to_path_buf(),
            notes,
            _copy: None,
        });
    }
    let copy = tempfile::Builder::new()
        .prefix("eda-shipped-")
        .tempdir()
        .context("creating a temporary workspace")?;
    let mut members = vec![PathBuf::from("exercises/broker")];
    members.extend(
        exercises
            .iter()
            .filter(|exercise| root.join(&exercise.dir).is_dir())
            .map(|exercise| exercise.dir.clone()),
    );
    for member in &members {
        copy_tree(&root.join(member), &copy.path().join(member))?;
    }
    // The crates the exercises use by path from elsewhere in the repository
    // (`event-contracts` uses `lints/event-contract`): without them the copy
    // does not build. Inside the copied workspace's folder, cargo makes them
    // members on its own.
    for dependency in path_dependencies(root, &members)? {
        copy_tree(&root.join(&dependency), &copy.path().join(&dependency))?;
    }
    std::fs::copy(root.join("Cargo.lock"), copy.path().join("Cargo.lock"))
        .context("copying Cargo.lock")?;
    let manifest =
        std::fs::read_to_string(root.join("Cargo.toml")).context("reading Cargo.toml")?;
    let mut manifest: toml::Table = toml::from_str(&manifest).context("parsing Cargo.toml")?;
    let workspace = manifest
        .get_mut("workspace")
        .and_then(toml::Value::as_table_mut)
        .context("Cargo.toml has no [workspace]")?;
    let member_list: Vec<toml::Value> = members
        .iter()
        .map(|member| toml::Value::String(member.display().to_string()))
        .collect();
    workspace.insert("members".into(), toml::Value::Array(member_list));
    workspace.remove("default-members");
    std::fs::write(
        copy.path().join("Cargo.toml"),
        toml::to_string(&manifest).context("writing the temporary Cargo.toml")?,
    )
    .context("writing the temporary Cargo.toml")?;
    for (path, shipped) in swapped {
        std::fs::write(copy.path().join(&path), shipped)
            .with_context(|| format!("writing the shipped {}", path.display()))?;
    }
    Ok(ShippedWorkspace {
        root: copy.path().to_path_buf(),
        notes,
        _copy: Some(copy),
    })
}

/// Files of the exercise's crate, other than the learner's file, that differ
/// from `HEAD` (edited, added or deleted): the grader and the world are not
/// the learner's to change, and a grade earned by editing them means
/// nothing. Empty when git cannot tell (not a checkout, no git).
pub fn other_edits(root: &Path, exercise: &Exercise) -> Vec<PathBuf> {
    let output = Command::new("git")
        .current_dir(root)
        .args([
            "status",
            "--porcelain",
            "--no-renames",
            "--untracked-files=all",
            "--",
        ])
        .arg(&exercise.dir)
        .output();
    let Ok(output) = output else {
        return Vec::new();
    };
    if !output.status.success() {
        return Vec::new();
    }
    let learner = exercise.learner_file();
    String::from_utf8_lossy(&output.stdout)
        .lines()
        // `XY path`: two status letters, a space, the path from the root.
        .filter_map(|line| line.get(3..))
        .map(|path| PathBuf::from(path.trim_matches('"')))
        .filter(|path| *path != learner)
        .collect()
}

/// The text of `path` at `HEAD`; `None` if it is not committed. An error if
/// git cannot answer at all (no git, not a repository).
fn committed(root: &Path, path: &Path) -> Result<Option<String>> {
    let spec = format!("HEAD:{}", path.display());
    let output = Command::new("git")
        .current_dir(root)
        .args(["cat-file", "-e", &spec])
        .output()
        .context("running git (verify needs it to find the shipped starters)")?;
    if !output.status.success() {
        let inside = Command::new("git")
            .current_dir(root)
            .args(["rev-parse", "--verify", "HEAD"])
            .output()
            .context("running git")?;
        if !inside.status.success() {
            bail!(
                "{} is not a git checkout with a commit: verify compares the learner files \
                 with HEAD to test the shipped starters",
                root.display()
            );
        }
        return Ok(None);
    }
    let output = Command::new("git")
        .current_dir(root)
        .args(["show", &spec])
        .output()
        .context("running git show")?;
    if !output.status.success() {
        bail!(
            "git show {spec} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(Some(String::from_utf8(output.stdout).with_context(
        || format!("{} at HEAD is not UTF-8", path.display()),
    )?))
}

/// The folders, relative to `root`, of the crates that `members` depend on
/// by path (normal, dev and build dependencies), and of theirs in turn,
/// other than the members and what lies inside them.
fn path_dependencies(root: &Path, members: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut found: Vec<PathBuf> = Vec::new();
    let mut to_read: Vec<PathBuf> = members.to_vec();
    let covered = |found: &[PathBuf], dir: &Path| {
        members
            .iter()
            .chain(found.iter())
            .any(|known| dir.starts_with(known))
    };
    while let Some(dir) = to_read.pop() {
        let manifest_path = root.join(&dir).join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest_path) else {
            // The broker of a test repository may have no manifest; cargo
            // reports a real crate's missing one itself.
            continue;
        };
        let manifest: toml::Table = toml::from_str(&text)
            .with_context(|| format!("parsing {}", manifest_path.display()))?;
        for section in ["dependencies", "dev-dependencies", "build-dependencies"] {
            let Some(table) = manifest.get(section).and_then(toml::Value::as_table) else {
                continue;
            };
            for spec in table.values() {
                let Some(path) = spec.get("path").and_then(toml::Value::as_str) else {
                    continue;
                };
                let Some(dependency) = normalise(&dir.join(path)) else {
                    bail!(
                        "{}: the path dependency `{path}` leaves the repository, which the \
                         temporary workspace cannot copy",
                        manifest_path.display()
                    );
                };
                if !covered(&found, &dependency) {
                    found.push(dependency.clone());
                    to_read.push(dependency);
                }
            }
        }
    }
    Ok(found)
}

/// `a/b/../c` as `a/c`, without touching the file system; `None` if it
/// climbs above its start.
fn normalise(path: &Path) -> Option<PathBuf> {
    let mut parts: Vec<std::ffi::OsString> = Vec::new();
    for component in path.components() {
        match component {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                parts.pop()?;
            }
            std::path::Component::Normal(part) => parts.push(part.to_owned()),
            _ => return None,
        }
    }
    Some(parts.iter().collect())
}

/// Copies a crate's folder, leaving out build output.
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry.with_context(|| format!("reading {}", from.display()))?;
        let name = entry.file_name();
        if name == "target" {
            continue;
        }
        let source = entry.path();
        let destination = to.join(&name);
        let kind = entry
            .file_type()
            .with_context(|| format!("reading {}", source.display()))?;
        if kind.is_dir() {
            copy_tree(&source, &destination)?;
        } else if kind.is_file() {
            std::fs::copy(&source, &destination)
                .with_context(|| format!("copying {}", source.display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(root: &Path, args: &[&str]) {
        let status = Command::new("git")
            .current_dir(root)
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .output()
            .expect("git runs");
        assert!(status.status.success(), "git {args:?}: {status:?}");
    }

    fn exercise() -> Exercise {
        Exercise {
            id: "ack-ordering".into(),
            chapter: "configuration".into(),
            package: "ack-ordering".into(),
            dir: "exercises/02-ack-ordering".into(),
            file: "src/consumer.rs".into(),
            solution: "solution/consumer.rs".into(),
            minutes: 10,
            anomalies: vec!["lost-message".into()],
            lints: vec![],
            lint_clean: false,
            checks: vec![],
            hints: vec!["hint".into()],
        }
    }

    #[test]
    fn an_edited_starter_is_replaced_by_the_committed_one_in_a_copy() {
        let repo = tempfile::tempdir().expect("temporary directory");
        let root = repo.path();
        let write = |path: &str, text: &str| {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("folder");
            std::fs::write(path, text).expect("written");
        };
        write(
            "Cargo.toml",
            "[workspace]\nmembers = [\"exercises/broker\", \"lints\"]\ndefault-members = [\"lints\"]\n",
        );
        write("Cargo.lock", "version = 4\n");
        write("exercises/broker/src/lib.rs", "// broker\n");
        write(
            "exercises/02-ack-ordering/src/consumer.rs",
            "// shipped starter\n",
        );
        git(root, &["init", "-q"]);
        git(root, &["add", "."]);
        git(root, &["commit", "-q", "-m", "ship"]);
        let exercise = exercise();

        let untouched = prepare(root, &[&exercise]).expect("prepared");
        assert_eq!(
            untouched.root, root,
            "an untouched starter is tested in place"
        );

        write(
            "exercises/02-ack-ordering/src/consumer.rs",
            "// the learner's fix\n",
        );
        let shipped = prepare(root, &[&exercise]).expect("prepared");
        assert_ne!(shipped.root, root);
        let copied = |path: &str| std::fs::read_to_string(shipped.root.join(path)).expect(path);
        assert_eq!(
            copied("exercises/02-ack-ordering/src/consumer.rs"),
            "// shipped starter\n"
        );
        assert_eq!(copied("exercises/broker/src/lib.rs"), "// broker\n");
        let manifest: toml::Table = toml::from_str(&copied("Cargo.toml")).expect("toml");
        let workspace = manifest["workspace"].as_table().expect("workspace");
        assert!(!workspace.contains_key("default-members"));
        assert_eq!(
            workspace["members"].as_array().expect("members").len(),
            2,
            "the broker and the exercise"
        );
        assert!(shipped.notes[0].contains("differs from HEAD"));
        assert_eq!(
            std::fs::read_to_string(root.join("exercises/02-ack-ordering/src/consumer.rs"))
                .expect("read"),
            "// the learner's fix\n",
            "the learner's file is left alone"
        );
        assert_eq!(
            starter_text(root, &exercise).expect("starter"),
            "// shipped starter\n"
        );

        assert!(
            other_edits(root, &exercise).is_empty(),
            "the learner's file is theirs"
        );
        write(
            "exercises/02-ack-ordering/tests/checks.rs",
            "// made to pass\n",
        );
        assert_eq!(
            other_edits(root, &exercise),
            vec![PathBuf::from("exercises/02-ack-ordering/tests/checks.rs")]
        );
    }

    #[test]
    fn the_crates_an_exercise_uses_by_path_are_copied_too() {
        let repo = tempfile::tempdir().expect("temporary directory");
        let root = repo.path();
        let write = |path: &str, text: &str| {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("folder");
            std::fs::write(path, text).expect("written");
        };
        write(
            "Cargo.toml",
            "[workspace]\nmembers = [\"exercises/broker\"]\n",
        );
        write("Cargo.lock", "version = 4\n");
        write("exercises/broker/src/lib.rs", "// broker\n");
        write(
            "exercises/02-ack-ordering/Cargo.toml",
            "[package]\nname = \"ack-ordering\"\n[dependencies]\n\
             broker = { path = \"../broker\" }\n\
             contract = { path = \"../../lints/contract\" }\n",
        );
        write(
            "lints/contract/Cargo.toml",
            "[package]\nname = \"contract\"\n[dependencies]\n\
             derive = { path = \"derive\" }\nhelper = { path = \"../helper\" }\n\
             [dev-dependencies]\ncontract = { path = \".\" }\n",
        );
        write("lints/contract/src/lib.rs", "// contract\n");
        write("lints/contract/derive/src/lib.rs", "// derive\n");
        write("lints/helper/Cargo.toml", "[package]\nname = \"helper\"\n");
        write("lints/helper/src/lib.rs", "// helper\n");
        write("lints/src/lib.rs", "// not used by the exercise\n");
        write(
            "exercises/02-ack-ordering/src/consumer.rs",
            "// shipped starter\n",
        );
        git(root, &["init", "-q"]);
        git(root, &["add", "."]);
        git(root, &["commit", "-q", "-m", "ship"]);
        write(
            "exercises/02-ack-ordering/src/consumer.rs",
            "// the learner's fix\n",
        );

        let shipped = prepare(root, &[&exercise()]).expect("prepared");
        assert_ne!(shipped.root, root);
        for (path, text) in [
            ("lints/contract/src/lib.rs", "// contract\n"),
            ("lints/contract/derive/src/lib.rs", "// derive\n"),
            ("lints/helper/src/lib.rs", "// helper\n"),
        ] {
            let copied = std::fs::read_to_string(shipped.root.join(path));
            assert_eq!(copied.ok().as_deref(), Some(text), "{path} is copied");
        }
        assert!(
            !shipped.root.join("lints/src/lib.rs").exists(),
            "only what the exercise uses"
        );
    }
}

//! The package a file belongs to: the nearest `Cargo.toml` above it.
//!
//! A file's package decides how it is read: its edition (a 2015 crate may
//! use `async` as a name, see [`crate::edition`]), and whether the file is
//! test code (see [`crate::test_code`]). Packages are looked up
//! once per folder and cached, since every file of a crate asks for the
//! same one.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::edition::Edition;

/// What the nearest `Cargo.toml` says about the files below it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    /// The folder holding the `Cargo.toml`, absolute.
    pub root: PathBuf,
    /// The edition its code is written in. `None` when the manifest names
    /// no package (a virtual workspace) or cannot be read: cargo itself
    /// would refuse it, and the linter falls back to today's syntax rather
    /// than fail on a file it only reads for this.
    pub edition: Option<Edition>,
}

/// The folders of a package that hold test code: cargo's test, bench and
/// example targets.
pub const TEST_FOLDERS: &[&str] = &["tests", "benches", "examples"];

/// Packages found so far, by folder; shared by the worker threads.
#[derive(Debug, Default)]
pub struct Packages {
    /// Each folder looked at, with the package it is in (`None`: no
    /// `Cargo.toml` above it).
    by_folder: Mutex<HashMap<PathBuf, Option<Arc<Package>>>>,
}

impl Packages {
    /// The package `file` belongs to: the nearest folder above it that
    /// holds a `Cargo.toml`.
    pub fn of(&self, file: &Path) -> Option<Arc<Package>> {
        let absolute = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
        let mut visited = Vec::new();
        let mut found = None;
        for folder in absolute.ancestors().skip(1) {
            if let Some(known) = self.cached(folder) {
                found = known;
                break;
            }
            visited.push(folder.to_path_buf());
            let manifest = folder.join("Cargo.toml");
            if manifest.is_file() {
                found = Some(Arc::new(Package {
                    root: folder.to_path_buf(),
                    edition: read_edition(&manifest),
                }));
                break;
            }
        }
        if let Ok(mut cache) = self.by_folder.lock() {
            for folder in visited {
                cache.insert(folder, found.clone());
            }
        }
        found
    }

    /// The edition `file` is written in; a file outside any package is
    /// read with today's syntax.
    pub fn edition_of(&self, file: &Path) -> Edition {
        self.of(file)
            .and_then(|package| package.edition)
            .unwrap_or_default()
    }

    /// Whether `file` is test code by where it lives: in the `tests/`,
    /// `benches/` or `examples/` folder right below its package's root,
    /// where cargo looks for test, bench and example targets. Decided from
    /// the package, not from any folder named `tests` (`src/tests/` is a
    /// module of the library), and `build.rs` is not test code.
    pub fn is_test_file(&self, file: &Path) -> bool {
        let Some(package) = self.of(file) else {
            return false;
        };
        let absolute = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
        let Ok(relative) = absolute.strip_prefix(&package.root) else {
            return false;
        };
        let mut parts = relative.components();
        let in_test_folder = matches!(
            parts.next(),
            Some(std::path::Component::Normal(first)) if TEST_FOLDERS.iter().any(|name| first == *name)
        );
        in_test_folder && parts.next().is_some()
    }

    fn cached(&self, folder: &Path) -> Option<Option<Arc<Package>>> {
        self.by_folder.lock().ok()?.get(folder).cloned()
    }
}

/// The edition a manifest gives its package: `[package] edition`, or the
/// workspace's `[workspace.package] edition` when it says
/// `edition.workspace = true`; no `edition` key at all means 2015.
fn read_edition(manifest: &Path) -> Option<Edition> {
    let table = read_toml(manifest)?;
    let package = table.get("package")?.as_table()?;
    match package.get("edition") {
        None => Some(Edition::E2015),
        Some(toml::Value::String(name)) => Edition::from_name(name),
        Some(toml::Value::Table(inherit))
            if inherit.get("workspace").and_then(toml::Value::as_bool) == Some(true) =>
        {
            let folder = manifest.parent()?;
            let workspace = match package.get("workspace").and_then(toml::Value::as_str) {
                // `package.workspace = "../.."` names the root explicitly.
                Some(root) => read_toml(&folder.join(root).join("Cargo.toml"))?,
                None => folder
                    .ancestors()
                    .skip(1)
                    .filter_map(|dir| read_toml(&dir.join("Cargo.toml")))
                    .find(|table| table.contains_key("workspace"))?,
            };
            let name = workspace
                .get("workspace")?
                .get("package")?
                .get("edition")?
                .as_str()?;
            Edition::from_name(name)
        }
        Some(_) => None,
    }
}

fn read_toml(path: &Path) -> Option<toml::Table> {
    if !path.is_file() {
        return None;
    }
    std::fs::read_to_string(path).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, relative: &str, text: &str) {
        let path = root.join(relative);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("create folders");
        std::fs::write(path, text).expect("write");
    }

    #[test]
    fn a_package_without_an_edition_is_2015() {
        let dir = tempfile::tempdir().expect("temp dir");
        write(dir.path(), "Cargo.toml", "[package]\nname = \"old\"\n");
        let packages = Packages::default();
        let file = dir.path().join("src/deep/mod.rs");
        assert_eq!(packages.edition_of(&file), Edition::E2015);
        let package = packages.of(&file).expect("a package");
        assert_eq!(package.root, dir.path());
    }

    #[test]
    fn the_edition_is_inherited_from_the_workspace() {
        let dir = tempfile::tempdir().expect("temp dir");
        write(
            dir.path(),
            "Cargo.toml",
            "[workspace]\nmembers = [\"a\", \"b\"]\n[workspace.package]\nedition = \"2018\"\n",
        );
        write(
            dir.path(),
            "a/Cargo.toml",
            "[package]\nname = \"a\"\nedition.workspace = true\n",
        );
        write(
            dir.path(),
            "b/Cargo.toml",
            "[package]\nname = \"b\"\nedition = \"2024\"\n",
        );
        let packages = Packages::default();
        assert_eq!(
            packages.edition_of(&dir.path().join("a/src/lib.rs")),
            Edition::E2018
        );
        assert_eq!(
            packages.edition_of(&dir.path().join("b/src/lib.rs")),
            Edition::E2024
        );
        // The virtual root names no package: today's syntax.
        assert_eq!(
            packages.edition_of(&dir.path().join("tools/x.rs")),
            Edition::default()
        );
    }

    #[test]
    fn test_folders_are_found_from_the_package_root() {
        let dir = tempfile::tempdir().expect("temp dir");
        write(dir.path(), "Cargo.toml", "[package]\nname = \"a\"\n");
        write(dir.path(), "nested/Cargo.toml", "[package]\nname = \"b\"\n");
        let packages = Packages::default();
        let test = |relative: &str| packages.is_test_file(&dir.path().join(relative));
        assert!(test("tests/it.rs"));
        assert!(test("tests/common/mod.rs"));
        assert!(test("benches/speed.rs"));
        assert!(test("examples/demo/main.rs"));
        assert!(test("nested/tests/it.rs"));
        assert!(!test("src/tests/mod.rs"));
        assert!(!test("src/lib.rs"));
        assert!(!test("build.rs"));
        assert!(!test("tests"));
        // Below `nested/`, `src/` of the nested package is its code.
        assert!(!test("nested/src/examples/x.rs"));
    }

    #[test]
    fn a_broken_manifest_falls_back_to_todays_syntax() {
        let dir = tempfile::tempdir().expect("temp dir");
        write(dir.path(), "Cargo.toml", "[package\n");
        let packages = Packages::default();
        assert_eq!(
            packages.edition_of(&dir.path().join("src/lib.rs")),
            Edition::default()
        );
    }
}

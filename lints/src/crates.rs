//! Which crate a file belongs to, and which files make up that crate.
//!
//! The crate-wide pass ([`crate::analysis::summary`]) summarises every
//! function of a crate before the rules run, so linting one file means
//! reading its whole crate: the package around it (the nearest
//! `Cargo.toml` with a `[package]`), every `.rs` file under its `src/`, and
//! the `src/` of the workspace's crates it depends on by path. Only the
//! files asked for are reported; the others are read for their summaries.
//!
//! Files are grouped into [`Unit`]s, one per package: a unit is parsed,
//! summarised and linted on one worker thread (syntax trees cannot cross
//! threads), and units run in parallel.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// More files than this under one package's `src/` are not read for
/// context (a generated or vendored tree): the files asked for are still
/// linted, with what the others would have told left out.
pub const MAX_CONTEXT_FILES: usize = 4000;

/// One package's files, as the crate-wide pass reads them.
#[derive(Debug, Default, Clone)]
pub struct Unit {
    /// The files asked for, reported, in the order given.
    pub linted: Vec<PathBuf>,
    /// Every file of the unit (the linted ones included) with its module
    /// path from its crate's root; a sibling crate's modules start with
    /// its name.
    pub modules: BTreeMap<PathBuf, Vec<String>>,
    /// The other files of the package and of its path dependencies, read
    /// only for their summaries.
    pub context: Vec<PathBuf>,
    /// The package's library name, as code spells it (`order_service`).
    pub lib_name: Option<String>,
    /// The names of the path dependencies whose files are in `context`.
    pub siblings: Vec<String>,
}

/// Groups `files` by package. A file in no package is a unit of its own.
pub fn units(files: &[PathBuf]) -> Vec<Unit> {
    let mut roots: HashMap<PathBuf, Option<PathBuf>> = HashMap::new();
    let mut by_root: BTreeMap<PathBuf, Vec<PathBuf>> = BTreeMap::new();
    let mut alone = Vec::new();
    for file in files {
        match package_root(file, &mut roots) {
            Some(root) => by_root.entry(root).or_default().push(file.clone()),
            None => alone.push(file.clone()),
        }
    }
    let mut units: Vec<Unit> = alone
        .into_iter()
        .map(|file| Unit {
            modules: BTreeMap::from([(file.clone(), Vec::new())]),
            linted: vec![file],
            ..Unit::default()
        })
        .collect();
    for (root, linted) in by_root {
        units.push(package_unit(&root, linted));
    }
    units
}

/// The nearest folder above `file` whose `Cargo.toml` has a `[package]`.
fn package_root(file: &Path, cache: &mut HashMap<PathBuf, Option<PathBuf>>) -> Option<PathBuf> {
    let mut seen = Vec::new();
    let mut found = None;
    let mut dir = file.parent();
    while let Some(current) = dir {
        if let Some(known) = cache.get(current) {
            found = known.clone();
            break;
        }
        seen.push(current.to_path_buf());
        let manifest = current.join("Cargo.toml");
        if manifest.is_file() {
            found = std::fs::read_to_string(&manifest)
                .ok()
                .and_then(|text| text.parse::<toml::Table>().ok())
                .filter(|table| table.contains_key("package"))
                .map(|_| current.to_path_buf());
            break;
        }
        dir = current.parent();
    }
    for dir in seen {
        cache.insert(dir, found.clone());
    }
    found
}

/// A package's unit: the linted files, its `src/` and its path
/// dependencies' `src/`.
fn package_unit(root: &Path, linted: Vec<PathBuf>) -> Unit {
    let manifest: toml::Table = std::fs::read_to_string(root.join("Cargo.toml"))
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or_default();
    let lib_name = lib_name(&manifest);
    let mut unit = Unit {
        lib_name,
        ..Unit::default()
    };
    let linted_keys: BTreeSet<PathBuf> = linted.iter().map(|file| identity(file)).collect();
    for file in &linted {
        unit.modules.insert(file.clone(), module_path(root, file));
    }
    let mut budget = MAX_CONTEXT_FILES;
    for file in rust_files(&root.join("src"), &mut budget) {
        if !linted_keys.contains(&identity(&file)) {
            unit.modules.insert(file.clone(), module_path(root, &file));
            unit.context.push(file);
        }
    }
    for (name, dir) in path_dependencies(root, &manifest) {
        let before = unit.context.len();
        for file in rust_files(&dir.join("src"), &mut budget) {
            if linted_keys.contains(&identity(&file)) {
                continue;
            }
            let mut module = vec![name.clone()];
            module.extend(module_path(&dir, &file));
            unit.modules.insert(file.clone(), module);
            unit.context.push(file);
        }
        if unit.context.len() > before {
            unit.siblings.push(name);
        }
    }
    unit.linted = linted;
    unit
}

/// A path's identity for telling the same file apart from a second
/// spelling of it (`./src/a.rs` and `src/a.rs`).
fn identity(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The library's name as code spells it: `[lib] name`, or the package's
/// name with `-` as `_`.
fn lib_name(manifest: &toml::Table) -> Option<String> {
    let explicit = manifest
        .get("lib")
        .and_then(|lib| lib.get("name"))
        .and_then(|name| name.as_str());
    let package = manifest
        .get("package")
        .and_then(|package| package.get("name"))
        .and_then(|name| name.as_str());
    explicit.or(package).map(|name| name.replace('-', "_"))
}

/// The `[dependencies]` given by `path` (directly, or through
/// `workspace = true` and the workspace's `[workspace.dependencies]`),
/// as (the name code uses, the folder).
fn path_dependencies(root: &Path, manifest: &toml::Table) -> Vec<(String, PathBuf)> {
    let Some(dependencies) = manifest.get("dependencies").and_then(|d| d.as_table()) else {
        return Vec::new();
    };
    let mut workspace: Option<Option<(PathBuf, toml::Table)>> = None;
    let mut found = Vec::new();
    for (name, spec) in dependencies {
        let code_name = name.replace('-', "_");
        if let Some(path) = spec.get("path").and_then(|p| p.as_str()) {
            found.push((code_name, normalized(&root.join(path))));
        } else if spec.get("workspace").and_then(|w| w.as_bool()) == Some(true) {
            let workspace = workspace.get_or_insert_with(|| workspace_manifest(root));
            if let Some((ws_root, ws)) = workspace
                && let Some(path) = ws
                    .get("workspace")
                    .and_then(|w| w.get("dependencies"))
                    .and_then(|d| d.get(name))
                    .and_then(|spec| spec.get("path"))
                    .and_then(|p| p.as_str())
            {
                found.push((code_name, normalized(&ws_root.join(path))));
            }
        }
    }
    found
}

/// `path` with its `.` and `..` steps taken out as text says (`app/../bus`
/// is `bus`), as cargo reads a path dependency: the files of a sibling
/// crate are then named as the user knows them, in findings and labels.
fn normalized(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if matches!(out.components().next_back(), Some(Component::Normal(_))) {
                    out.pop();
                } else {
                    out.push(component);
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// The nearest manifest above `root` with a `[workspace]`.
fn workspace_manifest(root: &Path) -> Option<(PathBuf, toml::Table)> {
    let mut dir = Some(root);
    while let Some(current) = dir {
        if let Some(table) = std::fs::read_to_string(current.join("Cargo.toml"))
            .ok()
            .and_then(|text| text.parse::<toml::Table>().ok())
            .filter(|table| table.contains_key("workspace"))
        {
            return Some((current.to_path_buf(), table));
        }
        dir = current.parent();
    }
    None
}

/// Every `.rs` file under `dir`, sorted; symbolic links to folders are not
/// followed (a link back up would never end). At most `budget` files.
fn rust_files(dir: &Path, budget: &mut usize) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&current) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let path = entry.path();
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() && path.extension().is_some_and(|ext| ext == "rs") {
                if *budget == 0 {
                    return files;
                }
                *budget -= 1;
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// A file's module path from its crate's root: `src/handlers/orders.rs`
/// and `src/handlers/orders/mod.rs` are `handlers::orders`; `src/lib.rs`
/// and `src/main.rs` are the root. A file outside `src/` (a test, an
/// example) is named by its path from the package.
pub fn module_path(root: &Path, file: &Path) -> Vec<String> {
    let relative = match file.strip_prefix(root) {
        Ok(relative) => relative.to_path_buf(),
        Err(_) => match identity(file).strip_prefix(identity(root)) {
            Ok(relative) => relative.to_path_buf(),
            Err(_) => PathBuf::from(file.file_name().unwrap_or_default()),
        },
    };
    let mut parts: Vec<String> = relative
        .components()
        .filter_map(|part| match part {
            std::path::Component::Normal(name) => Some(name.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    if parts.first().is_some_and(|first| first == "src") {
        parts.remove(0);
    }
    if let Some(last) = parts.last_mut()
        && let Some(stem) = last.strip_suffix(".rs")
    {
        *last = stem.to_string();
    }
    if parts
        .last()
        .is_some_and(|last| matches!(last.as_str(), "mod" | "lib" | "main"))
    {
        parts.pop();
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_paths_follow_the_file_tree() {
        let root = Path::new("svc");
        let cases: [(&str, &[&str]); 5] = [
            ("svc/src/lib.rs", &[]),
            ("svc/src/main.rs", &[]),
            ("svc/src/handlers/mod.rs", &["handlers"]),
            ("svc/src/handlers/orders.rs", &["handlers", "orders"]),
            ("svc/tests/it.rs", &["tests", "it"]),
        ];
        for (file, module) in cases {
            assert_eq!(module_path(root, Path::new(file)), module, "{file}");
        }
    }

    #[test]
    fn path_dependencies_are_named_without_dot_dot_steps() {
        assert_eq!(
            normalized(Path::new("/w/response-proxy/../kafka/./src/lib.rs")),
            PathBuf::from("/w/kafka/src/lib.rs")
        );
        assert_eq!(normalized(Path::new("app/../bus")), PathBuf::from("bus"));
        assert_eq!(normalized(Path::new("../bus")), PathBuf::from("../bus"));
    }

    #[test]
    fn files_group_by_package_and_read_their_path_dependencies() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let write = |path: &str, text: &str| {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("folders");
            std::fs::write(path, text).expect("a file");
        };
        write(
            "Cargo.toml",
            "[workspace]\nmembers = [\"app\", \"bus\"]\n[workspace.dependencies]\nbus = { path = \"bus\" }\n",
        );
        write(
            "app/Cargo.toml",
            "[package]\nname = \"order-app\"\n[dependencies]\nbus.workspace = true\n",
        );
        write("app/src/main.rs", "mod handlers;\nfn main() {}\n");
        write("app/src/handlers.rs", "pub fn handle() {}\n");
        write("bus/Cargo.toml", "[package]\nname = \"bus\"\n");
        write("bus/src/lib.rs", "pub fn publish() {}\n");
        write("loose.rs", "fn alone() {}\n");

        let main = dir.path().join("app/src/main.rs");
        let loose = dir.path().join("loose.rs");
        let units = units(&[main.clone(), loose.clone()]);
        assert_eq!(units.len(), 2);
        let alone = units
            .iter()
            .find(|unit| unit.linted == [loose.clone()])
            .expect("the loose file");
        assert!(alone.context.is_empty());
        let app = units
            .iter()
            .find(|unit| unit.linted == [main.clone()])
            .expect("the app");
        assert_eq!(app.lib_name.as_deref(), Some("order_app"));
        assert_eq!(app.siblings, ["bus"]);
        assert_eq!(
            app.modules.get(&dir.path().join("app/src/handlers.rs")),
            Some(&vec!["handlers".to_string()])
        );
        assert_eq!(
            app.modules.get(&dir.path().join("bus/src/lib.rs")),
            Some(&vec!["bus".to_string()])
        );
        assert!(
            !app.context.contains(&main),
            "the linted file is not context too"
        );
    }
}

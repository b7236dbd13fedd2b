//! `rustc-json`: one JSON object per line, in the shape `cargo check
//! --message-format=json` prints: `{"reason":"compiler-message",
//! "package_id":..., "target":..., "message": <rustc diagnostic>}`.
//!
//! rust-analyzer reads exactly this from `rust-analyzer.check.overrideCommand`
//! and shows the findings in the editor. The override replaces `cargo check`,
//! so run both, e.g. `["sh", "-c", "cargo check --message-format=json; eda-lint
//! check --output-format rustc-json"]`.
//!
//! Paths are absolute, so they resolve whatever folder the editor runs in.
//! The package is the nearest `Cargo.toml` above the file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::{Entry, display_path, severity_word};
use crate::source::LineIndex;

pub fn render(entries: &[Entry<'_>]) -> String {
    let mut packages = Packages::default();
    let mut out = String::new();
    for entry in entries {
        let absolute = std::path::absolute(entry.path).unwrap_or_else(|_| entry.path.to_path_buf());
        let package = packages.of(&absolute);
        let message = json!({
            "reason": "compiler-message",
            "package_id": package.id,
            "manifest_path": package.manifest_path,
            "target": {
                "kind": ["lib"],
                "crate_types": ["lib"],
                "name": package.name.replace('-', "_"),
                "src_path": absolute.to_string_lossy(),
                "edition": package.edition,
                "doc": true,
                "doctest": true,
                "test": true,
            },
            "message": diagnostic(entry, &absolute),
        });
        out.push_str(&message.to_string());
        out.push('\n');
    }
    out
}

fn diagnostic(entry: &Entry<'_>, absolute: &Path) -> Value {
    let f = entry.finding;
    let file_name = absolute.to_string_lossy();
    let index = entry.source.map(|s| LineIndex::new(s));
    let span = |region: crate::finding::Region, primary: bool, label: Option<&str>| {
        let (byte_start, byte_end) = index
            .as_ref()
            .map_or((0, 0), |i| (i.offset(region.start), i.offset(region.end)));
        let text: Vec<Value> =
            index
                .as_ref()
                .map(|i| {
                    (region.start.line..=region.end.line.max(region.start.line))
                    .map(|line| {
                        let content = i.line(line);
                        let width = content.chars().count() + 1;
                        let start = if line == region.start.line { region.start.column } else { 1 };
                        let end = if line == region.end.line { region.end.column } else { width };
                        json!({ "text": content, "highlight_start": start, "highlight_end": end })
                    })
                    .collect()
                })
                .unwrap_or_default();
        json!({
            "file_name": file_name,
            "byte_start": byte_start,
            "byte_end": byte_end.max(byte_start),
            "line_start": region.start.line,
            "line_end": region.end.line.max(region.start.line),
            "column_start": region.start.column,
            "column_end": region.end.column,
            "is_primary": primary,
            "text": text,
            "label": label,
            "suggested_replacement": null,
            "suggestion_applicability": null,
            "expansion": null,
        })
    };
    let mut spans = vec![span(f.region, true, None)];
    spans.extend(
        f.labels
            .iter()
            .filter(|l| l.path.is_none())
            .map(|l| span(l.region, false, Some(&l.message))),
    );
    // A label in another file (a helper elsewhere in the crate) is a note
    // naming its place: this diagnostic's spans all index this file's text.
    let notes = f.labels.iter().filter_map(|label| {
        let path = label.path.as_ref()?;
        Some(json!({
            "$message_type": "diagnostic",
            "message": format!("{}: {}:{}:{}", label.message, display_path(path), label.region.start.line, label.region.start.column),
            "code": null, "level": "note", "spans": [], "children": [], "rendered": null,
        }))
    });
    let children: Vec<Value> = notes
        .chain(f.help.iter().map(|help| {
            json!({
                "$message_type": "diagnostic",
                "message": help, "code": null, "level": "help", "spans": [],
                "children": [], "rendered": null,
            })
        }))
        .collect();
    let level = severity_word(entry.severity);
    json!({
        "$message_type": "diagnostic",
        "message": f.message,
        "code": { "code": format!("eda_lint::{}", f.rule), "explanation": null },
        "level": level,
        "spans": spans,
        "children": children,
        "rendered": format!(
            "{level}[{}]: {}\n --> {}:{}:{}\n",
            f.rule, f.message, display_path(entry.path), f.region.start.line, f.region.start.column
        ),
    })
}

/// What a cargo message says about the package a file belongs to.
#[derive(Clone)]
struct Package {
    id: String,
    name: String,
    edition: String,
    manifest_path: String,
}

/// The nearest manifest above each folder, read once.
#[derive(Default)]
struct Packages {
    by_folder: BTreeMap<PathBuf, Package>,
}

impl Packages {
    fn of(&mut self, file: &Path) -> Package {
        let folder = file.parent().unwrap_or(file).to_path_buf();
        if let Some(found) = self.by_folder.get(&folder) {
            return found.clone();
        }
        let package = folder
            .ancestors()
            .find_map(read_package)
            .unwrap_or_else(|| Package {
                id: format!("path+file://{}#eda-lint-input@0.0.0", folder.display()),
                name: String::from("eda-lint-input"),
                edition: String::from("2021"),
                manifest_path: folder.join("Cargo.toml").to_string_lossy().into_owned(),
            });
        self.by_folder.insert(folder, package.clone());
        package
    }
}

fn read_package(dir: &Path) -> Option<Package> {
    let manifest = dir.join("Cargo.toml");
    let table: toml::Table = std::fs::read_to_string(&manifest).ok()?.parse().ok()?;
    let package = table.get("package")?.as_table()?;
    let name = package.get("name")?.as_str()?.to_string();
    // `version.workspace = true` and friends are tables: fall back to what
    // cargo uses for a package without a version.
    let version = package
        .get("version")
        .and_then(|v| v.as_str())
        .unwrap_or("0.0.0");
    let edition = package
        .get("edition")
        .and_then(|v| v.as_str())
        .unwrap_or("2021");
    Some(Package {
        id: format!("path+file://{}#{name}@{version}", dir.display()),
        name,
        edition: edition.to_string(),
        manifest_path: manifest.to_string_lossy().into_owned(),
    })
}

//! Every `cargo install` the README and the book tell readers to run uses
//! `--locked`. Without it, cargo ignores `Cargo.lock`, resolves every
//! dependency again over the network and builds versions nobody tested.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn markdown_files(folder: &Path, found: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(folder)
        .unwrap_or_else(|error| panic!("cannot list {}: {error}", folder.display()));
    for entry in entries {
        let path = entry.expect("a folder entry").path();
        if path.is_dir() {
            markdown_files(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "md") {
            found.push(path);
        }
    }
}

#[test]
fn every_cargo_install_is_locked() {
    let mut files = vec![root().join("README.md")];
    markdown_files(&root().join("book/src"), &mut files);
    let mut unlocked = Vec::new();
    let mut seen = 0;
    for file in &files {
        let text = std::fs::read_to_string(file)
            .unwrap_or_else(|error| panic!("cannot read {}: {error}", file.display()));
        for (number, line) in text.lines().enumerate() {
            if line.contains("cargo install ") {
                seen += 1;
                if !line.contains("--locked") {
                    unlocked.push(format!("{}:{}: {line}", file.display(), number + 1));
                }
            }
        }
    }
    assert!(seen > 0, "no `cargo install` found: has the README moved?");
    assert!(
        unlocked.is_empty(),
        "add `--locked`:\n{}",
        unlocked.join("\n")
    );
}

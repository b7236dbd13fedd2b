//! `cargo eda-lint` on a real (temporary) cargo workspace: package
//! selection with `-p`, `--workspace`, `--manifest-path` and the default.

use std::path::Path;
use std::process::{Command, Output};

fn write(dir: &Path, relative: &str, text: &str) {
    let path = dir.join(relative);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("folders");
    std::fs::write(path, text).expect("write");
}

/// A workspace whose root is also a package, with two members, one nested
/// inside the root package's folder; each has one parse error to find.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    write(
        root,
        "Cargo.toml",
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\nmembers = [\"crates/orders\", \"crates/billing\"]\n",
    );
    write(root, "src/lib.rs", "fn app_broken(x: ) {}\n");
    for name in ["orders", "billing"] {
        write(
            root,
            &format!("crates/{name}/Cargo.toml"),
            &format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n"),
        );
        write(
            root,
            &format!("crates/{name}/src/lib.rs"),
            &format!("fn {name}_broken(x: ) {{}}\n"),
        );
    }
    dir
}

fn cargo_eda_lint(dir: &Path, args: &[&str]) -> Output {
    // As cargo runs it: `cargo-eda-lint eda-lint <args>`.
    Command::new(env!("CARGO_BIN_EXE_cargo-eda-lint"))
        .arg("eda-lint")
        .args(args)
        .args(["--output-format", "concise"])
        .current_dir(dir)
        .output()
        .expect("run cargo-eda-lint")
}

fn files(output: &Output) -> Vec<String> {
    let text = String::from_utf8_lossy(&output.stdout);
    let mut files: Vec<String> = text
        .lines()
        .filter(|l| l.contains("parse-error"))
        .filter_map(|l| l.split(':').next().map(String::from))
        .collect();
    files.sort();
    files
}

#[test]
fn the_package_here_excludes_nested_members() {
    let dir = workspace();
    let output = cargo_eda_lint(dir.path(), &[]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(files(&output), ["src/lib.rs"]);
}

#[test]
fn workspace_lints_every_member() {
    let dir = workspace();
    let output = cargo_eda_lint(dir.path(), &["--workspace"]);
    assert_eq!(
        files(&output),
        [
            "crates/billing/src/lib.rs",
            "crates/orders/src/lib.rs",
            "src/lib.rs"
        ]
    );
}

#[test]
fn package_selects_members_and_suggests_on_a_typo() {
    let dir = workspace();
    let output = cargo_eda_lint(dir.path(), &["-p", "orders"]);
    assert_eq!(files(&output), ["crates/orders/src/lib.rs"]);

    let output = cargo_eda_lint(dir.path(), &["-p", "order"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("did you mean `orders`?"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn manifest_path_picks_the_package_from_anywhere() {
    let dir = workspace();
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let manifest = dir.path().join("crates/billing/Cargo.toml");
    let output = cargo_eda_lint(
        elsewhere.path(),
        &["--manifest-path", &manifest.to_string_lossy()],
    );
    let found = files(&output);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].ends_with("crates/billing/src/lib.rs"), "{found:?}");
}

#[test]
fn include_tests_reaches_the_test_folders_of_each_package() {
    let dir = workspace();
    write(
        dir.path(),
        "crates/orders/tests/it.rs",
        "fn it_broken(x: ) {}\n",
    );
    let output = cargo_eda_lint(dir.path(), &["--workspace"]);
    assert!(
        !files(&output).contains(&String::from("crates/orders/tests/it.rs")),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let output = cargo_eda_lint(dir.path(), &["--workspace", "--include-tests"]);
    assert!(
        files(&output).contains(&String::from("crates/orders/tests/it.rs")),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
}

//! The launcher on a scratch workspace whose `xtask` package prints its
//! arguments and whose build script takes two seconds: the first run says
//! what it builds, with cargo's verbs; the next is silent.

use std::path::Path;
use std::process::Command;

#[test]
fn the_first_build_says_what_it_does_and_later_runs_are_silent() {
    let scratch = tempfile_dir();
    let write = |path: &str, text: &str| {
        let path = scratch.join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    };
    write(
        "Cargo.toml",
        "[package]\nname = \"xtask\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
    );
    write(
        "build.rs",
        "fn main() { std::thread::sleep(std::time::Duration::from_secs(2)); }\n",
    );
    write(
        "src/main.rs",
        "fn main() { println!(\"ran {:?}\", std::env::args().skip(1).collect::<Vec<_>>()); }\n",
    );
    // The launcher sits where cargo would build it: in the target folder's
    // profile folder, where it looks for the tools.
    let profile = scratch.join("target/debug");
    std::fs::create_dir_all(&profile).expect("mkdir");
    let launcher = profile.join(format!("xtask-launch{}", std::env::consts::EXE_SUFFIX));
    std::fs::copy(env!("CARGO_BIN_EXE_xtask-launch"), &launcher).expect("copy the launcher");

    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let run = || {
        Command::new(&launcher)
            .arg("grade")
            .current_dir(&scratch)
            .env("CARGO", &cargo)
            .env("CARGO_TARGET_DIR", scratch.join("target"))
            .env_remove("CARGO_TERM_PROGRESS_WHEN")
            .env_remove("CARGO_TERM_QUIET")
            .env_remove("CARGO_TERM_VERBOSE")
            .output()
            .expect("the launcher runs")
    };

    let first = run();
    let said = String::from_utf8_lossy(&first.stderr);
    assert!(first.status.success(), "{said}");
    assert_eq!(String::from_utf8_lossy(&first.stdout), "ran [\"grade\"]\n");
    assert!(
        said.starts_with("Building the workshop's tools: the first time only"),
        "{said}"
    );
    assert!(said.contains("Compiling xtask"), "no verb: {said:?}");

    let later = run();
    assert!(later.status.success());
    assert_eq!(String::from_utf8_lossy(&later.stdout), "ran [\"grade\"]\n");
    assert_eq!(
        String::from_utf8_lossy(&later.stderr),
        "",
        "a later run is not silent"
    );
    let _ = std::fs::remove_dir_all(&scratch);
}

/// A fresh folder under the test's temporary folder.
fn tempfile_dir() -> std::path::PathBuf {
    let folder = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("launcher-scratch-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder).expect("mkdir");
    folder
}

//! `cargo eda-lint`: lint the packages of a cargo workspace; see
//! [`eda_lint::workspace`].

fn main() -> std::process::ExitCode {
    eda_lint::workspace::main()
}

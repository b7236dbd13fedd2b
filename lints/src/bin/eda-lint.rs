//! `eda-lint check [PATH...]` and `eda-lint rule <name>`: see [`eda_lint::cli`].

fn main() -> std::process::ExitCode {
    eda_lint::cli::main()
}

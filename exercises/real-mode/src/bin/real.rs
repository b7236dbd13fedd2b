//! `cargo xtask real`: the harness (see `real_mode::real::harness`).

fn main() -> std::process::ExitCode {
    real_mode::real::harness::main()
}

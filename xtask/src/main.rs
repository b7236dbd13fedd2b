//! `cargo xtask`: the workshop runner and the maintainers' checks.

use clap::Parser;

/// The workshop runner.
#[derive(Parser)]
#[command(name = "cargo xtask", version, about)]
struct Cli {}

fn main() {
    Cli::parse();
}

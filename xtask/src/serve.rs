//! `cargo xtask serve`: build the book, serve it on loopback, rebuild on change.

use anyhow::Result;

/// Options of `cargo xtask serve`.
#[derive(clap::Args)]
pub struct Args {
    /// The loopback port to listen on.
    #[arg(long, default_value_t = 3000)]
    pub port: u16,
}

/// Builds the book and serves it.
pub fn run(_args: Args) -> Result<()> {
    anyhow::bail!("`cargo xtask serve` is being written (issue 4)")
}

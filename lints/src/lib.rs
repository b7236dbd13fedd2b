//! `eda-lint`: a source-only linter for reliability mistakes in event-driven
//! Rust code. It parses with `syn` and never compiles or runs what it reads.
//!
//! The one entry point for linting text is [`lint_source`]:
//!
//! ```
//! use std::path::Path;
//! use eda_lint::{Config, lint_source};
//!
//! let report = lint_source(Path::new("src/lib.rs"), "fn main() {}", &Config::default());
//! assert!(report.findings.is_empty());
//! ```
//!
//! Map of the crate:
//!
//! - [`finding`]: what a rule reports.
//! - [`context`]: what a rule sees of one file.
//! - [`rules`]: the rules and their registry.
//! - [`diagnostics`]: what the linter says about a file itself (parse errors, suppressions).
//! - [`lint`]: linting one file's text; [`parse`] (item-by-item recovery,
//!   blanking of text that does not tokenise, the depth guard), [`source`]
//!   (positions), [`suppression`] (comment directives) serve it;
//!   [`edition`] reads 2015-edition code, whose [`package`] (the nearest
//!   `Cargo.toml`) says so; [`test_code`] is left out unless asked for.
//! - [`analysis`]: what the rules share about a file (imports, APIs, flows).
//! - [`config`]: `eda-lint.toml` / `[*.metadata.eda-lint]`.
//! - [`report`]: the result for one file.
//! - [`run`]: the driver: crates in parallel on big-stack threads, each file
//!   behind `catch_unwind`; [`walk`] finds the files, [`crates`] groups them
//!   by package and finds the rest of each crate (the crate-wide pass reads
//!   it), [`prefilter`] can skip unrelated ones.
//! - [`output`]: text, concise, JSON, SARIF, GitHub and rustc-JSON renderers;
//!   [`baseline`]: content-keyed baselines.
//! - [`cli`]: `eda-lint`'s command line and exit codes; [`workspace`]:
//!   `cargo eda-lint` on top of `cargo metadata`.

pub mod analysis;
pub mod baseline;
pub mod cli;
pub mod config;
pub mod context;
pub mod crates;
pub mod diagnostics;
pub mod edition;
pub mod finding;
pub mod lint;
pub mod output;
pub mod package;
pub mod parse;
pub mod prefilter;
pub mod report;
pub mod rules;
pub mod run;
pub mod source;
pub mod suppression;
pub mod test_code;
pub mod walk;
pub mod workspace;

pub use config::Config;
pub use lint::lint_source;
pub use report::FileReport;

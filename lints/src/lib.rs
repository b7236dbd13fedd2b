//! `eda-lint`: a source-only linter for reliability mistakes in event-driven
//! Rust code. It parses with `syn` and never compiles or runs what it reads.
//!
//! - [`finding`]: what a rule reports.
//! - [`context`]: what a rule sees of one file.
//! - [`rules`]: the rules and their registry.

pub mod analysis;
pub mod context;
pub mod finding;
pub mod rules;

//! Empty on purpose: this package only pins the crates of eda-lint's
//! real-code corpus (see `Cargo.toml`); nothing uses it as code.

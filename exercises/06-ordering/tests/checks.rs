//! The graded checks of `ordering`: one `#[test]` per anomaly, named after
//! it. Do not edit: the checks themselves are in `src/rubric.rs`.
//!
//! `cargo test -p ordering` runs them; a failing one prints the anomaly, the
//! shortest failing run and the command that replays it.

use ordering::rubric;

#[test]
fn stale_overwrite() {
    rubric::stale_overwrite().assert();
}

#[test]
fn resurrected_delete() {
    rubric::resurrected_delete().assert();
}

#[test]
fn divergent_projection() {
    rubric::divergent_projection().assert();
}

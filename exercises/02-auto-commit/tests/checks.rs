//! The graded checks of `auto-commit`: one `#[test]` per anomaly, named
//! after it. Do not edit: the checks themselves are in `src/rubric.rs`.
//!
//! `cargo test -p auto-commit` runs them; a failing one prints the anomaly,
//! the shortest failing run and the command that replays it.

use auto_commit::rubric;

#[test]
fn lost_message() {
    rubric::lost_message().assert();
}

#[test]
fn unsettled_message() {
    rubric::unsettled_message().assert();
}

//! The graded checks of `claim-check`: one `#[test]` per anomaly, named
//! after it. Do not edit: the checks themselves are in `src/rubric.rs`.
//!
//! `cargo test -p claim-check` runs them; a failing one prints the anomaly,
//! the shortest failing run and the command that replays it.

use claim_check::rubric;

#[test]
fn oversized_message() {
    rubric::oversized_message().assert();
}

#[test]
fn lost_payload() {
    rubric::lost_payload().assert();
}

#[test]
fn orphaned_payload() {
    rubric::orphaned_payload().assert();
}

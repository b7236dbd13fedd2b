//! The graded checks of `lost-update`: one `#[test]` per anomaly, named
//! after it. Do not edit: the checks themselves are in `src/rubric.rs`.
//!
//! `cargo test -p lost-update` runs them; a failing one prints the anomaly,
//! the shortest failing run (for an interleaving: which worker ran each
//! store statement) and the command that replays it.

use lost_update::rubric;

#[test]
fn lost_update() {
    rubric::lost_update().assert();
}

#[test]
fn oversold() {
    rubric::oversold().assert();
}

#[test]
fn retry_storm() {
    rubric::retry_storm().assert();
}

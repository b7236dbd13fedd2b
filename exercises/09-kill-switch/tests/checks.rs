//! The graded checks of `kill-switch`: one `#[test]` per anomaly, named
//! after it. Do not edit: the checks themselves are in `src/rubric.rs`.
//!
//! `cargo test -p kill-switch` runs them; a failing one prints the anomaly,
//! the message it concerns with its timeline, and the command that replays
//! the run.

use kill_switch::rubric;

#[test]
fn poison_storm() {
    rubric::poison_storm().assert();
}

#[test]
fn no_pause() {
    rubric::no_pause().assert();
}

#[test]
fn no_resume() {
    rubric::no_resume().assert();
}

#[test]
fn lost_message() {
    rubric::lost_message().assert();
}

#[test]
fn poison_swallowed() {
    rubric::poison_swallowed().assert();
}

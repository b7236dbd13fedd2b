//! The graded checks of `capstone`: one `#[test]` per anomaly, named after
//! it. Do not edit: the checks themselves are in `src/rubric.rs`.
//!
//! `cargo test -p capstone` runs them; a failing one prints the anomaly, the
//! shortest failing run and the command that replays it. `cargo xtask grade
//! capstone` runs them too, and eda-lint on your file.

use capstone::rubric;

#[test]
fn lost_message() {
    rubric::lost_message().assert();
}

#[test]
fn duplicate_side_effect() {
    rubric::duplicate_side_effect().assert();
}

#[test]
fn lost_event() {
    rubric::lost_event().assert();
}

#[test]
fn poison_storm() {
    rubric::poison_storm().assert();
}

#[test]
fn no_resume() {
    rubric::no_resume().assert();
}

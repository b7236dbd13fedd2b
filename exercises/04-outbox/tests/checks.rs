//! The graded checks of `outbox`: one `#[test]` per anomaly, named after it.
//! Do not edit: the checks themselves are in `src/rubric.rs`.
//!
//! `cargo test -p outbox` runs them; a failing one prints the anomaly, the
//! shortest failing run and the command that replays it.

use outbox::rubric;

#[test]
fn lost_event() {
    rubric::lost_event().assert();
}

#[test]
fn phantom_event() {
    rubric::phantom_event().assert();
}

#[test]
fn duplicate_event_undetected() {
    rubric::duplicate_event_undetected().assert();
}

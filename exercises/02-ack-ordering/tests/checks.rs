//! The graded checks of `ack-ordering`: one `#[test]` per anomaly, named
//! after it. Do not edit: the checks themselves are in `src/rubric.rs`.
//!
//! `cargo test -p ack-ordering` runs them; a failing one prints the anomaly,
//! the shortest failing run and the command that replays it.

use ack_ordering::rubric;

#[test]
fn lost_message() {
    rubric::lost_message().assert();
}

#[test]
fn unsettled_message() {
    rubric::unsettled_message().assert();
}

#[test]
fn lock_expired() {
    rubric::lock_expired().assert();
}

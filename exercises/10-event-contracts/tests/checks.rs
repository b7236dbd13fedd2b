//! The graded checks of `event-contracts`: one `#[test]` per anomaly, named
//! after it. Do not edit: the checks themselves are in `src/rubric.rs`.
//!
//! `cargo test -p event-contracts` runs them; a failing one prints the
//! anomaly, the shortest failing run and the command that replays it.

use event_contracts::rubric;

#[test]
fn accepted_bad_event() {
    rubric::accepted_bad_event().assert();
}

#[test]
fn rejected_good_event() {
    rubric::rejected_good_event().assert();
}

#[test]
fn silent_rejection() {
    rubric::silent_rejection().assert();
}

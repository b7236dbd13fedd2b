//! The graded checks of `cdc`: one `#[test]` per anomaly, named after it.
//! Do not edit: the checks themselves are in `src/rubric.rs`.
//!
//! `cargo test -p cdc` runs them; a failing one prints the anomaly, the
//! shortest failing run and the command that replays it.

use cdc::rubric;

#[test]
fn lost_event() {
    rubric::lost_event().assert();
}

#[test]
fn duplicate_event_undetected() {
    rubric::duplicate_event_undetected().assert();
}

#[test]
fn out_of_order_per_aggregate() {
    rubric::out_of_order_per_aggregate().assert();
}

//! The graded checks of `idempotent-consumer`: one `#[test]` per anomaly,
//! named after it. Do not edit: the checks themselves are in `src/rubric.rs`.

use idempotent_consumer::rubric;

#[test]
fn duplicate_side_effect() {
    rubric::duplicate_side_effect().assert();
}

#[test]
fn lost_email() {
    rubric::lost_email().assert();
}

//! The graded checks of `hello-broker`: one `#[test]` per anomaly, named
//! after it. Do not edit: the checks themselves are in `src/rubric.rs`.

use hello_broker::rubric;

#[test]
fn lost_message() {
    rubric::lost_message().assert();
}

#[test]
fn unsettled_message() {
    rubric::unsettled_message().assert();
}

#[test]
fn misread_crash_point() {
    rubric::misread_crash_point().assert();
}

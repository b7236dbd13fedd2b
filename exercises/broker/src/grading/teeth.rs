//! For the graders' own tests (each exercise's `tests/grader_teeth.rs`):
//! the two assertions every such test makes about a check's report, with
//! the report in the panic message so that a failing tooth shows what the
//! grader said.

use super::CheckReport;

/// Panics unless the check failed and its report says `phrase`: a wrong
/// fix must be caught, and for the reason the test names.
#[track_caller]
pub fn assert_fails(report: &CheckReport, phrase: &str) {
    assert!(!report.passed, "should fail:\n{}", report.text);
    assert!(
        report.text.contains(phrase),
        "should say {phrase:?}:\n{}",
        report.text
    );
}

/// Panics unless the check passed: a correct solution must be accepted.
#[track_caller]
pub fn assert_passes(report: &CheckReport) {
    assert!(report.passed, "should pass:\n{}", report.text);
}

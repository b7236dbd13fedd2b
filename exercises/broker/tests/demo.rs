//! The crash demo's output, pinned. The book's figures are generated from
//! runs like this one, so a change to the trace's rendering shows up here
//! first, as a snapshot diff to review (`cargo insta review`), not as a
//! silently different figure.

#[test]
fn the_crash_demo_prints_what_the_issue_describes() {
    let output = broker::demo::crash_demo();
    assert_eq!(output, broker::demo::crash_demo(), "byte-identical");
    insta::assert_snapshot!(output);
}

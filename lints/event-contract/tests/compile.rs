//! What `#[derive(Event)]` refuses to compile, and what it accepts. The
//! compiler's messages are pinned in `tests/ui/fail/*.stderr`: a change to
//! a message shows up as a diff here. After changing one on purpose,
//! regenerate them with `TRYBUILD=overwrite cargo test -p event-contract
//! --test compile` and read the diff before committing.

#[test]
fn refused_event_types_do_not_compile() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/fail/*.rs");
}

#[test]
fn contracted_event_types_compile() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
}

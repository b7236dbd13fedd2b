//! Our store against PostgreSQL: each scenario of `conformance::store` on
//! both, asserting what the lost-update chapter states. One server for the
//! whole binary, one database per test.

use conformance::store::ours::{Ours, Profile};
use conformance::store::postgres::Postgres;
use conformance::store::run::{play, verdict};
use conformance::store::{Level, Scenario};

fn check(scenario: Scenario) {
    let Some(server) = Postgres::shared() else {
        return;
    };
    let label = format!("{scenario:?}");
    let theirs = play(scenario, false, async || server.engine(&label).await);
    let ours = play(scenario, true, async || Ok(Ours::new(Profile::Postgres)));
    match verdict(scenario, vec![ours, theirs], None) {
        Ok(report) => println!("{report}"),
        Err(report) => panic!("the store, the book and PostgreSQL disagree\n{report}"),
    }
}

#[test]
fn read_committed_loses_the_update() {
    check(Scenario::LostUpdate(Level::ReadCommitted));
}

#[test]
fn repeatable_read_fails_the_second_writer_with_40001() {
    check(Scenario::SecondWriterFails(Level::RepeatableRead));
}

#[test]
fn serializable_fails_the_second_writer_with_40001() {
    check(Scenario::SecondWriterFails(Level::Serializable));
}

#[test]
fn for_update_makes_the_second_reader_wait_and_keeps_the_update() {
    check(Scenario::ForUpdateKeepsTheUpdate(Level::ReadCommitted));
}

#[test]
fn for_update_under_repeatable_read_fails_after_the_wait_with_40001() {
    check(Scenario::ForUpdateFailsAfterTheSnapshot(
        Level::RepeatableRead,
    ));
}

#[test]
fn a_version_checked_update_affects_no_row_after_a_concurrent_write() {
    check(Scenario::VersionCheckCatchesTheConflict(
        Level::ReadCommitted,
    ));
}

#[test]
fn an_atomic_update_loses_nothing() {
    check(Scenario::AtomicUpdateLosesNothing(Level::ReadCommitted));
}

#[test]
fn an_atomic_update_checks_its_where_again() {
    check(Scenario::AtomicUpdateRechecksTheWhere(Level::ReadCommitted));
}

#[test]
fn a_deadlock_fails_one_transaction_with_40p01() {
    check(Scenario::DeadlockFailsOne(Level::ReadCommitted));
}

#[test]
fn serializable_catches_write_skew() {
    check(Scenario::WriteSkewCaught(Level::Serializable));
}

#[test]
fn repeatable_read_lets_write_skew_through() {
    check(Scenario::WriteSkewAllowed(Level::RepeatableRead));
}

#[test]
fn a_commit_after_a_failed_statement_commits_nothing() {
    check(Scenario::CommitAfterAnError(Level::RepeatableRead));
}

//! Our store against MariaDB (InnoDB): each scenario of
//! `conformance::store` on both, our store standing in for InnoDB
//! (`IsolationLevel::InnoDbRepeatableRead` for repeatable read). One server
//! for the whole binary, one database per test.

use conformance::store::mariadb::{MariaDb, SnapshotIsolation};
use conformance::store::ours::{Ours, Profile};
use conformance::store::run::{play, verdict};
use conformance::store::{Engine, Level, Scenario};

fn check(scenario: Scenario) {
    let Some(server) = MariaDb::shared() else {
        return;
    };
    let label = format!("{scenario:?}");
    let theirs = play(scenario, false, async || server.engine(&label).await);
    let model = Ours::new(Profile::InnoDb);
    let (runs, note) = if model.supports(scenario.level()) {
        let ours = play(scenario, true, async || Ok(model));
        (vec![ours, theirs], None)
    } else {
        let note = "the store has no model of InnoDB's serializable: the engine alone";
        (vec![theirs], Some(note))
    };
    match verdict(scenario, runs, note) {
        Ok(report) => println!("{report}"),
        Err(report) => panic!("the store, the book and MariaDB disagree\n{report}"),
    }
}

#[test]
fn read_committed_loses_the_update() {
    check(Scenario::LostUpdate(Level::ReadCommitted));
}

#[test]
fn repeatable_read_the_default_loses_the_update_silently() {
    check(Scenario::LostUpdate(Level::RepeatableRead));
}

#[test]
fn for_update_makes_the_second_reader_wait_and_keeps_the_update() {
    check(Scenario::ForUpdateKeepsTheUpdate(Level::RepeatableRead));
}

#[test]
fn a_version_checked_update_affects_no_row_after_a_concurrent_write() {
    check(Scenario::VersionCheckCatchesTheConflict(
        Level::RepeatableRead,
    ));
}

#[test]
fn an_atomic_update_loses_nothing() {
    check(Scenario::AtomicUpdateLosesNothing(Level::RepeatableRead));
}

#[test]
fn an_atomic_update_checks_its_where_again() {
    check(Scenario::AtomicUpdateRechecksTheWhere(
        Level::RepeatableRead,
    ));
}

#[test]
fn a_deadlock_fails_one_transaction_with_1213() {
    check(Scenario::DeadlockFailsOne(Level::RepeatableRead));
}

#[test]
fn serializable_makes_the_reads_lock_and_keeps_the_update() {
    check(Scenario::SerializableLocksTheRead(Level::Serializable));
}

/// Not the book's claim yet: what MariaDB 11.6.2 and later do by default.
/// With `innodb_snapshot_isolation` on, InnoDB's repeatable read fails the
/// second writer (error 1020) as PostgreSQL's does (40001).
#[test]
fn with_snapshot_isolation_on_repeatable_read_fails_the_second_writer() {
    let Some(server) = MariaDb::shared() else {
        return;
    };
    let scenario = Scenario::SecondWriterFails(Level::RepeatableRead);
    let label = format!("{scenario:?}_snapshot_isolation");
    let theirs = play(scenario, false, async || {
        server.engine_with(&label, SnapshotIsolation::On).await
    });
    let note = "innodb_snapshot_isolation=ON (the default from MariaDB 11.6.2): the engine \
                alone, held to what the book says of PostgreSQL's repeatable read";
    match verdict(scenario, vec![theirs], Some(note)) {
        Ok(report) => println!("{report}"),
        Err(report) => panic!("MariaDB with innodb_snapshot_isolation=ON\n{report}"),
    }
}

#[test]
fn with_snapshot_isolation_on_for_update_still_waits_and_keeps_the_update() {
    let Some(server) = MariaDb::shared() else {
        return;
    };
    let scenario = Scenario::ForUpdateKeepsTheUpdate(Level::RepeatableRead);
    let label = format!("{scenario:?}_snapshot_isolation");
    let theirs = play(scenario, false, async || {
        server.engine_with(&label, SnapshotIsolation::On).await
    });
    let note = "innodb_snapshot_isolation=ON (the default from MariaDB 11.6.2): the engine alone";
    match verdict(scenario, vec![theirs], Some(note)) {
        Ok(report) => println!("{report}"),
        Err(report) => panic!("MariaDB with innodb_snapshot_isolation=ON\n{report}"),
    }
}

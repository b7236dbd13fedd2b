//! The scenarios on our store alone, with no server: every claim the store
//! makes holds on each of its two profiles (so these run, and catch a store
//! change, on a machine without PostgreSQL or MariaDB), and the runner has
//! teeth: a profile that does not have a property is reported as
//! disagreeing, with its trace and the book page.

use conformance::store::ours::{Ours, Profile};
use conformance::store::run::{play, verdict};
use conformance::store::{Level, Scenario};

fn on(profile: Profile, scenario: Scenario) -> Result<String, String> {
    let ours = play(scenario, true, async || Ok(Ours::new(profile)));
    verdict(scenario, vec![ours], None)
}

const AS_POSTGRES: [Scenario; 12] = [
    Scenario::LostUpdate(Level::ReadCommitted),
    Scenario::SecondWriterFails(Level::RepeatableRead),
    Scenario::SecondWriterFails(Level::Serializable),
    Scenario::ForUpdateKeepsTheUpdate(Level::ReadCommitted),
    Scenario::ForUpdateFailsAfterTheSnapshot(Level::RepeatableRead),
    Scenario::VersionCheckCatchesTheConflict(Level::ReadCommitted),
    Scenario::AtomicUpdateLosesNothing(Level::ReadCommitted),
    Scenario::AtomicUpdateRechecksTheWhere(Level::ReadCommitted),
    Scenario::DeadlockFailsOne(Level::ReadCommitted),
    Scenario::WriteSkewCaught(Level::Serializable),
    Scenario::WriteSkewAllowed(Level::RepeatableRead),
    Scenario::CommitAfterAnError(Level::RepeatableRead),
];

const AS_INNODB: [Scenario; 7] = [
    Scenario::LostUpdate(Level::ReadCommitted),
    Scenario::LostUpdate(Level::RepeatableRead),
    Scenario::ForUpdateKeepsTheUpdate(Level::RepeatableRead),
    Scenario::VersionCheckCatchesTheConflict(Level::RepeatableRead),
    Scenario::AtomicUpdateLosesNothing(Level::RepeatableRead),
    Scenario::AtomicUpdateRechecksTheWhere(Level::RepeatableRead),
    Scenario::DeadlockFailsOne(Level::RepeatableRead),
];

#[test]
fn the_store_as_postgres_does_what_the_book_says() {
    for scenario in AS_POSTGRES {
        if let Err(report) = on(Profile::Postgres, scenario) {
            panic!("{report}");
        }
    }
}

#[test]
fn the_store_as_innodb_does_what_the_book_says() {
    for scenario in AS_INNODB {
        if let Err(report) = on(Profile::InnoDb, scenario) {
            panic!("{report}");
        }
    }
}

#[test]
fn innodb_repeatable_read_is_reported_where_postgres_fails_the_writer() {
    let scenario = Scenario::SecondWriterFails(Level::RepeatableRead);
    let report = on(Profile::InnoDb, scenario).expect_err("InnoDB's level raises no error");
    assert!(
        report.contains("should give a serialization failure; it gave 1 row(s) affected"),
        "{report}"
    );
    assert!(report.contains("book/src/lost-update/index.md"), "{report}");
    assert!(
        report.contains("on our store (broker::store), as InnoDB: DISAGREES"),
        "{report}"
    );
}

#[test]
fn postgres_repeatable_read_is_reported_where_innodb_loses_the_update() {
    let scenario = Scenario::LostUpdate(Level::RepeatableRead);
    let report = on(Profile::Postgres, scenario).expect_err("PostgreSQL fails the writer");
    assert!(
        report.contains("should give 1 row(s) affected; it gave serialization failure"),
        "{report}"
    );
}

#[test]
fn a_level_the_store_cannot_model_is_an_error_not_a_pass() {
    let scenario = Scenario::SerializableLocksTheRead(Level::Serializable);
    let report = on(Profile::InnoDb, scenario).expect_err("no InnoDB serializable in the store");
    assert!(
        report.contains("our store has no model of SERIALIZABLE"),
        "{report}"
    );
}

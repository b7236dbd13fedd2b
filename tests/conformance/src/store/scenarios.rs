//! The scenarios, each written once against [`Engine`], each asserting what
//! the book states at every step. Every one starts from fresh rows, so a run
//! never depends on another.

use super::run::{Expect, Run, Tx};
use super::{Engine, Level, Op, Outcome};
use crate::store::Disagreement;

/// The lost-update chapter, which states what each scenario checks.
const CHAPTER: &str = "book/src/lost-update/index.md";

/// The store's own documentation, for what it claims beyond the book.
const STORE_DOCS: &str = "exercises/broker/src/store/transaction.rs";

/// Where the book (or the store's own documentation) states the point a
/// scenario checks, and what it says, in short.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Claim {
    /// The page, and its section.
    pub page: &'static str,
    /// The section of the page.
    pub section: &'static str,
    /// What it states, in short.
    pub says: &'static str,
}

/// A scenario, at the isolation level it runs at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// Two read-modify-writes interleave; the second overwrites the first
    /// without an error.
    LostUpdate(Level),
    /// Two read-modify-writes interleave; the second writer fails with a
    /// serialization failure once the first commits.
    SecondWriterFails(Level),
    /// Both read with `FOR UPDATE`: the second waits, then reads the first
    /// one's value, and nothing is lost.
    ForUpdateKeepsTheUpdate(Level),
    /// The same at a snapshot level: the second locking read waits, then
    /// fails with a serialization failure, since the row changed after its
    /// snapshot.
    ForUpdateFailsAfterTheSnapshot(Level),
    /// Both write back only if the version is still the one they read: the
    /// second matches no row.
    VersionCheckCatchesTheConflict(Level),
    /// Both take stock with one `UPDATE … SET available = available - n`:
    /// the second waits and applies its change to the first one's result.
    AtomicUpdateLosesNothing(Level),
    /// The same with too little stock for both: the second's `WHERE` is
    /// checked again on the committed row and matches nothing.
    AtomicUpdateRechecksTheWhere(Level),
    /// Two transactions lock two rows in opposite orders: one fails with a
    /// deadlock error, the other goes on at once and commits.
    DeadlockFailsOne(Level),
    /// Write skew (two on-call doctors each going off call): serializable
    /// fails one of the two transactions.
    WriteSkewCaught(Level),
    /// The same at repeatable read: both commit, nobody is on call.
    WriteSkewAllowed(Level),
    /// A transaction whose write failed is committed anyway: nothing of it
    /// is committed, whatever the COMMIT answers.
    CommitAfterAnError(Level),
    /// A plain read-modify-write under InnoDB's serializable: its reads take
    /// shared locks, so the two writers deadlock and one fails; nothing is
    /// lost.
    SerializableLocksTheRead(Level),
}

impl Scenario {
    /// The isolation level the scenario's transactions run at.
    pub fn level(self) -> Level {
        match self {
            Scenario::LostUpdate(level)
            | Scenario::SecondWriterFails(level)
            | Scenario::ForUpdateKeepsTheUpdate(level)
            | Scenario::ForUpdateFailsAfterTheSnapshot(level)
            | Scenario::VersionCheckCatchesTheConflict(level)
            | Scenario::AtomicUpdateLosesNothing(level)
            | Scenario::AtomicUpdateRechecksTheWhere(level)
            | Scenario::DeadlockFailsOne(level)
            | Scenario::WriteSkewCaught(level)
            | Scenario::WriteSkewAllowed(level)
            | Scenario::SerializableLocksTheRead(level)
            | Scenario::CommitAfterAnError(level) => level,
        }
    }

    /// A one-line title for reports.
    pub fn title(self) -> String {
        let what = match self {
            Scenario::LostUpdate(_) => "a read-modify-write loses the update, with no error",
            Scenario::SecondWriterFails(_) => {
                "the second writer fails with a serialization failure"
            }
            Scenario::ForUpdateKeepsTheUpdate(_) => "SELECT … FOR UPDATE keeps the update",
            Scenario::ForUpdateFailsAfterTheSnapshot(_) => {
                "SELECT … FOR UPDATE of a row changed after the snapshot fails"
            }
            Scenario::VersionCheckCatchesTheConflict(_) => {
                "a version-checked UPDATE affects no row after a concurrent write"
            }
            Scenario::AtomicUpdateLosesNothing(_) => "an atomic UPDATE loses nothing",
            Scenario::AtomicUpdateRechecksTheWhere(_) => {
                "an atomic UPDATE checks its WHERE again on the committed row"
            }
            Scenario::DeadlockFailsOne(_) => "a deadlock fails one transaction, the other goes on",
            Scenario::WriteSkewCaught(_) => "write skew is caught",
            Scenario::CommitAfterAnError(_) => "a COMMIT after a failed statement commits nothing",
            Scenario::WriteSkewAllowed(_) => "write skew goes through",
            Scenario::SerializableLocksTheRead(_) => {
                "a read-modify-write under InnoDB's serializable deadlocks instead of losing the update"
            }
        };
        format!("{what} ({})", self.level().sql())
    }

    /// Where the point is stated.
    pub fn claim(self) -> Claim {
        let levels = "Isolation levels, and your database's default";
        let (section, says) = match self {
            Scenario::LostUpdate(Level::ReadCommitted) => (
                levels,
                "under read committed the second writer waits for the first one's row lock, \
                 then writes over its change: the update is lost, and nobody gets an error",
            ),
            Scenario::LostUpdate(_) => (
                levels,
                "InnoDB's repeatable read (its default) reads from a snapshot but updates the \
                 latest committed row: the update is lost, and no error is raised",
            ),
            Scenario::SecondWriterFails(_) => (
                levels,
                "PostgreSQL's repeatable read and serializable fail the second writer with \
                 40001, could not serialize access due to concurrent update",
            ),
            Scenario::ForUpdateKeepsTheUpdate(_) => (
                "SELECT … FOR UPDATE",
                "the second worker's locking read waits until the first commits, then reads \
                 the new value",
            ),
            Scenario::ForUpdateFailsAfterTheSnapshot(_) => {
                return Claim {
                    page: STORE_DOCS,
                    section: "Transaction::get_for_update",
                    says: "under repeatable read and serializable, a locking read of a row \
                           changed since the snapshot is a serialization failure",
                };
            }
            Scenario::CommitAfterAnError(_) => {
                return Claim {
                    page: "exercises/broker/src/store/mod.rs",
                    section: "The semantics, as in PostgreSQL: errors abort the transaction",
                    says: "after a failed statement the transaction is aborted, and its commit \
                           rolls back",
                };
            }
            Scenario::VersionCheckCatchesTheConflict(_) => (
                "Optimistic concurrency: a version and a bounded retry",
                "if another worker wrote first, the version-checked UPDATE matches no row, \
                 and the rows affected say so",
            ),
            Scenario::AtomicUpdateLosesNothing(_) => (
                "An atomic update",
                "the second UPDATE waits for the first one's row lock, then evaluates its SET \
                 on the row the first one committed",
            ),
            Scenario::AtomicUpdateRechecksTheWhere(_) => (
                "An atomic update",
                "the WHERE is evaluated again on the committed row, so the stock never goes \
                 below zero, and the rows affected say whether the order fit",
            ),
            Scenario::DeadlockFailsOne(_) => (
                "SELECT … FOR UPDATE",
                "two workers locking two rows in opposite orders deadlock; the database fails \
                 one of them, which must retry, and the other goes on",
            ),
            Scenario::WriteSkewCaught(_) => (
                levels,
                "serializable also catches conflicts that touch different rows (write skew), \
                 with 40001",
            ),
            Scenario::WriteSkewAllowed(_) => (
                levels,
                "only serializable catches write skew: under repeatable read both \
                 transactions commit",
            ),
            Scenario::SerializableLocksTheRead(_) => (
                levels,
                "InnoDB protects a read-modify-write under its serializable level (its plain \
                 reads lock): one writer fails and must retry, and no update is lost",
            ),
        };
        Claim {
            page: CHAPTER,
            section,
            says,
        }
    }

    /// Plays the scenario on `run`'s engine.
    pub async fn play<E: Engine>(self, run: &mut Run<E>) -> Result<(), Disagreement> {
        let level = self.level();
        match self {
            Scenario::LostUpdate(_) => lost_update(run, level).await,
            Scenario::SecondWriterFails(_) => second_writer_fails(run, level).await,
            Scenario::ForUpdateKeepsTheUpdate(_) => for_update(run, level, true).await,
            Scenario::ForUpdateFailsAfterTheSnapshot(_) => for_update(run, level, false).await,
            Scenario::VersionCheckCatchesTheConflict(_) => version_check(run, level).await,
            Scenario::AtomicUpdateLosesNothing(_) => atomic_update(run, level, 10).await,
            Scenario::AtomicUpdateRechecksTheWhere(_) => atomic_update(run, level, 4).await,
            Scenario::DeadlockFailsOne(_) => deadlock(run, level).await,
            Scenario::WriteSkewCaught(_) => write_skew(run, level, true).await,
            Scenario::WriteSkewAllowed(_) => write_skew(run, level, false).await,
            Scenario::SerializableLocksTheRead(_) => locking_reads(run, level).await,
            Scenario::CommitAfterAnError(_) => commit_after_an_error(run, level).await,
        }
    }
}

async fn begin_two<E: Engine>(run: &mut Run<E>, level: Level) -> Result<(Tx, Tx), Disagreement> {
    let a = run.session("A").await?;
    let b = run.session("B").await?;
    run.expect(a, Op::Begin(level), Expect::Done).await?;
    run.expect(b, Op::Begin(level), Expect::Done).await?;
    Ok((a, b))
}

/// Both read 10; A writes 10 - 2, B writes 10 - 3 and waits for A's lock;
/// once A commits, B's write goes through: 7 where 5 was due.
async fn lost_update<E: Engine>(run: &mut Run<E>, level: Level) -> Result<(), Disagreement> {
    run.reset(&[("teapot", 10)]).await?;
    let (a, b) = begin_two(run, level).await?;
    run.expect(a, Op::Read("teapot"), Expect::Row(10, 1))
        .await?;
    run.expect(b, Op::Read("teapot"), Expect::Row(10, 1))
        .await?;
    run.expect(a, Op::Write("teapot", 10 - 2), Expect::Affected(1))
        .await?;
    run.expect(b, Op::Write("teapot", 10 - 3), Expect::Blocked)
        .await?;
    run.expect(a, Op::Commit, Expect::Done).await?;
    run.resume(b, Expect::Affected(1)).await?;
    run.expect(b, Op::Commit, Expect::Done).await?;
    run.expect_committed("teapot", 7, 3).await
}

/// As [`lost_update`], but B's write fails once A commits, and A's change
/// stays.
async fn second_writer_fails<E: Engine>(
    run: &mut Run<E>,
    level: Level,
) -> Result<(), Disagreement> {
    run.reset(&[("teapot", 10)]).await?;
    let (a, b) = begin_two(run, level).await?;
    run.expect(a, Op::Read("teapot"), Expect::Row(10, 1))
        .await?;
    run.expect(b, Op::Read("teapot"), Expect::Row(10, 1))
        .await?;
    run.expect(a, Op::Write("teapot", 10 - 2), Expect::Affected(1))
        .await?;
    run.expect(b, Op::Write("teapot", 10 - 3), Expect::Blocked)
        .await?;
    run.expect(a, Op::Commit, Expect::Done).await?;
    run.resume(b, Expect::SerializationFailure).await?;
    run.expect(b, Op::Rollback, Expect::Done).await?;
    run.expect_committed("teapot", 8, 2).await
}

/// A locks the row as it reads; B's locking read waits, and returns A's
/// committed 8, from which B writes 5. At a snapshot level B's read fails
/// instead, and A's 8 stays.
async fn for_update<E: Engine>(
    run: &mut Run<E>,
    level: Level,
    keeps: bool,
) -> Result<(), Disagreement> {
    run.reset(&[("teapot", 10)]).await?;
    let (a, b) = begin_two(run, level).await?;
    run.expect(a, Op::ReadForUpdate("teapot"), Expect::Row(10, 1))
        .await?;
    run.expect(b, Op::ReadForUpdate("teapot"), Expect::Blocked)
        .await?;
    run.expect(a, Op::Write("teapot", 10 - 2), Expect::Affected(1))
        .await?;
    run.expect(a, Op::Commit, Expect::Done).await?;
    if !keeps {
        run.resume(b, Expect::SerializationFailure).await?;
        run.expect(b, Op::Rollback, Expect::Done).await?;
        return run.expect_committed("teapot", 8, 2).await;
    }
    run.resume(b, Expect::Row(8, 2)).await?;
    run.expect(b, Op::Write("teapot", 8 - 3), Expect::Affected(1))
        .await?;
    run.expect(b, Op::Commit, Expect::Done).await?;
    run.expect_committed("teapot", 5, 3).await
}

/// Both read version 1 and write back only at version 1: B's write waits
/// for A's lock, then matches nothing, and B knows it lost the race.
async fn version_check<E: Engine>(run: &mut Run<E>, level: Level) -> Result<(), Disagreement> {
    run.reset(&[("teapot", 10)]).await?;
    let (a, b) = begin_two(run, level).await?;
    run.expect(a, Op::Read("teapot"), Expect::Row(10, 1))
        .await?;
    run.expect(b, Op::Read("teapot"), Expect::Row(10, 1))
        .await?;
    run.expect(
        a,
        Op::WriteIfVersion("teapot", 1, 10 - 2),
        Expect::Affected(1),
    )
    .await?;
    run.expect(b, Op::WriteIfVersion("teapot", 1, 10 - 3), Expect::Blocked)
        .await?;
    run.expect(a, Op::Commit, Expect::Done).await?;
    run.resume(b, Expect::Affected(0)).await?;
    run.expect(b, Op::Rollback, Expect::Done).await?;
    run.expect_committed("teapot", 8, 2).await
}

/// A takes 3, B takes 3 and waits for A's lock. With 10 in stock both fit
/// (4 left); with 4, B's `WHERE available >= 3` no longer matches (1 left).
async fn atomic_update<E: Engine>(
    run: &mut Run<E>,
    level: Level,
    stock: i64,
) -> Result<(), Disagreement> {
    run.reset(&[("teapot", stock)]).await?;
    let (a, b) = begin_two(run, level).await?;
    run.expect(a, Op::Take("teapot", 3), Expect::Affected(1))
        .await?;
    run.expect(b, Op::Take("teapot", 3), Expect::Blocked)
        .await?;
    run.expect(a, Op::Commit, Expect::Done).await?;
    let second_fits = stock >= 6;
    run.resume(b, Expect::Affected(u64::from(second_fits)))
        .await?;
    run.expect(b, Op::Commit, Expect::Done).await?;
    if second_fits {
        run.expect_committed("teapot", stock - 6, 3).await
    } else {
        run.expect_committed("teapot", stock - 3, 2).await
    }
}

/// A writes the teapot then the kettle, B the kettle then the teapot.
async fn deadlock<E: Engine>(run: &mut Run<E>, level: Level) -> Result<(), Disagreement> {
    run.reset(&[("teapot", 10), ("kettle", 10)]).await?;
    let (a, b) = begin_two(run, level).await?;
    run.expect(a, Op::Write("teapot", 9), Expect::Affected(1))
        .await?;
    run.expect(b, Op::Write("kettle", 9), Expect::Affected(1))
        .await?;
    run.expect(a, Op::Write("kettle", 8), Expect::Blocked)
        .await?;
    let closing = run.step(b, Op::Write("teapot", 8)).await?;
    let survivor = one_fails(run, a, b, closing).await?;
    // A wrote teapot 9 then kettle 8; B kettle 9 then teapot 8.
    let (teapot, kettle) = if survivor == a { (9, 8) } else { (8, 9) };
    run.expect_committed("teapot", teapot, 2).await?;
    run.expect_committed("kettle", kettle, 2).await
}

/// `first` has waited for `closer`, and `closer`'s statement (which gave
/// `closing`) closed the cycle. Exactly one of the two must fail with a
/// deadlock error, whichever the engine picks; the other's statement must
/// then finish at once, before the failed one even rolls back (the engine
/// releases a transaction's locks when it fails, not at its ROLLBACK), and
/// it commits. Returns the survivor.
async fn one_fails<E: Engine>(
    run: &mut Run<E>,
    first: Tx,
    closer: Tx,
    closing: Outcome,
) -> Result<Tx, Disagreement> {
    let mut survivor_finished = false;
    let victim = match closing {
        Outcome::Deadlock(_) => closer,
        Outcome::Affected(1) => {
            // The engine had already failed `first`, and let `closer` on.
            survivor_finished = true;
            let (_, outcome) = run.first_to_finish(&[first]).await?;
            if !matches!(outcome, Outcome::Deadlock(_)) {
                return Err(run.disagree(format!(
                    "the first waiter should have failed with a deadlock; it gave {outcome}"
                )));
            }
            first
        }
        Outcome::Blocked => loop {
            // The engine's detector has not run yet: wait for its verdict.
            let (who, outcome) = run.first_to_finish(&[first, closer]).await?;
            match outcome {
                Outcome::Deadlock(_) => break who,
                Outcome::Affected(1) => survivor_finished = true,
                other => {
                    return Err(run.disagree(format!(
                        "a statement of the cycle ended with {other}, not a deadlock error"
                    )));
                }
            }
        },
        other => {
            return Err(run.disagree(format!(
                "the statement that closes the cycle should wait or fail with a deadlock \
                 error; it gave {other}"
            )));
        }
    };
    let survivor = if victim == first { closer } else { first };
    if !survivor_finished {
        // Wait for the survivor's statement without probing for lock waits:
        // for a moment after the victim fails, the survivor can still show
        // as waiting (PostgreSQL's pg_locks lists it until its backend wakes
        // up and takes the freed lock, which on a loaded machine is
        // visible). Only a statement that never finishes before the
        // victim's ROLLBACK means the locks were kept.
        match run.first_to_finish(&[survivor]).await {
            Ok((_, Outcome::Affected(1))) => {}
            Ok((_, other)) => {
                return Err(run.disagree(format!(
                    "the survivor's statement should go on and change 1 row; it gave {other}"
                )));
            }
            Err(mut disagreement) => {
                disagreement.what.push_str(
                    " (the failed transaction still holds its locks, although it has failed: \
                     the engine frees them at the error, before the ROLLBACK)",
                );
                return Err(disagreement);
            }
        }
    }
    run.expect(victim, Op::Rollback, Expect::Done).await?;
    run.expect(survivor, Op::Commit, Expect::Done).await?;
    Ok(survivor)
}

/// Alice and Bob are on call (1). Each transaction checks that both are,
/// and takes one of them off call. Serializable fails the second one (at
/// its write or at its commit); repeatable read lets both commit, and
/// nobody is on call.
async fn write_skew<E: Engine>(
    run: &mut Run<E>,
    level: Level,
    caught: bool,
) -> Result<(), Disagreement> {
    run.reset(&[("alice", 1), ("bob", 1)]).await?;
    let (a, b) = begin_two(run, level).await?;
    for tx in [a, b] {
        run.expect(tx, Op::Read("alice"), Expect::Row(1, 1)).await?;
        run.expect(tx, Op::Read("bob"), Expect::Row(1, 1)).await?;
    }
    run.expect(a, Op::Write("alice", 0), Expect::Affected(1))
        .await?;
    if !caught {
        run.expect(b, Op::Write("bob", 0), Expect::Affected(1))
            .await?;
        run.expect(a, Op::Commit, Expect::Done).await?;
        run.expect(b, Op::Commit, Expect::Done).await?;
        run.expect_committed("alice", 0, 2).await?;
        return run.expect_committed("bob", 0, 2).await;
    }
    // Where the engine notices is its business; that B fails is the point.
    let write = run.step(b, Op::Write("bob", 0)).await?;
    run.expect(a, Op::Commit, Expect::Done).await?;
    match write {
        Outcome::SerializationFailure(_) => {
            run.expect(b, Op::Rollback, Expect::Done).await?;
        }
        Outcome::Affected(1) => {
            run.expect(b, Op::Commit, Expect::SerializationFailure)
                .await?;
        }
        other => {
            return Err(run.disagree(format!(
                "B's write should succeed or fail with a serialization failure; it gave {other}"
            )));
        }
    }
    run.expect_committed("alice", 0, 2).await?;
    run.expect_committed("bob", 1, 1).await
}

/// Under InnoDB's serializable both plain reads take shared locks: A's write
/// waits for B's, and B's write closes a cycle.
async fn locking_reads<E: Engine>(run: &mut Run<E>, level: Level) -> Result<(), Disagreement> {
    run.reset(&[("teapot", 10)]).await?;
    let (a, b) = begin_two(run, level).await?;
    run.expect(a, Op::Read("teapot"), Expect::Row(10, 1))
        .await?;
    run.expect(b, Op::Read("teapot"), Expect::Row(10, 1))
        .await?;
    run.expect(a, Op::Write("teapot", 10 - 2), Expect::Blocked)
        .await?;
    let closing = run.step(b, Op::Write("teapot", 10 - 3)).await?;
    let survivor = one_fails(run, a, b, closing).await?;
    let left = if survivor == a { 8 } else { 7 };
    run.expect_committed("teapot", left, 2).await
}

/// A reads at `level`, B changes the row and commits, A's write fails with
/// a serialization failure, and A commits anyway. What the COMMIT answers is
/// the engine's business (PostgreSQL answers `ROLLBACK`, which a driver may
/// report as success); that none of A's work is committed is the point.
async fn commit_after_an_error<E: Engine>(
    run: &mut Run<E>,
    level: Level,
) -> Result<(), Disagreement> {
    run.reset(&[("teapot", 10), ("kettle", 10)]).await?;
    let a = run.session("A").await?;
    let b = run.session("B").await?;
    run.expect(a, Op::Begin(level), Expect::Done).await?;
    run.expect(b, Op::Begin(Level::ReadCommitted), Expect::Done)
        .await?;
    run.expect(a, Op::Read("teapot"), Expect::Row(10, 1))
        .await?;
    run.expect(a, Op::Write("kettle", 9), Expect::Affected(1))
        .await?;
    run.expect(b, Op::Write("teapot", 8), Expect::Affected(1))
        .await?;
    run.expect(b, Op::Commit, Expect::Done).await?;
    run.expect(a, Op::Write("teapot", 10 - 3), Expect::SerializationFailure)
        .await?;
    match run.step(a, Op::Commit).await? {
        Outcome::Done | Outcome::Error(_) => {}
        other => {
            return Err(run.disagree(format!("the COMMIT of an aborted transaction gave {other}")));
        }
    }
    run.expect_committed("teapot", 8, 2).await?;
    run.expect_committed("kettle", 10, 1).await
}

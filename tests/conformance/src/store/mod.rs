//! The store checked against PostgreSQL and MariaDB.
//!
//! The book's lost-update chapter (book/src/lost-update/index.md) says what
//! a read-modify-write does under each isolation level of PostgreSQL and of
//! InnoDB, and the workshop's store (`broker::store`) claims to behave the
//! same way. Each [`scenario`](scenarios) here is written once, against the
//! small [`Engine`]/[`Session`] pair, and run twice: on our store
//! ([`ours`]) and on the real engine ([`postgres`], [`mariadb`]). Each run
//! asserts what the book states, step by step; a disagreement prints the
//! scenario, the book page it checks, and both traces.
//!
//! Two transactions interleave under the scenario's control, each on its own
//! connection (its own task). Nothing waits a fixed time to decide an order:
//! a statement is either finished, or *blocked*, which the runner asks the
//! engine itself (PostgreSQL's `pg_locks`, InnoDB's `INNODB_TRX`, and for our
//! store a paused clock that only moves once every task is stuck). Timeouts
//! only bound a run that went wrong.

pub mod mariadb;
pub mod ours;
pub mod postgres;
pub mod run;
pub mod scenarios;
mod shared;

use std::fmt;

pub use run::{Disagreement, Run, Trace};
pub use scenarios::{Claim, Scenario};

/// What a database error, an unreachable engine or a broken session is
/// reported as when it is not a step's outcome but a failure of the run.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The engine could not be started.
    #[error(transparent)]
    Server(#[from] crate::server::ServerError),
    /// Our store refused the harness's own setup, or held a row the
    /// scenarios cannot read.
    #[error("our store: {0}")]
    Store(String),
    /// A statement of the harness itself (setup, a probe) failed.
    #[error("{what}: {source}")]
    Sql {
        /// What the harness was doing.
        what: String,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
}

impl EngineError {
    pub(crate) fn sql(what: impl Into<String>) -> impl FnOnce(sqlx::Error) -> EngineError {
        let what = what.into();
        move |source| EngineError::Sql { what, source }
    }
}

/// The isolation level a scenario asks for, by its SQL name. Each engine
/// maps it to its own: our store as InnoDB maps repeatable read to
/// `IsolationLevel::InnoDbRepeatableRead`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// `READ COMMITTED`.
    ReadCommitted,
    /// `REPEATABLE READ`.
    RepeatableRead,
    /// `SERIALIZABLE`.
    Serializable,
}

impl Level {
    /// The level's SQL name.
    pub fn sql(self) -> &'static str {
        match self {
            Level::ReadCommitted => "READ COMMITTED",
            Level::RepeatableRead => "REPEATABLE READ",
            Level::Serializable => "SERIALIZABLE",
        }
    }
}

/// A row of the one table every scenario uses:
/// `stock (sku PRIMARY KEY, available BIGINT, version BIGINT)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Row {
    /// The stock left.
    pub available: i64,
    /// 1 when inserted, one more on every write (the optimistic version).
    pub version: i64,
}

/// One statement of a transaction. Every write also bumps `version`, so a
/// version-checked update can see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// `BEGIN` at an isolation level.
    Begin(Level),
    /// `SELECT available, version FROM stock WHERE sku = $1`.
    Read(&'static str),
    /// The same, `FOR UPDATE`.
    ReadForUpdate(&'static str),
    /// `UPDATE stock SET available = $2 … WHERE sku = $1`, the write half of
    /// a read-modify-write: the value was computed in the application.
    Write(&'static str, i64),
    /// `UPDATE stock SET available = $3 … WHERE sku = $1 AND version = $2`:
    /// optimistic concurrency, judged by the rows affected.
    WriteIfVersion(&'static str, i64, i64),
    /// `UPDATE stock SET available = available - $2 … WHERE sku = $1 AND
    /// available >= $2`: the atomic update, judged by the rows affected.
    Take(&'static str, i64),
    /// `COMMIT`.
    Commit,
    /// `ROLLBACK`.
    Rollback,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Begin(level) => write!(f, "BEGIN ISOLATION LEVEL {}", level.sql()),
            Op::Read(sku) => write!(
                f,
                "SELECT available, version FROM stock WHERE sku = '{sku}'"
            ),
            Op::ReadForUpdate(sku) => write!(
                f,
                "SELECT available, version FROM stock WHERE sku = '{sku}' FOR UPDATE"
            ),
            Op::Write(sku, value) => write!(
                f,
                "UPDATE stock SET available = {value}, version = version + 1 WHERE sku = '{sku}'"
            ),
            Op::WriteIfVersion(sku, version, value) => write!(
                f,
                "UPDATE stock SET available = {value}, version = version + 1 \
                 WHERE sku = '{sku}' AND version = {version}"
            ),
            Op::Take(sku, amount) => write!(
                f,
                "UPDATE stock SET available = available - {amount}, version = version + 1 \
                 WHERE sku = '{sku}' AND available >= {amount}"
            ),
            Op::Commit => f.write_str("COMMIT"),
            Op::Rollback => f.write_str("ROLLBACK"),
        }
    }
}

/// What a statement did. The error outcomes keep the engine's own code
/// (`40001`, `40P01`, `1213`, or our store's error) for the trace; scenarios
/// compare only the kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// `BEGIN`, `COMMIT` or `ROLLBACK` succeeded.
    Done,
    /// A read: the row, or none.
    Row(Option<Row>),
    /// An update: how many rows it changed.
    Affected(u64),
    /// The statement waits for a lock another transaction holds. It is not
    /// over: the scenario resumes it later.
    Blocked,
    /// A serialization failure (PostgreSQL's `40001`, our
    /// `StoreError::SerializationFailure`): retry the transaction.
    SerializationFailure(String),
    /// A deadlock was detected and this transaction was chosen to fail
    /// (PostgreSQL's `40P01`, InnoDB's `1213`, our `StoreError::Deadlock`).
    Deadlock(String),
    /// Anything else, with the engine's message.
    Error(String),
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Done => f.write_str("ok"),
            Outcome::Row(None) => f.write_str("no row"),
            Outcome::Row(Some(row)) => {
                write!(f, "available {}, version {}", row.available, row.version)
            }
            Outcome::Affected(rows) => write!(f, "{rows} row(s) affected"),
            Outcome::Blocked => f.write_str("BLOCKED (waits for a lock)"),
            Outcome::SerializationFailure(code) => write!(f, "serialization failure ({code})"),
            Outcome::Deadlock(code) => write!(f, "deadlock detected ({code})"),
            Outcome::Error(message) => write!(f, "error: {message}"),
        }
    }
}

/// One connection, running one statement at a time. It runs in its own
/// task, so a statement that waits for a lock leaves the scenario free to
/// move the other transaction on.
#[allow(async_fn_in_trait)] // run on one thread (a LocalSet): no Send bound needed
pub trait Session {
    /// Runs `op`, however long its locks make it wait. Database errors are
    /// outcomes, not `Err`: they are what the scenarios check.
    async fn run(&mut self, op: &Op) -> Outcome;
}

/// A database the scenarios can run on: our store, or a real engine's
/// database made for one scenario.
#[allow(async_fn_in_trait)] // as for Session
pub trait Engine {
    /// A connection of this engine.
    type Session: Session + 'static;

    /// The engine and its version, for traces and the README's table.
    fn describe(&self) -> String;

    /// Whether this engine (or our model of it) has `level`. Our store as
    /// InnoDB has no serializable level, so scenarios that need it run on
    /// the real engine alone.
    fn supports(&self, level: Level) -> bool;

    /// Starts from a table `stock` holding these rows, each at version 1.
    async fn reset(&mut self, rows: &[(&'static str, i64)]) -> Result<(), EngineError>;

    /// Opens a connection, and returns what identifies it to
    /// [`Engine::waits_for_lock`].
    async fn open(&self) -> Result<(Self::Session, u64), EngineError>;

    /// Whether the connection `id` is waiting for a lock right now. Called
    /// only while that connection runs a statement that has not finished.
    async fn waits_for_lock(&self, id: u64) -> Result<bool, EngineError>;

    /// The committed row, read outside any scenario transaction.
    async fn committed(&self, sku: &'static str) -> Result<Option<Row>, EngineError>;
}

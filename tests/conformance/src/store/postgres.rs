//! PostgreSQL (Debian's `postgresql`): one server per test binary, one
//! database per scenario run.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgSslMode};
use sqlx::{ConnectOptions, PgConnection};
use tokio::sync::Mutex;

use super::{Engine, EngineError, Level, Op, Outcome, Row, Session};
use crate::server::{self, Server, ServerError};

/// How long PostgreSQL waits on a lock before it looks for a deadlock. Its
/// default is 1 s; a deadlock scenario waits this long for the verdict.
const DEADLOCK_TIMEOUT: &str = "100ms";

/// The binary's PostgreSQL server.
#[derive(Debug)]
pub struct Postgres {
    port: u16,
}

static SERVER: OnceLock<Result<Option<Postgres>, String>> = OnceLock::new();

impl Postgres {
    /// The server every test of this binary shares, started on first use.
    /// `None` when PostgreSQL is not installed and this is not CI (a loud
    /// skip, see [`server::require`]).
    ///
    /// # Panics
    ///
    /// When the server cannot start (its log is in the message), or in CI
    /// when PostgreSQL is not installed.
    pub fn shared() -> Option<&'static Postgres> {
        let started = SERVER.get_or_init(|| {
            let Some(postgres) = server::require("postgres", "postgresql", &bin_dirs()) else {
                return Ok(None);
            };
            super::shared::start_shared("postgres", move || start(postgres))
                .map(|port| Some(Postgres { port }))
                .map_err(|error| error.to_string())
        });
        match started {
            Ok(server) => server.as_ref(),
            Err(error) => panic!("conformance: PostgreSQL did not start: {error}"),
        }
    }

    /// A fresh database named after `label`, for one scenario run.
    pub async fn engine(&self, label: &str) -> Result<PostgresEngine, EngineError> {
        static RUNS: AtomicU32 = AtomicU32::new(0);
        let run = RUNS.fetch_add(1, Ordering::Relaxed);
        let database = format!("{}_{run}", sanitise(label));
        let mut admin = connect(self.port, "postgres").await?;
        sqlx::raw_sql(&format!("CREATE DATABASE {database}"))
            .execute(&mut admin)
            .await
            .map_err(EngineError::sql(format!("CREATE DATABASE {database}")))?;
        let mut monitor = connect(self.port, &database).await?;
        let version: String = sqlx::query_scalar("SHOW server_version")
            .fetch_one(&mut monitor)
            .await
            .map_err(EngineError::sql("reading the server's version"))?;
        Ok(PostgresEngine {
            port: self.port,
            database,
            version: format!("PostgreSQL {version}"),
            monitor: Mutex::new(monitor),
        })
    }
}

/// Where Debian puts the server binaries: `/usr/lib/postgresql/<major>/bin`,
/// newest major first.
fn bin_dirs() -> Vec<PathBuf> {
    let mut majors: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let major = entry.file_name().to_str()?.parse().ok()?;
            Some((major, entry.path().join("bin")))
        })
        .collect();
    majors.sort_by_key(|(major, _)| std::cmp::Reverse(*major));
    majors.into_iter().map(|(_, dir)| dir).collect()
}

/// `initdb`, then the server on a free loopback port, as the `postgres` user
/// when we are root. Durability is off (fsync, full pages): the data dies
/// with the test, and the scenarios test isolation, not crashes.
fn start(postgres: PathBuf) -> Result<Server, ServerError> {
    let dir = Server::data_dir("postgres")?;
    let data = dir.path().join("data");
    // `postgres` may be a link on the path (to /usr/lib/postgresql/..): its
    // initdb is the one beside the real binary.
    let postgres = std::fs::canonicalize(&postgres).unwrap_or(postgres);
    let initdb = postgres.with_file_name("initdb");
    let mut init = Command::new(&initdb);
    init.arg("-D")
        .arg(&data)
        .args(["-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"])
        .arg("--locale=C");
    server::run_as_when_root(&mut init, "postgres", &[dir.path()])?;
    server::die_with_parent(&mut init);
    let output = init.output().map_err(|source| ServerError::Io {
        what: format!("running {}", initdb.display()),
        source,
    })?;
    if !output.status.success() {
        return Err(ServerError::Exited {
            name: "initdb".to_owned(),
            status: output.status,
            log: format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        });
    }
    let port = server::free_port()?;
    let mut command = Command::new(&postgres);
    command
        .arg("-D")
        .arg(&data)
        .args(["-p", &port.to_string()])
        .args(["-c", "listen_addresses=127.0.0.1"])
        // No Unix socket: /var/run/postgresql may not exist, or belong to a
        // system server.
        .args(["-c", "unix_socket_directories="])
        .args(["-c", "fsync=off", "-c", "full_page_writes=off"])
        .args(["-c", "synchronous_commit=off"])
        .args(["-c", &format!("deadlock_timeout={DEADLOCK_TIMEOUT}")])
        .args(["-c", "max_connections=60", "-c", "shared_buffers=16MB"]);
    server::run_as_when_root(&mut command, "postgres", &[])?;
    server::die_with_parent(&mut command);
    Server::start("postgres", command, port, dir, Duration::from_secs(60))
}

fn sanitise(label: &str) -> String {
    label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(40)
        .collect()
}

/// Connects, waiting while the server says it is still starting up (it
/// accepts TCP connections a little before it accepts sessions).
async fn connect(port: u16, database: &str) -> Result<PgConnection, EngineError> {
    let options = PgConnectOptions::new_without_pgpass()
        .host("127.0.0.1")
        .port(port)
        .username("postgres")
        .database(database)
        .ssl_mode(PgSslMode::Disable);
    let mut attempts = 0;
    loop {
        match options.connect().await {
            Ok(connection) => return Ok(connection),
            Err(sqlx::Error::Database(error))
                if error.code().as_deref() == Some("57P03") && attempts < 600 =>
            {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(error) => {
                return Err(EngineError::Sql {
                    what: format!("connecting to PostgreSQL on port {port}, database {database}"),
                    source: error,
                });
            }
        }
    }
}

/// One scenario's database.
#[derive(Debug)]
pub struct PostgresEngine {
    port: u16,
    database: String,
    version: String,
    /// A connection of its own for the harness: setup, lock probes, the
    /// committed rows.
    monitor: Mutex<PgConnection>,
}

impl Engine for PostgresEngine {
    type Session = PostgresSession;

    fn describe(&self) -> String {
        self.version.clone()
    }

    fn supports(&self, _level: Level) -> bool {
        true
    }

    async fn reset(&mut self, rows: &[(&'static str, i64)]) -> Result<(), EngineError> {
        let monitor = self.monitor.get_mut();
        sqlx::raw_sql(
            "DROP TABLE IF EXISTS stock; \
             CREATE TABLE stock (sku text PRIMARY KEY, available bigint NOT NULL, \
             version bigint NOT NULL)",
        )
        .execute(&mut *monitor)
        .await
        .map_err(EngineError::sql("creating the table"))?;
        for (sku, available) in rows {
            sqlx::query("INSERT INTO stock (sku, available, version) VALUES ($1, $2, 1)")
                .bind(sku)
                .bind(available)
                .execute(&mut *monitor)
                .await
                .map_err(EngineError::sql("inserting the rows"))?;
        }
        Ok(())
    }

    async fn open(&self) -> Result<(PostgresSession, u64), EngineError> {
        let mut connection = connect(self.port, &self.database).await?;
        let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&mut connection)
            .await
            .map_err(EngineError::sql("reading the backend's pid"))?;
        Ok((
            PostgresSession { connection },
            u64::from(pid.unsigned_abs()),
        ))
    }

    /// A backend that waits for a lock has an ungranted entry in `pg_locks`
    /// (for a row, the other transaction's id): the server's own view, live.
    async fn waits_for_lock(&self, id: u64) -> Result<bool, EngineError> {
        let pid = i32::try_from(id).unwrap_or(i32::MAX);
        let mut monitor = self.monitor.lock().await;
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = $1 AND NOT granted)")
            .bind(pid)
            .fetch_one(&mut *monitor)
            .await
            .map_err(EngineError::sql("reading pg_locks"))
    }

    async fn committed(&self, sku: &'static str) -> Result<Option<Row>, EngineError> {
        let mut monitor = self.monitor.lock().await;
        let found: Option<(i64, i64)> =
            sqlx::query_as("SELECT available, version FROM stock WHERE sku = $1")
                .bind(sku)
                .fetch_optional(&mut *monitor)
                .await
                .map_err(EngineError::sql("reading the committed row"))?;
        Ok(found.map(|(available, version)| Row { available, version }))
    }
}

/// One connection to a scenario's database.
#[derive(Debug)]
pub struct PostgresSession {
    connection: PgConnection,
}

impl Session for PostgresSession {
    async fn run(&mut self, op: &Op) -> Outcome {
        let connection = &mut self.connection;
        let result = match op {
            Op::Begin(level) => {
                let begin = format!("BEGIN ISOLATION LEVEL {}", level.sql());
                sqlx::raw_sql(&begin)
                    .execute(connection)
                    .await
                    .map(|_| Outcome::Done)
            }
            Op::Read(sku) => sqlx::query_as("SELECT available, version FROM stock WHERE sku = $1")
                .bind(sku)
                .fetch_optional(connection)
                .await
                .map(found),
            Op::ReadForUpdate(sku) => {
                sqlx::query_as("SELECT available, version FROM stock WHERE sku = $1 FOR UPDATE")
                    .bind(sku)
                    .fetch_optional(connection)
                    .await
                    .map(found)
            }
            Op::Write(sku, value) => {
                sqlx::query("UPDATE stock SET available = $2, version = version + 1 WHERE sku = $1")
                    .bind(sku)
                    .bind(value)
                    .execute(connection)
                    .await
                    .map(|done| Outcome::Affected(done.rows_affected()))
            }
            Op::WriteIfVersion(sku, version, value) => sqlx::query(
                "UPDATE stock SET available = $3, version = version + 1 \
                 WHERE sku = $1 AND version = $2",
            )
            .bind(sku)
            .bind(version)
            .bind(value)
            .execute(connection)
            .await
            .map(|done| Outcome::Affected(done.rows_affected())),
            Op::Take(sku, amount) => sqlx::query(
                "UPDATE stock SET available = available - $2, version = version + 1 \
                 WHERE sku = $1 AND available >= $2",
            )
            .bind(sku)
            .bind(amount)
            .execute(connection)
            .await
            .map(|done| Outcome::Affected(done.rows_affected())),
            Op::Commit => sqlx::raw_sql("COMMIT")
                .execute(connection)
                .await
                .map(|_| Outcome::Done),
            Op::Rollback => sqlx::raw_sql("ROLLBACK")
                .execute(connection)
                .await
                .map(|_| Outcome::Done),
        };
        result.unwrap_or_else(|error| failure(&error))
    }
}

fn found(row: Option<(i64, i64)>) -> Outcome {
    Outcome::Row(row.map(|(available, version)| Row { available, version }))
}

/// PostgreSQL's SQLSTATEs: `40001` serialization_failure, `40P01`
/// deadlock_detected.
fn failure(error: &sqlx::Error) -> Outcome {
    let Some(database) = error.as_database_error() else {
        return Outcome::Error(error.to_string());
    };
    match database.code().as_deref() {
        Some("40001") => Outcome::SerializationFailure(format!("40001: {}", database.message())),
        Some("40P01") => Outcome::Deadlock(format!("40P01: {}", database.message())),
        Some(code) => Outcome::Error(format!("{code}: {}", database.message())),
        None => Outcome::Error(database.message().to_owned()),
    }
}

//! MariaDB (Debian's `mariadb-server`, InnoDB): one server per test binary,
//! one database per scenario run.

use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use sqlx::mysql::{MySqlConnectOptions, MySqlDatabaseError, MySqlSslMode};
use sqlx::{ConnectOptions, MySqlConnection};
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::{Engine, EngineError, Level, Op, Outcome, Row, Session};
use crate::server::{self, Server, ServerError};

/// InnoDB refreshes what `information_schema.INNODB_TRX` shows only when
/// nobody read it for 100 ms; a probe sooner than that after the last one
/// would see the old copy. The probes keep this far apart.
const PROBE_SPACING: Duration = Duration::from_millis(150);

/// The binary's MariaDB server.
#[derive(Debug)]
pub struct MariaDb {
    port: u16,
}

static SERVER: OnceLock<Result<Option<MariaDb>, String>> = OnceLock::new();

impl MariaDb {
    /// The server every test of this binary shares, started on first use.
    /// `None` when MariaDB is not installed and this is not CI.
    ///
    /// # Panics
    ///
    /// When the server cannot start (its log is in the message), or in CI
    /// when MariaDB is not installed.
    pub fn shared() -> Option<&'static MariaDb> {
        let started = SERVER.get_or_init(|| {
            let Some(mariadbd) = server::require("mariadbd", "mariadb-server", &[]) else {
                return Ok(None);
            };
            super::shared::start_shared("mariadb", move || start(&mariadbd))
                .map(|port| Some(MariaDb { port }))
                .map_err(|error| error.to_string())
        });
        match started {
            Ok(server) => server.as_ref(),
            Err(error) => panic!("conformance: MariaDB did not start: {error}"),
        }
    }

    /// A fresh database named after `label`, for one scenario run, with the
    /// server's defaults.
    pub async fn engine(&self, label: &str) -> Result<MariaDbEngine, EngineError> {
        self.engine_with(label, SnapshotIsolation::Default).await
    }

    /// The same, with `innodb_snapshot_isolation` set for the scenario's
    /// sessions as `setting` says.
    pub async fn engine_with(
        &self,
        label: &str,
        setting: SnapshotIsolation,
    ) -> Result<MariaDbEngine, EngineError> {
        static RUNS: AtomicU32 = AtomicU32::new(0);
        let run = RUNS.fetch_add(1, Ordering::Relaxed);
        let database = format!("{}_{run}", sanitise(label));
        let mut admin = connect(self.port, None).await?;
        sqlx::raw_sql(&format!("CREATE DATABASE {database}"))
            .execute(&mut admin)
            .await
            .map_err(EngineError::sql(format!("CREATE DATABASE {database}")))?;
        let mut monitor = connect(self.port, Some(&database)).await?;
        let version: String = sqlx::query_scalar("SELECT VERSION()")
            .fetch_one(&mut monitor)
            .await
            .map_err(EngineError::sql("reading the server's version"))?;
        // From MariaDB 11.6.2 this is on by default, and a repeatable-read
        // write to a row changed since the snapshot fails (error 1020); say
        // which way the server ran.
        let default: Option<i64> = sqlx::query_scalar("SELECT @@innodb_snapshot_isolation")
            .fetch_one(&mut monitor)
            .await
            .ok();
        let snapshot_isolation = match (setting, default) {
            (SnapshotIsolation::On, _) => "innodb_snapshot_isolation=ON for the sessions",
            (SnapshotIsolation::Default, Some(0)) => "innodb_snapshot_isolation=OFF",
            (SnapshotIsolation::Default, Some(_)) => "innodb_snapshot_isolation=ON",
            (SnapshotIsolation::Default, None) => "no innodb_snapshot_isolation",
        };
        Ok(MariaDbEngine {
            port: self.port,
            database,
            session_setup: match setting {
                SnapshotIsolation::Default => None,
                SnapshotIsolation::On => Some("SET SESSION innodb_snapshot_isolation = ON"),
            },
            version: format!("MariaDB {version} ({snapshot_isolation})"),
            monitor: Mutex::new(Monitor {
                connection: monitor,
                last_probe: None,
            }),
        })
    }
}

/// Whether InnoDB checks a repeatable-read write against the snapshot
/// (`innodb_snapshot_isolation`, MariaDB 10.6.18 and 10.11.8 on; on by
/// default from 11.6.2, off before).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SnapshotIsolation {
    /// The server's default (off in the 10.11 Debian ships).
    Default,
    /// On for every session of the scenario, as in MariaDB 11.6.2 and later.
    On,
}

/// The server on a free loopback port, as the `mysql` user when we are root.
///
/// It starts on an empty data folder with `--skip-grant-tables`, without
/// `mariadb-install-db` (6 s on a loaded machine, for privilege tables the
/// scenarios never use); InnoDB, whose transactions are what is checked,
/// creates its own files at start. Durability is relaxed: the data dies with
/// the test.
fn start(mariadbd: &std::path::Path) -> Result<Server, ServerError> {
    let dir = Server::data_dir("mariadb")?;
    let data = dir.path().join("data");
    std::fs::create_dir(&data).map_err(|source| ServerError::Io {
        what: format!("creating {}", data.display()),
        source,
    })?;
    let port = server::free_port()?;
    let mut command = Command::new(mariadbd);
    command
        .arg("--no-defaults")
        .arg(format!("--datadir={}", data.display()))
        .arg(format!("--port={port}"))
        .arg("--bind-address=127.0.0.1")
        .arg(format!(
            "--socket={}",
            dir.path().join("mariadb.sock").display()
        ))
        .arg(format!(
            "--pid-file={}",
            dir.path().join("mariadb.pid").display()
        ))
        .arg("--skip-grant-tables")
        // No reverse DNS lookup of each client: without a resolver that
        // answers, a connection can hang for seconds.
        .arg("--skip-name-resolve")
        .arg("--skip-log-bin")
        .arg("--innodb-buffer-pool-size=32M")
        .arg("--innodb-log-file-size=16M")
        .arg("--innodb-flush-log-at-trx-commit=0")
        // Far above any scenario's wait: a statement that waits is seen
        // waiting, never timed out.
        .arg("--innodb-lock-wait-timeout=120");
    server::run_as_when_root(&mut command, "mysql", &[dir.path(), &data])?;
    server::die_with_parent(&mut command);
    Server::start("mariadb", command, port, dir, Duration::from_secs(60))
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

async fn connect(port: u16, database: Option<&str>) -> Result<MySqlConnection, EngineError> {
    let mut options = MySqlConnectOptions::new()
        .host("127.0.0.1")
        .port(port)
        .username("root")
        .ssl_mode(MySqlSslMode::Disabled);
    if let Some(database) = database {
        options = options.database(database);
    }
    options.connect().await.map_err(|source| EngineError::Sql {
        what: format!("connecting to MariaDB on port {port}"),
        source,
    })
}

/// The harness's own connection, and when it last probed for lock waits.
#[derive(Debug)]
struct Monitor {
    connection: MySqlConnection,
    last_probe: Option<Instant>,
}

/// One scenario's database.
#[derive(Debug)]
pub struct MariaDbEngine {
    port: u16,
    database: String,
    /// Run by every session when it opens.
    session_setup: Option<&'static str>,
    version: String,
    monitor: Mutex<Monitor>,
}

impl Engine for MariaDbEngine {
    type Session = MariaDbSession;

    fn describe(&self) -> String {
        self.version.clone()
    }

    fn supports(&self, _level: Level) -> bool {
        true
    }

    async fn reset(&mut self, rows: &[(&'static str, i64)]) -> Result<(), EngineError> {
        let monitor = &mut self.monitor.get_mut().connection;
        sqlx::raw_sql("DROP TABLE IF EXISTS stock")
            .execute(&mut *monitor)
            .await
            .map_err(EngineError::sql("dropping the table"))?;
        sqlx::raw_sql(
            "CREATE TABLE stock (sku varchar(64) PRIMARY KEY, available bigint NOT NULL, \
             version bigint NOT NULL) ENGINE=InnoDB",
        )
        .execute(&mut *monitor)
        .await
        .map_err(EngineError::sql("creating the table"))?;
        for (sku, available) in rows {
            sqlx::query("INSERT INTO stock (sku, available, version) VALUES (?, ?, 1)")
                .bind(sku)
                .bind(available)
                .execute(&mut *monitor)
                .await
                .map_err(EngineError::sql("inserting the rows"))?;
        }
        Ok(())
    }

    async fn open(&self) -> Result<(MariaDbSession, u64), EngineError> {
        let mut connection = connect(self.port, Some(&self.database)).await?;
        if let Some(setup) = self.session_setup {
            sqlx::raw_sql(setup)
                .execute(&mut connection)
                .await
                .map_err(EngineError::sql(setup))?;
        }
        let id: u64 = sqlx::query_scalar("SELECT CONNECTION_ID()")
            .fetch_one(&mut connection)
            .await
            .map_err(EngineError::sql("reading the connection id"))?;
        Ok((MariaDbSession { connection }, id))
    }

    /// InnoDB marks a transaction that waits for a lock `LOCK WAIT` in
    /// `INNODB_TRX`, found by the connection's thread id.
    async fn waits_for_lock(&self, id: u64) -> Result<bool, EngineError> {
        let mut monitor = self.monitor.lock().await;
        if let Some(last) = monitor.last_probe {
            tokio::time::sleep_until(last + PROBE_SPACING).await;
        }
        let waiting: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM information_schema.INNODB_TRX \
             WHERE trx_mysql_thread_id = ? AND trx_state = 'LOCK WAIT'",
        )
        .bind(id)
        .fetch_one(&mut monitor.connection)
        .await
        .map_err(EngineError::sql("reading INNODB_TRX"))?;
        monitor.last_probe = Some(Instant::now());
        Ok(waiting > 0)
    }

    async fn committed(&self, sku: &'static str) -> Result<Option<Row>, EngineError> {
        let mut monitor = self.monitor.lock().await;
        let found: Option<(i64, i64)> =
            sqlx::query_as("SELECT available, version FROM stock WHERE sku = ?")
                .bind(sku)
                .fetch_optional(&mut monitor.connection)
                .await
                .map_err(EngineError::sql("reading the committed row"))?;
        Ok(found.map(|(available, version)| Row { available, version }))
    }
}

/// One connection to a scenario's database.
#[derive(Debug)]
pub struct MariaDbSession {
    connection: MySqlConnection,
}

impl Session for MariaDbSession {
    async fn run(&mut self, op: &Op) -> Outcome {
        let connection = &mut self.connection;
        let result = match op {
            Op::Begin(level) => {
                // SET TRANSACTION (no SESSION) applies to the next
                // transaction only.
                let set = format!("SET TRANSACTION ISOLATION LEVEL {}", level.sql());
                match sqlx::raw_sql(&set).execute(&mut *connection).await {
                    Ok(_) => sqlx::raw_sql("START TRANSACTION")
                        .execute(connection)
                        .await
                        .map(|_| Outcome::Done),
                    Err(error) => Err(error),
                }
            }
            Op::Read(sku) => sqlx::query_as("SELECT available, version FROM stock WHERE sku = ?")
                .bind(sku)
                .fetch_optional(connection)
                .await
                .map(found),
            Op::ReadForUpdate(sku) => {
                sqlx::query_as("SELECT available, version FROM stock WHERE sku = ? FOR UPDATE")
                    .bind(sku)
                    .fetch_optional(connection)
                    .await
                    .map(found)
            }
            Op::Write(sku, value) => {
                sqlx::query("UPDATE stock SET available = ?, version = version + 1 WHERE sku = ?")
                    .bind(value)
                    .bind(sku)
                    .execute(connection)
                    .await
                    .map(|done| Outcome::Affected(done.rows_affected()))
            }
            Op::WriteIfVersion(sku, version, value) => sqlx::query(
                "UPDATE stock SET available = ?, version = version + 1 \
                 WHERE sku = ? AND version = ?",
            )
            .bind(value)
            .bind(sku)
            .bind(version)
            .execute(connection)
            .await
            .map(|done| Outcome::Affected(done.rows_affected())),
            Op::Take(sku, amount) => sqlx::query(
                "UPDATE stock SET available = available - ?, version = version + 1 \
                 WHERE sku = ? AND available >= ?",
            )
            .bind(amount)
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

/// MariaDB's error numbers: 1213 ER_LOCK_DEADLOCK (SQLSTATE 40001, but a
/// deadlock: the whole transaction is rolled back), 1020 ER_CHECKREAD (a
/// repeatable-read write to a row changed since the snapshot, with
/// `innodb_snapshot_isolation` on).
fn failure(error: &sqlx::Error) -> Outcome {
    let Some(database) = error.as_database_error() else {
        return Outcome::Error(error.to_string());
    };
    let Some(mysql) = database.try_downcast_ref::<MySqlDatabaseError>() else {
        return Outcome::Error(database.message().to_owned());
    };
    match mysql.number() {
        1213 => Outcome::Deadlock(format!("1213: {}", mysql.message())),
        1020 => Outcome::SerializationFailure(format!("1020: {}", mysql.message())),
        number => Outcome::Error(format!("{number}: {}", mysql.message())),
    }
}

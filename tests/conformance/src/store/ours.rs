//! Our store (`broker::store`) behind the scenarios' [`Engine`] trait: the
//! model the exercises run on, the same way the real engines are driven.

use broker::store::{IsolationLevel, Store, StoreError, Transaction};
use serde_json::json;

use super::{Engine, EngineError, Level, Op, Outcome, Row, Session};

/// Which real engine our store stands in for: the isolation level a
/// scenario names maps to the store's model of that engine's level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// PostgreSQL's levels: read committed, repeatable read, serializable.
    Postgres,
    /// InnoDB's: read committed, and its own repeatable read
    /// (`IsolationLevel::InnoDbRepeatableRead`). The store has no model of
    /// InnoDB's serializable.
    InnoDb,
}

/// The table the store's rows live in; their value is `{"available": n}`.
const TABLE: &str = "stock";

/// Our store, as one engine.
#[derive(Clone, Debug)]
pub struct Ours {
    store: Store,
    profile: Profile,
}

impl Ours {
    /// An empty store, modelling `profile`'s engine.
    pub fn new(profile: Profile) -> Ours {
        Ours {
            store: Store::new(),
            profile,
        }
    }

    fn isolation(&self, level: Level) -> Option<IsolationLevel> {
        match (self.profile, level) {
            (_, Level::ReadCommitted) => Some(IsolationLevel::ReadCommitted),
            (Profile::Postgres, Level::RepeatableRead) => Some(IsolationLevel::RepeatableRead),
            (Profile::Postgres, Level::Serializable) => Some(IsolationLevel::Serializable),
            (Profile::InnoDb, Level::RepeatableRead) => Some(IsolationLevel::InnoDbRepeatableRead),
            (Profile::InnoDb, Level::Serializable) => None,
        }
    }
}

impl Engine for Ours {
    type Session = OursSession;

    fn describe(&self) -> String {
        match self.profile {
            Profile::Postgres => "our store (broker::store), as PostgreSQL".to_owned(),
            Profile::InnoDb => "our store (broker::store), as InnoDB".to_owned(),
        }
    }

    fn supports(&self, level: Level) -> bool {
        self.isolation(level).is_some()
    }

    async fn reset(&mut self, rows: &[(&'static str, i64)]) -> Result<(), EngineError> {
        self.store = Store::new();
        let mut setup = self.store.begin(IsolationLevel::ReadCommitted).await;
        for (sku, available) in rows {
            setup
                .insert(TABLE, sku, json!({ "available": available }))
                .await
                .map_err(store_error("inserting the rows"))?;
        }
        setup
            .commit()
            .await
            .map_err(store_error("committing the rows"))
    }

    /// Every session is 0: [`Engine::waits_for_lock`] needs no id here.
    async fn open(&self) -> Result<(OursSession, u64), EngineError> {
        let session = OursSession {
            engine: self.clone(),
            tx: None,
        };
        Ok((session, 0))
    }

    /// Always true, because of when it is asked: the runner asks after a
    /// sleep, and our store's runs use a paused clock, which moves only when
    /// every task waits. A statement still unfinished then is stuck on a row
    /// lock (the store has no other wait).
    async fn waits_for_lock(&self, _id: u64) -> Result<bool, EngineError> {
        Ok(true)
    }

    async fn committed(&self, sku: &'static str) -> Result<Option<Row>, EngineError> {
        self.store.committed(TABLE).get(sku).map(row).transpose()
    }
}

/// A connection to our store: at most one open transaction.
#[derive(Debug)]
pub struct OursSession {
    engine: Ours,
    tx: Option<Transaction>,
}

impl Session for OursSession {
    async fn run(&mut self, op: &Op) -> Outcome {
        if let Op::Begin(level) = op {
            let Some(isolation) = self.engine.isolation(*level) else {
                return Outcome::Error(format!("our store has no model of {}", level.sql()));
            };
            self.tx = Some(self.engine.store.begin(isolation).await);
            return Outcome::Done;
        }
        let Some(tx) = self.tx.as_mut() else {
            return Outcome::Error(format!("`{op}` outside a transaction"));
        };
        match op {
            Op::Begin(_) => Outcome::Error("BEGIN inside a transaction".into()),
            Op::Read(sku) => read(tx.get(TABLE, sku).await),
            Op::ReadForUpdate(sku) => read(tx.get_for_update(TABLE, sku).await),
            Op::Write(sku, value) => {
                let written = tx
                    .update_with(TABLE, sku, |_| Some(json!({ "available": value })))
                    .await;
                affected(written.map(|row| row.is_some()))
            }
            Op::WriteIfVersion(sku, version, value) => {
                let Ok(expected) = u64::try_from(*version) else {
                    return Outcome::Error(format!("version {version} is negative"));
                };
                let written = tx
                    .update_if_version(TABLE, sku, expected, json!({ "available": value }))
                    .await;
                match written {
                    Ok(_) => Outcome::Affected(1),
                    // In SQL a version mismatch is an UPDATE matching no row.
                    Err(StoreError::VersionConflict { .. }) => Outcome::Affected(0),
                    Err(error) => failure(&error),
                }
            }
            Op::Take(sku, amount) => {
                let written = tx
                    .update_with(TABLE, sku, |value| {
                        let available = value["available"].as_i64()?;
                        (available >= *amount).then(|| json!({ "available": available - amount }))
                    })
                    .await;
                affected(written.map(|row| row.is_some()))
            }
            Op::Commit => match self.tx.take() {
                Some(tx) => match tx.commit().await {
                    Ok(()) => Outcome::Done,
                    Err(error) => failure(&error),
                },
                None => Outcome::Error("COMMIT outside a transaction".into()),
            },
            Op::Rollback => {
                if let Some(tx) = self.tx.take() {
                    tx.rollback().await;
                }
                Outcome::Done
            }
        }
    }
}

fn read(found: Result<Option<broker::store::Row>, StoreError>) -> Outcome {
    match found {
        Ok(found) => match found.as_ref().map(row).transpose() {
            Ok(found) => Outcome::Row(found),
            Err(error) => Outcome::Error(error.to_string()),
        },
        Err(error) => failure(&error),
    }
}

fn affected(written: Result<bool, StoreError>) -> Outcome {
    match written {
        Ok(written) => Outcome::Affected(u64::from(written)),
        Err(error) => failure(&error),
    }
}

/// The store's errors as the scenarios' outcomes, keeping the store's own
/// name for the trace.
fn failure(error: &StoreError) -> Outcome {
    match error {
        StoreError::SerializationFailure { .. } => {
            Outcome::SerializationFailure(format!("StoreError::SerializationFailure: {error}"))
        }
        StoreError::Deadlock { .. } => Outcome::Deadlock(format!("StoreError::Deadlock: {error}")),
        other => Outcome::Error(other.to_string()),
    }
}

fn row(found: &broker::store::Row) -> Result<Row, EngineError> {
    let available = found.value["available"]
        .as_i64()
        .ok_or_else(|| EngineError::Store(format!("a row without a stock: {}", found.value)))?;
    let version = i64::try_from(found.version)
        .map_err(|_| EngineError::Store(format!("version {} is too large", found.version)))?;
    Ok(Row { available, version })
}

fn store_error(what: &'static str) -> impl FnOnce(StoreError) -> EngineError {
    move |error| EngineError::Store(format!("{what}: {error}"))
}

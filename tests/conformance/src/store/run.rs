//! Running a scenario: two (or more) sessions driven step by step, each step
//! checked against what the book expects, everything written to a trace.

use std::fmt;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::scenarios::Scenario;
use super::{Engine, EngineError, Op, Outcome, Session};

/// How long a statement may neither finish nor wait for a lock before the
/// run is declared broken. It bounds a failure; it decides no order.
const STATEMENT_LIMIT: Duration = Duration::from_secs(30);

/// How often an unfinished statement is checked for a lock wait. (InnoDB
/// refreshes `INNODB_TRX` at most every 100 ms; the MariaDB adapter spaces
/// its own probes further apart.)
const PROBE_EVERY: Duration = Duration::from_millis(10);

/// What a step must give. Error kinds match whatever code the engine
/// reports them with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// `BEGIN`, `COMMIT`, `ROLLBACK` succeeded.
    Done,
    /// A read found the row with this stock and version.
    Row(i64, i64),
    /// An update changed this many rows.
    Affected(u64),
    /// The statement waits for a lock.
    Blocked,
    /// A serialization failure.
    SerializationFailure,
    /// A deadlock, this transaction being the one chosen to fail.
    Deadlock,
}

impl Expect {
    fn matches(self, outcome: &Outcome) -> bool {
        match (self, outcome) {
            (Expect::Done, Outcome::Done)
            | (Expect::Blocked, Outcome::Blocked)
            | (Expect::SerializationFailure, Outcome::SerializationFailure(_))
            | (Expect::Deadlock, Outcome::Deadlock(_)) => true,
            (Expect::Row(available, version), Outcome::Row(Some(row))) => {
                row.available == available && row.version == version
            }
            (Expect::Affected(expected), Outcome::Affected(rows)) => expected == *rows,
            _ => false,
        }
    }
}

impl fmt::Display for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expect::Done => f.write_str("ok"),
            Expect::Row(available, version) => {
                write!(f, "available {available}, version {version}")
            }
            Expect::Affected(rows) => write!(f, "{rows} row(s) affected"),
            Expect::Blocked => f.write_str("BLOCKED (waits for a lock)"),
            Expect::SerializationFailure => f.write_str("a serialization failure"),
            Expect::Deadlock => f.write_str("a deadlock error"),
        }
    }
}

/// What one run did, line by line, headed by the engine and its version.
#[derive(Clone, Debug, Default)]
pub struct Trace {
    /// The engine, as [`Engine::describe`] gives it.
    pub engine: String,
    /// One line per step.
    pub lines: Vec<String>,
}

impl fmt::Display for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (number, line) in self.lines.iter().enumerate() {
            writeln!(f, "  {:>3}. {line}", number + 1)?;
        }
        Ok(())
    }
}

/// A run that did not do what the book says, with its trace so far.
#[derive(Debug)]
pub struct Disagreement {
    /// What was expected and what happened instead.
    pub what: String,
    /// The run up to and including the step that disagreed.
    pub trace: Trace,
}

impl fmt::Display for Disagreement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "on {}: DISAGREES: {}", self.trace.engine, self.what)?;
        write!(f, "{}", self.trace)
    }
}

/// A connection of the run, named in traces ("A", "B").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tx(usize);

type Job = (Op, oneshot::Sender<Outcome>);

struct Slot {
    name: &'static str,
    /// What identifies the connection to [`Engine::waits_for_lock`].
    id: u64,
    jobs: mpsc::UnboundedSender<Job>,
    /// The statement it runs that has not finished, if any.
    pending: Option<(Op, oneshot::Receiver<Outcome>)>,
}

/// One scenario on one engine. Must be used inside a
/// [`tokio::task::LocalSet`]: each session runs in a local task.
pub struct Run<E: Engine> {
    engine: E,
    sessions: Vec<Slot>,
    trace: Trace,
}

impl<E: Engine> Run<E> {
    /// A run on `engine`, already [`reset`](Engine::reset).
    pub fn new(engine: E) -> Run<E> {
        let trace = Trace {
            engine: engine.describe(),
            lines: Vec::new(),
        };
        Run {
            engine,
            sessions: Vec::new(),
            trace,
        }
    }

    /// Starts the run from a table `stock` holding `rows`, each at
    /// version 1.
    pub async fn reset(&mut self, rows: &[(&'static str, i64)]) -> Result<(), Disagreement> {
        let result = self.engine.reset(rows).await;
        result.map_err(|error| self.broken("creating the table".into(), &error))
    }

    /// The trace so far.
    pub fn trace(&self) -> &Trace {
        &self.trace
    }

    /// Opens a connection named `name` in the trace.
    pub async fn session(&mut self, name: &'static str) -> Result<Tx, Disagreement> {
        let (mut session, id) = self
            .engine
            .open()
            .await
            .map_err(|error| self.broken(format!("opening session {name}"), &error))?;
        let (jobs, mut inbox) = mpsc::unbounded_channel::<Job>();
        tokio::task::spawn_local(async move {
            while let Some((op, reply)) = inbox.recv().await {
                let outcome = session.run(&op).await;
                // The run may have ended (a failed scenario): nobody to tell.
                let _ = reply.send(outcome);
            }
        });
        self.sessions.push(Slot {
            name,
            id,
            jobs,
            pending: None,
        });
        Ok(Tx(self.sessions.len() - 1))
    }

    /// Runs `op` on `tx` until it finishes or waits for a lock, and checks
    /// the outcome against `expect`.
    pub async fn expect(
        &mut self,
        tx: Tx,
        op: Op,
        expect: Expect,
    ) -> Result<Outcome, Disagreement> {
        let outcome = self.step(tx, op.clone()).await?;
        self.check(tx, &format!("{op}"), &outcome, expect)?;
        Ok(outcome)
    }

    /// Runs `op` on `tx` until it finishes or waits for a lock; records it
    /// and returns the outcome whatever it is.
    pub async fn step(&mut self, tx: Tx, op: Op) -> Result<Outcome, Disagreement> {
        if let Some((running, _)) = &self.sessions[tx.0].pending {
            let what = format!(
                "the scenario sent `{op}` to {} while its `{running}` had not finished",
                self.sessions[tx.0].name
            );
            return Err(self.disagree(what));
        }
        let (reply, answer) = oneshot::channel();
        if self.sessions[tx.0].jobs.send((op.clone(), reply)).is_err() {
            let what = format!("session {}'s task has ended", self.sessions[tx.0].name);
            return Err(self.disagree(what));
        }
        self.sessions[tx.0].pending = Some((op.clone(), answer));
        let outcome = self.settle(tx).await;
        self.record(tx, &op.to_string(), &outcome);
        Ok(outcome)
    }

    /// Lets `tx`'s unfinished statement go on until it finishes or waits for
    /// a lock again, and checks the outcome.
    pub async fn resume(&mut self, tx: Tx, expect: Expect) -> Result<Outcome, Disagreement> {
        let label = self.resumed_label(tx)?;
        let outcome = self.settle(tx).await;
        self.record(tx, &label, &outcome);
        self.check(tx, &label, &outcome, expect)?;
        Ok(outcome)
    }

    /// Waits, without probing, for the first of `txs`' unfinished statements
    /// to finish (a deadlock detector deciding who fails), and returns who
    /// and how.
    pub async fn first_to_finish(&mut self, txs: &[Tx]) -> Result<(Tx, Outcome), Disagreement> {
        let started = Instant::now();
        loop {
            for &tx in txs {
                let slot = &mut self.sessions[tx.0];
                let Some((op, answer)) = slot.pending.as_mut() else {
                    continue;
                };
                let label = format!("(its `{op}` finishes)");
                match answer.try_recv() {
                    Ok(outcome) => {
                        slot.pending = None;
                        self.record(tx, &label, &outcome);
                        return Ok((tx, outcome));
                    }
                    Err(oneshot::error::TryRecvError::Empty) => {}
                    Err(oneshot::error::TryRecvError::Closed) => {
                        slot.pending = None;
                        let outcome = Outcome::Error("the session's task ended".into());
                        self.record(tx, &label, &outcome);
                        return Ok((tx, outcome));
                    }
                }
            }
            if !txs.iter().any(|tx| self.sessions[tx.0].pending.is_some()) {
                return Err(self.disagree("no statement was left running".into()));
            }
            if started.elapsed() > STATEMENT_LIMIT {
                return Err(self.disagree(format!(
                    "no waiting statement finished within {STATEMENT_LIMIT:?}: \
                     nothing broke the wait"
                )));
            }
            tokio::time::sleep(PROBE_EVERY).await;
        }
    }

    /// Checks the committed row after the transactions ended.
    pub async fn expect_committed(
        &mut self,
        sku: &'static str,
        available: i64,
        version: i64,
    ) -> Result<(), Disagreement> {
        let found = self
            .engine
            .committed(sku)
            .await
            .map_err(|error| self.broken(format!("reading the committed {sku}"), &error))?;
        let outcome = Outcome::Row(found);
        let label = format!("committed: {sku}");
        self.trace.lines.push(format!("   {label} → {outcome}"));
        let expect = Expect::Row(available, version);
        if !expect.matches(&outcome) {
            return Err(self.disagree(format!(
                "the committed {sku} should be {expect}; it is {outcome}"
            )));
        }
        Ok(())
    }

    /// A failure the scenario found by itself.
    pub fn disagree(&self, what: String) -> Disagreement {
        Disagreement {
            what,
            trace: self.trace.clone(),
        }
    }

    fn broken(&self, what: String, error: &EngineError) -> Disagreement {
        self.disagree(format!("{what}: {error}"))
    }

    fn check(
        &self,
        tx: Tx,
        label: &str,
        outcome: &Outcome,
        expect: Expect,
    ) -> Result<(), Disagreement> {
        if expect.matches(outcome) {
            return Ok(());
        }
        Err(self.disagree(format!(
            "{}'s {label} should give {expect}; it gave {outcome}",
            self.sessions[tx.0].name
        )))
    }

    fn resumed_label(&self, tx: Tx) -> Result<String, Disagreement> {
        match &self.sessions[tx.0].pending {
            Some((op, _)) => Ok(format!("(its `{op}` goes on)")),
            None => Err(self.disagree(format!(
                "the scenario resumed {}, which runs no statement",
                self.sessions[tx.0].name
            ))),
        }
    }

    fn record(&mut self, tx: Tx, label: &str, outcome: &Outcome) {
        let name = self.sessions[tx.0].name;
        self.trace
            .lines
            .push(format!("{name}  {label} → {outcome}"));
    }

    /// Waits for `tx`'s statement to finish, or for the engine to say it
    /// waits for a lock (it stays pending then).
    async fn settle(&mut self, tx: Tx) -> Outcome {
        let started = Instant::now();
        loop {
            let slot = &mut self.sessions[tx.0];
            let Some((_, answer)) = slot.pending.as_mut() else {
                return Outcome::Error("no statement to wait for".into());
            };
            tokio::select! {
                biased;
                finished = answer => {
                    slot.pending = None;
                    return finished
                        .unwrap_or_else(|_| Outcome::Error("the session's task ended".into()));
                }
                () = tokio::time::sleep(PROBE_EVERY) => {}
            }
            let id = slot.id;
            match self.engine.waits_for_lock(id).await {
                Ok(true) => return Outcome::Blocked,
                Ok(false) => {}
                Err(error) => return Outcome::Error(format!("asking whether it waits: {error}")),
            }
            if started.elapsed() > STATEMENT_LIMIT {
                return Outcome::Error(format!(
                    "neither finished nor waited for a lock within {STATEMENT_LIMIT:?}"
                ));
            }
        }
    }
}

/// Plays `scenario` on the engine `make` builds, on a runtime of its own:
/// a paused clock for our store (so "blocked" means every task is stuck,
/// with no real time involved), a real one for a real engine. Returns the
/// trace, or where the run disagreed with the book.
pub fn play<E, F>(scenario: Scenario, paused_clock: bool, make: F) -> Result<Trace, Disagreement>
where
    E: Engine,
    F: AsyncFnOnce() -> Result<E, EngineError>,
{
    let mut builder = tokio::runtime::Builder::new_current_thread();
    builder.enable_all();
    if paused_clock {
        builder.start_paused(true);
    }
    let runtime = builder.build().map_err(|error| Disagreement {
        what: format!("building a runtime: {error}"),
        trace: Trace::default(),
    })?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async move {
        let engine = make().await.map_err(|error| Disagreement {
            what: format!("preparing the engine: {error}"),
            trace: Trace {
                engine: "an engine that did not start".to_owned(),
                lines: Vec::new(),
            },
        })?;
        let mut run = Run::new(engine);
        scenario.play(&mut run).await?;
        Ok(run.trace)
    })
}

/// The report of one scenario's runs (our store's and a real engine's, or
/// either alone): `Ok` when every run did what the book says, `Err` (for
/// the test to panic with) when one did not. Either way it names the
/// scenario and the book page, and shows every trace. `note` says why a run
/// is missing (the store has no model of InnoDB's serializable).
pub fn verdict(
    scenario: Scenario,
    runs: Vec<Result<Trace, Disagreement>>,
    note: Option<&str>,
) -> Result<String, String> {
    let claim = scenario.claim();
    let mut report = format!(
        "scenario: {}\nstated in: {}, section \u{201c}{}\u{201d}: {}\n",
        scenario.title(),
        claim.page,
        claim.section,
        claim.says
    );
    if let Some(note) = note {
        report.push_str(&format!("note: {note}\n"));
    }
    let mut agrees = true;
    for run in runs {
        match run {
            Ok(trace) => {
                report.push_str(&format!("on {}: as the book says\n{trace}", trace.engine));
            }
            Err(disagreement) => {
                agrees = false;
                report.push_str(&format!(
                    "on {}: DISAGREES: {}\n{}",
                    disagreement.trace.engine, disagreement.what, disagreement.trace
                ));
            }
        }
    }
    if agrees { Ok(report) } else { Err(report) }
}

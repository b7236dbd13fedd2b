//! The trace: every operation of a run, in order.
//!
//! Each [`TraceEvent`] records the virtual time, who acted (a service, or a
//! broker entity acting on its own, such as a lock expiring), the operation,
//! its target (a queue, a subscription, the store, a downstream system), the
//! message it concerned, the outcome, and the fault injected into it, if any.
//!
//! Graders read traces to decide whether an anomaly happened; learners read
//! them to see why. Two renderings:
//!
//! - [`render_timeline`]: a compact text timeline, one line per event, for
//!   test failures;
//! - [`render_mermaid`]: a mermaid `sequenceDiagram`, for the book, whose
//!   figures are generated from real runs.
//!
//! A failure report uses their folded forms, [`render_folded_timeline`] and
//! [`render_folded_mermaid`], which cut a cycle repeated four times or more
//! down to its first and last occurrence ([`cycles`]).
//!
//! Both show events in time order (then in the order they happened), and
//! depend only on the events, and the events only on the scenario, the seed
//! and the fault plan: the same run renders byte-identically every time.

pub mod cycles;
mod log;
mod mermaid;
mod timeline;

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use log::TraceLog;
use std::time::Duration;

pub use cycles::{FoldedCycle, TimelineEntry, fold_cycles};
pub use mermaid::{render_folded_mermaid, render_mermaid};
pub use timeline::{render_folded_timeline, render_timeline};

/// The note on a receive-and-delete delivery. The renderings look for it: a
/// message deleted as it is handed out is the lesson of chapter 3, and the
/// diagram must show it.
pub(crate) const RECEIVE_AND_DELETE_NOTE: &str =
    "receive-and-delete: settled on delivery (deleted: never delivered again)";

use crate::fault::Fault;

/// What was done.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Operation {
    // --- A service's broker operations ------------------------------------
    /// Send a message to a queue or topic.
    Send,
    /// Schedule a message for later.
    Schedule,
    /// Cancel a scheduled message.
    CancelScheduled,
    /// Receive a message (peek-lock or receive-and-delete).
    Receive,
    /// Receive a deferred message by sequence number.
    ReceiveDeferred,
    /// Poll a Kafka-style auto-committing consumer.
    Poll,
    /// Settle: done.
    Complete,
    /// Settle: give it back.
    Abandon,
    /// Settle: move to the dead-letter queue.
    DeadLetter,
    /// Settle: set aside, receivable by sequence number only.
    Defer,
    /// Extend a lock.
    RenewLock,
    /// Move a dead letter back to its entity.
    Resubmit,
    // --- What the broker does on its own ----------------------------------
    /// An auto-committing consumer's timer committed a delivery.
    AutoCommit,
    /// A lock expired: the message is visible again.
    LockExpired,
    /// A lock was lost with its connection (the duplicate-delivery fault).
    LockLost,
    /// A message's time-to-live ran out.
    Expired,
    /// A scheduled message was enqueued.
    Activated,
    /// The broker dead-lettered a message (`MaxDeliveryCountExceeded`,
    /// `TTLExpiredException`).
    DeadLettered,
    // --- A service's store operations ---------------------------------------
    /// Begin a transaction.
    Begin,
    /// Read a row.
    Get,
    /// Read a row and lock it (`SELECT … FOR UPDATE`).
    GetForUpdate,
    /// Read a whole table.
    Scan,
    /// Insert a row.
    Insert,
    /// Insert or update a row.
    Upsert,
    /// Update a row if its version is the expected one.
    UpdateIfVersion,
    /// Update a row from its own value in one statement (`SET x = x - 1`).
    Update,
    /// Delete a row.
    Delete,
    /// Commit a transaction.
    Commit,
    /// Roll a transaction back.
    Rollback,
    /// Read the change feed.
    ReadChanges,
    // --- Downstream systems -------------------------------------------------
    /// Call a downstream system (send an email, charge a card).
    Call,
    // --- The runtime -----------------------------------------------------------
    /// A service started (or restarted).
    Start,
    /// A service crashed: its memory is gone.
    Crash,
    /// A service returned an error and will be restarted.
    Exit,
    /// A service panicked.
    Panic,
    /// A service made no progress: a deadlock or an await that never ends.
    Stuck,
    // --- A service's own word about its life ---------------------------------
    /// A service stopped consuming for a while, and said why
    /// ([`crate::simulation::ServiceCtx::pause`]): a kill switch tripped.
    Pause,
    /// The pause is over: the service consumes again.
    Resume,
}

impl Operation {
    /// The operation's name in traces and reports.
    pub fn name(self) -> &'static str {
        match self {
            Operation::Send => "send",
            Operation::Schedule => "schedule",
            Operation::CancelScheduled => "cancel-scheduled",
            Operation::Receive => "receive",
            Operation::ReceiveDeferred => "receive-deferred",
            Operation::Poll => "poll",
            Operation::Complete => "complete",
            Operation::Abandon => "abandon",
            Operation::DeadLetter => "dead-letter",
            Operation::Defer => "defer",
            Operation::RenewLock => "renew-lock",
            Operation::Resubmit => "resubmit",
            Operation::AutoCommit => "auto-commit",
            Operation::LockExpired => "lock-expired",
            Operation::LockLost => "lock-lost",
            Operation::Expired => "expired",
            Operation::Activated => "activated",
            Operation::DeadLettered => "dead-lettered",
            Operation::Begin => "begin",
            Operation::Get => "get",
            Operation::GetForUpdate => "get-for-update",
            Operation::Scan => "scan",
            Operation::Insert => "insert",
            Operation::Upsert => "upsert",
            Operation::UpdateIfVersion => "update-if-version",
            Operation::Update => "update",
            Operation::Delete => "delete",
            Operation::Commit => "commit",
            Operation::Rollback => "rollback",
            Operation::ReadChanges => "read-changes",
            Operation::Call => "call",
            Operation::Start => "start",
            Operation::Crash => "CRASH",
            Operation::Exit => "exit",
            Operation::Panic => "PANIC",
            Operation::Stuck => "STUCK",
            Operation::Pause => "pause",
            Operation::Resume => "resume",
        }
    }

    /// Whether this is something the broker did on its own, not a request.
    pub fn is_broker_internal(self) -> bool {
        matches!(
            self,
            Operation::AutoCommit
                | Operation::LockExpired
                | Operation::LockLost
                | Operation::Expired
                | Operation::Activated
                | Operation::DeadLettered
        )
    }

    /// Whether this is a note about a service's life, the runtime's (start,
    /// crash, exit) or the service's own (pause, resume): not a request, so
    /// it has no number and no outcome.
    pub fn is_lifecycle(self) -> bool {
        matches!(
            self,
            Operation::Start
                | Operation::Crash
                | Operation::Exit
                | Operation::Panic
                | Operation::Stuck
                | Operation::Pause
                | Operation::Resume
        )
    }

    /// Whether this operation hands a message to the caller.
    pub fn is_delivery(self) -> bool {
        matches!(
            self,
            Operation::Receive | Operation::ReceiveDeferred | Operation::Poll
        )
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How an operation ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It succeeded (as far as the broker or store knows: see the fault).
    Ok,
    /// It failed; the error's message.
    Failed(Box<str>),
}

impl Outcome {
    /// Whether it succeeded.
    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::Ok)
    }
}

/// One recorded operation.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceEvent {
    /// Virtual time since the run (or the broker) started.
    pub at: Duration,
    /// For a service's operation, its number in the run: the `#7` that a
    /// fault plan and a crash point refer to.
    pub operation_number: Option<u64>,
    /// Who acted: a service, or an entity acting on its own.
    pub actor: Arc<str>,
    /// What was done.
    pub operation: Operation,
    /// On what: an entity path, `store`, or a downstream system.
    pub target: Option<Arc<str>>,
    /// The message concerned, if any.
    pub message_id: Option<Arc<str>>,
    /// That message's correlation id, if any: how a grader links a result to
    /// its cause.
    pub correlation_id: Option<Arc<str>>,
    /// That message's sequence number in the target, if known.
    pub sequence_number: Option<u64>,
    /// For a delivery: the delivery count.
    pub delivery_count: Option<u32>,
    /// How it ended.
    pub outcome: Outcome,
    /// The fault injected into it, if any.
    pub fault: Option<Fault>,
    /// Anything else worth a reader's eye ("duplicate: dropped", a reason).
    pub note: Option<Arc<str>>,
}

impl TraceEvent {
    /// An event with only the essentials; fill in the rest with struct update
    /// syntax or the `with_*` helpers.
    pub fn new(at: Duration, actor: Arc<str>, operation: Operation) -> TraceEvent {
        TraceEvent {
            at,
            operation_number: None,
            actor,
            operation,
            target: None,
            message_id: None,
            correlation_id: None,
            sequence_number: None,
            delivery_count: None,
            outcome: Outcome::Ok,
            fault: None,
            note: None,
        }
    }

    /// Sets the target.
    pub fn with_target(mut self, target: impl Into<Arc<str>>) -> TraceEvent {
        self.target = Some(target.into());
        self
    }

    /// Sets a note.
    pub fn with_note(mut self, note: impl Into<String>) -> TraceEvent {
        self.note = Some(Arc::from(note.into()));
        self
    }

    /// Whether the event concerns `message_id`, directly or as its
    /// correlation id (a result published for it).
    pub fn concerns(&self, message_id: &str) -> bool {
        self.message_id.as_deref() == Some(message_id)
            || self.correlation_id.as_deref() == Some(message_id)
    }
}

/// A shared, append-only log of [`TraceEvent`]s. Cloning it is cheap; every
/// clone appends to the same log.
#[derive(Clone, Debug, Default)]
pub struct Trace {
    /// A std mutex, not a tokio one: no `.await` happens while it is held, and
    /// appending must work from synchronous broker code.
    log: Arc<Mutex<TraceLog>>,
}

impl Trace {
    /// An empty trace.
    pub fn new() -> Trace {
        Trace::default()
    }

    /// Appends an event.
    pub fn record(&self, event: TraceEvent) {
        self.lock().push(event);
    }

    /// How many events were recorded.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.lock().len() == 0
    }

    /// A copy of every event, in time order (see [`sort_by_time`]).
    pub fn events(&self) -> Vec<TraceEvent> {
        let log = self.lock();
        let mut events = Vec::with_capacity(log.len());
        events.extend(log.iter());
        drop(log);
        sort_by_time(&mut events);
        events
    }

    /// A copy of the last `count` events recorded, in time order.
    pub fn last_events(&self, count: usize) -> Vec<TraceEvent> {
        let log = self.lock();
        let mut events: Vec<TraceEvent> = log.iter().rev().take(count).collect();
        drop(log);
        events.reverse();
        sort_by_time(&mut events);
        events
    }

    /// The events about one message (by id or correlation id), plus the
    /// crashes and restarts of the services that touched it.
    pub fn events_for_message(&self, message_id: &str) -> Vec<TraceEvent> {
        events_for_message(&self.events(), message_id)
    }

    /// The whole trace as a text timeline.
    pub fn timeline(&self) -> String {
        render_timeline(&self.events())
    }

    /// The whole trace as a mermaid sequence diagram.
    pub fn mermaid(&self) -> String {
        render_mermaid(&self.events())
    }

    /// Takes the lock. A panic elsewhere while it was held (in learner code,
    /// say) must not make the trace unreadable: the report needs it most then.
    fn lock(&self) -> MutexGuard<'_, TraceLog> {
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Puts events in time order, keeping the order they were recorded in among
/// events of the same instant (which is the order they happened in).
///
/// Events are recorded as they happen, nearly always in time order. The
/// exception is the broker's own timers: a lock that expired at +00:01:00 is
/// only noticed (and recorded, at +00:01:00) when something next looks at the
/// broker, which may be after a service recorded a restart at +00:01:30. A
/// timeline must not show the restart first. The sort is stable and checks
/// first, so a trace already in order costs one pass.
pub fn sort_by_time(events: &mut [TraceEvent]) {
    if !events.is_sorted_by_key(|event| event.at) {
        events.sort_by_key(|event| event.at);
    }
}

/// The events in time order, copied only if they were not.
pub(crate) fn in_time_order(events: &[TraceEvent]) -> Cow<'_, [TraceEvent]> {
    if events.is_sorted_by_key(|event| event.at) {
        Cow::Borrowed(events)
    } else {
        let mut sorted = events.to_vec();
        sort_by_time(&mut sorted);
        Cow::Owned(sorted)
    }
}

/// The events about one message (by id or correlation id), plus the crashes,
/// exits and restarts of the services that touched it (not their pauses).
pub fn events_for_message(events: &[TraceEvent], message_id: &str) -> Vec<TraceEvent> {
    let actors: std::collections::BTreeSet<&str> = events
        .iter()
        .filter(|event| event.concerns(message_id))
        .map(|event| &*event.actor)
        .collect();
    events
        .iter()
        .filter(|event| {
            event.concerns(message_id)
                || (event.operation.is_lifecycle()
                    // A consumer that pauses every few minutes would bury
                    // the message's own events under its pauses.
                    && !matches!(
                        event.operation,
                        Operation::Start | Operation::Pause | Operation::Resume
                    )
                    && actors.contains(&*event.actor))
                || (event.operation == Operation::Start
                    && event.note.is_some()
                    && actors.contains(&*event.actor))
        })
        .cloned()
        .collect()
}

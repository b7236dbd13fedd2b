//! The broker: the entities, their messages, and the timers that move them.
//!
//! [`Broker`] is a cheap handle (an `Arc`) to one namespace. All state sits
//! behind one std mutex: every operation is a short critical section with no
//! `.await` inside, so a std mutex is both correct and faster than tokio's.
//! The only operation that waits is a receive with no message available, and
//! it waits *outside* the lock, for a change notification or the next timer.
//!
//! Time-driven behaviour (lock expiry, time-to-live, scheduled activation,
//! auto-commit) is a heap of timers. Before each operation the broker fires
//! every timer that is due, in due order, and records each in the trace at
//! its due time; so the trace reads in time order even though nothing runs in
//! the background.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::clock::{Clock, UtcTime};
use crate::dead_letter::{DEAD_LETTER_QUEUE_SUFFIX, MAX_DELIVERY_COUNT_EXCEEDED, TTL_EXPIRED};
use crate::duplicate_detection::DuplicateDetection;
use crate::envelope::{Envelope, Message};
use crate::error::BrokerError;
use crate::fault::Fault;
use crate::lock::{ConnectionId, LockToken};
use crate::queue::{
    MessageState, MessageStore, QueueOptions, StoredMessage, duplicate_window_limit_broken,
};
use crate::receive::{Delivery, ReceiveMode, ReceiveOptions};
use crate::tier::{Feature, Tier};
use crate::topic::{SubscriptionFilter, SubscriptionOptions, TopicOptions, subscription_path};
use crate::trace::{Operation, Outcome, Trace, TraceEvent};

/// One broker namespace: queues, topics and subscriptions.
///
/// ```
/// use broker::{Broker, Message, QueueOptions};
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), broker::BrokerError> {
/// let broker = Broker::new();
/// broker.create_queue("orders", QueueOptions::default())?;
/// let client = broker.client("shop");
/// client.send("orders", Message::new("order-1", "teapot")).await?;
/// let delivery = client.receive("orders").await?;
/// assert_eq!(delivery.body_text(), Some("teapot"));
/// client.complete(&delivery).await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Broker {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<BrokerState>,
    /// Wakes waiting receivers after a change, so that they look again. A
    /// receiver registers (`Notified::enable`) *before* it looks, so a change
    /// in between still wakes it.
    changes: Notify,
    /// How many receivers are waiting: with none (the common case under
    /// load), a change costs no notification at all.
    waiting: AtomicUsize,
    trace: Trace,
    clock: Clock,
}

/// Who is asking, and what the simulation did to the request: passed to every
/// operation so the trace can say so.
#[derive(Clone, Debug)]
pub(crate) struct OpMeta {
    pub(crate) actor: Arc<str>,
    pub(crate) connection: ConnectionId,
    pub(crate) operation_number: Option<u64>,
    pub(crate) fault: Option<Fault>,
}

/// A queue or a topic: what a name refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Target {
    /// A queue or a subscription, by index into `queues`.
    Queue(usize),
    /// A topic, by index into `topics`.
    Topic(usize),
}

/// One message store: a queue's (or subscription's) active messages or its
/// dead letters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct StoreRef {
    queue: usize,
    dead_letter: bool,
}

#[derive(Debug)]
struct BrokerState {
    tier: Tier,
    clock: Clock,
    trace: Trace,
    /// Every path (queue, topic, `topic/Subscriptions/name`) to its entity.
    names: BTreeMap<Arc<str>, Target>,
    /// Queues and subscriptions: a subscription *is* a queue fed by a topic.
    queues: Vec<QueueEntity>,
    topics: Vec<TopicEntity>,
    timers: BinaryHeap<Reverse<Timer>>,
    /// Breaks ties between timers due at the same instant: first set, first
    /// fired, so runs are deterministic.
    next_timer: u64,
    next_lock: u64,
    next_connection: u64,
    /// Connections that closed (a crashed service's): their pending
    /// auto-commits never happen.
    closed_connections: BTreeSet<ConnectionId>,
    /// Scheduled messages not yet activated, by target and reserved sequence
    /// number.
    scheduled: BTreeMap<(Target, u64), Message>,
    /// Dead-letter reasons, descriptions and trace notes, shared: a storm
    /// dead-letters a million messages with the same few reasons.
    texts: BTreeMap<Box<str>, Arc<str>>,
}

#[derive(Debug)]
struct QueueEntity {
    path: Arc<str>,
    dead_letter_path: Arc<str>,
    options: QueueOptions,
    active: MessageStore,
    dead_letters: MessageStore,
    /// The last sequence number handed out: gap-free per entity.
    last_sequence: u64,
    duplicates: Option<DuplicateDetection>,
}

#[derive(Debug)]
struct TopicEntity {
    path: Arc<str>,
    subscriptions: Vec<(usize, SubscriptionFilter)>,
    last_sequence: u64,
    duplicates: Option<DuplicateDetection>,
}

#[derive(Debug)]
struct Timer {
    due: Instant,
    order: u64,
    kind: TimerKind,
}

#[derive(Debug)]
enum TimerKind {
    /// A peek-lock runs out. Stale (and ignored) if the lock was settled or
    /// renewed meanwhile.
    LockExpiry {
        store: StoreRef,
        sequence: u64,
        token: LockToken,
    },
    /// A message's time-to-live runs out.
    TimeToLive { queue: usize, sequence: u64 },
    /// A scheduled message is due.
    Activation { target: Target, sequence: u64 },
    /// An auto-committing consumer's next commit tick.
    AutoCommit {
        store: StoreRef,
        sequence: u64,
        token: LockToken,
        connection: ConnectionId,
        actor: Arc<str>,
        /// What the trace says about the commit ("committed on the timer").
        note: &'static str,
    },
}

impl PartialEq for Timer {
    fn eq(&self, other: &Timer) -> bool {
        (self.due, self.order) == (other.due, other.order)
    }
}
impl Eq for Timer {}
impl PartialOrd for Timer {
    fn partial_cmp(&self, other: &Timer) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Timer {
    fn cmp(&self, other: &Timer) -> std::cmp::Ordering {
        (self.due, self.order).cmp(&(other.due, other.order))
    }
}

/// What is in an entity right now, for tests and graders.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EntityStats {
    /// Waiting for a receiver.
    pub available: usize,
    /// Held by a receiver under peek-lock.
    pub locked: usize,
    /// Deferred: receivable by sequence number only.
    pub deferred: usize,
    /// In the entity's dead-letter queue.
    pub dead_lettered: usize,
    /// Scheduled and not yet activated.
    pub scheduled: usize,
}

impl EntityStats {
    /// Messages not yet settled: available, locked or deferred (dead letters
    /// and scheduled messages not counted).
    pub fn unsettled(&self) -> usize {
        self.available + self.locked + self.deferred
    }
}

impl Default for Broker {
    fn default() -> Broker {
        Broker::new()
    }
}

impl Broker {
    /// A Standard-tier broker with its own trace. Its clock starts now.
    pub fn new() -> Broker {
        Broker::with_tier(Tier::Standard)
    }

    /// A broker of the given tier.
    pub fn with_tier(tier: Tier) -> Broker {
        Broker::with_trace(tier, Trace::new())
    }

    /// A broker that records into `trace` (the simulation shares one trace
    /// between the broker, the store and the services).
    pub fn with_trace(tier: Tier, trace: Trace) -> Broker {
        let clock = Clock::start();
        Broker {
            shared: Arc::new(Shared {
                state: Mutex::new(BrokerState {
                    tier,
                    clock,
                    trace: trace.clone(),
                    names: BTreeMap::new(),
                    queues: Vec::new(),
                    topics: Vec::new(),
                    timers: BinaryHeap::new(),
                    next_timer: 0,
                    next_lock: 0,
                    next_connection: 0,
                    closed_connections: BTreeSet::new(),
                    scheduled: BTreeMap::new(),
                    texts: BTreeMap::new(),
                }),
                changes: Notify::new(),
                waiting: AtomicUsize::new(0),
                trace,
                clock,
            }),
        }
    }

    /// The broker's tier.
    pub fn tier(&self) -> Tier {
        self.state().tier
    }

    /// The trace the broker records into.
    pub fn trace(&self) -> &Trace {
        &self.shared.trace
    }

    /// The broker's clock.
    pub fn clock(&self) -> Clock {
        self.shared.clock
    }

    /// The broker's time now, in UTC.
    pub fn now(&self) -> UtcTime {
        self.shared.clock.now_utc()
    }

    /// Creates a queue.
    pub fn create_queue(&self, path: &str, options: QueueOptions) -> Result<(), BrokerError> {
        let mut state = self.state();
        state.check_options(path, &options)?;
        state.ensure_free(path)?;
        let index = state.add_queue(path, options);
        state.names.insert(Arc::from(path), Target::Queue(index));
        Ok(())
    }

    /// Creates a topic. Not on the Basic tier.
    pub fn create_topic(&self, path: &str, options: TopicOptions) -> Result<(), BrokerError> {
        let mut state = self.state();
        state.require(Feature::Topics)?;
        if options.duplicate_detection_window.is_some() {
            state.require(Feature::DuplicateDetection)?;
        }
        if let Some(why) = duplicate_window_limit_broken(options.duplicate_detection_window) {
            return Err(BrokerError::InvalidOperation {
                operation: "create",
                path: path.to_owned(),
                why,
            });
        }
        state.ensure_free(path)?;
        let index = state.topics.len();
        state.topics.push(TopicEntity {
            path: Arc::from(path),
            subscriptions: Vec::new(),
            last_sequence: 0,
            duplicates: options
                .duplicate_detection_window
                .map(DuplicateDetection::new),
        });
        state.names.insert(Arc::from(path), Target::Topic(index));
        Ok(())
    }

    /// Creates a subscription on a topic; it is received from at
    /// `<topic>/Subscriptions/<name>`. It gets only messages sent after it
    /// exists.
    pub fn create_subscription(
        &self,
        topic: &str,
        name: &str,
        options: SubscriptionOptions,
    ) -> Result<(), BrokerError> {
        let mut state = self.state();
        let Some(&Target::Topic(topic_index)) = state.names.get(topic) else {
            return Err(BrokerError::EntityNotFound {
                path: topic.to_owned(),
            });
        };
        let mut queue_options = options.queue;
        queue_options.duplicate_detection_window = None;
        let path = subscription_path(topic, name);
        state.check_options(&path, &queue_options)?;
        state.ensure_free(&path)?;
        let index = state.add_queue(&path, queue_options);
        state.topics[topic_index]
            .subscriptions
            .push((index, options.filter));
        state.names.insert(Arc::from(path), Target::Queue(index));
        Ok(())
    }

    /// A client: a connection to this broker under a name that the trace
    /// shows as the actor.
    pub fn client(&self, name: &str) -> crate::Client {
        crate::Client::new(self.clone(), Arc::from(name), self.connect())
    }

    /// Opens a connection (the unit a lock, and an auto-commit, belongs to).
    pub(crate) fn connect(&self) -> ConnectionId {
        let mut state = self.state();
        state.next_connection += 1;
        ConnectionId(state.next_connection)
    }

    /// Closes a connection: its auto-commits stop. Its locks stay until they
    /// expire, as a Service Bus lock does when the client process dies.
    pub(crate) fn close_connection(&self, connection: ConnectionId) {
        self.state().closed_connections.insert(connection);
    }

    /// Fires every timer that is due. Operations do this themselves; the
    /// simulation also calls it before store and downstream operations so the
    /// trace stays in time order.
    pub fn advance(&self) {
        let fired = self.state().advance(Instant::now());
        if fired {
            self.changed();
        }
    }

    /// When the next timer is due, if any.
    pub fn next_timer(&self) -> Option<Instant> {
        self.state().timers.peek().map(|Reverse(timer)| timer.due)
    }

    /// Counts what is in a queue or subscription.
    pub fn stats(&self, path: &str) -> Result<EntityStats, BrokerError> {
        let mut state = self.state();
        state.advance(Instant::now());
        let store = state.resolve_store(path, "stats")?;
        let queue = &state.queues[store.queue];
        let mut stats = EntityStats {
            dead_lettered: queue.dead_letters.len(),
            scheduled: state
                .scheduled
                .keys()
                .filter(|(target, _)| *target == Target::Queue(store.queue))
                .count(),
            ..EntityStats::default()
        };
        let messages = if store.dead_letter {
            &queue.dead_letters
        } else {
            &queue.active
        };
        for message in messages.iter() {
            match message.state {
                MessageState::Available => stats.available += 1,
                MessageState::Locked { .. } => stats.locked += 1,
                MessageState::Deferred => stats.deferred += 1,
            }
        }
        Ok(stats)
    }

    /// The envelopes in a queue, subscription or dead-letter queue, in
    /// sequence order, whatever their state. Like Service Bus's peek: nothing
    /// is locked or counted as a delivery.
    pub fn peek(&self, path: &str) -> Result<Vec<Envelope>, BrokerError> {
        let mut state = self.state();
        state.advance(Instant::now());
        let store = state.resolve_store(path, "peek")?;
        Ok(state
            .store(store)
            .iter()
            .map(|message| Envelope::clone(&message.envelope))
            .collect())
    }

    /// Every queue, topic and subscription path, sorted.
    pub fn entity_paths(&self) -> Vec<String> {
        self.state()
            .names
            .keys()
            .map(|name| name.to_string())
            .collect()
    }

    // --- Operations, with who asks and what faults apply ----------------------

    pub(crate) fn send_as(
        &self,
        meta: &OpMeta,
        path: &str,
        message: Message,
    ) -> Result<(), BrokerError> {
        self.change(|state| state.send(meta, path, message))
    }

    pub(crate) fn schedule_as(
        &self,
        meta: &OpMeta,
        path: &str,
        message: Message,
        enqueue_at: UtcTime,
    ) -> Result<u64, BrokerError> {
        self.change(|state| state.schedule(meta, path, message, enqueue_at))
    }

    pub(crate) fn cancel_scheduled_as(
        &self,
        meta: &OpMeta,
        path: &str,
        sequence_number: u64,
    ) -> Result<(), BrokerError> {
        self.change(|state| state.cancel_scheduled(meta, path, sequence_number))
    }

    /// Receives, waiting as the options say. `lose_lock` is the
    /// duplicate-delivery fault.
    pub(crate) async fn receive_as(
        &self,
        meta: &OpMeta,
        path: &str,
        options: ReceiveOptions,
        lose_lock: bool,
        operation: Operation,
    ) -> Result<Option<Delivery>, BrokerError> {
        let deadline = options.max_wait.map(|wait| Instant::now() + wait);
        // Counted as waiting from before the first look until we return, so a
        // change that happens at any point in between notifies us.
        let _waiting = WaitingReceiver::new(&self.shared.waiting);
        loop {
            // Register first, then look: a change after the look still wakes us.
            let changed = self.shared.changes.notified();
            let mut changed = std::pin::pin!(changed);
            changed.as_mut().enable();
            let next_timer = {
                let mut state = self.state();
                let now = Instant::now();
                state.advance(now);
                if let Some(delivery) =
                    state.try_receive(meta, path, options.mode, lose_lock, now, operation)?
                {
                    drop(state);
                    self.changed();
                    return Ok(Some(delivery));
                }
                if deadline.is_some_and(|deadline| deadline <= now) {
                    let mut event = state.event(meta, operation, now);
                    event.target = Some(state.path_arc(path));
                    event.note = Some("no message".into());
                    state.trace.record(event);
                    return Ok(None);
                }
                state.timers.peek().map(|Reverse(timer)| timer.due)
            };
            let wake = [next_timer, deadline].into_iter().flatten().min();
            tokio::select! {
                biased;
                _ = changed => {}
                _ = sleep_until_or_forever(wake) => {}
            }
        }
    }

    pub(crate) fn settle_as(
        &self,
        meta: &OpMeta,
        delivery: &Delivery,
        settlement: Settlement<'_>,
    ) -> Result<(), BrokerError> {
        self.change(|state| state.settle(meta, delivery, settlement))
    }

    pub(crate) fn renew_lock_as(
        &self,
        meta: &OpMeta,
        delivery: &mut Delivery,
    ) -> Result<UtcTime, BrokerError> {
        self.change(|state| state.renew_lock(meta, delivery))
    }

    pub(crate) fn receive_deferred_as(
        &self,
        meta: &OpMeta,
        path: &str,
        sequence_number: u64,
    ) -> Result<Delivery, BrokerError> {
        self.change(|state| state.receive_deferred(meta, path, sequence_number))
    }

    pub(crate) fn resubmit_dead_letter_as(
        &self,
        meta: &OpMeta,
        path: &str,
        sequence_number: u64,
    ) -> Result<u64, BrokerError> {
        self.change(|state| state.resubmit(meta, path, sequence_number))
    }

    /// Arranges for `delivery` to be completed at `due` if `connection` is
    /// still open and still holds the lock (Kafka-style auto-commit, or a
    /// commit sent in the background); `note` says which in the trace.
    pub(crate) fn auto_commit_at(
        &self,
        delivery: &Delivery,
        due: Instant,
        connection: ConnectionId,
        actor: Arc<str>,
        note: &'static str,
    ) {
        if let Some(token) = delivery.lock {
            self.state().push_timer(
                due,
                TimerKind::AutoCommit {
                    store: delivery.store,
                    sequence: delivery.sequence_number,
                    token,
                    connection,
                    actor,
                    note,
                },
            );
        }
    }

    /// Runs one change to the state under the lock, then wakes the
    /// receivers waiting for a change: an operation that changed the state
    /// without waking them would leave a waiting receive asleep until its
    /// timeout although a message is there.
    fn change<T>(&self, operation: impl FnOnce(&mut BrokerState) -> T) -> T {
        let result = operation(&mut self.state());
        self.changed();
        result
    }

    fn changed(&self) {
        if self.shared.waiting.load(AtomicOrdering::SeqCst) > 0 {
            self.shared.changes.notify_waiters();
        }
    }

    /// Takes the state lock. The state is only changed in short sections that
    /// cannot panic halfway in a way that matters, so a poisoned lock (a
    /// panic elsewhere while it was held) is taken over.
    fn state(&self) -> MutexGuard<'_, BrokerState> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// How a receiver settles a message.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Settlement<'a> {
    Complete,
    Abandon,
    DeadLetter {
        reason: &'a str,
        description: &'a str,
    },
    Defer,
}

/// What becomes of a message whose lock ended without a settlement that
/// removes it. The trace says which, so that "lock expired" is never followed
/// by a silent surprise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Release {
    /// Back in the queue for the next receiver: the usual case.
    VisibleAgain,
    /// It had been deferred before this delivery: deferred again.
    DeferredAgain,
    /// That was its last allowed delivery: to the dead-letter queue.
    DeliveryLimitReached,
    /// Its time-to-live ran out meanwhile: dropped or dead-lettered.
    Expired,
}

impl Release {
    /// The note on the lock-expired event.
    fn note(self) -> &'static str {
        match self {
            Release::VisibleAgain => "visible again",
            Release::DeferredAgain => "deferred again",
            Release::DeliveryLimitReached => "delivery limit reached",
            Release::Expired => "time-to-live ran out",
        }
    }
}

/// Counts a receiver as waiting for as long as it lives.
struct WaitingReceiver<'a>(&'a AtomicUsize);

impl<'a> WaitingReceiver<'a> {
    fn new(waiting: &'a AtomicUsize) -> WaitingReceiver<'a> {
        waiting.fetch_add(1, AtomicOrdering::SeqCst);
        WaitingReceiver(waiting)
    }
}

impl Drop for WaitingReceiver<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, AtomicOrdering::SeqCst);
    }
}

async fn sleep_until_or_forever(wake: Option<Instant>) {
    match wake {
        Some(wake) => tokio::time::sleep_until(wake).await,
        None => std::future::pending().await,
    }
}

impl BrokerState {
    fn check_options(&self, path: &str, options: &QueueOptions) -> Result<(), BrokerError> {
        if let Some(why) = options.limit_broken() {
            return Err(BrokerError::InvalidOperation {
                operation: "create",
                path: path.to_owned(),
                why,
            });
        }
        if options.requires_session {
            self.require(Feature::Sessions)?;
        }
        if options.duplicate_detection_window.is_some() {
            self.require(Feature::DuplicateDetection)?;
        }
        Ok(())
    }

    fn require(&self, feature: Feature) -> Result<(), BrokerError> {
        if self.tier.supports(feature) {
            Ok(())
        } else {
            Err(BrokerError::NotSupportedByTier {
                feature,
                tier: self.tier,
            })
        }
    }

    fn ensure_free(&self, path: &str) -> Result<(), BrokerError> {
        if self.names.contains_key(path) {
            return Err(BrokerError::EntityAlreadyExists {
                path: path.to_owned(),
            });
        }
        if path.is_empty() || path.ends_with(DEAD_LETTER_QUEUE_SUFFIX) {
            return Err(BrokerError::InvalidOperation {
                operation: "create",
                path: path.to_owned(),
                why: "an entity path must be non-empty and must not end in /$deadletterqueue",
            });
        }
        Ok(())
    }

    fn add_queue(&mut self, path: &str, options: QueueOptions) -> usize {
        let index = self.queues.len();
        let ordering = options.ordering();
        self.queues.push(QueueEntity {
            path: Arc::from(path),
            dead_letter_path: Arc::from(format!("{path}{DEAD_LETTER_QUEUE_SUFFIX}")),
            duplicates: options
                .duplicate_detection_window
                .map(DuplicateDetection::new),
            options,
            active: MessageStore::ordered_by(ordering),
            dead_letters: MessageStore::default(),
            last_sequence: 0,
        });
        index
    }

    /// A queue or topic to send to.
    fn resolve_send_target(
        &self,
        path: &str,
        operation: &'static str,
    ) -> Result<Target, BrokerError> {
        match self.names.get(path) {
            Some(&Target::Queue(index)) if self.is_subscription(index) => {
                Err(BrokerError::InvalidOperation {
                    operation,
                    path: path.to_owned(),
                    why: "a subscription is fed by its topic: send to the topic",
                })
            }
            Some(&target) => Ok(target),
            None if path.ends_with(DEAD_LETTER_QUEUE_SUFFIX) => {
                Err(BrokerError::InvalidOperation {
                    operation,
                    path: path.to_owned(),
                    why: "a dead-letter queue is filled by its entity only",
                })
            }
            None => Err(BrokerError::EntityNotFound {
                path: path.to_owned(),
            }),
        }
    }

    /// A message store to receive from or inspect: a queue, a subscription, or
    /// one of their dead-letter queues.
    fn resolve_store(&self, path: &str, operation: &'static str) -> Result<StoreRef, BrokerError> {
        let (base, dead_letter) = match path.strip_suffix(DEAD_LETTER_QUEUE_SUFFIX) {
            Some(base) => (base, true),
            None => (path, false),
        };
        match self.names.get(base) {
            Some(&Target::Queue(queue)) => Ok(StoreRef { queue, dead_letter }),
            Some(&Target::Topic(_)) => Err(BrokerError::InvalidOperation {
                operation,
                path: path.to_owned(),
                why: "a topic keeps no messages: receive from one of its subscriptions",
            }),
            None => Err(BrokerError::EntityNotFound {
                path: path.to_owned(),
            }),
        }
    }

    /// The shared name of a path, so a trace event does not allocate a copy.
    fn path_arc(&self, path: &str) -> Arc<str> {
        if let Some((name, _)) = self.names.get_key_value(path) {
            return Arc::clone(name);
        }
        if let Ok(store) = self.resolve_store(path, "trace") {
            return self.store_path(store);
        }
        Arc::from(path)
    }

    /// One shared copy of a text that recurs (a reason, a note).
    fn intern(&mut self, text: &str) -> Arc<str> {
        if let Some(shared) = self.texts.get(text) {
            return Arc::clone(shared);
        }
        let shared: Arc<str> = Arc::from(text);
        self.texts.insert(Box::from(text), Arc::clone(&shared));
        shared
    }

    fn is_subscription(&self, queue: usize) -> bool {
        self.topics
            .iter()
            .any(|topic| topic.subscriptions.iter().any(|(index, _)| *index == queue))
    }

    fn store(&self, store: StoreRef) -> &MessageStore {
        let queue = &self.queues[store.queue];
        if store.dead_letter {
            &queue.dead_letters
        } else {
            &queue.active
        }
    }

    fn store_mut(&mut self, store: StoreRef) -> &mut MessageStore {
        let queue = &mut self.queues[store.queue];
        if store.dead_letter {
            &mut queue.dead_letters
        } else {
            &mut queue.active
        }
    }

    fn store_path(&self, store: StoreRef) -> Arc<str> {
        let queue = &self.queues[store.queue];
        if store.dead_letter {
            Arc::clone(&queue.dead_letter_path)
        } else {
            Arc::clone(&queue.path)
        }
    }

    fn push_timer(&mut self, due: Instant, kind: TimerKind) {
        self.next_timer += 1;
        self.timers.push(Reverse(Timer {
            due,
            order: self.next_timer,
            kind,
        }));
    }

    /// A trace event for a request by `meta`'s actor.
    fn event(&self, meta: &OpMeta, operation: Operation, now: Instant) -> TraceEvent {
        let mut event = TraceEvent::new(
            self.clock.offset_of(now),
            Arc::clone(&meta.actor),
            operation,
        );
        event.operation_number = meta.operation_number;
        event.fault = meta.fault;
        event
    }

    /// A trace event for something an entity did on its own at `at`.
    fn internal_event(
        &self,
        path: &Arc<str>,
        operation: Operation,
        at: Instant,
        envelope: &Envelope,
    ) -> TraceEvent {
        let mut event = TraceEvent::new(self.clock.offset_of(at), Arc::clone(path), operation);
        event.target = Some(Arc::clone(path));
        describe_message(&mut event, envelope);
        event
    }

    fn record_failure(
        &self,
        meta: &OpMeta,
        operation: Operation,
        path: &str,
        message: Option<&Message>,
        error: &BrokerError,
    ) {
        let mut event = self.event(meta, operation, Instant::now());
        event.target = Some(self.path_arc(path));
        if let Some(message) = message {
            event.message_id = Some(Arc::clone(&message.message_id));
            event.correlation_id = message.correlation_id.clone();
        }
        event.outcome = Outcome::Failed(error.to_string().into_boxed_str());
        self.trace.record(event);
    }

    // --- Timers -------------------------------------------------------------

    /// Fires every due timer; returns whether any did.
    fn advance(&mut self, now: Instant) -> bool {
        let mut fired = false;
        while self
            .timers
            .peek()
            .is_some_and(|Reverse(timer)| timer.due <= now)
        {
            let Some(Reverse(timer)) = self.timers.pop() else {
                break;
            };
            fired |= self.fire(timer);
        }
        fired
    }

    fn fire(&mut self, timer: Timer) -> bool {
        let at = timer.due;
        match timer.kind {
            TimerKind::LockExpiry {
                store,
                sequence,
                token,
            } => {
                let still_locked = matches!(
                    self.store(store).get(sequence).map(|message| &message.state),
                    Some(MessageState::Locked { token: held, until, .. }) if *held == token && *until == at
                );
                if !still_locked {
                    return false;
                }
                let path = self.store_path(store);
                let envelope = &self.store(store).get(sequence).map(|m| m.envelope.clone());
                let outcome = self.release_outcome(store, sequence, at);
                if let (Some(envelope), Some(outcome)) = (envelope, outcome) {
                    let event = self
                        .internal_event(&path, Operation::LockExpired, at, envelope)
                        .with_note(outcome.note());
                    self.trace.record(event);
                }
                self.release(store, sequence, at);
                true
            }
            TimerKind::TimeToLive { queue, sequence } => {
                let store = StoreRef {
                    queue,
                    dead_letter: false,
                };
                let available = matches!(
                    self.store(store)
                        .get(sequence)
                        .map(|message| &message.state),
                    Some(MessageState::Available)
                );
                if available {
                    self.expire(queue, sequence, at);
                }
                available
            }
            TimerKind::Activation { target, sequence } => {
                let Some(message) = self.scheduled.remove(&(target, sequence)) else {
                    return false;
                };
                self.activate(target, sequence, message, at);
                true
            }
            TimerKind::AutoCommit {
                store,
                sequence,
                token,
                connection,
                actor,
                note,
            } => {
                if self.closed_connections.contains(&connection) {
                    return false;
                }
                let held = matches!(
                    self.store(store).get(sequence).map(|message| &message.state),
                    Some(MessageState::Locked { token: held, .. }) if *held == token
                );
                if !held {
                    return false;
                }
                let path = self.store_path(store);
                if let Some(message) = self.store_mut(store).remove(sequence) {
                    let mut event =
                        self.internal_event(&path, Operation::AutoCommit, at, &message.envelope);
                    event.actor = actor;
                    event.note = Some(note.into());
                    self.trace.record(event);
                }
                true
            }
        }
    }

    /// What ending a lock without a settlement (abandon, expiry, a lost
    /// connection) does to the message at `at`; `None` if it is gone.
    fn release_outcome(&self, store: StoreRef, sequence: u64, at: Instant) -> Option<Release> {
        let max = self.queues[store.queue].options.max_delivery_count;
        let message = self.store(store).get(sequence)?;
        Some(
            if !store.dead_letter && message.envelope.delivery_count >= max {
                Release::DeliveryLimitReached
            } else if !store.dead_letter && message.expires_at.is_some_and(|expiry| expiry <= at) {
                Release::Expired
            } else if message.was_deferred {
                Release::DeferredAgain
            } else {
                Release::VisibleAgain
            },
        )
    }

    /// A lock ended without a settlement that removes the message (abandon,
    /// expiry, a lost connection): the message goes back, unless it has used
    /// up its deliveries or its time-to-live.
    fn release(&mut self, store: StoreRef, sequence: u64, at: Instant) {
        match self.release_outcome(store, sequence, at) {
            None => {}
            Some(Release::DeliveryLimitReached) => {
                let max = self.queues[store.queue].options.max_delivery_count;
                let description =
                    format!("Message could not be consumed after {max} delivery attempts.");
                self.move_to_dead_letters(
                    store.queue,
                    sequence,
                    MAX_DELIVERY_COUNT_EXCEEDED,
                    &description,
                    at,
                    None,
                );
            }
            Some(Release::Expired) => self.expire(store.queue, sequence, at),
            Some(Release::DeferredAgain) => {
                self.store_mut(store)
                    .set_state(sequence, MessageState::Deferred);
            }
            Some(Release::VisibleAgain) => {
                self.store_mut(store)
                    .set_state(sequence, MessageState::Available);
            }
        }
    }

    fn expire(&mut self, queue: usize, sequence: u64, at: Instant) {
        if self.queues[queue]
            .options
            .dead_lettering_on_message_expiration
        {
            self.move_to_dead_letters(
                queue,
                sequence,
                TTL_EXPIRED,
                "The message expired and was dead lettered.",
                at,
                None,
            );
        } else if let Some(message) = self.queues[queue].active.remove(sequence) {
            let path = Arc::clone(&self.queues[queue].path);
            let event = self
                .internal_event(&path, Operation::Expired, at, &message.envelope)
                .with_note("time-to-live ran out: dropped");
            self.trace.record(event);
        }
    }

    /// Moves a message from a queue's active store to its dead letters. With
    /// `requested_by`, a receiver asked (and the trace event is theirs);
    /// otherwise the broker did it on its own.
    fn move_to_dead_letters(
        &mut self,
        queue: usize,
        sequence: u64,
        reason: &str,
        description: &str,
        at: Instant,
        requested_by: Option<&OpMeta>,
    ) {
        let Some(mut message) = self.queues[queue].active.remove(sequence) else {
            return;
        };
        let reason_text = self.intern(reason);
        let description_text = self.intern(description);
        let envelope = Arc::make_mut(&mut message.envelope);
        envelope.dead_letter_reason = Some(reason_text);
        envelope.dead_letter_description = Some(description_text);
        message.state = MessageState::Available;
        message.was_deferred = false;
        // TTL is not observed in a dead-letter queue.
        message.expires_at = None;
        let path = Arc::clone(&self.queues[queue].path);
        let note = self.intern(&format!("reason {reason}"));
        let event = match requested_by {
            Some(meta) => {
                let mut event = self.event(meta, Operation::DeadLetter, at);
                event.target = Some(Arc::clone(&path));
                describe_message(&mut event, &message.envelope);
                event.note = Some(note);
                event
            }
            None => {
                let mut event =
                    self.internal_event(&path, Operation::DeadLettered, at, &message.envelope);
                event.note = Some(note);
                event
            }
        };
        self.trace.record(event);
        self.queues[queue].dead_letters.insert(message);
    }

    // --- Sending --------------------------------------------------------------

    fn check_message(
        &self,
        target: Target,
        path: &str,
        message: &Message,
    ) -> Result<(), BrokerError> {
        let size = message.size();
        let limit = self.tier.max_message_size();
        if size > limit {
            return Err(BrokerError::MessageTooLarge {
                message_id: message.message_id.to_string(),
                size,
                limit,
                tier: self.tier,
            });
        }
        if let Target::Queue(queue) = target
            && self.queues[queue].options.requires_session
            && message.session_id.is_none()
        {
            return Err(BrokerError::SessionIdRequired {
                path: path.to_owned(),
                message_id: message.message_id.to_string(),
            });
        }
        Ok(())
    }

    /// Duplicate detection at a queue or topic: `true` if the message must be
    /// dropped.
    fn is_duplicate(&mut self, target: Target, message: &Message, now: Instant) -> bool {
        let detection = match target {
            Target::Queue(queue) => self.queues[queue].duplicates.as_mut(),
            Target::Topic(topic) => self.topics[topic].duplicates.as_mut(),
        };
        detection.is_some_and(|detection| detection.is_duplicate(&message.message_id, now))
    }

    /// What a send and a schedule have in common before either does anything:
    /// `path` must name a queue or topic a client may send to and `message`
    /// must fit it. A refusal is traced as a failed `operation` and returned;
    /// otherwise the target and the operation's trace event, naming the
    /// entity and the message, for the caller to finish and record.
    fn accept_message(
        &mut self,
        meta: &OpMeta,
        operation: Operation,
        verb: &'static str,
        path: &str,
        message: &Message,
        now: Instant,
    ) -> Result<(Target, TraceEvent), BrokerError> {
        let checked = self
            .resolve_send_target(path, verb)
            .and_then(|target| self.check_message(target, path, message).map(|()| target));
        let target = match checked {
            Ok(target) => target,
            Err(error) => {
                self.record_failure(meta, operation, path, Some(message), &error);
                return Err(error);
            }
        };
        let mut event = self.event(meta, operation, now);
        event.target = Some(self.path_arc(path));
        event.message_id = Some(Arc::clone(&message.message_id));
        event.correlation_id = message.correlation_id.clone();
        Ok((target, event))
    }

    fn send(&mut self, meta: &OpMeta, path: &str, message: Message) -> Result<(), BrokerError> {
        let now = Instant::now();
        self.advance(now);
        let (target, mut event) =
            self.accept_message(meta, Operation::Send, "send", path, &message, now)?;
        if self.is_duplicate(target, &message, now) {
            // Reported as a success, as Service Bus does: the sender cannot
            // tell, and does not need to.
            self.trace.record(event.with_note("duplicate id: dropped"));
            return Ok(());
        }
        let (sequence, note) = self.deliver_to(target, message, now);
        event.sequence_number = Some(sequence);
        event.note = note.map(Arc::from);
        self.trace.record(event);
        Ok(())
    }

    /// Puts an accepted message into a queue, or fans it out from a topic.
    /// Returns the sequence number it got (the topic's, for a topic) and a
    /// note for the trace.
    fn deliver_to(
        &mut self,
        target: Target,
        message: Message,
        now: Instant,
    ) -> (u64, Option<String>) {
        match target {
            Target::Queue(queue) => (self.enqueue(queue, message, now), None),
            Target::Topic(topic) => {
                self.topics[topic].last_sequence += 1;
                let sequence = self.topics[topic].last_sequence;
                let subscriptions = self.topics[topic].subscriptions.clone();
                let mut copies = 0;
                for (queue, filter) in subscriptions {
                    if !filter.matches(&message) {
                        continue;
                    }
                    copies += 1;
                    let needs_session = self.queues[queue].options.requires_session;
                    let copy_sequence = self.enqueue(queue, message.clone(), now);
                    if needs_session && message.session_id.is_none() {
                        // What Service Bus does with a sessionless message on
                        // a session-enabled subscription.
                        self.move_to_dead_letters(queue, copy_sequence, "Session ID is null.", "Session enabled entity doesn't allow a message whose session identifier is null.", now, None);
                    }
                }
                (sequence, Some(format!("to {copies} subscription(s)")))
            }
        }
    }

    fn enqueue(&mut self, queue: usize, message: Message, now: Instant) -> u64 {
        let clock = self.clock;
        let entity = &mut self.queues[queue];
        entity.last_sequence += 1;
        let sequence = entity.last_sequence;
        let time_to_live = match (
            message.time_to_live,
            entity.options.default_message_time_to_live,
        ) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let expires_at = time_to_live.map(|ttl| now + ttl);
        let envelope = Arc::new(Envelope::accepted(
            message,
            sequence,
            clock.utc_at(now),
            expires_at.map(|at| clock.utc_at(at)),
        ));
        entity.active.insert(StoredMessage {
            envelope,
            state: MessageState::Available,
            expires_at,
            was_deferred: false,
        });
        if let Some(at) = expires_at {
            self.push_timer(at, TimerKind::TimeToLive { queue, sequence });
        }
        sequence
    }

    fn schedule(
        &mut self,
        meta: &OpMeta,
        path: &str,
        message: Message,
        enqueue_at: UtcTime,
    ) -> Result<u64, BrokerError> {
        let now = Instant::now();
        self.advance(now);
        let (target, mut event) =
            self.accept_message(meta, Operation::Schedule, "schedule", path, &message, now)?;
        // Scheduled messages take part in duplicate detection, at the send.
        if self.is_duplicate(target, &message, now) {
            self.trace.record(event.with_note("duplicate id: dropped"));
            return Ok(0);
        }
        // The sequence number identifies the schedule (to cancel it); on
        // activation the message gets a new one, as in Service Bus.
        let sequence = match target {
            Target::Queue(queue) => {
                self.queues[queue].last_sequence += 1;
                self.queues[queue].last_sequence
            }
            Target::Topic(topic) => {
                self.topics[topic].last_sequence += 1;
                self.topics[topic].last_sequence
            }
        };
        event.sequence_number = Some(sequence);
        self.trace
            .record(event.with_note(format!("for {enqueue_at}")));
        self.scheduled.insert((target, sequence), message);
        let due = self.clock.instant_at(enqueue_at).max(now);
        self.push_timer(due, TimerKind::Activation { target, sequence });
        self.advance(now);
        Ok(sequence)
    }

    fn activate(&mut self, target: Target, scheduled_as: u64, message: Message, at: Instant) {
        let path = match target {
            Target::Queue(queue) => Arc::clone(&self.queues[queue].path),
            Target::Topic(topic) => Arc::clone(&self.topics[topic].path),
        };
        let mut event = TraceEvent::new(
            self.clock.offset_of(at),
            Arc::clone(&path),
            Operation::Activated,
        );
        event.target = Some(path);
        event.message_id = Some(Arc::clone(&message.message_id));
        event.correlation_id = message.correlation_id.clone();
        let (sequence, _) = self.deliver_to(target, message, at);
        event.sequence_number = Some(sequence);
        self.trace
            .record(event.with_note(format!("scheduled as seq {scheduled_as}")));
    }

    fn cancel_scheduled(
        &mut self,
        meta: &OpMeta,
        path: &str,
        sequence_number: u64,
    ) -> Result<(), BrokerError> {
        let now = Instant::now();
        self.advance(now);
        let result = self
            .resolve_send_target(path, "cancel-scheduled")
            .and_then(|target| {
                self.scheduled.remove(&(target, sequence_number)).ok_or(
                    BrokerError::ScheduledMessageNotFound {
                        path: path.to_owned(),
                        sequence_number,
                    },
                )
            });
        match result {
            Ok(message) => {
                let mut event = self.event(meta, Operation::CancelScheduled, now);
                event.target = Some(self.path_arc(path));
                event.message_id = Some(message.message_id);
                event.sequence_number = Some(sequence_number);
                self.trace.record(event);
                Ok(())
            }
            Err(error) => {
                self.record_failure(meta, Operation::CancelScheduled, path, None, &error);
                Err(error)
            }
        }
    }

    // --- Receiving and settling ----------------------------------------------

    fn try_receive(
        &mut self,
        meta: &OpMeta,
        path: &str,
        mode: ReceiveMode,
        lose_lock: bool,
        now: Instant,
        operation: Operation,
    ) -> Result<Option<Delivery>, BrokerError> {
        let store = match self.resolve_store(path, "receive") {
            Ok(store) => store,
            Err(error) => {
                self.record_failure(meta, operation, path, None, &error);
                return Err(error);
            }
        };
        let Some(sequence) = self.store(store).next_deliverable() else {
            return Ok(None);
        };
        let delivery = self.deliver(meta, store, sequence, mode, now, operation);
        if lose_lock && mode == ReceiveMode::PeekLock {
            let path = self.store_path(store);
            let outcome = self
                .release_outcome(store, sequence, now)
                .unwrap_or(Release::VisibleAgain);
            let note = match outcome {
                Release::VisibleAgain => "connection dropped: lock lost, message visible again",
                Release::DeferredAgain => "connection dropped: lock lost, message deferred again",
                Release::DeliveryLimitReached => {
                    "connection dropped: lock lost, delivery limit reached"
                }
                Release::Expired => "connection dropped: lock lost, time-to-live ran out",
            };
            let event = self
                .internal_event(&path, Operation::LockLost, now, &delivery.envelope)
                .with_note(note);
            self.trace.record(event);
            self.release(store, sequence, now);
        }
        Ok(Some(delivery))
    }

    /// Hands a message out: counts the delivery and locks it (or removes it,
    /// in receive-and-delete mode).
    fn deliver(
        &mut self,
        meta: &OpMeta,
        store: StoreRef,
        sequence: u64,
        mode: ReceiveMode,
        now: Instant,
        operation: Operation,
    ) -> Delivery {
        let lock_duration = self.queues[store.queue].options.lock_duration;
        let path = self.store_path(store);
        self.next_lock += 1;
        let token = LockToken(self.next_lock);
        let until = now + lock_duration;
        let messages = self.store_mut(store);
        let envelope = match messages.get_mut(sequence) {
            Some(message) => {
                Arc::make_mut(&mut message.envelope).delivery_count += 1;
                Arc::clone(&message.envelope)
            }
            None => unreachable_message(sequence),
        };
        let (lock, locked_until) = match mode {
            ReceiveMode::ReceiveAndDelete => {
                messages.remove(sequence);
                (None, None)
            }
            ReceiveMode::PeekLock => {
                messages.set_state(
                    sequence,
                    MessageState::Locked {
                        token,
                        until,
                        holder: meta.connection,
                    },
                );
                (Some(token), Some(until))
            }
        };
        if locked_until.is_some() {
            self.push_timer(
                until,
                TimerKind::LockExpiry {
                    store,
                    sequence,
                    token,
                },
            );
        }
        let mut event = self.event(meta, operation, now);
        event.target = Some(Arc::clone(&path));
        describe_message(&mut event, &envelope);
        event.delivery_count = Some(envelope.delivery_count);
        if mode == ReceiveMode::ReceiveAndDelete {
            event.note = Some(crate::trace::RECEIVE_AND_DELETE_NOTE.into());
        }
        self.trace.record(event);
        Delivery {
            envelope,
            path,
            store,
            lock,
            locked_until: locked_until.map(|at| self.clock.utc_at(at)),
        }
    }

    /// Checks that `delivery`'s lock is still the one held.
    fn check_lock(&self, delivery: &Delivery) -> Result<(), BrokerError> {
        let Some(token) = delivery.lock else {
            return Err(BrokerError::NotLocked {
                message_id: delivery.message_id.to_string(),
            });
        };
        match self.store(delivery.store).get(delivery.sequence_number) {
            Some(StoredMessage {
                state: MessageState::Locked { token: held, .. },
                ..
            }) if *held == token => Ok(()),
            _ => Err(BrokerError::LockLost {
                message_id: delivery.message_id.to_string(),
            }),
        }
    }

    fn settle(
        &mut self,
        meta: &OpMeta,
        delivery: &Delivery,
        settlement: Settlement<'_>,
    ) -> Result<(), BrokerError> {
        let now = Instant::now();
        self.advance(now);
        let operation = match settlement {
            Settlement::Complete => Operation::Complete,
            Settlement::Abandon => Operation::Abandon,
            Settlement::DeadLetter { .. } => Operation::DeadLetter,
            Settlement::Defer => Operation::Defer,
        };
        let mut checked = self.check_lock(delivery);
        if checked.is_ok()
            && delivery.store.dead_letter
            && !matches!(settlement, Settlement::Complete | Settlement::Abandon)
        {
            checked = Err(BrokerError::InvalidOperation {
                operation: operation.name(),
                path: delivery.path.to_string(),
                why: "a dead letter can only be completed or abandoned",
            });
        }
        if let Err(error) = checked {
            let mut event = self.event(meta, operation, now);
            event.target = Some(Arc::clone(&delivery.path));
            describe_message(&mut event, &delivery.envelope);
            event.outcome = Outcome::Failed(error.to_string().into_boxed_str());
            self.trace.record(event);
            return Err(error);
        }
        let store = delivery.store;
        let sequence = delivery.sequence_number;
        let mut event = self.event(meta, operation, now);
        event.target = Some(Arc::clone(&delivery.path));
        describe_message(&mut event, &delivery.envelope);
        match settlement {
            Settlement::Complete => {
                self.store_mut(store).remove(sequence);
                self.trace.record(event);
            }
            Settlement::Abandon => {
                self.trace.record(event);
                self.release(store, sequence, now);
            }
            Settlement::DeadLetter {
                reason,
                description,
            } => {
                self.move_to_dead_letters(
                    store.queue,
                    sequence,
                    reason,
                    description,
                    now,
                    Some(meta),
                );
            }
            Settlement::Defer => {
                if let Some(message) = self.store_mut(store).get_mut(sequence) {
                    message.was_deferred = true;
                }
                self.store_mut(store)
                    .set_state(sequence, MessageState::Deferred);
                self.trace.record(event);
            }
        }
        Ok(())
    }

    fn renew_lock(
        &mut self,
        meta: &OpMeta,
        delivery: &mut Delivery,
    ) -> Result<UtcTime, BrokerError> {
        let now = Instant::now();
        self.advance(now);
        let mut event = self.event(meta, Operation::RenewLock, now);
        event.target = Some(Arc::clone(&delivery.path));
        describe_message(&mut event, &delivery.envelope);
        if let Err(error) = self.check_lock(delivery) {
            event.outcome = Outcome::Failed(error.to_string().into_boxed_str());
            self.trace.record(event);
            return Err(error);
        }
        let until = now + self.queues[delivery.store.queue].options.lock_duration;
        let (store, sequence) = (delivery.store, delivery.sequence_number);
        if let Some(token) = delivery.lock {
            self.store_mut(store).set_state(
                sequence,
                MessageState::Locked {
                    token,
                    until,
                    holder: meta.connection,
                },
            );
            self.push_timer(
                until,
                TimerKind::LockExpiry {
                    store,
                    sequence,
                    token,
                },
            );
        }
        let utc = self.clock.utc_at(until);
        delivery.locked_until = Some(utc);
        self.trace.record(event.with_note(format!(
            "locked until {}",
            crate::clock::format_offset(self.clock.offset_of(until))
        )));
        Ok(utc)
    }

    fn receive_deferred(
        &mut self,
        meta: &OpMeta,
        path: &str,
        sequence_number: u64,
    ) -> Result<Delivery, BrokerError> {
        let now = Instant::now();
        self.advance(now);
        let found = self
            .resolve_store(path, "receive-deferred")
            .and_then(|store| match self.store(store).get(sequence_number) {
                Some(message) if message.state == MessageState::Deferred => Ok(store),
                _ => Err(BrokerError::DeferredMessageNotFound {
                    path: path.to_owned(),
                    sequence_number,
                }),
            });
        match found {
            Ok(store) => Ok(self.deliver(
                meta,
                store,
                sequence_number,
                ReceiveMode::PeekLock,
                now,
                Operation::ReceiveDeferred,
            )),
            Err(error) => {
                self.record_failure(meta, Operation::ReceiveDeferred, path, None, &error);
                Err(error)
            }
        }
    }

    fn resubmit(
        &mut self,
        meta: &OpMeta,
        path: &str,
        sequence_number: u64,
    ) -> Result<u64, BrokerError> {
        let now = Instant::now();
        self.advance(now);
        let found = self.resolve_store(path, "resubmit").and_then(|store| {
            let dead_letters = StoreRef {
                dead_letter: true,
                ..store
            };
            match self.store(dead_letters).get(sequence_number) {
                Some(message) if message.state == MessageState::Available => Ok(dead_letters),
                _ => Err(BrokerError::InvalidOperation {
                    operation: "resubmit",
                    path: path.to_owned(),
                    why: "no unlocked dead letter has that sequence number",
                }),
            }
        });
        let store = match found {
            Ok(store) => store,
            Err(error) => {
                self.record_failure(meta, Operation::Resubmit, path, None, &error);
                return Err(error);
            }
        };
        let Some(dead) = self.store_mut(store).remove(sequence_number) else {
            return Err(BrokerError::DeferredMessageNotFound {
                path: path.to_owned(),
                sequence_number,
            });
        };
        let message = dead.envelope.to_message();
        let new_sequence = self.enqueue(store.queue, message, now);
        let mut event = self.event(meta, Operation::Resubmit, now);
        event.target = Some(Arc::clone(&self.queues[store.queue].path));
        describe_message(&mut event, &dead.envelope);
        event.sequence_number = Some(new_sequence);
        self.trace.record(event.with_note(format!(
            "dead letter seq {sequence_number} back as seq {new_sequence}"
        )));
        Ok(new_sequence)
    }
}

/// Copies a message's identifying fields into a trace event.
fn describe_message(event: &mut TraceEvent, envelope: &Envelope) {
    event.message_id = Some(Arc::clone(&envelope.message_id));
    event.correlation_id = envelope.correlation_id.clone();
    event.sequence_number = Some(envelope.sequence_number);
}

/// `deliver` is only called with a sequence number just found in the store,
/// under the same lock; reaching this is a bug in the broker, not in the
/// caller's code.
#[cold]
fn unreachable_message(sequence: u64) -> ! {
    panic!("broker invariant broken: message {sequence} vanished under the lock")
}

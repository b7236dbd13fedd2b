//! Queues: where messages wait for a receiver.
//!
//! A queue (and each topic subscription, which behaves exactly like one) is
//! two message stores: the *active* one, which receivers read, and its
//! dead-letter queue (`<path>/$deadletterqueue`). Within a store every message
//! is in one of three states: available, locked by a receiver, or deferred.
//!
//! Competing consumers are simply several receivers on one queue: each
//! available message goes to exactly one of them at a time, lowest sequence
//! number first. That is FIFO *delivery*, not FIFO *processing*: with two
//! consumers, message 2 can finish before message 1, and an abandoned or
//! expired message comes back after later ones were handled. Sessions restore
//! order per key (see [`QueueOptions::requires_session`]), and so do
//! partition keys, Kafka-style (see [`QueueOptions::fifo_per_partition_key`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::envelope::Envelope;
use crate::lock::{ConnectionId, LockToken};

/// Service Bus's default lock duration: 60 s (the maximum is 5 min).
pub const DEFAULT_LOCK_DURATION: Duration = Duration::from_secs(60);
/// Service Bus's default maximum delivery count: 10 (the minimum is 1).
pub const DEFAULT_MAX_DELIVERY_COUNT: u32 = 10;
/// Service Bus's default duplicate-detection window: 10 minutes.
pub const DEFAULT_DUPLICATE_DETECTION_WINDOW: Duration = Duration::from_secs(600);
/// Service Bus's longest lock: 5 minutes. Work that takes longer renews the
/// lock ([`crate::Client::renew_lock`]) rather than asking for a longer one.
pub const MAX_LOCK_DURATION: Duration = Duration::from_secs(5 * 60);
/// Service Bus's shortest duplicate-detection window: 20 seconds.
pub const MIN_DUPLICATE_DETECTION_WINDOW: Duration = Duration::from_secs(20);
/// Service Bus's longest duplicate-detection window: 7 days.
pub const MAX_DUPLICATE_DETECTION_WINDOW: Duration = Duration::from_secs(7 * 24 * 3600);

/// How a queue or subscription behaves. The defaults are Service Bus's.
///
/// ```
/// use std::time::Duration;
/// use broker::QueueOptions;
/// let options = QueueOptions::default()
///     .with_lock_duration(Duration::from_secs(30))
///     .with_duplicate_detection();
/// assert_eq!(options.max_delivery_count, 10);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueOptions {
    /// How long a peek-lock lasts before the message is handed to someone
    /// else. Too short and slow work is done twice; too long and a crashed
    /// consumer's messages wait that long to be retried.
    pub lock_duration: Duration,
    /// After this many deliveries the next abandon or expiry moves the message
    /// to the dead-letter queue (`MaxDeliveryCountExceeded`). Stops a poison
    /// message from being retried forever. A RabbitMQ quorum queue's
    /// `delivery-limit` is 20 by default (since 4.0) and counts returns, not
    /// deliveries, so a failing message is handed out once more than its
    /// limit there (the conformance suite checks it); NATS redelivers without
    /// limit by default; SQS stops only with a redrive policy.
    pub max_delivery_count: u32,
    /// How long a message may wait before it expires, unless the message asks
    /// for less. `None`: forever (Service Bus's default is effectively that).
    pub default_message_time_to_live: Option<Duration>,
    /// Whether an expired message goes to the dead-letter queue
    /// (`TTLExpiredException`) instead of vanishing. Off by default, as in
    /// Service Bus: an expired message is silently dropped unless you ask.
    pub dead_lettering_on_message_expiration: bool,
    /// Whether every message must carry a session id, and messages of one
    /// session are delivered strictly in order, one at a time.
    ///
    /// The model: a session's next message is handed out only when none of
    /// its messages is locked, to whichever receiver asks first. That is SQS
    /// FIFO's message groups exactly. Service Bus goes one step further: a
    /// receiver *accepts* a session and holds a session lock across many
    /// messages (and session state); the ordering guarantee is the same.
    /// Kafka orders per partition, chosen by the record key; RabbitMQ only
    /// per queue with a single active consumer.
    pub requires_session: bool,
    /// Kafka-style ordering: messages with the same partition key are
    /// delivered in order, one at a time, as a Kafka partition is consumed by
    /// one consumer of a group; messages without a key are not ordered.
    /// Ignored when the entity requires sessions (the session id is then the
    /// key). Off by default: Service Bus uses the partition key only to pick
    /// a partition, and promises order only with sessions.
    pub fifo_per_partition_key: bool,
    /// Duplicate detection on this queue: `Some(window)` drops a message whose
    /// id was seen within the window. Off by default, as in Service Bus (it
    /// has to be chosen when the queue is created); for topics it is set on the
    /// topic (see [`crate::TopicOptions`]).
    pub duplicate_detection_window: Option<Duration>,
}

impl Default for QueueOptions {
    fn default() -> QueueOptions {
        QueueOptions {
            lock_duration: DEFAULT_LOCK_DURATION,
            max_delivery_count: DEFAULT_MAX_DELIVERY_COUNT,
            default_message_time_to_live: None,
            dead_lettering_on_message_expiration: false,
            requires_session: false,
            fifo_per_partition_key: false,
            duplicate_detection_window: None,
        }
    }
}

impl QueueOptions {
    /// Sets the lock duration.
    pub fn with_lock_duration(mut self, lock_duration: Duration) -> QueueOptions {
        self.lock_duration = lock_duration;
        self
    }

    /// Sets the maximum delivery count (at least 1).
    pub fn with_max_delivery_count(mut self, max_delivery_count: u32) -> QueueOptions {
        self.max_delivery_count = max_delivery_count.max(1);
        self
    }

    /// Sets the default time-to-live.
    pub fn with_default_time_to_live(mut self, time_to_live: Duration) -> QueueOptions {
        self.default_message_time_to_live = Some(time_to_live);
        self
    }

    /// Dead-letters expired messages instead of dropping them.
    pub fn with_dead_lettering_on_expiration(mut self) -> QueueOptions {
        self.dead_lettering_on_message_expiration = true;
        self
    }

    /// Requires sessions (FIFO per session id).
    pub fn with_sessions(mut self) -> QueueOptions {
        self.requires_session = true;
        self
    }

    /// Delivers messages of one partition key in order, one at a time.
    pub fn with_fifo_per_partition_key(mut self) -> QueueOptions {
        self.fifo_per_partition_key = true;
        self
    }

    /// Turns duplicate detection on with the default 10-minute window.
    pub fn with_duplicate_detection(self) -> QueueOptions {
        self.with_duplicate_detection_window(DEFAULT_DUPLICATE_DETECTION_WINDOW)
    }

    /// Turns duplicate detection on with a window.
    pub fn with_duplicate_detection_window(mut self, window: Duration) -> QueueOptions {
        self.duplicate_detection_window = Some(window);
        self
    }

    /// Why these options are outside Service Bus's limits, if they are:
    /// - a lock duration of zero, or over 5 minutes;
    /// - a max delivery count under 1;
    /// - a duplicate-detection window under 20 seconds or over 7 days.
    ///
    /// The broker refuses to create such an entity, as Service Bus does, so
    /// that a lesson learnt here holds on the real thing.
    pub fn limit_broken(&self) -> Option<&'static str> {
        if self.lock_duration.is_zero() || self.lock_duration > MAX_LOCK_DURATION {
            return Some("the lock duration must be more than zero and at most 5 minutes");
        }
        if self.max_delivery_count == 0 {
            return Some("the maximum delivery count must be at least 1");
        }
        duplicate_window_limit_broken(self.duplicate_detection_window)
    }

    /// Which envelope field orders delivery on this entity.
    pub(crate) fn ordering(&self) -> OrderingKey {
        if self.requires_session {
            OrderingKey::SessionId
        } else if self.fifo_per_partition_key {
            OrderingKey::PartitionKey
        } else {
            OrderingKey::None
        }
    }
}

/// Why a duplicate-detection window is outside Service Bus's limits, if it
/// is.
pub(crate) fn duplicate_window_limit_broken(window: Option<Duration>) -> Option<&'static str> {
    match window {
        Some(window)
            if !(MIN_DUPLICATE_DETECTION_WINDOW..=MAX_DUPLICATE_DETECTION_WINDOW)
                .contains(&window) =>
        {
            Some("the duplicate-detection window must be between 20 seconds and 7 days")
        }
        _ => None,
    }
}

/// What groups messages that must be delivered in order, one at a time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum OrderingKey {
    /// Nothing: any available message may go to any receiver.
    #[default]
    None,
    /// The session id (Service Bus sessions, SQS FIFO message groups).
    SessionId,
    /// The partition key (Kafka's record key).
    PartitionKey,
}

impl OrderingKey {
    fn of(self, envelope: &Envelope) -> Option<&Arc<str>> {
        match self {
            OrderingKey::None => None,
            OrderingKey::SessionId => envelope.session_id.as_ref(),
            OrderingKey::PartitionKey => envelope.partition_key.as_ref(),
        }
    }
}

/// Where a stored message stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum MessageState {
    /// Waiting for a receiver.
    Available,
    /// Handed to a receiver, who must settle it before `until`.
    Locked {
        token: LockToken,
        until: Instant,
        holder: ConnectionId,
    },
    /// Set aside: only [`crate::Client::receive_deferred`] by sequence number
    /// returns it.
    /// Deferred messages ignore their time-to-live here (Service Bus does not
    /// dead-letter them on expiry either; it removes them lazily).
    Deferred,
}

/// A message in a store, with its state.
#[derive(Clone, Debug)]
pub(crate) struct StoredMessage {
    /// Shared with the deliveries handed out: a delivery costs a reference
    /// count, not a copy. Changed (delivery count, dead-letter reason) by
    /// copy-on-write, so a receiver's delivery never changes under it.
    pub(crate) envelope: Arc<Envelope>,
    pub(crate) state: MessageState,
    /// When the time-to-live runs out (tokio time), if it does.
    pub(crate) expires_at: Option<Instant>,
    /// Whether the message was deferred before its current lock: abandoning a
    /// received deferred message defers it again, as in Service Bus.
    pub(crate) was_deferred: bool,
}

/// The messages of one queue, subscription or dead-letter queue.
#[derive(Debug, Default)]
pub(crate) struct MessageStore {
    /// Every message, by sequence number. A `BTreeMap`, never a `HashMap`,
    /// here and everywhere in the broker: iteration order must not depend on a
    /// random hash seed, or two runs of one scenario would differ. Boxed:
    /// B-tree nodes filled in sequence order stay about half full, and
    /// half-empty slots of pointers waste far less than half-empty slots of
    /// whole messages (it matters for a million dead letters).
    messages: BTreeMap<u64, Box<StoredMessage>>,
    /// The sequence numbers of the available messages: receivers take the
    /// lowest.
    available: BTreeSet<u64>,
    /// Ordering keys (sessions) with a locked message, and how many: a key is
    /// handed to one receiver at a time.
    busy_sessions: BTreeMap<Arc<str>, usize>,
    /// Which field is the ordering key in this store (none in a dead-letter
    /// queue: dead letters are for people, not for ordered processing).
    ordering: OrderingKey,
}

impl MessageStore {
    /// Adds an available message.
    pub(crate) fn insert(&mut self, message: StoredMessage) {
        let sequence = message.envelope.sequence_number;
        if message.state == MessageState::Available {
            self.available.insert(sequence);
        }
        self.messages.insert(sequence, Box::new(message));
    }

    /// The message to deliver next: the lowest available sequence number; with
    /// sessions, the lowest one whose session has nothing locked (so each
    /// session is worked in order, one message at a time).
    pub(crate) fn next_deliverable(&self) -> Option<u64> {
        if self.ordering == OrderingKey::None {
            return self.available.first().copied();
        }
        self.available.iter().copied().find(|sequence| {
            self.ordering
                .of(&self.messages[sequence].envelope)
                .is_none_or(|key| !self.busy_sessions.contains_key(key))
        })
    }

    /// An empty store ordered by `ordering`.
    pub(crate) fn ordered_by(ordering: OrderingKey) -> MessageStore {
        MessageStore {
            ordering,
            ..MessageStore::default()
        }
    }

    pub(crate) fn get(&self, sequence: u64) -> Option<&StoredMessage> {
        self.messages.get(&sequence).map(|message| &**message)
    }

    pub(crate) fn get_mut(&mut self, sequence: u64) -> Option<&mut StoredMessage> {
        self.messages
            .get_mut(&sequence)
            .map(|message| &mut **message)
    }

    /// Moves a message to a new state, keeping the indexes right.
    pub(crate) fn set_state(&mut self, sequence: u64, state: MessageState) {
        let Some(message) = self.messages.get_mut(&sequence) else {
            return;
        };
        let session = self.ordering.of(&message.envelope).cloned();
        Self::leave(
            &mut self.available,
            &mut self.busy_sessions,
            sequence,
            session.as_ref(),
            &message.state,
        );
        Self::enter(
            &mut self.available,
            &mut self.busy_sessions,
            sequence,
            session.as_ref(),
            &state,
        );
        message.state = state;
    }

    /// Removes a message.
    pub(crate) fn remove(&mut self, sequence: u64) -> Option<StoredMessage> {
        let message = *self.messages.remove(&sequence)?;
        Self::leave(
            &mut self.available,
            &mut self.busy_sessions,
            sequence,
            self.ordering.of(&message.envelope),
            &message.state,
        );
        Some(message)
    }

    /// Every message, in sequence order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &StoredMessage> {
        self.messages.values().map(|message| &**message)
    }

    pub(crate) fn len(&self) -> usize {
        self.messages.len()
    }

    fn leave(
        available: &mut BTreeSet<u64>,
        busy: &mut BTreeMap<Arc<str>, usize>,
        sequence: u64,
        session: Option<&Arc<str>>,
        state: &MessageState,
    ) {
        match state {
            MessageState::Available => {
                available.remove(&sequence);
            }
            MessageState::Locked { .. } => {
                if let Some(session) = session
                    && let Some(count) = busy.get_mut(session)
                {
                    *count -= 1;
                    if *count == 0 {
                        busy.remove(session);
                    }
                }
            }
            MessageState::Deferred => {}
        }
    }

    fn enter(
        available: &mut BTreeSet<u64>,
        busy: &mut BTreeMap<Arc<str>, usize>,
        sequence: u64,
        session: Option<&Arc<str>>,
        state: &MessageState,
    ) {
        match state {
            MessageState::Available => {
                available.insert(sequence);
            }
            MessageState::Locked { .. } => {
                if let Some(session) = session {
                    *busy.entry(Arc::clone(session)).or_insert(0) += 1;
                }
            }
            MessageState::Deferred => {}
        }
    }
}

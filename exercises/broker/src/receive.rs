//! Receiving: the two receive modes, and what a receiver gets.
//!
//! - **Peek-lock** (the default in every Service Bus SDK): the message is
//!   locked, not removed, and the receiver settles it when it is done. A crash
//!   before settling means a redelivery, never a loss: *at-least-once*.
//! - **Receive-and-delete**: the broker forgets the message as it hands it
//!   out. A crash after the receive and before the work is done loses it:
//!   *at-most-once*. Fast, simple, and the wrong default for anything that
//!   matters. RabbitMQ's `no_ack: true`, NATS's `AckPolicy::None`, MQTT's
//!   default automatic acks and Kafka's auto-commit (see
//!   [`crate::AutoCommitConsumer`]) are its cousins: chapter 3 is about
//!   checking which one your client library gives you by default.

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::UtcTime;
use crate::envelope::Envelope;
use crate::lock::LockToken;

/// How a receive settles what it gets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ReceiveMode {
    /// Lock the message; the receiver settles it (complete, abandon,
    /// dead-letter, defer). At-least-once.
    #[default]
    PeekLock,
    /// Remove the message as it is handed out. At-most-once.
    ReceiveAndDelete,
}

/// Options for one receive.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReceiveOptions {
    /// Peek-lock (default) or receive-and-delete.
    pub mode: ReceiveMode,
    /// How long to wait for a message before returning `None`; `None` waits
    /// forever. (Service Bus SDKs default to about a minute; a consumer loop
    /// that waits forever is simpler to read, and virtual time makes the wait
    /// free.)
    pub max_wait: Option<Duration>,
}

impl ReceiveOptions {
    /// Peek-lock, waiting at most `max_wait`.
    pub fn wait_at_most(max_wait: Duration) -> ReceiveOptions {
        ReceiveOptions {
            mode: ReceiveMode::PeekLock,
            max_wait: Some(max_wait),
        }
    }

    /// Receive-and-delete, waiting forever.
    pub fn receive_and_delete() -> ReceiveOptions {
        ReceiveOptions {
            mode: ReceiveMode::ReceiveAndDelete,
            max_wait: None,
        }
    }

    /// Sets the mode.
    pub fn with_mode(mut self, mode: ReceiveMode) -> ReceiveOptions {
        self.mode = mode;
        self
    }
}

/// A received message: its envelope (through `Deref`), where it came from, and
/// the lock that lets the receiver settle it.
///
/// Keep the `Delivery` until you settle it; settling takes it by reference
/// because a failed settle (a lost lock, an unavailable broker) leaves you
/// holding it to decide what to do.
#[derive(Clone, Debug, PartialEq)]
pub struct Delivery {
    pub(crate) envelope: Arc<Envelope>,
    /// The path it was received from (a queue, a subscription, or one of
    /// their dead-letter queues).
    pub(crate) path: Arc<str>,
    pub(crate) store: crate::broker::StoreRef,
    /// `None` for a receive-and-delete delivery.
    pub(crate) lock: Option<LockToken>,
    pub(crate) locked_until: Option<UtcTime>,
}

impl Delivery {
    /// The envelope.
    pub fn envelope(&self) -> &Envelope {
        &self.envelope
    }

    /// The path the message was received from.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The lock token, if the message was received under peek-lock.
    pub fn lock_token(&self) -> Option<LockToken> {
        self.lock
    }

    /// When the lock expires unless renewed, if there is one.
    pub fn locked_until(&self) -> Option<UtcTime> {
        self.locked_until
    }
}

impl Deref for Delivery {
    type Target = Envelope;
    fn deref(&self) -> &Envelope {
        &self.envelope
    }
}

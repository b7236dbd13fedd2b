//! Peek-lock: how a broker hands a message out without losing it.
//!
//! A receive in peek-lock mode does not remove the message. It *locks* it: for
//! the lock duration (60 s by default, as in Service Bus) no competing
//! receiver sees it. The receiver then settles it:
//!
//! - **complete**: done, remove it;
//! - **abandon**: give it back now, for someone to try again;
//! - **dead-letter**: it will never work, move it aside with a reason;
//! - **defer**: keep it, but only hand it out by sequence number.
//!
//! If the receiver crashes, or is slower than the lock, the lock *expires* and
//! the message becomes visible again with its delivery count one higher. That
//! is at-least-once delivery: the broker would rather deliver twice than lose
//! a message. The receiver that lost its lock finds out when it tries to
//! settle ([`crate::BrokerError::LockLost`]), which means somebody else may be
//! handling the same message right now: hence idempotent consumers.
//!
//! The same idea under other names: SQS's visibility timeout (30 s default,
//! settled with `DeleteMessage`), NATS JetStream's `AckWait` (30 s, `ack`),
//! RabbitMQ's unacked deliveries (no per-message lock: they are requeued as
//! soon as the channel or connection closes, and a delivery left unacked for
//! `consumer_timeout`, 30 min by default, is taken back: up to 4.2 by closing
//! the whole channel, from 4.3 on quorum queues only, which return the
//! messages and send the consumer a `basic.cancel` if its client supports
//! it). Kafka has no per-message lock at all: a partition belongs to one
//! consumer of a group, and the committed offset says how far it got.

use std::fmt;

/// The proof that a receiver holds a message's lock. Settling needs it; a
/// stale token (the lock expired, and maybe someone else holds a new one) is
/// refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LockToken(pub(crate) u64);

impl fmt::Display for LockToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "lock-{}", self.0)
    }
}

/// Who holds a lock: the connection a receiver used. The simulation gives each
/// life of a service its own connection, so that a crash can be told apart
/// from a slow consumer (Kafka-style auto-commit dies with its connection).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnectionId(pub(crate) u64);

//! What can go wrong in a broker operation.

use crate::tier::{Feature, Tier};

/// The error of a broker operation.
///
/// Two variants are never produced by the broker itself but by the
/// simulation's fault injection, because they are what the network does to a
/// client: [`BrokerError::Unavailable`] (the request never got through) and
/// [`BrokerError::Timeout`] (the request may well have been carried out, but
/// the reply was lost: the Two Generals problem in one variant).
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum BrokerError {
    /// No queue, topic or subscription has this path.
    #[error("messaging entity `{path}` could not be found")]
    EntityNotFound {
        /// The path asked for.
        path: String,
    },

    /// An entity with this path exists already.
    #[error("messaging entity `{path}` already exists")]
    EntityAlreadyExists {
        /// The path asked for.
        path: String,
    },

    /// Sending to a subscription or a dead-letter queue, or receiving from a
    /// topic: the operation does not apply to that kind of entity. Also
    /// creating an entity with options outside Service Bus's limits (see
    /// [`crate::QueueOptions::limit_broken`]).
    #[error("`{operation}` is not possible on `{path}`: {why}")]
    InvalidOperation {
        /// What was attempted.
        operation: &'static str,
        /// On which entity.
        path: String,
        /// Why not.
        why: &'static str,
    },

    /// The message is larger than the tier allows.
    #[error("message `{message_id}` is {size} bytes; the {tier} tier allows at most {limit}")]
    MessageTooLarge {
        /// The message's id.
        message_id: String,
        /// Its size (body plus properties).
        size: usize,
        /// The tier's limit.
        limit: usize,
        /// The namespace's tier.
        tier: Tier,
    },

    /// The tier does not offer a feature the operation needs.
    #[error("the {tier} tier does not support {feature}")]
    NotSupportedByTier {
        /// The missing feature.
        feature: Feature,
        /// The namespace's tier.
        tier: Tier,
    },

    /// A message without a session id sent to an entity that requires
    /// sessions (Service Bus dead-letters these with `Session ID is null.`;
    /// we refuse the send, so the producer hears about it).
    #[error("`{path}` requires a session id, and message `{message_id}` has none")]
    SessionIdRequired {
        /// The entity.
        path: String,
        /// The message's id.
        message_id: String,
    },

    /// Settling (complete, abandon, dead-letter, defer) or renewing with a lock
    /// that is no longer held: it expired, or the message was settled already,
    /// or the lock was lost with the connection. Service Bus's
    /// `MessageLockLost`. Someone else may be handling the message right now.
    #[error("the lock on message `{message_id}` was lost (it expired or the message was settled)")]
    LockLost {
        /// The message's id.
        message_id: String,
    },

    /// A received-and-deleted message has no lock, so there is nothing to
    /// settle: the broker forgot it when it handed it out.
    #[error(
        "message `{message_id}` was received in receive-and-delete mode: it has no lock to settle"
    )]
    NotLocked {
        /// The message's id.
        message_id: String,
    },

    /// No deferred message has this sequence number.
    #[error("no deferred message with sequence number {sequence_number} in `{path}`")]
    DeferredMessageNotFound {
        /// The entity.
        path: String,
        /// The sequence number asked for.
        sequence_number: u64,
    },

    /// No scheduled message has this sequence number (it was activated or
    /// cancelled already).
    #[error("no scheduled message with sequence number {sequence_number} in `{path}`")]
    ScheduledMessageNotFound {
        /// The entity.
        path: String,
        /// The sequence number asked for.
        sequence_number: u64,
    },

    /// Injected: the broker could not be reached, so nothing happened.
    #[error("the broker is unavailable")]
    Unavailable,

    /// Injected: the broker did not answer in time. The operation may or may
    /// not have been carried out.
    #[error("the operation timed out: it may or may not have been carried out")]
    Timeout,
}

//! Dead-letter queues: where messages go that cannot be processed.
//!
//! Every queue and subscription has one, at `<path>/$deadletterqueue`. A
//! message lands there when:
//!
//! - a receiver dead-letters it explicitly, with a reason and a description
//!   (the producer's bug report: make it actionable);
//! - it was delivered [`crate::QueueOptions::max_delivery_count`] times and
//!   abandoned or let expire once more: reason [`MAX_DELIVERY_COUNT_EXCEEDED`];
//! - its time-to-live ran out and the entity dead-letters on expiration:
//!   reason [`TTL_EXPIRED`].
//!
//! A dead-letter queue is read like any queue (receive, complete). Its
//! messages never expire and cannot be dead-lettered again; nothing empties it
//! but you. Resubmitting ([`crate::Client::resubmit_dead_letter`]) puts a
//! message back into its entity as a new message. In Service Bus that is a
//! tool's job (receive from the DLQ, send a copy, complete the dead letter);
//! note that a resubmitted message arrives *after* newer ones: replaying dead
//! letters is one way events get out of order (chapter 6). A simplification:
//! our resubmit puts the message straight back into its queue or subscription,
//! so duplicate detection does not see it. A real tool *sends* the copy, to a
//! subscription's topic (every subscription gets it again) and through
//! duplicate detection (within the window, the copy is silently dropped,
//! because its message id was seen: resubmit with a new id, or after the
//! window).
//!
//! Elsewhere: RabbitMQ routes rejected, expired or over-delivered messages to
//! a dead-letter *exchange* with an `x-death` header; SQS moves them after
//! `maxReceiveCount` via a redrive policy; Kafka and NATS have no DLQ of their
//! own (frameworks publish failed records to a `*.DLT` topic).

/// The system's reason for a message delivered too often.
pub const MAX_DELIVERY_COUNT_EXCEEDED: &str = "MaxDeliveryCountExceeded";
/// The system's reason for a message whose time-to-live ran out.
pub const TTL_EXPIRED: &str = "TTLExpiredException";
/// The suffix of a dead-letter queue's path.
pub const DEAD_LETTER_QUEUE_SUFFIX: &str = "/$deadletterqueue";

/// The path of the dead-letter queue of a queue or subscription.
pub fn dead_letter_path(entity: &str) -> String {
    format!("{entity}{DEAD_LETTER_QUEUE_SUFFIX}")
}

//! What a run shows: questions graders ask of a [`Run`].
//!
//! They read the trace and the final state, never the services' memory (which
//! a crash may have wiped): an anomaly is something the outside world could
//! observe.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::downstream::DownstreamCall;
use super::runtime::Run;
use crate::envelope::Envelope;
use crate::trace::{Operation, TraceEvent, events_for_message};

impl Run {
    /// The ids of the messages `path` accepted (sent, scheduled and activated,
    /// or resubmitted), in first-accepted order, each once. A send dropped by
    /// duplicate detection is not counted: its id was accepted before.
    pub fn accepted(&self, path: &str) -> Vec<Arc<str>> {
        let mut seen = BTreeSet::new();
        self.events
            .iter()
            .filter(|event| {
                matches!(
                    event.operation,
                    Operation::Send | Operation::Activated | Operation::Resubmit
                ) && event.target.as_deref() == Some(path)
                    && event.outcome.is_ok()
                    && event.sequence_number.is_some()
            })
            .filter_map(|event| event.message_id.clone())
            .filter(|id| seen.insert(Arc::clone(id)))
            .collect()
    }

    /// Whether a message with correlation id `correlation_id` was sent to
    /// `path` (accepted, or dropped as a duplicate of one that was): how a
    /// grader sees that a result was published for a message.
    pub fn published_for(&self, path: &str, correlation_id: &str) -> bool {
        self.events.iter().any(|event| {
            event.operation == Operation::Send
                && event.target.as_deref() == Some(path)
                && event.outcome.is_ok()
                && event.correlation_id.as_deref() == Some(correlation_id)
        })
    }

    /// How many messages with correlation id `correlation_id` `path`
    /// accepted (duplicates dropped by the broker not counted).
    pub fn published_count(&self, path: &str, correlation_id: &str) -> usize {
        self.events
            .iter()
            .filter(|event| {
                event.operation == Operation::Send
                    && event.target.as_deref() == Some(path)
                    && event.outcome.is_ok()
                    && event.sequence_number.is_some()
                    && event.correlation_id.as_deref() == Some(correlation_id)
            })
            .count()
    }

    /// How many times message `message_id` was handed to a receiver from
    /// `path`.
    pub fn deliveries(&self, path: &str, message_id: &str) -> usize {
        self.events
            .iter()
            .filter(|event| {
                event.operation.is_delivery()
                    && event.outcome.is_ok()
                    && event.target.as_deref() == Some(path)
                    && event.message_id.as_deref() == Some(message_id)
            })
            .count()
    }

    /// Whether message `message_id` was settled off `path`: completed,
    /// auto-committed, or received in receive-and-delete mode.
    pub fn removed(&self, path: &str, message_id: &str) -> bool {
        self.events.iter().any(|event| {
            event.target.as_deref() == Some(path)
                && event.message_id.as_deref() == Some(message_id)
                && event.outcome.is_ok()
                && (matches!(event.operation, Operation::Complete | Operation::AutoCommit)
                    || (event.operation == Operation::Receive
                        && event
                            .note
                            .as_deref()
                            .is_some_and(|note| note.starts_with("receive-and-delete"))))
        })
    }

    /// The messages still in a queue, subscription or dead-letter queue at
    /// the end (whatever their state). Empty if the path does not exist.
    pub fn remaining(&self, path: &str) -> Vec<Envelope> {
        self.broker.peek(path).unwrap_or_default()
    }

    /// Whether message `message_id` is still in `path` or its dead-letter
    /// queue at the end: not lost, at least.
    pub fn still_held(&self, path: &str, message_id: &str) -> bool {
        let dead_letters = crate::dead_letter::dead_letter_path(path);
        self.remaining(path)
            .iter()
            .chain(self.remaining(&dead_letters).iter())
            .any(|envelope| &*envelope.message_id == message_id)
    }

    /// The calls that reached downstream system `system`.
    pub fn calls_to(&self, system: &str) -> Vec<&DownstreamCall> {
        self.downstream_calls
            .iter()
            .filter(|call| &*call.system == system)
            .collect()
    }

    /// The events about one message, with the crashes and restarts of the
    /// services that touched it.
    pub fn events_for_message(&self, message_id: &str) -> Vec<TraceEvent> {
        events_for_message(&self.events, message_id)
    }

    /// The first event with operation number `number` (what a fault plan
    /// entry hit), if the run got that far.
    pub fn operation(&self, number: u64) -> Option<&TraceEvent> {
        self.events
            .iter()
            .find(|event| event.operation_number == Some(number))
    }
}

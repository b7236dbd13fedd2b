//! Topics and subscriptions: publish once, every interested party gets a copy.
//!
//! A sender sends to a topic exactly as to a queue. The topic keeps nothing
//! itself: it hands a copy of the message to each of its subscriptions whose
//! filter matches, and each subscription then behaves as its own queue, with
//! its own locks, delivery counts and dead-letter queue
//! (`<topic>/Subscriptions/<name>/$deadletterqueue`). One slow or failing
//! subscriber therefore never holds the others back.
//!
//! One simplification to know about: each subscription numbers its copies
//! itself (1, 2, 3, … per subscription), so a subscription's sequence
//! numbers are gap-free even when its filter skips messages. Service Bus
//! stamps every copy with the *topic's* sequence number instead, so a
//! filtered subscription sees gaps there. Either way, use the number to
//! receive a deferred message from that subscription, never to detect a
//! missing message.
//!
//! Service Bus filters are SQL-like or correlation filters over the headers
//! (never the body); we model the correlation filter on application
//! properties, plus match-all. In RabbitMQ the same shape is an exchange bound
//! to one queue per consumer group; in Kafka it is a topic read by several
//! consumer groups, each with its own offsets; in NATS, subjects with
//! wildcards; in SNS+SQS, a topic fanning out to queues.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::envelope::Message;
use crate::queue::{DEFAULT_DUPLICATE_DETECTION_WINDOW, QueueOptions};

/// How a topic behaves.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TopicOptions {
    /// Duplicate detection happens at the topic, before the fan-out, as in
    /// Service Bus. `None`: off (the default).
    pub duplicate_detection_window: Option<Duration>,
}

impl TopicOptions {
    /// Turns duplicate detection on with the default 10-minute window.
    pub fn with_duplicate_detection(mut self) -> TopicOptions {
        self.duplicate_detection_window = Some(DEFAULT_DUPLICATE_DETECTION_WINDOW);
        self
    }
}

/// Which messages a subscription takes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum SubscriptionFilter {
    /// Every message (Service Bus's default `TrueFilter` rule).
    #[default]
    All,
    /// Messages whose application properties have all these values (a
    /// correlation filter: an AND of case-sensitive equalities).
    Properties(BTreeMap<String, String>),
}

impl SubscriptionFilter {
    /// A filter on one property.
    pub fn property(name: impl Into<String>, value: impl Into<String>) -> SubscriptionFilter {
        SubscriptionFilter::Properties(BTreeMap::from([(name.into(), value.into())]))
    }

    /// Whether `message` passes.
    pub fn matches(&self, message: &Message) -> bool {
        match self {
            SubscriptionFilter::All => true,
            SubscriptionFilter::Properties(wanted) => wanted
                .iter()
                .all(|(name, value)| message.application_properties.get(name) == Some(value)),
        }
    }
}

/// How a subscription behaves: a queue's options plus a filter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SubscriptionOptions {
    /// Lock duration, delivery count, TTL, sessions: as for a queue.
    /// (Duplicate detection is the topic's business; a window set here is
    /// ignored.)
    pub queue: QueueOptions,
    /// Which messages it takes.
    pub filter: SubscriptionFilter,
}

impl SubscriptionOptions {
    /// Sets the queue-like options.
    pub fn with_queue_options(mut self, queue: QueueOptions) -> SubscriptionOptions {
        self.queue = queue;
        self
    }

    /// Sets the filter.
    pub fn with_filter(mut self, filter: SubscriptionFilter) -> SubscriptionOptions {
        self.filter = filter;
        self
    }
}

/// The path of a subscription: `<topic>/Subscriptions/<name>`, as in Service
/// Bus.
pub fn subscription_path(topic: &str, subscription: &str) -> String {
    format!("{topic}/Subscriptions/{subscription}")
}

//! Duplicate detection: the broker remembers message ids for a while.
//!
//! A producer that times out waiting for a send confirmation cannot know
//! whether the broker stored the message (the Two Generals problem). If it
//! retries with the *same message id*, an entity with duplicate detection
//! remembers the id for the window (10 minutes by default in Service Bus) and
//! drops the second copy while reporting success, so the producer can retry
//! safely. It only works if the id is deterministic: a fresh random id per
//! attempt defeats it.
//!
//! Elsewhere: Kafka's idempotent producer deduplicates by producer id and
//! sequence number instead (on by default in the Java client since 3.0, off in
//! librdkafka). NATS JetStream uses the `Nats-Msg-Id` header (a 2-minute
//! window). SQS FIFO queues use `MessageDeduplicationId` (5 minutes). Classic
//! RabbitMQ queues do not deduplicate at all.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

/// The ids an entity saw within its window.
#[derive(Debug)]
pub(crate) struct DuplicateDetection {
    window: Duration,
    /// Id → when it was first seen. A duplicate does not extend the window:
    /// the clock starts at the original send.
    seen: BTreeMap<Arc<str>, Instant>,
    /// The same ids in arrival order, so forgetting old ones is cheap.
    arrivals: VecDeque<(Instant, Arc<str>)>,
}

impl DuplicateDetection {
    pub(crate) fn new(window: Duration) -> DuplicateDetection {
        DuplicateDetection {
            window,
            seen: BTreeMap::new(),
            arrivals: VecDeque::new(),
        }
    }

    /// Records `message_id` as sent now; returns `true` if it is a duplicate
    /// (seen within the window), which the caller then drops.
    pub(crate) fn is_duplicate(&mut self, message_id: &Arc<str>, now: Instant) -> bool {
        while let Some((seen_at, _)) = self.arrivals.front() {
            if *seen_at + self.window > now {
                break;
            }
            if let Some((seen_at, id)) = self.arrivals.pop_front()
                && self.seen.get(&id) == Some(&seen_at)
            {
                self.seen.remove(&id);
            }
        }
        if self.seen.contains_key(message_id) {
            return true;
        }
        self.seen.insert(Arc::clone(message_id), now);
        self.arrivals.push_back((now, Arc::clone(message_id)));
        false
    }
}

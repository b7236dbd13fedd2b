//! Pricing tiers: what a namespace is allowed to do.
//!
//! Chapter 11 ("You assumed the pricing tier was easy to change") is about
//! this: the tier decides the maximum message size and whole features
//! (topics, sessions, duplicate detection). In Service Bus, moving from
//! Standard to Premium means creating a Premium namespace, but Azure has a
//! supported migration that keeps the old connection string: it copies the
//! entities (queues, topics, subscriptions, filters), then points the old
//! namespace's DNS name at the new one, with about five minutes of downtime.
//! It does not copy the messages (drain them from the old namespace under its
//! post-migration name), nor role assignments, partitioned entities become
//! non-partitioned, there is no way back down, and Basic has to go to
//! Standard first. And it costs more: Standard is a base charge plus a price
//! per million operations, Premium a fixed rate per messaging unit. The sizes are Service Bus's: 256 KB on
//! Basic and Standard; on Premium 1 MB per entity by default, configurable up
//! to 100 MB, which is what this broker allows. Other brokers cap
//! message size by configuration rather than by price (Kafka's
//! `message.max.bytes` is about 1 MB by default, NATS's `max_payload` 1 MB);
//! either way, a payload that grows past the limit fails at the worst time,
//! and the claim-check pattern (store the payload, send a reference) is the
//! way out.

use std::fmt;

/// A namespace's tier.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    /// Queues only: no topics, no sessions, no duplicate detection.
    Basic,
    /// Queues, topics, sessions and duplicate detection. Its largest message
    /// is 256 KB. The default, because it is what most teams start on.
    #[default]
    Standard,
    /// Everything Standard has, with 100 MB messages.
    Premium,
}

/// A feature that some tiers lack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feature {
    /// Topics and subscriptions (publish/subscribe).
    Topics,
    /// Sessions (FIFO per session id).
    Sessions,
    /// Duplicate detection by message id.
    DuplicateDetection,
}

impl fmt::Display for Feature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Feature::Topics => "topics",
            Feature::Sessions => "sessions",
            Feature::DuplicateDetection => "duplicate detection",
        })
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Tier::Basic => "Basic",
            Tier::Standard => "Standard",
            Tier::Premium => "Premium",
        })
    }
}

impl Tier {
    /// The largest message, in bytes, this tier accepts (see
    /// [`crate::Message::size`]).
    pub fn max_message_size(self) -> usize {
        match self {
            Tier::Basic | Tier::Standard => 256 * 1024,
            Tier::Premium => 100 * 1024 * 1024,
        }
    }

    /// Whether this tier offers `feature`.
    pub fn supports(self, feature: Feature) -> bool {
        match self {
            Tier::Basic => false,
            Tier::Standard | Tier::Premium => {
                // Every feature we model exists on Standard and Premium.
                let _ = feature;
                true
            }
        }
    }
}

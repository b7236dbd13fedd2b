//! What the rules know beyond one expression: which names a file imports,
//! which calls consume, publish or settle messages, and what runs inside the
//! macros that matter (`tokio::select!`, `join!`).
//!
//! - [`UserApis`]: the in-house wrappers a team names in config, so that
//!   `bus.emit(..)` counts as a publish when the team says it is one.

use serde::Deserialize;

/// The in-house APIs a codebase wraps its broker and database in.
///
/// The rules recognise the real client crates on their own; many teams hide
/// them behind a thin layer of their own (`EventBus::emit`, `Inbox::done`),
/// and without these names the rules would stay silent on such code. Filled
/// from the config key `wrappers`. Each entry is either a bare function or
/// method name (`emit`) or a path (`bus::emit`, `EventBus::emit`): a bare
/// name matches any call of a method or function with that name, a path
/// matches a call whose path ends with those segments.
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct UserApis {
    /// Functions that publish or send a message to a broker
    /// (`publish_event`, `EventBus::emit`). `publish-before-ack`,
    /// `missing-idempotency-key` and `dual-write` treat a call to one as a
    /// publish, like `basic_publish`.
    #[serde(default)]
    pub publish: Vec<String>,
    /// Functions that settle a consumed message positively: ack, complete,
    /// commit an offset, delete from the queue (`Inbox::done`,
    /// `mark_handled`). `ack-before-processing` and `publish-before-ack`
    /// order the work of a handler against calls to these.
    #[serde(default)]
    pub ack: Vec<String>,
    /// Functions that receive a message from a broker (`next_job`,
    /// `Subscription::pull`). A binding they return is treated as a consumed
    /// message, whose handling the ordering rules follow.
    #[serde(default)]
    pub consume: Vec<String>,
    /// Type names that are events, commands or messages even though their
    /// names do not say so (`OrderPlaced`, `Envelope`). `missing-idempotency-key`
    /// and `local-time` check their fields like those of a type named
    /// `...Event` or `...Message`.
    #[serde(default)]
    pub event_types: Vec<String>,
    /// Functions that write a message to an outbox table in the same
    /// transaction as the business data (`outbox::enqueue`). A function that
    /// calls one is not a dual write, and a publish that goes through one is
    /// not a publish-before-ack.
    #[serde(default)]
    pub outbox: Vec<String>,
}

//! The workshop's in-process message broker, its database, fault injection,
//! a deterministic simulation runtime, and the grading toolkit that the
//! exercises are marked with.
//!
//! **Teaching code, not for production.** Everything is in memory, in one
//! process, on a virtual clock. It exists so that you can *watch* a message
//! get lost, duplicated or reordered, step by step, and replay the exact run
//! that did it. The broker is modelled on Azure Service Bus; the comments say
//! where Kafka, RabbitMQ, SQS and NATS differ.
//!
//! # Map
//!
//! The broker (one concept per file):
//!
//! - [`broker`]: [`Broker`], one namespace; its state, its timers.
//! - [`client`]: [`Client`], a named connection with the plain API.
//! - [`envelope`]: [`Message`] (what a sender builds) and [`Envelope`] (what
//!   the broker stored: sequence number, enqueued time, delivery count…).
//! - [`queue`]: queues and [`QueueOptions`] (lock duration, max delivery
//!   count, TTL, sessions, duplicate detection), competing consumers, FIFO per
//!   session.
//! - [`topic`]: topics, subscriptions and their filters.
//! - [`receive`]: receive modes (peek-lock, receive-and-delete) and
//!   [`Delivery`].
//! - [`lock`]: peek-lock, lock tokens, lock expiry.
//! - [`dead_letter`]: dead-letter queues and their reasons.
//! - [`duplicate_detection`]: dropping a repeated message id within a window.
//! - [`auto_commit`]: a Kafka-style consumer that commits on a timer.
//! - [`tier`]: pricing tiers: message size limits and features.
//! - [`clock`]: virtual time and UTC timestamps.
//! - [`error`]: the [`BrokerError`] type.
//!
//! The database:
//!
//! - [`store`]: a PostgreSQL-like transactional store with a change feed.
//!
//! Faults, simulation and grading:
//!
//! - [`fault`]: [`fault::Fault`] and [`fault::FaultPlan`]: crashes, lost
//!   replies, outages, delays, duplicate deliveries.
//! - [`trace`]: every operation of a run, as a text timeline or a mermaid
//!   sequence diagram.
//! - [`simulation`]: scenarios, the [`simulation::ServiceCtx`] every service
//!   operation goes through, runs and explorations with a watchdog.
//! - [`grading`]: checks named after anomalies (`lost-message`,
//!   `duplicate-side-effect`, …), their reports and replay commands.
//! - [`demo`]: the crash demo (`cargo run -p broker --example crash-demo`).
//!
//! # How a graded run works
//!
//! An exercise's test calls [`grading::Check::assert`]. The check hands its
//! [`simulation::Scenario`] to a worker thread, which runs it on a fresh
//! single-threaded tokio runtime with a paused clock: once with no faults
//! (counting the operations: each is two crash points), then once per crash
//! point, then with seeded random fault plans. Every service operation passes
//! through its [`simulation::ServiceCtx`], which numbers it, crashes the
//! service or injects the planned fault, and records it in the
//! [`trace::Trace`]. After each run the check's invariants read the trace and
//! the final state of the broker, the store and the downstream systems. The
//! failing run with the shortest timeline becomes the report, with the one
//! command (`EDA_REPLAY=…`) that replays it exactly.
//!
//! Runaway code ends its run with a report, never a hung `cargo test`: a
//! panic is caught; a service that stops making progress (a deadlock, an
//! await that never completes) is reported stuck when virtual time reaches
//! the end of the run; one that makes operations without ever waiting runs
//! out of its operation budget; one that wakes up endlessly without any
//! operation (`yield_now` or 1 ms sleeps in a loop) is stopped as spinning;
//! and one that never reaches an `.await` at all, or blocks its thread, is
//! reported by the calling thread, which watches each run's real time.

pub mod auto_commit;
pub mod broker;
pub mod client;
pub mod clock;
pub mod dead_letter;
pub mod demo;
pub mod duplicate_detection;
pub mod envelope;
pub mod error;
pub mod fault;
pub mod grading;
pub mod lock;
pub mod queue;
pub mod receive;
pub mod simulation;
pub mod store;
pub mod tier;
pub mod topic;
pub mod trace;

pub use auto_commit::{
    AutoCommitConsumer, ClientConfig, CommitMode, DEFAULT_AUTO_COMMIT_INTERVAL,
    DEFAULT_ENABLE_AUTO_COMMIT, DEFAULT_ENABLE_AUTO_OFFSET_STORE, KafkaConsumer,
};
pub use broker::{Broker, EntityStats};
pub use client::Client;
pub use clock::UtcTime;
pub use dead_letter::{MAX_DELIVERY_COUNT_EXCEEDED, TTL_EXPIRED, dead_letter_path};
pub use envelope::{Envelope, Message};
pub use error::BrokerError;
pub use lock::LockToken;
pub use queue::{
    DEFAULT_DUPLICATE_DETECTION_WINDOW, DEFAULT_LOCK_DURATION, DEFAULT_MAX_DELIVERY_COUNT,
    MAX_DUPLICATE_DETECTION_WINDOW, MAX_LOCK_DURATION, MIN_DUPLICATE_DETECTION_WINDOW,
    QueueOptions,
};
pub use receive::{Delivery, ReceiveMode, ReceiveOptions};
pub use tier::{Feature, Tier};
pub use topic::{SubscriptionFilter, SubscriptionOptions, TopicOptions, subscription_path};

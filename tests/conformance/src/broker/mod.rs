//! The broker's semantics, checked against real brokers.
//!
//! The book teaches on the workshop's in-process broker and tells the reader
//! where RabbitMQ, NATS JetStream, Redis Streams and MQTT behave the same and
//! where they differ. This module runs the *same* scenarios against our broker
//! and against the real engines, and fails when an engine does not do what
//! the book says it does.
//!
//! # Map
//!
//! - this file: the [`Engine`] and [`Consumer`] traits every adapter
//!   implements, and the vocabulary the scenarios speak ([`Received`],
//!   [`Settle`], [`AckMode`], [`QueueSpec`], [`AfterLimit`]);
//! - [`trace`]: what a scenario saw, step by step, for the failure report;
//! - [`scenarios`]: the scenarios, written once over the traits, with what
//!   the book claims each engine does ([`scenarios::Claim`]);
//! - [`link`]: a loopback TCP relay between a client and its engine, so that
//!   a consumer can *crash* (its connection cut at once, with no goodbye);
//! - [`cleanup`]: engines shared by one test binary are stopped when it exits;
//! - one adapter per engine: [`workshop`] (our broker, on virtual time),
//!   [`rabbitmq`] (lapin), [`nats`] (async-nats), [`redis`] (redis-rs),
//!   [`mqtt`] (rumqttc, against Mosquitto).
//!
//! Each scenario returns a [`trace::Run`]: an outcome (a small value the
//! claim is compared with) and the trace. A disagreement prints the
//! scenario, the engine's trace, our broker's trace of the same scenario, and
//! the book page that relies on the point ([`scenarios::verdict`]).

pub mod cleanup;
pub mod link;
pub mod mqtt;
pub mod nats;
pub mod rabbitmq;
pub mod redis;
pub mod scenarios;
pub mod trace;
pub mod workshop;

use std::time::Duration;

/// Which engine an adapter drives: the book's claims are per engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EngineKind {
    /// The workshop's in-process broker (`exercises/broker`).
    Workshop,
    /// RabbitMQ, quorum queues, through lapin.
    RabbitMq,
    /// NATS JetStream, pull consumers, through async-nats.
    Nats,
    /// Redis Streams with a consumer group, through redis-rs.
    Redis,
    /// MQTT 3.1.1 at QoS 1, Mosquitto through rumqttc.
    Mqtt,
}

/// Why an adapter could not do what a scenario asked.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The engine's client library reported an error.
    #[error("{engine}: {what}: {source}")]
    Client {
        /// The engine.
        engine: &'static str,
        /// What the adapter was doing.
        what: String,
        /// The client library's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The engine answered, but not in a form the adapter understands.
    #[error("{engine}: {what}")]
    Unexpected {
        /// The engine.
        engine: &'static str,
        /// What was wrong.
        what: String,
    },
    /// The engine could not be started.
    #[error(transparent)]
    Server(#[from] crate::server::ServerError),
}

/// Wraps a client error with the engine's name and what was being done.
pub(crate) fn client_error<E>(
    engine: &'static str,
    what: impl Into<String>,
) -> impl FnOnce(E) -> EngineError
where
    E: std::error::Error + Send + Sync + 'static,
{
    let what = what.into();
    move |source| EngineError::Client {
        engine,
        what,
        source: Box::new(source),
    }
}

/// Like [`client_error`], for client libraries whose errors come boxed
/// (async-nats's acks).
pub(crate) fn boxed_error(
    engine: &'static str,
    what: impl Into<String>,
) -> impl FnOnce(Box<dyn std::error::Error + Send + Sync>) -> EngineError {
    let what = what.into();
    move |source| EngineError::Client {
        engine,
        what,
        source,
    }
}

/// Who settles a delivery: the consumer (after its work), or the broker or
/// client library as it hands the message out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AckMode {
    /// Peek-lock, manual ack, `AckExplicit`, a pending-list entry, manual
    /// PUBACK: the message counts as done only when the consumer says so.
    Manual,
    /// Receive-and-delete, `no_ack`, `AckNone`, `NOACK`, the MQTT client's
    /// default automatic PUBACK: done as soon as it is handed out.
    Auto,
}

/// How a consumer settles a delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Settle {
    /// Done: complete, `basic.ack`, `+ACK`, `XACK`, PUBACK.
    Ack,
    /// Give it back to be tried again: abandon, `basic.nack` with requeue,
    /// `-NAK`. Redis Streams 7.0 has no such command: the entry stays pending
    /// and is claimed again after its idle time.
    Requeue,
    /// It will never work: dead-letter it (with reason `rejected` in our
    /// broker), `basic.reject` without requeue (to the dead-letter
    /// exchange), `+TERM`. Redis Streams and MQTT have no such command.
    Reject,
}

/// The queue a scenario works on, and the features it asks the engine for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueSpec {
    /// A name of the scenario's own: tests share one engine per binary.
    pub name: String,
    /// Give up after this many deliveries (max delivery count,
    /// `x-delivery-limit`, `MaxDeliver`), if the engine has such a limit.
    pub delivery_limit: Option<u32>,
    /// Drop a message whose id was already sent (duplicate detection,
    /// `Nats-Msg-Id`), where the engine has the feature.
    pub duplicate_detection: bool,
}

impl QueueSpec {
    /// A plain queue named `name`.
    pub fn named(name: &str) -> QueueSpec {
        QueueSpec {
            name: name.to_owned(),
            delivery_limit: None,
            duplicate_detection: false,
        }
    }

    /// With a delivery limit (and, where the engine has one, a dead-letter
    /// destination).
    pub fn with_delivery_limit(mut self, limit: u32) -> QueueSpec {
        self.delivery_limit = Some(limit);
        self
    }

    /// With duplicate detection by message id.
    pub fn with_duplicate_detection(mut self) -> QueueSpec {
        self.duplicate_detection = true;
        self
    }
}

/// A delivery as a scenario sees it, whatever the engine.
#[derive(Debug)]
pub struct Received<H> {
    /// The message id the producer set.
    pub message_id: String,
    /// Which delivery of this message this is, counting from 1, where the
    /// engine says (our broker's delivery count, RabbitMQ's
    /// `x-delivery-count` + 1, JetStream's `delivered`, the pending list's
    /// delivery counter); `None` where it does not (MQTT has only a `dup`
    /// flag).
    pub delivery_count: Option<u32>,
    /// Whether the engine marked it as delivered before (RabbitMQ's
    /// `redelivered`, MQTT's `dup`), where it does.
    pub redelivered: Option<bool>,
    /// What the adapter needs to settle it.
    pub handle: H,
}

/// What became of a message that reached its delivery limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AfterLimit {
    /// Moved to a dead-letter queue, with the reason the engine gave.
    DeadLettered {
        /// The engine's reason (`MaxDeliveryCountExceeded`,
        /// `delivery_limit`, …).
        reason: String,
    },
    /// No dead letter: delivery stopped, and the message is still stored.
    KeptInStream {
        /// The advisory the engine published about it, if any (JetStream's
        /// `MAX_DELIVERIES` or `MSG_TERMINATED`).
        advisory: Option<String>,
    },
    /// Still pending: nothing stops the redeliveries.
    StillPending,
    /// Neither stored nor dead-lettered: dropped.
    Gone,
}

/// One real engine (or our broker), with the operations the scenarios use.
///
/// The methods are `async fn` in a trait: every scenario is generic over the
/// engine and runs on one current-thread runtime, so the futures never need
/// to be `Send` (which is what the `async_fn_in_trait` lint warns about).
#[allow(async_fn_in_trait)]
pub trait Engine {
    /// A consumer: one connection, one subscription.
    type Consumer: Consumer;

    /// Which engine this is.
    fn kind(&self) -> EngineKind;

    /// The engine and the version the run used, for the record.
    fn version(&self) -> String;

    /// How long a delivery may go unsettled before the engine hands it to
    /// someone else, as this adapter configured it: our lock duration,
    /// RabbitMQ's `consumer_timeout`, `AckWait`, the pending list's min idle
    /// time before `XAUTOCLAIM`. `None` where there is no such timer (MQTT).
    fn lock_timeout(&self) -> Option<Duration>;

    /// How long to wait before concluding that nothing more will arrive,
    /// when no timer is involved (a duplicate that was dropped).
    fn quiet_period(&self) -> Duration;

    /// Creates the queue (a quorum queue, a stream with its consumer, a
    /// stream key with its group, a topic).
    async fn declare(&mut self, spec: &QueueSpec) -> Result<(), EngineError>;

    /// Publishes one message with a producer-chosen id, and waits for the
    /// engine to confirm it.
    async fn publish(
        &mut self,
        queue: &str,
        message_id: &str,
        body: &[u8],
    ) -> Result<(), EngineError>;

    /// Opens a consumer of `queue` on a connection of its own.
    async fn consumer(&mut self, queue: &str, mode: AckMode)
    -> Result<Self::Consumer, EngineError>;

    /// What became of message `message_id` of `queue` after its last allowed
    /// delivery, or after a consumer rejected it.
    async fn after_limit(
        &mut self,
        queue: &str,
        message_id: &str,
    ) -> Result<AfterLimit, EngineError>;
}

/// A consumer of one queue.
#[allow(async_fn_in_trait)]
pub trait Consumer {
    /// What the adapter keeps to settle a delivery.
    type Handle;

    /// The next delivery, or `None` if none came within `within`.
    async fn receive(
        &mut self,
        within: Duration,
    ) -> Result<Option<Received<Self::Handle>>, EngineError>;

    /// Settles a delivery.
    async fn settle(
        &mut self,
        received: Received<Self::Handle>,
        how: Settle,
    ) -> Result<(), EngineError>;

    /// The process dies: its connection is cut at once, with no goodbye
    /// and no settlement.
    async fn crash(self);
}

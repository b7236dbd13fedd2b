//! The real engines, behind one small interface that both sides use: the
//! consumer process (receive, settle, renew, send) and the harness (declare
//! the queues, publish the scenario's input, read what is left at the end).
//!
//! Each engine's mapping of the workshop's operations, and where it differs
//! from the simulator, is documented on its type: [`rabbitmq::Rabbit`],
//! [`nats::Nats`].

pub mod nats;
pub mod rabbitmq;

use std::time::Duration;

use sim::{BrokerError, Envelope, Message, ReceiveMode};

use crate::real::config::{EngineKind, QueueSpec};
use crate::real::protocol::Out;

/// How a consumer settles a delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Settlement {
    /// Done: remove it.
    Complete,
    /// Give it back now.
    Abandon,
    /// To the dead-letter queue (RabbitMQ), or never again (NATS `+TERM`).
    DeadLetter,
}

/// A message a receive got: its envelope, and the handle that settles it.
#[derive(Clone, Debug)]
pub struct Received {
    /// The engine-side handle of this delivery, for settling and renewing.
    pub handle: u64,
    /// The message as the simulator's types describe it.
    pub envelope: Envelope,
}

/// Why an engine could not be reached or set up.
#[derive(Debug, thiserror::Error)]
#[error("{engine}: {what}: {detail}")]
pub struct EngineError {
    /// Which engine.
    pub engine: EngineKind,
    /// What was being done.
    pub what: String,
    /// The client's error.
    pub detail: String,
}

impl EngineError {
    pub(crate) fn new(engine: EngineKind, what: impl Into<String>, detail: impl ToString) -> Self {
        EngineError {
            engine,
            what: what.into(),
            detail: detail.to_string(),
        }
    }
}

/// A connected engine.
#[derive(Debug)]
pub enum Engine {
    /// RabbitMQ. (Both are boxed: their clients' state is large, and an
    /// engine is made once per process.)
    Rabbit(Box<rabbitmq::Rabbit>),
    /// NATS JetStream.
    Nats(Box<nats::Nats>),
}

impl Engine {
    /// Connects to the engine at `url`. `speed` turns the queues' times
    /// (consumer time) into the engine's (real time).
    pub async fn connect(
        kind: EngineKind,
        url: &str,
        queues: Vec<QueueSpec>,
        speed: u32,
        out: Option<Out>,
    ) -> Result<Engine, EngineError> {
        Ok(match kind {
            EngineKind::Rabbitmq => Engine::Rabbit(Box::new(
                rabbitmq::Rabbit::connect(url, queues, speed).await?,
            )),
            EngineKind::Nats => Engine::Nats(Box::new(
                nats::Nats::connect(url, queues, speed, out).await?,
            )),
        })
    }

    /// Deletes and declares the queues, empty.
    pub async fn reset(&self) -> Result<(), EngineError> {
        match self {
            Engine::Rabbit(engine) => engine.reset().await,
            Engine::Nats(engine) => engine.reset().await,
        }
    }

    /// Receives the next message of `queue`, waiting at most `wait` (real
    /// time; `None`: for ever).
    pub async fn receive(
        &self,
        queue: &str,
        mode: ReceiveMode,
        wait: Option<Duration>,
    ) -> Result<Option<Received>, BrokerError> {
        match self {
            Engine::Rabbit(engine) => engine.receive(queue, mode, wait).await,
            Engine::Nats(engine) => engine.receive(queue, mode, wait).await,
        }
    }

    /// Settles a delivery.
    pub async fn settle(
        &self,
        handle: u64,
        id: &str,
        settlement: Settlement,
    ) -> Result<(), BrokerError> {
        match self {
            Engine::Rabbit(engine) => engine.settle(handle, id, settlement).await,
            Engine::Nats(engine) => engine.settle(handle, id, settlement).await,
        }
    }

    /// Extends a delivery's lock, where the engine has one. Returns a note
    /// for the report when the engine has nothing to extend.
    pub async fn renew(&self, handle: u64, id: &str) -> Result<Option<String>, BrokerError> {
        match self {
            Engine::Rabbit(engine) => engine.renew(handle, id).await,
            Engine::Nats(engine) => engine.renew(handle, id).await.map(|()| None),
        }
    }

    /// Publishes a message to a queue, and waits for the engine's
    /// confirmation.
    pub async fn send(&self, queue: &str, message: &Message) -> Result<(), BrokerError> {
        match self {
            Engine::Rabbit(engine) => engine.send(queue, message).await,
            Engine::Nats(engine) => engine.send(queue, message).await,
        }
    }

    /// Drops the connection and opens a new one: what a network cut does.
    pub async fn reconnect(&self) -> Result<(), BrokerError> {
        match self {
            Engine::Rabbit(engine) => engine.reconnect().await,
            Engine::Nats(engine) => engine.reconnect().await,
        }
    }

    /// Every message in `queue` now, read without consuming it for good
    /// where the engine allows (a NATS stream keeps its messages; RabbitMQ's
    /// are taken off the queue).
    pub async fn contents(&self, queue: &str) -> Result<Vec<Envelope>, EngineError> {
        match self {
            Engine::Rabbit(engine) => engine.drain(queue).await,
            Engine::Nats(engine) => engine.contents(queue).await,
        }
    }

    /// How many messages of `queue` still wait for a consumer to settle
    /// them: ready ones (RabbitMQ), or pending and unacknowledged ones (the
    /// NATS consumer's counts).
    pub async fn unsettled(&self, queue: &str) -> Result<u64, EngineError> {
        match self {
            Engine::Rabbit(engine) => engine.ready(queue).await,
            Engine::Nats(engine) => engine.unsettled(queue).await,
        }
    }

    /// The messages the engine dead-lettered from `queue` (RabbitMQ's
    /// dead-letter queue; NATS has none, so it is always empty there).
    pub async fn dead_letters(&self, queue: &str) -> Result<Vec<Envelope>, EngineError> {
        match self {
            Engine::Rabbit(engine) => engine.drain(&sim::dead_letter_path(queue)).await,
            Engine::Nats(_) => Ok(Vec::new()),
        }
    }
}

/// The header that carries the workshop's message id on engines whose own
/// id field is not used for it, and the prefix of application properties.
pub(crate) const MESSAGE_ID_HEADER: &str = "Eda-Message-Id";
pub(crate) const CORRELATION_ID_HEADER: &str = "Eda-Correlation-Id";
pub(crate) const CONTENT_TYPE_HEADER: &str = "Content-Type";
pub(crate) const PROPERTY_PREFIX: &str = "Eda-Property-";

/// An envelope with the fields every engine fills the same way.
pub(crate) fn envelope(
    message_id: String,
    body: Vec<u8>,
    sequence_number: u64,
    enqueued_unix_ms: i64,
    delivery_count: u32,
) -> Envelope {
    Envelope {
        message_id: message_id.into(),
        sequence_number,
        enqueued_time: sim::UtcTime::from_unix_millis(enqueued_unix_ms),
        delivery_count,
        session_id: None,
        partition_key: None,
        correlation_id: None,
        content_type: None,
        application_properties: Default::default(),
        body: body.into(),
        expires_at: None,
        dead_letter_reason: None,
        dead_letter_description: None,
    }
}

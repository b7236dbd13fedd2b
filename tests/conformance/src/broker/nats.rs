//! NATS JetStream behind the [`Engine`] trait, through async-nats: a stream
//! per queue, one durable pull consumer on it (the "queue" a service's
//! instances share), `AckExplicit` or `AckNone`, `-NAK`, `MaxDeliver` and
//! its advisory, and `Nats-Msg-Id` duplicate detection.
//!
//! In JetStream the ack policy belongs to the durable consumer, not to the
//! process reading from it: a consumer process that binds a durable consumer
//! created with `AckNone` reads with `AckNone`, whatever it wanted. So
//! [`Engine::consumer`] creates the durable consumer with the mode asked for
//! the first time, and later processes bind to it as it is, as a restarted
//! service does.
//!
//! One server per test binary ([`shared`]), with JetStream's storage in a
//! temporary folder.

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use async_nats::jetstream::consumer::{AckPolicy, PullConsumer, pull};
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::stream::{self, RetentionPolicy};
use async_nats::jetstream::{self, AckKind, Message};
use async_nats::{Client, ConnectOptions, Subscriber};
use futures_util::StreamExt;

use super::link::Link;
use super::{
    AckMode, AfterLimit, Consumer, Engine, EngineError, EngineKind, QueueSpec, Received, Settle,
    boxed_error, client_error,
};
use crate::server::{Server, ServerError, free_port, require, version};

const ENGINE: &str = "NATS JetStream";

/// The `AckWait` of every consumer the scenarios create (the default is
/// 30 s): long enough for a consumer on a loaded machine to ack in time.
pub const ACK_WAIT: Duration = Duration::from_millis(1000);

/// The server every test of a binary shares.
#[derive(Debug)]
pub struct SharedServer {
    port: u16,
    version: String,
}

static SERVER: OnceLock<Result<SharedServer, String>> = OnceLock::new();

/// The binary's nats-server, started on first use; `None` (after a loud
/// message) when it is not installed and this is not CI.
///
/// # Panics
///
/// In CI when nats-server is not installed, and anywhere when it is
/// installed but does not start (the panic carries its log).
pub fn shared() -> Option<&'static SharedServer> {
    let binary = require("nats-server", "nats-server", &[])?;
    let server = SERVER.get_or_init(|| start(&binary).map_err(|error| error.to_string()));
    match server {
        Ok(server) => Some(server),
        Err(error) => panic!("conformance: nats-server did not start: {error}"),
    }
}

fn start(binary: &std::path::Path) -> Result<SharedServer, ServerError> {
    let dir = Server::data_dir("nats")?;
    let port = free_port()?;
    let mut command = Command::new(binary);
    command
        .arg("-js")
        .args(["-a", "127.0.0.1", "-p", &port.to_string()])
        .arg("-sd")
        .arg(dir.path().join("jetstream"));
    let server = Server::start("nats-server", command, port, dir, Duration::from_secs(60))?;
    let version = version(binary, &["--version"])?;
    super::cleanup::at_exit(move || drop(server));
    Ok(SharedServer { port, version })
}

/// The advisories that say the server gave up on a message: too many
/// deliveries, or a consumer's `+TERM`.
const GIVEN_UP: [&str; 2] = ["MAX_DELIVERIES", "MSG_TERMINATED"];

/// The durable consumer every process of a queue binds to.
fn durable_name(queue: &str) -> String {
    format!("{queue}-workers")
}

/// One test's view of the shared server.
#[derive(Debug)]
pub struct Nats {
    port: u16,
    version: String,
    client: Client,
    jetstream: jetstream::Context,
    /// The delivery limit each declared queue asked for (`MaxDeliver` is set
    /// when its durable consumer is created).
    limits: BTreeMap<String, u32>,
    /// The advisories about each queue's durable consumer.
    advisories: BTreeMap<String, Subscriber>,
}

impl Nats {
    /// Connects to `server`.
    ///
    /// # Errors
    ///
    /// When the connection fails.
    pub async fn connect(server: &SharedServer) -> Result<Nats, EngineError> {
        let client = async_nats::connect(format!("127.0.0.1:{}", server.port))
            .await
            .map_err(client_error(ENGINE, "connecting the producer"))?;
        Ok(Nats {
            port: server.port,
            version: server.version.clone(),
            jetstream: jetstream::new(client.clone()),
            client,
            limits: BTreeMap::new(),
            advisories: BTreeMap::new(),
        })
    }

    /// Creates a stream named `name` on subject `name` with `retention`.
    async fn create_stream(
        &self,
        name: &str,
        retention: RetentionPolicy,
    ) -> Result<stream::Stream, EngineError> {
        self.jetstream
            .create_stream(stream::Config {
                name: name.to_owned(),
                subjects: vec![name.to_owned()],
                retention,
                // Zero: the server's default window, 2 minutes.
                duplicate_window: Duration::ZERO,
                ..stream::Config::default()
            })
            .await
            .map_err(client_error(ENGINE, format!("creating stream {name}")))
    }

    /// **What an ack does to retention.** Creates a stream with `retention`
    /// and `consumers` durable consumers, publishes one message, has the
    /// first consumer receive and ack it (waiting for the server to confirm
    /// the ack), and returns how many messages the stream still holds.
    ///
    /// # Errors
    ///
    /// When the engine fails an operation, or never delivers the message.
    pub async fn stored_after_one_ack(
        &mut self,
        name: &str,
        retention: RetentionPolicy,
        consumers: usize,
    ) -> Result<u64, EngineError> {
        let stream = self.create_stream(name, retention).await?;
        let mut bound = Vec::new();
        for index in 0..consumers {
            let durable = format!("{name}-{index}");
            let consumer: PullConsumer = stream
                .create_consumer(pull::Config {
                    durable_name: Some(durable.clone()),
                    ack_wait: ACK_WAIT,
                    ..pull::Config::default()
                })
                .await
                .map_err(client_error(ENGINE, format!("creating consumer {durable}")))?;
            bound.push(consumer);
        }
        self.publish(name, &format!("{name}-1"), b"{}").await?;
        let first = bound.first().ok_or_else(|| EngineError::Unexpected {
            engine: ENGINE,
            what: "a retention check needs at least one consumer".to_owned(),
        })?;
        let message = next_message(first, Duration::from_secs(5))
            .await?
            .ok_or_else(|| EngineError::Unexpected {
                engine: ENGINE,
                what: format!("{name}-1 was never delivered"),
            })?;
        message
            .double_ack()
            .await
            .map_err(boxed_error(ENGINE, format!("acking {name}-1")))?;
        let mut stream = stream;
        let info = stream
            .info()
            .await
            .map_err(client_error(ENGINE, format!("reading stream {name}")))?;
        Ok(info.state.messages)
    }
}

/// Pulls one message from `consumer`, waiting at most `within`.
async fn next_message(
    consumer: &PullConsumer,
    within: Duration,
) -> Result<Option<Message>, EngineError> {
    // The server wants a pull request to live a little while; a scenario's
    // remaining patience can be close to nothing.
    let expires = within.max(Duration::from_millis(50));
    let mut batch = consumer
        .batch()
        .max_messages(1)
        .expires(expires)
        .messages()
        .await
        .map_err(client_error(ENGINE, "pulling a message"))?;
    // The batch ends when the request expires; the outer timeout only
    // guards against a server that never answers.
    match tokio::time::timeout(expires + Duration::from_secs(2), batch.next()).await {
        Ok(Some(message)) => message
            .map(Some)
            .map_err(boxed_error(ENGINE, "receiving a message")),
        Ok(None) | Err(_) => Ok(None),
    }
}

impl Engine for Nats {
    type Consumer = NatsConsumer;

    fn kind(&self) -> EngineKind {
        EngineKind::Nats
    }

    fn version(&self) -> String {
        format!("{}, pull consumers, async-nats 0.52.0", self.version)
    }

    fn lock_timeout(&self) -> Option<Duration> {
        Some(ACK_WAIT)
    }

    fn quiet_period(&self) -> Duration {
        Duration::from_millis(500)
    }

    async fn declare(&mut self, spec: &QueueSpec) -> Result<(), EngineError> {
        // Duplicate detection is always on in JetStream (`Nats-Msg-Id`
        // within the stream's window); `spec.duplicate_detection` changes
        // nothing here.
        self.create_stream(&spec.name, RetentionPolicy::Limits)
            .await?;
        if let Some(limit) = spec.delivery_limit {
            self.limits.insert(spec.name.clone(), limit);
        }
        // Every advisory about the queue's durable consumer, subscribed
        // before the first delivery so that none is missed; `after_limit`
        // keeps the ones about a message given up on.
        let subject = format!(
            "$JS.EVENT.ADVISORY.CONSUMER.*.{}.{}",
            spec.name,
            durable_name(&spec.name)
        );
        let advisories = self
            .client
            .subscribe(subject.clone())
            .await
            .map_err(client_error(ENGINE, format!("subscribing to {subject}")))?;
        self.advisories.insert(spec.name.clone(), advisories);
        Ok(())
    }

    async fn publish(
        &mut self,
        queue: &str,
        message_id: &str,
        body: &[u8],
    ) -> Result<(), EngineError> {
        // A duplicate is acknowledged too (`duplicate: true` in the PubAck):
        // the producer sees success, as with Service Bus.
        self.jetstream
            .send_publish(
                queue.to_owned(),
                PublishMessage::build()
                    .payload(body.to_vec().into())
                    .message_id(message_id),
            )
            .await
            .map_err(client_error(ENGINE, format!("publishing {message_id}")))?
            .await
            .map_err(client_error(ENGINE, format!("confirming {message_id}")))
            .map(drop)
    }

    async fn consumer(&mut self, queue: &str, mode: AckMode) -> Result<NatsConsumer, EngineError> {
        let link = Link::to(self.port)
            .await
            .map_err(client_error(ENGINE, "opening a link"))?;
        // A cut connection must stay cut: no reconnecting in the background.
        let client = ConnectOptions::new()
            .max_reconnects(Some(1))
            .connect(format!("127.0.0.1:{}", link.port()))
            .await
            .map_err(client_error(ENGINE, "connecting a consumer"))?;
        let stream = jetstream::new(client.clone())
            .get_stream(queue)
            .await
            .map_err(client_error(ENGINE, format!("binding stream {queue}")))?;
        let durable = durable_name(queue);
        let consumer: PullConsumer = stream
            .get_or_create_consumer(
                &durable,
                pull::Config {
                    durable_name: Some(durable.clone()),
                    ack_policy: match mode {
                        AckMode::Manual => AckPolicy::Explicit,
                        AckMode::Auto => AckPolicy::None,
                    },
                    ack_wait: ACK_WAIT,
                    // Zero: the server's default, -1 (unlimited).
                    max_deliver: self.limits.get(queue).map_or(0, |limit| i64::from(*limit)),
                    ..pull::Config::default()
                },
            )
            .await
            .map_err(client_error(ENGINE, format!("binding consumer {durable}")))?;
        Ok(NatsConsumer {
            link,
            _client: client,
            consumer,
        })
    }

    /// The stream is the queue's only store: a message still in it is
    /// "kept", whichever it is (each scenario's stream holds one message).
    async fn after_limit(
        &mut self,
        queue: &str,
        _message_id: &str,
    ) -> Result<AfterLimit, EngineError> {
        let deadline = tokio::time::Instant::now() + self.quiet_period();
        let mut advisory = None;
        if let Some(advisories) = self.advisories.get_mut(queue) {
            while advisory.is_none() {
                let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                let Ok(Some(message)) = tokio::time::timeout(left, advisories.next()).await else {
                    break;
                };
                // $JS.EVENT.ADVISORY.CONSUMER.<KIND>.<stream>.<consumer>
                advisory = message
                    .subject
                    .split('.')
                    .nth(4)
                    .filter(|kind| GIVEN_UP.contains(kind))
                    .map(str::to_owned);
            }
        }
        let mut stream = self
            .jetstream
            .get_stream(queue)
            .await
            .map_err(client_error(ENGINE, format!("binding stream {queue}")))?;
        let stored = stream
            .info()
            .await
            .map_err(client_error(ENGINE, format!("reading stream {queue}")))?
            .state
            .messages;
        Ok(if stored > 0 {
            AfterLimit::KeptInStream { advisory }
        } else {
            AfterLimit::Gone
        })
    }
}

/// A process bound to a queue's durable consumer, on a connection of its
/// own through its own [`Link`].
#[derive(Debug)]
pub struct NatsConsumer {
    link: Link,
    _client: Client,
    consumer: PullConsumer,
}

impl Consumer for NatsConsumer {
    type Handle = Message;

    async fn receive(
        &mut self,
        within: Duration,
    ) -> Result<Option<Received<Message>>, EngineError> {
        let Some(message) = next_message(&self.consumer, within).await? else {
            return Ok(None);
        };
        let delivered = message
            .info()
            .map_err(boxed_error(ENGINE, "reading a message's delivery info"))?
            .delivered;
        let message_id = message
            .headers
            .as_ref()
            .and_then(|headers| headers.get(async_nats::header::NATS_MESSAGE_ID))
            .map(|id| id.as_str().to_owned())
            .unwrap_or_default();
        Ok(Some(Received {
            message_id,
            delivery_count: u32::try_from(delivered).ok(),
            redelivered: None,
            handle: message,
        }))
    }

    async fn settle(
        &mut self,
        received: Received<Message>,
        how: Settle,
    ) -> Result<(), EngineError> {
        let what = format!("settling {} ({how:?})", received.message_id);
        match how {
            // Waits for the server to confirm the ack, so that a crash
            // straight after cannot undo it.
            Settle::Ack => received.handle.double_ack().await,
            Settle::Requeue => received.handle.ack_with(AckKind::Nak(None)).await,
            Settle::Reject => received.handle.ack_with(AckKind::Term).await,
        }
        .map_err(boxed_error(ENGINE, what))
    }

    async fn crash(self) {
        self.link.sever().await;
    }
}

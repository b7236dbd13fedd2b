//! MQTT behind the [`Engine`] trait: Mosquitto through rumqttc, MQTT 3.1.1
//! at QoS 1.
//!
//! MQTT has no queues: a "queue" here is a topic and one persistent session
//! (a fixed client id, `CleanSession` 0) subscribed to it at QoS 1. The
//! session keeps the subscription and the unacknowledged messages while its
//! client is away; a consumer process is a client that connects with that
//! id. So "another consumer" is the same session coming back, and a
//! redelivery happens when it reconnects, not on a timer. In manual mode the
//! consumer sends the PUBACK itself ([`rumqttc::MqttOptions::set_manual_acks`]);
//! in automatic mode, rumqttc's default, the event loop sends it before the
//! message reaches the application. MQTT has no negative acknowledgement, no
//! delivery count (only a `DUP` flag) and no delivery limit: the
//! delivery-limit and hang scenarios are not run here.
//!
//! One broker per test binary ([`shared`]), with no persistence to disk (the
//! sessions live in its memory while it runs).

use std::collections::VecDeque;
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Outgoing, Packet, Publish, QoS};

use super::link::Link;
use super::{
    AckMode, AfterLimit, Consumer, Engine, EngineError, EngineKind, QueueSpec, Received, Settle,
    client_error,
};
use crate::server::{Server, ServerError, free_port, require, version};

const ENGINE: &str = "Mosquitto";

/// The broker every test of a binary shares.
#[derive(Debug)]
pub struct SharedBroker {
    port: u16,
    version: String,
}

static BROKER: OnceLock<Result<SharedBroker, String>> = OnceLock::new();

/// The binary's Mosquitto, started on first use; `None` (after a loud
/// message) when it is not installed and this is not CI.
///
/// # Panics
///
/// In CI when Mosquitto is not installed, and anywhere when it is installed
/// but does not start (the panic carries its log).
pub fn shared() -> Option<&'static SharedBroker> {
    let binary = require("mosquitto", "mosquitto", &[])?;
    let broker = BROKER.get_or_init(|| start(&binary).map_err(|error| error.to_string()));
    match broker {
        Ok(broker) => Some(broker),
        Err(error) => panic!("conformance: mosquitto did not start: {error}"),
    }
}

fn start(binary: &std::path::Path) -> Result<SharedBroker, ServerError> {
    let dir = Server::data_dir("mosquitto")?;
    let port = free_port()?;
    let config = dir.path().join("mosquitto.conf");
    std::fs::write(
        &config,
        format!(
            "listener {port} 127.0.0.1\n\
             allow_anonymous true\n\
             persistence false\n\
             log_dest stdout\n"
        ),
    )
    .map_err(|source| ServerError::Io {
        what: "writing mosquitto.conf".to_owned(),
        source,
    })?;
    let mut command = Command::new(binary);
    command.arg("-c").arg(&config);
    let server = Server::start("mosquitto", command, port, dir, Duration::from_secs(60))?;
    // `mosquitto -h` prints its version first, then the usage, and exits 3.
    let version = version(binary, &["-h"])?;
    super::cleanup::at_exit(move || drop(server));
    Ok(SharedBroker { port, version })
}

fn topic(queue: &str) -> String {
    format!("conformance/{queue}")
}

/// The client id of the persistent session that stands for `queue`.
fn session(queue: &str) -> String {
    format!("{queue}-worker")
}

/// A message id and a body in one payload: MQTT 3.1.1 has no headers.
fn payload(message_id: &str, body: &[u8]) -> Vec<u8> {
    let mut payload = message_id.as_bytes().to_vec();
    payload.push(b'\n');
    payload.extend_from_slice(body);
    payload
}

fn message_id(publish: &Publish) -> String {
    let id = publish
        .payload
        .split(|byte| *byte == b'\n')
        .next()
        .unwrap_or_default();
    String::from_utf8_lossy(id).into_owned()
}

/// Polls `events` until `wanted` picks an event, for at most `within`.
async fn poll_until<T>(
    events: &mut EventLoop,
    within: Duration,
    what: &str,
    mut wanted: impl FnMut(&Event) -> Option<T>,
) -> Result<Option<T>, EngineError> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let Ok(event) = tokio::time::timeout(left, events.poll()).await else {
            return Ok(None);
        };
        let event = event.map_err(client_error(ENGINE, what.to_owned()))?;
        if let Some(found) = wanted(&event) {
            return Ok(Some(found));
        }
    }
}

/// A client of the shared broker with its event loop, connected.
async fn connect(
    port: u16,
    client_id: &str,
    clean_session: bool,
    manual_acks: bool,
) -> Result<(AsyncClient, EventLoop), EngineError> {
    let mut options = MqttOptions::new(client_id, "127.0.0.1", port);
    options
        .set_clean_session(clean_session)
        .set_manual_acks(manual_acks);
    let (client, mut events) = AsyncClient::new(options, 16);
    let connected = poll_until(
        &mut events,
        Duration::from_secs(10),
        "connecting",
        |event| matches!(event, Event::Incoming(Packet::ConnAck(_))).then_some(()),
    )
    .await?;
    connected.ok_or_else(|| EngineError::Unexpected {
        engine: ENGINE,
        what: format!("{client_id} got no CONNACK"),
    })?;
    Ok((client, events))
}

/// One test's view of the shared broker: a publishing client.
pub struct Mqtt {
    port: u16,
    version: String,
    publisher: AsyncClient,
    publisher_events: EventLoop,
}

impl std::fmt::Debug for Mqtt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mqtt").field("port", &self.port).finish()
    }
}

impl Mqtt {
    /// Connects a publisher to `broker`.
    ///
    /// # Errors
    ///
    /// When the connection fails.
    pub async fn connect(broker: &SharedBroker) -> Result<Mqtt, EngineError> {
        // Client ids are broker-wide: one of its own per test and process.
        static PUBLISHERS: AtomicU32 = AtomicU32::new(0);
        let id = format!(
            "publisher-{}-{}",
            std::process::id(),
            PUBLISHERS.fetch_add(1, Ordering::Relaxed)
        );
        let (publisher, publisher_events) = connect(broker.port, &id, true, false).await?;
        Ok(Mqtt {
            port: broker.port,
            version: broker.version.clone(),
            publisher,
            publisher_events,
        })
    }
}

impl Engine for Mqtt {
    type Consumer = MqttConsumer;

    fn kind(&self) -> EngineKind {
        EngineKind::Mqtt
    }

    fn version(&self) -> String {
        format!("{}, MQTT 3.1.1 QoS 1, rumqttc 0.25.1", self.version)
    }

    fn lock_timeout(&self) -> Option<Duration> {
        None
    }

    fn quiet_period(&self) -> Duration {
        Duration::from_millis(500)
    }

    /// Creates the queue's persistent session and its QoS 1 subscription,
    /// then leaves politely: the session keeps what is published meanwhile.
    async fn declare(&mut self, spec: &QueueSpec) -> Result<(), EngineError> {
        let (client, mut events) = connect(self.port, &session(&spec.name), false, true).await?;
        client
            .subscribe(topic(&spec.name), QoS::AtLeastOnce)
            .await
            .map_err(client_error(
                ENGINE,
                format!("subscribing to {}", spec.name),
            ))?;
        poll_until(
            &mut events,
            Duration::from_secs(10),
            "subscribing",
            |event| matches!(event, Event::Incoming(Packet::SubAck(_))).then_some(()),
        )
        .await?
        .ok_or_else(|| EngineError::Unexpected {
            engine: ENGINE,
            what: format!("no SUBACK for {}", spec.name),
        })?;
        client
            .disconnect()
            .await
            .map_err(client_error(ENGINE, "leaving the session"))?;
        // The event loop ends with an error once the DISCONNECT is sent.
        let _ = poll_until(&mut events, Duration::from_secs(2), "leaving", |event| {
            matches!(event, Event::Outgoing(Outgoing::Disconnect)).then_some(())
        })
        .await;
        Ok(())
    }

    async fn publish(
        &mut self,
        queue: &str,
        message_id: &str,
        body: &[u8],
    ) -> Result<(), EngineError> {
        self.publisher
            .publish(
                topic(queue),
                QoS::AtLeastOnce,
                false,
                payload(message_id, body),
            )
            .await
            .map_err(client_error(ENGINE, format!("publishing {message_id}")))?;
        poll_until(
            &mut self.publisher_events,
            Duration::from_secs(10),
            "publishing",
            |event| matches!(event, Event::Incoming(Packet::PubAck(_))).then_some(()),
        )
        .await?
        .ok_or_else(|| EngineError::Unexpected {
            engine: ENGINE,
            what: format!("no PUBACK for {message_id}"),
        })
    }

    async fn consumer(&mut self, queue: &str, mode: AckMode) -> Result<MqttConsumer, EngineError> {
        let link = Link::to(self.port)
            .await
            .map_err(client_error(ENGINE, "opening a link"))?;
        let (client, events) =
            connect(link.port(), &session(queue), false, mode == AckMode::Manual).await?;
        Ok(MqttConsumer {
            link,
            client,
            events,
            arrived: VecDeque::new(),
        })
    }

    async fn after_limit(
        &mut self,
        queue: &str,
        _message_id: &str,
    ) -> Result<AfterLimit, EngineError> {
        Err(EngineError::Unexpected {
            engine: ENGINE,
            what: format!("MQTT has no delivery limit to reach ({queue})"),
        })
    }
}

/// A process resuming the queue's session, through its own [`Link`].
pub struct MqttConsumer {
    link: Link,
    client: AsyncClient,
    events: EventLoop,
    /// Messages that arrived while the event loop was polled for something
    /// else (a PUBACK going out): the next receives return them first.
    arrived: VecDeque<Publish>,
}

impl std::fmt::Debug for MqttConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MqttConsumer")
            .field("link", &self.link)
            .finish()
    }
}

impl Consumer for MqttConsumer {
    type Handle = Publish;

    async fn receive(
        &mut self,
        within: Duration,
    ) -> Result<Option<Received<Publish>>, EngineError> {
        let publish = match self.arrived.pop_front() {
            Some(publish) => Some(publish),
            None => {
                poll_until(&mut self.events, within, "receiving", |event| match event {
                    Event::Incoming(Packet::Publish(publish)) => Some(publish.clone()),
                    _ => None,
                })
                .await?
            }
        };
        Ok(publish.map(|publish| Received {
            message_id: message_id(&publish),
            delivery_count: None,
            redelivered: Some(publish.dup),
            handle: publish,
        }))
    }

    async fn settle(
        &mut self,
        received: Received<Publish>,
        how: Settle,
    ) -> Result<(), EngineError> {
        match how {
            Settle::Ack => {
                self.client
                    .ack(&received.handle)
                    .await
                    .map_err(client_error(
                        ENGINE,
                        format!("acking {}", received.message_id),
                    ))?;
                // The event loop sends the PUBACK on its next turn.
                let pkid = received.handle.pkid;
                let arrived = &mut self.arrived;
                poll_until(
                    &mut self.events,
                    Duration::from_secs(10),
                    "acking",
                    |event| {
                        if let Event::Incoming(Packet::Publish(publish)) = event {
                            arrived.push_back(publish.clone());
                        }
                        matches!(event, Event::Outgoing(Outgoing::PubAck(sent)) if *sent == pkid)
                            .then_some(())
                    },
                )
                .await?
                .ok_or_else(|| EngineError::Unexpected {
                    engine: ENGINE,
                    what: format!("the PUBACK of {} was never sent", received.message_id),
                })
            }
            Settle::Requeue | Settle::Reject => Err(EngineError::Unexpected {
                engine: ENGINE,
                what: "MQTT has no negative acknowledgement".to_owned(),
            }),
        }
    }

    async fn crash(self) {
        self.link.sever().await;
    }
}

//! RabbitMQ behind the [`Engine`] trait, through lapin: quorum queues, manual
//! or automatic acknowledgement, `basic.nack` with requeue, the
//! `x-delivery-limit` and a dead-letter queue, and a small `consumer_timeout`.
//!
//! One node per test binary ([`shared`]): it boots in tens of seconds. It
//! runs with its node name, ports, data, logs and configuration in a
//! temporary folder, listens on loopback only, and is stopped when the test
//! binary exits. RabbitMQ starts an `epmd` (Erlang's port mapper) of its own
//! that leaves the process group; it gets a private loopback port, and is
//! told to stop at exit too.

use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use futures_util::StreamExt;
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicGetOptions, BasicNackOptions, BasicPublishOptions,
    BasicQosOptions, BasicRejectOptions, ConfirmSelectOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{BasicProperties, Channel, Confirmation, Connection, ConnectionProperties};

use super::link::Link;
use super::{
    AckMode, AfterLimit, Consumer, Engine, EngineError, EngineKind, QueueSpec, Received, Settle,
    client_error,
};
use crate::server::{Server, ServerError, find_binary, free_port, require};

const ENGINE: &str = "RabbitMQ";

/// The `consumer_timeout` the node runs with: the smallest that still lets
/// the scenarios' consumers ack in time on a loaded machine. (The default
/// is 30 minutes.)
pub const CONSUMER_TIMEOUT: Duration = Duration::from_millis(1000);

/// How often a channel checks its consumers' timeouts
/// (`channel_tick_interval`, 60 s by default up to 4.2: left at that, a
/// 1-second timeout would fire up to a minute late).
const CHANNEL_TICK: Duration = Duration::from_millis(100);

/// The node every test of a binary shares.
#[derive(Debug)]
pub struct SharedNode {
    port: u16,
    version: String,
}

/// The script Debian's `rabbitmq-server` wrapper runs as the `rabbitmq`
/// user.
const UNWRAPPED: &str = "/usr/lib/rabbitmq/bin/rabbitmq-server";

static NODE: OnceLock<Result<SharedNode, String>> = OnceLock::new();

/// The binary's RabbitMQ node, started on first use; `None` (after a loud
/// message) when RabbitMQ is not installed and this is not CI.
///
/// # Panics
///
/// In CI when RabbitMQ is not installed, and anywhere when it is installed
/// but does not start (the panic carries its log).
pub fn shared() -> Option<&'static SharedNode> {
    let installed = require("rabbitmq-server", "rabbitmq-server", &[])?;
    // Debian's /usr/sbin/rabbitmq-server is a wrapper that drops to the
    // `rabbitmq` user, who cannot write our private temporary folder: run
    // the server script it wraps, as ourselves.
    let unwrapped = std::path::PathBuf::from(UNWRAPPED);
    let binary = if unwrapped.is_file() {
        unwrapped
    } else {
        installed
    };
    let node = NODE.get_or_init(|| start(&binary).map_err(|error| error.to_string()));
    match node {
        Ok(node) => Some(node),
        Err(error) => panic!("conformance: RabbitMQ did not start: {error}"),
    }
}

fn start(binary: &std::path::Path) -> Result<SharedNode, ServerError> {
    let dir = Server::data_dir("rabbitmq")?;
    let (port, dist_port, epmd_port) = (free_port()?, free_port()?, free_port()?);
    let path = dir.path().to_owned();
    let write = |name: &str, text: String| {
        std::fs::write(path.join(name), text).map_err(|source| ServerError::Io {
            what: format!("writing RabbitMQ's {name}"),
            source,
        })
    };
    write(
        "rabbitmq.conf",
        format!(
            "listeners.tcp.default = 127.0.0.1:{port}\n\
             consumer_timeout = {}\n",
            CONSUMER_TIMEOUT.as_millis()
        ),
    )?;
    write(
        "advanced.config",
        format!(
            "[{{rabbit, [{{channel_tick_interval, {}}}]}}].\n",
            CHANNEL_TICK.as_millis()
        ),
    )?;
    write("enabled_plugins", "[].\n".to_owned())?;
    let mut command = Command::new(binary);
    command
        .current_dir(&path)
        // The Erlang cookie is written to $HOME.
        .env("HOME", &path)
        .env("RABBITMQ_NODENAME", format!("conformance-{port}@localhost"))
        .env("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1")
        .env("RABBITMQ_NODE_PORT", port.to_string())
        .env("RABBITMQ_DIST_PORT", dist_port.to_string())
        .env("RABBITMQ_MNESIA_BASE", path.join("mnesia"))
        .env("RABBITMQ_LOG_BASE", path.join("log"))
        .env("RABBITMQ_CONFIG_FILE", path.join("rabbitmq.conf"))
        .env(
            "RABBITMQ_ADVANCED_CONFIG_FILE",
            path.join("advanced.config"),
        )
        .env(
            "RABBITMQ_ENABLED_PLUGINS_FILE",
            path.join("enabled_plugins"),
        )
        .env("RABBITMQ_PLUGINS_EXPAND_DIR", path.join("plugins-expand"))
        // Erlang distribution and the port mapper on loopback, on ports of
        // their own, so that nothing listens beyond this machine and two
        // runs never share an epmd.
        .env("ERL_EPMD_ADDRESS", "127.0.0.1")
        .env("ERL_EPMD_PORT", epmd_port.to_string())
        .env(
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS",
            "-kernel inet_dist_use_interface {127,0,0,1}",
        );
    // RabbitMQ starts epmd early, and epmd daemonises itself out of the
    // process group: ask it to stop at exit, even if the node fails to boot.
    super::cleanup::at_exit(move || stop_epmd(epmd_port));
    let server = Server::start("rabbitmq", command, port, dir, Duration::from_secs(180))?;
    let version = version_from_logs(server.dir()).map_or_else(
        || "RabbitMQ (version not found in its logs)".to_owned(),
        |version| format!("RabbitMQ {version}"),
    );
    // Registered after the epmd hook, so run before it (see `cleanup`: last
    // registered, first run).
    super::cleanup::at_exit(move || drop(server));
    Ok(SharedNode { port, version })
}

/// The "Starting RabbitMQ 3.10.8 on Erlang 25.2.3" line of the node's log
/// (under `log/`, named after the node), without its prefix.
fn version_from_logs(dir: &std::path::Path) -> Option<String> {
    let logs = std::fs::read_dir(dir.join("log")).ok()?;
    logs.filter_map(Result::ok)
        .filter_map(|entry| std::fs::read_to_string(entry.path()).ok())
        .find_map(|text| {
            text.lines().find_map(|line| {
                line.split_once("Starting RabbitMQ ")
                    .map(|(_, rest)| rest.trim().to_owned())
            })
        })
}

/// Stops the epmd listening on `port`, if any (it refuses while a node is
/// still registered with it, which is why the node is killed first).
fn stop_epmd(port: u16) {
    if let Ok(epmd) = find_binary("epmd", "erlang-base", &[]) {
        let _ = Command::new(epmd)
            .args(["-port", &port.to_string(), "-kill"])
            .env("ERL_EPMD_ADDRESS", "127.0.0.1")
            .output();
    }
}

fn amqp_uri(port: u16) -> String {
    format!("amqp://guest:guest@127.0.0.1:{port}/%2f")
}

fn dead_letter_queue(queue: &str) -> String {
    format!("{queue}.dead-letters")
}

/// A connection to the shared node for one test: it declares queues,
/// publishes with confirms, and opens consumers through links of their own.
#[derive(Debug)]
pub struct RabbitMq {
    port: u16,
    version: String,
    /// Kept open: closing the connection would close the channel.
    _connection: Connection,
    channel: Channel,
}

impl RabbitMq {
    /// Connects to `node`.
    ///
    /// # Errors
    ///
    /// When the connection or its channel cannot be opened.
    pub async fn connect(node: &SharedNode) -> Result<RabbitMq, EngineError> {
        let connection = Connection::connect(&amqp_uri(node.port), ConnectionProperties::default())
            .await
            .map_err(client_error(ENGINE, "connecting the producer"))?;
        let channel = connection
            .create_channel()
            .await
            .map_err(client_error(ENGINE, "opening the producer's channel"))?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(client_error(ENGINE, "turning publisher confirms on"))?;
        Ok(RabbitMq {
            port: node.port,
            version: node.version.clone(),
            _connection: connection,
            channel,
        })
    }

    /// Declares a classic queue (the scenarios use quorum queues): the
    /// configuration chapter says that up to 4.2 the consumer timeout
    /// covers every queue type.
    ///
    /// # Errors
    ///
    /// When the declaration fails.
    pub async fn declare_classic(&self, name: &str) -> Result<(), EngineError> {
        let mut arguments = FieldTable::default();
        arguments.insert("x-queue-type".into(), long_string("classic"));
        self.declare_queue(name, arguments).await.map(drop)
    }

    async fn declare_queue(&self, name: &str, arguments: FieldTable) -> Result<u32, EngineError> {
        let queue = self
            .channel
            .queue_declare(
                name.into(),
                QueueDeclareOptions {
                    durable: true,
                    ..QueueDeclareOptions::default()
                },
                arguments,
            )
            .await
            .map_err(client_error(ENGINE, format!("declaring queue {name}")))?;
        Ok(queue.message_count())
    }
}

fn long_string(text: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(text))
}

fn header<'a>(delivery: &'a Delivery, name: &str) -> Option<&'a AMQPValue> {
    delivery
        .properties
        .headers()
        .as_ref()
        .and_then(|headers| headers.inner().get(&ShortString::from(name)))
}

fn as_number(value: &AMQPValue) -> Option<i64> {
    match value {
        AMQPValue::ShortShortInt(n) => Some(i64::from(*n)),
        AMQPValue::ShortShortUInt(n) => Some(i64::from(*n)),
        AMQPValue::ShortInt(n) => Some(i64::from(*n)),
        AMQPValue::ShortUInt(n) => Some(i64::from(*n)),
        AMQPValue::LongInt(n) => Some(i64::from(*n)),
        AMQPValue::LongUInt(n) => Some(i64::from(*n)),
        AMQPValue::LongLongInt(n) => Some(*n),
        _ => None,
    }
}

fn message_id(delivery: &Delivery) -> String {
    delivery
        .properties
        .message_id()
        .as_ref()
        .map(|id| id.as_str().to_owned())
        .unwrap_or_default()
}

impl Engine for RabbitMq {
    type Consumer = RabbitMqConsumer;

    fn kind(&self) -> EngineKind {
        EngineKind::RabbitMq
    }

    fn version(&self) -> String {
        format!("{}, quorum queues, lapin 4.12.3", self.version)
    }

    fn lock_timeout(&self) -> Option<Duration> {
        Some(CONSUMER_TIMEOUT)
    }

    fn quiet_period(&self) -> Duration {
        Duration::from_millis(500)
    }

    async fn declare(&mut self, spec: &QueueSpec) -> Result<(), EngineError> {
        let mut arguments = FieldTable::default();
        arguments.insert("x-queue-type".into(), long_string("quorum"));
        // Every queue gets a dead-letter queue behind the default exchange
        // (which routes by queue name): a rejected message goes there, and
        // so does one over the delivery limit.
        let dead_letters = dead_letter_queue(&spec.name);
        self.declare_queue(&dead_letters, FieldTable::default())
            .await?;
        arguments.insert("x-dead-letter-exchange".into(), long_string(""));
        arguments.insert(
            "x-dead-letter-routing-key".into(),
            long_string(&dead_letters),
        );
        if let Some(limit) = spec.delivery_limit {
            arguments.insert(
                "x-delivery-limit".into(),
                AMQPValue::LongInt(limit.try_into().unwrap_or(i32::MAX)),
            );
        }
        // RabbitMQ has no duplicate detection on classic or quorum queues:
        // `spec.duplicate_detection` has nothing to switch on.
        self.declare_queue(&spec.name, arguments).await.map(drop)
    }

    async fn publish(
        &mut self,
        queue: &str,
        message_id: &str,
        body: &[u8],
    ) -> Result<(), EngineError> {
        let confirmation = self
            .channel
            .basic_publish(
                "".into(),
                queue.into(),
                BasicPublishOptions::default(),
                body,
                BasicProperties::default()
                    .with_message_id(message_id.into())
                    .with_delivery_mode(2),
            )
            .await
            .map_err(client_error(ENGINE, format!("publishing {message_id}")))?
            .await
            .map_err(client_error(ENGINE, format!("confirming {message_id}")))?;
        match confirmation {
            Confirmation::Ack(_) => Ok(()),
            other => Err(EngineError::Unexpected {
                engine: ENGINE,
                what: format!("publishing {message_id} was not confirmed: {other:?}"),
            }),
        }
    }

    async fn consumer(
        &mut self,
        queue: &str,
        mode: AckMode,
    ) -> Result<RabbitMqConsumer, EngineError> {
        let link = Link::to(self.port)
            .await
            .map_err(client_error(ENGINE, "opening a link"))?;
        let connection =
            Connection::connect(&amqp_uri(link.port()), ConnectionProperties::default())
                .await
                .map_err(client_error(ENGINE, "connecting a consumer"))?;
        let channel = connection
            .create_channel()
            .await
            .map_err(client_error(ENGINE, "opening a consumer's channel"))?;
        // One unacknowledged delivery at a time, so that a hung consumer
        // holds one message, not the queue (no effect in automatic mode).
        channel
            .basic_qos(1, BasicQosOptions::default())
            .await
            .map_err(client_error(ENGINE, "setting the prefetch"))?;
        let options = BasicConsumeOptions {
            no_ack: mode == AckMode::Auto,
            ..BasicConsumeOptions::default()
        };
        let consumer = channel
            .basic_consume(queue.into(), "".into(), options, FieldTable::default())
            .await
            .map_err(client_error(ENGINE, format!("consuming {queue}")))?;
        Ok(RabbitMqConsumer {
            link,
            _connection: connection,
            _channel: channel,
            consumer,
        })
    }

    async fn after_limit(
        &mut self,
        queue: &str,
        message_id: &str,
    ) -> Result<AfterLimit, EngineError> {
        let dead_letters = dead_letter_queue(queue);
        // The dead-lettering happens in the queue's process after the last
        // nack: give it a moment to arrive.
        let deadline = tokio::time::Instant::now() + self.quiet_period();
        loop {
            let letter = self
                .channel
                .basic_get(
                    dead_letters.as_str().into(),
                    BasicGetOptions { no_ack: true },
                )
                .await
                .map_err(client_error(ENGINE, format!("reading {dead_letters}")))?;
            if let Some(letter) = letter
                && message_id == self::message_id(&letter.delivery)
            {
                let reason = header(&letter.delivery, "x-first-death-reason")
                    .map(|value| match value {
                        AMQPValue::LongString(text) => text.to_string(),
                        other => format!("{other:?}"),
                    })
                    .unwrap_or_default();
                return Ok(AfterLimit::DeadLettered { reason });
            }
            if tokio::time::Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mut arguments = FieldTable::default();
        arguments.insert("x-queue-type".into(), long_string("quorum"));
        let waiting = self
            .channel
            .queue_declare(
                queue.into(),
                QueueDeclareOptions {
                    passive: true,
                    ..QueueDeclareOptions::default()
                },
                arguments,
            )
            .await
            .map_err(client_error(ENGINE, format!("counting {queue}")))?
            .message_count();
        Ok(if waiting > 0 {
            AfterLimit::StillPending
        } else {
            AfterLimit::Gone
        })
    }
}

/// A consumer on a connection of its own, through its own [`Link`].
#[derive(Debug)]
pub struct RabbitMqConsumer {
    link: Link,
    _connection: Connection,
    _channel: Channel,
    consumer: lapin::Consumer,
}

impl Consumer for RabbitMqConsumer {
    type Handle = Delivery;

    async fn receive(
        &mut self,
        within: Duration,
    ) -> Result<Option<Received<Delivery>>, EngineError> {
        let Ok(next) = tokio::time::timeout(within, self.consumer.next()).await else {
            return Ok(None);
        };
        let Some(delivery) = next else {
            return Ok(None);
        };
        let delivery = delivery.map_err(client_error(ENGINE, "receiving"))?;
        // A quorum queue counts returns in `x-delivery-count`, absent on a
        // first delivery: the delivery count is one more.
        let returns = header(&delivery, "x-delivery-count")
            .and_then(as_number)
            .unwrap_or(0);
        Ok(Some(Received {
            message_id: message_id(&delivery),
            delivery_count: u32::try_from(returns + 1).ok(),
            redelivered: Some(delivery.redelivered),
            handle: delivery,
        }))
    }

    async fn settle(
        &mut self,
        received: Received<Delivery>,
        how: Settle,
    ) -> Result<(), EngineError> {
        let what = format!("settling {} ({how:?})", received.message_id);
        match how {
            Settle::Ack => received.handle.ack(BasicAckOptions::default()).await,
            Settle::Requeue => {
                received
                    .handle
                    .nack(BasicNackOptions {
                        requeue: true,
                        multiple: false,
                    })
                    .await
            }
            Settle::Reject => {
                received
                    .handle
                    .reject(BasicRejectOptions { requeue: false })
                    .await
            }
        }
        .map(drop)
        .map_err(client_error(ENGINE, what))
    }

    async fn crash(self) {
        self.link.sever().await;
    }
}

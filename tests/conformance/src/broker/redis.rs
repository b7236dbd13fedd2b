//! Redis Streams behind the [`Engine`] trait, through redis-rs: a stream key
//! per queue with one consumer group, `XREADGROUP` (with `NOACK` for the
//! settle-on-delivery mode), `XACK`, the pending entries list, and
//! `XAUTOCLAIM` after a min idle time.
//!
//! Redis hands nothing back by itself: an entry read and never acked stays
//! in the group's pending list, owned by the consumer that read it, however
//! that consumer died. Another consumer takes it over with `XAUTOCLAIM`
//! once it has been idle for a min idle time, which is Redis's lock
//! duration. So a consumer here first claims what has been idle too long,
//! then reads new entries, as the Redis documentation's recovery loop does.
//! Redis 7.0 has no negative ack: [`Settle::Requeue`] leaves the entry
//! pending, to be claimed again after the idle time.
//!
//! One server per test binary ([`shared`]), with no persistence.

use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use redis::AsyncCommands;
use redis::aio::MultiplexedConnection;
use redis::streams::{
    StreamAutoClaimOptions, StreamAutoClaimReply, StreamId, StreamPendingCountReply,
    StreamReadOptions, StreamReadReply,
};

use super::link::Link;
use super::{
    AckMode, AfterLimit, Consumer, Engine, EngineError, EngineKind, QueueSpec, Received, Settle,
    client_error,
};
use crate::server::{Server, ServerError, free_port, require, version};

const ENGINE: &str = "Redis Streams";

/// The consumer group every consumer of a queue joins.
const GROUP: &str = "workers";

/// How long a pending entry must have been idle before a consumer claims
/// it: the scenarios' lock duration.
pub const MIN_IDLE: Duration = Duration::from_millis(500);

/// How long one `XREADGROUP` blocks for new entries before the consumer
/// looks at the pending list again.
const POLL: Duration = Duration::from_millis(50);

/// The server every test of a binary shares.
#[derive(Debug)]
pub struct SharedServer {
    port: u16,
    version: String,
}

static SERVER: OnceLock<Result<SharedServer, String>> = OnceLock::new();

/// The binary's redis-server, started on first use; `None` (after a loud
/// message) when it is not installed and this is not CI.
///
/// # Panics
///
/// In CI when redis-server is not installed, and anywhere when it is
/// installed but does not start (the panic carries its log).
pub fn shared() -> Option<&'static SharedServer> {
    let binary = require("redis-server", "redis-server", &[])?;
    let server = SERVER.get_or_init(|| start(&binary).map_err(|error| error.to_string()));
    match server {
        Ok(server) => Some(server),
        Err(error) => panic!("conformance: redis-server did not start: {error}"),
    }
}

fn start(binary: &std::path::Path) -> Result<SharedServer, ServerError> {
    let dir = Server::data_dir("redis")?;
    let port = free_port()?;
    let mut command = Command::new(binary);
    command
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .arg("--dir")
        .arg(dir.path())
        // No snapshots, no append-only file: nothing outlives the run.
        .args(["--save", "", "--appendonly", "no"]);
    let server = Server::start("redis-server", command, port, dir, Duration::from_secs(60))?;
    // "Redis server v=7.0.15 sha=… malloc=… bits=64 build=…": the name and
    // the version are what the record needs.
    let version = version(binary, &["--version"])?
        .split_whitespace()
        .take_while(|word| !word.starts_with("sha="))
        .collect::<Vec<_>>()
        .join(" ");
    super::cleanup::at_exit(move || drop(server));
    Ok(SharedServer { port, version })
}

async fn connect(port: u16, who: &str) -> Result<MultiplexedConnection, EngineError> {
    redis::Client::open(format!("redis://127.0.0.1:{port}/"))
        .map_err(client_error(
            ENGINE,
            format!("addressing the server for {who}"),
        ))?
        .get_multiplexed_async_connection()
        .await
        .map_err(client_error(ENGINE, format!("connecting {who}")))
}

/// How many times the group delivered entry `id` of `queue`, if it is
/// pending.
async fn times_delivered(
    connection: &mut MultiplexedConnection,
    queue: &str,
    id: &str,
) -> Result<Option<u32>, EngineError> {
    let pending: StreamPendingCountReply = connection
        .xpending_count(queue, GROUP, id, id, 1)
        .await
        .map_err(client_error(
            ENGINE,
            format!("reading the pending entry {id}"),
        ))?;
    Ok(pending
        .ids
        .first()
        .and_then(|entry| u32::try_from(entry.times_delivered).ok()))
}

/// One test's view of the shared server.
#[derive(Debug)]
pub struct Redis {
    port: u16,
    version: String,
    connection: MultiplexedConnection,
    consumers: u32,
}

impl Redis {
    /// Connects to `server`.
    ///
    /// # Errors
    ///
    /// When the connection fails.
    pub async fn connect(server: &SharedServer) -> Result<Redis, EngineError> {
        Ok(Redis {
            port: server.port,
            version: server.version.clone(),
            connection: connect(server.port, "the producer").await?,
            consumers: 0,
        })
    }
}

impl Engine for Redis {
    type Consumer = RedisConsumer;

    fn kind(&self) -> EngineKind {
        EngineKind::Redis
    }

    fn version(&self) -> String {
        format!("{}, consumer groups, redis-rs 1.8.2", self.version)
    }

    fn lock_timeout(&self) -> Option<Duration> {
        Some(MIN_IDLE)
    }

    fn quiet_period(&self) -> Duration {
        Duration::from_millis(500)
    }

    async fn declare(&mut self, spec: &QueueSpec) -> Result<(), EngineError> {
        // Redis 7.0 has neither a delivery limit nor duplicate detection on
        // XADD: the spec's features have nothing to switch on.
        let () = self
            .connection
            .xgroup_create_mkstream(&spec.name, GROUP, "$")
            .await
            .map_err(client_error(
                ENGINE,
                format!("creating group {GROUP} on {}", spec.name),
            ))?;
        Ok(())
    }

    async fn publish(
        &mut self,
        queue: &str,
        message_id: &str,
        body: &[u8],
    ) -> Result<(), EngineError> {
        let _entry: String = self
            .connection
            .xadd(queue, "*", &[("id", message_id.as_bytes()), ("body", body)])
            .await
            .map_err(client_error(
                ENGINE,
                format!("adding {message_id} to {queue}"),
            ))?;
        Ok(())
    }

    async fn consumer(&mut self, queue: &str, mode: AckMode) -> Result<RedisConsumer, EngineError> {
        self.consumers += 1;
        let name = format!("consumer-{}", self.consumers);
        let link = Link::to(self.port)
            .await
            .map_err(client_error(ENGINE, "opening a link"))?;
        let connection = connect(link.port(), &name).await?;
        Ok(RedisConsumer {
            link,
            connection,
            queue: queue.to_owned(),
            name,
            mode,
        })
    }

    /// Each scenario's stream holds one entry: any pending entry is it.
    async fn after_limit(
        &mut self,
        queue: &str,
        _message_id: &str,
    ) -> Result<AfterLimit, EngineError> {
        let pending: StreamPendingCountReply = self
            .connection
            .xpending_count(queue, GROUP, "-", "+", 100)
            .await
            .map_err(client_error(
                ENGINE,
                format!("reading the pending list of {queue}"),
            ))?;
        Ok(if pending.ids.is_empty() {
            AfterLimit::Gone
        } else {
            AfterLimit::StillPending
        })
    }
}

/// A consumer of the group, on a connection of its own through its own
/// [`Link`].
#[derive(Debug)]
pub struct RedisConsumer {
    link: Link,
    connection: MultiplexedConnection,
    queue: String,
    name: String,
    mode: AckMode,
}

impl RedisConsumer {
    /// An entry pending for longer than [`MIN_IDLE`], claimed for this
    /// consumer.
    async fn claim_idle(&mut self) -> Result<Option<StreamId>, EngineError> {
        let min_idle = u64::try_from(MIN_IDLE.as_millis()).unwrap_or(u64::MAX);
        let reply: StreamAutoClaimReply = self
            .connection
            .xautoclaim_options(
                &self.queue,
                GROUP,
                &self.name,
                min_idle,
                "0-0",
                StreamAutoClaimOptions::default().count(1),
            )
            .await
            .map_err(client_error(
                ENGINE,
                format!("claiming idle entries of {}", self.queue),
            ))?;
        Ok(reply.claimed.into_iter().next())
    }

    /// A new entry, waiting at most [`POLL`].
    async fn read_new(&mut self) -> Result<Option<StreamId>, EngineError> {
        let block = usize::try_from(POLL.as_millis()).unwrap_or(usize::MAX);
        let mut options = StreamReadOptions::default()
            .group(GROUP, &self.name)
            .count(1)
            .block(block);
        if self.mode == AckMode::Auto {
            options = options.noack();
        }
        let reply: Option<StreamReadReply> = self
            .connection
            .xread_options(&[&self.queue], &[">"], &options)
            .await
            .map_err(client_error(ENGINE, format!("reading {}", self.queue)))?;
        Ok(reply.and_then(|reply| reply.keys.into_iter().flat_map(|key| key.ids).next()))
    }
}

impl Consumer for RedisConsumer {
    /// The entry's stream id, which `XACK` takes.
    type Handle = String;

    async fn receive(&mut self, within: Duration) -> Result<Option<Received<String>>, EngineError> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let entry = match self.claim_idle().await? {
                Some(entry) => Some(entry),
                None => self.read_new().await?,
            };
            if let Some(entry) = entry {
                let message_id = entry.get::<String>("id").unwrap_or_default();
                let delivery_count =
                    times_delivered(&mut self.connection, &self.queue, &entry.id).await?;
                return Ok(Some(Received {
                    message_id,
                    delivery_count,
                    redelivered: None,
                    handle: entry.id,
                }));
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(None);
            }
        }
    }

    async fn settle(&mut self, received: Received<String>, how: Settle) -> Result<(), EngineError> {
        match how {
            Settle::Ack => {
                let _acked: usize = self
                    .connection
                    .xack(&self.queue, GROUP, &[&received.handle])
                    .await
                    .map_err(client_error(
                        ENGINE,
                        format!("acking {}", received.message_id),
                    ))?;
                Ok(())
            }
            // No XNACK in Redis 7.0: the entry stays pending and is claimed
            // again once idle for MIN_IDLE.
            Settle::Requeue => Ok(()),
            Settle::Reject => Err(EngineError::Unexpected {
                engine: ENGINE,
                what: "Redis Streams has no reject: XACK the entry and XADD it to a stream of \
                       your own"
                    .to_owned(),
            }),
        }
    }

    async fn crash(self) {
        self.link.sever().await;
    }
}

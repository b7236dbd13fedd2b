//! A Kafka-style consumer that commits on a timer.
//!
//! librdkafka (and so the `rdkafka` crate) defaults to
//! `enable.auto.commit=true` with `auto.commit.interval.ms=5000` and
//! `enable.auto.offset.store=true`: the offset of every message *handed to the
//! application* is committed by a background timer every 5 seconds, whether
//! or not the application has finished with it. If the consumer crashes after
//! a commit and before it finished the work, the message is gone: nobody
//! will deliver it again. That is lesson one of chapter 3: check your
//! defaults.
//!
//! Our model: [`AutoCommitConsumer::poll`] receives under peek-lock and
//! arranges for the broker to complete the message at the next commit tick
//! (every `interval` since the consumer was created), *if the consumer's
//! connection is still open then*. A crash closes the connection, so messages
//! polled after the last tick are redelivered; messages polled before it are
//! committed even if their processing never finished.
//!
//! The safe patterns are to commit yourself after processing
//! (`enable.auto.commit=false`), or to store offsets only after processing
//! (`enable.auto.offset.store=false`). Java's `KafkaConsumer` commits inside
//! `poll()` instead, which is at-least-once for a synchronous loop but not
//! once work is handed to another task.
//!
//! [`ClientConfig`] and [`KafkaConsumer`] put both choices in the learner's
//! hands, with rdkafka's names and librdkafka's defaults: a consumer built
//! from `ClientConfig::new().set("group.id", ..)` alone auto-commits as
//! above; `set("enable.auto.commit", "false")` and
//! [`KafkaConsumer::commit_message`] after processing, or
//! `set("enable.auto.offset.store", "false")` and
//! [`KafkaConsumer::store_offset_from_message`] after processing, commit
//! only what was done.
//!
//! Where the model differs from Kafka: a queue stands in for a partition, so
//! a commit settles one message, not "everything before this offset" (the
//! same thing for a consumer that handles one message at a time); and the
//! queue's lock duration stands in for the group's session timeout: a
//! crashed consumer's uncommitted messages go to the next consumer when it
//! runs out. A live consumer that never commits also gets its messages
//! again when their locks run out, where Kafka would wait for a restart or
//! a rebalance: either way they are never settled.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use crate::client::Client;
use crate::error::BrokerError;
use crate::receive::{Delivery, ReceiveOptions};
use crate::simulation::ServiceCtx;
use crate::trace::Operation;

/// Kafka's default `auto.commit.interval.ms`: 5 s.
pub const DEFAULT_AUTO_COMMIT_INTERVAL: Duration = Duration::from_secs(5);
/// librdkafka's default `enable.auto.commit`: on, a timer commits.
pub const DEFAULT_ENABLE_AUTO_COMMIT: bool = true;
/// librdkafka's default `enable.auto.offset.store`: on, the offset of each
/// message is stored as it is handed to the application.
pub const DEFAULT_ENABLE_AUTO_OFFSET_STORE: bool = true;

/// What the trace says of a commit made by the auto-commit timer.
pub(crate) const COMMITTED_ON_THE_TIMER: &str = "committed on the timer";
/// What the trace says of a commit sent with [`CommitMode::Async`].
const COMMITTED_IN_THE_BACKGROUND: &str = "async commit, sent in the background";

/// A consumer that commits what it polled on a timer (see the module docs).
#[derive(Clone, Debug)]
pub struct AutoCommitConsumer {
    via: Via,
    path: Arc<str>,
    interval: Duration,
    /// Commit ticks are `created + k × interval`.
    created: Instant,
}

/// Whose connection polls: a plain client, or a simulated service (whose
/// polls are operations with crash points).
#[derive(Clone, Debug)]
enum Via {
    Client(Client),
    Service(ServiceCtx),
}

impl AutoCommitConsumer {
    pub(crate) fn direct(client: Client, path: &str, interval: Duration) -> AutoCommitConsumer {
        AutoCommitConsumer {
            via: Via::Client(client),
            path: Arc::from(path),
            interval: interval.max(Duration::from_millis(1)),
            created: Instant::now(),
        }
    }

    pub(crate) fn simulated(ctx: ServiceCtx, path: &str, interval: Duration) -> AutoCommitConsumer {
        AutoCommitConsumer {
            via: Via::Service(ctx),
            path: Arc::from(path),
            interval: interval.max(Duration::from_millis(1)),
            created: Instant::now(),
        }
    }

    /// The next message. Its commit is already arranged: do not complete it.
    pub async fn poll(&self) -> Result<Delivery, BrokerError> {
        match &self.via {
            Via::Client(client) => loop {
                let delivery = client
                    .broker()
                    .receive_as(
                        client.meta(),
                        &self.path,
                        ReceiveOptions::default(),
                        false,
                        Operation::Poll,
                    )
                    .await?;
                if let Some(delivery) = delivery {
                    let broker = client.broker();
                    broker.auto_commit_at(
                        &delivery,
                        self.next_tick(),
                        client.meta().connection,
                        Arc::clone(&client.meta().actor),
                        COMMITTED_ON_THE_TIMER,
                    );
                    return Ok(delivery);
                }
            },
            Via::Service(ctx) => ctx.poll_kafka(&self.path, Some(self.next_tick())).await,
        }
    }

    /// The first commit tick after now.
    fn next_tick(&self) -> Instant {
        let since = Instant::now().saturating_duration_since(self.created);
        let ticks = since.as_nanos() / self.interval.as_nanos() + 1;
        let ticks = u32::try_from(ticks).unwrap_or(u32::MAX);
        self.created + self.interval * ticks
    }
}

/// A Kafka consumer's configuration, by librdkafka's property names and
/// with its defaults, as rdkafka's `ClientConfig` holds it: every value is
/// a string, read when the consumer is created.
///
/// The properties this model acts on:
///
/// | property | default | what it does here |
/// | --- | --- | --- |
/// | `group.id` | none: required | names the consumer group (only one here) |
/// | `enable.auto.commit` | `true` | a background timer commits stored offsets |
/// | `auto.commit.interval.ms` | `5000` | how often the timer runs |
/// | `enable.auto.offset.store` | `true` | each message's offset is stored as it is handed to the application |
///
/// `bootstrap.servers`, `auto.offset.reset` and `session.timeout.ms` are
/// accepted and play no part in the model; any other property is refused
/// when the consumer is created, as librdkafka refuses one it does not
/// know, so that a misspelt key cannot silently keep a default.
#[derive(Clone, Debug, Default)]
pub struct ClientConfig {
    settings: BTreeMap<String, String>,
}

/// The properties [`ClientConfig`] accepts but does not act on.
const IGNORED_PROPERTIES: &[&str] = &[
    "bootstrap.servers",
    "auto.offset.reset",
    "session.timeout.ms",
];

impl ClientConfig {
    /// An empty configuration: every property at librdkafka's default.
    pub fn new() -> ClientConfig {
        ClientConfig::default()
    }

    /// Sets `key` to `value` (chainable, as in rdkafka).
    pub fn set<K: Into<String>, V: Into<String>>(&mut self, key: K, value: V) -> &mut ClientConfig {
        self.settings.insert(key.into(), value.into());
        self
    }

    /// The value set for `key`, if any.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.settings.get(key).map(String::as_str)
    }

    /// Creates the consumer for the service `ctx` (rdkafka's
    /// `create_with_context` takes a context of callbacks; here the context
    /// is the service the consumer runs in). Fails with
    /// [`BrokerError::InvalidOperation`] naming the property when `group.id`
    /// is missing, a value cannot be read, or a property is unknown.
    pub fn create_with_context(&self, ctx: ServiceCtx) -> Result<KafkaConsumer, BrokerError> {
        let refuse = |key: &str, why: &'static str| BrokerError::InvalidOperation {
            operation: "ClientConfig::create_with_context",
            path: key.to_string(),
            why,
        };
        for key in self.settings.keys() {
            let known = matches!(
                key.as_str(),
                "group.id"
                    | "enable.auto.commit"
                    | "enable.auto.offset.store"
                    | "auto.commit.interval.ms"
            ) || IGNORED_PROPERTIES.contains(&key.as_str());
            if !known {
                return Err(refuse(
                    key,
                    "no such configuration property in this model (it knows group.id, \
                     enable.auto.commit, enable.auto.offset.store, auto.commit.interval.ms, \
                     bootstrap.servers, auto.offset.reset and session.timeout.ms)",
                ));
            }
        }
        if self.get("group.id").is_none_or(str::is_empty) {
            return Err(refuse(
                "group.id",
                "a consumer that subscribes needs a `group.id` to commit its offsets to",
            ));
        }
        let flag = |key: &str, default: bool| match self
            .get(key)
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None => Ok(default),
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(_) => Err(refuse(key, "the value must be \"true\" or \"false\"")),
        };
        let auto_commit = flag("enable.auto.commit", DEFAULT_ENABLE_AUTO_COMMIT)?;
        let auto_offset_store = flag("enable.auto.offset.store", DEFAULT_ENABLE_AUTO_OFFSET_STORE)?;
        let interval = match self.get("auto.commit.interval.ms") {
            None => DEFAULT_AUTO_COMMIT_INTERVAL,
            Some(text) => match text.parse::<u64>() {
                Ok(ms) if ms > 0 => Duration::from_millis(ms),
                _ => {
                    return Err(refuse(
                        "auto.commit.interval.ms",
                        "the value must be a whole number of milliseconds above 0",
                    ));
                }
            },
        };
        Ok(KafkaConsumer {
            ctx,
            topic: Arc::new(Mutex::new(None)),
            auto_commit,
            auto_offset_store,
            interval,
            created: Instant::now(),
        })
    }
}

/// How [`KafkaConsumer::commit_message`] commits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommitMode {
    /// Waits for the broker to confirm the commit: an operation of the
    /// service, which can fail, and at whose edges a crash can come.
    Sync,
    /// Sends the commit and returns at once: the broker applies it at its
    /// next step, unless the service's connection is gone by then (a crash
    /// right after the call loses the commit, so the message comes back).
    Async,
}

/// A Kafka-style consumer of one topic (a queue of the broker here), created
/// by [`ClientConfig::create_with_context`]; see the module docs for when it
/// commits.
#[derive(Clone, Debug)]
pub struct KafkaConsumer {
    ctx: ServiceCtx,
    topic: Arc<Mutex<Option<Arc<str>>>>,
    auto_commit: bool,
    auto_offset_store: bool,
    interval: Duration,
    /// The auto-commit timer runs at `created + k × interval`.
    created: Instant,
}

impl KafkaConsumer {
    /// Subscribes to `topics`: this model consumes exactly one.
    pub fn subscribe(&self, topics: &[&str]) -> Result<(), BrokerError> {
        let [topic] = topics else {
            return Err(BrokerError::InvalidOperation {
                operation: "KafkaConsumer::subscribe",
                path: topics.join(", "),
                why: "this model's consumer subscribes to exactly one topic",
            });
        };
        *self.topic.lock().unwrap_or_else(PoisonError::into_inner) = Some(Arc::from(*topic));
        Ok(())
    }

    /// The next message of the subscribed topic. With the defaults
    /// (`enable.auto.commit` and `enable.auto.offset.store` both `true`) its
    /// offset is stored now and committed at the next tick of the timer,
    /// finished or not.
    pub async fn recv(&self) -> Result<Delivery, BrokerError> {
        let topic = self.topic("KafkaConsumer::recv")?;
        let commit_at = (self.auto_commit && self.auto_offset_store).then(|| self.next_tick());
        self.ctx.poll_kafka(&topic, commit_at).await
    }

    /// Commits `message` (and so, in Kafka, everything before it in its
    /// partition). The broker's trace calls a commit of one message
    /// `complete`. A message whose lock has run out (its session, in Kafka
    /// terms) can no longer be committed: [`BrokerError::LockLost`].
    pub async fn commit_message(
        &self,
        message: &Delivery,
        mode: CommitMode,
    ) -> Result<(), BrokerError> {
        match mode {
            CommitMode::Sync => self.ctx.complete(message).await,
            CommitMode::Async => {
                self.ctx
                    .commit_at(message, Instant::now(), COMMITTED_IN_THE_BACKGROUND);
                Ok(())
            }
        }
    }

    /// Stores `message`'s offset for the auto-commit timer to commit at its
    /// next tick. Only with `enable.auto.offset.store` set to `false`: with
    /// the default the client stores every offset itself as it hands the
    /// message over, and librdkafka answers `RD_KAFKA_RESP_ERR__INVALID_ARG`,
    /// as this model does. With `enable.auto.commit` also `false`, nothing
    /// commits a stored offset in this model (librdkafka's
    /// `commit_consumer_state` is not modelled): commit the message instead.
    pub fn store_offset_from_message(&self, message: &Delivery) -> Result<(), BrokerError> {
        if self.auto_offset_store {
            return Err(BrokerError::InvalidOperation {
                operation: "KafkaConsumer::store_offset_from_message",
                path: message.message_id().to_string(),
                why: "`enable.auto.offset.store` is \"true\" (the default): the client already \
                      stored this offset when it handed the message over; set it to \"false\" \
                      to store offsets yourself",
            });
        }
        if self.auto_commit {
            self.ctx
                .commit_at(message, self.next_tick(), COMMITTED_ON_THE_TIMER);
        }
        Ok(())
    }

    fn topic(&self, operation: &'static str) -> Result<Arc<str>, BrokerError> {
        self.topic
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or(BrokerError::InvalidOperation {
                operation,
                path: String::new(),
                why: "the consumer is subscribed to no topic: call `subscribe` first",
            })
    }

    /// The first tick of the auto-commit timer after now.
    fn next_tick(&self) -> Instant {
        let since = Instant::now().saturating_duration_since(self.created);
        let ticks = since.as_nanos() / self.interval.as_nanos() + 1;
        let ticks = u32::try_from(ticks).unwrap_or(u32::MAX);
        self.created + self.interval * ticks
    }
}

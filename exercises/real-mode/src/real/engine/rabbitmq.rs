//! RabbitMQ through lapin.
//!
//! How the workshop's operations map:
//!
//! | workshop | RabbitMQ |
//! | --- | --- |
//! | a queue | a durable quorum queue, `x-delivery-limit` = the queue's max deliveries, dead-lettering to the queue `<name>/$DeadLetterQueue` |
//! | receive (peek-lock) | `basic.consume` with manual acks and a prefetch of 1 |
//! | receive-and-delete | the same, acked as soon as it arrives |
//! | complete | `basic.ack` |
//! | abandon | `basic.nack` with `requeue = true` |
//! | dead-letter | `basic.reject` with `requeue = false` (RabbitMQ keeps no reason text) |
//! | renew lock | nothing: a delivery has no lock. It stays with its channel until it is settled, the channel closes, or the consumer timeout (`consumer_timeout`) closes the channel |
//! | send | `basic.publish` on the default exchange with publisher confirms, waiting for the confirm |
//! | duplicate detection | none: RabbitMQ does not deduplicate on `message_id` |
//! | delivery count | the quorum queue's `x-delivery-count` header, plus one |
//!
//! A delivery belongs to the channel it came on. A crash or a dropped
//! connection closes the channel, and RabbitMQ puts every delivery it held
//! back in its queue at once: no lock has to run out first, unlike the
//! simulator and NATS.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use lapin::Confirmation;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicGetOptions, BasicNackOptions, BasicPublishOptions,
    BasicQosOptions, BasicRejectOptions, ConfirmSelectOptions, QueueDeclareOptions,
    QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, Consumer};
use sim::{BrokerError, Envelope, Message, ReceiveMode};
use tokio::sync::Mutex;

use super::{EngineError, Received, Settlement};
use crate::real::config::{EngineKind, QueueSpec};

/// One connection's worth of state: it goes when the connection does.
struct Session {
    connection: Connection,
    /// Consumes and acks.
    consume: Channel,
    /// Publishes, in confirm mode.
    publish: Channel,
    /// One consumer per queue received from, made on the first receive.
    consumers: HashMap<String, Arc<Mutex<Consumer>>>,
    /// Which connection this is: deliveries of an older one cannot be
    /// settled.
    generation: u64,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

/// A delivery handed to the consumer and not settled yet.
struct Held {
    acker: lapin::Acker,
    generation: u64,
}

/// A connection to RabbitMQ.
pub struct Rabbit {
    url: String,
    queues: Vec<QueueSpec>,
    session: Mutex<Option<Session>>,
    generations: AtomicU64,
    held: std::sync::Mutex<HashMap<u64, Held>>,
    handles: AtomicU64,
}

impl std::fmt::Debug for Rabbit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rabbit")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

fn error(what: &str, detail: impl ToString) -> EngineError {
    EngineError::new(EngineKind::Rabbitmq, what, detail)
}

/// What the consumer sees when RabbitMQ cannot be reached.
fn unavailable(_: lapin::Error) -> BrokerError {
    BrokerError::Unavailable
}

impl Rabbit {
    /// Connects to `url`.
    pub async fn connect(
        url: &str,
        queues: Vec<QueueSpec>,
        _speed: u32,
    ) -> Result<Rabbit, EngineError> {
        let rabbit = Rabbit {
            url: url.to_owned(),
            queues,
            session: Mutex::new(None),
            generations: AtomicU64::new(0),
            held: std::sync::Mutex::new(HashMap::new()),
            handles: AtomicU64::new(0),
        };
        {
            let mut session = rabbit.session.lock().await;
            *session = Some(rabbit.open().await.map_err(|e| error("connecting", e))?);
        }
        Ok(rabbit)
    }

    async fn open(&self) -> Result<Session, lapin::Error> {
        let connection = Connection::connect(&self.url, ConnectionProperties::default()).await?;
        let consume = connection.create_channel().await?;
        // One unacknowledged delivery at a time, as the simulator's receive
        // hands out one message per call.
        consume.basic_qos(1, BasicQosOptions::default()).await?;
        let publish = connection.create_channel().await?;
        publish
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        Ok(Session {
            connection,
            consume,
            publish,
            consumers: HashMap::new(),
            generation: self.generations.fetch_add(1, Ordering::SeqCst) + 1,
        })
    }

    /// Deletes and declares every queue (and its dead-letter queue), empty.
    pub async fn reset(&self) -> Result<(), EngineError> {
        let guard = self.session.lock().await;
        let session = guard
            .as_ref()
            .ok_or_else(|| error("resetting", "not connected"))?;
        let channel = &session.publish;
        for queue in &self.queues {
            let dead_letters = sim::dead_letter_path(&queue.name);
            for name in [&queue.name, &dead_letters] {
                channel
                    .queue_delete(name.as_str().into(), QueueDeleteOptions::default())
                    .await
                    .map_err(|e| error(&format!("deleting queue {name}"), e))?;
            }
            let durable = QueueDeclareOptions {
                durable: true,
                ..QueueDeclareOptions::default()
            };
            channel
                .queue_declare(dead_letters.as_str().into(), durable, FieldTable::default())
                .await
                .map_err(|e| error(&format!("declaring {dead_letters}"), e))?;
            let mut arguments = FieldTable::default();
            arguments.insert(
                "x-queue-type".into(),
                AMQPValue::LongString("quorum".into()),
            );
            arguments.insert(
                "x-delivery-limit".into(),
                AMQPValue::LongInt(i32::try_from(queue.max_deliveries).unwrap_or(i32::MAX)),
            );
            arguments.insert(
                "x-dead-letter-exchange".into(),
                AMQPValue::LongString("".into()),
            );
            arguments.insert(
                "x-dead-letter-routing-key".into(),
                AMQPValue::LongString(dead_letters.as_str().into()),
            );
            channel
                .queue_declare(queue.name.as_str().into(), durable, arguments)
                .await
                .map_err(|e| error(&format!("declaring {}", queue.name), e))?;
        }
        Ok(())
    }

    /// Receives the next delivery of `queue`.
    pub async fn receive(
        &self,
        queue: &str,
        mode: ReceiveMode,
        wait: Option<Duration>,
    ) -> Result<Option<Received>, BrokerError> {
        let (consumer, generation) = {
            let mut guard = self.session.lock().await;
            if guard.is_none() {
                *guard = Some(self.open().await.map_err(unavailable)?);
            }
            let Some(session) = guard.as_mut() else {
                return Err(BrokerError::Unavailable);
            };
            let consumer = match session.consumers.get(queue) {
                Some(consumer) => Arc::clone(consumer),
                None => {
                    let consumer = session
                        .consume
                        .basic_consume(
                            queue.into(),
                            "real-mode".into(),
                            BasicConsumeOptions::default(),
                            FieldTable::default(),
                        )
                        .await
                        .map_err(|e| match e.kind() {
                            lapin::ErrorKind::ProtocolError(_) => BrokerError::EntityNotFound {
                                path: queue.to_owned(),
                            },
                            _ => BrokerError::Unavailable,
                        })?;
                    let consumer = Arc::new(Mutex::new(consumer));
                    session
                        .consumers
                        .insert(queue.to_owned(), Arc::clone(&consumer));
                    consumer
                }
            };
            (consumer, session.generation)
        };
        let mut consumer = consumer.lock().await;
        let next = consumer.next();
        let delivery = match wait {
            Some(wait) => match tokio::time::timeout(wait, next).await {
                Ok(delivery) => delivery,
                Err(_) => return Ok(None),
            },
            None => next.await,
        };
        let delivery = match delivery {
            Some(Ok(delivery)) => delivery,
            Some(Err(_)) | None => return Err(BrokerError::Unavailable),
        };
        let envelope = to_envelope(
            delivery.properties.clone(),
            delivery.data.clone(),
            delivery.delivery_tag,
            delivery.redelivered,
        );
        if mode == ReceiveMode::ReceiveAndDelete {
            delivery
                .acker
                .ack(BasicAckOptions::default())
                .await
                .map_err(unavailable)?;
        }
        let handle = self.handles.fetch_add(1, Ordering::SeqCst) + 1;
        if mode == ReceiveMode::PeekLock {
            self.held_map().insert(
                handle,
                Held {
                    acker: delivery.acker,
                    generation,
                },
            );
        }
        Ok(Some(Received { handle, envelope }))
    }

    fn held_map(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Held>> {
        self.held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Settles a delivery. One from an older connection (or already
    /// settled) is refused with `LockLost`: its channel is gone, and
    /// RabbitMQ has put it back in the queue.
    pub async fn settle(
        &self,
        handle: u64,
        id: &str,
        settlement: Settlement,
    ) -> Result<(), BrokerError> {
        let lock_lost = || BrokerError::LockLost {
            message_id: id.to_owned(),
        };
        let Some(held) = self.held_map().remove(&handle) else {
            return Err(lock_lost());
        };
        let current = self.session.lock().await.as_ref().map(|s| s.generation);
        if current != Some(held.generation) {
            return Err(lock_lost());
        }
        let result = match settlement {
            Settlement::Complete => held.acker.ack(BasicAckOptions::default()).await,
            Settlement::Abandon => {
                held.acker
                    .nack(BasicNackOptions {
                        requeue: true,
                        ..BasicNackOptions::default()
                    })
                    .await
            }
            Settlement::DeadLetter => {
                held.acker
                    .reject(BasicRejectOptions { requeue: false })
                    .await
            }
        };
        result.map(|_| ()).map_err(|_| lock_lost())
    }

    /// RabbitMQ has no lock to renew: the delivery stays with the channel.
    /// Succeeds while the delivery is still held on the current connection.
    pub async fn renew(&self, handle: u64, id: &str) -> Result<Option<String>, BrokerError> {
        let generation = self.held_map().get(&handle).map(|held| held.generation);
        let current = self.session.lock().await.as_ref().map(|s| s.generation);
        if generation.is_none() || generation != current {
            return Err(BrokerError::LockLost {
                message_id: id.to_owned(),
            });
        }
        Ok(Some(
            "RabbitMQ has no lock to renew: nothing was sent; the delivery stays with this \
             channel until it is settled, the channel closes, or the consumer timeout fires"
                .to_owned(),
        ))
    }

    /// Publishes and waits for the publisher confirm.
    pub async fn send(&self, queue: &str, message: &Message) -> Result<(), BrokerError> {
        let mut guard = self.session.lock().await;
        if guard.is_none() {
            *guard = Some(self.open().await.map_err(unavailable)?);
        }
        let Some(session) = guard.as_ref() else {
            return Err(BrokerError::Unavailable);
        };
        let mut properties = BasicProperties::default()
            .with_message_id(message.message_id().into())
            // Persistent, as a quorum queue stores every message anyway.
            .with_delivery_mode(2)
            .with_timestamp(unix_seconds());
        if let Some(correlation) = message.correlation_id() {
            properties = properties.with_correlation_id(correlation.into());
        }
        if let Some(content_type) = message.content_type() {
            properties = properties.with_content_type(content_type.into());
        }
        if !message.properties().is_empty() {
            let mut headers = FieldTable::default();
            for (name, value) in message.properties() {
                headers.insert(
                    name.as_str().into(),
                    AMQPValue::LongString(value.as_str().into()),
                );
            }
            properties = properties.with_headers(headers);
        }
        let confirm = session
            .publish
            .basic_publish(
                "".into(),
                queue.into(),
                BasicPublishOptions::default(),
                message.body(),
                properties,
            )
            .await
            .map_err(unavailable)?
            .await
            // The publish left; its confirm did not come back: it may or
            // may not be in the queue.
            .map_err(|_| BrokerError::Timeout)?;
        match confirm {
            Confirmation::Ack(_) | Confirmation::NotRequested => Ok(()),
            Confirmation::Nack(_) => Err(BrokerError::Unavailable),
        }
    }

    /// Closes the connection (RabbitMQ requeues what it held) and opens a
    /// new one.
    pub async fn reconnect(&self) -> Result<(), BrokerError> {
        let mut guard = self.session.lock().await;
        if let Some(old) = guard.take() {
            let _ = old
                .connection
                .close(320, "real mode: the connection was cut".into())
                .await;
        }
        *guard = Some(self.open().await.map_err(unavailable)?);
        Ok(())
    }

    /// Takes every message off `queue` (the harness reads outputs and dead
    /// letters this way, after the consumer is gone).
    pub async fn drain(&self, queue: &str) -> Result<Vec<Envelope>, EngineError> {
        let guard = self.session.lock().await;
        let session = guard
            .as_ref()
            .ok_or_else(|| error("reading", "not connected"))?;
        let mut messages = Vec::new();
        // eda-lint: allow(auto-ack) -- the harness reads a finished run's queue to judge it; the queues are deleted before the next run, so nothing is lost that anyone needs
        while let Some(got) = session
            .publish
            .basic_get(queue.into(), BasicGetOptions { no_ack: true })
            .await
            .map_err(|e| error(&format!("reading {queue}"), e))?
        {
            let delivery = got.delivery;
            messages.push(to_envelope(
                delivery.properties,
                delivery.data,
                delivery.delivery_tag,
                delivery.redelivered,
            ));
        }
        Ok(messages)
    }

    /// How many messages of `queue` are ready (not counting those a live
    /// consumer holds).
    pub async fn ready(&self, queue: &str) -> Result<u64, EngineError> {
        let guard = self.session.lock().await;
        let session = guard
            .as_ref()
            .ok_or_else(|| error("counting", "not connected"))?;
        let declared = session
            .publish
            .queue_declare(
                queue.into(),
                QueueDeclareOptions {
                    passive: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .map_err(|e| error(&format!("counting {queue}"), e))?;
        Ok(u64::from(declared.message_count()))
    }
}

fn unix_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|since| since.as_secs())
        .unwrap_or(0)
}

/// A header's value as text, for the envelope's properties.
fn header_text(value: &AMQPValue) -> Option<String> {
    match value {
        AMQPValue::LongString(text) => Some(String::from_utf8_lossy(text.as_bytes()).into_owned()),
        AMQPValue::ShortString(text) => Some(text.as_str().to_owned()),
        _ => None,
    }
}

fn header_number(value: &AMQPValue) -> Option<i64> {
    match value {
        AMQPValue::LongLongInt(n) => Some(*n),
        AMQPValue::LongInt(n) => Some(i64::from(*n)),
        AMQPValue::LongUInt(n) => Some(i64::from(*n)),
        AMQPValue::ShortInt(n) => Some(i64::from(*n)),
        AMQPValue::ShortUInt(n) => Some(i64::from(*n)),
        AMQPValue::ShortShortInt(n) => Some(i64::from(*n)),
        AMQPValue::ShortShortUInt(n) => Some(i64::from(*n)),
        _ => None,
    }
}

fn to_envelope(
    properties: BasicProperties,
    body: Vec<u8>,
    delivery_tag: u64,
    redelivered: bool,
) -> Envelope {
    let message_id = properties
        .message_id()
        .as_ref()
        .map(|id| id.as_str().to_owned())
        .unwrap_or_default();
    let headers = properties.headers().clone().unwrap_or_default();
    // The quorum queue counts earlier deliveries that came back; a classic
    // queue only says whether this is a redelivery.
    let earlier = headers
        .inner()
        .get("x-delivery-count")
        .and_then(header_number)
        .unwrap_or(i64::from(redelivered));
    let delivery_count = u32::try_from(earlier.max(0)).unwrap_or(u32::MAX - 1) + 1;
    let enqueued = properties
        .timestamp()
        .map(|seconds| i64::try_from(seconds).unwrap_or(0).saturating_mul(1000))
        .unwrap_or(0);
    let mut envelope = super::envelope(message_id, body, delivery_tag, enqueued, delivery_count);
    envelope.correlation_id = properties
        .correlation_id()
        .as_ref()
        .map(|id| id.as_str().into());
    envelope.content_type = properties
        .content_type()
        .as_ref()
        .map(|id| id.as_str().into());
    for (name, value) in headers.inner() {
        if name.as_str().starts_with("x-") {
            continue;
        }
        if let Some(text) = header_text(value) {
            envelope
                .application_properties
                .insert(name.as_str().to_owned(), text);
        }
    }
    envelope
}

//! NATS JetStream through async-nats.
//!
//! How the workshop's operations map:
//!
//! | workshop | NATS JetStream |
//! | --- | --- |
//! | a queue | a stream of the same name on the subject of the same name, and a durable pull consumer `real-mode` with explicit acks, `AckWait` = the queue's lock duration, `MaxDeliver` = its max deliveries |
//! | receive (peek-lock) | the next message of a pull that is kept waiting while the consumer works, as async-nats's `messages()` stream does (one message fetched ahead) |
//! | receive-and-delete | the same, acked as soon as it arrives |
//! | complete | `+ACK`, as a request: the reply says the server has it |
//! | abandon | `-NAK` (delivered again at once) |
//! | dead-letter | `+TERM` (never delivered again; NATS has no dead-letter queue) |
//! | renew lock | `+WPI` ("work in progress"): the ack wait starts again |
//! | send | a JetStream publish, waiting for the stream's ack |
//! | duplicate detection | the `Nats-Msg-Id` header within the stream's duplicate window, set only on queues that detect duplicates |
//! | delivery count | the delivery's `delivered` count |
//!
//! Unlike RabbitMQ, a JetStream delivery does not belong to a connection:
//! a consumer that dies, or loses its connection, keeps the message out of
//! everyone's reach until the ack wait runs out. An ack is a message to the
//! delivery's reply subject, so it can come on any connection, and NATS
//! accepts it even after the ack wait ran out and the message went to
//! someone else (the simulator, like Service Bus, refuses that complete).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{self, consumer::AckPolicy, consumer::PullConsumer};
use futures_util::StreamExt;
use sim::{BrokerError, Envelope, Message, ReceiveMode};
use tokio::sync::{Mutex, mpsc};

use super::{
    CONTENT_TYPE_HEADER, CORRELATION_ID_HEADER, EngineError, MESSAGE_ID_HEADER, PROPERTY_PREFIX,
    Received, Settlement,
};
use crate::real::config::{EngineKind, QueueSpec};
use crate::real::protocol::{Line, Out};

/// The durable consumer's name on every stream.
const CONSUMER: &str = "real-mode";

/// How long one pull waits on the server before it is renewed (real time).
const PULL_EXPIRES: Duration = Duration::from_secs(2);

/// How long the consumer waits for the server's answer to an ack.
const ACK_TIMEOUT: Duration = Duration::from_secs(2);

/// A delivery handed to the consumer and not settled yet.
#[derive(Clone, Debug)]
struct Held {
    reply: String,
    stream_sequence: u64,
    queue: String,
    /// When the ack wait last started: the delivery's arrival, or the last
    /// `+WPI`.
    since: std::time::Instant,
}

type HeldMap = Arc<std::sync::Mutex<HashMap<u64, Held>>>;

/// The messages fetched ahead for one queue, each with when it arrived.
struct Prefetch {
    messages: Mutex<mpsc::Receiver<(std::time::Instant, jetstream::Message)>>,
    task: tokio::task::JoinHandle<()>,
}

/// A connection to NATS with JetStream.
pub struct Nats {
    url: String,
    queues: Vec<QueueSpec>,
    speed: u32,
    client: Mutex<async_nats::Client>,
    prefetch: Mutex<HashMap<String, Arc<Prefetch>>>,
    held: HeldMap,
    handles: AtomicU64,
    out: Option<Out>,
}

impl std::fmt::Debug for Nats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Nats")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

fn error(what: &str, detail: impl ToString) -> EngineError {
    EngineError::new(EngineKind::Nats, what, detail)
}

impl Nats {
    /// Connects to `url`. `out`, in a consumer process, is where a message
    /// handed out again while still held is reported.
    pub async fn connect(
        url: &str,
        queues: Vec<QueueSpec>,
        speed: u32,
        out: Option<Out>,
    ) -> Result<Nats, EngineError> {
        let client = async_nats::connect(url)
            .await
            .map_err(|e| error("connecting", e))?;
        Ok(Nats {
            url: url.to_owned(),
            queues,
            speed: speed.max(1),
            client: Mutex::new(client),
            prefetch: Mutex::new(HashMap::new()),
            held: Arc::new(std::sync::Mutex::new(HashMap::new())),
            handles: AtomicU64::new(0),
            out,
        })
    }

    async fn jetstream(&self) -> jetstream::Context {
        jetstream::new(self.client.lock().await.clone())
    }

    /// Deletes and creates every stream and its consumer, empty.
    pub async fn reset(&self) -> Result<(), EngineError> {
        let js = self.jetstream().await;
        for queue in &self.queues {
            // Absent the first time: nothing to delete is fine.
            let _ = js.delete_stream(&queue.name).await;
            let mut config = jetstream::stream::Config {
                name: queue.name.clone(),
                subjects: vec![queue.name.clone()],
                ..Default::default()
            };
            if let Some(window) = queue.duplicate_window {
                config.duplicate_window = window / self.speed;
            }
            let stream = js
                .create_stream(config)
                .await
                .map_err(|e| error(&format!("creating stream {}", queue.name), e))?;
            stream
                .create_consumer(jetstream::consumer::pull::Config {
                    durable_name: Some(CONSUMER.to_owned()),
                    ack_policy: AckPolicy::Explicit,
                    ack_wait: queue.lock / self.speed,
                    max_deliver: i64::from(queue.max_deliveries),
                    ..Default::default()
                })
                .await
                .map_err(|e| error(&format!("creating the consumer of {}", queue.name), e))?;
        }
        Ok(())
    }

    async fn consumer(&self, queue: &str) -> Result<PullConsumer, BrokerError> {
        let js = self.jetstream().await;
        let stream = js
            .get_stream(queue)
            .await
            .map_err(|_| BrokerError::EntityNotFound {
                path: queue.to_owned(),
            })?;
        stream
            .get_consumer(CONSUMER)
            .await
            .map_err(|_| BrokerError::Unavailable)
    }

    /// The queue's prefetch, started on the first receive: a task that
    /// keeps one pull waiting on the server whenever nothing is fetched
    /// ahead, so a message whose ack wait runs out while the consumer works
    /// comes back to it at once, as it would with async-nats's `messages()`.
    async fn prefetch(&self, queue: &str) -> Result<Arc<Prefetch>, BrokerError> {
        let mut prefetches = self.prefetch.lock().await;
        if let Some(prefetch) = prefetches.get(queue) {
            return Ok(Arc::clone(prefetch));
        }
        let consumer = self.consumer(queue).await?;
        let (ahead, messages) = mpsc::channel(1);
        let held = Arc::clone(&self.held);
        let out = self.out.clone();
        let queue_name = queue.to_owned();
        let task = tokio::spawn(async move {
            loop {
                let batch = consumer
                    .fetch()
                    .max_messages(1)
                    .expires(PULL_EXPIRES)
                    .messages()
                    .await;
                let Ok(mut batch) = batch else {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                };
                while let Some(message) = batch.next().await {
                    let Ok(message) = message else { break };
                    report_if_held(&held, out.as_ref(), &queue_name, &message);
                    // Waits while one message is already fetched ahead.
                    if ahead
                        .send((std::time::Instant::now(), message))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            }
        });
        let prefetch = Arc::new(Prefetch {
            messages: Mutex::new(messages),
            task,
        });
        prefetches.insert(queue.to_owned(), Arc::clone(&prefetch));
        Ok(prefetch)
    }

    /// Receives the next message of `queue`.
    pub async fn receive(
        &self,
        queue: &str,
        mode: ReceiveMode,
        wait: Option<Duration>,
    ) -> Result<Option<Received>, BrokerError> {
        let prefetch = self.prefetch(queue).await?;
        let mut messages = prefetch.messages.lock().await;
        let ack_wait = self
            .queues
            .iter()
            .find(|spec| spec.name == queue)
            .map(|spec| spec.lock / self.speed);
        let deadline = wait.map(|wait| tokio::time::Instant::now() + wait);
        let mut arrived_at = std::time::Instant::now();
        let message = loop {
            let next = messages.recv();
            let arrived = match deadline {
                Some(deadline) => match tokio::time::timeout_at(deadline, next).await {
                    Ok(arrived) => arrived,
                    Err(_) => return Ok(None),
                },
                None => next.await,
            };
            let Some((at, message)) = arrived else {
                break None;
            };
            arrived_at = at;
            // Fetched ahead, and kept waiting so long that its ack wait ran
            // out before the consumer asked for it: NATS gives it out
            // again, so this copy is not handed over (async-nats's
            // `messages()` has the same hazard with a deep prefetch).
            if ack_wait.is_some_and(|ack_wait| at.elapsed() >= ack_wait) {
                continue;
            }
            break Some(message);
        };
        let message = message.ok_or(BrokerError::Unavailable)?;
        let reply = message
            .reply
            .as_ref()
            .map(|reply| reply.to_string())
            .ok_or(BrokerError::Unavailable)?;
        let envelope = to_envelope(&message);
        let handle = self.handles.fetch_add(1, Ordering::SeqCst) + 1;
        match mode {
            ReceiveMode::ReceiveAndDelete => {
                self.signal(&reply, "+ACK").await?;
            }
            ReceiveMode::PeekLock => {
                self.held_map().insert(
                    handle,
                    Held {
                        reply,
                        stream_sequence: envelope.sequence_number,
                        queue: queue.to_owned(),
                        since: arrived_at,
                    },
                );
            }
        }
        Ok(Some(Received { handle, envelope }))
    }

    fn held_map(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Held>> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sends an ack kind to a delivery's reply subject, without waiting.
    async fn signal(&self, reply: &str, kind: &'static str) -> Result<(), BrokerError> {
        let client = self.client.lock().await.clone();
        client
            .publish(reply.to_owned(), kind.into())
            .await
            .map_err(|_| BrokerError::Unavailable)?;
        client.flush().await.map_err(|_| BrokerError::Timeout)
    }

    /// Settles a delivery. A complete waits for the server's answer.
    pub async fn settle(
        &self,
        handle: u64,
        id: &str,
        settlement: Settlement,
    ) -> Result<(), BrokerError> {
        let Some(held) = self.held_map().remove(&handle) else {
            // Settled already by this process.
            return Err(BrokerError::LockLost {
                message_id: id.to_owned(),
            });
        };
        self.report_if_ran_out(&held, id);
        match settlement {
            Settlement::Complete => {
                let client = self.client.lock().await.clone();
                match tokio::time::timeout(
                    ACK_TIMEOUT,
                    client.request(held.reply.clone(), "+ACK".into()),
                )
                .await
                {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(_)) | Err(_) => Err(BrokerError::Timeout),
                }
            }
            Settlement::Abandon => self.signal(&held.reply, "-NAK").await,
            Settlement::DeadLetter => self.signal(&held.reply, "+TERM").await,
        }
    }

    /// `+WPI`: the ack wait of the delivery starts again.
    pub async fn renew(&self, handle: u64, id: &str) -> Result<(), BrokerError> {
        let held = self.held_map().get(&handle).cloned();
        let Some(held) = held else {
            return Err(BrokerError::LockLost {
                message_id: id.to_owned(),
            });
        };
        self.report_if_ran_out(&held, id);
        self.signal(&held.reply, "+WPI").await?;
        if let Some(held) = self.held_map().get_mut(&handle) {
            held.since = std::time::Instant::now();
        }
        Ok(())
    }

    /// Says so when a held delivery's ack wait ran out before this
    /// settlement or renewal: NATS was free to give it to anyone meanwhile,
    /// even when no other consumer was waiting to take it.
    fn report_if_ran_out(&self, held: &Held, id: &str) {
        let ack_wait = self
            .queues
            .iter()
            .find(|spec| spec.name == held.queue)
            .map(|spec| spec.lock / self.speed);
        if let (Some(ack_wait), Some(out)) = (ack_wait, &self.out)
            && held.since.elapsed() > ack_wait
        {
            out.line(&Line::LockRanOut {
                queue: held.queue.clone(),
                id: id.to_owned(),
            });
        }
    }

    /// Publishes and waits for the stream's ack.
    pub async fn send(&self, queue: &str, message: &Message) -> Result<(), BrokerError> {
        let mut headers = HeaderMap::new();
        headers.insert(MESSAGE_ID_HEADER, message.message_id());
        let detects_duplicates = self
            .queues
            .iter()
            .any(|spec| spec.name == queue && spec.duplicate_window.is_some());
        if detects_duplicates {
            headers.insert(async_nats::header::NATS_MESSAGE_ID, message.message_id());
        }
        if let Some(correlation) = message.correlation_id() {
            headers.insert(CORRELATION_ID_HEADER, correlation);
        }
        if let Some(content_type) = message.content_type() {
            headers.insert(CONTENT_TYPE_HEADER, content_type);
        }
        for (name, value) in message.properties() {
            headers.insert(format!("{PROPERTY_PREFIX}{name}").as_str(), value.as_str());
        }
        let js = self.jetstream().await;
        let acked = js
            .publish_with_headers(queue.to_owned(), headers, message.body().to_vec().into())
            .await
            .map_err(|_| BrokerError::Unavailable)?;
        acked.await.map(|_| ()).map_err(|_| BrokerError::Timeout)
    }

    /// Drops the connection and opens a new one. Held deliveries stay
    /// settleable: their reply subjects work on any connection.
    pub async fn reconnect(&self) -> Result<(), BrokerError> {
        for (_, prefetch) in self.prefetch.lock().await.drain() {
            prefetch.task.abort();
        }
        let mut client = self.client.lock().await;
        let _ = client.drain().await;
        *client = async_nats::connect(&self.url)
            .await
            .map_err(|_| BrokerError::Unavailable)?;
        Ok(())
    }

    /// Every message the stream holds, oldest first.
    pub async fn contents(&self, queue: &str) -> Result<Vec<Envelope>, EngineError> {
        let js = self.jetstream().await;
        let mut stream = js
            .get_stream(queue)
            .await
            .map_err(|e| error(&format!("reading {queue}"), e))?;
        let state = stream
            .info()
            .await
            .map_err(|e| error(&format!("reading {queue}"), e))?
            .state
            .clone();
        let mut messages = Vec::new();
        if state.messages == 0 {
            return Ok(messages);
        }
        for sequence in state.first_sequence..=state.last_sequence {
            // A sequence removed from the stream is skipped.
            if let Ok(message) = stream.get_raw_message(sequence).await {
                let mut envelope = envelope_from_headers(
                    &message.headers,
                    message.payload.to_vec(),
                    message.sequence,
                    i64::try_from(message.time.unix_timestamp_nanos() / 1_000_000).unwrap_or(0),
                    0,
                );
                envelope.delivery_count = 0;
                messages.push(envelope);
            }
        }
        Ok(messages)
    }

    /// Messages of `queue` not yet acked by the consumer: waiting to be
    /// delivered, or delivered and not acked.
    pub async fn unsettled(&self, queue: &str) -> Result<u64, EngineError> {
        let mut consumer = self
            .consumer(queue)
            .await
            .map_err(|e| error(&format!("reading the consumer of {queue}"), e))?;
        let info = consumer
            .info()
            .await
            .map_err(|e| error(&format!("reading the consumer of {queue}"), e))?;
        Ok(info.num_pending + u64::try_from(info.num_ack_pending).unwrap_or(u64::MAX))
    }
}

/// Reports a message that comes back while this process still holds an
/// earlier delivery of it: the server decided the holder was gone.
fn report_if_held(held: &HeldMap, out: Option<&Out>, queue: &str, message: &jetstream::Message) {
    let Ok(info) = message.info() else { return };
    let sequence = info.stream_sequence;
    let delivered = u32::try_from(info.delivered).unwrap_or(u32::MAX);
    let still_held = held
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .values()
        .any(|held| held.stream_sequence == sequence);
    if let (true, Some(out)) = (still_held, out) {
        out.line(&Line::HandedOutAgain {
            queue: queue.to_owned(),
            id: header(message.headers.as_ref(), MESSAGE_ID_HEADER).unwrap_or_default(),
            delivery: delivered,
        });
    }
}

fn header(headers: Option<&HeaderMap>, name: &str) -> Option<String> {
    headers
        .and_then(|headers| headers.get(name))
        .map(|value| value.as_str().to_owned())
}

fn to_envelope(message: &jetstream::Message) -> Envelope {
    let (sequence, delivered, published) = match message.info() {
        Ok(info) => (
            info.stream_sequence,
            u32::try_from(info.delivered).unwrap_or(u32::MAX),
            i64::try_from(info.published.unix_timestamp_nanos() / 1_000_000).unwrap_or(0),
        ),
        Err(_) => (0, 1, 0),
    };
    let empty = HeaderMap::new();
    envelope_from_headers(
        message.headers.as_ref().unwrap_or(&empty),
        message.payload.to_vec(),
        sequence,
        published,
        delivered,
    )
}

fn envelope_from_headers(
    headers: &HeaderMap,
    body: Vec<u8>,
    sequence: u64,
    enqueued_unix_ms: i64,
    delivery_count: u32,
) -> Envelope {
    let message_id = header(Some(headers), MESSAGE_ID_HEADER).unwrap_or_default();
    let mut envelope =
        super::envelope(message_id, body, sequence, enqueued_unix_ms, delivery_count);
    envelope.correlation_id = header(Some(headers), CORRELATION_ID_HEADER).map(Into::into);
    envelope.content_type = header(Some(headers), CONTENT_TYPE_HEADER).map(Into::into);
    for (name, values) in headers.iter() {
        let name: &str = name.as_ref();
        if let (Some(property), Some(value)) = (name.strip_prefix(PROPERTY_PREFIX), values.first())
        {
            envelope
                .application_properties
                .insert(property.to_owned(), value.as_str().to_owned());
        }
    }
    envelope
}

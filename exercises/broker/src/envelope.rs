//! The envelope: a message's body plus everything the broker and the
//! receivers need to know about it.
//!
//! Two types, because the two sides know different things:
//!
//! - [`Message`] is what a sender builds: an id it chose, a body, and the
//!   headers it wants to set (session, correlation id, properties, TTL).
//! - [`Envelope`] is what the broker stored and hands out: the same, plus what
//!   only the broker can know: the sequence number it assigned, when it
//!   enqueued the message (UTC), how many times it delivered it, and, in a
//!   dead-letter queue, why it is there.
//!
//! The names follow Azure Service Bus (`MessageId`, `SequenceNumber`,
//! `EnqueuedTimeUtc`, `DeliveryCount`, `SessionId`, `CorrelationId`,
//! `ApplicationProperties`, `ContentType`). Kafka calls the sequence number an
//! offset (per partition, not per topic), RabbitMQ has no broker-assigned
//! sequence on its queues (only a per-channel delivery tag); every RabbitMQ
//! delivery carries a boolean `redelivered` flag, and quorum queues also count,
//! in the `x-delivery-count` header of a redelivered message (from 4.3 it
//! counts failed attempts only, and `x-acquired-count` counts every hand-out);
//! SQS has `ApproximateReceiveCount`; NATS JetStream has a stream sequence and
//! `num_delivered`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::UtcTime;

/// A message as a sender builds it.
///
/// ```
/// use broker::Message;
/// let message = Message::new("order-17", "one blue teapot")
///     .with_session_id("customer-3")
///     .with_property("kind", "OrderPlaced");
/// assert_eq!(message.message_id(), "order-17");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    /// Chosen by the application, never by the broker: duplicate detection and
    /// every idempotent consumer key on it, so a retry of the same logical send
    /// must carry the same id (chapter 4: deterministic ids).
    pub(crate) message_id: Arc<str>,
    /// Opaque bytes. Filters never look inside (as in Service Bus).
    pub(crate) body: Arc<[u8]>,
    /// How to read the body, e.g. `application/json`.
    pub(crate) content_type: Option<Arc<str>>,
    /// Links a reply or a result to the message that caused it.
    pub(crate) correlation_id: Option<Arc<str>>,
    /// Groups messages that must be handled in order, one at a time (FIFO per
    /// session). Kafka gets the same from the record key, SQS FIFO from the
    /// message group id.
    pub(crate) session_id: Option<Arc<str>>,
    /// Where a partitioned entity would place the message. This broker is not
    /// partitioned, so the key is only carried along; see [`Envelope`].
    pub(crate) partition_key: Option<Arc<str>>,
    /// Headers for routing and metadata. Subscription filters match on them.
    pub(crate) application_properties: BTreeMap<String, String>,
    /// How long the message may wait to be consumed; the entity's default
    /// applies when it is shorter or this is `None`.
    pub(crate) time_to_live: Option<Duration>,
}

impl Message {
    /// A message with an id and a body.
    pub fn new(message_id: impl Into<String>, body: impl Into<Vec<u8>>) -> Message {
        Message {
            message_id: Arc::from(message_id.into()),
            body: Arc::from(body.into()),
            content_type: None,
            correlation_id: None,
            session_id: None,
            partition_key: None,
            application_properties: BTreeMap::new(),
            time_to_live: None,
        }
    }

    /// A message whose body is `value` as JSON, with content type
    /// `application/json`. Fails only if `value`'s `Serialize` does (a map with
    /// non-string keys, for example).
    pub fn json<T: serde::Serialize + ?Sized>(
        message_id: impl Into<String>,
        value: &T,
    ) -> Result<Message, serde_json::Error> {
        let body = serde_json::to_vec(value)?;
        Ok(Message::new(message_id, body).with_content_type("application/json"))
    }

    /// Sets the content type.
    pub fn with_content_type(mut self, content_type: impl Into<String>) -> Message {
        self.content_type = Some(Arc::from(content_type.into()));
        self
    }

    /// Sets the correlation id.
    pub fn with_correlation_id(mut self, correlation_id: impl Into<String>) -> Message {
        self.correlation_id = Some(Arc::from(correlation_id.into()));
        self
    }

    /// Sets the session id (required by an entity that requires sessions).
    pub fn with_session_id(mut self, session_id: impl Into<String>) -> Message {
        self.session_id = Some(Arc::from(session_id.into()));
        self
    }

    /// Sets the partition key.
    pub fn with_partition_key(mut self, partition_key: impl Into<String>) -> Message {
        self.partition_key = Some(Arc::from(partition_key.into()));
        self
    }

    /// Adds an application property.
    pub fn with_property(mut self, name: impl Into<String>, value: impl Into<String>) -> Message {
        self.application_properties
            .insert(name.into(), value.into());
        self
    }

    /// Sets the message's time-to-live.
    pub fn with_time_to_live(mut self, time_to_live: Duration) -> Message {
        self.time_to_live = Some(time_to_live);
        self
    }

    /// The application-chosen id.
    pub fn message_id(&self) -> &str {
        &self.message_id
    }

    /// The body bytes.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The correlation id, if set.
    pub fn correlation_id(&self) -> Option<&str> {
        self.correlation_id.as_deref()
    }

    /// The session id, if set.
    pub fn session_id(&self) -> Option<&str> {
        self.session_id.as_deref()
    }

    /// The content type, if set. Real mode (`cargo xtask real`) reads it to
    /// carry the message to a real engine's own content-type field.
    ///
    /// ```
    /// use broker::Message;
    /// let message = Message::new("order-1", "{}").with_content_type("application/json");
    /// assert_eq!(message.content_type(), Some("application/json"));
    /// assert_eq!(Message::new("order-2", "").content_type(), None);
    /// ```
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }

    /// The application properties, by name. Real mode carries them as a real
    /// engine's headers.
    ///
    /// ```
    /// use broker::Message;
    /// let message = Message::new("order-1", "").with_property("kind", "OrderPlaced");
    /// assert_eq!(message.properties().get("kind").map(String::as_str), Some("OrderPlaced"));
    /// ```
    pub fn properties(&self) -> &BTreeMap<String, String> {
        &self.application_properties
    }

    /// The size the broker counts against the tier's limit: the body plus the
    /// application properties (Service Bus counts the headers too).
    pub fn size(&self) -> usize {
        self.body.len()
            + self
                .application_properties
                .iter()
                .map(|(name, value)| name.len() + value.len())
                .sum::<usize>()
    }
}

/// A message as the broker stored it and hands it out.
#[derive(Clone, Debug, PartialEq)]
pub struct Envelope {
    /// The sender's id (see [`Message`]).
    pub message_id: Arc<str>,
    /// Assigned by the broker when it accepted the message: unique, increasing
    /// and gap-free per queue, subscription or topic. Use it to receive a
    /// deferred message, and in logs. It is *not* a business order: two
    /// producers' messages interleave in whatever order they arrived.
    pub sequence_number: u64,
    /// When the broker accepted the message (for a scheduled message: when it
    /// was activated). Broker time, in UTC: a consumer comparing it with its
    /// own clock meets clock skew (chapter 6).
    pub enqueued_time: UtcTime,
    /// How many times the message was handed to a receiver, this delivery
    /// included: 1 on the first delivery. A consumer seeing 2 or more knows it
    /// may have handled the message before.
    pub delivery_count: u32,
    /// See [`Message::with_session_id`].
    pub session_id: Option<Arc<str>>,
    /// See [`Message::with_partition_key`].
    pub partition_key: Option<Arc<str>>,
    /// See [`Message::with_correlation_id`].
    pub correlation_id: Option<Arc<str>>,
    /// See [`Message::with_content_type`].
    pub content_type: Option<Arc<str>>,
    /// See [`Message::with_property`].
    pub application_properties: BTreeMap<String, String>,
    /// The body bytes, shared (not copied) between deliveries.
    pub body: Arc<[u8]>,
    /// When the message expires, if it has a time-to-live.
    pub expires_at: Option<UtcTime>,
    /// In a dead-letter queue: why the message is there
    /// (`MaxDeliveryCountExceeded`, `TTLExpiredException`, or the reason the
    /// application gave). `None` elsewhere.
    pub dead_letter_reason: Option<Arc<str>>,
    /// In a dead-letter queue: the longer explanation, if any.
    pub dead_letter_description: Option<Arc<str>>,
}

impl Envelope {
    /// The message id.
    pub fn message_id(&self) -> &str {
        &self.message_id
    }

    /// The body bytes.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body as UTF-8 text, if it is.
    pub fn body_text(&self) -> Option<&str> {
        std::str::from_utf8(&self.body).ok()
    }

    /// The body parsed as JSON into `T`.
    pub fn body_json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }

    /// An application property, if set.
    pub fn property(&self, name: &str) -> Option<&str> {
        self.application_properties.get(name).map(String::as_str)
    }

    /// The correlation id, if set.
    pub fn correlation_id(&self) -> Option<&str> {
        self.correlation_id.as_deref()
    }

    /// The session id, if set.
    pub fn session_id(&self) -> Option<&str> {
        self.session_id.as_deref()
    }

    /// A new message with this one's id, body and headers: what a consumer
    /// sends when it resubmits a dead letter, or forwards a message.
    pub fn to_message(&self) -> Message {
        Message {
            message_id: Arc::clone(&self.message_id),
            body: Arc::clone(&self.body),
            content_type: self.content_type.clone(),
            correlation_id: self.correlation_id.clone(),
            session_id: self.session_id.clone(),
            partition_key: self.partition_key.clone(),
            application_properties: self.application_properties.clone(),
            time_to_live: None,
        }
    }

    /// The envelope of a message accepted now with `sequence_number`.
    pub(crate) fn accepted(
        message: Message,
        sequence_number: u64,
        enqueued_time: UtcTime,
        expires_at: Option<UtcTime>,
    ) -> Envelope {
        Envelope {
            message_id: message.message_id,
            sequence_number,
            enqueued_time,
            delivery_count: 0,
            session_id: message.session_id,
            partition_key: message.partition_key,
            correlation_id: message.correlation_id,
            content_type: message.content_type,
            application_properties: message.application_properties,
            body: message.body,
            expires_at,
            dead_letter_reason: None,
            dead_letter_description: None,
        }
    }
}

//! `missing-idempotency-key`: a publish, or a message type, with no id.

use crate::analysis::apis::{MESSAGING_CRATES, Op, PublishInfo};
use crate::analysis::ids::IdEvidence;
use crate::analysis::types::{MessageKind, TypeInfo};
use crate::analysis::{FileAnalysis, user_apis};
use crate::context::FileContext;
use crate::declare_rule;
use crate::finding::{Confidence, Finding};

declare_rule! {
    /// ## What it does
    /// Finds publishes that set no message id or deduplication id (AMQP
    /// `message_id`, a Kafka record key or id header, `Nats-Msg-Id`, SQS
    /// `MessageDeduplicationId`, a Service Bus message id, an iggy message
    /// id, redis `IDMP`), and serialized event, command or message types
    /// with no field that identifies the message. A type is a message by
    /// its name (`...Event`, `...Command`, a past tense), by its config
    /// entry, or, whatever its name, because the crate publishes its values
    /// with no id on the publish (straight, or through a helper that
    /// publishes what it is given) on a broker that can deduplicate. A
    /// correlation id, a
    /// session id or a partition key is shared by many messages and does
    /// not count (a record key made of constants and a partition or shard
    /// number, `format!("{PREFIX}_{shard}")`, is a partition key; one built
    /// from an entity's id, `format!("order-{}", id)`, counts), except a
    /// correlation id copied from a received message:
    /// an RPC reply that carries its request's correlation id is identified
    /// by the request it answers. An id the body carries also counts: a
    /// field named like an id in the message built where it is published,
    /// or a value named like an id handed to the message type's constructor
    /// (`Result::success(attachment_id, text)`); a consumer can deduplicate
    /// on it.
    ///
    /// ## Why is this bad?
    /// Delivery is at-least-once: a producer retries after a lost
    /// confirmation, a consumer is redelivered a message after a crash. With
    /// an id, the broker's duplicate detection or the consumer's inbox drops
    /// the second copy; without one, nobody can tell a duplicate from a new
    /// message, and the customer gets two emails.
    ///
    /// ## Example
    /// ```rust
    /// use lapin::{BasicProperties, Channel, options::BasicPublishOptions};
    ///
    /// async fn publish(channel: &Channel, body: &[u8]) -> lapin::Result<()> {
    ///     channel
    ///         .basic_publish("".into(), "orders".into(), BasicPublishOptions::default(), body, BasicProperties::default())
    ///         .await?;
    ///     Ok(())
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```rust
    /// use lapin::{BasicProperties, Channel, options::BasicPublishOptions};
    ///
    /// async fn publish(channel: &Channel, order_id: &str, body: &[u8]) -> lapin::Result<()> {
    ///     let properties = BasicProperties::default().with_message_id(format!("order-placed-{order_id}").into());
    ///     channel
    ///         .basic_publish("".into(), "orders".into(), BasicPublishOptions::default(), body, properties)
    ///         .await?;
    ///     Ok(())
    /// }
    /// ```
    ///
    /// ## Known limitations
    /// A publish is judged where its message is built: in the same function,
    /// or, through the crate-wide pass, at the call of a helper of the crate
    /// that publishes what it is handed, or with headers built by a helper
    /// of the crate whose keys are known. A helper that publishes what it is
    /// handed with no id of its own is reported in the helper, unless every
    /// call of it in the crate hands it a value that shows a message's own
    /// id (a copied correlation id, a value named `id` or `uuid`; an
    /// entity's `job_id` is shared by many messages). A message built in another crate
    /// that is not a path dependency is not judged. An id inside the body
    /// counts when it can be seen where the body is built (a field named
    /// like an id in a struct literal or a `json!`, a value named like an id
    /// handed to the message type's constructor, not one written into a
    /// text with `format!`), or when the body is a value of one of the
    /// crate's serialized structs with an id field (directly or one struct
    /// down), or of a serialized enum whose every variant wraps such a
    /// struct or has such a field, whose type is written on its parameter
    /// or its `let`; an id in
    /// a body built out of sight (a type only inferred, a parameter) is not
    /// seen. Brokers
    /// with no client-set id (core NATS, MQTT, Pulsar, Google Pub/Sub) are
    /// not reported, nor is a NATS publish of an empty payload, which is a
    /// signal rather than a message (JetStream's ack protocol publishes `""`
    /// to a delivery's reply subject). A type counts as a message when it derives `Serialize`
    /// and either its name ends in `Event`, `Command`, `Message`, `Envelope`
    /// or `Notification` and the file (or its crate) uses a broker client,
    /// or its name is in the past tense (`OrderPlaced`, `InvoiceSent`: how domain events are
    /// named, in whatever file declares them), or it is in the config's
    /// `wrappers.event-types`. A transport record with a `headers` field is
    /// not judged: its id travels in its headers. Nor is a type that
    /// travels in an envelope of the same file that carries an id (held in
    /// a field or wrapped by an enum's variant, up to three holders out, the
    /// id on the holder or in a struct one field down, such as
    /// `metadata: EventMetadata { event_id, .. }`). Any `..._id` field other than a correlation,
    /// causation or similar shared id counts as the message's id, except an
    /// entity's id on a change that can happen to it again and again
    /// (`OrderUpdated { order_id }`, `ItemAdded { cart_id }`); on what
    /// happens to an entity once (`CreateUserCommand`, `AccountDeleted`) the
    /// entity's id counts even when it is a `user_id`. An `..._identifier`
    /// field counts like an `..._id`, and so does an id in a struct of the
    /// crate one field down (`assessment: Assessment { id, .. }`), except on
    /// a change that recurs. An entity's `version` or sequence number counts
    /// with the entity's key (`sku` and `version`), but not the `version`
    /// of an envelope that wraps an untyped payload (`payload: Value`),
    /// which is the version of its format. A type with a flattened map or JSON value
    /// (`#[serde(flatten)] data: Value`) is not judged: its top-level
    /// fields are whatever the sender put there. Nor is a type that derives
    /// `Deserialize` and that nothing in the crate builds (no `Name { .. }`,
    /// `Name(..)` or `Name::..` outside its declaration): the crate only
    /// receives it, and its sender decides its id. A service that forwards
    /// a body it received over HTTP (`Json<LogMessage>`) builds none either,
    /// and is missed. Each struct
    /// variant of an event enum is judged on its own fields.
    ///
    /// ## Chapter
    /// Chapter 10, "You accepted bad event formats", its section on the id
    /// every event carries: `event-formats/index.html#an-id-in-every-event`
    /// (which links back to chapter 4, where a consumer uses it as an
    /// idempotency key).
    pub static MISSING_IDEMPOTENCY_KEY = {
        name: "missing-idempotency-key",
        summary: "a publish, or an event type, with no message id or deduplication id",
        chapter: "event-formats/index.html#an-id-in-every-event",
        severity: Warning,
        check: check,
    }
}

const RULE: &str = "missing-idempotency-key";

fn check(ctx: &FileContext<'_>, out: &mut Vec<Finding>) {
    let user = user_apis(ctx);
    let analysis = FileAnalysis::of(ctx, user);
    let mut publishes = 0;
    for flow in &analysis.flows {
        // A Kafka transaction gives the records it sends exactly-once
        // semantics: they need no id of their own.
        let transactional = flow.has_kafka_transaction();
        for (event, recognized) in flow.ops() {
            let Op::Publish(PublishInfo { id, dedup }) = &recognized.op else {
                continue;
            };
            publishes += 1;
            // A helper that publishes with no id of its own making is
            // reported in the helper; its callers only when what they hand
            // it decides the id (the crate-wide pass).
            if recognized
                .via
                .as_ref()
                .is_some_and(|via| !via.caller_decides)
            {
                continue;
            }
            // A key shared by a partition is no id, but judging it one
            // rests partly on names.
            let (shared, confidence) = match id {
                IdEvidence::Absent => ("", recognized.confidence),
                IdEvidence::SharedKey => (
                    " (its key is a partition key, shared by many messages)",
                    recognized.confidence.min(Confidence::Medium),
                ),
                _ => continue,
            };
            if let Some((index, _)) = ctx.crate_index
                && index.body_carries_id(flow, event)
            {
                continue;
            }
            // A helper that publishes what it is handed, whose every caller
            // in the crate hands it a body with an id.
            if recognized.via.is_none()
                && let Some((index, file)) = ctx.crate_index
                && index.callers_identify(file, flow)
            {
                continue;
            }
            if *dedup && !(transactional && recognized.api == "rdkafka") {
                let (message, labels) = match &recognized.via {
                    Some(via) if via.note.is_none() => (
                        format!(
                            "`{}` publishes this {} message with no message id or deduplication id{shared}",
                            via.function, recognized.api
                        ),
                        via.labels("publishes what it is given"),
                    ),
                    Some(via) => (
                        format!(
                            "this {} publish sets no message id or deduplication id{shared}",
                            recognized.api
                        ),
                        via.labels("builds the headers"),
                    ),
                    None => (
                        format!(
                            "this {} publish sets no message id or deduplication id{shared}",
                            recognized.api
                        ),
                        Vec::new(),
                    ),
                };
                out.push(Finding {
                    rule: RULE,
                    region: event.region,
                    message,
                    help: Some(help_for(recognized.api).into()),
                    labels,
                    confidence,
                });
            }
        }
    }

    // Message types: only in files that talk to a broker (or for types the
    // user listed), since `...Message` and `...Event` are common names in
    // UI and chat code too.
    // A crate that talks to a broker declares its messages anywhere in it:
    // a `models/commands.rs` that imports only serde is still where its
    // `...Command`s are.
    let messaging = analysis.imports.has_any(MESSAGING_CRATES)
        || publishes > 0
        || ctx
            .crate_index
            .is_some_and(|(index, _)| index.facts.messaging);
    // A generic envelope with an id (`Envelope<T> { id, payload: T }`)
    // carries the id for every payload type.
    let envelope = analysis
        .types
        .iter()
        .any(|info| info.generic && info.has_id());
    for info in &analysis.types {
        let Some(kind) = crate::analysis::message_kind(info, ctx) else {
            continue;
        };
        if !info.serialized || info.wraps_only || info.has_id() || info.generic {
            continue;
        }
        // A type known as a message only because it is published may be a
        // reply, which copies the request's correlation id: derived from
        // the consumed message, that identifies it.
        if kind == MessageKind::Published
            && info
                .fields
                .iter()
                .any(|field| field.name.contains("correlation"))
        {
            continue;
        }
        // A type the crate can deserialize but never builds is one it
        // receives (`let m: AccountMessage = serde_json::from_str(..)`):
        // whoever sends it decides its id, in code that is not here.
        if info.deserialized
            && let Some((index, _)) = ctx.crate_index
            && !index.builds(&info.name)
        {
            continue;
        }
        // A struct one field down with an id of its own, declared
        // anywhere in the crate (`OutboxEnvelope { assessment:
        // UnifiedAssessment { id, .. }, .. }`), identifies the message, as
        // it does for a body built where it is published; not on a change
        // that recurs (`OrderUpdated { customer_info, .. }`), where what it
        // holds names entities, not the change.
        if let Some((index, _)) = ctx.crate_index
            && !crate::analysis::types::is_repeatable(&info.name)
            && info.fields.iter().any(|field| {
                crate::analysis::summary::held_type_name(&field.ty)
                    .is_some_and(|ty| ty != info.name && index.type_carries_id(ty))
            })
        {
            continue;
        }
        // A transport record (`key`, `payload`, `headers`) is a container
        // for any message: whatever id there is travels in its headers.
        if info
            .fields
            .iter()
            .any(|field| matches!(field.name.as_str(), "headers" | "attributes"))
        {
            continue;
        }
        // A past-tense name is an event's name even in a file that only
        // declares the events (`events.rs` imports serde, not the broker);
        // `...Message` and `...Event` also name chat and UI types, so they
        // need a file that talks to a broker.
        let inferred = matches!(
            kind,
            MessageKind::Named | MessageKind::PastTense | MessageKind::Published
        );
        if inferred
            && ((kind == MessageKind::Named && !messaging)
                || envelope
                || wrapped_with_id(info, &analysis.types))
        {
            continue;
        }
        let confidence = match kind {
            MessageKind::Configured => Confidence::High,
            MessageKind::Identified => continue,
            _ if info.fields.is_empty() => continue,
            MessageKind::Named | MessageKind::PastTense | MessageKind::Published => {
                Confidence::Medium
            }
        };
        out.push(Finding {
            rule: RULE,
            region: info.region,
            message: match info.unidentified_variant() {
                Some(variant) => format!("`{}::{variant}` is a serialized message with no field that identifies the message", info.name),
                None => format!("`{}` is a serialized message type with no field that identifies the message", info.name),
            },
            help: Some("add an id (a UUID or a deterministic key such as `order-placed-{order_id}`) that consumers can deduplicate on".into()),
            labels: Vec::new(),
            confidence,
        });
    }
}

/// Whether the type travels inside an envelope of the file that carries an
/// id: another type holds it (in a field, or as what an enum's variant
/// wraps) and has an id itself, or in a struct one field down
/// (`EventEnvelope { metadata: EventMetadata { event_id, .. }, event:
/// DomainEvent }` with `DomainEvent::TodoUpdated(TodoUpdatedEvent)`), or is
/// itself held by such an envelope, up to three holders out.
fn wrapped_with_id(info: &TypeInfo, types: &[TypeInfo]) -> bool {
    let names_type = |ty: &str, name: &str| {
        ty.split(|c: char| !c.is_alphanumeric() && c != '_')
            .any(|part| part == name)
    };
    let carries_id = |holder: &TypeInfo| {
        holder.has_id()
            || holder.fields.iter().any(|field| {
                types.iter().any(|inner| {
                    inner.name != holder.name
                        && names_type(&field.ty, &inner.name)
                        && inner.has_id()
                })
            })
    };
    let mut seen: Vec<&str> = vec![info.name.as_str()];
    let mut frontier: Vec<&str> = vec![info.name.as_str()];
    for _ in 0..3 {
        let mut next = Vec::new();
        for name in frontier {
            for holder in types {
                if seen.contains(&holder.name.as_str()) {
                    continue;
                }
                let holds = holder
                    .fields
                    .iter()
                    .any(|field| names_type(&field.ty, name))
                    || holder.wrapped.iter().any(|ty| names_type(ty, name));
                if !holds {
                    continue;
                }
                if carries_id(holder) {
                    return true;
                }
                seen.push(holder.name.as_str());
                next.push(holder.name.as_str());
            }
        }
        if next.is_empty() {
            break;
        }
        frontier = next;
    }
    false
}

fn help_for(api: &str) -> &'static str {
    match api {
        "lapin" => "set `BasicProperties::default().with_message_id(..)` from a deterministic key",
        "amqprs" => "call `with_message_id(..)` on the `BasicProperties` with a deterministic key",
        "amiquip" => {
            "publish `Publish::with_properties(body, key, AmqpProperties::default().with_message_id(..))` with a deterministic key"
        }
        "rdkafka" => "give the record a key (or an id header) that identifies the message",
        "kafka" => {
            "send `Record::from_key_value(topic, key, value)` with a key that identifies the message"
        }
        "async-nats" => {
            "use `Publish::build().message_id(..)` or the `Nats-Msg-Id` header so JetStream drops duplicates"
        }
        "aws-sdk-sqs" => {
            "set `.message_deduplication_id(..)` (FIFO queues) or an id attribute consumers deduplicate on"
        }
        "servicebus" => "call `set_message_id(..)` so duplicate detection drops retries",
        "redis" => "use `xadd_options` with `StreamAddOptions::idmp(..)`, or add an id field",
        "iggy" => "set `IggyMessage::builder().id(..)` from a deterministic key",
        "apalis" => {
            "build the job with `TaskBuilder::new(job).idempotency_key(..)` and `push_task` it, or give the job an id field"
        }
        "omniqueue" => {
            "omniqueue carries no message id: put one in the payload (a field such as `event_id`) for consumers to deduplicate on"
        }
        _ => {
            "set a message id derived from what the message is about, so duplicates can be dropped"
        }
    }
}

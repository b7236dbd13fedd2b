//! Which calls consume, publish, settle or write, per client crate.
//!
//! Rules never see types, only names, so a generic method name (`ack`,
//! `send`, `commit`, `execute`) counts only with evidence: the file uses the
//! crate that has it, the chain has that crate's shape (an SQS operation
//! ends in `.send()`, a Kafka record is a `FutureRecord`), or the user named
//! the function as a wrapper. Names that only one crate has
//! (`basic_publish`, `commit_message`) count on their own.

use std::collections::{BTreeMap, BTreeSet};

use quote::ToTokens;
use syn::Expr;

use super::UserApis;
use super::chain::{Chain, root_ident};
use super::ids::{IdEvidence, Locals, id_evidence, setter_value_evidence};
use super::imports::Imports;
use crate::finding::Confidence;

/// What a call does, as far as the rules care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Receives messages (`basic_consume`, `recv`, `receive_message`).
    Consume,
    /// Sends a message to a broker.
    Publish(PublishInfo),
    /// Settles a consumed message positively: ack, complete, commit its
    /// offset, delete it from the queue. `message` names the variables that
    /// identify which message (empty when the call settles "everything so
    /// far", like a Kafka `commit_consumer_state`).
    Ack { message: BTreeSet<String> },
    /// Settles negatively: nack, reject, abandon, dead-letter.
    Nack,
    /// Writes to a database. `committed` when the write is durable on its
    /// own (auto-commit on a pool or connection), not when it runs inside a
    /// transaction that commits later. `outbox` when it writes the outbox.
    DbWrite { committed: bool, outbox: bool },
    /// Commits a database transaction (`tx.commit()`).
    DbCommit,
    /// Runs a closure in a database transaction that commits when the
    /// closure returns (`conn.transaction(|tx| ..)`).
    DbTransaction,
    /// A Kafka producer transaction: `send_offsets_to_transaction`,
    /// `commit_transaction`. Output and consumed offsets commit together.
    KafkaTransaction,
    /// Starts a concurrent task (`tokio::spawn`, `JoinSet::spawn`).
    Spawn,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishInfo {
    pub id: IdEvidence,
    /// Whether this broker can deduplicate on an id the client sets. Core
    /// NATS, MQTT, Pulsar and Google Pub/Sub cannot, so a missing id there
    /// is not a `missing-idempotency-key` finding (but a publish before an
    /// ack still duplicates on redelivery).
    pub dedup: bool,
}

/// A recognised call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recognized {
    pub op: Op,
    /// The crate it belongs to, for messages: `lapin`, `rdkafka`, `user`.
    pub api: &'static str,
    pub confidence: Confidence,
    /// Set when the call is one of the crate's own functions and what it
    /// does comes from that function's summary (the crate-wide pass): where
    /// the helper does it, for the finding's second label.
    pub via: Option<Box<Via>>,
}

/// Where a helper does what its call site is taken to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    /// The helper's file, or `None` for the file being linted.
    pub path: Option<std::path::PathBuf>,
    /// The line in the helper that does it (the publish, the ack).
    pub region: crate::finding::Region,
    /// The helper's name, for messages.
    pub function: String,
    /// The helper publishes what its caller hands it: the caller's
    /// argument decides the id, so the caller is where a missing id is
    /// reported (the helper itself cannot be judged).
    pub caller_decides: bool,
    /// What the helper does there, when the rule's own words would be
    /// wrong (a header builder: "builds the headers with content-type and
    /// no id").
    pub note: Option<String>,
    /// A second helper the finding also rests on: the header builder whose
    /// properties the publishing helper was handed.
    pub then: Option<Box<Via>>,
}

impl Via {
    /// The labels of this helper and of the one it was handed a value by.
    pub fn labels(&self, what: &str) -> Vec<crate::finding::Label> {
        let mut labels = vec![self.label(what)];
        if let Some(then) = &self.then {
            labels.push(then.label(what));
        }
        labels
    }

    /// The secondary label pointing into the helper: `what` is the verb
    /// phrase (`publishes with no message id`).
    pub fn label(&self, what: &str) -> crate::finding::Label {
        crate::finding::Label {
            region: self.region,
            message: format!(
                "`{}` {} here",
                self.function,
                self.note.as_deref().unwrap_or(what)
            ),
            path: self.path.clone(),
        }
    }
}

/// What the classifier knows about the file.
pub struct Known<'a> {
    pub imports: &'a Imports,
    pub user: &'a UserApis,
    /// Functions and methods of this file that settle a message they are
    /// given, with the (non-`self`) parameter positions they settle: a call
    /// to one is an ack of that argument (`worker.delete_message(&m)` when
    /// the file's `delete_message` deletes its `message`).
    pub local_acks: BTreeMap<String, Vec<usize>>,
    /// The crate's function summaries, and this file's place among the
    /// crate's files: calls to the crate's own functions are what their
    /// summaries say (see [`super::summary`]). `None` in the first pass.
    pub index: Option<(&'a super::summary::CrateIndex, usize)>,
}

/// The broker client crates: a file that imports one talks to a broker, so
/// its `ack`, `send` and `...Event` types are about messages.
pub const MESSAGING_CRATES: &[&str] = &[
    "lapin",
    "amqprs",
    "amiquip",
    "rdkafka",
    "kafka",
    "async_nats",
    "aws_sdk_sqs",
    "rusoto_sqs",
    "azure_messaging_servicebus",
    "azservicebus",
    "redis",
    "google_cloud_pubsub",
    "gcloud_pubsub",
    "fe2o3_amqp",
    "pulsar",
    "rumqttc",
    "paho_mqtt",
    "omniqueue",
    "apalis",
    "apalis_core",
    "apalis_redis",
    "apalis_sql",
    "apalis_amqp",
    "iggy",
    "fluvio",
    "broker",
];
/// apalis and its storage backends: a job queue.
pub const APALIS_CRATES: &[&str] = &[
    "apalis",
    "apalis_core",
    "apalis_redis",
    "apalis_sql",
    "apalis_amqp",
];
pub const SQL_CRATES: &[&str] = &[
    "sqlx",
    "tokio_postgres",
    "postgres",
    "deadpool_postgres",
    "bb8_postgres",
    "rusqlite",
    "diesel",
    "diesel_async",
    "sea_orm",
];

/// Whether the file imports a crate whose calls the flows recognise: a
/// broker client, an SQL driver or MongoDB.
pub fn imports_operation_crate(imports: &Imports) -> bool {
    imports.has_any(MESSAGING_CRATES)
        || imports.has_any(SQL_CRATES)
        || imports.has_any(&["mongodb"])
}

impl Known<'_> {
    fn has(&self, crates: &[&str]) -> bool {
        self.imports.has_any(crates)
    }

    fn sure(&self, crates: &[&str]) -> Confidence {
        if self.has(crates) {
            Confidence::High
        } else {
            Confidence::Medium
        }
    }

    /// Whether the user listed this call. A bare entry (`emit`) matches a
    /// method or function of that name; a path entry (`EventBus::emit`)
    /// matches a function path ending with those segments, or a method of
    /// its last name (a method's type is unknowable here).
    fn user_named(list: &[String], method_or_path: &[String]) -> bool {
        let Some(last_called) = method_or_path.last() else {
            return false;
        };
        list.iter().any(|entry| {
            let wanted: Vec<&str> = entry.split("::").collect();
            let Some(last) = wanted.last() else {
                return false;
            };
            if method_or_path.len() == 1 || wanted.len() == 1 {
                last_called == last
            } else {
                method_or_path.len() >= wanted.len()
                    && method_or_path[method_or_path.len() - wanted.len()..]
                        .iter()
                        .zip(&wanted)
                        .all(|(have, want)| have == want)
            }
        })
    }
}

fn recognized(op: Op, api: &'static str, confidence: Confidence) -> Option<Recognized> {
    Some(Recognized {
        op,
        api,
        confidence,
        via: None,
    })
}

/// Roots of the arguments, as the message identity of a settle call.
pub fn message_of(args: &[&Expr]) -> BTreeSet<String> {
    fn roots(expr: &Expr, out: &mut BTreeSet<String>) {
        match expr {
            // `xack(key, group, &[&entry.id])`: the ids of a slice.
            Expr::Array(array) => array.elems.iter().for_each(|elem| roots(elem, out)),
            Expr::Reference(inner) => roots(&inner.expr, out),
            Expr::Paren(inner) => roots(&inner.expr, out),
            _ => out.extend(root_ident(expr)),
        }
    }
    let mut out = BTreeSet::new();
    for arg in args {
        roots(arg, &mut out);
    }
    out
}

/// The message an arguments struct settles: amqprs acks with
/// `basic_ack(BasicAckArguments::new(deliver.delivery_tag(), false))`, so
/// the delivery is the root of the constructor's first argument.
fn arguments_message(arg: Option<&Expr>) -> Option<String> {
    let Some(Expr::Call(call)) = arg else {
        return None;
    };
    let Expr::Path(func) = &*call.func else {
        return None;
    };
    let is_arguments_new = func.path.segments.len() >= 2
        && func.path.segments.last().is_some_and(|s| s.ident == "new")
        && func.path.segments[func.path.segments.len() - 2]
            .ident
            .to_string()
            .ends_with("Arguments");
    if !is_arguments_new {
        return None;
    }
    call.args.first().and_then(root_ident)
}

/// The receiver of the segment as lowercase text, without spaces:
/// `self.producer` gives `self.producer`, `state.js` gives `state.js`, so a
/// name check sees every field on the way.
fn receiver_name(chain: &Chain<'_>, index: usize) -> String {
    let receiver: &Expr = if index == 0 {
        chain.root
    } else {
        &chain.segments[index].expr.receiver
    };
    match receiver {
        Expr::Path(_) | Expr::Field(_) | Expr::Reference(_) | Expr::Paren(_) | Expr::Unary(_) => {
            // The common shapes are spelt from the tree; printing tokens
            // to text (and taking the spaces out again) is kept for the
            // rest.
            let mut text = String::new();
            if !spell_compact(receiver, &mut text) {
                text = receiver.to_token_stream().to_string().replace(' ', "");
            }
            text.make_ascii_lowercase();
            text
        }
        _ => root_ident(receiver)
            .unwrap_or_default()
            .to_ascii_lowercase(),
    }
}

/// Appends `expr` as its tokens print with the spaces taken out
/// (`& mut self.producer` -> `&mutself.producer`), for a path without
/// generics, a field, a reference, parentheses and a unary operator, with
/// no attributes; `false` (with `out` in any state) for anything else.
fn spell_compact(expr: &Expr, out: &mut String) -> bool {
    match expr {
        Expr::Path(path)
            if path.attrs.is_empty()
                && path.qself.is_none()
                && path
                    .path
                    .segments
                    .iter()
                    .all(|segment| segment.arguments.is_none()) =>
        {
            if path.path.leading_colon.is_some() {
                out.push_str("::");
            }
            for (index, segment) in path.path.segments.iter().enumerate() {
                if index > 0 {
                    out.push_str("::");
                }
                out.push_str(&segment.ident.to_string());
            }
            true
        }
        Expr::Field(field) if field.attrs.is_empty() => {
            if !spell_compact(&field.base, out) {
                return false;
            }
            out.push('.');
            match &field.member {
                syn::Member::Named(name) => out.push_str(&name.to_string()),
                syn::Member::Unnamed(index) => out.push_str(&index.index.to_string()),
            }
            true
        }
        Expr::Reference(reference) if reference.attrs.is_empty() => {
            out.push('&');
            if reference.mutability.is_some() {
                out.push_str("mut");
            }
            spell_compact(&reference.expr, out)
        }
        Expr::Paren(paren) if paren.attrs.is_empty() => {
            out.push('(');
            let inner = spell_compact(&paren.expr, out);
            out.push(')');
            inner
        }
        Expr::Unary(unary) if unary.attrs.is_empty() => {
            out.push(match unary.op {
                syn::UnOp::Deref(_) => '*',
                syn::UnOp::Not(_) => '!',
                syn::UnOp::Neg(_) => '-',
                _ => return false,
            });
            spell_compact(&unary.expr, out)
        }
        _ => false,
    }
}

/// Whether the last part of a receiver (`self.event_bus` -> `event_bus`)
/// names something that publishes to a broker: a `..bus`, a `..queue`, a
/// producer or publisher, a broker by name. A channel's end (`..tx`,
/// `..sender`, `..chan`) never does: its `send` stays in the process.
fn names_a_publisher(receiver: &str) -> bool {
    let last = receiver.rsplit('.').next().unwrap_or(receiver);
    let words: Vec<&str> = last.split('_').filter(|w| !w.is_empty()).collect();
    !names_a_channel(receiver)
        && words.iter().any(|word| {
            word.ends_with("bus")
                || word.contains("queue")
                || word.contains("producer")
                || word.contains("publisher")
                || matches!(
                    *word,
                    "kafka" | "nats" | "rabbit" | "rabbitmq" | "amqp" | "broker" | "sqs" | "pulsar"
                )
        })
}

/// Whether the last part of a receiver names a channel's end (`..tx`,
/// `..sender`, `..chan`): its `send` stays in the process.
fn names_a_channel(receiver: &str) -> bool {
    let last = receiver.rsplit('.').next().unwrap_or(receiver);
    last.split('_').filter(|w| !w.is_empty()).any(|word| {
        matches!(
            word,
            "tx" | "sender" | "chan" | "channel" | "mpsc" | "oneshot" | "watch" | "broadcast"
        ) || word.ends_with("tx")
            || word.ends_with("sender")
    })
}

/// Whether call number `index` of a chain sends on a channel of the
/// process (`self.sender.send(event)`, `tx.try_send(job)`).
pub fn sends_on_channel(chain: &Chain<'_>, index: usize) -> bool {
    matches!(
        chain.segments[index].method.as_str(),
        "send" | "try_send" | "blocking_send" | "send_async" | "unbounded_send"
    ) && names_a_channel(&receiver_name(chain, index))
}

/// Whether the receiver of segment `index` is a local collection built in
/// this function (`Vec::new()`, `vec![]`, `.collect()`, a `HashSet`...).
fn is_local_collection(
    chain: &Chain<'_>,
    index: usize,
    locals: &Locals,
    imports: &Imports,
) -> bool {
    let receiver: &Expr = if index == 0 {
        chain.root
    } else {
        &chain.segments[index].expr.receiver
    };
    // `self.subscriptions.push(..)` on a field the file declares as a `Vec`.
    if let Expr::Field(field) = receiver
        && let syn::Member::Named(name) = &field.member
        && imports.is_collection_field(&name.to_string())
    {
        return true;
    }
    let Some(name) = root_ident(receiver) else {
        return false;
    };
    locals.values_of(&name).iter().any(|value| {
        let text = value.to_token_stream().to_string();
        [
            "Vec",
            "vec !",
            "VecDeque",
            "HashSet",
            "BTreeSet",
            "HashMap",
            "BTreeMap",
            "BinaryHeap",
            "collect",
            "with_capacity",
        ]
        .iter()
        .any(|marker| text.contains(marker))
    })
}

/// Whether a Redis key (a literal or a constant's name) names a list of
/// jobs: `"jobs:invoices"`, `EMAIL_QUEUE`, `"pending_tasks"`.
pub(crate) fn names_a_job_list(key: &Expr) -> bool {
    let text = key.to_token_stream().to_string().to_ascii_lowercase();
    ["job", "queue", "task", "work"]
        .iter()
        .any(|word| text.contains(word))
}

fn name_has(name: &str, parts: &[&str]) -> bool {
    parts.iter().any(|part| name.contains(part))
}

/// A string literal argument, if the expression is one (or a reference to
/// one).
pub fn literal(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(text),
            ..
        }) => Some(text.value()),
        Expr::Reference(reference) => literal(&reference.expr),
        Expr::Paren(paren) => literal(&paren.expr),
        _ => None,
    }
}

/// The statement a SQL constant is named for (`QUERY_INSERT_USER`,
/// `UPDATE_ORDER_SQL` -> `INSERT ..`, `UPDATE ..`; `SELECT_USERS` ->
/// `SELECT ..`), read as the start of its SQL text.
fn sql_constant_name(expr: &Expr) -> Option<String> {
    let expr = match expr {
        Expr::Reference(reference) => &*reference.expr,
        other => other,
    };
    let Expr::Path(path) = expr else { return None };
    let name = path.path.segments.last()?.ident.to_string();
    if name.len() < 2 || name.chars().any(|c| c.is_ascii_lowercase()) {
        return None;
    }
    name.split('_')
        .find(|word| {
            matches!(
                *word,
                "INSERT" | "UPDATE" | "DELETE" | "UPSERT" | "MERGE" | "SELECT" | "FIND" | "GET"
            )
        })
        .map(|word| match word {
            "UPSERT" => "INSERT".to_string(),
            "FIND" | "GET" => "SELECT".to_string(),
            verb => verb.to_string(),
        })
        .map(|verb| format!("{verb} {name}"))
}

/// What a SQL string does: `Some(true)` for a write, `Some(false)` for a
/// read, `None` if it is not a literal.
fn sql_writes(sql: &str) -> bool {
    let upper = sql.trim_start().to_ascii_uppercase();
    [
        "INSERT", "UPDATE", "DELETE", "UPSERT", "MERGE", "REPLACE", "WITH",
    ]
    .iter()
    .any(|verb| upper.starts_with(verb))
        && (!upper.starts_with("WITH")
            || ["INSERT", "UPDATE", "DELETE"]
                .iter()
                .any(|verb| upper.contains(verb)))
}

fn mentions_outbox(expr_tokens: &str) -> bool {
    expr_tokens.to_ascii_lowercase().contains("outbox")
}

/// Whether a database call's executor is a transaction that commits later
/// (`&mut *tx`, `&mut transaction`, `txn`), rather than a pool or a
/// connection that commits each statement.
fn executor_is_transaction(args: &[&Expr], receiver: &str) -> bool {
    let names: Vec<String> = args
        .iter()
        .filter_map(|arg| root_ident(arg))
        .chain([receiver.to_string()])
        .collect();
    names.iter().any(|name| {
        let name = name.to_ascii_lowercase();
        name == "tx"
            || name == "txn"
            || name.contains("transaction")
            || name.ends_with("_tx")
            || name.starts_with("tx_")
    })
}

/// Classifies call number `index` of a method chain.
pub fn classify_segment(
    chain: &Chain<'_>,
    index: usize,
    known: &Known<'_>,
    locals: &Locals,
) -> Option<Recognized> {
    let segment = &chain.segments[index];
    let method = segment.method.as_str();
    let args = segment.args.as_slice();
    let receiver = receiver_name(chain, index);

    if let Some(found) = classify_redis_command(chain, index, known, locals) {
        return Some(found);
    }

    // The user's own wrappers come first: they name their code precisely.
    let as_list = [segment.method.clone()];
    if Known::user_named(&known.user.outbox, &as_list) {
        return recognized(
            Op::DbWrite {
                committed: false,
                outbox: true,
            },
            "user",
            Confidence::High,
        );
    }
    if Known::user_named(&known.user.publish, &as_list) {
        let id = id_evidence(args, locals, &[]);
        return recognized(
            Op::Publish(PublishInfo { id, dedup: true }),
            "user",
            Confidence::High,
        );
    }
    if Known::user_named(&known.user.ack, &as_list) {
        let message = if args.is_empty() {
            root_ident(if index == 0 {
                chain.root
            } else {
                &segment.expr.receiver
            })
            .into_iter()
            .collect()
        } else {
            message_of(args)
        };
        return recognized(Op::Ack { message }, "user", Confidence::High);
    }
    if Known::user_named(&known.user.consume, &as_list) {
        return recognized(Op::Consume, "user", Confidence::High);
    }

    let this_receiver = || -> BTreeSet<String> {
        let receiver: &Expr = if index == 0 {
            chain.root
        } else {
            &segment.expr.receiver
        };
        root_ident(receiver).into_iter().collect()
    };

    match method {
        // ---- consume ----
        "basic_consume" | "basic_get" if known.has(&["amiquip"]) => {
            recognized(Op::Consume, "amiquip", Confidence::High)
        }
        "basic_consume" | "basic_get" => recognized(Op::Consume, "lapin", Confidence::High),
        // amiquip: `queue.consume(ConsumerOptions { .. })` gives a consumer
        // whose `receiver()` yields the deliveries.
        "consume" if known.has(&["amiquip"]) && args.len() == 1 => {
            recognized(Op::Consume, "amiquip", Confidence::High)
        }
        // iggy's low-level client: `poll_messages(&stream, &topic,
        // partition, &consumer, &strategy, count, auto_commit)`.
        "poll_messages" if known.has(&["iggy", "iggy_common"]) && args.len() == 7 => {
            recognized(Op::Consume, "iggy", Confidence::High)
        }
        // omniqueue: `consumer.receive()` gives one `Delivery`.
        "receive" | "receive_all" if known.has(&["omniqueue"]) => {
            recognized(Op::Consume, "omniqueue", Confidence::High)
        }
        // paho-mqtt: the messages arrive on the returned receiver.
        "get_stream" | "start_consuming" if known.has(&["paho_mqtt"]) => {
            recognized(Op::Consume, "paho-mqtt", Confidence::High)
        }
        // amqprs: the deliveries arrive on the returned channel receiver.
        "basic_consume_rx" | "basic_consume_blocking" => {
            recognized(Op::Consume, "amqprs", Confidence::High)
        }
        // rusoto_sqs: each operation takes one request struct
        // (`DeleteMessageRequest { queue_url, receipt_handle }`).
        "receive_message" if args.len() == 1 && known.has(&["rusoto_sqs"]) => {
            recognized(Op::Consume, "rusoto_sqs", Confidence::High)
        }
        "delete_message" if args.len() == 1 && known.has(&["rusoto_sqs"]) => {
            // The request built in the call, or in the `let` of the local
            // handed to it (`let del = DeleteMessageRequest { .. }`).
            let built = root_ident(args[0])
                .map(|name| locals.values_of(&name).to_vec())
                .unwrap_or_default();
            let handle = struct_field(args[0], "receipt_handle").or_else(|| {
                built
                    .iter()
                    .find_map(|value| struct_field(value, "receipt_handle"))
            });
            let message = match handle {
                Some(handle) => message_of(&[handle]),
                None => message_of(&args[..1]),
            };
            recognized(Op::Ack { message }, "rusoto_sqs", Confidence::High)
        }
        "delete_message_batch" if args.len() == 1 && known.has(&["rusoto_sqs"]) => recognized(
            Op::Ack {
                message: BTreeSet::new(),
            },
            "rusoto_sqs",
            Confidence::High,
        ),
        "change_message_visibility" if args.len() == 1 && known.has(&["rusoto_sqs"]) => {
            recognized(Op::Nack, "rusoto_sqs", Confidence::High)
        }
        "send_message" | "send_message_batch" if args.len() == 1 && known.has(&["rusoto_sqs"]) => {
            // The id is the request's `message_deduplication_id` (FIFO
            // queues) or an attribute; a batch entry's `id` only numbers
            // the entry within the call.
            let id = match id_evidence(&args[..1], locals, &[]) {
                IdEvidence::Present { .. }
                    if method == "send_message_batch"
                        && !args[0]
                            .to_token_stream()
                            .to_string()
                            .contains("message_deduplication_id") =>
                {
                    IdEvidence::Absent
                }
                evidence => evidence,
            };
            recognized(
                Op::Publish(PublishInfo { id, dedup: true }),
                "rusoto_sqs",
                Confidence::High,
            )
        }
        "receive_message"
        | "receive_messages"
        | "receive_messages_with_max_wait_time"
        | "receive_message_with_max_wait_time"
        | "receive_deferred_message"
        | "receive_deferred_messages"
        | "peek_lock_message"
        | "peek_lock_message2"
        | "receive_and_delete_message"
        | "xread_options"
        | "xautoclaim_options" => recognized(Op::Consume, "broker", Confidence::High),
        // kafka (kafka-rust): `consumer.poll()` returns the message sets.
        "poll" if args.is_empty() && known.has(&["kafka"]) && !known.has(&["rdkafka"]) => {
            recognized(Op::Consume, "kafka", Confidence::High)
        }
        "recv" | "messages" | "fetch" | "poll" | "try_next" | "next"
            if known.has(MESSAGING_CRATES)
                && name_has(
                    &receiver,
                    &[
                        "consumer",
                        "subscription",
                        "receiver",
                        "stream",
                        "eventloop",
                        "sub",
                    ],
                ) =>
        {
            recognized(Op::Consume, "broker", Confidence::Medium)
        }

        // ---- publish ----
        // amiquip: `exchange.publish(Publish::new(body, key))` and
        // `channel.basic_publish(exchange, publish)`; the id is the
        // `AmqpProperties` of `Publish::with_properties(body, key, props)`.
        "publish" if known.has(&["amiquip"]) && args.len() == 1 => {
            let id = id_evidence(args, locals, &[]);
            recognized(
                Op::Publish(PublishInfo { id, dedup: true }),
                "amiquip",
                Confidence::High,
            )
        }
        "basic_publish" if known.has(&["amiquip"]) && args.len() == 2 => {
            let id = id_evidence(&args[1..], locals, &[]);
            recognized(
                Op::Publish(PublishInfo { id, dedup: true }),
                "amiquip",
                Confidence::High,
            )
        }
        "basic_publish" => {
            // lapin 2.x-4.x: (exchange, routing_key, options, payload,
            // properties). amqprs 2.x: (properties, content, arguments).
            let (properties, api) = match args.len() {
                5.. => (args.last(), "lapin"),
                3 => (args.first(), "amqprs"),
                _ => (None, "lapin"),
            };
            let body = match args.len() {
                5.. => args.get(3),
                3 => args.get(1),
                _ => None,
            };
            let id = match properties {
                Some(properties) => {
                    or_body_id(id_evidence(&[properties], locals, &[]), body, locals)
                }
                None => IdEvidence::Unknown,
            };
            recognized(
                Op::Publish(PublishInfo { id, dedup: true }),
                api,
                Confidence::High,
            )
        }
        "send" | "send_result" if is_kafka_send(args, &receiver, known, locals) => {
            let id = match args.first() {
                Some(record) => id_evidence(&[record], locals, &["key", "headers"])
                    .restrict_kafka(record, locals),
                None => IdEvidence::Unknown,
            };
            recognized(
                Op::Publish(PublishInfo { id, dedup: true }),
                "rdkafka",
                known.sure(&["rdkafka"]),
            )
        }
        // kafka (kafka-rust): `producer.send(&Record::from_key_value(topic,
        // key, value))`, `send_all(&records)`.
        "send" | "send_all"
            if known.has(&["kafka"])
                && args.len() == 1
                && is_kafka_rust_send(args[0], &receiver, locals) =>
        {
            recognized(
                Op::Publish(PublishInfo {
                    id: kafka_rust_id(args[0], locals),
                    dedup: true,
                }),
                "kafka",
                Confidence::High,
            )
        }
        // async-nats' own arities: `publish(subject, payload)`,
        // `send_publish(subject, publish)`, `publish_with_headers(subject,
        // headers, payload)`. A `publish` of three arguments is an in-house
        // wrapper's (`publisher.publish(subject, dedup_id, payload)`).
        "publish" | "publish_with_headers" | "send_publish"
            if known.has(&["async_nats"])
                && args.len()
                    == if method == "publish_with_headers" {
                        3
                    } else {
                        2
                    } =>
        {
            // An empty payload is a signal, not a message: JetStream's
            // ack protocol publishes `""` to a delivery's reply subject
            // (`context.publish(reply, "".into())`). It has nothing a
            // consumer could deduplicate.
            let signal = method == "publish" && is_empty_payload(args[1]);
            let jetstream = is_jetstream(&receiver, chain, index, locals) && !signal;
            let id = match method {
                "publish" => or_body_id(IdEvidence::Absent, args.get(1), locals),
                "publish_with_headers" => {
                    or_body_id(id_evidence(&[args[1]], locals, &[]), args.get(2), locals)
                }
                _ => id_evidence(&[args[1]], locals, &[]),
            };
            recognized(
                Op::Publish(PublishInfo {
                    id,
                    dedup: jetstream,
                }),
                "async-nats",
                Confidence::High,
            )
        }
        "publish" if known.has(&["rumqttc"]) && args.len() == 4 => {
            let id = id_evidence(&[args[3]], locals, &[]);
            recognized(
                Op::Publish(PublishInfo { id, dedup: false }),
                "rumqttc",
                Confidence::High,
            )
        }
        // omniqueue has no message id: the one a consumer deduplicates on
        // is a field of the payload, the first argument.
        "send_serde_json"
        | "send_raw"
        | "send_bytes"
        | "send_serde_json_batch"
        | "send_raw_batch"
        | "send_bytes_batch"
        | "send_serde_json_scheduled"
        | "send_raw_scheduled"
        | "send_bytes_scheduled"
            if known.has(&["omniqueue"]) && !args.is_empty() =>
        {
            let id = id_evidence(&args[..1], locals, &[]);
            recognized(
                Op::Publish(PublishInfo { id, dedup: true }),
                "omniqueue",
                Confidence::High,
            )
        }
        // apalis: `storage.push(job).await`, `push_task(task)`: a job onto
        // its backend's queue. A collection built here (`let mut jobs =
        // Vec::new()`) pushes in memory; a `&mut Vec` parameter would be
        // taken for a queue, hence medium.
        "push" | "push_task" | "push_bulk" | "push_request" | "schedule" | "schedule_request"
            if known.has(APALIS_CRATES)
                && !args.is_empty()
                && !is_local_collection(chain, index, locals, known.imports) =>
        {
            let id = id_evidence(&args[..1], locals, &[]);
            recognized(
                Op::Publish(PublishInfo { id, dedup: true }),
                "apalis",
                Confidence::Medium,
            )
        }
        // A job pushed onto a Redis list used as a queue: the key must say
        // so (a list is also a cache), and the id is not judged.
        "lpush" | "rpush" | "lpush_exists" | "rpush_exists"
            if known.has(&["redis"]) && args.len() == 2 && names_a_job_list(args[0]) =>
        {
            recognized(
                Op::Publish(PublishInfo {
                    id: IdEvidence::Unknown,
                    dedup: true,
                }),
                "redis",
                Confidence::Medium,
            )
        }
        // paho-mqtt: `client.publish(Message::new(topic, payload, qos))`.
        "publish" if known.has(&["paho_mqtt"]) && args.len() == 1 => recognized(
            Op::Publish(PublishInfo {
                id: IdEvidence::Unknown,
                dedup: false,
            }),
            "paho-mqtt",
            Confidence::High,
        ),
        // gcloud-pubsub's `publish_immediately(messages, retry)` takes a
        // retry setting after the messages.
        "publish" | "publish_immediately" | "publish_bulk"
            if known.has(&["google_cloud_pubsub", "gcloud_pubsub"])
                && (args.len() == 1 || (method == "publish_immediately" && args.len() == 2)) =>
        {
            let id = id_evidence(&args[..1], locals, &[]);
            recognized(
                Op::Publish(PublishInfo { id, dedup: false }),
                "pubsub",
                Confidence::High,
            )
        }
        "send_message" | "send_message_batch"
            if args.is_empty() && (known.has(&["aws_sdk_sqs"]) || chain.has("queue_url")) =>
        {
            // SQS: the operation's builder; the id is another call of the chain.
            // The SDK's builders have a `set_x(Option<..>)` for every
            // `x(..)` setter (`set_message_deduplication_id(dedup)` in a
            // forwarder that copies what it received).
            let setter = |name: &str| {
                chain
                    .args_of(name)
                    .or_else(|| chain.args_of(&format!("set_{name}")))
            };
            let id = if let Some(dedup) = setter("message_deduplication_id") {
                setter_value_evidence(dedup)
            } else if method == "send_message_batch" {
                // The entries, not the queue url (which is not a message).
                let entries: Vec<&Expr> = chain
                    .segments
                    .iter()
                    .filter(|s| matches!(s.method.as_str(), "entries" | "set_entries"))
                    .flat_map(|s| s.args.iter().copied())
                    .collect();
                id_evidence(&entries, locals, &[])
            } else if setter("message_attributes").is_some() {
                // Attributes may carry an id: look at them.
                let attributes: Vec<&Expr> = chain
                    .segments
                    .iter()
                    .filter(|s| {
                        matches!(
                            s.method.as_str(),
                            "message_attributes" | "set_message_attributes"
                        )
                    })
                    .flat_map(|s| s.args.iter().copied())
                    .collect();
                id_evidence(&attributes, locals, &[])
            } else {
                IdEvidence::Absent
            };
            recognized(
                Op::Publish(PublishInfo { id, dedup: true }),
                "aws-sdk-sqs",
                Confidence::High,
            )
        }
        "send_message" | "send_messages" | "schedule_message" | "schedule_messages"
        | "send_message_batch"
            if !args.is_empty() && known.has(&["azure_messaging_servicebus", "azservicebus"]) =>
        {
            // The legacy REST crate (`QueueClient::send_message(&str,
            // Option<SendMessageOptions>)`) takes a body string; the id can
            // only be in the options. The AMQP crates take a message.
            let legacy = method == "send_message"
                && args.len() == 2
                && (name_has(&receiver, &["queue", "topic"])
                    || matches!(args[0], Expr::Lit(_) | Expr::Reference(_)));
            let id = if legacy {
                match args[1] {
                    Expr::Path(path) if path.path.is_ident("None") => IdEvidence::Absent,
                    options => id_evidence(&[options], locals, &[]),
                }
            } else {
                // The message (or messages); the second argument is the
                // send options (`None`), not a message.
                id_evidence(&args[..1], locals, &[])
            };
            recognized(
                Op::Publish(PublishInfo { id, dedup: true }),
                "servicebus",
                Confidence::High,
            )
        }
        "xadd" | "xadd_map" | "xadd_maxlen" | "xadd_options" | "xadd_maxlen_map"
            if args.len() >= 3 =>
        {
            let id = id_evidence(&args[2..], locals, &[]);
            let confidence = known.sure(&["redis"]);
            recognized(
                Op::Publish(PublishInfo { id, dedup: true }),
                "redis",
                confidence,
            )
        }
        // pulsar's deprecated `producer.send(message)`, still common, and
        // the message builder's `create_message()..send()`.
        "send" | "send_all"
            if known.has(&["pulsar"])
                && ((args.len() == 1 && name_has(&receiver, &["producer"]))
                    || (args.is_empty() && chain.has("create_message"))) =>
        {
            let id = id_evidence(args, locals, &[]);
            recognized(
                Op::Publish(PublishInfo { id, dedup: false }),
                "pulsar",
                Confidence::High,
            )
        }
        "send_non_blocking" if known.has(&["pulsar"]) => {
            let id = id_evidence(args, locals, &[]);
            recognized(
                Op::Publish(PublishInfo { id, dedup: false }),
                "pulsar",
                Confidence::High,
            )
        }
        // `send` is everybody's name, so it needs a sender's name; the
        // by-reference forms are fe2o3's own.
        "send" | "send_batchable" | "send_ref" | "send_batchable_ref"
            if known.has(&["fe2o3_amqp"])
                && args.len() == 1
                && (matches!(method, "send_ref" | "send_batchable_ref")
                    || name_has(&receiver, &["sender", "producer"])) =>
        {
            let id = id_evidence(args, locals, &[]);
            recognized(
                Op::Publish(PublishInfo { id, dedup: true }),
                "fe2o3-amqp",
                Confidence::High,
            )
        }
        // The workshop's broker: `ctx.send(QUEUE, message)`, where a
        // `Message` always carries the id it was built with.
        "send" | "schedule" if known.has(&["broker"]) && args.len() >= 2 => {
            let id = workshop_message_id(args[1], locals);
            recognized(
                Op::Publish(PublishInfo { id, dedup: true }),
                "broker",
                Confidence::High,
            )
        }
        "receive" | "receive_with" | "poll" | "receive_deferred" if known.has(&["broker"]) => {
            recognized(Op::Consume, "broker", Confidence::High)
        }
        // iggy's low-level client: `send_messages(&stream, &topic,
        // &partitioning, &mut messages)`.
        "send_messages" if known.has(&["iggy", "iggy_common"]) && args.len() == 4 => {
            let id = id_evidence(&args[3..], locals, &["id"]);
            recognized(
                Op::Publish(PublishInfo { id, dedup: true }),
                "iggy",
                Confidence::High,
            )
        }
        "send" | "send_one" | "send_with_partitioning" | "send_to"
            if known.has(&["iggy", "iggy_common"]) && name_has(&receiver, &["producer"]) =>
        {
            let id = id_evidence(args, locals, &["id"]);
            recognized(
                Op::Publish(PublishInfo { id, dedup: true }),
                "iggy",
                Confidence::High,
            )
        }
        "send"
            if known.has(&["fluvio"]) && name_has(&receiver, &["producer"]) && args.len() == 2 =>
        {
            recognized(
                Op::Publish(PublishInfo {
                    id: IdEvidence::Unknown,
                    dedup: false,
                }),
                "fluvio",
                Confidence::High,
            )
        }
        // In-house publishers called plain `send` (`self.event_bus.send(e)`,
        // `state.producer.send(topic, bytes)`, `job_queue.send(job)`): only
        // the receiver's name says it is a broker, so with less confidence,
        // and never a channel's sender (`audit_tx.send(x)`).
        "send" if !args.is_empty() && args.len() <= 3 && names_a_publisher(&receiver) => {
            recognized(
                Op::Publish(PublishInfo {
                    id: IdEvidence::Unknown,
                    dedup: true,
                }),
                "wrapper",
                Confidence::Medium,
            )
        }
        // In-house publishers that were not named in config: counted for
        // dual writes (where the id does not matter) with less confidence.
        "publish" | "publish_event" | "publish_message" | "emit" | "send_event" | "publish_all"
        | "produce"
            if name_has(
                &receiver,
                &[
                    "publisher",
                    "producer",
                    "bus",
                    "broker",
                    "emitter",
                    "nats",
                    "kafka",
                    "rabbit",
                    "amqp",
                    "queue",
                    "topic",
                    "jetstream",
                    "js",
                ],
            ) =>
        {
            recognized(
                Op::Publish(PublishInfo {
                    id: IdEvidence::Unknown,
                    dedup: true,
                }),
                "wrapper",
                Confidence::Medium,
            )
        }

        // ---- ack ----
        "ack"
        | "double_ack"
        | "confirmed_ack"
        | "cumulative_ack"
        | "ack_with_id"
        | "cumulative_ack_with_id"
        | "try_ack"
            if args.len() <= 2 && known.has(MESSAGING_CRATES) =>
        {
            // `consumer.ack(&msg)` (pulsar, rumqttc) names the message in
            // its argument; `delivery.ack(BasicAckOptions::default())`
            // (lapin) and `msg.ack()` (NATS, Pub/Sub) in the receiver.
            // amiquip's `delivery.ack(&channel)` names the channel it acks
            // on, which is never the message.
            let from_arg: BTreeSet<String> = args
                .iter()
                .filter(|arg| !arg.to_token_stream().to_string().contains("Options"))
                .filter_map(|arg| root_ident(arg))
                .filter(|name| !(name == "ch" || names_a_channel(name)))
                .collect();
            let message = if from_arg.is_empty() {
                this_receiver()
            } else {
                from_arg
            };
            recognized(Op::Ack { message }, "broker", Confidence::High)
        }
        "ack_with" | "double_ack_with" => {
            let kind = args
                .first()
                .map(|arg| arg.to_token_stream().to_string())
                .unwrap_or_default();
            if kind.contains("Nak") || kind.contains("Term") {
                recognized(Op::Nack, "async-nats", Confidence::High)
            } else if kind.contains("Progress") || kind.contains("Next") {
                None
            } else {
                recognized(
                    Op::Ack {
                        message: this_receiver(),
                    },
                    "async-nats",
                    Confidence::High,
                )
            }
        }
        "basic_ack" => recognized(
            Op::Ack {
                message: message_of(&args[..args.len().min(1)])
                    .into_iter()
                    .chain(arguments_message(args.first().copied()))
                    .collect(),
            },
            "lapin",
            Confidence::High,
        ),
        "commit_message" | "store_offset_from_message" => recognized(
            Op::Ack {
                message: message_of(&args[..args.len().min(1)]),
            },
            "rdkafka",
            Confidence::High,
        ),
        "store_offset" if known.has(&["rdkafka", "iggy"]) && !args.is_empty() => recognized(
            Op::Ack {
                message: message_of(args),
            },
            "rdkafka",
            Confidence::High,
        ),
        // iggy's low-level client: `store_consumer_offset(&consumer,
        // &stream, &topic, partition, offset)`.
        "store_consumer_offset" if known.has(&["iggy", "iggy_common"]) && args.len() == 5 => {
            recognized(
                Op::Ack {
                    message: message_of(&args[4..]),
                },
                "iggy",
                Confidence::High,
            )
        }
        // kafka (kafka-rust): `consume_messageset(set)` marks a set
        // consumed, `commit_consumed()` commits what was marked.
        // `consume_message(topic, partition, offset)` names no message.
        "consume_messageset" | "consume_message" | "commit_consumed" if known.has(&["kafka"]) => {
            recognized(
                Op::Ack {
                    message: if method == "consume_messageset" {
                        message_of(&args[..args.len().min(1)])
                    } else {
                        BTreeSet::new()
                    },
                },
                "kafka",
                Confidence::High,
            )
        }
        "store_offsets" | "commit_consumer_state" => recognized(
            Op::Ack {
                message: BTreeSet::new(),
            },
            "rdkafka",
            Confidence::High,
        ),
        "commit"
            if args.len() == 2
                && (known.has(&["rdkafka"])
                    || args[1].to_token_stream().to_string().contains("CommitMode")) =>
        {
            recognized(
                Op::Ack {
                    message: BTreeSet::new(),
                },
                "rdkafka",
                Confidence::High,
            )
        }
        "complete_message" | "complete"
            if !args.is_empty() && (method == "complete_message" || known.has(&["broker"])) =>
        {
            recognized(
                Op::Ack {
                    message: message_of(&args[..1]),
                },
                "servicebus",
                Confidence::High,
            )
        }
        "complete" if args.is_empty() && known.has(&["broker"]) => recognized(
            Op::Ack {
                message: this_receiver(),
            },
            "broker",
            Confidence::High,
        ),
        "delete_message" if args.is_empty() && chain.has("receipt_handle") => {
            let message = message_of(chain.args_of("receipt_handle").unwrap_or(&[]));
            recognized(Op::Ack { message }, "aws-sdk-sqs", Confidence::High)
        }
        "delete_message_batch"
            if args.is_empty() && (known.has(&["aws_sdk_sqs"]) || chain.has("queue_url")) =>
        {
            recognized(
                Op::Ack {
                    message: BTreeSet::new(),
                },
                "aws-sdk-sqs",
                Confidence::High,
            )
        }
        "delete_message"
            if args.is_empty()
                && index + 1 == chain.segments.len()
                && known.has(&["azure_messaging_servicebus"]) =>
        {
            recognized(
                Op::Ack {
                    message: this_receiver(),
                },
                "servicebus",
                Confidence::High,
            )
        }
        "xack" | "xack_del" if args.len() >= 3 => recognized(
            Op::Ack {
                message: message_of(&args[2..]),
            },
            "redis",
            known.sure(&["redis"]),
        ),
        "accept" | "accept_all" if known.has(&["fe2o3_amqp"]) && !args.is_empty() => recognized(
            Op::Ack {
                message: message_of(args),
            },
            "fe2o3-amqp",
            Confidence::High,
        ),
        "offset_commit" if known.has(&["fluvio"]) => recognized(
            Op::Ack {
                message: BTreeSet::new(),
            },
            "fluvio",
            Confidence::High,
        ),

        // ---- negative settle ----
        "nack"
        | "reject"
        | "basic_nack"
        | "basic_reject"
        | "abandon_message"
        | "dead_letter_message"
        | "defer_message"
        | "unlock_message"
        | "xnack"
        | "release"
        | "modify"
        | "nack_with_id"
        | "abandon"
        | "dead_letter"
        | "defer" => {
            if matches!(
                method,
                "release" | "modify" | "abandon" | "dead_letter" | "defer"
            ) && !known.has(&["fe2o3_amqp", "broker"])
            {
                None
            } else {
                recognized(Op::Nack, "broker", Confidence::High)
            }
        }
        "change_message_visibility" if args.is_empty() => {
            recognized(Op::Nack, "aws-sdk-sqs", Confidence::High)
        }

        // ---- Kafka transactions ----
        "send_offsets_to_transaction" => {
            recognized(Op::KafkaTransaction, "rdkafka", Confidence::High)
        }
        "begin_transaction" | "commit_transaction" | "init_transactions"
            if known.has(&["rdkafka"])
                && (name_has(&receiver, &["producer"]) || !known.has(&["mongodb"])) =>
        {
            recognized(Op::KafkaTransaction, "rdkafka", Confidence::High)
        }

        // ---- databases ----
        "commit_transaction" if known.has(&["mongodb"]) => {
            recognized(Op::DbCommit, "mongodb", Confidence::High)
        }
        "commit"
            if args.is_empty() && (known.has(SQL_CRATES) || known.has(&["mongodb", "broker"])) =>
        {
            recognized(Op::DbCommit, "database", Confidence::High)
        }
        // A transaction handed over by the crate's own repository
        // (`let mut tx = repo.get_tx().await?; .. tx.commit().await`) in a
        // file that names no database crate: a commit by the receiver's
        // name, so not `high`.
        "commit" if args.is_empty() && executor_is_transaction(&[], &receiver) => {
            recognized(Op::DbCommit, "database", Confidence::Medium)
        }
        // mongodb 3.x: `session.start_transaction().and_run(ctx, |s, ctx| ..)`
        // commits when the callback succeeds.
        "transaction" | "with_transaction" | "run" | "transaction_async" | "and_run"
        | "and_run2"
            if args.iter().any(|arg| is_closure_like(arg))
                && (known.has(SQL_CRATES) || known.has(&["mongodb"]))
                && (method != "run" || chain.has("build_transaction"))
                && (!matches!(method, "and_run" | "and_run2")
                    || chain.has("start_transaction")) =>
        {
            recognized(Op::DbTransaction, "database", Confidence::High)
        }
        "execute"
        | "execute_many"
        | "get_result"
        | "get_results"
        | "fetch_one"
        | "fetch_optional"
        | "fetch_all"
        | "exec"
        | "exec_with_returning"
        | "batch_execute"
        | "execute_batch"
        | "query"
        | "query_one"
        | "query_opt"
        | "insert"
        | "save"
        | "update"
        | "delete"
        | "insert_one"
        | "insert_many"
        | "update_one"
        | "update_many"
        | "replace_one"
        | "delete_one"
        | "delete_many"
        | "find_one_and_update"
        | "find_one_and_replace"
        | "find_one_and_delete"
        | "upsert"
        | "update_if_version" => classify_db(chain, index, known),
        _ => None,
    }
}

fn is_closure_like(expr: &Expr) -> bool {
    matches!(expr, Expr::Closure(_))
        || matches!(expr, Expr::Reference(r) if matches!(&*r.expr, Expr::Closure(_)))
}

/// Database writes: sqlx/tokio-postgres/rusqlite `execute`, diesel
/// `insert_into(..).execute(conn)`, sea-orm `model.insert(&db)` and
/// `Entity::insert(..).exec(&db)`, mongodb `insert_one`, the workshop
/// store's `tx.insert(table, ..)`.
fn classify_db(chain: &Chain<'_>, index: usize, known: &Known<'_>) -> Option<Recognized> {
    let segment = &chain.segments[index];
    let method = segment.method.as_str();
    let args = segment.args.as_slice();
    let receiver = receiver_name(chain, index);
    let chain_text = segment.expr.to_token_stream().to_string();
    let outbox = mentions_outbox(&chain_text);
    let write = |committed: bool, api: &'static str, confidence: Confidence| {
        recognized(Op::DbWrite { committed, outbox }, api, confidence)
    };

    // The SQL text, if the chain starts from a literal query.
    let sql: Option<String> = super::sql::literal_sql(chain, index);
    // SQL kept in a constant (`sqlx::query(QUERY_INSERT_USER)`): its name
    // says what it does. A guess from a name, so never `high`.
    let named_sql = match (&sql, chain.root) {
        (None, Expr::Call(call)) => call.args.first().and_then(sql_constant_name),
        (None, _) => args.first().and_then(|first| sql_constant_name(first)),
        _ => None,
    };
    let sql_from_name = named_sql.is_some();
    let sql = sql.or(named_sql);
    let root_path: Vec<String> = chain
        .root_call()
        .map(|(path, _)| path.segments.iter().map(|s| s.ident.to_string()).collect())
        .or_else(|| match chain.root {
            Expr::Macro(mac) => Some(
                mac.mac
                    .path
                    .segments
                    .iter()
                    .map(|s| s.ident.to_string())
                    .collect(),
            ),
            _ => None,
        })
        .unwrap_or_default();
    let root_last = root_path.last().map(String::as_str).unwrap_or("");

    match method {
        "execute"
        | "execute_many"
        | "fetch_one"
        | "fetch_optional"
        | "fetch_all"
        | "get_result"
        | "get_results"
        | "exec"
        | "exec_with_returning"
        | "batch_execute"
        | "execute_batch"
        // tokio-postgres: `client.query_one("INSERT .. RETURNING id", ..)`
        // writes; a query we cannot read is taken for a read below.
        | "query"
        | "query_one"
        | "query_opt" => {
            // diesel: `insert_into(t).values(v).execute(conn)`.
            if matches!(
                root_last,
                "insert_into" | "replace_into" | "update" | "delete" | "insert_or_ignore_into"
            ) && known.has(&["diesel", "diesel_async"])
            {
                return write(
                    !executor_is_transaction(args, &receiver),
                    "diesel",
                    Confidence::High,
                );
            }
            // sea-orm: `Entity::insert(am).exec(&db)`, `Entity::update_many()..exec(&db)`.
            if matches!(method, "exec" | "exec_with_returning") && known.has(&["sea_orm"]) {
                let writes = chain.root_call().is_some_and(|(path, _)| {
                    path.segments.last().is_some_and(|s| {
                        let name = s.ident.to_string();
                        name.starts_with("insert")
                            || name.starts_with("update")
                            || name.starts_with("delete")
                    })
                });
                return if writes {
                    write(
                        !executor_is_transaction(args, &receiver),
                        "sea-orm",
                        Confidence::High,
                    )
                } else {
                    None
                };
            }
            // SQL text: a literal that reads is not a write.
            if let Some(sql) = &sql {
                if !sql_writes(sql) {
                    return None;
                }
                if mentions_outbox(sql) {
                    return recognized(
                        Op::DbWrite {
                            committed: !executor_is_transaction(args, &receiver),
                            outbox: true,
                        },
                        "sql",
                        Confidence::High,
                    );
                }
            } else if !matches!(
                method,
                "execute" | "execute_many" | "batch_execute" | "execute_batch"
            ) {
                // A fetch from a query we cannot read is most likely a read.
                return None;
            }
            if !known.has(SQL_CRATES) && !matches!(root_last, "query" | "query_as" | "query_scalar")
            {
                return None;
            }
            let confidence = if sql.is_some() && !sql_from_name {
                Confidence::High
            } else {
                Confidence::Medium
            };
            write(!executor_is_transaction(args, &receiver), "sql", confidence)
        }
        // sea-orm ActiveModel methods and the workshop store's transaction.
        "insert" | "save" | "update" | "delete" | "upsert" | "update_if_version" => {
            if known.has(&["broker"])
                && args.len() >= 2
                && (args.first().and_then(|a| literal(a)).is_some()
                    || executor_is_transaction(&[], &receiver))
            {
                // `tx.insert(ORDERS, key, row)`: inside a store transaction,
                // which commits with `tx.commit()`.
                let table = args
                    .first()
                    .map(|a| a.to_token_stream().to_string())
                    .unwrap_or_default();
                return recognized(
                    Op::DbWrite {
                        committed: false,
                        outbox: mentions_outbox(&table),
                    },
                    "store",
                    Confidence::High,
                );
            }
            if known.has(&["sea_orm"]) && args.len() == 1 {
                return write(
                    !executor_is_transaction(args, &receiver),
                    "sea-orm",
                    Confidence::High,
                );
            }
            // Repositories: `self.orders_repo.save(&order)`. A receiver
            // named only `db` or `store` may be an in-memory map: low
            // confidence, which the rules do not report on its own.
            if name_has(&receiver, &["kv", "cache", "map", "memory", "mem"]) {
                return None;
            }
            if name_has(&receiver, &["repo", "repository", "dao"]) {
                return write(
                    !executor_is_transaction(args, &receiver),
                    "repository",
                    Confidence::Medium,
                );
            }
            if name_has(&receiver, &["database", "db", "store"]) {
                return write(
                    !executor_is_transaction(args, &receiver),
                    "repository",
                    Confidence::Low,
                );
            }
            None
        }
        _ if known.has(&["mongodb"]) => {
            let in_session = chain.has("session")
                || args
                    .iter()
                    .any(|arg| arg.to_token_stream().to_string().contains("session"));
            write(!in_session, "mongodb", Confidence::High)
        }
        _ => None,
    }
}

/// An rdkafka `send`: the record is a `FutureRecord`/`BaseRecord` (inline
/// or in a local), or the receiver is a producer in a file that uses
/// rdkafka. `tx.send(x)` on a channel is neither.
fn is_kafka_send(args: &[&Expr], receiver: &str, known: &Known<'_>, locals: &Locals) -> bool {
    let Some(record) = args.first() else {
        return false;
    };
    let mentions_record = |expr: &Expr| {
        let text = expr.to_token_stream().to_string();
        text.contains("FutureRecord") || text.contains("BaseRecord")
    };
    if mentions_record(record) {
        return true;
    }
    if let Some(name) = root_ident(record)
        && locals.values_of(&name).iter().any(mentions_record)
    {
        return true;
    }
    known.has(&["rdkafka"]) && name_has(receiver, &["producer"])
}

/// Whether `producer.send(arg)` in a file that uses kafka-rust sends a
/// record: the argument is a `Record` (built here, or a local built from
/// one), or the receiver is named a producer; a channel's `send` is not.
fn is_kafka_rust_send(arg: &Expr, receiver: &str, locals: &Locals) -> bool {
    if names_a_channel(receiver) {
        return false;
    }
    let mentions_record = |expr: &Expr| expr.to_token_stream().to_string().contains("Record");
    mentions_record(arg)
        || root_ident(arg).is_some_and(|name| locals.values_of(&name).iter().any(mentions_record))
        || name_has(receiver, &["producer"])
}

/// A kafka-rust record's id: its key, the only place one can go.
/// `Record::from_key_value(topic, key, value)` sets it (a literal key is
/// shared by every record, `()` is none), `Record::from_value(topic,
/// value)` sets none, and `Record { key, .. }` in a field; an id in the
/// value counts as in any body.
fn kafka_rust_id(record: &Expr, locals: &Locals) -> IdEvidence {
    let mut expr = record;
    while let Expr::Reference(inner) = expr {
        expr = &inner.expr;
    }
    // A record bound once to a local: `let record = Record::from_value(..)`.
    if let Some(name) = root_ident(expr)
        && matches!(expr, Expr::Path(_))
        && let [value] = locals.values_of(&name)
    {
        expr = value;
    }
    let Expr::Call(call) = expr else {
        return id_evidence(&[record], locals, &["key"]);
    };
    let Expr::Path(path) = &*call.func else {
        return id_evidence(&[record], locals, &["key"]);
    };
    let function = path.path.segments.last().map(|s| s.ident.to_string());
    let args: Vec<&Expr> = call.args.iter().collect();
    match (function.as_deref(), args.as_slice()) {
        (Some("from_key_value"), [_, key, value]) => {
            let keyed = match key {
                Expr::Tuple(unit) if unit.elems.is_empty() => IdEvidence::Absent,
                Expr::Lit(_) => IdEvidence::SharedKey,
                Expr::Reference(inner) if matches!(&*inner.expr, Expr::Lit(_)) => {
                    IdEvidence::SharedKey
                }
                _ => super::ids::setter_value_evidence(&[key]),
            };
            or_body_id(keyed, Some(value), locals)
        }
        (Some("from_value"), [_, value]) => or_body_id(IdEvidence::Absent, Some(value), locals),
        _ => id_evidence(&[record], locals, &["key"]),
    }
}

/// The value of field `name` in a struct literal (`DeleteMessageRequest {
/// receipt_handle: m.receipt_handle.clone().unwrap(), .. }`).
fn struct_field<'e>(expr: &'e Expr, name: &str) -> Option<&'e Expr> {
    let mut expr = expr;
    while let Expr::Reference(inner) = expr {
        expr = &inner.expr;
    }
    let Expr::Struct(built) = expr else {
        return None;
    };
    built.fields.iter().find_map(|field| match &field.member {
        syn::Member::Named(ident) if ident == name => Some(&field.expr),
        _ => None,
    })
}

/// An empty payload written out: `""`, `b""` (converted with `.into()`,
/// `Bytes::from(..)`, `Bytes::from_static(..)`), `Bytes::new()`,
/// `Vec::new()` or `vec![]`.
fn is_empty_payload(expr: &Expr) -> bool {
    match expr {
        Expr::Lit(lit) => match &lit.lit {
            syn::Lit::Str(text) => text.value().is_empty(),
            syn::Lit::ByteStr(bytes) => bytes.value().is_empty(),
            _ => false,
        },
        Expr::Reference(reference) => is_empty_payload(&reference.expr),
        Expr::Paren(paren) => is_empty_payload(&paren.expr),
        Expr::MethodCall(call) if call.args.is_empty() => {
            matches!(
                call.method.to_string().as_str(),
                "into" | "to_vec" | "to_owned" | "as_bytes"
            ) && is_empty_payload(&call.receiver)
        }
        Expr::Call(call) => {
            let Expr::Path(path) = &*call.func else {
                return false;
            };
            let last = path.path.segments.last().map(|s| s.ident.to_string());
            match (last.as_deref(), call.args.len()) {
                (Some("new"), 0) => {
                    path.path.segments.len() >= 2
                        && matches!(
                            path.path.segments[path.path.segments.len() - 2]
                                .ident
                                .to_string()
                                .as_str(),
                            "Bytes" | "Vec"
                        )
                }
                (Some("from" | "from_static"), 1) => is_empty_payload(&call.args[0]),
                _ => false,
            }
        }
        Expr::Macro(mac) => mac.mac.path.is_ident("vec") && mac.mac.tokens.is_empty(),
        _ => false,
    }
}

/// A JetStream context rather than a core NATS client: core NATS cannot
/// deduplicate, so only JetStream publishes need an id.
fn is_jetstream(receiver: &str, chain: &Chain<'_>, index: usize, locals: &Locals) -> bool {
    if name_has(receiver, &["js", "jetstream", "context", "ctx"]) {
        return true;
    }
    let receiver_expr: &Expr = if index == 0 {
        chain.root
    } else {
        &chain.segments[index].expr.receiver
    };
    root_ident(receiver_expr).is_some_and(|name| {
        locals
            .values_of(&name)
            .iter()
            .any(|value| value.to_token_stream().to_string().contains("jetstream"))
    })
}

/// A publish that sets no id of the broker's (no AMQP `message_id`, no
/// `Nats-Msg-Id`) may still carry one in its body: an event whose
/// `order_id` field or `id` names what it is about, a result that copies
/// the request's `attachment_id`. A consumer can deduplicate on that, as it
/// can on a Kafka record whose payload carries one (which the record's own
/// scan already sees). Only an id found in a body built here counts: a body
/// that shows none leaves the answer as it was.
fn or_body_id(id: IdEvidence, body: Option<&&Expr>, locals: &Locals) -> IdEvidence {
    match (&id, body) {
        (IdEvidence::Absent | IdEvidence::SharedKey, Some(body)) => {
            match id_evidence(&[*body], locals, &[]) {
                found @ IdEvidence::Present { .. } => found,
                _ => id,
            }
        }
        _ => id,
    }
}

/// A raw Redis command, as services send the stream and list commands the
/// typed API lacks or hides: `redis::cmd("XACK").arg(key).arg(group)
/// .arg(id).query_async(conn)`. Recognised at the call that sends it
/// (`query`, `query_async`, `exec`, `exec_async`), from the command's name
/// and its arguments in order, as the typed method of the same name is.
fn classify_redis_command(
    chain: &Chain<'_>,
    index: usize,
    known: &Known<'_>,
    locals: &Locals,
) -> Option<Recognized> {
    let method = chain.segments[index].method.as_str();
    if !matches!(method, "query" | "query_async" | "exec" | "exec_async") {
        return None;
    }
    let Expr::Call(call) = chain.root else {
        return None;
    };
    let Expr::Path(func) = &*call.func else {
        return None;
    };
    if func
        .path
        .segments
        .last()
        .is_none_or(|last| last.ident != "cmd")
    {
        return None;
    }
    let Some(Expr::Lit(syn::ExprLit {
        lit: syn::Lit::Str(name),
        ..
    })) = call.args.first()
    else {
        return None;
    };
    let command = name.value().to_ascii_uppercase();
    // The command's arguments, in order: every `.arg(..)` before the send.
    let args: Vec<&Expr> = chain.segments[..index]
        .iter()
        .filter(|segment| segment.method == "arg" && segment.args.len() == 1)
        .map(|segment| segment.args[0])
        .collect();
    let confidence = known.sure(&["redis"]);
    match command.as_str() {
        // XACK key group id [id ...]
        "XACK" if args.len() >= 3 => recognized(
            Op::Ack {
                message: message_of(&args[2..]),
            },
            "redis",
            confidence,
        ),
        // XADD key [options] id field value ...: what a typed `xadd`
        // carries is read from everything after the key.
        "XADD" if args.len() >= 3 => recognized(
            Op::Publish(PublishInfo {
                id: id_evidence(&args[1..], locals, &[]),
                dedup: true,
            }),
            "redis",
            confidence,
        ),
        "XREADGROUP" => recognized(Op::Consume, "redis", confidence),
        // A job pushed onto a list the key names as a queue.
        "LPUSH" | "RPUSH" if args.len() >= 2 && names_a_job_list(args[0]) => recognized(
            Op::Publish(PublishInfo {
                id: IdEvidence::Unknown,
                dedup: true,
            }),
            "redis",
            Confidence::Medium,
        ),
        _ => None,
    }
}

trait KafkaRecordId {
    fn restrict_kafka(self, record: &Expr, locals: &Locals) -> IdEvidence;
}

impl KafkaRecordId for IdEvidence {
    /// A Kafka record's `headers(..)` call is only an id if the headers
    /// themselves carry an id-named header; `id_evidence` saw `headers` as a
    /// setter name, so check again without it.
    fn restrict_kafka(self, record: &Expr, locals: &Locals) -> IdEvidence {
        match &self {
            IdEvidence::Present { .. } => {
                let again = id_evidence(&[record], locals, &["key"]);
                match again {
                    IdEvidence::Present { .. } => again,
                    IdEvidence::Absent => IdEvidence::Absent,
                    IdEvidence::SharedKey => IdEvidence::SharedKey,
                    IdEvidence::Unknown => IdEvidence::Unknown,
                }
            }
            _ => self,
        }
    }
}

/// Classifies a call of a path: spawns and user wrappers called as
/// functions (`publish_event(&bus, e)`, `outbox::enqueue(&mut tx, e)`).
pub fn classify_call(
    call: &syn::ExprCall,
    known: &Known<'_>,
    locals: &Locals,
) -> Option<Recognized> {
    let Expr::Path(func) = &*call.func else {
        return None;
    };
    let full = known.imports.resolve(&func.path);
    let written: Vec<String> = func
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    let last = full.last().map(String::as_str).unwrap_or("");
    let args: Vec<&Expr> = call.args.iter().collect();

    for path in [&written, &full] {
        if Known::user_named(&known.user.outbox, path) {
            return recognized(
                Op::DbWrite {
                    committed: false,
                    outbox: true,
                },
                "user",
                Confidence::High,
            );
        }
        if Known::user_named(&known.user.publish, path) {
            let id = id_evidence(&args, locals, &[]);
            return recognized(
                Op::Publish(PublishInfo { id, dedup: true }),
                "user",
                Confidence::High,
            );
        }
        if Known::user_named(&known.user.ack, path) {
            return recognized(
                Op::Ack {
                    message: message_of(&args),
                },
                "user",
                Confidence::High,
            );
        }
        if Known::user_named(&known.user.consume, path) {
            return recognized(Op::Consume, "user", Confidence::High);
        }
    }
    if matches!(last, "spawn" | "spawn_local" | "spawn_blocking") {
        let head = full.first().map(String::as_str).unwrap_or("");
        let is_runtime = full.len() == 1
            || matches!(
                head,
                "tokio"
                    | "async_std"
                    | "smol"
                    | "std"
                    | "thread"
                    | "task"
                    | "actix_rt"
                    | "glommio"
                    | "futures"
            );
        if is_runtime {
            return recognized(Op::Spawn, "runtime", Confidence::High);
        }
    }
    None
}

/// Whether a method call starts a concurrent task: `set.spawn(fut)`,
/// `handle.spawn(fut)`, `tracker.spawn(fut)`.
pub fn is_spawn_method(method: &str, args: usize) -> bool {
    matches!(
        method,
        "spawn" | "spawn_local" | "spawn_blocking" | "spawn_on"
    ) && args >= 1
}

/// The id of a workshop-broker `Message`: the first argument of
/// `Message::new(id, body)` or `Message::json(id, value)`, in the argument
/// or in the local it was built in. A message built elsewhere is unknown
/// (never absent: the broker's messages cannot be built without an id).
fn workshop_message_id(message: &Expr, locals: &Locals) -> IdEvidence {
    let mut pending = vec![message.clone()];
    let mut seen = BTreeSet::new();
    while let Some(expr) = pending.pop() {
        if let Some(id) = first_arg_of_message_new(expr.to_token_stream()) {
            let mut from = BTreeSet::new();
            super::chain::collect_idents(id.clone(), &mut from);
            let text = id.to_string();
            let random = ["new_v4", "now_v7", "new_v7", "random", "rng", "nanoid"]
                .iter()
                .any(|m| text.contains(m));
            return IdEvidence::Present { from, random };
        }
        if let Some(name) = root_ident(&expr)
            && seen.insert(name.clone())
        {
            pending.extend(locals.values_of(&name).iter().cloned());
        }
    }
    IdEvidence::Unknown
}

/// The tokens of the first argument of `Message :: new (..)` or
/// `Message :: json (..)`.
fn first_arg_of_message_new(tokens: proc_macro2::TokenStream) -> Option<proc_macro2::TokenStream> {
    use proc_macro2::TokenTree;
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    for (index, token) in tokens.iter().enumerate() {
        match token {
            TokenTree::Ident(ident) if ident == "Message" => {
                let is_constructor = matches!(tokens.get(index + 3), Some(TokenTree::Ident(f)) if f == "new" || f == "json");
                if is_constructor && let Some(TokenTree::Group(group)) = tokens.get(index + 4) {
                    let first: proc_macro2::TokenStream = group
                        .stream()
                        .into_iter()
                        .take_while(|t| !matches!(t, TokenTree::Punct(p) if p.as_char() == ','))
                        .collect();
                    return Some(first);
                }
            }
            TokenTree::Group(group) => {
                if let Some(found) = first_arg_of_message_new(group.stream()) {
                    return Some(found);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::{APALIS_CRATES, MESSAGING_CRATES, SQL_CRATES, names_a_publisher, spell_compact};

    /// The receiver's text spelt from the tree is the printed tokens'
    /// without spaces, or the shape is left to the printing.
    #[test]
    fn a_receiver_is_spelt_as_its_tokens_print() {
        use quote::ToTokens;
        for source in [
            "self.producer",
            "&mut self.state.Kafka_Producer",
            "&self.0.bus",
            "(*ctx).queue",
            "!flag",
            "-x",
            "::crate_name::Bus",
            "r#type.bus",
            "Queue::<T>::global",
            "(a + b).q",
        ] {
            let expr: syn::Expr = syn::parse_str(source).expect("test expression parses");
            let printed = expr.to_token_stream().to_string().replace(' ', "");
            let mut spelt = String::new();
            if spell_compact(&expr, &mut spelt) {
                assert_eq!(spelt, printed, "{source}");
            } else {
                assert!(
                    source.contains('<') || source.contains('+'),
                    "{source} should be spelt from the tree"
                );
            }
        }
    }

    /// `send` on these receivers is taken for a publish; on the others it
    /// is a channel's or nothing a broker does.
    #[test]
    fn a_publisher_is_known_by_its_last_name() {
        for receiver in [
            "self.event_bus",
            "bus",
            "state.producer",
            "ctx.kafka",
            "receipt_queue",
            "self.jobqueue",
            "self.order_publisher",
        ] {
            assert!(names_a_publisher(receiver), "{receiver}");
        }
        for receiver in [
            "audit_tx",
            "self.queue_tx",
            "self.bus_sender",
            "self.kafka.tx",
            "business_rules",
            "self.client",
            "ctx",
        ] {
            assert!(!names_a_publisher(receiver), "{receiver}");
        }
    }
    use crate::analysis::imports::KNOWN_CRATES;

    /// `KNOWN_CRATES` is a separate, larger list (it also holds the time and
    /// serde crates other rules need), and `Imports` records only crates on
    /// it: a crate the classifier asks about but `Imports` never records
    /// would make every `known.has(..)` on it false without a word.
    #[test]
    fn every_crate_the_classifier_asks_about_is_one_imports_records() {
        let asked = MESSAGING_CRATES
            .iter()
            .chain(SQL_CRATES)
            .chain(APALIS_CRATES)
            .chain(&["mongodb"]);
        for name in asked {
            assert!(KNOWN_CRATES.contains(name), "{name} is not in KNOWN_CRATES");
        }
    }
}

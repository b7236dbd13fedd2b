//! `publish-before-ack`: while handling a message, a derived message
//! published before the ack with nothing to deduplicate it on.

use std::collections::{BTreeMap, BTreeSet};

use crate::analysis::apis::{Op, PublishInfo};
use crate::analysis::flow::{Event, FnFlow};
use crate::analysis::ids::IdEvidence;
use crate::analysis::{FileAnalysis, user_apis};
use crate::context::FileContext;
use crate::declare_rule;
use crate::finding::{Confidence, Finding, Label};

declare_rule! {
    /// ## What it does
    /// Finds, in a consumer, a message published before the consumed
    /// message is acked, when the published message carries no id (or a
    /// random one). A publish whose id derives from the consumed message
    /// (among them an RPC reply that copies the request's correlation id),
    /// a body that carries an id as missing-idempotency-key reads bodies (a
    /// value of one of the crate's serialized structs with an id field,
    /// such as the retry copy of a request with its `attachment_id`), an
    /// outbox insert, and a Kafka transaction that commits the consumed
    /// offsets with the output are not findings.
    ///
    /// ## Why is this bad?
    /// A crash between the publish and the ack means the consumed message
    /// is redelivered and handled again, and the derived message is
    /// published a second time. With no id, or a fresh random one, no
    /// downstream consumer and no broker deduplication can tell the copy
    /// from a new message. Derive the id from the consumed message (its id
    /// plus what the step does), so the second publish is a detectable
    /// duplicate.
    ///
    /// ## Example
    /// ```rust
    /// use async_nats::jetstream::{self, Message};
    ///
    /// async fn handle(js: &jetstream::Context, msg: Message) -> anyhow::Result<()> {
    ///     let receipt = format!("paid:{}", String::from_utf8_lossy(&msg.payload));
    ///     js.publish("receipts", receipt.into()).await?.await?;
    ///     msg.ack().await.map_err(|e| anyhow::anyhow!(e))?;
    ///     Ok(())
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```rust
    /// use async_nats::jetstream::{self, Message, context::Publish};
    ///
    /// async fn handle(js: &jetstream::Context, msg: Message) -> anyhow::Result<()> {
    ///     let receipt = format!("paid:{}", String::from_utf8_lossy(&msg.payload));
    ///     let source = msg.info().map_err(|e| anyhow::anyhow!(e))?.stream_sequence;
    ///     js.send_publish("receipts", Publish::build().payload(receipt.into()).message_id(format!("receipt-{source}")))
    ///         .await?
    ///         .await?;
    ///     msg.ack().await.map_err(|e| anyhow::anyhow!(e))?;
    ///     Ok(())
    /// }
    /// ```
    ///
    /// ## Known limitations
    /// A publish made by a helper of the crate (or a path dependency) is
    /// judged at its call, from the helper's summary; one whose message is
    /// passed in from outside the crate is not judged (its id cannot be
    /// seen). An id carried in the payload counts as it does for
    /// `missing-idempotency-key` (a field named like an id, a value named
    /// like an id handed to the message's constructor or to the helper that
    /// builds it). Calls of one helper at several places before the ack are
    /// one finding, at the first call. Only publishes on the
    /// same path of the same task as the ack are ordered; work in a spawned
    /// task is treated as concurrent.
    ///
    /// ## Chapter
    /// Chapter 4, "Delivery semantics and idempotency": `idempotency/index.html`.
    pub static PUBLISH_BEFORE_ACK = {
        name: "publish-before-ack",
        summary: "a derived message published before the ack with no idempotency key",
        chapter: "idempotency/index.html",
        severity: Warning,
        check: check,
    }
}

const RULE: &str = "publish-before-ack";

fn check(ctx: &FileContext<'_>, out: &mut Vec<Finding>) {
    let analysis = FileAnalysis::of(ctx, user_apis(ctx));
    for flow in &analysis.flows {
        if flow.has_kafka_transaction() {
            continue;
        }
        let mut reported = BTreeSet::new();
        // One finding per helper line in a function: a helper that
        // publishes with no id, called before the ack at several places
        // (`send_to_dlq` on each error path), is one mistake to fix in one
        // place; its later calls become labels of the first finding.
        let mut by_helper: BTreeMap<HelperCall, usize> = BTreeMap::new();
        for (ack, ack_op) in flow.ops() {
            let Op::Ack { message } = &ack_op.op else {
                continue;
            };
            let derived = if message.is_empty() {
                BTreeSet::new()
            } else {
                flow.derived_from(message)
            };
            for (publish, publish_op) in flow.ops() {
                let Op::Publish(PublishInfo { id, .. }) = &publish_op.op else {
                    continue;
                };
                if reported.contains(&publish.seq)
                    // One call that does both (a helper that publishes,
                    // then settles what it is given) is judged in its body.
                    || publish.region == ack.region
                    || !flow.runs_before(publish, ack)
                    || !handling(flow, publish, ack, message)
                {
                    continue;
                }
                // A body that is a value of one of the crate's serialized
                // structs with an id field (the retry copy of the consumed
                // request, a result that carries the request's
                // `attachment_id`) is identified by it, as
                // missing-idempotency-key judges it.
                if matches!(id, IdEvidence::Absent)
                    && let Some((index, _)) = ctx.crate_index
                    && index.body_carries_id(flow, publish)
                {
                    continue;
                }
                let (message_text, confidence) = match id {
                    IdEvidence::Absent => (
                        "is published before the consumed message is acked, with no message id",
                        Confidence::High,
                    ),
                    // The partition number is recognised partly by name.
                    IdEvidence::SharedKey => (
                        "is published before the consumed message is acked, with only a partition key shared by many messages",
                        Confidence::Medium,
                    ),
                    IdEvidence::Present { from, random: true }
                        if !from.iter().any(|name| derived.contains(name)) =>
                    {
                        (
                            "is published before the consumed message is acked, with a random id that changes on redelivery",
                            Confidence::Medium,
                        )
                    }
                    _ => continue,
                };
                reported.insert(publish.seq);
                // Only the same helper, called by name, that sets the id
                // itself: a helper that publishes what its caller hands it
                // is judged at each call, on that call's argument.
                let helper_site = publish_op
                    .via
                    .as_ref()
                    .filter(|via| !via.caller_decides)
                    .map(|via| HelperCall {
                        callee: called_name(ctx.source, publish),
                        path: via.path.clone(),
                        line: via.region.start.line,
                        column: via.region.start.column,
                    });
                if let Some(first) = helper_site.as_ref().and_then(|site| by_helper.get(site)) {
                    let function = publish_op
                        .via
                        .as_ref()
                        .map(|via| via.function.as_str())
                        .unwrap_or_default();
                    out[*first].labels.push(Label::here(
                        publish.region,
                        format!("`{function}` is also called here, before the ack"),
                    ));
                    continue;
                }
                if let Some(site) = helper_site {
                    by_helper.insert(site, out.len());
                }
                let mut labels = vec![Label::here(
                    ack.region,
                    "the consumed message is acked here",
                )];
                if let Some(via) = &publish_op.via {
                    labels.extend(via.labels(if matches!(id, IdEvidence::Absent) {
                        "publishes with no message id"
                    } else {
                        "publishes"
                    }));
                }
                if let Some(via) = &ack_op.via {
                    labels.push(via.label("acks the message"));
                }
                out.push(Finding {
                    rule: RULE,
                    region: publish.region,
                    message: format!("this message {message_text}: a crash before the ack publishes an undetectable duplicate"),
                    help: Some("derive the published message's id from the consumed message (or write it to an outbox in the same transaction)".into()),
                    labels,
                    confidence: confidence.min(publish_op.confidence).min(ack_op.confidence),
                });
            }
        }
    }
}

/// A call of a helper that publishes: the name called, and the helper's
/// publish it reaches.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct HelperCall {
    callee: String,
    path: Option<std::path::PathBuf>,
    line: usize,
    column: usize,
}

/// The name a call is made by, read from the start of its region
/// (`send_to_dlq` in `send_to_dlq(raw)`, `publisher::process_message`).
fn called_name(source: &str, call: &Event) -> String {
    let Some(line) = source.lines().nth(call.region.start.line.saturating_sub(1)) else {
        return String::new();
    };
    line.chars()
        .skip(call.region.start.column.saturating_sub(1))
        .take_while(|c| c.is_alphanumeric() || matches!(c, '_' | ':'))
        .collect()
}

/// Whether the publish happens while the acked message is being handled:
/// after the message was received (or it is a parameter of a handler), or,
/// when the ack names no message (a Kafka `commit`), in the same loop.
fn handling(flow: &FnFlow, publish: &Event, ack: &Event, message: &BTreeSet<String>) -> bool {
    if message.is_empty() {
        return !ack.loops.is_empty() && publish.loops.last() == ack.loops.last();
    }
    message
        .iter()
        .any(|name| flow.bound_before(name, publish.seq))
}

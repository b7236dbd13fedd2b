//! `ack-before-processing`: a message settled before the work it triggers.

use std::collections::BTreeSet;

use crate::analysis::apis::Op;
use crate::analysis::flow::{Event, EventKind, FnFlow};
use crate::analysis::{FileAnalysis, user_apis};
use crate::context::FileContext;
use crate::declare_rule;
use crate::finding::{Confidence, Finding, Label, Position};

declare_rule! {
    /// ## What it does
    /// Finds a consumed message that is acknowledged, committed, completed
    /// or deleted before the work it triggers runs: a publish, a database
    /// write, or a call that handles the message (or a value derived from
    /// it), later on the same path of the same task. Acking a message that
    /// is then discarded (the arm ends in `continue` or `return`) is not a
    /// finding, and neither is work handed to a spawned task. What is not
    /// work on the message: handling the ack's own result (`if let Err(e) =
    /// msg.ack().await { .. }`), the call that contains the ack
    /// (`runtime.block_on(async { .. })`, `timeout(.., msg.ack())`), a call
    /// on a block (`async { .. }.instrument(span)`: the block's calls count
    /// one by one), a call on the consumer, stream or subscription the
    /// message came from, and in-memory handoff that is not awaited (a
    /// waiter taken out of a map and sent the reply on a oneshot channel).
    ///
    /// A finding is `high` when the work is a recognised publish or
    /// database write; a call taken for work because it reads the message
    /// is `medium` when awaited (I/O) and `low` otherwise.
    ///
    /// ## Why is this bad?
    /// Once the broker has the ack, the message is gone. If the process
    /// crashes before the work is done (it will, at the worst possible
    /// time), nobody will ever do it: the message is lost. Ack after the
    /// work; the price is a possible redelivery, which idempotency handles.
    ///
    /// ## Example
    /// ```rust
    /// use futures_lite::StreamExt;
    /// use lapin::options::BasicAckOptions;
    ///
    /// async fn run(mut consumer: lapin::Consumer) -> anyhow::Result<()> {
    ///     while let Some(delivery) = consumer.next().await {
    ///         let delivery = delivery?;
    ///         delivery.ack(BasicAckOptions::default()).await?;
    ///         let order: Order = serde_json::from_slice(&delivery.data)?;
    ///         ship(order).await?;
    ///     }
    ///     Ok(())
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```rust
    /// use futures_lite::StreamExt;
    /// use lapin::options::BasicAckOptions;
    ///
    /// async fn run(mut consumer: lapin::Consumer) -> anyhow::Result<()> {
    ///     while let Some(delivery) = consumer.next().await {
    ///         let delivery = delivery?;
    ///         let order: Order = serde_json::from_slice(&delivery.data)?;
    ///         ship(order).await?;
    ///         delivery.ack(BasicAckOptions::default()).await?;
    ///     }
    ///     Ok(())
    /// }
    /// ```
    ///
    /// ## Known limitations
    /// The rule follows the message through `let` bindings and patterns in
    /// one function, and into the file's own helpers that settle a message
    /// they are given (`worker.delete(&message)` when this file's `delete`
    /// deletes it; a helper that settles a message only to drop it as it
    /// fails, `ack` then `return Err(..)`, hands nothing settled back);
    /// work done by a function that receives only an
    /// unrelated value is not seen unless it publishes or writes to a
    /// database in the same function. Calls in the fully qualified form
    /// (`AsyncCommands::xack(con, ..)`) are read like method calls for the
    /// broker and database traits the rule knows. An async closure handed
    /// to a call that is not awaited (`consumer.set_delegate(..)`) is a
    /// callback: its body is ordered on its own, like a spawned task.
    /// Work is what the message is handed to after the ack: a call given
    /// it (`handle(&msg)`), I/O on it, a publish or a database write. A
    /// call that only asks the message something or reshapes what was read
    /// from it in memory (`msg.occurred_at()`, `events.sort_by_key(..)`)
    /// is not. A function that settles a message and then returns it
    /// (`return Some(message)`) hands its caller a message already settled:
    /// the caller's work runs after the ack. A value computed from the
    /// message and returned is a result, not the message.
    /// Without types, `ack` on a value that is not a broker message is
    /// taken for one (lower confidence when the file uses no broker crate).
    /// A message handed after the ack to a channel that is not awaited (an
    /// unbounded channel to a worker task) is not seen, like work handed to
    /// a spawned task; neither is a synchronous `send` that does I/O (a
    /// blocking mail transport's `mailer.send(&email)`), which reads like a
    /// channel's.
    ///
    /// ## Chapter
    /// Chapter 3, "You did not read the configuration (ack, commit, complete)": `configuration/index.html`.
    pub static ACK_BEFORE_PROCESSING = {
        name: "ack-before-processing",
        summary: "a consumed message acked, committed or deleted before the work it triggers",
        chapter: "configuration/index.html",
        severity: Warning,
        check: check,
    }
}

const RULE: &str = "ack-before-processing";

/// Calls that read a message without acting on it: accessors, conversions,
/// parsing, logging and metrics.
const NOT_WORK: &[&str] = &[
    "clone",
    "to_string",
    "to_owned",
    "into",
    "as_ref",
    "as_str",
    "as_bytes",
    "as_slice",
    "borrow",
    "len",
    "is_empty",
    "unwrap",
    "unwrap_or",
    "unwrap_or_default",
    "unwrap_or_else",
    "expect",
    "ok",
    "err",
    "map_err",
    "context",
    "with_context",
    "payload",
    "payload_view",
    "data",
    "body",
    "key",
    "key_view",
    "topic",
    "partition",
    "offset",
    "headers",
    "properties",
    "delivery_tag",
    "message_id",
    "receipt_handle",
    "id",
    "info",
    "subject",
    "from_slice",
    "from_str",
    "from_reader",
    "from_value",
    "from_bytes",
    // Questions and comparisons: they read the message and change nothing.
    "any",
    "all",
    "eq",
    "ne",
    "eq_ignore_ascii_case",
    "starts_with",
    "ends_with",
    "contains",
    "find",
    "position",
    "count",
    "cmp",
    "partial_cmp",
    "from_utf8",
    "from_utf8_lossy",
    "deserialize",
    "decode",
    "parse",
    "try_into",
    "try_from",
    "get",
    "iter",
    "map",
    "collect",
    "to_vec",
    "ok_or",
    "ok_or_else",
    "Some",
    "Ok",
    "Err",
    "drop",
    "debug",
    "trace",
    "warn",
    "error",
    "inc",
    "incr",
    "increment",
    "observe",
    "record",
    "timestamp",
    "redelivered",
    "delivery_count",
    "body_json",
    "from_envelope",
    "body_text",
    "envelope",
    "value",
    "from",
    "new",
    "as_deref",
    "lock_token",
    "sequence_number",
    "attributes",
    "message",
    "message_attributes",
    "entry",
    "insert",
    "push",
    "contains_key",
    "extend",
    "now",
    "elapsed",
    "instant",
    "len_bytes",
    "and_then",
    "filter",
    "cloned",
    "copied",
    "next",
    // tracing's span combinators: a span is observability, like a log line.
    "instrument",
    "in_current_span",
    "with_current_subscriber",
    // Properties read off a delivery.
    "correlation_id",
    "reply_to",
    "routing_key",
    "exchange",
    "consumer_tag",
    // Deleting a Redis stream entry after XACK finishes settling it: it is
    // part of the settle, not work the message triggers.
    "xdel",
];

/// Calls that, when not awaited, hand a value over in memory or keep the
/// books: taking a waiter out of a map (`pending.remove(&id)`), a oneshot
/// or unbounded channel's `send`, a lock. They do no I/O, and what they
/// hand over dies with the process that holds the caller waiting for it:
/// an RPC client routing a reply to its caller after acking it does no
/// work on the message. Awaited, the same names may be I/O (a bounded
/// pipeline's `send(..).await` is the message's work).
const IN_MEMORY: &[&str] = &[
    "remove",
    "remove_entry",
    "take",
    "pop",
    "pop_front",
    "pop_back",
    "push_back",
    "push_front",
    "retain",
    "clear",
    "truncate",
    "drain",
    "dedup",
    "swap_remove",
    "send",
    "try_send",
    "unbounded_send",
    "send_replace",
    "lock",
    "notify_one",
    "notify_waiters",
];

/// Names in [`NOT_WORK`] that do work when their future is awaited: an
/// async `insert` or `append` writes to a store, a map's does not.
const AWAITED_WORK: &[&str] = &["insert", "push", "extend", "append", "record", "from"];

fn check(ctx: &FileContext<'_>, out: &mut Vec<Finding>) {
    let analysis = FileAnalysis::of(ctx, user_apis(ctx));
    for flow in &analysis.flows {
        for (ack, recognized) in flow.ops() {
            let Op::Ack { message } = &recognized.op else {
                continue;
            };
            if let Some((work, why)) = work_after(flow, ack, message, ctx.source) {
                out.push(Finding {
                    rule: RULE,
                    region: ack.region,
                    message: format!("the message is settled here, before its work runs ({}): a crash in between loses it", why.what),
                    help: Some("settle the message after the work is done (and make the work idempotent for redeliveries)".into()),
                    labels: helper_labels(recognized, work, Label::here(work.region, "the work it triggers runs here")),
                    confidence: recognized.confidence.min(why.confidence),
                });
            }
        }
    }
}

/// The acked names, plus what they were taken out of when that is itself
/// data from the broker rather than a client or a parameter:
/// `if let Handler::ExactlyOnce(h) = handler` after `let (message, handler)
/// = ..` acks `h`, the handler that came with `message`; `xack(.., &ids)`
/// with `ids` collected from a page `key` acks the page's entries. What a
/// message was received from (`consumer` in `consumer.next()`) is never
/// one of them: it is the consumer, not a message.
fn with_pair_parents(flow: &FnFlow, message: &BTreeSet<String>) -> BTreeSet<String> {
    let mut roots = message.clone();
    for event in &flow.events {
        let EventKind::Bind { names, from } = &event.kind else {
            continue;
        };
        if from.len() != 1 || !names.iter().any(|name| message.contains(name)) {
            continue;
        }
        let parent = from.iter().next().cloned().unwrap_or_default();
        if flow.sources.contains(&parent) {
            continue;
        }
        let received = flow.events.iter().any(|other| {
            matches!(&other.kind, EventKind::Bind { names, from }
                if names.contains(&parent) && (names.len() > 1 || !from.is_empty()))
        });
        if received {
            roots.insert(parent);
        }
    }
    roots
}

/// Why an event is the message's work, and how sure that is.
struct Why {
    what: String,
    confidence: Confidence,
}

/// The work that runs after `ack`, on its path: the surest, and the first
/// of those. A recognised publish or database write is as sure as its
/// recognition (and at least medium when it reads the message); an awaited
/// call that reads the message is I/O on it, but taken for work only
/// because it reads the message (medium); a plain call that reads it may
/// be a synchronous handler or a computation (low). A finding that rests
/// on a call is a name heuristic, never `high`.
fn work_after<'f>(
    flow: &'f FnFlow,
    ack: &Event,
    message: &BTreeSet<String>,
    source: &str,
) -> Option<(&'f Event, Why)> {
    let derived = message_values(flow, ack, message);
    let hands_over = hands_to_caller(flow, ack, &derived);
    let handler_end = ack_error_handler_end(ack, source);
    let mut best: Option<(&'f Event, Why)> = None;
    for event in flow.events.iter().filter(|event| {
        flow.runs_before(ack, event)
            && !contains(event, ack)
            // `match settle(&batch).await { Err(e) => requeue(..) }`: what
            // runs only when the settling call failed runs when nothing was
            // settled.
            && !flow.after_failure_of(ack, event)
            && !handler_end.is_some_and(|end| {
                let start = (event.region.start.line, event.region.start.column);
                (ack.region.end.line, ack.region.end.column) <= start
                    && start < (end.line, end.column)
            })
    }) {
        let Some(why) = as_work(event, &derived, message, hands_over) else {
            continue;
        };
        // The ack settles one item inside a loop over a batch, and this
        // publish or write comes after that loop without reading the item:
        // it is the batch's work (the items the loop kept), not the settled
        // item's.
        let outside_the_ack_loop = ack
            .loops
            .last()
            .is_some_and(|inner| !event.loops.contains(inner));
        if outside_the_ack_loop && !event.reads.iter().any(|name| derived.contains(name)) {
            continue;
        }
        if hands_over && why.confidence == Confidence::Low {
            // Getting the message ready for the caller, not its work.
            continue;
        }
        let surest = why.confidence == Confidence::High;
        if best
            .as_ref()
            .is_none_or(|(_, current)| why.confidence > current.confidence)
        {
            best = Some((event, why));
        }
        if surest {
            break;
        }
    }
    best
}

/// Whether the function receives the message itself and, after settling
/// it, hands it to its caller in a buffer the caller passed
/// (`buffer.push(message)`): a client library's receive in a
/// settle-on-receipt mode (Service Bus `ReceiveAndDelete`) works that way
/// by definition. What it calls on the message in between (a lock token
/// read, a conversion) prepares it for the caller; the work is the
/// caller's, and the mode is a configuration choice, not an ordering in
/// this function.
fn hands_to_caller(flow: &FnFlow, ack: &Event, derived: &BTreeSet<String>) -> bool {
    let received_here = flow
        .ops()
        .any(|(event, recognized)| matches!(recognized.op, Op::Consume) && event.seq < ack.seq);
    received_here
        && flow.events.iter().any(|event| {
            matches!(&event.kind, EventKind::Call { name, awaited: false, .. }
                if matches!(name.as_str(), "push" | "push_back" | "extend" | "append"))
                && flow.runs_before(ack, event)
                && event.reads.iter().any(|name| flow.params.contains(name))
                && event.reads.iter().any(|name| derived.contains(name))
        })
}

/// The variables that hold the settled message, or values derived from it.
/// Never a consumer, stream or subscription: a call that reads only where
/// messages come from (`consumer.tag()`, `subscription.close()`) does no
/// work on this one.
fn message_values(flow: &FnFlow, ack: &Event, message: &BTreeSet<String>) -> BTreeSet<String> {
    let settles_a_source =
        !message.is_empty() && message.iter().all(|name| flow.sources.contains(name));
    let mut derived = if message.is_empty() || settles_a_source {
        // A consumer-wide commit (`commit_consumer_state`, or an ack on
        // the consumer itself) settles whatever was read from the
        // consumer: follow what it handed out, not the consumer itself.
        let roots = if message.is_empty() {
            &ack.reads
        } else {
            message
        };
        let mut derived = flow.derived_along(roots, Some(ack));
        derived.retain(|name| !roots.contains(name));
        derived
    } else {
        flow.derived_along(&with_pair_parents(flow, message), Some(ack))
    };
    derived.retain(|name| !flow.sources.contains(name));
    derived
}

/// Combinators that handle a failed call's error.
const ERROR_HANDLERS: &[&str] = &[
    "map_err",
    "or",
    "or_else",
    "unwrap_or_else",
    "inspect_err",
    "with_context",
];

/// Where the handler of the ack's own failure ends, when one is chained
/// straight onto the ack (`msg.ack().await.map_err(|e| settle_error(msg.subject, e))`):
/// what runs in it runs only when the ack failed, to report that, and is
/// not work the settled message triggers. The position just after the
/// handler's closing parenthesis, read from the source text (the chain's
/// later calls are part of the ack's event, not events of their own).
fn ack_error_handler_end(ack: &Event, source: &str) -> Option<Position> {
    let mut lines = source.lines().skip(ack.region.end.line.checked_sub(1)?);
    let mut line_number = ack.region.end.line;
    let mut column = ack.region.end.column.checked_sub(1)?;
    let mut line: Vec<char> = lines.next()?.chars().collect();
    // The text up to the handler's opening parenthesis, and then the
    // nesting depth inside it.
    let mut head = String::new();
    let mut depth = 0usize;
    let mut in_string = false;
    loop {
        while column >= line.len() {
            line = lines.next()?.chars().collect();
            line_number += 1;
            column = 0;
            if line_number > ack.region.end.line + 40 {
                return None;
            }
        }
        let c = line[column];
        column += 1;
        if depth == 0 {
            if c.is_whitespace() {
                continue;
            }
            if c == '(' {
                let name = head
                    .strip_prefix(".await.")
                    .or_else(|| head.strip_prefix('.'))?;
                if !ERROR_HANDLERS.contains(&name) {
                    return None;
                }
                depth = 1;
                continue;
            }
            head.push(c);
            if head.len() > 24 {
                return None;
            }
            continue;
        }
        match c {
            '"' => in_string = !in_string,
            '\\' if in_string => column += 1,
            '(' if !in_string => depth += 1,
            ')' if !in_string => {
                depth -= 1;
                if depth == 0 {
                    return Some(Position {
                        line: line_number,
                        column: column + 1,
                    });
                }
            }
            _ => {}
        }
    }
}

/// Whether `outer`'s call contains `inner` (`timeout(.., msg.ack())`,
/// `runtime.block_on(async { .. ack .. })`): the call that contains the
/// ack is not after it, though it completes after it.
fn contains(outer: &Event, inner: &Event) -> bool {
    outer.region.start <= inner.region.start && inner.region.end <= outer.region.end
}

/// Whether `event` does the message's work, and how surely.
fn as_work(
    event: &Event,
    derived: &BTreeSet<String>,
    message: &BTreeSet<String>,
    hands_over: bool,
) -> Option<Why> {
    let reads_message = event.reads.iter().any(|name| derived.contains(name));
    match &event.kind {
        // `self.ack(&event).await; return Some(event)`: the settled
        // message itself goes back to the caller, whose work on it runs
        // after the ack (a value computed from it may be the work's result,
        // so only the message counts).
        EventKind::Return
            if !hands_over && event.reads.iter().any(|name| message.contains(name)) =>
        {
            Some(Why {
                what: "the caller's, on the message handed back to it".into(),
                confidence: Confidence::Medium,
            })
        }
        EventKind::Return => None,
        EventKind::Op(recognized) => {
            let what = match &recognized.op {
                Op::Publish(_) => "a publish",
                Op::DbWrite { .. } | Op::DbCommit | Op::DbTransaction => "a database write",
                _ => return None,
            };
            let confidence = if reads_message {
                recognized.confidence.max(Confidence::Medium)
            } else {
                recognized.confidence
            };
            Some(Why {
                what: what.into(),
                confidence,
            })
        }
        EventKind::Call {
            name,
            awaited,
            args,
        } => {
            if !reads_message || name.is_empty() {
                return None;
            }
            // `message.occurred_at()`, `events.sort_by_key(..)`,
            // `body.to_lowercase()`: a call that does no I/O and is not
            // handed the message only asks it something or reshapes it in
            // memory; work is done by what the message is handed to.
            if !*awaited && !args.iter().any(|name| derived.contains(name)) {
                return None;
            }
            // `map.insert(k, v)` is bookkeeping; `store.insert(row).await`
            // writes somewhere.
            let io = *awaited && AWAITED_WORK.contains(&name.as_str());
            if !io && (NOT_WORK.contains(&name.as_str()) || asks_about(name)) {
                return None;
            }
            // `delete_message(&msg)`, `remove_consumer_message(stream,
            // msg)` after the ack: taking the settled message out of its
            // store as well finishes settling it (like `xdel` after
            // `xack`); it is not work the message triggers.
            if removes_message(name) {
                return None;
            }
            // `ConsumerError::Decode(e.to_string())`, `Rejected(msg.id)`:
            // a call to a name in CamelCase builds an enum variant or a
            // tuple struct. It reads what it is given and does nothing with
            // it; an error path that drops the message and then reports
            // the error has no work left after its ack.
            if !*awaited && builds_value(name) {
                return None;
            }
            let confidence = if *awaited {
                Confidence::Medium
            } else if IN_MEMORY.contains(&name.as_str()) {
                return None;
            } else {
                Confidence::Low
            };
            Some(Why {
                what: format!("`{name}` on the message"),
                confidence,
            })
        }
        EventKind::Bind { .. } => None,
    }
}

/// Whether a call's name is a constructor's: an enum variant or a tuple
/// struct is named in CamelCase, a function in snake case.
fn builds_value(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_uppercase())
        && name.chars().any(|c| c.is_ascii_lowercase())
}

/// Whether a call's name says it deletes a message itself: `delete` or
/// `remove` with `message` or `msg` (`delete_consumer_message`), not
/// something the message names (`delete_order`).
fn removes_message(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    (name.contains("delete") || name.contains("remove"))
        && (name.contains("message") || name.contains("msg"))
}

/// A question asked of the message (`is_retryable`, `has_header`): it
/// reads the message and changes nothing, whatever it asks; awaited (an
/// `is_duplicate(..).await` that looks something up), it still does no
/// work on the message.
fn asks_about(name: &str) -> bool {
    ["is_", "has_"]
        .iter()
        .any(|prefix| name.len() > prefix.len() && name.starts_with(prefix))
}

/// The labels of a finding, with the helpers' places when the ack or the
/// work was done by a helper of the crate (the crate-wide pass).
fn helper_labels(
    ack: &crate::analysis::apis::Recognized,
    work: &Event,
    first: Label,
) -> Vec<Label> {
    let mut labels = vec![first];
    if let Some(via) = &ack.via {
        labels.push(via.label("settles the message"));
    }
    if let EventKind::Op(recognized) = &work.kind
        && let Some(via) = &recognized.via
    {
        labels.push(via.label("does the work"));
    }
    labels
}

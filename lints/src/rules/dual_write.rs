//! `dual-write`: a database commit and a broker publish in one function,
//! with no outbox between them.

use std::collections::BTreeSet;

use crate::analysis::apis::{Op, Recognized};
use crate::analysis::flow::{Event, EventKind, FnFlow};
use crate::analysis::{FileAnalysis, user_apis};
use crate::context::FileContext;
use crate::declare_rule;
use crate::finding::{Confidence, Finding, Label, Region};

declare_rule! {
    /// ## What it does
    /// Finds functions that both commit a database write (an explicit
    /// `commit()`, a closure transaction such as `conn.transaction(|tx| ..)`,
    /// or an auto-committed `execute`/`insert`) and publish to a broker,
    /// with no outbox in between. A function that writes to or reads from
    /// an outbox (a relay), one that reads a database's change feed (a CDC
    /// tailer: PostgreSQL's `pg_logical_slot_get_changes` or
    /// `START_REPLICATION`, a `changes_since`), and one that runs a Kafka
    /// producer transaction, are not reported. Neither is a publish that
    /// runs only when the write failed (`if let Err(e) = save(..) {
    /// requeue(..) }`), a publish in one registered callback and a write in
    /// another (`Arc::new(|msg| ..)` handlers, which never run one after the
    /// other), nor a publish of what a writing helper hands to its callback
    /// (`repo.process_next(|row| send(row))`: the helper orders the two).
    ///
    /// ## Why is this bad?
    /// The database and the broker share no transaction. A crash between
    /// the two (your app will crash at the worst possible time) leaves an
    /// order with no `OrderPlaced` event, or, publishing first, an event for
    /// an order that was rolled back. Write the event to an outbox table in
    /// the same transaction as the data, and let a relay publish it.
    ///
    /// ## Example
    /// ```rust
    /// use rdkafka::producer::{FutureProducer, FutureRecord};
    /// use sqlx::PgPool;
    /// use std::time::Duration;
    ///
    /// async fn place_order(pool: &PgPool, producer: &FutureProducer, id: &str) -> anyhow::Result<()> {
    ///     let mut tx = pool.begin().await?;
    ///     sqlx::query("INSERT INTO orders (id) VALUES ($1)").bind(id).execute(&mut *tx).await?;
    ///     tx.commit().await?;
    ///     producer
    ///         .send(FutureRecord::to("orders").key(id).payload(id), Duration::from_secs(5))
    ///         .await
    ///         .map_err(|(e, _)| e)?;
    ///     Ok(())
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```rust
    /// use sqlx::PgPool;
    ///
    /// async fn place_order(pool: &PgPool, id: &str, event: &str) -> anyhow::Result<()> {
    ///     let mut tx = pool.begin().await?;
    ///     sqlx::query("INSERT INTO orders (id) VALUES ($1)").bind(id).execute(&mut *tx).await?;
    ///     sqlx::query("INSERT INTO outbox (id, payload) VALUES ($1, $2)").bind(id).bind(event).execute(&mut *tx).await?;
    ///     tx.commit().await?;
    ///     // A relay reads the outbox and publishes.
    ///     Ok(())
    /// }
    /// ```
    ///
    /// ## Known limitations
    /// The rule looks at one function at a time, with the crate-wide pass's
    /// summaries of the functions it calls: a handler that calls
    /// `repo.save(..)` and `bus.publish(..)` is found (with medium
    /// confidence, from the names), and so are a commit followed by a
    /// helper of the crate that publishes, a publish through a producer kept
    /// in a struct field or application state whose type the crate declares
    /// (`ctx.kafka.send(..)` with `kafka: FutureProducer`), and a job pushed
    /// onto a Redis list kept in such a field. A publish made from a task
    /// spawned after the write (fire and forget, in the function or in a
    /// helper it calls) still follows the write and is reported; a task
    /// that publishes in a loop (a forwarder started after a write) is not
    /// that write's event. A publish of the row a write just created
    /// (`let m = repo::create(..)`, then `publish(m.id)`) is reported even
    /// when a later write takes that row along; only data that was stored
    /// before the publish makes it a relay. Each publish after a committed
    /// write (two jobs queued after one insert) is reported, and so is
    /// each publish sent from inside a transaction that commits after it;
    /// a publish before any write (a "started" notice, then the work
    /// stored) is reported once with the publish that follows the write.
    /// One helper that both writes
    /// and publishes is reported in its own body, not at its calls. A write
    /// inside a transaction whose commit happens in a caller is not
    /// reported.
    ///
    /// ## Chapter
    /// Chapter 5, "Dual writes: the outbox and CDC", from its section on two
    /// systems with no shared transaction:
    /// `dual-writes/index.html#two-systems-no-shared-transaction`.
    pub static DUAL_WRITE = {
        name: "dual-write",
        summary: "a database commit and a broker publish in one function with no outbox",
        chapter: "dual-writes/index.html#two-systems-no-shared-transaction",
        severity: Warning,
        check: check,
    }
}

const RULE: &str = "dual-write";

/// A recognised operation and the event it is.
type OpAt<'a> = (&'a Event, &'a Recognized);

fn check(ctx: &FileContext<'_>, out: &mut Vec<Finding>) {
    let analysis = FileAnalysis::of(ctx, user_apis(ctx));
    for flow in &analysis.flows {
        if flow.mentions_outbox || flow.has_kafka_transaction() {
            continue;
        }
        // A call to a helper that both writes and publishes is one event
        // with both operations: that dual write is the helper's, reported
        // in its own body, so neither its publish nor its write is one of
        // this function's.
        let mut writes_at = Vec::new();
        let mut publishes_at = Vec::new();
        let mut outbox = false;
        for (event, recognized) in flow.ops() {
            match recognized.op {
                Op::DbWrite { outbox: true, .. } => outbox = true,
                Op::DbWrite { .. } | Op::DbCommit | Op::DbTransaction => {
                    writes_at.push(event.region)
                }
                Op::Publish(_) => publishes_at.push(event.region),
                _ => {}
            }
        }
        if outbox {
            continue;
        }
        let writes: Vec<OpAt<'_>> = flow
            .ops()
            .filter(|(event, recognized)| {
                matches!(
                    recognized.op,
                    Op::DbWrite {
                        committed: true,
                        ..
                    } | Op::DbCommit
                        | Op::DbTransaction
                ) && !publishes_at.contains(&event.region)
            })
            .collect();
        // What this function read from storage, and what was made of it:
        // the same for every publish it makes.
        let stored = if flow.stored.is_empty() {
            BTreeSet::new()
        } else {
            flow.derived_from(&flow.stored)
        };
        let publishes: Vec<OpAt<'_>> = flow
            .ops()
            .filter(|(event, recognized)| {
                matches!(recognized.op, Op::Publish(_))
                    && !writes_at.contains(&event.region)
                    && !relays(flow, event, &publishes_at)
                    && !relays_stored(flow, &stored, event, &publishes_at, ctx.source)
            })
            .collect();
        // A write and a publish are a dual write only when one runs after
        // the other on the same path: in two arms of a `match` (one message
        // type is stored, another answered), or with the publish in an arm
        // that returns before the write (an early reply from a cache), they
        // never both happen, and nothing can be lost between them. The
        // usual shape, a commit and then a publish, is preferred for the
        // report; then the most certain pair; then the earliest publish.
        let mut pairs: Vec<(OpAt<'_>, OpAt<'_>, bool)> = Vec::new();
        for &(write_event, write_op) in &writes {
            for &(publish_event, publish_op) in &publishes {
                let write_first = flow.happens_before(write_event, publish_event);
                if !write_first && !flow.happens_before(publish_event, write_event) {
                    continue;
                }
                // The second runs only when the first failed (`if let Err(e)
                // = save(..) { requeue(..) }`): the first took no effect on
                // that path, so there is no pair of effects to fall apart.
                let (first, second) = if write_first {
                    (write_event, publish_event)
                } else {
                    (publish_event, write_event)
                };
                if flow.after_failure_of(first, second)
                    || handed_over(flow, write_event, write_op, publish_event)
                {
                    continue;
                }
                if write_op.confidence.min(publish_op.confidence) == Confidence::Low {
                    // Two guesses from names alone: not enough to report.
                    continue;
                }
                pairs.push((
                    (write_event, write_op),
                    (publish_event, publish_op),
                    write_first,
                ));
            }
        }
        pairs.sort_by_key(
            |((_, write_op), (publish_event, publish_op), write_first)| {
                std::cmp::Reverse((
                    *write_first,
                    write_op.confidence.min(publish_op.confidence),
                    std::cmp::Reverse(publish_event.seq),
                ))
            },
        );
        // One finding per publish. On a path already reported, another
        // publish is a dual write of its own only when what it announces is
        // already written: it follows a committed write (a second job
        // queued after the same insert: a crash before it loses that job
        // alone), or a write of a transaction that commits after it (an
        // event sent from inside the open transaction). A publish before
        // any write (a "started" notice, then the work stored and
        // committed) is reported once, with the first. So is one followed
        // by a commit of this function's own: a helper's write before it
        // most likely went into that transaction (the helper was handed
        // the transaction's client, which its summary cannot tell from a
        // pool), so the write is not known to be committed yet.
        let mut reported: Vec<&Event> = Vec::new();
        for ((write_event, write_op), (publish_event, publish_op), write_first) in pairs {
            if reported
                .iter()
                .any(|done| done.region == publish_event.region)
            {
                continue;
            }
            let same_path = reported.iter().any(|done| {
                flow.runs_before(done, publish_event) || flow.runs_before(publish_event, done)
            });
            let follows_committed = write_first && !commits_after(flow, publish_event);
            if same_path && !follows_committed && !written_uncommitted_before(flow, publish_event) {
                continue;
            }
            reported.push(publish_event);
            let what = match write_op.op {
                Op::DbCommit => "commits a database transaction",
                Op::DbTransaction => "runs a database transaction",
                _ => "writes to the database",
            };
            let confidence = write_op.confidence.min(publish_op.confidence);
            out.push(Finding {
                rule: RULE,
                region: publish_event.region,
                message: format!("`{}` {what} and publishes to a broker with no outbox: a crash between the two loses or invents an event", flow.name),
                help: Some("write the event to an outbox table in the same transaction, and publish it from a relay".into()),
                labels: [Label::here(write_event.region, "the database write commits here")]
                    .into_iter()
                    .chain(write_op.via.as_ref().map(|via| via.label("commits the database write")))
                    .chain(publish_op.via.as_ref().map(|via| via.label("publishes")))
                    .collect(),
                confidence,
            });
        }
    }
}

/// Whether this function commits a transaction after `publish`.
fn commits_after(flow: &FnFlow, publish: &Event) -> bool {
    flow.ops().any(|(event, recognized)| {
        matches!(recognized.op, Op::DbCommit) && flow.runs_before(publish, event)
    })
}

/// Whether a write of a transaction not yet committed runs before
/// `publish` (`insert(&mut tx, ..)`, then `send(..)`, then `tx.commit()`).
fn written_uncommitted_before(flow: &FnFlow, publish: &Event) -> bool {
    flow.ops().any(|(event, recognized)| {
        matches!(
            recognized.op,
            Op::DbWrite {
                committed: false,
                outbox: false
            }
        ) && flow.runs_before(event, publish)
    })
}

/// Whether `publish` sends what a helper of the crate that writes hands to
/// the callback it is given (`repo.get_for_process(|record| async move {
/// self.send(record).await })`): the helper owns both the data and the
/// write, and decides their order (an outbox relay fetches a row, hands it
/// over, then marks it sent), which its caller cannot see. The caller only
/// supplies the publish step, so the pair is not its dual write.
fn handed_over(flow: &FnFlow, write: &Event, write_op: &Recognized, publish: &Event) -> bool {
    let within =
        |outer: &Region, inner: &Region| outer.start <= inner.start && inner.end <= outer.end;
    write_op.via.is_some()
        && within(&write.region, &publish.region)
        && flow.closure_params.iter().any(|(closure, params)| {
            within(&write.region, closure)
                && within(closure, &publish.region)
                && flow
                    .derived_from(params)
                    .iter()
                    .any(|value| publish.reads.contains(value))
        })
}

/// Whether `publish` relays stored data: it sends a value read through a
/// database handle (or something taken out of that value), and a write
/// after it, through that same handle, takes that same value (`let page =
/// find_page(&tx); for e in &page.events { send(e) }; delete(&tx, &page)`).
/// The event was durable before the publish; the write only marks or
/// removes what was sent, so a crash in between sends it again (at least
/// once, as an outbox relay does) and loses or invents nothing, whatever
/// the table is called.
fn relays(flow: &FnFlow, publish: &Event, publishes_at: &[crate::finding::Region]) -> bool {
    let created = created_before(flow, publish);
    flow.ops().any(|(write, recognized)| {
        matches!(recognized.op, Op::DbWrite { .. })
            // A helper that writes and publishes is a dual write of its own.
            && !publishes_at.contains(&write.region)
            && flow.runs_before(publish, write)
            && write.reads.iter().any(|handle| {
                if publish.reads.contains(handle) {
                    return false;
                }
                let read_through = flow.derived_from(&BTreeSet::from([handle.clone()]));
                write.reads.iter().any(|value| {
                    value != handle
                        && read_through.contains(value)
                        && !created.contains(value)
                        && flow
                            .derived_from(&BTreeSet::from([value.clone()]))
                            .iter()
                            .any(|sent| publish.reads.contains(sent))
                })
            })
    })
}

/// What the committed writes that run before `publish` hand back (`let
/// meeting = repo::create(&db, NewMeeting { owner: user.id, .. })`: the
/// row just created), and what is made of it. Such a value is not stored
/// data a relay sends on: it came into being with the write, so a publish
/// of it after the write is the dual write itself, whatever a later write
/// (a mapping row that names the same user) takes along.
fn created_before(flow: &FnFlow, publish: &Event) -> BTreeSet<String> {
    let created: BTreeSet<String> = flow
        .events
        .windows(2)
        .filter_map(|pair| match (&pair[0].kind, &pair[1].kind) {
            (EventKind::Op(recognized), EventKind::Bind { names, .. })
                if matches!(
                    recognized.op,
                    Op::DbWrite {
                        committed: true,
                        outbox: false
                    } | Op::DbTransaction
                ) && flow.runs_before(&pair[0], publish) =>
            {
                Some(names.iter().cloned())
            }
            _ => None,
        })
        .flatten()
        .collect();
    if created.is_empty() {
        created
    } else {
        flow.derived_from(&created)
    }
}

/// Whether `publish` relays records this function read from storage
/// (`stored`: those values and what was made of them), and a
/// write after it deletes or marks what it sent (`let tasks =
/// self.get_outstanding_tasks().await?; for t in tasks { amqp.publish(t);
/// DELETE FROM tasks WHERE id = t.id }`): a table of scheduled jobs, stored
/// chunks replayed to a subject. As with an outbox relay, the records were
/// durable before the publish, so a crash in between sends one again and
/// loses nothing. The read is known by the name of the call it came from
/// (`list_`, `get_`, `fetch_`, ..), the deletion or mark by its text.
fn relays_stored(
    flow: &FnFlow,
    stored: &BTreeSet<String>,
    publish: &Event,
    publishes_at: &[crate::finding::Region],
    source: &str,
) -> bool {
    if !publish.reads.iter().any(|name| stored.contains(name)) {
        return false;
    }
    flow.ops().any(|(write, recognized)| {
        matches!(recognized.op, Op::DbWrite { .. })
            && !publishes_at.contains(&write.region)
            && flow.runs_before(publish, write)
            && write.reads.iter().any(|name| stored.contains(name))
            && removes_or_marks(&region_text(source, write.region))
    })
}

/// Words of a write that deletes what was sent or marks it sent.
fn removes_or_marks(text: &str) -> bool {
    let text = text.to_ascii_lowercase();
    [
        "delete",
        "remove",
        "published",
        "processed",
        "sent",
        "dispatched",
        "relayed",
        "delivered",
        "mark_",
        "ack",
    ]
    .iter()
    .any(|word| text.contains(word))
}

/// The source text of a write's statement: the region's lines, and the
/// lines before it back to the end of the previous statement (an
/// operation's region starts at its method, `.execute(..)`, while its SQL
/// is on the chain's first line).
fn region_text(source: &str, region: crate::finding::Region) -> String {
    let lines: Vec<&str> = source.lines().collect();
    let last = region.end.line.min(lines.len());
    let mut first = region.start.line.max(1).min(last.max(1));
    while first > 1 && region.start.line - first < 8 {
        let previous = lines[first - 2].trim_end();
        if previous.is_empty() || previous.ends_with([';', '{', '}']) {
            break;
        }
        first -= 1;
    }
    lines
        .get(first.saturating_sub(1)..last)
        .unwrap_or_default()
        .join("\n")
}

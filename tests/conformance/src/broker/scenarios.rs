//! The scenarios, written once over [`Engine`], and what the book claims
//! each engine does in each of them.
//!
//! A scenario drives an engine through one story (a consumer crashes after
//! the receive, a poison message is requeued until the limit…) and returns a
//! small outcome value. A [`Claim`] is the outcome the book states for one
//! engine, with the page that states it; where the book says nothing about an
//! engine, the claim says so and names the engine's own documentation
//! instead. [`verdict`] compares the two and, on a disagreement, prints the
//! scenario, the engine's trace, our broker's trace of the same scenario and
//! the page to fix (or the engine to report).

use std::fmt::Debug;
use std::time::Duration;

use tokio::time::Instant;

use super::trace::{Run, Trace};
use super::{AckMode, AfterLimit, Consumer, Engine, EngineError, EngineKind, QueueSpec, Settle};

/// When a message came back after its consumer stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timing {
    /// Well before the engine's lock timeout: the engine reacted to the
    /// closed connection (or to the consumer coming back).
    AtOnce,
    /// Once the lock, `consumer_timeout`, `AckWait` or idle time had run out.
    AfterTimeout,
    /// Not within three times the timeout.
    Never,
}

/// Whether a message was delivered again, with what count, and when.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Redelivery {
    /// The second consumer got the message.
    pub redelivered: bool,
    /// The delivery count it carried, where the engine has one.
    pub delivery_count: Option<u32>,
    /// How long after the first consumer stopped.
    pub timing: Timing,
}

/// How often a message that always fails was delivered, and where it ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitReached {
    /// Deliveries before the engine stopped handing it out (or the
    /// scenario's cap, `limit + 2`, for an engine without a limit).
    pub deliveries: u32,
    /// What became of it.
    pub after: AfterLimit,
}

/// Whether a message rejected without requeue came back, and where it
/// ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejected {
    /// It was delivered again.
    pub redelivered: bool,
    /// What became of it.
    pub after: AfterLimit,
}

/// How many copies of a message sent twice with one id were delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Duplicates {
    /// Deliveries of the id.
    pub delivered: u32,
}

/// Where a claim comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The book states it, on this page.
    Book {
        /// The page (and anchor) under `book/src/`.
        page: &'static str,
        /// What the page says, in short.
        says: &'static str,
    },
    /// The book makes no claim about this engine here; the expectation is the
    /// engine's own documented behaviour, recorded so that a change shows.
    NotInBook {
        /// Where the engine documents it.
        documented_by: &'static str,
        /// What it documents, in short.
        says: &'static str,
    },
}

/// What one engine is expected to do in one scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim<O> {
    /// The outcome.
    pub expected: O,
    /// Who says so.
    pub source: Source,
}

fn book<O>(expected: O, page: &'static str, says: &'static str) -> Claim<O> {
    Claim {
        expected,
        source: Source::Book { page, says },
    }
}

fn not_in_book<O>(expected: O, documented_by: &'static str, says: &'static str) -> Claim<O> {
    Claim {
        expected,
        source: Source::NotInBook {
            documented_by,
            says,
        },
    }
}

const ONE_CRASH_MODEL: &str = "broker-reference/index.md#where-the-workshop-broker-simplifies";
const LOCKS: &str = "broker-reference/index.md#locks-and-visibility-timeouts";
const MAX_DELIVERIES: &str = "broker-reference/index.md#maximum-deliveries";
const DEAD_LETTERING: &str = "broker-reference/index.md#dead-lettering";
const DUPLICATES: &str = "broker-reference/index.md#duplicate-detection";
const RECEIVE_MODES: &str = "broker-reference/index.md#receive-modes-and-their-defaults";
const RUST_CLIENTS: &str = "broker-reference/index.md#rust-clients-at-a-glance";

/// Runs a scenario on a real engine and judges the run with [`verdict`],
/// rerunning the same scenario on our broker (on virtual time) for the
/// trace a disagreement prints. Each engine's test file calls it once per
/// scenario: `scenario` is the scenario function, `args` its arguments
/// after the engine.
#[macro_export]
macro_rules! run_and_judge {
    ($engine:expr, $name:literal, $claim:expr, $scenario:path $(, $arg:expr)* $(,)?) => {{
        let run = $scenario($engine, $($arg),*)
            .await
            .expect("the scenario runs");
        $crate::broker::scenarios::verdict($name, &run, &$claim, || {
            $crate::broker::workshop::on_virtual_time(|broker| $scenario(broker, $($arg),*))
                .expect("the scenario runs on our broker")
        });
    }};
}

/// Compares a run with its claim; on a disagreement, panics with the
/// scenario, both traces and the page that relies on the point. `ours` runs
/// the same scenario on our broker (only when needed).
///
/// # Panics
///
/// When the outcome differs from the claim.
pub fn verdict<O: PartialEq + Debug>(
    scenario: &str,
    run: &Run<O>,
    claim: &Claim<O>,
    ours: impl FnOnce() -> Run<O>,
) {
    if run.outcome == claim.expected {
        println!(
            "conformance: {scenario} on {}: {:?}, as claimed",
            run.trace.engine(),
            run.outcome
        );
        // For the record (the README's table), the trace of a passing run.
        if std::env::var_os("CONFORMANCE_TRACES").is_some() {
            println!("{}", run.trace);
        }
        return;
    }
    let ours = ours();
    let (who, fix) = match claim.source {
        Source::Book { page, says } => (
            format!("the book (book/src/{page}) says: {says}"),
            "fix the book (or our broker, if it models this engine), or explain the version difference",
        ),
        Source::NotInBook {
            documented_by,
            says,
        } => (
            format!("the book says nothing here; {documented_by} says: {says}"),
            "the engine no longer does what its documentation says: recheck the claim",
        ),
    };
    panic!(
        "conformance: DISAGREEMENT in scenario `{scenario}` on {}\n\
         expected {:?}\n\
         observed {:?}\n\
         {who}\n\
         {fix}.\n\
         The engine's trace:\n{}\
         Our broker's trace of the same scenario ({:?}):\n{}",
        run.trace.engine(),
        claim.expected,
        run.outcome,
        run.trace,
        ours.outcome,
        ours.trace,
    );
}

fn unexpected(engine: &impl Engine, what: impl Into<String>) -> EngineError {
    EngineError::Unexpected {
        engine: match engine.kind() {
            EngineKind::Workshop => "workshop broker",
            EngineKind::RabbitMq => "RabbitMQ",
            EngineKind::Nats => "NATS JetStream",
            EngineKind::Redis => "Redis Streams",
            EngineKind::Mqtt => "Mosquitto",
        },
        what: what.into(),
    }
}

/// How long to wait for a redelivery that a timer may have to release:
/// three times the timer, or the quiet period where there is no timer.
fn patience(engine: &impl Engine) -> Duration {
    engine
        .lock_timeout()
        .map_or(engine.quiet_period(), |timeout| timeout * 3)
        + engine.quiet_period()
}

fn timing(engine: &impl Engine, waited: Option<Duration>) -> Timing {
    match (waited, engine.lock_timeout()) {
        (None, _) => Timing::Never,
        (Some(_), None) => Timing::AtOnce,
        (Some(waited), Some(timeout)) if waited < timeout / 2 => Timing::AtOnce,
        (Some(_), Some(_)) => Timing::AfterTimeout,
    }
}

/// Publishes `id` and has a first consumer receive it, checking it came.
async fn first_delivery<E: Engine>(
    engine: &mut E,
    trace: &mut Trace,
    queue: &str,
    id: &str,
    mode: AckMode,
) -> Result<
    (
        E::Consumer,
        super::Received<<E::Consumer as Consumer>::Handle>,
    ),
    EngineError,
> {
    engine.publish(queue, id, b"{\"order\":42}").await?;
    trace.step(format!("publish {id} to {queue}"));
    let mut first = engine.consumer(queue, mode).await?;
    trace.step(format!("consumer A subscribes ({mode:?} ack)"));
    let Some(received) = first.receive(patience(engine)).await? else {
        return Err(unexpected(engine, format!("{id} was never delivered")));
    };
    trace.step(format!(
        "A receives {} (delivery count {:?}, redelivered {:?})",
        received.message_id, received.delivery_count, received.redelivered
    ));
    Ok((first, received))
}

/// Receives on `consumer` until `id` comes (settling anything else), and
/// records when; `None` if it does not come within `patience`.
async fn await_redelivery<C: Consumer>(
    consumer: &mut C,
    trace: &mut Trace,
    id: &str,
    since: Instant,
    within: Duration,
) -> Result<Option<(Duration, super::Received<C::Handle>)>, EngineError> {
    let deadline = since + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Some(received) = consumer.receive(left).await? else {
            trace.step(format!("B: nothing within {within:?}"));
            return Ok(None);
        };
        let waited = since.elapsed();
        trace.step(format!(
            "B receives {} (delivery count {:?}, redelivered {:?}) {waited:?} after A stopped",
            received.message_id, received.delivery_count, received.redelivered
        ));
        if received.message_id == id {
            return Ok(Some((waited, received)));
        }
        consumer.settle(received, Settle::Ack).await?;
    }
}

/// **A crash after the receive and before the ack gives a redelivery, with
/// its delivery count.** Consumer A receives and dies (its connection cut,
/// no settlement); consumer B then receives the message again.
///
/// # Errors
///
/// When the engine fails an operation, or never delivers the message once.
pub async fn crash_before_ack<E: Engine>(
    mut engine: E,
    queue: &str,
) -> Result<Run<Redelivery>, EngineError> {
    let mut trace = Trace::new(engine.version());
    engine.declare(&QueueSpec::named(queue)).await?;
    let id = format!("{queue}-1");
    let (first, _held) =
        first_delivery(&mut engine, &mut trace, queue, &id, AckMode::Manual).await?;
    first.crash().await;
    let crashed = Instant::now();
    trace.step("A crashes before its ack (connection cut)");
    let mut second = engine.consumer(queue, AckMode::Manual).await?;
    trace.step("consumer B subscribes");
    let found = await_redelivery(&mut second, &mut trace, &id, crashed, patience(&engine)).await?;
    let outcome = match found {
        Some((waited, received)) => {
            let outcome = Redelivery {
                redelivered: true,
                delivery_count: received.delivery_count,
                timing: timing(&engine, Some(waited)),
            };
            second.settle(received, Settle::Ack).await?;
            trace.step("B acks");
            outcome
        }
        None => Redelivery {
            redelivered: false,
            delivery_count: None,
            timing: Timing::Never,
        },
    };
    second.crash().await;
    Ok(Run { outcome, trace })
}

/// What the book claims for [`crash_before_ack`].
pub fn crash_before_ack_claim(kind: EngineKind) -> Claim<Redelivery> {
    let redelivery = |delivery_count, timing| Redelivery {
        redelivered: true,
        delivery_count,
        timing,
    };
    match kind {
        EngineKind::Workshop => book(
            redelivery(Some(2), Timing::AfterTimeout),
            ONE_CRASH_MODEL,
            "a crashed service's locks are released when they expire, as Service Bus does; the delivery count grows when a lock expires",
        ),
        EngineKind::RabbitMq => book(
            redelivery(Some(2), Timing::AtOnce),
            ONE_CRASH_MODEL,
            "RabbitMQ requeues a channel's unacknowledged deliveries as soon as the channel or connection closes; a consumer crash raises the delivery count",
        ),
        EngineKind::Nats => book(
            redelivery(Some(2), Timing::AfterTimeout),
            ONE_CRASH_MODEL,
            "NATS JetStream never ties a delivery to a connection and always waits for AckWait",
        ),
        EngineKind::Redis => not_in_book(
            redelivery(Some(2), Timing::AfterTimeout),
            "redis.io XAUTOCLAIM and XPENDING",
            "an entry stays in the pending list, whatever happens to the consumer's connection, until another consumer claims it after its min idle time; each claim counts one more delivery",
        ),
        EngineKind::Mqtt => not_in_book(
            redelivery(None, Timing::AtOnce),
            "MQTT 3.1.1, section 4.4 (message delivery retry)",
            "a client that reconnects with CleanSession 0 gets its unacknowledged QoS 1 messages again, flagged DUP; MQTT has no delivery count",
        ),
    }
}

/// **A consumer hanging until its lock expires.** Consumer A receives and
/// keeps its connection, but never settles; consumer B gets the message once
/// the engine's timer runs out. Together with [`crash_before_ack`], the
/// difference the book draws between dying at once and hanging.
///
/// # Errors
///
/// When the engine fails an operation, or never delivers the message once.
pub async fn hang_until_timeout<E: Engine>(
    mut engine: E,
    queue: &str,
) -> Result<Run<Redelivery>, EngineError> {
    let mut trace = Trace::new(engine.version());
    engine.declare(&QueueSpec::named(queue)).await?;
    let id = format!("{queue}-1");
    let (hung, _held) =
        first_delivery(&mut engine, &mut trace, queue, &id, AckMode::Manual).await?;
    let since = Instant::now();
    trace.step("A hangs: connection open, no ack");
    let mut second = engine.consumer(queue, AckMode::Manual).await?;
    trace.step("consumer B subscribes");
    let found = await_redelivery(&mut second, &mut trace, &id, since, patience(&engine)).await?;
    let outcome = match found {
        Some((waited, received)) => {
            let outcome = Redelivery {
                redelivered: true,
                delivery_count: received.delivery_count,
                timing: timing(&engine, Some(waited)),
            };
            second.settle(received, Settle::Ack).await?;
            trace.step("B acks");
            outcome
        }
        None => Redelivery {
            redelivered: false,
            delivery_count: None,
            timing: Timing::Never,
        },
    };
    second.crash().await;
    hung.crash().await;
    Ok(Run { outcome, trace })
}

/// What the book claims for [`hang_until_timeout`]. MQTT has no such timer:
/// there, consumer B of the same session takes the session over, which is
/// what the claim pins.
pub fn hang_until_timeout_claim(kind: EngineKind) -> Claim<Redelivery> {
    let after_timeout = Redelivery {
        redelivered: true,
        delivery_count: Some(2),
        timing: Timing::AfterTimeout,
    };
    match kind {
        EngineKind::Workshop => book(
            after_timeout,
            LOCKS,
            "an unsettled message becomes visible again when its lock expires, with its delivery count one higher",
        ),
        EngineKind::RabbitMq => book(
            after_timeout,
            LOCKS,
            "up to 4.2, a delivery left unacknowledged past consumer_timeout closes its channel, which requeues it; before 4.3 every return counts towards the delivery limit",
        ),
        EngineKind::Nats => book(
            after_timeout,
            LOCKS,
            "an unacknowledged message is redelivered after AckWait",
        ),
        EngineKind::Redis => not_in_book(
            after_timeout,
            "redis.io XAUTOCLAIM",
            "a pending entry idle for longer than min-idle-time is claimed by the consumer that asks, and its delivery counter goes up",
        ),
        EngineKind::Mqtt => not_in_book(
            Redelivery {
                redelivered: true,
                delivery_count: None,
                timing: Timing::AtOnce,
            },
            "MQTT 3.1.1, sections 3.1.4 and 4.4",
            "no timer takes a message back from a live client; a second client connecting with the session's id takes the session over: the broker drops the hung client and resends its unacknowledged QoS 1 messages to the newcomer at once",
        ),
    }
}

/// **The delivery limit ends in a dead letter.** A message that always
/// fails is given back (abandon, nack with requeue, `-NAK`) on every
/// delivery; the scenario counts the deliveries and asks where it ended.
///
/// # Errors
///
/// When the engine fails an operation, or never delivers the message once.
pub async fn delivery_limit<E: Engine>(
    mut engine: E,
    queue: &str,
    limit: u32,
) -> Result<Run<LimitReached>, EngineError> {
    let mut trace = Trace::new(engine.version());
    engine
        .declare(&QueueSpec::named(queue).with_delivery_limit(limit))
        .await?;
    let id = format!("{queue}-1");
    let (mut consumer, received) =
        first_delivery(&mut engine, &mut trace, queue, &id, AckMode::Manual).await?;
    let mut deliveries = 1;
    consumer.settle(received, Settle::Requeue).await?;
    trace.step("A gives it back (fails processing)");
    // An engine without a limit would go on for ever: stop at limit + 2.
    while deliveries < limit + 2 {
        let Some(received) = consumer.receive(patience(&engine)).await? else {
            trace.step(format!("no more deliveries within {:?}", patience(&engine)));
            break;
        };
        deliveries += 1;
        trace.step(format!(
            "A receives {} again (delivery count {:?}, redelivered {:?})",
            received.message_id, received.delivery_count, received.redelivered
        ));
        consumer.settle(received, Settle::Requeue).await?;
        trace.step("A gives it back (fails processing)");
    }
    let after = engine.after_limit(queue, &id).await?;
    trace.step(format!("after the last delivery: {after:?}"));
    consumer.crash().await;
    Ok(Run {
        outcome: LimitReached { deliveries, after },
        trace,
    })
}

/// What the book claims for [`delivery_limit`] with a limit of `limit`;
/// `None` where the scenario cannot run (MQTT has no negative
/// acknowledgement to give a message back with).
pub fn delivery_limit_claim(kind: EngineKind, limit: u32) -> Option<Claim<LimitReached>> {
    let claim = match kind {
        EngineKind::Workshop => book(
            LimitReached {
                deliveries: limit,
                after: AfterLimit::DeadLettered {
                    reason: "MaxDeliveryCountExceeded".to_owned(),
                },
            },
            MAX_DELIVERIES,
            "after max delivery count deliveries the message is dead-lettered with reason MaxDeliveryCountExceeded",
        ),
        EngineKind::RabbitMq => book(
            LimitReached {
                deliveries: limit + 1,
                after: AfterLimit::DeadLettered {
                    reason: "delivery_limit".to_owned(),
                },
            },
            MAX_DELIVERIES,
            "the limit counts returns, not deliveries: a quorum queue hands a failing message out once more than its delivery-limit, then dead-letters it (the dead-lettering table names the reason delivery_limit)",
        ),
        EngineKind::Nats => book(
            LimitReached {
                deliveries: limit,
                after: AfterLimit::KeptInStream {
                    advisory: Some("MAX_DELIVERIES".to_owned()),
                },
            },
            DEAD_LETTERING,
            "after MaxDeliver deliveries the message stays in the stream; JetStream has no dead-letter queue (it publishes a MAX_DELIVERIES advisory)",
        ),
        EngineKind::Redis => not_in_book(
            LimitReached {
                deliveries: limit + 2,
                after: AfterLimit::StillPending,
            },
            "redis.io XPENDING",
            "a consumer group has no delivery limit: the pending entry's counter grows for ever, and moving it aside (XACK plus XADD to another stream) is the application's job",
        ),
        EngineKind::Mqtt => return None,
    };
    Some(claim)
}

/// **A negative settlement without requeue.** Consumer A rejects the
/// message as one that will never work (dead-letter, `basic.reject` with
/// `requeue=false`, `+TERM`); the scenario checks that it does not come
/// back and asks where it went.
///
/// # Errors
///
/// When the engine fails an operation, or never delivers the message once.
pub async fn reject_without_requeue<E: Engine>(
    mut engine: E,
    queue: &str,
) -> Result<Run<Rejected>, EngineError> {
    let mut trace = Trace::new(engine.version());
    engine.declare(&QueueSpec::named(queue)).await?;
    let id = format!("{queue}-1");
    let (mut consumer, received) =
        first_delivery(&mut engine, &mut trace, queue, &id, AckMode::Manual).await?;
    consumer.settle(received, Settle::Reject).await?;
    trace.step("A rejects it (will never work)");
    let again = consumer.receive(patience(&engine)).await?;
    let redelivered = again.is_some();
    match again {
        Some(again) => {
            trace.step(format!("A receives {} again", again.message_id));
            consumer.settle(again, Settle::Ack).await?;
        }
        None => trace.step(format!("nothing within {:?}", patience(&engine))),
    }
    let after = engine.after_limit(queue, &id).await?;
    trace.step(format!("after the rejection: {after:?}"));
    consumer.crash().await;
    Ok(Run {
        outcome: Rejected { redelivered, after },
        trace,
    })
}

/// What the book claims for [`reject_without_requeue`]; `None` where the
/// engine has no such settlement (Redis Streams, MQTT).
pub fn reject_without_requeue_claim(kind: EngineKind) -> Option<Claim<Rejected>> {
    let dead_lettered = |reason: &str| Rejected {
        redelivered: false,
        after: AfterLimit::DeadLettered {
            reason: reason.to_owned(),
        },
    };
    let claim = match kind {
        EngineKind::Workshop => book(
            dead_lettered(super::workshop::REJECTED),
            DEAD_LETTERING,
            "dead_letter moves the message to <queue>/$deadletterqueue with the reason and description the consumer gives",
        ),
        EngineKind::RabbitMq => book(
            dead_lettered("rejected"),
            DEAD_LETTERING,
            "basic.reject or basic.nack with requeue=false routes the message to the dead-letter exchange, with x-death reason rejected",
        ),
        EngineKind::Nats => book(
            Rejected {
                redelivered: false,
                after: AfterLimit::KeptInStream {
                    advisory: Some("MSG_TERMINATED".to_owned()),
                },
            },
            DEAD_LETTERING,
            "+TERM stops redelivery; the message stays in the stream (JetStream has no dead-letter queue; the server publishes a MSG_TERMINATED advisory)",
        ),
        EngineKind::Redis | EngineKind::Mqtt => return None,
    };
    Some(claim)
}

/// **A duplicate id inside the window is dropped.** The producer sends one
/// message id twice, as a retry after a lost confirmation does; the scenario
/// counts the deliveries.
///
/// # Errors
///
/// When the engine fails an operation.
pub async fn duplicate_id<E: Engine>(
    mut engine: E,
    queue: &str,
) -> Result<Run<Duplicates>, EngineError> {
    let mut trace = Trace::new(engine.version());
    engine
        .declare(&QueueSpec::named(queue).with_duplicate_detection())
        .await?;
    let id = format!("{queue}-1");
    for attempt in 1..=2 {
        engine.publish(queue, &id, b"{\"order\":42}").await?;
        trace.step(format!("publish {id} (attempt {attempt})"));
    }
    let mut consumer = engine.consumer(queue, AckMode::Manual).await?;
    let mut delivered = 0;
    while let Some(received) = consumer.receive(engine.quiet_period()).await? {
        trace.step(format!("receive {}", received.message_id));
        if received.message_id == id {
            delivered += 1;
        }
        consumer.settle(received, Settle::Ack).await?;
    }
    trace.step(format!("nothing more within {:?}", engine.quiet_period()));
    consumer.crash().await;
    Ok(Run {
        outcome: Duplicates { delivered },
        trace,
    })
}

/// What the book claims for [`duplicate_id`].
pub fn duplicate_id_claim(kind: EngineKind) -> Claim<Duplicates> {
    let once = Duplicates { delivered: 1 };
    let twice = Duplicates { delivered: 2 };
    match kind {
        EngineKind::Workshop => book(
            once,
            DUPLICATES,
            "with duplicate detection on, a repeated message id within the window (10 min by default) is dropped",
        ),
        EngineKind::RabbitMq => book(
            twice,
            DUPLICATES,
            "message_id is metadata only; classic and quorum queues do not deduplicate",
        ),
        EngineKind::Nats => book(
            once,
            DUPLICATES,
            "the Nats-Msg-Id header is tracked for the DuplicateWindow (2 min by default)",
        ),
        EngineKind::Redis => not_in_book(
            twice,
            "redis.io XADD (Redis 7.0)",
            "XADD has no idempotency key before the IDMP option of later Redis versions: every XADD appends an entry",
        ),
        EngineKind::Mqtt => not_in_book(
            twice,
            "MQTT 3.1.1",
            "an application message has no id of its own (the packet id is per connection): a publish sent twice is delivered twice",
        ),
    }
}

/// **Auto-ack plus a crash loses the message.** Consumer A receives in the
/// settle-on-delivery mode and dies before its work is done; consumer B, in
/// the safe mode, waits for a redelivery that should never come.
///
/// # Errors
///
/// When the engine fails an operation, or never delivers the message once.
pub async fn auto_ack_crash<E: Engine>(
    mut engine: E,
    queue: &str,
) -> Result<Run<Redelivery>, EngineError> {
    let mut trace = Trace::new(engine.version());
    engine.declare(&QueueSpec::named(queue)).await?;
    let id = format!("{queue}-1");
    let (first, _held) = first_delivery(&mut engine, &mut trace, queue, &id, AckMode::Auto).await?;
    first.crash().await;
    let crashed = Instant::now();
    trace.step("A crashes before its work is done (connection cut)");
    let mut second = engine.consumer(queue, AckMode::Manual).await?;
    trace.step("consumer B subscribes");
    let found = await_redelivery(&mut second, &mut trace, &id, crashed, patience(&engine)).await?;
    let outcome = match found {
        Some((waited, received)) => {
            let outcome = Redelivery {
                redelivered: true,
                delivery_count: received.delivery_count,
                timing: timing(&engine, Some(waited)),
            };
            second.settle(received, Settle::Ack).await?;
            outcome
        }
        None => Redelivery {
            redelivered: false,
            delivery_count: None,
            timing: Timing::Never,
        },
    };
    second.crash().await;
    Ok(Run { outcome, trace })
}

/// What the book claims for [`auto_ack_crash`]: lost, everywhere.
pub fn auto_ack_crash_claim(kind: EngineKind) -> Claim<Redelivery> {
    let lost = Redelivery {
        redelivered: false,
        delivery_count: None,
        timing: Timing::Never,
    };
    match kind {
        EngineKind::Workshop => book(
            lost,
            RECEIVE_MODES,
            "receive-and-delete settles on delivery: a crash before the work is done loses the message",
        ),
        EngineKind::RabbitMq => book(
            lost,
            RECEIVE_MODES,
            "in automatic acknowledgement mode (no-ack) a message counts as delivered as soon as it is sent",
        ),
        EngineKind::Nats => book(lost, RECEIVE_MODES, "AckNone settles on delivery"),
        EngineKind::Redis => book(
            lost,
            RUST_CLIENTS,
            "noack() on the read options settles on delivery (no pending-list entry)",
        ),
        EngineKind::Mqtt => book(
            lost,
            RUST_CLIENTS,
            "rumqttc acks on receipt unless manual acks are switched on: the message is acknowledged before your code sees it",
        ),
    }
}

//! The exercises real mode can run, and how it judges what a run left.
//!
//! The simulator's checks read a run's trace and the broker as the run left
//! it. Real mode has neither: it has the lines the consumer printed, what the
//! engine holds at the end, and the downstream call log. Each check here
//! asks the same question as the rubric's check of the same name, of that
//! evidence, and says so where the engine makes the question different.
//! The scenario's data (queue names, the input messages, the message types)
//! come from the exercise crates themselves.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use sim::{
    DEFAULT_DUPLICATE_DETECTION_WINDOW, DEFAULT_LOCK_DURATION, DEFAULT_MAX_DELIVERY_COUNT,
    Envelope, Message,
};

use crate::real::config::{DownstreamSpec, EngineKind, QueueSpec};
use crate::real::ctx::LoggedCall;
use crate::real::protocol::Line;

/// One event of a run, as the harness saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// The consumer's time since the run began.
    pub at: Duration,
    /// Which life of the consumer (1 for the first process, 2 after the
    /// first restart, …).
    pub life: u32,
    /// What happened.
    pub what: What,
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum What {
    /// A protocol line of the consumer.
    Line(Line),
    /// Something else the consumer printed.
    Printed(String),
    /// The harness killed the process (`SIGKILL`).
    Killed,
    /// The process ended by itself: its exit status.
    Exited(String),
    /// The harness started the process.
    Started,
}

/// What a run left: the evidence the checks read.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// The engine.
    pub engine: Option<EngineKind>,
    /// Every event, in order.
    pub events: Vec<Event>,
    /// What each output queue holds at the end.
    pub outputs: BTreeMap<String, Vec<Envelope>>,
    /// Messages of the input queue still waiting to be settled.
    pub left_in_input: u64,
    /// Messages the engine dead-lettered from the input queue.
    pub dead_letters: Vec<Envelope>,
    /// The downstream call log.
    pub calls: Vec<LoggedCall>,
}

/// One operation of one life, with its outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operation {
    /// The life.
    pub life: u32,
    /// Its number in the life.
    pub op: u64,
    /// When it began.
    pub at: Duration,
    /// `receive`, `send`, `complete`, …
    pub operation: String,
    /// The queue or system.
    pub target: String,
    /// The message concerned (for a receive: the one received).
    pub id: Option<String>,
    /// `Some(Ok(detail))`, `Some(Err(error))`, or `None` when the life ended
    /// first.
    pub outcome: Option<Result<String, String>>,
}

impl Outcome {
    /// The operations of the run, with their outcomes.
    pub fn operations(&self) -> Vec<Operation> {
        let mut operations: Vec<Operation> = Vec::new();
        for event in &self.events {
            let What::Line(line) = &event.what else {
                continue;
            };
            match line {
                Line::Op {
                    op,
                    operation,
                    target,
                    id,
                } => operations.push(Operation {
                    life: event.life,
                    op: *op,
                    at: event.at,
                    operation: operation.clone(),
                    target: target.clone(),
                    id: id.clone(),
                    outcome: None,
                }),
                Line::Ok { op, detail } | Line::Failed { op, error: detail } => {
                    let ok = matches!(line, Line::Ok { .. });
                    if let Some(operation) = operations
                        .iter_mut()
                        .rev()
                        .find(|o| o.life == event.life && o.op == *op)
                    {
                        if ok && operation.operation == "receive" && operation.id.is_none() {
                            operation.id = detail
                                .split_whitespace()
                                .next()
                                .filter(|id| *id != "nothing")
                                .map(str::to_owned);
                        }
                        operation.outcome = Some(if ok {
                            Ok(detail.clone())
                        } else {
                            Err(detail.clone())
                        });
                    }
                }
                _ => {}
            }
        }
        operations
    }

    /// The ids the consumer settled away with a successful operation of
    /// `kind` on `queue`.
    fn succeeded(&self, kind: &str, queue: &str) -> BTreeSet<String> {
        self.operations()
            .into_iter()
            .filter(|o| o.operation == kind && o.target == queue)
            .filter(|o| matches!(o.outcome, Some(Ok(_))))
            .filter_map(|o| o.id)
            .collect()
    }

    /// Ids received in receive-and-delete mode: settled as they arrived.
    fn taken_on_receipt(&self, queue: &str) -> BTreeSet<String> {
        self.operations()
            .into_iter()
            .filter(|o| o.operation == "receive" && o.target == queue)
            .filter(
                |o| matches!(&o.outcome, Some(Ok(detail)) if detail.ends_with(RECEIVE_AND_DELETE)),
            )
            .filter_map(|o| o.id)
            .collect()
    }

    /// How many times each message of `queue` was handed to the consumer.
    fn deliveries(&self, queue: &str) -> BTreeMap<String, u32> {
        let mut counts: BTreeMap<String, u32> = BTreeMap::new();
        for operation in self.operations() {
            if operation.operation == "receive"
                && operation.target == queue
                && matches!(operation.outcome, Some(Ok(_)))
                && let Some(id) = operation.id
            {
                *counts.entry(id).or_default() += 1;
            }
        }
        counts
    }
}

/// The end of a receive's `ok` detail when the message was taken in
/// receive-and-delete mode.
pub const RECEIVE_AND_DELETE: &str = " receive-and-delete";

/// A check's verdict on one run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The run keeps the check's invariant.
    Pass,
    /// It breaks it: about which message, and why.
    Fail {
        /// The message the anomaly concerns.
        message_id: String,
        /// The anomaly in one sentence (or a few).
        why: String,
    },
    /// The engine cannot show this anomaly in this scenario: why.
    NotApplicable(String),
}

fn fail(message_id: &str, why: String) -> Verdict {
    Verdict::Fail {
        message_id: message_id.to_owned(),
        why,
    }
}

/// A check of an exercise in real mode.
#[derive(Clone, Copy, Debug)]
pub struct Check {
    /// The anomaly's name, as in the rubric and the catalogue.
    pub name: &'static str,
    /// Its points in the rubric.
    pub points: u32,
    judge: fn(&Outcome) -> Verdict,
}

impl Check {
    /// Judges one run.
    pub fn judge(&self, outcome: &Outcome) -> Verdict {
        (self.judge)(outcome)
    }
}

/// An exercise real mode can run.
#[derive(Clone, Debug)]
pub struct Exercise {
    /// The id learners type.
    pub id: &'static str,
    /// The learner's file, from the workspace root.
    pub learner_file: &'static str,
    /// The consumer binary that compiles the learner's file.
    pub binary: &'static str,
    /// The one that compiles the reference solution.
    pub solution_binary: &'static str,
    /// The service's name.
    pub service: &'static str,
    /// The queue the consumer receives from.
    pub input: &'static str,
    /// The queues it sends to, read at the end.
    pub outputs: &'static [&'static str],
    /// Every queue, with the scenario's settings.
    pub queues: Vec<QueueSpec>,
    /// The downstream systems.
    pub downstream: Vec<DownstreamSpec>,
    /// How long a run may last, in the consumer's time (the scenario's
    /// `run_for`).
    pub run_for: Duration,
    /// The checks, in the rubric's order.
    pub checks: Vec<Check>,
    /// The scenario's input: `(queue, message)`.
    pub messages: fn() -> Vec<(String, Message)>,
    /// What the report says up front about how the engine changes this
    /// exercise's questions.
    pub notes: fn(EngineKind) -> Vec<&'static str>,
}

/// The exercises with a real mode.
pub fn all() -> Vec<Exercise> {
    vec![ack_ordering(), idempotent_consumer()]
}

/// The exercise called `id`, if it has a real mode.
pub fn find(id: &str) -> Option<Exercise> {
    all().into_iter().find(|exercise| exercise.id == id)
}

/// A queue with Service Bus's defaults, as the scenarios declare them.
fn default_queue(name: &str) -> QueueSpec {
    QueueSpec {
        name: name.to_owned(),
        lock: DEFAULT_LOCK_DURATION,
        max_deliveries: DEFAULT_MAX_DELIVERY_COUNT,
        duplicate_window: None,
    }
}

/// How a lock works on `engine`, for the reports.
fn seconds(duration: Duration) -> u64 {
    duration.as_secs()
}

// --- ack-ordering ----------------------------------------------------------------

fn ack_ordering() -> Exercise {
    use ack_ordering::order::{INVOICES, ORDERS};
    Exercise {
        id: "ack-ordering",
        learner_file: "exercises/02-ack-ordering/src/consumer.rs",
        binary: "ack-ordering",
        solution_binary: "ack-ordering-solution",
        service: ack_ordering::scenario::SERVICE,
        input: ORDERS,
        outputs: &[INVOICES],
        queues: vec![default_queue(ORDERS), default_queue(INVOICES)],
        downstream: Vec::new(),
        run_for: Duration::from_secs(20 * 60),
        checks: vec![
            Check {
                name: "lost-message",
                points: 5,
                judge: ack_ordering_lost_message,
            },
            Check {
                name: "unsettled-message",
                points: 5,
                judge: ack_ordering_unsettled_message,
            },
            Check {
                name: "lock-expired",
                points: 10,
                judge: ack_ordering_lock_expired,
            },
        ],
        notes: |engine| match engine {
            EngineKind::Rabbitmq => vec![
                "RabbitMQ has no per-delivery lock: `lock-expired` cannot fail on it, and \
                 `renew_lock` sends nothing.",
            ],
            EngineKind::Nats => {
                vec!["NATS's lock is the ack wait; `renew_lock` sends `+WPI` (work in progress)."]
            }
        },
        messages: || {
            ack_ordering::scenario::orders()
                .iter()
                .map(|(id, order)| (ORDERS.to_owned(), order.to_message(id)))
                .collect()
        },
    }
}

fn order_ids() -> Vec<&'static str> {
    ack_ordering::scenario::orders()
        .into_iter()
        .map(|(id, _)| id)
        .collect()
}

/// Whether `invoices` holds an invoice for `order_id`, by what it says (as
/// the rubric's `invoice_published`).
fn invoiced(outcome: &Outcome, order_id: &str) -> bool {
    use ack_ordering::order::{INVOICES, Invoice};
    outcome
        .outputs
        .get(INVOICES)
        .into_iter()
        .flatten()
        .any(|envelope| {
            envelope.correlation_id() == Some(order_id)
                || envelope
                    .body_json::<Invoice>()
                    .is_ok_and(|invoice| invoice.order_id == order_id)
        })
}

fn ack_ordering_lost_message(outcome: &Outcome) -> Verdict {
    use ack_ordering::order::{INVOICES, ORDERS};
    let completed = outcome.succeeded("complete", ORDERS);
    let taken = outcome.taken_on_receipt(ORDERS);
    for id in order_ids() {
        let settled_how = if completed.contains(id) {
            "completed"
        } else if taken.contains(id) {
            "received in receive-and-delete mode, which settled it on delivery"
        } else {
            continue;
        };
        if !invoiced(outcome, id) {
            return fail(
                id,
                format!(
                    "`{id}` was {settled_how}, and no invoice for it reached `{INVOICES}`: the \
                     engine forgot the order before its work was done"
                ),
            );
        }
    }
    Verdict::Pass
}

fn ack_ordering_unsettled_message(outcome: &Outcome) -> Verdict {
    use ack_ordering::order::ORDERS;
    let completed = outcome.succeeded("complete", ORDERS);
    let dead_lettered = outcome.succeeded("dead-letter", ORDERS);
    let deliveries = outcome.deliveries(ORDERS);
    let service = ack_ordering::scenario::SERVICE;
    for id in order_ids() {
        if dead_lettered.contains(id) {
            return fail(
                id,
                format!(
                    "`{service}` dead-lettered `{id}` itself: a transient error is retried, not \
                     dead-lettered"
                ),
            );
        }
        if let Some(dead) = outcome.dead_letters.iter().find(|d| d.message_id() == id) {
            return fail(
                id,
                format!(
                    "the engine dead-lettered `{}` after {} deliveries: it was never completed",
                    dead.message_id(),
                    deliveries.get(id).copied().unwrap_or(0)
                ),
            );
        }
        if !completed.contains(id) {
            let times = deliveries.get(id).copied().unwrap_or(0);
            return fail(
                id,
                format!(
                    "`{id}` was never completed: `{service}` received it {times} {} and no \
                     complete of it succeeded{}",
                    if times == 1 { "time" } else { "times" },
                    if outcome.left_in_input > 0 {
                        format!(
                            "; {} {} still waiting in `{ORDERS}` at the end",
                            outcome.left_in_input,
                            if outcome.left_in_input == 1 {
                                "message was"
                            } else {
                                "messages were"
                            }
                        )
                    } else {
                        String::new()
                    }
                ),
            );
        }
    }
    Verdict::Pass
}

fn ack_ordering_lock_expired(outcome: &Outcome) -> Verdict {
    use ack_ordering::order::ORDERS;
    let service = ack_ordering::scenario::SERVICE;
    let lock = seconds(DEFAULT_LOCK_DURATION);
    if outcome.engine == Some(EngineKind::Rabbitmq) {
        return Verdict::NotApplicable(format!(
            "RabbitMQ gives a delivery no lock to expire: it stays with the consumer's channel \
             until it is acked or the channel closes, or until the consumer timeout (30 min by \
             default) closes the channel. A slow consumer is not taken for a dead one within \
             this run, and `renew_lock` sends nothing; the {lock}-second lock of this lesson \
             is NATS's ack wait and Service Bus's lock duration"
        ));
    }
    for event in &outcome.events {
        let (id, seen) = match &event.what {
            What::Line(Line::HandedOutAgain {
                queue,
                id,
                delivery,
            }) if queue == ORDERS => (
                id,
                format!(
                    "NATS handed `{id}` out again (delivery {delivery}) at {} while `{service}` \
                     was still working on it (it had neither crashed nor stopped)",
                    sim::clock::format_offset(event.at)
                ),
            ),
            What::Line(Line::LockRanOut { queue, id }) if queue == ORDERS => (
                id,
                format!(
                    "`{service}` settled or renewed `{id}` at {} after its ack wait had run out \
                     (it had neither crashed nor stopped): from then on NATS was free to hand it \
                     to any consumer asking",
                    sim::clock::format_offset(event.at)
                ),
            ),
            _ => continue,
        };
        let renewed = outcome.operations().iter().any(|o| {
            o.life == event.life
                && o.operation == "renew-lock"
                && o.id.as_deref() == Some(id.as_str())
                && o.at <= event.at
        });
        let advice = if renewed {
            "it was renewed, but not again before the ack wait ran out: renew early enough \
             that a slow renewal still lands in time"
        } else {
            "it was never renewed (`+WPI`, `renew_lock`). Slow work must renew its lock while it \
             goes on"
        };
        let late_complete = outcome.operations().iter().any(|o| {
            o.life == event.life
                && o.operation == "complete"
                && o.id.as_deref() == Some(id.as_str())
                && o.at >= event.at
                && matches!(o.outcome, Some(Ok(_)))
        });
        let invoices = outcome
            .outputs
            .get(ack_ordering::order::INVOICES)
            .into_iter()
            .flatten()
            .filter(|envelope| {
                envelope.correlation_id() == Some(id.as_str())
                    || envelope
                        .body_json::<ack_ordering::order::Invoice>()
                        .is_ok_and(|invoice| &invoice.order_id == id)
            })
            .count();
        let consequence = if late_complete {
            format!(
                " NATS accepted the complete that came after (the simulator, like Service Bus, \
                 refuses it, which is why `unsettled-message` fails there and not here); \
                 `invoices` holds {invoices} invoices for `{id}`"
            )
        } else {
            String::new()
        };
        return fail(
            id,
            format!(
                "{seen}: the ack wait, this queue's {lock}-second lock, ran out, and {advice}. \
                 Another consumer would have priced the order a second time.{consequence}"
            ),
        );
    }
    Verdict::Pass
}

// --- idempotent-consumer ---------------------------------------------------------

fn idempotent_consumer() -> Exercise {
    use idempotent_consumer::mail::MAIL_PROVIDER;
    use idempotent_consumer::signup::{EMAIL_EVENTS, SIGNUPS};
    Exercise {
        id: "idempotent-consumer",
        learner_file: "exercises/03-idempotent-consumer/src/consumer.rs",
        binary: "idempotent-consumer",
        solution_binary: "idempotent-consumer-solution",
        service: idempotent_consumer::scenario::SERVICE,
        input: SIGNUPS,
        outputs: &[EMAIL_EVENTS],
        queues: vec![
            default_queue(SIGNUPS),
            QueueSpec {
                duplicate_window: Some(DEFAULT_DUPLICATE_DETECTION_WINDOW),
                ..default_queue(EMAIL_EVENTS)
            },
        ],
        downstream: vec![DownstreamSpec {
            name: MAIL_PROVIDER.to_owned(),
            latency: Duration::from_millis(200),
        }],
        run_for: Duration::from_secs(20 * 60),
        checks: vec![
            Check {
                name: "duplicate-side-effect",
                points: 15,
                judge: idempotent_duplicate_side_effect,
            },
            Check {
                name: "lost-email",
                points: 10,
                judge: idempotent_lost_email,
            },
        ],
        notes: |engine| match engine {
            EngineKind::Rabbitmq => vec![
                "RabbitMQ does not detect duplicate message ids: `email-events` keeps every \
                 copy, and the events are counted once per message id, as a CRM that remembers \
                 the ids it has seen would count them.",
            ],
            EngineKind::Nats => vec![
                "`email-events` detects duplicates by `Nats-Msg-Id` within its duplicate window \
                 (the scenario's 10 minutes of consumer time).",
            ],
        },
        messages: || {
            idempotent_consumer::scenario::signups()
                .iter()
                .map(|(id, signup)| (SIGNUPS.to_owned(), signup.to_message(id)))
                .collect()
        },
    }
}

/// The emails that reached an inbox, per address: every call to the
/// provider, minus repeats of an idempotency key it had seen (the
/// provider of the exercise honours keys, as `mail::delivered` models it).
fn emails_per_user(outcome: &Outcome) -> BTreeMap<String, Vec<i64>> {
    use idempotent_consumer::mail::{Email, MAIL_PROVIDER};
    let mut keys = BTreeSet::new();
    let mut per_user: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for call in outcome.calls.iter().filter(|c| c.system == MAIL_PROVIDER) {
        let Ok(email) = serde_json::from_str::<Email>(&call.detail) else {
            continue;
        };
        if let Some(key) = &email.idempotency_key
            && !keys.insert(key.clone())
        {
            continue;
        }
        per_user.entry(email.to).or_default().push(call.at_unix_ms);
    }
    per_user
}

/// The `WelcomeEmailSent` events per signup, by what they say (any string
/// of the body naming the user, the address or the signup), else by their
/// correlation or message id; each with its message id.
fn events_per_signup(outcome: &Outcome) -> BTreeMap<&'static str, Vec<String>> {
    use idempotent_consumer::signup::EMAIL_EVENTS;
    let signups = idempotent_consumer::scenario::signups();
    let mut per_signup: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    for envelope in outcome.outputs.get(EMAIL_EVENTS).into_iter().flatten() {
        let mut said = Vec::new();
        if let Ok(body) = envelope.body_json::<serde_json::Value>() {
            strings_in(&body, &mut said);
        }
        let named = signups.iter().find(|(signup, user)| {
            said.iter()
                .any(|text| text == &user.user_id || text == &user.email || text == signup)
        });
        let labelled = || {
            signups.iter().find(|(signup, user)| {
                envelope.correlation_id() == Some(signup)
                    || envelope.message_id().contains(signup)
                    || envelope.message_id().contains(user.user_id.as_str())
            })
        };
        if let Some((signup, _)) = named.or_else(labelled) {
            per_signup
                .entry(signup)
                .or_default()
                .push(envelope.message_id().to_owned());
        }
    }
    per_signup
}

fn strings_in(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::String(text) => out.push(text.clone()),
        serde_json::Value::Array(items) => items.iter().for_each(|item| strings_in(item, out)),
        serde_json::Value::Object(fields) => fields.values().for_each(|item| strings_in(item, out)),
        _ => {}
    }
}

fn idempotent_duplicate_side_effect(outcome: &Outcome) -> Verdict {
    use idempotent_consumer::signup::EMAIL_EVENTS;
    let emails = emails_per_user(outcome);
    for (signup, user) in idempotent_consumer::scenario::signups() {
        let sent = emails.get(&user.email).map_or(0, Vec::len);
        if sent > 1 {
            return fail(
                signup,
                format!(
                    "{} received the welcome email {sent} times: `{signup}` was delivered again \
                     and the email went out again",
                    user.email
                ),
            );
        }
    }
    let rabbit = outcome.engine == Some(EngineKind::Rabbitmq);
    for (signup, ids) in events_per_signup(outcome) {
        // RabbitMQ keeps every copy: it does not deduplicate on message id.
        // A CRM that keeps an inbox of the ids it has seen counts each id
        // once, so that is what is counted there.
        let distinct: BTreeSet<&String> = ids.iter().collect();
        let counted = if rabbit { distinct.len() } else { ids.len() };
        if counted > 1 {
            let listed = distinct
                .iter()
                .map(|id| format!("`{id}`"))
                .collect::<Vec<_>>()
                .join(", ");
            return fail(
                signup,
                format!(
                    "`{EMAIL_EVENTS}` holds {counted} WelcomeEmailSent events for `{signup}` \
                     ({listed}): each redelivery published one with a new message id, so {}",
                    if rabbit {
                        "not even a CRM that remembers the ids it has seen can tell they are the \
                         same"
                    } else {
                        "the stream's duplicate detection (`Nats-Msg-Id`) could not tell they \
                         were the same"
                    }
                ),
            );
        }
    }
    Verdict::Pass
}

fn idempotent_lost_email(outcome: &Outcome) -> Verdict {
    use idempotent_consumer::signup::EMAIL_EVENTS;
    let emails = emails_per_user(outcome);
    let events = events_per_signup(outcome);
    for (signup, user) in idempotent_consumer::scenario::signups() {
        if !emails.contains_key(&user.email) {
            return fail(
                signup,
                format!(
                    "{} never received a welcome email for `{signup}`: the signup was settled or \
                     is stuck, but no email went out",
                    user.email
                ),
            );
        }
        if !events.contains_key(signup) {
            return fail(
                signup,
                format!(
                    "`{EMAIL_EVENTS}` never got a WelcomeEmailSent event for `{signup}` (user \
                     `{}`): the CRM never hears that the welcome email went out",
                    user.user_id
                ),
            );
        }
    }
    Verdict::Pass
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The checks are the rubric's, by name and points, in its order: the
    /// catalogue lists them, and a renamed or re-weighted check must be
    /// renamed here too.
    #[test]
    fn every_exercise_has_the_catalogues_checks() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../exercises.toml");
        let text = std::fs::read_to_string(root).unwrap();
        let catalogue: toml::Value = toml::from_str(&text).unwrap();
        let entries = catalogue["exercise"].as_array().unwrap();
        for exercise in all() {
            let entry = entries
                .iter()
                .find(|entry| entry["id"].as_str() == Some(exercise.id))
                .unwrap_or_else(|| panic!("{} is not in the catalogue", exercise.id));
            let catalogued: Vec<(String, u32)> = entry["checks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|check| {
                    (
                        check["check"].as_str().unwrap().to_owned(),
                        u32::try_from(check["points"].as_integer().unwrap()).unwrap(),
                    )
                })
                .collect();
            let ours: Vec<(String, u32)> = exercise
                .checks
                .iter()
                .map(|check| (check.name.to_owned(), check.points))
                .collect();
            assert_eq!(ours, catalogued, "{}", exercise.id);
            assert_eq!(
                entry["file"].as_str(),
                exercise
                    .learner_file
                    .rsplit_once("/src/")
                    .map(|_| "src/consumer.rs")
            );
        }
    }

    fn line(at: u64, life: u32, line: Line) -> Event {
        Event {
            at: Duration::from_secs(at),
            life,
            what: What::Line(line),
        }
    }

    fn op(at: u64, op: u64, operation: &str, target: &str, id: Option<&str>) -> Event {
        line(
            at,
            1,
            Line::Op {
                op,
                operation: operation.into(),
                target: target.into(),
                id: id.map(str::to_owned),
            },
        )
    }

    fn ok(at: u64, op: u64, detail: &str) -> Event {
        line(
            at,
            1,
            Line::Ok {
                op,
                detail: detail.into(),
            },
        )
    }

    /// One order received, completed, with no invoice: lost.
    #[test]
    fn a_completed_order_without_an_invoice_is_lost() {
        let outcome = Outcome {
            engine: Some(EngineKind::Nats),
            events: vec![
                op(0, 1, "receive", "orders", None),
                ok(0, 1, "order-1 delivery=1"),
                op(0, 2, "complete", "orders", Some("order-1")),
                ok(0, 2, ""),
            ],
            ..Outcome::default()
        };
        let verdict = ack_ordering_lost_message(&outcome);
        assert!(
            matches!(&verdict, Verdict::Fail { message_id, .. } if message_id == "order-1"),
            "{verdict:?}"
        );
        assert_eq!(
            ack_ordering_unsettled_message(&outcome),
            fail(
                "order-2",
                "`order-2` was never completed: `pricing` received it 0 times and no complete \
                 of it succeeded"
                    .into()
            )
        );
    }

    #[test]
    fn a_message_handed_out_again_while_held_is_a_lock_expired_on_nats_only() {
        let mut outcome = Outcome {
            engine: Some(EngineKind::Nats),
            events: vec![
                op(0, 1, "receive", "orders", None),
                ok(0, 1, "order-3 delivery=1"),
                line(
                    60,
                    1,
                    Line::HandedOutAgain {
                        queue: "orders".into(),
                        id: "order-3".into(),
                        delivery: 2,
                    },
                ),
            ],
            ..Outcome::default()
        };
        let verdict = ack_ordering_lock_expired(&outcome);
        let Verdict::Fail { message_id, why } = verdict else {
            panic!("{verdict:?}")
        };
        assert_eq!(message_id, "order-3");
        assert!(why.contains("never renewed"), "{why}");
        outcome.engine = Some(EngineKind::Rabbitmq);
        assert!(matches!(
            ack_ordering_lock_expired(&outcome),
            Verdict::NotApplicable(_)
        ));
    }

    /// A complete after the ack wait ran out is a lost lock even when no
    /// redelivery was seen (no pull was waiting to receive it).
    #[test]
    fn a_settlement_after_the_ack_wait_is_a_lock_expired() {
        let outcome = Outcome {
            engine: Some(EngineKind::Nats),
            events: vec![
                op(0, 1, "receive", "orders", None),
                ok(0, 1, "order-3 delivery=1"),
                line(
                    121,
                    1,
                    Line::LockRanOut {
                        queue: "orders".into(),
                        id: "order-3".into(),
                    },
                ),
                op(121, 2, "complete", "orders", Some("order-3")),
                ok(121, 2, ""),
            ],
            ..Outcome::default()
        };
        let verdict = ack_ordering_lock_expired(&outcome);
        let Verdict::Fail { message_id, why } = verdict else {
            panic!("{verdict:?}")
        };
        assert_eq!(message_id, "order-3");
        assert!(why.contains("after its ack wait had run out"), "{why}");
        assert!(why.contains("NATS accepted the complete"), "{why}");
    }

    fn event_message(id: &str, user: &str) -> Envelope {
        let body = serde_json::json!({ "user_id": user, "sent_at": "x" }).to_string();
        crate::real::engine::envelope(id.into(), body.into_bytes(), 1, 0, 0)
    }

    /// Two events with the same id: a duplicate on NATS (its stream kept
    /// both, so detection was off), one event on RabbitMQ (counted once,
    /// as a CRM's inbox would).
    #[test]
    fn events_count_by_id_on_rabbitmq_and_by_copy_on_nats() {
        let mut outcome = Outcome {
            engine: Some(EngineKind::Rabbitmq),
            ..Outcome::default()
        };
        outcome.outputs.insert(
            "email-events".into(),
            vec![
                event_message("welcome-sent-signup-1", "ada"),
                event_message("welcome-sent-signup-1", "ada"),
            ],
        );
        assert_eq!(idempotent_duplicate_side_effect(&outcome), Verdict::Pass);
        outcome.engine = Some(EngineKind::Nats);
        assert!(matches!(
            idempotent_duplicate_side_effect(&outcome),
            Verdict::Fail { .. }
        ));
        outcome.engine = Some(EngineKind::Rabbitmq);
        outcome.outputs.insert(
            "email-events".into(),
            vec![
                event_message("welcome-sent-2026-12-07T01:00:00.000Z", "ada"),
                event_message("welcome-sent-2026-12-07T01:01:00.000Z", "ada"),
            ],
        );
        assert!(matches!(
            idempotent_duplicate_side_effect(&outcome),
            Verdict::Fail { message_id, .. } if message_id == "signup-1"
        ));
    }

    #[test]
    fn a_repeated_idempotency_key_is_one_email() {
        let call = |key: Option<&str>| {
            let email = idempotent_consumer::mail::Email {
                to: "ada@example.com".into(),
                subject: "Welcome".into(),
                body: String::new(),
                reference: "signup-1".into(),
                idempotency_key: key.map(str::to_owned),
            };
            LoggedCall {
                system: idempotent_consumer::mail::MAIL_PROVIDER.into(),
                key: "signup-1".into(),
                detail: serde_json::to_string(&email).unwrap(),
                at_unix_ms: 0,
            }
        };
        let mut outcome = Outcome {
            calls: vec![call(Some("k")), call(Some("k"))],
            ..Outcome::default()
        };
        assert_eq!(idempotent_duplicate_side_effect(&outcome), Verdict::Pass);
        outcome.calls = vec![call(None), call(None)];
        assert!(matches!(
            idempotent_duplicate_side_effect(&outcome),
            Verdict::Fail { .. }
        ));
    }
}

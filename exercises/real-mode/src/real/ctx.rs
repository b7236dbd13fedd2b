//! [`ServiceCtx`] and [`Delivery`] backed by a real engine, with the
//! simulator's signatures.
//!
//! Every operation goes the same way, as in the simulator:
//!
//! 1. it gets the next operation number of this life, and a line
//!    `op N receive orders` goes to the harness;
//! 2. at a crash point *before* it, the process stops there and the harness
//!    kills it (`SIGKILL`): the operation never reaches the engine;
//! 3. at a planned connection drop, the engine connection is closed and a
//!    new one opened first;
//! 4. the operation runs on the engine's thread, and its outcome goes to the
//!    harness (`ok N …` or `failed N …`);
//! 5. at a crash point *after* it, the process stops and is killed: the
//!    operation took effect and the consumer never learns so.
//!
//! The engine's client runs on its own thread with the real clock; your
//! code runs on a paused clock that moves faster (see
//! [`crate::real::clock`]).

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::io::Write;
use std::ops::Deref;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use sim::simulation::DownstreamError;
use sim::{BrokerError, Envelope, Message, ReceiveOptions, UtcTime};

use crate::real::clock::Clock;
use crate::real::config::{CrashPoint, When};
use crate::real::engine::{Engine, Settlement};
use crate::real::protocol::{Line, Out};

/// A job for the engine's thread.
pub(crate) type Job =
    Box<dyn FnOnce(Arc<Engine>) -> Pin<Box<dyn Future<Output = ()>>> + Send + 'static>;

/// A received message: its envelope (through `Deref`), the queue it came
/// from, and the engine's handle that settles it. The simulator's
/// `broker::Delivery`, for a real engine.
#[derive(Clone, Debug, PartialEq)]
pub struct Delivery {
    envelope: Arc<Envelope>,
    path: Arc<str>,
    handle: u64,
    locked_until: Option<UtcTime>,
}

impl Delivery {
    /// The envelope.
    pub fn envelope(&self) -> &Envelope {
        &self.envelope
    }

    /// The queue the message was received from.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// When the lock expires unless renewed, in the consumer's time, if the
    /// engine has a lock (NATS's ack wait; RabbitMQ has none).
    pub fn locked_until(&self) -> Option<UtcTime> {
        self.locked_until
    }
}

impl Deref for Delivery {
    type Target = Envelope;
    fn deref(&self) -> &Envelope {
        &self.envelope
    }
}

/// What a consumer process shares between the clones of its context.
pub(crate) struct Inner {
    pub(crate) name: String,
    pub(crate) jobs: tokio::sync::mpsc::UnboundedSender<Job>,
    pub(crate) out: Out,
    pub(crate) clock: Clock,
    pub(crate) operations: AtomicU64,
    pub(crate) crash: Option<CrashPoint>,
    pub(crate) disconnect_before: Option<u64>,
    /// The queues' lock durations (consumer time), for `locked_until`;
    /// `None` on an engine without locks.
    pub(crate) locks: BTreeMap<String, Option<Duration>>,
    pub(crate) downstream: BTreeMap<String, Duration>,
    pub(crate) downstream_log: Mutex<std::fs::File>,
}

/// A service's handle on a real engine and the downstream systems, with
/// crash points around every operation. Cheap to clone.
#[derive(Clone)]
pub struct ServiceCtx {
    inner: Arc<Inner>,
}

impl fmt::Debug for ServiceCtx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceCtx")
            .field("name", &self.inner.name)
            .finish_non_exhaustive()
    }
}

/// One downstream call, as the harness reads it back from the log.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LoggedCall {
    /// The system called.
    pub system: String,
    /// The call's key (the simulator's `DownstreamCall::key`).
    pub key: String,
    /// What was sent (the simulator's `DownstreamCall::detail`).
    pub detail: String,
    /// The consumer's time of the call, Unix milliseconds.
    pub at_unix_ms: i64,
}

impl ServiceCtx {
    pub(crate) fn new(inner: Inner) -> ServiceCtx {
        ServiceCtx {
            inner: Arc::new(inner),
        }
    }

    /// The service's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The consumer's time now, in UTC (see [`crate::real::clock`]).
    pub fn now(&self) -> UtcTime {
        self.inner.clock.now_utc()
    }

    /// The same service, working for message `message_id`. In the
    /// simulator this labels store operations in the trace; real mode has
    /// no store, so it is the same context.
    pub fn concerning(&self, _message_id: &str) -> ServiceCtx {
        self.clone()
    }

    /// Spawns a task that dies with the process (a crash kills the whole
    /// process here, as it does for real).
    pub fn spawn<F>(&self, future: F)
    where
        F: Future<Output = ()> + 'static,
    {
        drop(tokio::task::spawn_local(future));
    }

    /// Runs `work` on the engine's thread and waits for its result.
    async fn on_engine<T, F, Fut>(&self, work: F) -> Result<T, BrokerError>
    where
        T: Send + 'static,
        F: FnOnce(Arc<Engine>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, BrokerError>> + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |engine| {
            Box::pin(async move {
                let _ = reply.send(work(engine).await);
            })
        });
        if self.inner.jobs.send(job).is_err() {
            return Err(BrokerError::Unavailable);
        }
        answer.await.unwrap_or(Err(BrokerError::Unavailable))
    }

    /// Stops at a crash point: says so, and waits for the harness's
    /// `SIGKILL`. Should the harness be gone, the process ends itself.
    fn crash_point(&self, point: CrashPoint) -> ! {
        self.inner.out.line(&Line::CrashPoint(point));
        std::thread::sleep(Duration::from_secs(60));
        std::process::exit(4)
    }

    /// Steps 1 to 3 of an operation; returns its number.
    async fn before(&self, operation: &str, target: &str, id: Option<&str>) -> u64 {
        let op = self.inner.operations.fetch_add(1, Ordering::SeqCst) + 1;
        self.inner.out.line(&Line::Op {
            op,
            operation: operation.to_owned(),
            target: target.to_owned(),
            id: id.map(str::to_owned),
        });
        if self.inner.crash
            == Some(CrashPoint {
                when: When::Before,
                op,
            })
        {
            self.crash_point(CrashPoint {
                when: When::Before,
                op,
            });
        }
        if self.inner.disconnect_before == Some(op) {
            let reconnected = self
                .on_engine(|engine| async move { engine.reconnect().await })
                .await;
            self.inner.out.line(&Line::Note(match reconnected {
                Ok(()) => "the connection to the engine was cut and opened again".to_owned(),
                Err(error) => format!("the connection to the engine was cut: {error}"),
            }));
        }
        op
    }

    /// Steps 4 and 5.
    fn after<T, E: fmt::Display>(
        &self,
        op: u64,
        result: &Result<T, E>,
        detail: impl FnOnce(&T) -> String,
    ) {
        self.inner.out.line(&match result {
            Ok(value) => Line::Ok {
                op,
                detail: detail(value),
            },
            Err(error) => Line::Failed {
                op,
                error: error.to_string(),
            },
        });
        if self.inner.crash
            == Some(CrashPoint {
                when: When::After,
                op,
            })
        {
            self.crash_point(CrashPoint {
                when: When::After,
                op,
            });
        }
    }

    // --- Broker operations ------------------------------------------------------

    /// Sends a message to a queue, and waits for the engine's confirmation.
    pub async fn send(&self, path: &str, message: Message) -> Result<(), BrokerError> {
        let op = self.before("send", path, Some(message.message_id())).await;
        let queue = path.to_owned();
        let result = self
            .on_engine(move |engine| async move { engine.send(&queue, &message).await })
            .await;
        self.after(op, &result, |()| String::new());
        result
    }

    /// Receives the next message under peek-lock, waiting as long as it
    /// takes.
    pub async fn receive(&self, path: &str) -> Result<Delivery, BrokerError> {
        loop {
            if let Some(delivery) = self.receive_with(path, ReceiveOptions::default()).await? {
                return Ok(delivery);
            }
        }
    }

    /// Receives with options (a mode; how long to wait, in the consumer's
    /// time).
    pub async fn receive_with(
        &self,
        path: &str,
        options: ReceiveOptions,
    ) -> Result<Option<Delivery>, BrokerError> {
        let op = self.before("receive", path, None).await;
        let queue = path.to_owned();
        let wait = options.max_wait.map(|wait| self.inner.clock.to_real(wait));
        let mode = options.mode;
        let result = self
            .on_engine(move |engine| async move { engine.receive(&queue, mode, wait).await })
            .await;
        let result = result.map(|received| {
            received.map(|received| {
                let lock = self.inner.locks.get(path).copied().flatten();
                Delivery {
                    envelope: Arc::new(received.envelope),
                    path: Arc::from(path),
                    handle: received.handle,
                    locked_until: lock.map(|lock| self.now() + lock),
                }
            })
        });
        self.after(op, &result, |delivery| match delivery {
            Some(delivery) => format!(
                "{} delivery={}{}",
                delivery.message_id(),
                delivery.delivery_count,
                if mode == sim::ReceiveMode::ReceiveAndDelete {
                    crate::real::exercises::RECEIVE_AND_DELETE
                } else {
                    ""
                }
            ),
            None => "nothing".to_owned(),
        });
        result
    }

    async fn settle(
        &self,
        delivery: &Delivery,
        operation: &str,
        settlement: Settlement,
    ) -> Result<(), BrokerError> {
        let op = self
            .before(operation, &delivery.path, Some(delivery.message_id()))
            .await;
        let handle = delivery.handle;
        let id = delivery.message_id().to_owned();
        let result = self
            .on_engine(move |engine| async move { engine.settle(handle, &id, settlement).await })
            .await;
        self.after(op, &result, |()| String::new());
        result
    }

    /// Settles: processed, remove it.
    pub async fn complete(&self, delivery: &Delivery) -> Result<(), BrokerError> {
        self.settle(delivery, "complete", Settlement::Complete)
            .await
    }

    /// Settles: give it back now.
    pub async fn abandon(&self, delivery: &Delivery) -> Result<(), BrokerError> {
        self.settle(delivery, "abandon", Settlement::Abandon).await
    }

    /// Settles: to the dead-letter queue. RabbitMQ keeps no reason text;
    /// NATS has no dead-letter queue and only stops delivering it.
    pub async fn dead_letter(
        &self,
        delivery: &Delivery,
        _reason: &str,
        _description: &str,
    ) -> Result<(), BrokerError> {
        self.settle(delivery, "dead-letter", Settlement::DeadLetter)
            .await
    }

    /// Deferral is Service Bus's alone: neither RabbitMQ nor NATS has it.
    pub async fn defer(&self, delivery: &Delivery) -> Result<(), BrokerError> {
        let op = self
            .before("defer", &delivery.path, Some(delivery.message_id()))
            .await;
        let result = Err(BrokerError::InvalidOperation {
            operation: "defer",
            path: delivery.path.to_string(),
            why: "real mode's engines (RabbitMQ, NATS JetStream) have no deferral",
        });
        self.after(op, &result, |()| String::new());
        result
    }

    /// Extends a lock: NATS's `+WPI`; on RabbitMQ, which has no lock, it
    /// succeeds without sending anything while the delivery is held.
    pub async fn renew_lock(&self, delivery: &mut Delivery) -> Result<UtcTime, BrokerError> {
        let op = self
            .before("renew-lock", &delivery.path, Some(delivery.message_id()))
            .await;
        let handle = delivery.handle;
        let id = delivery.message_id().to_owned();
        let result = self
            .on_engine(move |engine| async move { engine.renew(handle, &id).await })
            .await;
        let lock = self.inner.locks.get(&*delivery.path).copied().flatten();
        let result = result.map(|note| {
            if let Some(note) = note {
                self.inner.out.line(&Line::Note(note));
            }
            let until = self.now() + lock.unwrap_or_default();
            delivery.locked_until = lock.map(|_| until);
            until
        });
        self.after(op, &result, |_| String::new());
        result
    }

    // --- Downstream systems -----------------------------------------------------

    /// Calls a downstream system. Real mode's downstream systems are
    /// recorders: the call is appended to the run's call log (which the
    /// harness reads as what the system did) after the system's latency.
    pub async fn call_downstream(
        &self,
        system: &str,
        key: &str,
        detail: impl Into<String>,
    ) -> Result<(), DownstreamError> {
        let op = self.before("call", system, Some(key)).await;
        let detail = detail.into();
        if let Some(latency) = self.inner.downstream.get(system) {
            tokio::time::sleep(*latency).await;
        }
        let call = LoggedCall {
            system: system.to_owned(),
            key: key.to_owned(),
            detail,
            at_unix_ms: self.now().unix_millis(),
        };
        let written = serde_json::to_string(&call)
            .map_err(std::io::Error::other)
            .and_then(|line| {
                let mut log = self
                    .inner
                    .downstream_log
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                writeln!(log, "{line}").and_then(|()| log.flush())
            });
        let result = written.map_err(|_| DownstreamError::Unavailable {
            system: system.to_owned(),
        });
        self.after(op, &result, |()| String::new());
        result
    }

    /// Pauses the service: a sleep of the consumer's time.
    pub async fn pause(&self, duration: Duration, reason: &str) {
        self.inner
            .out
            .line(&Line::Note(format!("pausing for {duration:?}: {reason}")));
        tokio::time::sleep(duration).await;
    }
}

//! [`ServiceCtx`]: a service's only door to the world.
//!
//! Every broker, store and downstream operation a service makes goes through
//! its context, and each one is wrapped the same way:
//!
//! 1. it gets the next **operation number** (the `#7` of a trace);
//! 2. **crash point before**: if the plan says `crash-before@7`, the service
//!    dies here and the operation never happens;
//! 3. the injected **network fault**, if any: a delay, an unavailable target,
//!    an outage;
//! 4. the operation itself, recorded in the trace with its outcome and fault;
//! 5. **crash point after**: with `crash-after@7` the operation took effect
//!    and the service dies before it learns so; with `lost-response@7` it took
//!    effect and the service gets a timeout error instead.
//!
//! A crash does not unwind anything: the runtime drops the service's future
//! (its memory is gone: local variables, caches, open transactions, which
//! roll back), keeps the broker and the store as they are (a lock it held
//! stays until it expires), and starts the service again.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::AbortHandle;
use tokio::time::Instant;

use super::downstream::{DownstreamCall, DownstreamError};
use super::runtime::RunOutcome;
use super::world::{BROKER_TARGET, STORE_TARGET, World};
use crate::auto_commit::AutoCommitConsumer;
use crate::broker::{OpMeta, Settlement};
use crate::clock::UtcTime;
use crate::envelope::Message;
use crate::error::BrokerError;
use crate::fault::Fault;
use crate::lock::ConnectionId;
use crate::receive::{Delivery, ReceiveOptions};
use crate::store::{Change, IsolationLevel, Row, StoreError, Transaction};
use crate::trace::{Operation, Outcome, TraceEvent};

/// A service's handle on the broker, the store and the downstream systems,
/// with crash points and fault injection around every operation.
///
/// Cheap to clone; clones share the service's life: when it crashes, every
/// clone stops working (its operations never return).
#[derive(Clone, Debug)]
pub struct ServiceCtx {
    inner: Arc<CtxInner>,
}

#[derive(Debug)]
struct CtxInner {
    world: Arc<World>,
    name: Arc<str>,
    /// This life of the service: a restart gets a new one.
    life: Arc<Life>,
    /// The broker connection of this life; closed by the crash.
    connection: ConnectionId,
    /// `false` for the scenario's setup, which is not explored: no numbers,
    /// no faults, no crash points.
    explored: bool,
    /// The message this context works for, set by [`ServiceCtx::concerning`]:
    /// the correlation id of its store operations in the trace.
    concerning: Option<Arc<str>>,
}

/// One life of a service, between a start and a crash or exit.
#[derive(Debug, Default)]
pub(crate) struct Life {
    crashed: AtomicBool,
    /// Woken when the service crashes, so the runtime drops its future.
    pub(crate) crash: Notify,
    /// Tasks the service spawned with [`ServiceCtx::spawn`]: they die with it.
    pub(crate) children: Mutex<Vec<AbortHandle>>,
    /// How many times the service's task was woken since its last operation
    /// began, not counting wake-ups while it waits for a message or a change.
    /// A loop that awaits without ever waiting for anything real
    /// (`yield_now`, a 1 ms sleep) wakes up endlessly and does nothing: the
    /// runtime stops it by this count (see `runtime::Watched`).
    pub(crate) wakeups_since_operation: AtomicU64,
    /// Waiting for a message or for the change feed: idle, and woken by
    /// every change in the broker, which is not spinning.
    pub(crate) waiting: AtomicBool,
}

impl Life {
    pub(crate) fn has_crashed(&self) -> bool {
        self.crashed.load(Ordering::SeqCst)
    }

    /// Marks the service as waiting (or not) for a message or a change.
    fn set_waiting(&self, waiting: bool) {
        self.waiting.store(waiting, Ordering::SeqCst);
    }
}

/// What `before` decided about an operation.
struct Planned {
    number: Option<u64>,
    fault: Option<Fault>,
    /// The target is down (outage or `unavailable`): do not perform.
    refused: bool,
}

impl ServiceCtx {
    pub(crate) fn new(
        world: Arc<World>,
        name: Arc<str>,
        life: Arc<Life>,
        explored: bool,
    ) -> ServiceCtx {
        let connection = world.broker.connect();
        ServiceCtx {
            inner: Arc::new(CtxInner {
                world,
                name,
                life,
                connection,
                explored,
                concerning: None,
            }),
        }
    }

    /// The same service, working for message `message_id`: its store
    /// operations carry that id as their correlation id in the trace, so a
    /// report's timeline of the message shows the transactions made for it.
    ///
    /// A store statement, unlike a send or a receive, names no message of
    /// its own, so without this a timeline of `order-1` would show the
    /// request arriving and the event leaving, but not the commit in between
    /// (the step a dual write is about). The scope is a label only, like a
    /// trace id in OpenTelemetry: it shares the service's life, connection
    /// and operation numbering, and changes nothing the operations do.
    /// Broker operations keep the correlation id of their own message.
    pub fn concerning(&self, message_id: &str) -> ServiceCtx {
        let inner = &self.inner;
        ServiceCtx {
            inner: Arc::new(CtxInner {
                world: Arc::clone(&inner.world),
                name: Arc::clone(&inner.name),
                life: Arc::clone(&inner.life),
                connection: inner.connection,
                explored: inner.explored,
                concerning: Some(Arc::from(message_id)),
            }),
        }
    }

    pub(crate) fn connection(&self) -> ConnectionId {
        self.inner.connection
    }

    /// The service's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The broker's time now, in UTC.
    pub fn now(&self) -> UtcTime {
        self.inner.world.clock.now_utc()
    }

    /// Spawns a task that belongs to this service: it is aborted when the
    /// service crashes (a crash takes the whole process), and a panic in it
    /// fails the run like a panic in the service. Use this rather than
    /// `tokio::spawn` inside a simulated service (a `tokio::spawn`ed task
    /// would survive its service's crash, which no real process does). Call it
    /// from the service's own task or a task it spawned this way: the tasks of
    /// a run live on a `LocalSet`, so the future need not be `Send`.
    pub fn spawn<F>(&self, future: F)
    where
        F: Future<Output = ()> + 'static,
    {
        let world = Arc::clone(&self.inner.world);
        let name = Arc::clone(&self.inner.name);
        let child = tokio::task::spawn_local(future);
        let child_abort = child.abort_handle();
        let watcher = tokio::task::spawn_local(async move {
            if let Err(error) = child.await
                && error.is_panic()
            {
                let message = super::runtime::panic_message(error.into_panic());
                // In the trace too, as the supervisor records a panic of the
                // service itself: the report's timeline must show it.
                let event =
                    TraceEvent::new(world.clock.elapsed(), Arc::clone(&name), Operation::Panic)
                        .with_note(format!("in a spawned task: {message}"));
                world.trace.record(event);
                world.stop_with(RunOutcome::Panicked {
                    service: name.to_string(),
                    message,
                });
            }
        });
        let mut children = self
            .inner
            .life
            .children
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        children.push(child_abort);
        children.push(watcher.abort_handle());
    }

    // --- The wrapper every operation goes through ---------------------------

    async fn before(
        &self,
        operation: Operation,
        target: &str,
        message_id: Option<&str>,
    ) -> Planned {
        let world = &self.inner.world;
        if self.inner.life.has_crashed() {
            // A clone held by a task that outlived the crash: it is a ghost.
            return std::future::pending().await;
        }
        // In a run with a schedule, a store statement waits its turn.
        if self.inner.explored
            && let Some(scheduler) = &world.scheduler
            && target == STORE_TARGET
            && operation != Operation::Begin
        {
            scheduler.gate(&self.inner.name).await;
        }
        let number = if self.inner.explored {
            match world.next_operation() {
                Some(number) => Some(number),
                None => {
                    world.stop_with(RunOutcome::TooManyOperations {
                        service: self.inner.name.to_string(),
                        limit: world.max_operations,
                    });
                    return std::future::pending().await;
                }
            }
        } else {
            None
        };
        // An operation is progress: the wake-ups that led here were not spinning.
        self.inner
            .life
            .wakeups_since_operation
            .store(0, Ordering::SeqCst);
        world.broker.advance();
        let now = Instant::now();
        world.update_service(&self.inner.name, |status| {
            status.last_activity = now;
            status.current = Some(format!("{} {target}", operation.name()));
        });
        let fault = number.and_then(|number| world.plan.fault_at(number));
        let outage_target = outage_target(operation, target);
        let mut refused = world.is_down(outage_target, now);
        match fault {
            Some(Fault::CrashBefore) => {
                return self
                    .crash(number, operation, target, message_id, Fault::CrashBefore)
                    .await;
            }
            Some(Fault::Delay(delay)) => tokio::time::sleep(delay).await,
            Some(Fault::Unavailable) => refused = true,
            Some(Fault::Outage(length)) => {
                world.start_outage(outage_target, now, length);
                refused = true;
            }
            _ => {}
        }
        Planned {
            number,
            fault,
            refused,
        }
    }

    /// After the operation: the crash-after point, or a lost reply. Returns
    /// `true` if the caller must turn its success into a timeout.
    async fn after(
        &self,
        planned: &Planned,
        operation: Operation,
        target: &str,
        message_id: Option<&str>,
    ) -> bool {
        let world = &self.inner.world;
        world.update_service(&self.inner.name, |status| {
            status.last_activity = Instant::now();
            status.current = None;
        });
        match planned.fault {
            Some(Fault::CrashAfter) if !planned.refused => {
                self.crash(
                    planned.number,
                    operation,
                    target,
                    message_id,
                    Fault::CrashAfter,
                )
                .await
            }
            Some(Fault::LostResponse) if !planned.refused => true,
            _ => false,
        }
    }

    /// Crashes this life of the service: records it, tells the runtime, and
    /// never returns (the runtime drops the future that awaits this).
    async fn crash<T>(
        &self,
        number: Option<u64>,
        operation: Operation,
        target: &str,
        message_id: Option<&str>,
        fault: Fault,
    ) -> T {
        let world = &self.inner.world;
        let when = if fault == Fault::CrashBefore {
            "before"
        } else {
            "after"
        };
        let mut event = TraceEvent::new(
            world.clock.elapsed(),
            Arc::clone(&self.inner.name),
            Operation::Crash,
        );
        event.operation_number = number;
        event.target = Some(Arc::from(target));
        event.message_id = message_id.map(Arc::from);
        event.fault = Some(fault);
        event.note = Some(format!("{when} {}", operation.name()).into());
        world.trace.record(event);
        self.inner.life.crashed.store(true, Ordering::SeqCst);
        self.inner.life.crash.notify_one();
        std::future::pending().await
    }

    fn meta(&self, planned: &Planned) -> OpMeta {
        OpMeta {
            actor: Arc::clone(&self.inner.name),
            connection: self.inner.connection,
            operation_number: planned.number,
            fault: planned.fault,
        }
    }

    /// Records an operation that was refused because its target was down.
    fn record_refused(
        &self,
        planned: &Planned,
        operation: Operation,
        target: &str,
        message: Option<(&str, Option<&str>)>,
        error: String,
    ) {
        let world = &self.inner.world;
        let mut event = TraceEvent::new(
            world.clock.elapsed(),
            Arc::clone(&self.inner.name),
            operation,
        );
        event.operation_number = planned.number;
        event.target = Some(Arc::from(target));
        if let Some((id, correlation)) = message {
            event.message_id = Some(Arc::from(id));
            event.correlation_id = correlation.map(Arc::from);
        }
        event.fault = planned.fault;
        event.outcome = Outcome::Failed(error.into_boxed_str());
        world.trace.record(event);
    }

    // --- Broker operations ------------------------------------------------------

    /// Sends a message to a queue or topic (see [`crate::Client::send`]).
    pub async fn send(&self, path: &str, message: Message) -> Result<(), BrokerError> {
        let id = Arc::clone(&message.message_id);
        let planned = self.before(Operation::Send, path, Some(&id)).await;
        if planned.refused {
            self.record_refused(
                &planned,
                Operation::Send,
                path,
                Some((&id, message.correlation_id())),
                BrokerError::Unavailable.to_string(),
            );
            self.after(&planned, Operation::Send, path, Some(&id)).await;
            return Err(BrokerError::Unavailable);
        }
        let result = self
            .inner
            .world
            .broker
            .send_as(&self.meta(&planned), path, message);
        self.finish(&planned, Operation::Send, path, Some(&id), result)
            .await
    }

    /// Schedules a message (see [`crate::Client::schedule`]).
    pub async fn schedule(
        &self,
        path: &str,
        message: Message,
        enqueue_at: UtcTime,
    ) -> Result<u64, BrokerError> {
        let id = Arc::clone(&message.message_id);
        let planned = self.before(Operation::Schedule, path, Some(&id)).await;
        if planned.refused {
            self.record_refused(
                &planned,
                Operation::Schedule,
                path,
                Some((&id, message.correlation_id())),
                BrokerError::Unavailable.to_string(),
            );
            self.after(&planned, Operation::Schedule, path, Some(&id))
                .await;
            return Err(BrokerError::Unavailable);
        }
        let result =
            self.inner
                .world
                .broker
                .schedule_as(&self.meta(&planned), path, message, enqueue_at);
        self.finish(&planned, Operation::Schedule, path, Some(&id), result)
            .await
    }

    /// Cancels a scheduled message.
    pub async fn cancel_scheduled(
        &self,
        path: &str,
        sequence_number: u64,
    ) -> Result<(), BrokerError> {
        self.simple_broker_op(Operation::CancelScheduled, path, None, |broker, meta| {
            broker.cancel_scheduled_as(meta, path, sequence_number)
        })
        .await
    }

    /// Receives the next message under peek-lock, waiting as long as it
    /// takes. A consumer waiting here is idle, not stuck.
    pub async fn receive(&self, path: &str) -> Result<Delivery, BrokerError> {
        loop {
            if let Some(delivery) = self.receive_with(path, ReceiveOptions::default()).await? {
                return Ok(delivery);
            }
        }
    }

    /// Receives with options (a mode; how long to wait).
    pub async fn receive_with(
        &self,
        path: &str,
        options: ReceiveOptions,
    ) -> Result<Option<Delivery>, BrokerError> {
        self.receive_operation(path, options, Operation::Receive, None)
            .await
    }

    /// A Kafka-style auto-committing consumer of `path` (see
    /// [`AutoCommitConsumer`]); each poll is an operation of this service.
    pub fn auto_commit_consumer(&self, path: &str, interval: Duration) -> AutoCommitConsumer {
        AutoCommitConsumer::simulated(self.clone(), path, interval)
    }

    /// Polls `path` under peek-lock until a message comes; with
    /// `auto_commit_at`, arranges for it to be committed then (if this
    /// service's connection is still open).
    pub(crate) async fn poll_kafka(
        &self,
        path: &str,
        auto_commit_at: Option<Instant>,
    ) -> Result<Delivery, BrokerError> {
        loop {
            let polled = self
                .receive_operation(
                    path,
                    ReceiveOptions::default(),
                    Operation::Poll,
                    auto_commit_at,
                )
                .await?;
            if let Some(delivery) = polled {
                return Ok(delivery);
            }
        }
    }

    async fn receive_operation(
        &self,
        path: &str,
        options: ReceiveOptions,
        operation: Operation,
        auto_commit_at: Option<Instant>,
    ) -> Result<Option<Delivery>, BrokerError> {
        let planned = self.before(operation, path, None).await;
        if planned.refused {
            self.record_refused(
                &planned,
                operation,
                path,
                None,
                BrokerError::Unavailable.to_string(),
            );
            self.after(&planned, operation, path, None).await;
            return Err(BrokerError::Unavailable);
        }
        let world = &self.inner.world;
        world.update_service(&self.inner.name, |status| status.waiting = true);
        self.inner.life.set_waiting(true);
        let lose_lock = planned.fault == Some(Fault::DuplicateDelivery);
        let result = world
            .broker
            .receive_as(&self.meta(&planned), path, options, lose_lock, operation)
            .await;
        self.inner.life.set_waiting(false);
        world.update_service(&self.inner.name, |status| status.waiting = false);
        let id = match &result {
            Ok(Some(delivery)) => Some(Arc::clone(&delivery.message_id)),
            _ => None,
        };
        let result = self
            .finish(&planned, operation, path, id.as_deref(), result)
            .await;
        // Only a record the application actually got is auto-committed: a
        // lost reply or a crash before the poll returned hands it to nobody.
        if let (Ok(Some(delivery)), Some(due)) = (&result, auto_commit_at) {
            world.broker.auto_commit_at(
                delivery,
                due,
                self.inner.connection,
                Arc::clone(&self.inner.name),
                crate::auto_commit::COMMITTED_ON_THE_TIMER,
            );
        }
        result
    }

    /// Arranges for `delivery` to be committed at `due` by the broker, if
    /// this service's connection is still open then and still holds the
    /// lock: a stored offset, or a commit sent in the background.
    pub(crate) fn commit_at(&self, delivery: &Delivery, due: Instant, note: &'static str) {
        self.inner.world.broker.auto_commit_at(
            delivery,
            due,
            self.inner.connection,
            Arc::clone(&self.inner.name),
            note,
        );
    }

    /// Settles: processed, remove it.
    pub async fn complete(&self, delivery: &Delivery) -> Result<(), BrokerError> {
        self.settle(delivery, Settlement::Complete, Operation::Complete)
            .await
    }

    /// Settles: give it back now.
    pub async fn abandon(&self, delivery: &Delivery) -> Result<(), BrokerError> {
        self.settle(delivery, Settlement::Abandon, Operation::Abandon)
            .await
    }

    /// Settles: to the dead-letter queue, with a reason and description.
    pub async fn dead_letter(
        &self,
        delivery: &Delivery,
        reason: &str,
        description: &str,
    ) -> Result<(), BrokerError> {
        self.settle(
            delivery,
            Settlement::DeadLetter {
                reason,
                description,
            },
            Operation::DeadLetter,
        )
        .await
    }

    /// Settles: set aside for [`ServiceCtx::receive_deferred`].
    pub async fn defer(&self, delivery: &Delivery) -> Result<(), BrokerError> {
        self.settle(delivery, Settlement::Defer, Operation::Defer)
            .await
    }

    async fn settle(
        &self,
        delivery: &Delivery,
        settlement: Settlement<'_>,
        operation: Operation,
    ) -> Result<(), BrokerError> {
        let path = delivery.path.clone();
        self.simple_broker_op(
            operation,
            &path,
            Some(&delivery.message_id),
            |broker, meta| broker.settle_as(meta, delivery, settlement),
        )
        .await
    }

    /// Extends a lock.
    pub async fn renew_lock(&self, delivery: &mut Delivery) -> Result<UtcTime, BrokerError> {
        let path = delivery.path.clone();
        let id = Arc::clone(&delivery.message_id);
        self.simple_broker_op(Operation::RenewLock, &path, Some(&id), |broker, meta| {
            broker.renew_lock_as(meta, delivery)
        })
        .await
    }

    /// Receives a deferred message by sequence number.
    pub async fn receive_deferred(
        &self,
        path: &str,
        sequence_number: u64,
    ) -> Result<Delivery, BrokerError> {
        self.simple_broker_op(Operation::ReceiveDeferred, path, None, |broker, meta| {
            broker.receive_deferred_as(meta, path, sequence_number)
        })
        .await
    }

    /// Moves a dead letter back into its entity (see
    /// [`crate::Client::resubmit_dead_letter`]).
    pub async fn resubmit_dead_letter(
        &self,
        path: &str,
        sequence_number: u64,
    ) -> Result<u64, BrokerError> {
        self.simple_broker_op(Operation::Resubmit, path, None, |broker, meta| {
            broker.resubmit_dead_letter_as(meta, path, sequence_number)
        })
        .await
    }

    async fn simple_broker_op<T>(
        &self,
        operation: Operation,
        path: &str,
        message_id: Option<&str>,
        perform: impl FnOnce(&crate::Broker, &OpMeta) -> Result<T, BrokerError>,
    ) -> Result<T, BrokerError> {
        let planned = self.before(operation, path, message_id).await;
        if planned.refused {
            self.record_refused(
                &planned,
                operation,
                path,
                message_id.map(|id| (id, None)),
                BrokerError::Unavailable.to_string(),
            );
            self.after(&planned, operation, path, message_id).await;
            return Err(BrokerError::Unavailable);
        }
        let result = perform(&self.inner.world.broker, &self.meta(&planned));
        self.finish(&planned, operation, path, message_id, result)
            .await
    }

    async fn finish<T>(
        &self,
        planned: &Planned,
        operation: Operation,
        path: &str,
        message_id: Option<&str>,
        result: Result<T, BrokerError>,
    ) -> Result<T, BrokerError> {
        let lost = self.after(planned, operation, path, message_id).await;
        match result {
            Ok(_) if lost => Err(BrokerError::Timeout),
            other => other,
        }
    }

    // --- Store operations -------------------------------------------------------

    /// Begins a store transaction. The returned [`Tx`] rolls back if dropped
    /// without a commit, which is what happens to it in a crash.
    pub async fn begin(&self, isolation: IsolationLevel) -> Result<Tx, StoreError> {
        let planned = self.before(Operation::Begin, STORE_TARGET, None).await;
        if planned.refused {
            self.record_store(
                &planned,
                Operation::Begin,
                None,
                Err(StoreError::Unavailable),
            );
            self.after(&planned, Operation::Begin, STORE_TARGET, None)
                .await;
            return Err(StoreError::Unavailable);
        }
        let transaction = self.inner.world.store.begin(isolation).await;
        self.record_store(
            &planned,
            Operation::Begin,
            Some(format!("tx {} {isolation:?}", transaction.id())),
            Ok(()),
        );
        let tx = Tx {
            ctx: self.clone(),
            transaction: Some(transaction),
        };
        if self
            .after(&planned, Operation::Begin, STORE_TARGET, None)
            .await
        {
            return Err(StoreError::Unavailable);
        }
        Ok(tx)
    }

    /// The committed changes after `position` (the change feed, for CDC).
    pub async fn changes_since(&self, position: u64) -> Result<Vec<Change>, StoreError> {
        let planned = self
            .before(Operation::ReadChanges, STORE_TARGET, None)
            .await;
        let result = if planned.refused || self.inner.world.store.is_unavailable() {
            Err(StoreError::Unavailable)
        } else {
            Ok(self.inner.world.store.changes_since(position))
        };
        let note = match &result {
            Ok(changes) => Some(format!("after {position}: {} change(s)", changes.len())),
            Err(_) => None,
        };
        self.record_store(
            &planned,
            Operation::ReadChanges,
            note,
            result.as_ref().map(|_| ()).map_err(Clone::clone),
        );
        let lost = self
            .after(&planned, Operation::ReadChanges, STORE_TARGET, None)
            .await;
        match result {
            Ok(_) if lost => Err(StoreError::Unavailable),
            other => other,
        }
    }

    /// Waits until the change feed has something after `position`. Not an
    /// operation (nothing can fail); a service waiting here is idle.
    pub async fn wait_for_changes(&self, position: u64) {
        let world = &self.inner.world;
        world.update_service(&self.inner.name, |status| status.waiting = true);
        self.inner.life.set_waiting(true);
        world.store.wait_for_changes(position).await;
        self.inner.life.set_waiting(false);
        self.inner
            .life
            .wakeups_since_operation
            .store(0, Ordering::SeqCst);
        world.update_service(&self.inner.name, |status| {
            status.waiting = false;
            status.last_activity = Instant::now();
        });
    }

    /// Stops consuming for `duration`, and says why in the trace: what a
    /// kill switch or a circuit breaker does when the service's downstream
    /// keeps failing (chapter 9). The messages wait in their queue meanwhile.
    ///
    /// With a pull client, pausing is simply not asking for the next message,
    /// and a plain `tokio::time::sleep` does that too. This one leaves two
    /// notes in the trace, `pause` (with `reason`) and `resume`, so that a
    /// timeline shows why the service went quiet, and the runtime counts the
    /// pause as idle, like waiting for a message: however long it is, the
    /// service is not reported stuck. It is not an operation: it has no
    /// number, no crash point and nothing can fail (a crash during the pause
    /// ends it, with the rest of the service's memory).
    ///
    /// Elsewhere: rdkafka's `Consumer::pause` and `resume` stop fetching from
    /// partitions while the consumer keeps polling, so that it stays in its
    /// group; a Service Bus processor is stopped and started again.
    pub async fn pause(&self, duration: Duration, reason: &str) {
        let world = &self.inner.world;
        let name = &self.inner.name;
        let pause = TraceEvent::new(world.clock.elapsed(), Arc::clone(name), Operation::Pause)
            .with_note(format!("for {}: {reason}", spoken(duration)));
        world.trace.record(pause);
        world.update_service(name, |status| status.waiting = true);
        self.inner.life.set_waiting(true);
        tokio::time::sleep(duration).await;
        self.inner.life.set_waiting(false);
        self.inner
            .life
            .wakeups_since_operation
            .store(0, Ordering::SeqCst);
        world.update_service(name, |status| {
            status.waiting = false;
            status.last_activity = Instant::now();
        });
        world.trace.record(TraceEvent::new(
            world.clock.elapsed(),
            Arc::clone(name),
            Operation::Resume,
        ));
    }

    fn record_store(
        &self,
        planned: &Planned,
        operation: Operation,
        note: Option<String>,
        result: Result<(), StoreError>,
    ) {
        let world = &self.inner.world;
        let mut event = TraceEvent::new(
            world.clock.elapsed(),
            Arc::clone(&self.inner.name),
            operation,
        );
        event.operation_number = planned.number;
        event.target = Some(Arc::from(STORE_TARGET));
        event.correlation_id = self.inner.concerning.clone();
        event.fault = planned.fault;
        event.note = note.map(Arc::from);
        if let Err(error) = result {
            event.outcome = Outcome::Failed(error.to_string().into_boxed_str());
        }
        world.trace.record(event);
    }

    // --- Downstream systems -----------------------------------------------------

    /// Calls a downstream system: an effect that cannot be rolled back (send
    /// an email, charge a card). `key` identifies the effect for graders (and
    /// for the system, if it deduplicates: most do not); `detail` is recorded
    /// with it.
    pub async fn call_downstream(
        &self,
        system: &str,
        key: &str,
        detail: impl Into<String>,
    ) -> Result<(), DownstreamError> {
        let planned = self.before(Operation::Call, system, Some(key)).await;
        let world = &self.inner.world;
        let options = world
            .downstream_options
            .get(system)
            .cloned()
            .unwrap_or_default();
        if !options.latency.is_zero() {
            tokio::time::sleep(options.latency).await;
        }
        let since_start = world.clock.elapsed();
        let in_outage = options
            .outages
            .iter()
            .any(|(start, length)| *start <= since_start && since_start < *start + *length);
        let mut event = TraceEvent::new(since_start, Arc::clone(&self.inner.name), Operation::Call);
        event.operation_number = planned.number;
        event.target = Some(Arc::from(system));
        event.message_id = Some(Arc::from(key));
        event.fault = planned.fault;
        let result = if planned.refused || in_outage {
            let error = DownstreamError::Unavailable {
                system: system.to_owned(),
            };
            event.outcome = Outcome::Failed(error.to_string().into_boxed_str());
            Err(error)
        } else {
            world.record_call(DownstreamCall {
                at: since_start,
                actor: Arc::clone(&self.inner.name),
                system: Arc::from(system),
                key: Arc::from(key),
                detail: detail.into(),
            });
            Ok(())
        };
        world.trace.record(event);
        let lost = self
            .after(&planned, Operation::Call, system, Some(key))
            .await;
        match result {
            Ok(()) if lost => Err(DownstreamError::Timeout {
                system: system.to_owned(),
            }),
            other => other,
        }
    }
}

/// A pause's length as a trace note says it: `5 min`, `90 s`, `250 ms`.
fn spoken(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis.is_multiple_of(60_000) && millis > 0 {
        format!("{} min", millis / 60_000)
    } else if millis.is_multiple_of(1_000) {
        format!("{} s", millis / 1_000)
    } else {
        format!("{millis} ms")
    }
}

/// What an outage of an operation's target takes down: a store operation the
/// store, a downstream call its system, a broker operation the whole broker.
fn outage_target(operation: Operation, target: &str) -> &str {
    if target == STORE_TARGET {
        STORE_TARGET
    } else if operation == Operation::Call {
        target
    } else {
        BROKER_TARGET
    }
}

/// A store transaction opened through a [`ServiceCtx`]: the same statements
/// as [`Transaction`], each an operation with crash points and faults.
/// Dropping it without a commit rolls it back.
#[derive(Debug)]
pub struct Tx {
    ctx: ServiceCtx,
    /// `None` only after commit or rollback consumed it.
    transaction: Option<Transaction>,
}

impl Tx {
    /// The store's transaction id.
    pub fn id(&self) -> u64 {
        self.transaction.as_ref().map_or(0, Transaction::id)
    }

    async fn statement<T>(
        &mut self,
        operation: Operation,
        table: &str,
        key: Option<&str>,
        describe: impl Fn(&T) -> String,
        run: impl AsyncFnOnce(&mut Transaction) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let ctx = self.ctx.clone();
        let planned = ctx.before(operation, STORE_TARGET, None).await;
        let Some(transaction) = self.transaction.as_mut() else {
            return Err(StoreError::TransactionAborted);
        };
        let store = &ctx.inner.world.store;
        // A refused statement still reaches the store, as "unavailable", so
        // that the transaction is aborted as a broken connection would abort
        // it.
        let forced_down = planned.refused && !store.is_unavailable();
        if forced_down {
            store.set_unavailable(true);
        }
        let result = run(transaction).await;
        if forced_down {
            store.set_unavailable(false);
        }
        let place = match key {
            Some(key) => format!("{table}/{key}"),
            None => table.to_owned(),
        };
        let note = match &result {
            Ok(value) => format!("{place}: {}", describe(value)),
            Err(_) => place,
        };
        ctx.record_store(
            &planned,
            operation,
            Some(note),
            result.as_ref().map(|_| ()).map_err(Clone::clone),
        );
        let lost = ctx.after(&planned, operation, STORE_TARGET, None).await;
        match result {
            Ok(_) if lost => Err(StoreError::Unavailable),
            other => other,
        }
    }

    /// `SELECT` one row (see [`Transaction::get`]).
    pub async fn get(&mut self, table: &str, key: &str) -> Result<Option<Row>, StoreError> {
        self.statement(
            Operation::Get,
            table,
            Some(key),
            describe_row,
            async |tx: &mut Transaction| tx.get(table, key).await,
        )
        .await
    }

    /// `SELECT … FOR UPDATE` (see [`Transaction::get_for_update`]).
    pub async fn get_for_update(
        &mut self,
        table: &str,
        key: &str,
    ) -> Result<Option<Row>, StoreError> {
        self.statement(
            Operation::GetForUpdate,
            table,
            Some(key),
            describe_row,
            async |tx: &mut Transaction| tx.get_for_update(table, key).await,
        )
        .await
    }

    /// Every row of a table (see [`Transaction::scan`]).
    pub async fn scan(&mut self, table: &str) -> Result<Vec<(String, Row)>, StoreError> {
        self.statement(
            Operation::Scan,
            table,
            None,
            |rows: &Vec<(String, Row)>| format!("{} row(s)", rows.len()),
            async |tx: &mut Transaction| tx.scan(table).await,
        )
        .await
    }

    /// Inserts a row (see [`Transaction::insert`]).
    pub async fn insert(
        &mut self,
        table: &str,
        key: &str,
        value: serde_json::Value,
    ) -> Result<Row, StoreError> {
        self.statement(
            Operation::Insert,
            table,
            Some(key),
            describe_written,
            async |tx: &mut Transaction| tx.insert(table, key, value).await,
        )
        .await
    }

    /// Inserts or updates a row (see [`Transaction::upsert`]).
    pub async fn upsert(
        &mut self,
        table: &str,
        key: &str,
        value: serde_json::Value,
    ) -> Result<Row, StoreError> {
        self.statement(
            Operation::Upsert,
            table,
            Some(key),
            describe_written,
            async |tx: &mut Transaction| tx.upsert(table, key, value).await,
        )
        .await
    }

    /// Updates a row if its version is `expected_version` (see
    /// [`Transaction::update_if_version`]).
    pub async fn update_if_version(
        &mut self,
        table: &str,
        key: &str,
        expected_version: u64,
        value: serde_json::Value,
    ) -> Result<Row, StoreError> {
        self.statement(
            Operation::UpdateIfVersion,
            table,
            Some(key),
            describe_written,
            async |tx: &mut Transaction| {
                tx.update_if_version(table, key, expected_version, value)
                    .await
            },
        )
        .await
    }

    /// Updates a row from its own value in one statement, `SET stock =
    /// stock - 3 WHERE stock >= 3` (see [`Transaction::update_with`]).
    pub async fn update_with(
        &mut self,
        table: &str,
        key: &str,
        change: impl FnOnce(&serde_json::Value) -> Option<serde_json::Value>,
    ) -> Result<Option<Row>, StoreError> {
        self.statement(
            Operation::Update,
            table,
            Some(key),
            |written: &Option<Row>| match written {
                Some(row) => format!("now v{}", row.version),
                None => "0 rows".to_owned(),
            },
            async |tx: &mut Transaction| tx.update_with(table, key, change).await,
        )
        .await
    }

    /// Deletes a row (see [`Transaction::delete`]).
    pub async fn delete(&mut self, table: &str, key: &str) -> Result<bool, StoreError> {
        self.statement(
            Operation::Delete,
            table,
            Some(key),
            |deleted: &bool| {
                if *deleted {
                    "deleted".to_owned()
                } else {
                    "no such row".to_owned()
                }
            },
            async |tx: &mut Transaction| tx.delete(table, key).await,
        )
        .await
    }

    /// Commits. With a lost reply the commit happened and you get
    /// [`StoreError::Unavailable`]: the outcome is unknown to you.
    pub async fn commit(mut self) -> Result<(), StoreError> {
        let ctx = self.ctx.clone();
        let planned = ctx.before(Operation::Commit, STORE_TARGET, None).await;
        let Some(transaction) = self.transaction.take() else {
            return Err(StoreError::TransactionAborted);
        };
        let id = transaction.id();
        let store = &ctx.inner.world.store;
        let forced_down = planned.refused && !store.is_unavailable();
        if forced_down {
            store.set_unavailable(true);
        }
        let result = transaction.commit().await;
        if forced_down {
            store.set_unavailable(false);
        }
        ctx.record_store(
            &planned,
            Operation::Commit,
            Some(format!("tx {id}")),
            result.clone(),
        );
        let lost = ctx
            .after(&planned, Operation::Commit, STORE_TARGET, None)
            .await;
        match result {
            Ok(()) if lost => Err(StoreError::Unavailable),
            other => other,
        }
    }

    /// Rolls back.
    pub async fn rollback(mut self) {
        let ctx = self.ctx.clone();
        let planned = ctx.before(Operation::Rollback, STORE_TARGET, None).await;
        if let Some(transaction) = self.transaction.take() {
            let id = transaction.id();
            transaction.rollback().await;
            ctx.record_store(
                &planned,
                Operation::Rollback,
                Some(format!("tx {id}")),
                Ok(()),
            );
        }
        ctx.after(&planned, Operation::Rollback, STORE_TARGET, None)
            .await;
    }
}

fn describe_row(row: &Option<Row>) -> String {
    match row {
        Some(row) => format!("found v{}", row.version),
        None => "not found".to_owned(),
    }
}

fn describe_written(row: &Row) -> String {
    format!("now v{}", row.version)
}

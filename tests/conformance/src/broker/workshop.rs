//! Our broker behind the [`Engine`] trait, on virtual time.
//!
//! The scenarios run here exactly as they run against a real engine, on a
//! tokio runtime whose clock is paused: a 60-second lock expires in no real
//! time, and the trace shows the exact virtual milliseconds. Every real
//! engine's disagreement report shows this run beside the engine's, so the
//! reader sees what the book's model does and what the real thing did.

use std::future::Future;
use std::time::Duration;

use broker::{
    Broker, BrokerError, Client, DEFAULT_LOCK_DURATION, Delivery, Message, QueueOptions,
    ReceiveMode, ReceiveOptions, dead_letter_path,
};

use super::{
    AckMode, AfterLimit, Consumer, Engine, EngineError, EngineKind, QueueSpec, Received, Settle,
};

const ENGINE: &str = "workshop broker";

/// The dead-letter reason our adapter gives a rejected message (RabbitMQ's
/// word for it).
pub const REJECTED: &str = "rejected";

fn broker_error(what: impl Into<String>) -> impl FnOnce(BrokerError) -> EngineError {
    super::client_error(ENGINE, what)
}

/// The workshop broker, with the defaults the book teaches (a 60 s lock, a
/// 10-minute duplicate-detection window).
#[derive(Debug)]
pub struct Workshop {
    broker: Broker,
    producer: Client,
    consumers: u32,
}

impl Default for Workshop {
    fn default() -> Workshop {
        Workshop::new()
    }
}

impl Workshop {
    /// A fresh broker. Must be made inside a tokio runtime (its clock is
    /// tokio's).
    pub fn new() -> Workshop {
        let broker = Broker::new();
        let producer = broker.client("producer");
        Workshop {
            broker,
            producer,
            consumers: 0,
        }
    }
}

/// Runs `scenario` against a fresh [`Workshop`] on a current-thread runtime
/// with a paused clock, on a thread of its own (the caller may itself be
/// inside a runtime, running the same scenario against a real engine).
///
/// # Panics
///
/// If the runtime cannot be built, or the scenario panics.
pub fn on_virtual_time<F, Fut, O>(scenario: F) -> O
where
    F: FnOnce(Workshop) -> Fut + Send + 'static,
    Fut: Future<Output = O>,
    O: Send + 'static,
{
    let worker = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .expect("a current-thread tokio runtime with a paused clock");
        runtime.block_on(async move { scenario(Workshop::new()).await })
    });
    match worker.join() {
        Ok(outcome) => outcome,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

impl Engine for Workshop {
    type Consumer = WorkshopConsumer;

    fn kind(&self) -> EngineKind {
        EngineKind::Workshop
    }

    fn version(&self) -> String {
        format!("{ENGINE} (exercises/broker, virtual time)")
    }

    fn lock_timeout(&self) -> Option<Duration> {
        Some(DEFAULT_LOCK_DURATION)
    }

    fn quiet_period(&self) -> Duration {
        // Virtual time: any wait is free, so wait well past every timer.
        DEFAULT_LOCK_DURATION * 5
    }

    async fn declare(&mut self, spec: &QueueSpec) -> Result<(), EngineError> {
        let mut options = QueueOptions::default();
        if let Some(limit) = spec.delivery_limit {
            options = options.with_max_delivery_count(limit);
        }
        if spec.duplicate_detection {
            options = options.with_duplicate_detection();
        }
        self.broker
            .create_queue(&spec.name, options)
            .map_err(broker_error(format!("creating queue {}", spec.name)))
    }

    async fn publish(
        &mut self,
        queue: &str,
        message_id: &str,
        body: &[u8],
    ) -> Result<(), EngineError> {
        self.producer
            .send(queue, Message::new(message_id, body.to_vec()))
            .await
            .map_err(broker_error(format!("sending {message_id} to {queue}")))
    }

    async fn consumer(
        &mut self,
        queue: &str,
        mode: AckMode,
    ) -> Result<WorkshopConsumer, EngineError> {
        self.consumers += 1;
        Ok(WorkshopConsumer {
            client: self.broker.client(&format!("consumer-{}", self.consumers)),
            queue: queue.to_owned(),
            mode: match mode {
                AckMode::Manual => ReceiveMode::PeekLock,
                AckMode::Auto => ReceiveMode::ReceiveAndDelete,
            },
        })
    }

    async fn after_limit(
        &mut self,
        queue: &str,
        message_id: &str,
    ) -> Result<AfterLimit, EngineError> {
        let dead_letters = dead_letter_path(queue);
        let letter = self
            .producer
            .receive_with(&dead_letters, ReceiveOptions::wait_at_most(Duration::ZERO))
            .await
            .map_err(broker_error(format!("reading {dead_letters}")))?;
        if let Some(letter) = letter.filter(|letter| letter.message_id() == message_id) {
            let reason = letter
                .dead_letter_reason
                .as_deref()
                .unwrap_or("")
                .to_owned();
            return Ok(AfterLimit::DeadLettered { reason });
        }
        let stats = self
            .broker
            .stats(queue)
            .map_err(broker_error(format!("reading the counts of {queue}")))?;
        Ok(if stats.unsettled() > 0 {
            AfterLimit::StillPending
        } else {
            AfterLimit::Gone
        })
    }
}

/// A [`Client`] receiving from one queue.
#[derive(Debug)]
pub struct WorkshopConsumer {
    client: Client,
    queue: String,
    mode: ReceiveMode,
}

impl Consumer for WorkshopConsumer {
    type Handle = Delivery;

    async fn receive(
        &mut self,
        within: Duration,
    ) -> Result<Option<Received<Delivery>>, EngineError> {
        let options = ReceiveOptions::wait_at_most(within).with_mode(self.mode);
        let delivery = self
            .client
            .receive_with(&self.queue, options)
            .await
            .map_err(broker_error(format!("receiving from {}", self.queue)))?;
        Ok(delivery.map(|delivery| Received {
            message_id: delivery.message_id().to_owned(),
            delivery_count: Some(delivery.delivery_count),
            redelivered: None,
            handle: delivery,
        }))
    }

    async fn settle(
        &mut self,
        received: Received<Delivery>,
        how: Settle,
    ) -> Result<(), EngineError> {
        let delivery = &received.handle;
        let what = format!("settling {} ({how:?})", received.message_id);
        match how {
            Settle::Ack => self.client.complete(delivery).await,
            Settle::Requeue => self.client.abandon(delivery).await,
            Settle::Reject => {
                self.client
                    .dead_letter(delivery, REJECTED, "the consumer rejected it")
                    .await
            }
        }
        .map_err(broker_error(what))
    }

    async fn crash(self) {
        // The model the book describes: a crashed consumer's locks stay until
        // they expire, as Service Bus does when the receiver's process dies.
        drop(self.client);
    }
}

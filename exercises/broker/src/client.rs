//! A client: one connection to the broker, under a name.
//!
//! This is the plain API, with no faults: tests of the broker's semantics and
//! the benchmark use it directly. Inside the simulation, services get a
//! [`crate::simulation::ServiceCtx`] instead, which offers the same operations
//! with crash points and fault injection around each.
//!
//! The methods are `async` like every real broker SDK's, even those that
//! never wait here, so code moves between the two without change.

use std::sync::Arc;
use std::time::Duration;

use crate::auto_commit::AutoCommitConsumer;
use crate::broker::{Broker, OpMeta, Settlement};
use crate::clock::UtcTime;
use crate::envelope::Message;
use crate::error::BrokerError;
use crate::lock::ConnectionId;
use crate::receive::{Delivery, ReceiveOptions};
use crate::trace::Operation;

/// A named connection to a [`Broker`] (see [`Broker::client`]).
#[derive(Clone, Debug)]
pub struct Client {
    broker: Broker,
    meta: OpMeta,
}

impl Client {
    pub(crate) fn new(broker: Broker, actor: Arc<str>, connection: ConnectionId) -> Client {
        Client {
            broker,
            meta: OpMeta {
                actor,
                connection,
                operation_number: None,
                fault: None,
            },
        }
    }

    /// The name the trace shows.
    pub fn name(&self) -> &str {
        &self.meta.actor
    }

    /// The broker.
    pub fn broker(&self) -> &Broker {
        &self.broker
    }

    /// Sends a message to a queue or topic. With duplicate detection on, a
    /// repeated message id within the window succeeds and is dropped.
    pub async fn send(&self, path: &str, message: Message) -> Result<(), BrokerError> {
        self.broker.send_as(&self.meta, path, message)
    }

    /// Schedules a message to be enqueued at `enqueue_at`; returns the
    /// sequence number that cancels it (0 if duplicate detection dropped it:
    /// there is nothing to cancel).
    pub async fn schedule(
        &self,
        path: &str,
        message: Message,
        enqueue_at: UtcTime,
    ) -> Result<u64, BrokerError> {
        self.broker
            .schedule_as(&self.meta, path, message, enqueue_at)
    }

    /// Cancels a scheduled message.
    pub async fn cancel_scheduled(
        &self,
        path: &str,
        sequence_number: u64,
    ) -> Result<(), BrokerError> {
        self.broker
            .cancel_scheduled_as(&self.meta, path, sequence_number)
    }

    /// Receives the next message under peek-lock, waiting as long as it takes.
    pub async fn receive(&self, path: &str) -> Result<Delivery, BrokerError> {
        loop {
            if let Some(delivery) = self
                .broker
                .receive_as(
                    &self.meta,
                    path,
                    ReceiveOptions::default(),
                    false,
                    Operation::Receive,
                )
                .await?
            {
                return Ok(delivery);
            }
        }
    }

    /// Receives with options: a mode, and how long to wait (`None` after the
    /// wait with no message).
    pub async fn receive_with(
        &self,
        path: &str,
        options: ReceiveOptions,
    ) -> Result<Option<Delivery>, BrokerError> {
        self.broker
            .receive_as(&self.meta, path, options, false, Operation::Receive)
            .await
    }

    /// Settles: processed, remove it.
    pub async fn complete(&self, delivery: &Delivery) -> Result<(), BrokerError> {
        self.broker
            .settle_as(&self.meta, delivery, Settlement::Complete)
    }

    /// Settles: give it back now, delivery count kept (the next delivery
    /// counts one more).
    pub async fn abandon(&self, delivery: &Delivery) -> Result<(), BrokerError> {
        self.broker
            .settle_as(&self.meta, delivery, Settlement::Abandon)
    }

    /// Settles: move it to the dead-letter queue with a reason and a
    /// description the producer can act on.
    pub async fn dead_letter(
        &self,
        delivery: &Delivery,
        reason: &str,
        description: &str,
    ) -> Result<(), BrokerError> {
        self.broker.settle_as(
            &self.meta,
            delivery,
            Settlement::DeadLetter {
                reason,
                description,
            },
        )
    }

    /// Settles: set it aside; only [`Client::receive_deferred`] with its
    /// sequence number gets it back.
    pub async fn defer(&self, delivery: &Delivery) -> Result<(), BrokerError> {
        self.broker
            .settle_as(&self.meta, delivery, Settlement::Defer)
    }

    /// Receives a deferred message by sequence number, under peek-lock.
    pub async fn receive_deferred(
        &self,
        path: &str,
        sequence_number: u64,
    ) -> Result<Delivery, BrokerError> {
        self.broker
            .receive_deferred_as(&self.meta, path, sequence_number)
    }

    /// Extends the lock by the entity's lock duration from now.
    pub async fn renew_lock(&self, delivery: &mut Delivery) -> Result<UtcTime, BrokerError> {
        self.broker.renew_lock_as(&self.meta, delivery)
    }

    /// Moves a dead letter (by sequence number) back into its queue or
    /// subscription as a new message; returns its new sequence number.
    /// `path` is the queue or subscription (not its `$deadletterqueue`).
    pub async fn resubmit_dead_letter(
        &self,
        path: &str,
        sequence_number: u64,
    ) -> Result<u64, BrokerError> {
        self.broker
            .resubmit_dead_letter_as(&self.meta, path, sequence_number)
    }

    /// A Kafka-style consumer of `path` that commits every `interval` (Kafka's
    /// `auto.commit.interval.ms` is 5 s by default:
    /// [`crate::DEFAULT_AUTO_COMMIT_INTERVAL`]).
    pub fn auto_commit_consumer(&self, path: &str, interval: Duration) -> AutoCommitConsumer {
        AutoCommitConsumer::direct(self.clone(), path, interval)
    }

    pub(crate) fn meta(&self) -> &OpMeta {
        &self.meta
    }
}

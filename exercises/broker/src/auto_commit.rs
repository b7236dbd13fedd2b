//! A Kafka-style consumer that commits on a timer.
//!
//! librdkafka (and so the `rdkafka` crate) defaults to
//! `enable.auto.commit=true` with `auto.commit.interval.ms=5000` and
//! `enable.auto.offset.store=true`: the offset of every message *handed to the
//! application* is committed by a background timer every 5 seconds, whether
//! or not the application has finished with it. If the consumer crashes after
//! a commit and before it finished the work, the message is gone: nobody
//! will deliver it again. That is lesson one of chapter 3: check your
//! defaults.
//!
//! Our model: [`AutoCommitConsumer::poll`] receives under peek-lock and
//! arranges for the broker to complete the message at the next commit tick
//! (every `interval` since the consumer was created), *if the consumer's
//! connection is still open then*. A crash closes the connection, so messages
//! polled after the last tick are redelivered; messages polled before it are
//! committed even if their processing never finished.
//!
//! The safe patterns are to commit yourself after processing
//! (`enable.auto.commit=false`), or to store offsets only after processing
//! (`enable.auto.offset.store=false`). Java's `KafkaConsumer` commits inside
//! `poll()` instead, which is at-least-once for a synchronous loop but not
//! once work is handed to another task.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::client::Client;
use crate::error::BrokerError;
use crate::receive::{Delivery, ReceiveOptions};
use crate::simulation::ServiceCtx;
use crate::trace::Operation;

/// Kafka's default `auto.commit.interval.ms`: 5 s.
pub const DEFAULT_AUTO_COMMIT_INTERVAL: Duration = Duration::from_secs(5);

/// A consumer that commits what it polled on a timer (see the module docs).
#[derive(Clone, Debug)]
pub struct AutoCommitConsumer {
    via: Via,
    path: Arc<str>,
    interval: Duration,
    /// Commit ticks are `created + k × interval`.
    created: Instant,
}

/// Whose connection polls: a plain client, or a simulated service (whose
/// polls are operations with crash points).
#[derive(Clone, Debug)]
enum Via {
    Client(Client),
    Service(ServiceCtx),
}

impl AutoCommitConsumer {
    pub(crate) fn direct(client: Client, path: &str, interval: Duration) -> AutoCommitConsumer {
        AutoCommitConsumer {
            via: Via::Client(client),
            path: Arc::from(path),
            interval: interval.max(Duration::from_millis(1)),
            created: Instant::now(),
        }
    }

    pub(crate) fn simulated(ctx: ServiceCtx, path: &str, interval: Duration) -> AutoCommitConsumer {
        AutoCommitConsumer {
            via: Via::Service(ctx),
            path: Arc::from(path),
            interval: interval.max(Duration::from_millis(1)),
            created: Instant::now(),
        }
    }

    /// The next message. Its commit is already arranged: do not complete it.
    pub async fn poll(&self) -> Result<Delivery, BrokerError> {
        match &self.via {
            Via::Client(client) => loop {
                let delivery = client
                    .broker()
                    .receive_as(
                        client.meta(),
                        &self.path,
                        ReceiveOptions::default(),
                        false,
                        Operation::Poll,
                    )
                    .await?;
                if let Some(delivery) = delivery {
                    let broker = client.broker();
                    broker.auto_commit_at(
                        &delivery,
                        self.next_tick(),
                        client.meta().connection,
                        Arc::clone(&client.meta().actor),
                    );
                    return Ok(delivery);
                }
            },
            Via::Service(ctx) => ctx.poll_auto_commit(&self.path, self.next_tick()).await,
        }
    }

    /// The first commit tick after now.
    fn next_tick(&self) -> Instant {
        let since = Instant::now().saturating_duration_since(self.created);
        let ticks = since.as_nanos() / self.interval.as_nanos() + 1;
        let ticks = u32::try_from(ticks).unwrap_or(u32::MAX);
        self.created + self.interval * ticks
    }
}

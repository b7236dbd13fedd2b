//! The shipping consumer, with a kill switch (the reference solution).
//!
//! Two changes to the starter. A message that is not a shipment request is
//! still dead-lettered at once: no amount of waiting fixes it, and it says
//! nothing about the carrier. A failed call to the carrier, on the other
//! hand, is not the message's fault: the message goes back to the queue
//! (abandon), and the failure counts towards the kill switch. When failures
//! pass the trip threshold, the consumer stops taking messages for the
//! restart timeout, then tries one again; the first failure after a
//! restart stops it again, and enough successes close the switch.
//!
//! The switch is MassTransit's, in miniature: an activation threshold (no
//! verdict on a handful of attempts), a trip threshold (a share of
//! failures), a tracking period (old attempts are forgotten) and a restart
//! timeout. It lives in the consumer's memory: a restarted consumer starts
//! with a closed switch and learns again in a few seconds.

use std::time::Duration;

use broker::BrokerError;
use broker::simulation::ServiceCtx;
use tokio::time::Instant;

use crate::ShipError;
use crate::shipping::{self, SHIPMENT_REQUESTS};

/// How many attempts a tracking period needs before the switch judges.
/// Below the queue's max delivery count (10): a failed message comes
/// straight back, and with a threshold of 10 or more the first message of
/// an outage would spend all its deliveries before the switch could trip.
const ACTIVATION_THRESHOLD: u32 = 5;
/// The share of failed attempts, in percent, that trips the switch.
const TRIP_THRESHOLD_PERCENT: u32 = 15;
/// How long attempts are remembered.
const TRACKING_PERIOD: Duration = Duration::from_secs(60);
/// How long the consumer stays paused before it tries again.
const RESTART_TIMEOUT: Duration = Duration::from_secs(5 * 60);

// ANCHOR: solution-switch
/// What the switch remembers.
enum KillSwitch {
    /// Consuming, counting the attempts of the current tracking period.
    Started {
        since: Instant,
        attempts: u32,
        failures: u32,
    },
    /// Back after a pause: one failure stops it again; enough attempts
    /// with a success at the end close it.
    Restarting { attempts: u32 },
}

impl KillSwitch {
    fn started(now: Instant) -> KillSwitch {
        KillSwitch::Started {
            since: now,
            attempts: 0,
            failures: 0,
        }
    }

    /// Records one attempt; returns whether the consumer must pause now.
    fn record(&mut self, now: Instant, failed: bool) -> bool {
        match self {
            KillSwitch::Started {
                since,
                attempts,
                failures,
            } => {
                if now.duration_since(*since) >= TRACKING_PERIOD {
                    *self = KillSwitch::started(now);
                    return self.record(now, failed);
                }
                *attempts += 1;
                *failures += u32::from(failed);
                *attempts > ACTIVATION_THRESHOLD
                    && *failures * 100 >= TRIP_THRESHOLD_PERCENT * *attempts
            }
            KillSwitch::Restarting { .. } if failed => true,
            KillSwitch::Restarting { attempts } => {
                *attempts += 1;
                if *attempts > ACTIVATION_THRESHOLD {
                    *self = KillSwitch::started(now);
                }
                false
            }
        }
    }
}
// ANCHOR_END: solution-switch

/// Takes shipment requests from the queue and books a courier for each,
/// pausing while the carrier is down.
pub async fn consume(ctx: ServiceCtx) -> Result<(), BrokerError> {
    // ANCHOR: solution-handler
    let mut switch = KillSwitch::started(Instant::now());
    loop {
        let delivery = ctx.receive(SHIPMENT_REQUESTS).await?;
        let failed = match shipping::ship(&ctx, &delivery).await {
            Ok(()) => {
                ctx.complete(&delivery).await?;
                false
            }
            // A bad message: the producer's bug, whatever the carrier does.
            Err(error @ ShipError::Malformed { .. }) => {
                ctx.dead_letter(&delivery, error.reason(), &error.to_string())
                    .await?;
                continue;
            }
            // The carrier's failure, not the message's: give it back.
            Err(ShipError::Carrier(_)) => {
                ctx.abandon(&delivery).await?;
                true
            }
        };
        if switch.record(Instant::now(), failed) {
            // Stop taking messages; they wait safely in the queue.
            ctx.pause(
                RESTART_TIMEOUT,
                "kill switch tripped: the carrier keeps failing",
            )
            .await;
            switch = KillSwitch::Restarting { attempts: 0 };
        }
    }
    // ANCHOR_END: solution-handler
}

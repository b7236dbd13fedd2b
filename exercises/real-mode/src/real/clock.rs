//! The consumer's clock: tokio's paused clock, moved forward `speed` times
//! faster than the wall clock.
//!
//! The exercises' worlds are set in minutes (a 60-second lock, a bulk order
//! that takes two minutes to price, a consumer that renews every 30 s).
//! Run in real time, one run of `ack-ordering` would take minutes, and a
//! handful of crash points most of an hour. So the consumer process runs on
//! a paused tokio clock that a ticker moves forward at `speed` × real time:
//! your `tokio::time::sleep(Duration::from_secs(30))` lasts 30 s of the
//! consumer's time, 1.5 s of the wall clock at speed 20. The harness gives
//! the engine the same ratio (a 60-second lock becomes an ack wait of 3 s),
//! so the two stay in step. The engine's own timers, the network and the
//! process start-up are real: at speed 20 a 5 ms round trip is 100 ms of the
//! consumer's time.
//!
//! Why a ticker and not tokio's auto-advance: auto-advance jumps to the next
//! timer whenever the runtime is idle, and a consumer waiting for the
//! engine's reply is idle, so its 30-second sleep would end before the reply
//! came. A `spawn_blocking` task that is running stops auto-advance (tokio's
//! documented rule for the paused clock); the ticker is such a task.

use std::time::Duration;

use sim::UtcTime;

/// How often the ticker moves the clock, in real time.
const TICK: Duration = Duration::from_millis(5);

/// The consumer's clock of one process.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    speed: u32,
    /// The consumer's UTC when this process started.
    utc_at_start: UtcTime,
    /// The paused clock's instant when this process started.
    started: tokio::time::Instant,
}

impl Clock {
    /// Starts the ticker. Call it once, inside the consumer's runtime (a
    /// current-thread runtime with a paused clock) and inside a `LocalSet`.
    /// `utc_at_start` is the consumer's time now (see
    /// [`crate::real::config::RunnerConfig::consumer_utc_now`]).
    pub fn start(speed: u32, utc_at_start: UtcTime) -> Clock {
        let speed = speed.max(1);
        let real_start = std::time::Instant::now();
        let started = tokio::time::Instant::now();
        let (tick, mut ticks) = tokio::sync::mpsc::unbounded_channel::<()>();
        // Running for the whole life of the process: while it runs, the
        // paused clock does not auto-advance.
        drop(tokio::task::spawn_blocking(move || {
            loop {
                std::thread::sleep(TICK);
                if tick.send(()).is_err() {
                    break;
                }
            }
        }));
        tokio::task::spawn_local(async move {
            while ticks.recv().await.is_some() {
                let target = real_start.elapsed().saturating_mul(speed);
                let now = started.elapsed();
                if target > now {
                    tokio::time::advance(target - now).await;
                }
            }
        });
        Clock {
            speed,
            utc_at_start,
            started,
        }
    }

    /// The consumer's time now, in UTC.
    pub fn now_utc(&self) -> UtcTime {
        self.utc_at_start + self.started.elapsed()
    }

    /// A span of the consumer's time, in real time.
    pub fn to_real(&self, consumer: Duration) -> Duration {
        consumer / self.speed
    }

    /// How much faster than the wall clock the consumer's time runs.
    pub fn speed(&self) -> u32 {
        self.speed
    }
}

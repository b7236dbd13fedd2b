//! What the harness tells a consumer process: the engine, the queues, the
//! crash point of this life, the clock. Passed as JSON in one environment
//! variable, [`CONFIG_VAR`].

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sim::UtcTime;

/// The environment variable that carries a [`RunnerConfig`].
pub const CONFIG_VAR: &str = "EDA_REAL_CONFIG";

/// The real engines real mode runs against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    /// RabbitMQ, through lapin: quorum queues, manual acks.
    Rabbitmq,
    /// NATS JetStream, through async-nats: one stream per queue, a durable
    /// pull consumer with explicit acks.
    Nats,
}

impl EngineKind {
    /// Every engine, for `--help` and error messages.
    pub const ALL: [EngineKind; 2] = [EngineKind::Rabbitmq, EngineKind::Nats];

    /// The name a learner types.
    pub fn id(self) -> &'static str {
        match self {
            EngineKind::Rabbitmq => "rabbitmq",
            EngineKind::Nats => "nats",
        }
    }

    /// The name a report prints.
    pub fn title(self) -> &'static str {
        match self {
            EngineKind::Rabbitmq => "RabbitMQ",
            EngineKind::Nats => "NATS JetStream",
        }
    }
}

impl fmt::Display for EngineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl FromStr for EngineKind {
    type Err = String;
    fn from_str(text: &str) -> Result<EngineKind, String> {
        EngineKind::ALL
            .into_iter()
            .find(|engine| engine.id() == text)
            .ok_or_else(|| {
                format!(
                    "unknown engine `{text}`: real mode runs on {}",
                    EngineKind::ALL.map(EngineKind::id).join(" or ")
                )
            })
    }
}

/// A queue as the exercise's scenario declares it, in the consumer's time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueSpec {
    /// The queue's name (a NATS stream and subject of the same name).
    pub name: String,
    /// The lock duration: NATS's ack wait (scaled to real time); RabbitMQ
    /// has no per-delivery lock.
    pub lock: Duration,
    /// Deliveries before the engine gives up on a message: RabbitMQ's
    /// quorum `x-delivery-limit`, NATS's `MaxDeliver`.
    pub max_deliveries: u32,
    /// Duplicate detection by message id, and its window: NATS's
    /// `Nats-Msg-Id` within the stream's duplicate window. RabbitMQ has none.
    pub duplicate_window: Option<Duration>,
}

/// Where a consumer process is killed: just before operation `op` is sent,
/// or just after its reply came back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CrashPoint {
    /// Before or after.
    pub when: When,
    /// The operation's number in this life, from 1.
    pub op: u64,
}

/// Before or after an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum When {
    /// The operation never reaches the engine.
    Before,
    /// The operation took effect; the consumer never learns it did.
    After,
}

impl fmt::Display for CrashPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let when = match self.when {
            When::Before => "before",
            When::After => "after",
        };
        write!(f, "{when}:{}", self.op)
    }
}

impl FromStr for CrashPoint {
    type Err = String;
    fn from_str(text: &str) -> Result<CrashPoint, String> {
        let bad = || {
            format!(
                "`{text}` is not a crash point: write `after:N` or `before:N`, N an operation number from 1"
            )
        };
        let (when, op) = text.split_once(':').ok_or_else(bad)?;
        let when = match when {
            "before" => When::Before,
            "after" => When::After,
            _ => return Err(bad()),
        };
        let op: u64 = op.parse().map_err(|_| bad())?;
        if op == 0 {
            return Err(bad());
        }
        Ok(CrashPoint { when, op })
    }
}

/// A downstream system the consumer calls (the mail provider), and how long
/// it takes to answer, in the consumer's time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DownstreamSpec {
    /// Its name, as the exercise's code calls it.
    pub name: String,
    /// Its latency.
    pub latency: Duration,
}

/// Everything a consumer process needs to know.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunnerConfig {
    /// Which engine.
    pub engine: EngineKind,
    /// Its URL (`amqp://127.0.0.1:PORT/%2f`, `127.0.0.1:PORT`).
    pub url: String,
    /// The service's name, as in the simulator's traces.
    pub service: String,
    /// The consumer's time runs this many times faster than real time.
    pub speed: u32,
    /// When the run began, real Unix milliseconds: the consumer's clock
    /// starts there and runs `speed` times faster.
    pub run_started_unix_ms: i64,
    /// The queues, in the consumer's time.
    pub queues: Vec<QueueSpec>,
    /// The downstream systems.
    pub downstream: Vec<DownstreamSpec>,
    /// The file each downstream call is appended to (one JSON line each),
    /// which the harness reads as the systems' record of what they did.
    pub downstream_log: PathBuf,
    /// Where this life is killed, if anywhere.
    pub crash: Option<CrashPoint>,
    /// Drop the engine connection just before this operation, and connect
    /// again.
    pub disconnect_before: Option<u64>,
}

impl RunnerConfig {
    /// The queue named `name`.
    pub fn queue(&self, name: &str) -> Option<&QueueSpec> {
        self.queues.iter().find(|queue| queue.name == name)
    }

    /// The consumer's time now: the run's start plus `speed` times the real
    /// time since.
    pub fn consumer_utc_now(&self) -> UtcTime {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|since| i64::try_from(since.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        let real_since = now.saturating_sub(self.run_started_unix_ms).max(0);
        UtcTime::from_unix_millis(
            self.run_started_unix_ms
                .saturating_add(real_since.saturating_mul(i64::from(self.speed))),
        )
    }

    /// A span of the consumer's time in real time.
    pub fn to_real(&self, consumer: Duration) -> Duration {
        consumer / self.speed.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crash_points_parse_and_print_the_same() {
        let point: CrashPoint = "after:7".parse().unwrap();
        assert_eq!(
            point,
            CrashPoint {
                when: When::After,
                op: 7
            }
        );
        assert_eq!(point.to_string(), "after:7");
        assert_eq!("before:1".parse::<CrashPoint>().unwrap().when, When::Before);
    }

    #[test]
    fn a_bad_crash_point_says_how_to_write_one() {
        for bad in ["7", "after", "after:", "during:3", "after:0", "after:-1"] {
            let error = bad.parse::<CrashPoint>().unwrap_err();
            assert!(error.contains("after:N"), "{bad}: {error}");
        }
    }

    #[test]
    fn an_unknown_engine_names_the_known_ones() {
        assert_eq!("nats".parse::<EngineKind>(), Ok(EngineKind::Nats));
        let error = "kafka".parse::<EngineKind>().unwrap_err();
        assert!(error.contains("rabbitmq or nats"), "{error}");
    }
}

//! The lines a consumer process prints on its standard output, one per
//! event, so that the harness can follow it, kill it at a crash point and
//! draw the run's timeline. Every line starts with [`PREFIX`]; anything else
//! on standard output is the learner's own printing, shown as such.
//!
//! ```text
//! @eda start pricing
//! @eda op 1 receive orders
//! @eda ok 1 order-1 delivery=1
//! @eda op 2 send invoices invoice-order-1
//! @eda ok 2
//! @eda crash-point after 2
//! ```

use std::fmt;
use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use crate::real::config::{CrashPoint, When};

/// The start of every protocol line.
pub const PREFIX: &str = "@eda ";

/// One event of a consumer process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Line {
    /// The process started and connected.
    Start {
        /// The service's name.
        service: String,
    },
    /// Operation `op` begins: `receive orders`, `send invoices invoice-1`.
    Op {
        /// Its number in this life, from 1.
        op: u64,
        /// `receive`, `send`, `complete`, `abandon`, `dead-letter`, `defer`,
        /// `renew-lock`, `call`.
        operation: String,
        /// The queue or downstream system.
        target: String,
        /// The message or call it concerns, if known before it runs.
        id: Option<String>,
    },
    /// Operation `op` succeeded; `detail` says what came back (a receive's
    /// message id and delivery count).
    Ok {
        /// Its number.
        op: u64,
        /// What came back, if anything.
        detail: String,
    },
    /// Operation `op` failed with this error, as the consumer saw it.
    Failed {
        /// Its number.
        op: u64,
        /// The error's text.
        error: String,
    },
    /// The process stopped at its crash point and waits to be killed.
    CrashPoint(CrashPoint),
    /// The engine handed a message out again while this process still held
    /// an earlier delivery of it: its lock (NATS's ack wait) ran out.
    HandedOutAgain {
        /// The queue.
        queue: String,
        /// The message.
        id: String,
        /// The new delivery's count.
        delivery: u32,
    },
    /// The consumer settled or renewed a delivery whose lock (NATS's ack
    /// wait, counted from its delivery or its last renewal) had already run
    /// out: by the engine's rule, it was free to hand the message to anyone.
    LockRanOut {
        /// The queue.
        queue: String,
        /// The message.
        id: String,
    },
    /// Something the report should say about an operation (a renewal that
    /// RabbitMQ has no counterpart for).
    Note(String),
    /// `run` returned: `Ok`, or the error's text.
    Exit(Result<(), String>),
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(PREFIX)?;
        match self {
            Line::Start { service } => write!(f, "start {service}"),
            Line::Op {
                op,
                operation,
                target,
                id,
            } => {
                write!(f, "op {op} {operation} {target}")?;
                match id {
                    Some(id) => write!(f, " {id}"),
                    None => Ok(()),
                }
            }
            Line::Ok { op, detail } if detail.is_empty() => write!(f, "ok {op}"),
            Line::Ok { op, detail } => write!(f, "ok {op} {detail}"),
            Line::Failed { op, error } => write!(f, "failed {op} {}", one_line(error)),
            Line::CrashPoint(point) => {
                let when = match point.when {
                    When::Before => "before",
                    When::After => "after",
                };
                write!(f, "crash-point {when} {}", point.op)
            }
            Line::HandedOutAgain {
                queue,
                id,
                delivery,
            } => write!(f, "handed-out-again {queue} {id} delivery={delivery}"),
            Line::LockRanOut { queue, id } => write!(f, "lock-ran-out {queue} {id}"),
            Line::Note(text) => write!(f, "note {}", one_line(text)),
            Line::Exit(Ok(())) => write!(f, "exit ok"),
            Line::Exit(Err(error)) => write!(f, "exit error {}", one_line(error)),
        }
    }
}

fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

impl Line {
    /// Reads a line the consumer printed; `None` when it is not a protocol
    /// line (the learner's own output) or is malformed.
    pub fn parse(text: &str) -> Option<Line> {
        let rest = text.strip_prefix(PREFIX)?;
        let (word, rest) = rest.split_once(' ').unwrap_or((rest, ""));
        let number = |text: &str| text.parse::<u64>().ok();
        Some(match word {
            "start" => Line::Start {
                service: rest.to_owned(),
            },
            "op" => {
                let mut parts = rest.splitn(4, ' ');
                let op = number(parts.next()?)?;
                let operation = parts.next()?.to_owned();
                let target = parts.next()?.to_owned();
                let id = parts.next().map(str::to_owned);
                Line::Op {
                    op,
                    operation,
                    target,
                    id,
                }
            }
            "ok" => {
                let (op, detail) = rest.split_once(' ').unwrap_or((rest, ""));
                Line::Ok {
                    op: number(op)?,
                    detail: detail.to_owned(),
                }
            }
            "failed" => {
                let (op, error) = rest.split_once(' ').unwrap_or((rest, ""));
                Line::Failed {
                    op: number(op)?,
                    error: error.to_owned(),
                }
            }
            "crash-point" => {
                let (when, op) = rest.split_once(' ')?;
                Line::CrashPoint(format!("{when}:{op}").parse().ok()?)
            }
            "handed-out-again" => {
                let mut parts = rest.split(' ');
                let queue = parts.next()?.to_owned();
                let id = parts.next()?.to_owned();
                let delivery = parts.next()?.strip_prefix("delivery=")?.parse().ok()?;
                Line::HandedOutAgain {
                    queue,
                    id,
                    delivery,
                }
            }
            "lock-ran-out" => {
                let (queue, id) = rest.split_once(' ')?;
                Line::LockRanOut {
                    queue: queue.to_owned(),
                    id: id.to_owned(),
                }
            }
            "note" => Line::Note(rest.to_owned()),
            "exit" => match rest.split_once(' ').unwrap_or((rest, "")) {
                ("ok", _) => Line::Exit(Ok(())),
                ("error", error) => Line::Exit(Err(error.to_owned())),
                _ => return None,
            },
            _ => return None,
        })
    }
}

/// Where a consumer process prints its lines: standard output, one whole
/// line at a time (the engine's thread prints too), flushed at once so the
/// harness sees a crash point before it waits to be killed.
#[derive(Clone, Debug, Default)]
pub struct Out {
    lock: Arc<Mutex<()>>,
}

impl Out {
    /// Prints `line` and flushes it. A closed standard output (the harness
    /// is gone) ends the process: nobody is left to judge it.
    pub fn line(&self, line: &Line) {
        let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        let mut stdout = std::io::stdout().lock();
        if writeln!(stdout, "{line}")
            .and_then(|()| stdout.flush())
            .is_err()
        {
            std::process::exit(3);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_reads_back_as_itself() {
        let lines = [
            Line::Start {
                service: "pricing".into(),
            },
            Line::Op {
                op: 1,
                operation: "receive".into(),
                target: "orders".into(),
                id: None,
            },
            Line::Op {
                op: 2,
                operation: "send".into(),
                target: "invoices".into(),
                id: Some("invoice-order-1".into()),
            },
            Line::Ok {
                op: 1,
                detail: "order-1 delivery=1".into(),
            },
            Line::Ok {
                op: 2,
                detail: String::new(),
            },
            Line::Failed {
                op: 3,
                error: "the broker is unavailable".into(),
            },
            Line::CrashPoint("after:3".parse().unwrap()),
            Line::HandedOutAgain {
                queue: "orders".into(),
                id: "order-3".into(),
                delivery: 2,
            },
            Line::LockRanOut {
                queue: "orders".into(),
                id: "order-3".into(),
            },
            Line::Note("RabbitMQ has no lock to renew".into()),
            Line::Exit(Ok(())),
            Line::Exit(Err("lock lost".into())),
        ];
        for line in lines {
            assert_eq!(Line::parse(&line.to_string()), Some(line.clone()), "{line}");
        }
    }

    #[test]
    fn the_learners_own_output_is_not_a_protocol_line() {
        assert_eq!(Line::parse("priced order-1"), None);
        assert_eq!(Line::parse("@eda op x receive orders"), None);
    }

    #[test]
    fn an_error_on_several_lines_stays_on_one() {
        let line = Line::Failed {
            op: 1,
            error: "first\nsecond".into(),
        };
        assert_eq!(line.to_string(), "@eda failed 1 first second");
    }
}

//! Real mode: your consumer, unchanged, against a real engine.
//!
//! `cargo xtask real <exercise> --engine rabbitmq|nats` runs the file you
//! edit (or the reference solution) against RabbitMQ or NATS JetStream,
//! kills the consumer process with `SIGKILL` at chosen points, starts it
//! again, and judges what the engine and the mail provider hold at the end,
//! with the exercise's own anomaly names. The book's page "From the
//! simulator to a real broker" shows a run and says what it cannot do.
//!
//! # How your file compiles against a real engine
//!
//! Your file says `use broker::simulation::ServiceCtx;`. In this crate's
//! consumer binaries (`src/bin/`), the name `broker` means *this* crate
//! (`extern crate real_mode as broker;`), which re-exports every type of the
//! simulator's broker ([`Message`], [`Envelope`], [`BrokerError`],
//! [`ReceiveOptions`], …) except two that talk to an engine:
//!
//! - [`simulation::ServiceCtx`], whose operations go to the real engine;
//! - [`Delivery`], a received message with its real engine's handle.
//!
//! Their methods have the simulator's signatures, so the same source
//! compiles against either. Methods the real engines cannot back (the
//! store, scheduling, deferral) are absent or return an error that says so.
//!
//! # Map
//!
//! - [`real::ctx`]: the context and the delivery;
//! - [`real::clock`]: the consumer's compressed clock;
//! - [`real::engine`]: RabbitMQ (lapin) and NATS JetStream (async-nats);
//! - [`real::protocol`]: the lines a consumer process prints per operation;
//! - [`real::runner`]: a consumer process's `main`;
//! - [`real::exercises`]: the exercises real mode knows, and their verdicts;
//! - [`real::harness`]: the runs, the kills, the report.

pub use sim::*;

pub use real::ctx::Delivery;

/// The simulator's `simulation` module as real mode backs it: the same
/// names, with [`ServiceCtx`](simulation::ServiceCtx) talking to a real
/// engine.
pub mod simulation {
    pub use crate::real::ctx::ServiceCtx;
    pub use sim::simulation::{DownstreamCall, DownstreamError, DownstreamOptions, Run};
}

pub mod real;

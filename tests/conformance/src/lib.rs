//! The conformance suite: the same scenarios run against our in-process
//! broker and store and against real engines, failing where they disagree
//! on a point the book relies on.
//!
//! [`server`] starts a real engine on a free loopback port with its data in
//! a temporary folder, and stops it (its whole process group) when the
//! handle is dropped, even when a test fails; [`engines`] starts RabbitMQ
//! and NATS JetStream on it.

pub mod broker;
pub mod engines;
pub mod server;
pub mod store;

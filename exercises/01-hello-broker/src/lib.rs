//! # Exercise `hello-broker` (chapter 2: distributed systems 101)
//!
//! **You edit one file: `src/hello.rs`.** Everything else in this crate is
//! the world your code runs in; do not edit it.
//!
//! This first exercise teaches the tools rather than a fix: you send a
//! message, receive it, settle it, and then read a trace to find where a
//! service crashed. Each step is one function of `src/hello.rs`.
//!
//! - [`hello`]: **your file**: `send_greeting`, `receive_greeting`,
//!   `find_crash_point`.
//! - [`world`]: the two scenarios: the greeting (a sender and a receiver on
//!   one queue) and a small order pipeline the graders crash for you to read.
//! - [`rubric`]: the graded checks and their points.
//!
//! `tests/checks.rs` runs the rubric, one `#[test]` per anomaly:
//! `lost_message`, `unsettled_message`, `misread_crash_point`. Watch one crash
//! first: `cargo run -p hello-broker --example crash`.

#[cfg_attr(feature = "solution", path = "../solution/hello.rs")]
pub mod hello;
pub mod rubric;
pub mod world;

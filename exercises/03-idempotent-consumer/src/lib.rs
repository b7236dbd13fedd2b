//! # Exercise `idempotent-consumer` (chapter 4: delivery semantics and idempotency)
//!
//! **You edit one file: `src/consumer.rs`.** Everything else in this crate is
//! the world your consumer lives in; do not edit it.
//!
//! The story: when a user signs up, the *welcome* service sends them a
//! welcome email through a mail provider, records that it did so on the
//! `email-events` queue (the CRM reads it), and completes the signup. It
//! acknowledges last, so no signup is ever lost. But the broker delivers at
//! least once, and the graders find the runs where a user gets two emails.
//!
//! - [`consumer`]: **your file**: the consumer loop and the email it sends.
//! - [`signup`]: the `UserSignedUp` event and the queues.
//! - [`mail`]: the mail provider's client, and the provider itself as the
//!   graders model it (it honours idempotency keys).
//! - [`scenario`]: the queues, three signups, the provider and the service.
//! - [`rubric`]: the graded checks and their points.
//! - [`ConsumerError`]: what the consumer can fail with.
//!
//! `tests/checks.rs` runs the rubric, one `#[test]` per anomaly:
//! `duplicate_side_effect` and `lost_email`.

#[cfg_attr(feature = "solution", path = "../solution/consumer.rs")]
pub mod consumer;
pub mod mail;
pub mod rubric;
pub mod scenario;
pub mod signup;

mod error;

pub use error::ConsumerError;

//! What the consumer can fail with. Do not edit.
//!
//! In a file of its own so that real mode (`cargo xtask real`) can compile
//! your consumer against a real engine with the very same error type.

/// Why the consumer stopped. Returning an error from the service makes the
/// runtime restart it, as a process supervisor would.
#[derive(Debug, thiserror::Error)]
pub enum ConsumerError {
    /// A broker operation failed (unavailable, timed out, lock lost).
    #[error(transparent)]
    Broker(#[from] broker::BrokerError),
    /// The mail provider could not be reached, or did not answer.
    #[error(transparent)]
    Mail(#[from] crate::mail::MailError),
    /// A message body could not be read or written.
    #[error("message {message_id}: {reason}")]
    BadMessage {
        /// The message concerned.
        message_id: String,
        /// What was wrong.
        reason: String,
    },
}

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
    /// An order's body could not be read.
    #[error("order {message_id} is not a valid order: {reason}")]
    BadOrder {
        /// The message id of the order.
        message_id: String,
        /// What was wrong with it.
        reason: String,
    },
}

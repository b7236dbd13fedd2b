//! [`Violation`]: what an invariant says when it finds the anomaly.

use std::fmt;

/// An invariant's finding: the anomaly in one sentence, and the message it
/// concerns (so the report can show that message's timeline).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// One sentence a learner can act on, e.g. "message `order-2` was
    /// completed on `orders` but no result was ever published for it: it is
    /// lost".
    pub sentence: String,
    /// The message it concerns, if one: the report shows its timeline.
    pub message_id: Option<String>,
}

impl Violation {
    /// A violation about the run as a whole.
    pub fn new(sentence: impl Into<String>) -> Violation {
        Violation {
            sentence: sentence.into(),
            message_id: None,
        }
    }

    /// A violation about one message.
    pub fn for_message(message_id: impl Into<String>, sentence: impl Into<String>) -> Violation {
        Violation {
            sentence: sentence.into(),
            message_id: Some(message_id.into()),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.sentence)
    }
}

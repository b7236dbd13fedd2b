//! # Event contracts that the compiler enforces
//!
//! Chapter 10 of the book ("You accepted bad event formats") teaches a
//! strict contract at the boundary. This crate puts the part of it that
//! types can express into the compiler, and the rest into one call:
//!
//! ```
//! use event_contract::Event;
//!
//! #[derive(Event)]
//! struct OrderPlaced {
//!     /// Derived from the order, so a retry sends the same id.
//!     #[event(id)]
//!     event_id: String,
//!     #[event(required)]
//!     order_id: String,
//!     total_cents: u64,
//! }
//!
//! let event = OrderPlaced {
//!     event_id: String::new(),
//!     order_id: "order-42".into(),
//!     total_cents: 1200,
//! };
//! let refused = event.validate().unwrap_err();
//! assert_eq!(
//!     refused.to_string(),
//!     "`OrderPlaced` breaks its contract: `event_id` is empty: every event needs \
//!      an id, the one a consumer deduplicates on"
//! );
//! ```
//!
//! ## What `#[derive(Event)]` refuses to compile
//!
//! Each refusal is an error on the field at fault:
//!
//! - **No id.** The id is the field marked `#[event(id)]`, or else the field
//!   named `id` or `event_id`. A struct with neither does not compile.
//! - **An id that is not a stable identifier.** Integers (a counter starts
//!   again after a deploy, and two producers count the same numbers), floats,
//!   `bool`, `char`, `Option<_>` (an id that may be missing) and times. Any
//!   other type must implement [`StableId`]: `String`, `Box<str>`,
//!   `Arc<str>`, and `uuid::Uuid` with the `uuid` feature do. A newtype
//!   around one of them implements it in two lines, a decision its author
//!   takes on purpose.
//! - **A time without an offset from UTC**, in any field and inside any
//!   generic type (`Option<NaiveDateTime>` too): `chrono::DateTime<Local>`,
//!   `chrono::NaiveDateTime`, `time::PrimitiveDateTime` and
//!   `std::time::Instant`.
//!
//! `time` has no type for local time: `OffsetDateTime::now_local()` returns
//! an `OffsetDateTime` that carries the machine's offset, which types cannot
//! tell from UTC. So `time::OffsetDateTime` compiles, and [`Event::validate`]
//! refuses one whose offset is not zero; `chrono::DateTime<FixedOffset>`
//! likewise. `time::PrimitiveDateTime` has no offset at all, like chrono's
//! `NaiveDateTime`, so it does not compile: nobody can say which instant it
//! names.
//!
//! ## What [`Event::validate`] refuses at run time
//!
//! What a deserialized value can get wrong and a type cannot rule out: a
//! blank id (an empty string, a nil uuid), a field marked
//! `#[event(required)]` that arrived empty (`None`, `""`, an empty list), and
//! a timestamp with an offset other than UTC. It reports every problem at
//! once, in words the producer can act on, so the consumer can dead-letter
//! the event with [`ContractError`]'s text as the reason.
//!
//! ## Known limitations
//!
//! The macro matches types by name before the compiler resolves them: a
//! type imported under another name (`use chrono::NaiveDateTime as Stamp;`)
//! escapes the compile-time check.

use std::fmt;
use std::rc::Rc;
use std::sync::Arc;

/// `#[derive(Event)]`: see the [crate] documentation for what it refuses.
pub use event_contract_derive::Event;

/// An event type with a contract: an id that identifies it and checks that
/// a deserialized value must pass before a consumer acts on it. Derive it;
/// writing it by hand skips the compile-time checks.
pub trait Event {
    /// The event type's name, as reports say it.
    const NAME: &'static str;
    /// The name of the field that holds the id, as the payload names it
    /// (after serde's `rename` and `rename_all`).
    const ID_FIELD: &'static str;
    /// The id's type: one that can identify an event for good.
    type Id: StableId;

    /// The id consumers deduplicate on.
    fn id(&self) -> &Self::Id;

    /// Checks what the types cannot: a blank id, a required field that
    /// arrived empty, a timestamp not in UTC.
    ///
    /// # Errors
    ///
    /// [`ContractError`] lists every problem found, each worded for the
    /// producer.
    fn validate(&self) -> Result<(), ContractError>;
}

/// A type that can identify an event for good: it stays the same when the
/// event is retried, replayed or read by another service, and two events
/// never share one by accident. Implement it for a newtype around a uuid or
/// a business key:
///
/// ```
/// struct OrderEventId(String);
///
/// impl event_contract::StableId for OrderEventId {
///     fn is_blank(&self) -> bool {
///         self.0.trim().is_empty()
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a stable event id",
    label = "the event's id field has this type",
    note = "use `uuid::Uuid` (feature `uuid` of event-contract), a `String` derived from the \
            business key, or implement `event_contract::StableId` for a newtype around one"
)]
pub trait StableId {
    /// True when the value identifies nothing: an empty string, a nil
    /// uuid. [`Event::validate`] refuses an event whose id is blank.
    fn is_blank(&self) -> bool;
}

impl StableId for String {
    fn is_blank(&self) -> bool {
        self.trim().is_empty()
    }
}

impl StableId for Box<str> {
    fn is_blank(&self) -> bool {
        self.trim().is_empty()
    }
}

impl StableId for Arc<str> {
    fn is_blank(&self) -> bool {
        self.trim().is_empty()
    }
}

impl StableId for Rc<str> {
    fn is_blank(&self) -> bool {
        self.trim().is_empty()
    }
}

#[cfg(feature = "uuid")]
impl StableId for uuid::Uuid {
    fn is_blank(&self) -> bool {
        self.is_nil()
    }
}

/// A field that can arrive empty: what `#[event(required)]` checks.
#[diagnostic::on_unimplemented(
    message = "`#[event(required)]` cannot tell whether a `{Self}` is empty",
    label = "marked required here",
    note = "`required` works on `Option<_>`, `String` and `Vec<_>`; a field of another type is \
            required already, since deserializing fails without it"
)]
pub trait Presence {
    /// False when the field holds nothing.
    fn is_present(&self) -> bool;
}

impl<T> Presence for Option<T> {
    fn is_present(&self) -> bool {
        self.is_some()
    }
}

impl Presence for String {
    fn is_present(&self) -> bool {
        !self.trim().is_empty()
    }
}

impl<T> Presence for Vec<T> {
    fn is_present(&self) -> bool {
        !self.is_empty()
    }
}

/// A timestamp that carries its offset from UTC, which
/// [`Event::validate`] requires to be zero.
#[diagnostic::on_unimplemented(
    message = "event-contract cannot read the offset of a `{Self}`",
    label = "a timestamp field",
    note = "enable the `chrono` or `time` feature of event-contract for their date-time types"
)]
pub trait Timestamp {
    /// The offset from UTC in seconds, or `None` when there is no value.
    fn offset_from_utc(&self) -> Option<i32>;
}

impl<T: Timestamp> Timestamp for Option<T> {
    fn offset_from_utc(&self) -> Option<i32> {
        self.as_ref().and_then(Timestamp::offset_from_utc)
    }
}

#[cfg(feature = "time")]
impl Timestamp for time::OffsetDateTime {
    fn offset_from_utc(&self) -> Option<i32> {
        Some(self.offset().whole_seconds())
    }
}

#[cfg(feature = "chrono")]
impl<Tz: chrono::TimeZone> Timestamp for chrono::DateTime<Tz> {
    fn offset_from_utc(&self) -> Option<i32> {
        use chrono::Offset;
        Some(self.offset().fix().local_minus_utc())
    }
}

/// One way a deserialized event breaks its contract. Each names its field
/// as the payload does (after serde's `rename` and `rename_all`), since the
/// producer, who reads the message, fixes the payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The id field is empty or nil.
    BlankId {
        /// The id field's name.
        field: &'static str,
    },
    /// A field marked `#[event(required)]` arrived empty.
    Missing {
        /// The field's name.
        field: &'static str,
    },
    /// A timestamp carries an offset other than UTC: a local time.
    NotUtc {
        /// The field's name.
        field: &'static str,
        /// Its offset from UTC, in seconds (east is positive).
        offset_seconds: i32,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BlankId { field } => write!(
                f,
                "`{field}` is empty: every event needs an id, the one a consumer deduplicates on"
            ),
            Self::Missing { field } => write!(
                f,
                "`{field}` is missing: it is required, and the event cannot be processed without it"
            ),
            Self::NotUtc {
                field,
                offset_seconds,
            } => write!(
                f,
                "`{field}` is in local time (offset {}): send it in UTC (offset +00:00)",
                Offset(*offset_seconds)
            ),
        }
    }
}

/// An offset from UTC as people write it: `+02:00`, `-05:30`.
struct Offset(i32);

impl fmt::Display for Offset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { '-' } else { '+' };
        let minutes = self.0.unsigned_abs() / 60;
        write!(f, "{sign}{:02}:{:02}", minutes / 60, minutes % 60)
    }
}

/// Why an event was refused: every problem [`Event::validate`] found. Its
/// text is written for the producer, to go into a dead letter's reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractError {
    /// The event type's name.
    pub event: &'static str,
    /// What is wrong, at least one problem.
    pub problems: Vec<Problem>,
}

impl ContractError {
    /// `Ok` when nothing is wrong, else the error listing every problem.
    /// The generated `validate()` ends with it.
    ///
    /// # Errors
    ///
    /// When `problems` is not empty.
    pub fn check(event: &'static str, problems: Vec<Problem>) -> Result<(), Self> {
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Self { event, problems })
        }
    }
}

impl std::error::Error for ContractError {}

impl fmt::Display for ContractError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` breaks its contract: ", self.event)?;
        for (index, problem) in self.problems.iter().enumerate() {
            if index > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_read_as_people_write_them() {
        assert_eq!(Offset(7200).to_string(), "+02:00");
        assert_eq!(Offset(-19800).to_string(), "-05:30");
        assert_eq!(Offset(0).to_string(), "+00:00");
    }

    #[test]
    fn every_problem_is_listed() {
        let error = ContractError::check(
            "OrderPlaced",
            vec![
                Problem::BlankId { field: "id" },
                Problem::Missing { field: "total" },
            ],
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "`OrderPlaced` breaks its contract: `id` is empty: every event needs an id, the one \
             a consumer deduplicates on; `total` is missing: it is required, and the event \
             cannot be processed without it"
        );
    }

    #[test]
    fn no_problem_is_no_error() {
        assert_eq!(ContractError::check("OrderPlaced", Vec::new()), Ok(()));
    }
}

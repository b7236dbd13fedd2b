//! Folding repeated cycles, so a report fits on a screen.
//!
//! A consumer that never settles a message, or settles it too late, makes
//! the broker go round the same loop until the delivery limit: receive, the
//! lock expires, receive again… Ten identical rounds push the lines that
//! matter off the screen. So a report's timeline keeps the **first** and the
//! **last** round and folds the ones in between into one line:
//!
//! ```text
//! +00:00:00.000  #1  receiver   receive       greetings  greeting-1  ok  seq 1, delivery 1
//! +00:00:00.000  #2  receiver   call          console    greeting-1  ok
//! +00:01:00.000      greetings  lock-expired  greetings  greeting-1  seq 1, visible again
//!   … the same receive → call → lock-expired cycle 2 more times (+00:01:00.000 to +00:03:00.000, #3 to #6, delivery 2 to 3) …
//! +00:03:00.000  #7  receiver   receive       greetings  greeting-1  ok  seq 1, delivery 4
//! …
//! ```
//!
//! Two events are "the same step" when everything a reader compares is the
//! same: who, what, where, which message, the outcome and the note. Only the
//! time, the operation number, the sequence and delivery counts may differ
//! (and the id of a result, when its correlation id names the same cause).
//! A time in a note is compared as a distance from the event's own time: a
//! renewal's "locked until +00:01:34.000" names a later time in each round,
//! but always the same lock duration ahead. An event that carries an
//! injected fault is never folded: it is what the report is about.

use std::borrow::Cow;
use std::time::Duration;

use super::TraceEvent;

/// Fewer repetitions than this are shown in full: with two, there is
/// nothing between the first and the last to fold, and with three, folding
/// the one in the middle hides too little to be worth a reader's puzzling.
const MIN_REPETITIONS: usize = 4;
/// The longest cycle looked for, in events.
const MAX_CYCLE: usize = 16;

/// One line of a folded timeline.
#[derive(Clone, Debug, PartialEq)]
pub enum TimelineEntry<'a> {
    /// An event, shown as it is.
    Event(&'a TraceEvent),
    /// Repetitions of a cycle folded into one line.
    Folded(FoldedCycle<'a>),
}

/// The repetitions of a cycle left out of a timeline, between its first and
/// its last occurrence.
#[derive(Clone, Debug, PartialEq)]
pub struct FoldedCycle<'a> {
    /// The events left out, every repetition of the cycle in a row.
    pub events: &'a [TraceEvent],
    /// How many repetitions they are.
    pub times: usize,
    /// How long one cycle is, in events.
    pub cycle_len: usize,
}

impl FoldedCycle<'_> {
    /// "… the same receive → lock-expired cycle 8 more times (+00:01:00.000
    /// to +00:08:00.000, #3 to #17, delivery 2 to 9) …"
    pub fn describe(&self) -> String {
        self.describe_numbering(|low, high| format!("#{low} to #{high}"))
    }

    /// As [`FoldedCycle::describe`], with the operation numbers written by
    /// `numbers` (a diagram cannot show `#`).
    pub fn describe_numbering(&self, numbers: impl Fn(u64, u64) -> String) -> String {
        let steps: Vec<&str> = self.events[..self.cycle_len]
            .iter()
            .map(|event| event.operation.name())
            .collect();
        let mut details = Vec::new();
        if let (Some(first), Some(last)) = (self.events.first(), self.events.last()) {
            let (first, last) = (
                crate::clock::format_offset(first.at),
                crate::clock::format_offset(last.at),
            );
            details.push(if first == last {
                first
            } else {
                format!("{first} to {last}")
            });
        }
        let operations = || {
            self.events
                .iter()
                .filter_map(|event| event.operation_number)
        };
        if let (Some(low), Some(high)) = (operations().min(), operations().max()) {
            details.push(numbers(low, high));
        }
        let deliveries = || {
            self.events
                .iter()
                .filter(|event| event.operation.is_delivery())
                .filter_map(|event| event.delivery_count)
        };
        if let (Some(low), Some(high)) = (deliveries().min(), deliveries().max()) {
            details.push(if low == high {
                format!("delivery {low}")
            } else {
                format!("delivery {low} to {high}")
            });
        }
        format!(
            "… the same {} cycle {} more {} ({}) …",
            steps.join(" → "),
            self.times,
            if self.times == 1 { "time" } else { "times" },
            details.join(", ")
        )
    }

    /// The time of the first event left out.
    pub fn from(&self) -> Duration {
        self.events.first().map_or(Duration::ZERO, |event| event.at)
    }
}

/// The events, with every run of four or more repetitions of the same
/// cycle cut down to its first and last occurrence and a line saying what
/// was left out.
pub fn fold_cycles(events: &[TraceEvent]) -> Vec<TimelineEntry<'_>> {
    let mut entries = Vec::new();
    let mut index = 0;
    while index < events.len() {
        match longest_repetition(events, index) {
            Some((cycle_len, repetitions)) => {
                let first_end = index + cycle_len;
                let last_start = index + (repetitions - 1) * cycle_len;
                entries.extend(events[index..first_end].iter().map(TimelineEntry::Event));
                entries.push(TimelineEntry::Folded(FoldedCycle {
                    events: &events[first_end..last_start],
                    times: repetitions - 2,
                    cycle_len,
                }));
                index = last_start;
                // The last occurrence is shown as it is; its events may start
                // a different cycle of their own, which is fine.
                entries.extend(
                    events[index..index + cycle_len]
                        .iter()
                        .map(TimelineEntry::Event),
                );
                index += cycle_len;
            }
            None => {
                entries.push(TimelineEntry::Event(&events[index]));
                index += 1;
            }
        }
    }
    entries
}

/// The cycle starting at `start` that repeats to cover the most events
/// (ties: the shortest cycle), as (cycle length, repetitions), if it
/// repeats often enough to fold.
fn longest_repetition(events: &[TraceEvent], start: usize) -> Option<(usize, usize)> {
    let mut best: Option<(usize, usize)> = None;
    for cycle_len in 1..=MAX_CYCLE {
        if start + cycle_len * MIN_REPETITIONS > events.len() {
            break;
        }
        let cycle = &events[start..start + cycle_len];
        if cycle.iter().any(|event| event.fault.is_some()) {
            continue;
        }
        let mut repetitions = 1;
        while let Some(next) =
            events.get(start + repetitions * cycle_len..start + (repetitions + 1) * cycle_len)
            && next.iter().zip(cycle).all(|(a, b)| same_step(a, b))
        {
            repetitions += 1;
        }
        let covered = repetitions * cycle_len;
        if repetitions >= MIN_REPETITIONS && best.is_none_or(|(len, reps)| covered > len * reps) {
            best = Some((cycle_len, repetitions));
        }
    }
    best
}

/// Whether two events read as the same step of a cycle.
fn same_step(a: &TraceEvent, b: &TraceEvent) -> bool {
    // A fault is what the report is about: never fold it away.
    a.fault.is_none()
        && b.fault.is_none()
        && a.actor == b.actor
        && a.operation == b.operation
        && a.target == b.target
        && subject(a) == subject(b)
        && a.outcome == b.outcome
        && note_shape(a) == note_shape(b)
        && a.operation_number.is_some() == b.operation_number.is_some()
}

/// An event's note with every time in it (`+00:03:36.100`, as
/// [`crate::clock::format_offset`] writes them) replaced by its distance from
/// the event's time, so that the same step of two rounds has the same shape.
fn note_shape(event: &TraceEvent) -> Option<Cow<'_, str>> {
    let note = event.note.as_deref()?;
    if !note.contains('+') {
        return Some(Cow::Borrowed(note));
    }
    let at = i128::try_from(event.at.as_millis()).unwrap_or(i128::MAX);
    let mut shape = String::with_capacity(note.len());
    let mut rest = note;
    while let Some(start) = rest.find('+') {
        shape.push_str(&rest[..start]);
        let candidate = &rest[start..];
        match parse_offset(candidate) {
            Some((millis, length)) => {
                shape.push_str(&format!("<{:+} ms>", i128::from(millis) - at));
                rest = &candidate[length..];
            }
            None => {
                shape.push('+');
                rest = &candidate[1..];
            }
        }
    }
    shape.push_str(rest);
    Some(Cow::Owned(shape))
}

/// A time written by [`crate::clock::format_offset`] at the start of `text`
/// (`+HH:MM:SS.mmm`, with two or more digits of hours): its milliseconds and
/// how many bytes it takes.
fn parse_offset(text: &str) -> Option<(u64, usize)> {
    let bytes = text.as_bytes();
    let digits = |from: usize| {
        bytes[from..]
            .iter()
            .take_while(|byte| byte.is_ascii_digit())
            .count()
    };
    let number = |from: usize, length: usize| text.get(from..from + length)?.parse::<u64>().ok();
    if bytes.first() != Some(&b'+') {
        return None;
    }
    let hours_length = digits(1);
    if hours_length < 2 {
        return None;
    }
    let hours = number(1, hours_length)?;
    let mut at = 1 + hours_length;
    let mut field = |separator: u8, length: usize| {
        if bytes.get(at) != Some(&separator) || digits(at + 1) != length {
            return None;
        }
        let value = number(at + 1, length);
        at += 1 + length;
        value
    };
    let minutes = field(b':', 2)?;
    let seconds = field(b':', 2)?;
    let millis = field(b'.', 3)?;
    let total = ((hours * 60 + minutes) * 60 + seconds)
        .checked_mul(1000)?
        .checked_add(millis)?;
    Some((total, at))
}

/// What an event is about: its cause's id for a result (whose own id may
/// carry a timestamp), else its message id.
fn subject(event: &TraceEvent) -> Option<&str> {
    event
        .correlation_id
        .as_deref()
        .or(event.message_id.as_deref())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::format_offset;
    use crate::trace::Operation;

    /// A renewal at `seconds` whose lock runs `lock` seconds ahead.
    fn renewal(seconds: u64, lock: u64) -> TraceEvent {
        TraceEvent::new(
            Duration::from_secs(seconds),
            Arc::from("pricing"),
            Operation::RenewLock,
        )
        .with_target("orders")
        .with_note(format!(
            "locked until {}",
            format_offset(Duration::from_secs(seconds + lock))
        ))
    }

    #[test]
    fn a_time_in_a_note_is_read_as_a_distance_from_the_event() {
        assert_eq!(parse_offset("+00:01:34.100 and more"), Some((94_100, 13)));
        assert_eq!(parse_offset("+123:00:00.000"), Some((442_800_000, 14)));
        assert_eq!(parse_offset("+1:00:00.000"), None);
        assert_eq!(parse_offset("+00:01:34"), None);
        assert!(same_step(&renewal(30, 60), &renewal(150, 60)));
        assert!(!same_step(&renewal(30, 60), &renewal(150, 90)));
        let plain = renewal(30, 60).with_note("seq 3, +1 retry");
        assert_eq!(note_shape(&plain).as_deref(), Some("seq 3, +1 retry"));
    }

    #[test]
    fn rounds_that_renew_the_lock_fold_like_any_other() {
        // Ten rounds: receive, renew once, the lock expires anyway.
        let events: Vec<TraceEvent> = (0..10)
            .flat_map(|round| {
                let start = round * 120;
                [
                    TraceEvent::new(
                        Duration::from_secs(start),
                        Arc::from("pricing"),
                        Operation::Receive,
                    )
                    .with_target("orders"),
                    renewal(start + 30, 60),
                    TraceEvent::new(
                        Duration::from_secs(start + 90),
                        Arc::from("orders"),
                        Operation::LockExpired,
                    )
                    .with_target("orders"),
                ]
            })
            .collect();
        let entries = fold_cycles(&events);
        // The first round, one folded line, the last round.
        assert_eq!(entries.len(), 7, "{entries:?}");
        match &entries[3] {
            TimelineEntry::Folded(folded) => {
                assert_eq!(folded.times, 8);
                assert!(
                    folded.describe().starts_with(
                        "… the same receive → renew-lock → lock-expired cycle 8 more times"
                    ),
                    "{}",
                    folded.describe()
                );
            }
            other => panic!("expected a folded line, got {other:?}"),
        }
    }
}

//! The text timeline: one aligned line per event.
//!
//! ```text
//! +00:00:00.000   #3  consumer  receive   orders   order-2  ok  seq 2, delivery 1
//! +00:00:00.000   #4  consumer  complete  orders   order-2  ok
//! +00:00:00.000   #5  consumer  CRASH     results  order-2  [crash-before] before send
//! ```
//!
//! Column widths come from the events shown, so the same events always give
//! the same bytes.

use std::fmt::Write;

use super::cycles::{TimelineEntry, fold_cycles};
use super::{Operation, Outcome, TraceEvent, in_time_order};
use crate::clock::format_offset;

/// Renders events as a text timeline (ends with a newline unless empty), in
/// time order: every event, one line each.
pub fn render_timeline(events: &[TraceEvent]) -> String {
    let events = in_time_order(events);
    let entries: Vec<TimelineEntry<'_>> = events.iter().map(TimelineEntry::Event).collect();
    render_entries(&entries)
}

/// As [`render_timeline`], with repeated cycles folded (see
/// [`super::cycles`]): what a failure report shows, so that ten identical
/// redeliveries do not push the lines that matter off the screen.
pub fn render_folded_timeline(events: &[TraceEvent]) -> String {
    let events = in_time_order(events);
    render_entries(&fold_cycles(&events))
}

fn render_entries(entries: &[TimelineEntry<'_>]) -> String {
    let shown = || {
        entries.iter().filter_map(|entry| match entry {
            TimelineEntry::Event(event) => Some(*event),
            TimelineEntry::Folded(_) => None,
        })
    };
    let width = |f: &dyn Fn(&TraceEvent) -> usize| shown().map(f).max().unwrap_or(0);
    let number_width = width(&|e| e.operation_number.map_or(0, |n| n.to_string().len() + 1));
    let actor_width = width(&|e| e.actor.len());
    let operation_width = width(&|e| e.operation.name().len());
    let target_width = width(&|e| e.target.as_deref().map_or(1, str::len));
    let message_width = width(&|e| e.message_id.as_deref().map_or(1, str::len));

    let mut out = String::new();
    let mut failures = LastFailure::default();
    for entry in entries {
        let event = match entry {
            TimelineEntry::Event(event) => *event,
            TimelineEntry::Folded(folded) => {
                // Indented under the time column, so it reads as a gap in
                // the timeline rather than as an event.
                let _ = writeln!(out, "  {}", folded.describe());
                failures = LastFailure::default();
                continue;
            }
        };
        let outcome = match failures.repeated_by(event) {
            Some(Some(number)) => format!("returned the error of #{number}"),
            Some(None) => "returned that error".to_owned(),
            None => describe_outcome(event),
        };
        failures.observe(event);
        let number = event
            .operation_number
            .map(|n| format!("#{n}"))
            .unwrap_or_default();
        // The operation-number column only when some event has a number.
        let number = if number_width == 0 {
            String::new()
        } else {
            format!("  {number:>number_width$}")
        };
        let mut line = format!(
            "{}{number}  {:<actor_width$}  {:<operation_width$}  {:<target_width$}  {:<message_width$}  {}",
            format_offset(event.at),
            event.actor,
            event.operation.name(),
            event.target.as_deref().unwrap_or("-"),
            event.message_id.as_deref().unwrap_or("-"),
            outcome,
        );
        let trimmed = line.trim_end().len();
        line.truncate(trimmed);
        let _ = writeln!(out, "{line}");
    }
    out
}

/// The last operation shown that failed: a service that exits with that
/// same error right after says so ("returned the error of #8") rather than
/// repeating a long error on the next line.
#[derive(Default)]
pub(super) struct LastFailure<'a> {
    failed: Option<&'a TraceEvent>,
}

impl<'a> LastFailure<'a> {
    /// For an exit that returns the last failure's error: `Some` of that
    /// operation's number (if it had one).
    pub(super) fn repeated_by(&self, event: &TraceEvent) -> Option<Option<u64>> {
        let failed = self.failed?;
        let Outcome::Failed(error) = &failed.outcome else {
            return None;
        };
        let returned = event.note.as_deref()?.strip_prefix("returned an error: ")?;
        (event.operation == Operation::Exit && failed.actor == event.actor && returned == &**error)
            .then_some(failed.operation_number)
    }

    /// Notes an event shown.
    pub(super) fn observe(&mut self, event: &'a TraceEvent) {
        match event.outcome {
            Outcome::Failed(_) => self.failed = Some(event),
            // Another service's line does not break the link.
            Outcome::Ok => {
                self.failed = self.failed.filter(|failed| failed.actor != event.actor);
            }
        }
    }
}

/// The last column: outcome, fault and details, e.g.
/// `ok  seq 2, delivery 1` or `FAILED: the broker is unavailable [unavailable]`.
pub(crate) fn describe_outcome(event: &TraceEvent) -> String {
    let mut parts = Vec::new();
    if !event.operation.is_lifecycle() && !event.operation.is_broker_internal() {
        parts.push(match &event.outcome {
            Outcome::Ok => "ok".to_owned(),
            Outcome::Failed(error) => format!("FAILED: {error}"),
        });
    }
    let mut details = Vec::new();
    if let Some(sequence) = event.sequence_number {
        details.push(format!("seq {sequence}"));
    }
    if let Some(count) = event.delivery_count {
        details.push(format!("delivery {count}"));
    }
    if let Some(correlation) = &event.correlation_id
        && event.message_id.as_deref() != Some(correlation)
    {
        details.push(format!("for {correlation}"));
    }
    if let Some(note) = &event.note {
        details.push(note.to_string());
    }
    if !details.is_empty() {
        parts.push(details.join(", "));
    }
    if let Some(fault) = event.fault {
        parts.push(format!("[fault: {fault}]"));
    }
    parts.join("  ")
}

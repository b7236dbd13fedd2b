//! How the trace stores its events: compactly, in chunks.
//!
//! A run of a few hundred operations does not care, but an overnight
//! dead-letter storm of a million messages records three million events, and
//! then every byte per event is three megabytes. So the log keeps a compact
//! form of each [`TraceEvent`] and rebuilds the full one when it is read:
//!
//! - actor and target names are stored once, in a table, and referred to by
//!   index (a run has a handful of names, repeated millions of times);
//! - optional numbers use a sentinel instead of an `Option` (which would
//!   double their size with padding);
//! - a fault is a kind and a duration in milliseconds.
//!
//! And the events sit in fixed-size chunks rather than one `Vec`, which would
//! double its capacity as it grew and copy everything each time: twice the
//! memory at the worst moment. Chunks never move once allocated.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::{Operation, Outcome, TraceEvent};
use crate::fault::Fault;

/// Events per chunk.
const CHUNK: usize = 4096;
/// "None" for the optional numbers.
const NONE: u64 = u64::MAX;
/// "None" for the optional name index and delivery count.
const NONE32: u32 = u32::MAX;

#[derive(Debug, Default)]
pub(super) struct TraceLog {
    chunks: Vec<Vec<CompactEvent>>,
    len: usize,
    /// Every actor and target name, by index.
    names: Vec<Arc<str>>,
    /// Name → index. A `HashMap` is fine here: it is only looked up, never
    /// iterated, so its random order cannot leak into a trace.
    indexes: HashMap<Arc<str>, u32>,
}

#[derive(Debug)]
struct CompactEvent {
    at_nanos: u64,
    operation_number: u64,
    sequence_number: u64,
    fault_millis: u64,
    message_id: Option<Arc<str>>,
    correlation_id: Option<Arc<str>>,
    /// `None` for success, the error's text for a failure.
    failure: Option<Arc<str>>,
    note: Option<Arc<str>>,
    actor: u32,
    target: u32,
    delivery_count: u32,
    operation: Operation,
    fault_kind: u8,
}

impl TraceLog {
    pub(super) fn push(&mut self, event: TraceEvent) {
        let actor = self.name_index(&event.actor);
        let target = match &event.target {
            Some(target) => self.name_index(target),
            None => NONE32,
        };
        let (fault_kind, fault_millis) = encode_fault(event.fault);
        let compact = CompactEvent {
            at_nanos: u64::try_from(event.at.as_nanos()).unwrap_or(NONE - 1),
            operation_number: event.operation_number.unwrap_or(NONE),
            sequence_number: event.sequence_number.unwrap_or(NONE),
            fault_millis,
            message_id: event.message_id,
            correlation_id: event.correlation_id,
            failure: match event.outcome {
                Outcome::Ok => None,
                Outcome::Failed(error) => Some(Arc::from(error)),
            },
            note: event.note,
            actor,
            target,
            delivery_count: event.delivery_count.unwrap_or(NONE32),
            operation: event.operation,
            fault_kind,
        };
        match self.chunks.last_mut() {
            Some(chunk) if chunk.len() < CHUNK => chunk.push(compact),
            _ => {
                let mut chunk = Vec::with_capacity(CHUNK);
                chunk.push(compact);
                self.chunks.push(chunk);
            }
        }
        self.len += 1;
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// The events, rebuilt, oldest first.
    pub(super) fn iter(&self) -> impl DoubleEndedIterator<Item = TraceEvent> + '_ {
        self.chunks.iter().flatten().map(|event| self.expand(event))
    }

    fn name_index(&mut self, name: &Arc<str>) -> u32 {
        if let Some(&index) = self.indexes.get(name) {
            return index;
        }
        let index = u32::try_from(self.names.len()).unwrap_or(NONE32 - 1);
        self.names.push(Arc::clone(name));
        self.indexes.insert(Arc::clone(name), index);
        index
    }

    fn name(&self, index: u32) -> Arc<str> {
        self.names
            .get(index as usize)
            .cloned()
            .unwrap_or_else(|| Arc::from("?"))
    }

    fn expand(&self, event: &CompactEvent) -> TraceEvent {
        let some = |value: u64| (value != NONE).then_some(value);
        TraceEvent {
            at: Duration::from_nanos(event.at_nanos),
            operation_number: some(event.operation_number),
            actor: self.name(event.actor),
            operation: event.operation,
            target: (event.target != NONE32).then(|| self.name(event.target)),
            message_id: event.message_id.clone(),
            correlation_id: event.correlation_id.clone(),
            sequence_number: some(event.sequence_number),
            delivery_count: (event.delivery_count != NONE32).then_some(event.delivery_count),
            outcome: match &event.failure {
                None => Outcome::Ok,
                Some(error) => Outcome::Failed(Box::from(&**error)),
            },
            fault: decode_fault(event.fault_kind, event.fault_millis),
            note: event.note.clone(),
        }
    }
}

fn encode_fault(fault: Option<Fault>) -> (u8, u64) {
    let millis = |duration: Duration| u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
    match fault {
        None => (0, 0),
        Some(Fault::CrashBefore) => (1, 0),
        Some(Fault::CrashAfter) => (2, 0),
        Some(Fault::LostResponse) => (3, 0),
        Some(Fault::Unavailable) => (4, 0),
        Some(Fault::Delay(duration)) => (5, millis(duration)),
        Some(Fault::DuplicateDelivery) => (6, 0),
        Some(Fault::Outage(duration)) => (7, millis(duration)),
    }
}

fn decode_fault(kind: u8, millis: u64) -> Option<Fault> {
    match kind {
        1 => Some(Fault::CrashBefore),
        2 => Some(Fault::CrashAfter),
        3 => Some(Fault::LostResponse),
        4 => Some(Fault::Unavailable),
        5 => Some(Fault::Delay(Duration::from_millis(millis))),
        6 => Some(Fault::DuplicateDelivery),
        7 => Some(Fault::Outage(Duration::from_millis(millis))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_comes_back_as_it_went_in() {
        let mut log = TraceLog::default();
        let mut full = TraceEvent::new(
            Duration::from_millis(1500),
            Arc::from("consumer"),
            Operation::Receive,
        );
        full.operation_number = Some(7);
        full.target = Some(Arc::from("orders"));
        full.message_id = Some(Arc::from("m-1"));
        full.correlation_id = Some(Arc::from("c-1"));
        full.sequence_number = Some(3);
        full.delivery_count = Some(2);
        full.outcome = Outcome::Failed(Box::from("the broker is unavailable"));
        full.fault = Some(Fault::Delay(Duration::from_millis(250)));
        full.note = Some(Arc::from("a note"));
        let bare = TraceEvent::new(Duration::ZERO, Arc::from("orders"), Operation::LockExpired);
        log.push(full.clone());
        log.push(bare.clone());
        assert_eq!(log.iter().collect::<Vec<_>>(), vec![full, bare]);
        assert_eq!(log.len(), 2);
    }

    #[test]
    fn every_fault_survives_the_round_trip() {
        for fault in [
            Fault::CrashBefore,
            Fault::CrashAfter,
            Fault::LostResponse,
            Fault::Unavailable,
            Fault::Delay(Duration::from_millis(1234)),
            Fault::DuplicateDelivery,
            Fault::Outage(Duration::from_secs(90)),
        ] {
            let (kind, millis) = encode_fault(Some(fault));
            assert_eq!(decode_fault(kind, millis), Some(fault));
        }
    }
}

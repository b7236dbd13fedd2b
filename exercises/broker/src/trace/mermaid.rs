//! The mermaid rendering: a `sequenceDiagram` the book embeds.
//!
//! Participants are the services, the broker entities, the store and the
//! downstream systems, in the order they first appear. Requests are solid
//! arrows from the service; deliveries are dashed arrows to it; failures end
//! in a cross; what the broker does on its own and what happens to a service
//! (a crash, a restart) are notes. A receive-and-delete delivery says so on
//! its arrow, and a note on the queue says the message is gone: that the
//! broker forgets the message as it hands it out is the whole lesson of the
//! configuration chapter.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::cycles::{TimelineEntry, fold_cycles};
use super::timeline::LastFailure;
use super::{Operation, Outcome, RECEIVE_AND_DELETE_NOTE, TraceEvent, in_time_order};
use crate::fault::Fault;

/// Renders events as a mermaid sequence diagram, in time order.
pub fn render_mermaid(events: &[TraceEvent]) -> String {
    let events = in_time_order(events);
    let entries: Vec<TimelineEntry<'_>> = events.iter().map(TimelineEntry::Event).collect();
    render_entries(&entries)
}

/// As [`render_mermaid`], with repeated cycles folded into a note (see
/// [`super::cycles`]): the diagram of a failure report and of the book.
pub fn render_folded_mermaid(events: &[TraceEvent]) -> String {
    let events = in_time_order(events);
    render_entries(&fold_cycles(&events))
}

fn render_entries(entries: &[TimelineEntry<'_>]) -> String {
    let events: Vec<&TraceEvent> = entries
        .iter()
        .flat_map(|entry| match entry {
            TimelineEntry::Event(event) => std::slice::from_ref(*event).iter(),
            TimelineEntry::Folded(folded) => folded.events.iter(),
        })
        .collect();
    // Mermaid ids must be plain identifiers; names like
    // `orders/Subscriptions/audit` are shown through `participant pN as …`.
    let mut ids: BTreeMap<&str, String> = BTreeMap::new();
    let mut order: Vec<&str> = Vec::new();
    for event in &events {
        for name in std::iter::once(&*event.actor).chain(event.target.as_deref()) {
            if !ids.contains_key(name) {
                // Borrow from the event slice: it outlives this function's maps.
                ids.insert(name, format!("p{}", order.len()));
                order.push(name);
            }
        }
    }

    let mut out = String::from("sequenceDiagram\n");
    for name in &order {
        let _ = writeln!(out, "    participant {} as {}", ids[name], clean(name));
    }
    let mut failures = LastFailure::default();
    for entry in entries {
        let event = match entry {
            TimelineEntry::Event(event) => *event,
            TimelineEntry::Folded(folded) => {
                failures = LastFailure::default();
                // Across every participant the left-out cycles involve.
                let mut involved: Vec<usize> = folded
                    .events
                    .iter()
                    .flat_map(|event| std::iter::once(&*event.actor).chain(event.target.as_deref()))
                    .filter_map(|name| order.iter().position(|known| *known == name))
                    .collect();
                involved.sort_unstable();
                let over = match (involved.first(), involved.last()) {
                    (Some(first), Some(last)) if first != last => format!("p{first},p{last}"),
                    (Some(only), _) => format!("p{only}"),
                    _ => continue,
                };
                let text = folded.describe_numbering(|low, high| format!("ops {low} to {high}"));
                let _ = writeln!(out, "    Note over {over}: {}", clean(&text));
                continue;
            }
        };
        let actor = &ids[&*event.actor];
        let target = event.target.as_deref().map(|t| ids[t].as_str());
        let number = event
            .operation_number
            .map(|n| format!("{n}) "))
            .unwrap_or_default();
        let message = event
            .message_id
            .as_deref()
            .map(|m| format!(" {}", clean(m)))
            .unwrap_or_default();
        let op = event.operation.name();
        let repeated = failures.repeated_by(event);
        failures.observe(event);

        if event.operation.is_lifecycle() {
            let text = match event.operation {
                // "CRASH after receive greeting-1 (op 1): memory lost"
                Operation::Crash => format!(
                    "CRASH {}{message}{}: memory lost",
                    event.note.as_deref().unwrap_or(""),
                    event
                        .operation_number
                        .map(|n| format!(" (op {n})"))
                        .unwrap_or_default(),
                ),
                Operation::Start if event.note.is_some() => "restarted".to_owned(),
                Operation::Start => "started".to_owned(),
                Operation::Exit if repeated.is_some() => match repeated.flatten() {
                    Some(number) => format!("exit: returned the error of op {number}"),
                    None => "exit: returned that error".to_owned(),
                },
                _ => format!("{op} {}", event.note.as_deref().unwrap_or("")),
            };
            let _ = writeln!(out, "    Note over {actor}: {}", clean(text.trim()));
            continue;
        }
        if event.operation.is_broker_internal() {
            let over = target.unwrap_or(actor);
            let note = event
                .note
                .as_deref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "    Note over {over}: {}",
                clean(&format!("{op}{message}{note}"))
            );
            continue;
        }
        let Some(target) = target else {
            continue;
        };
        match (&event.outcome, event.fault) {
            (Outcome::Failed(error), _) => {
                let _ = writeln!(
                    out,
                    "    {actor}-x{target}: {}",
                    clean(&format!("{number}{op}{message} FAILED: {error}"))
                );
            }
            (Outcome::Ok, fault) => {
                if event.operation.is_delivery() {
                    let deleted = event.note.as_deref() == Some(RECEIVE_AND_DELETE_NOTE);
                    let label = match (event.message_id.as_deref(), event.delivery_count) {
                        (Some(_), Some(count)) if deleted => {
                            format!("{number}{op}{message} (delivery {count}, deleted on delivery)")
                        }
                        (Some(_), Some(count)) => {
                            format!("{number}{op}{message} (delivery {count})")
                        }
                        (Some(_), None) => format!("{number}{op}{message}"),
                        (None, _) => format!("{number}{op}: no message"),
                    };
                    let _ = writeln!(out, "    {target}-->>{actor}: {}", clean(&label));
                    if deleted {
                        let _ = writeln!(
                            out,
                            "    Note over {target}: {}",
                            clean(&format!(
                                "receive-and-delete:{message} deleted on delivery, it will never be delivered again"
                            ))
                        );
                    }
                } else {
                    let note = event
                        .note
                        .as_deref()
                        .map(|n| format!(" ({n})"))
                        .unwrap_or_default();
                    let _ = writeln!(
                        out,
                        "    {actor}->>{target}: {}",
                        clean(&format!("{number}{op}{message}{note}"))
                    );
                }
                match fault {
                    Some(Fault::LostResponse) => {
                        let _ = writeln!(out, "    {target}--x{actor}: reply lost");
                    }
                    Some(Fault::DuplicateDelivery) if event.operation.is_delivery() => {
                        let _ = writeln!(
                            out,
                            "    Note over {target}: lock lost at once: will deliver again"
                        );
                    }
                    Some(Fault::Delay(d)) => {
                        let _ = writeln!(
                            out,
                            "    Note over {actor}: {}",
                            clean(&format!("delayed {} ms", d.as_millis()))
                        );
                    }
                    _ => {}
                }
            }
        }
    }
    out
}

/// Mermaid treats `;` as a statement end and `#…;` as an entity code; keep
/// labels to characters it shows as they are.
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            ';' => ',',
            '#' => 'n',
            // Mermaid reads `<br>` and friends as HTML in labels.
            '<' => '(',
            '>' => ')',
            '\n' => ' ',
            other => other,
        })
        .collect()
}

//! The mermaid rendering: a `sequenceDiagram` the book embeds.
//!
//! Participants are the services, the broker entities, the store and the
//! downstream systems, in the order they first appear. Requests are solid
//! arrows from the service; deliveries are dashed arrows to it; failures end
//! in a cross; what the broker does on its own and what happens to a service
//! (a crash, a restart) are notes.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::{Operation, Outcome, TraceEvent};
use crate::fault::Fault;

/// Renders events as a mermaid sequence diagram.
pub fn render_mermaid(events: &[TraceEvent]) -> String {
    // Mermaid ids must be plain identifiers; names like
    // `orders/Subscriptions/audit` are shown through `participant pN as …`.
    let mut ids: BTreeMap<&str, String> = BTreeMap::new();
    let mut order: Vec<&str> = Vec::new();
    for event in events {
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
    for event in events {
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

        if event.operation.is_lifecycle() {
            let text = match event.operation {
                Operation::Crash => format!(
                    "CRASH {}{}{message}, memory lost",
                    event.note.as_deref().unwrap_or(""),
                    event
                        .operation_number
                        .map(|n| format!(" (op {n})"))
                        .unwrap_or_default(),
                ),
                Operation::Start if event.note.is_some() => "restarted".to_owned(),
                Operation::Start => "started".to_owned(),
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
                    let label = match (event.message_id.as_deref(), event.delivery_count) {
                        (Some(_), Some(count)) => {
                            format!("{number}{op}{message} (delivery {count})")
                        }
                        (Some(_), None) => format!("{number}{op}{message}"),
                        (None, _) => format!("{number}{op}: no message"),
                    };
                    let _ = writeln!(out, "    {target}-->>{actor}: {}", clean(&label));
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

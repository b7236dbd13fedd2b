//! The rubric: the graded checks of `outbox` and what each is worth. Do not
//! edit: this is the grader. `tests/checks.rs` runs each check as one
//! `#[test]`; the book's failure figure is drawn from [`lost_event`].
//!
//! Every check explores the same runs: the run without faults, every crash
//! point of it, and random fault plans (crashes, lost replies, unavailable
//! or slow operations, outages of the broker or the store). Each judges
//! what the outside world can see at the end: the committed rows of
//! `orders`, the `OrderPlaced` events `order-events` accepted, and, for
//! `phantom-event`, whether an event left before its order committed.
//!
//! Every check also requires that the shop works when nothing fails: the
//! orders the stock allows are placed, and each one's event is published.
//! A service that places no order, or publishes nothing, cannot pass a
//! check by having nothing to judge.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use broker::Envelope;
use broker::clock::format_offset;
use broker::grading::{Check, Violation};
use broker::simulation::{Exploration, Run, Scenario};
use broker::store::ChangeKind;
use broker::trace::Operation;

use crate::scenario::{orders_the_stock_allows, scenario};
use crate::shop::{DUPLICATE_DETECTION_WINDOW, ORDER_EVENTS, ORDERS, OrderPlaced};

/// The learner's file as compiled, read by [`lost_event`]'s look for state
/// kept outside the service.
#[cfg(not(feature = "solution"))]
const SERVICE_SOURCE: &str = include_str!("orders.rs");
#[cfg(feature = "solution")]
const SERVICE_SOURCE: &str = include_str!("../solution/orders.rs");

/// Every order committed in `orders` ends with its `OrderPlaced` on
/// `order-events`, whatever crashed or failed; and nothing the service keeps
/// in process-wide memory (a `static`, a `thread_local!`, a lazy global)
/// passes for durable state.
pub fn lost_event() -> Check {
    lost_event_of(scenario(), SERVICE_SOURCE)
}

/// [`lost_event`] for another service: its scenario and its source text.
pub fn lost_event_of(scenario: Scenario, source: &str) -> Check {
    let source = source.to_owned();
    Check::new("lost-event", 10)
        .scenario(scenario)
        .exploration(exploration())
        .invariant(move |_: &Run| state_kept_in_the_store(&source))
        .invariant(the_shop_works)
        .invariant(every_order_announced)
}

/// No `OrderPlaced` leaves before its order is committed: none for an order
/// that was rolled back, none that overtakes its own commit.
pub fn phantom_event() -> Check {
    Check::new("phantom-event", 10)
        .scenario(scenario())
        .exploration(exploration())
        .invariant(the_shop_works)
        .invariant(no_event_before_its_order)
}

/// `order-events` accepts one `OrderPlaced` per order: a repeated publish
/// carries the same id, soon enough for duplicate detection to drop it.
pub fn duplicate_event_undetected() -> Check {
    Check::new("duplicate-event-undetected", 5)
        .scenario(scenario())
        .exploration(exploration())
        .invariant(the_shop_works)
        .invariant(one_accepted_event_per_order)
}

/// Every crash point, then the random plans, with every kind of fault.
fn exploration() -> Exploration {
    Exploration::default().with_random_plans(random_plans())
}

/// How many random fault plans each check explores: 40, or
/// `EDA_RANDOM_PLANS` (`cargo xtask verify` asks for many more, to prove the
/// solution on many more seeds than a learner waits for).
fn random_plans() -> u64 {
    std::env::var("EDA_RANDOM_PLANS")
        .ok()
        .and_then(|plans| plans.parse().ok())
        .unwrap_or(40)
}

/// One `OrderPlaced` that `order-events` accepted (a send that duplicate
/// detection dropped is not one).
struct Published {
    order_id: String,
    message_id: String,
    /// Its place in the trace, to compare with the commit of its order.
    index: usize,
    at: Duration,
}

/// The events `order-events` accepted, in the order it accepted them.
fn published(run: &Run) -> Result<Vec<Published>, Violation> {
    let stored: BTreeMap<u64, Envelope> = run
        .remaining(ORDER_EVENTS)
        .into_iter()
        .map(|envelope| (envelope.sequence_number, envelope))
        .collect();
    let mut published = Vec::new();
    for (index, event) in run.events.iter().enumerate() {
        let accepted = event.operation == Operation::Send
            && event.target.as_deref() == Some(ORDER_EVENTS)
            && event.outcome.is_ok();
        let (true, Some(sequence_number)) = (accepted, event.sequence_number) else {
            continue;
        };
        let message_id = event.message_id.as_deref().unwrap_or("?").to_owned();
        // Nobody consumes `order-events` in this scenario, so every accepted
        // message is still there to be read.
        let Some(envelope) = stored.get(&sequence_number) else {
            return Err(Violation::for_message(
                message_id.clone(),
                format!(
                    "`{message_id}` was accepted by `{ORDER_EVENTS}` but is no longer there: \
                     something received it, and only the warehouse and billing may"
                ),
            ));
        };
        let placed = OrderPlaced::from_body(envelope.body()).map_err(|error| {
            Violation::for_message(
                message_id.clone(),
                format!(
                    "`{message_id}` on `{ORDER_EVENTS}` is not an OrderPlaced ({error}): the \
                     warehouse cannot read it. Build events with `OrderPlaced::to_message`"
                ),
            )
        })?;
        published.push(Published {
            order_id: placed.order_id,
            message_id,
            index,
            at: event.at,
        });
    }
    Ok(published)
}

/// The ids of the orders committed in `orders` at the end.
fn committed_orders(run: &Run) -> BTreeSet<String> {
    run.store.committed(ORDERS).into_keys().collect()
}

/// Every check: without faults, the orders the stock allows are placed (and
/// no other), and each has its event by the end of the run.
fn the_shop_works(run: &Run) -> Result<(), Violation> {
    if !run.plan.is_empty() {
        return Ok(());
    }
    let expected: BTreeSet<String> = orders_the_stock_allows().into_iter().collect();
    let committed = committed_orders(run);
    if committed != expected {
        return Err(Violation::new(format!(
            "in the run without faults, `{ORDERS}` ends with [{}], but the stock allows exactly \
             [{}]: `place_order` must commit each order it can and refuse the rest",
            list(&committed),
            list(&expected)
        )));
    }
    let announced: BTreeSet<String> = published(run)?
        .into_iter()
        .map(|event| event.order_id)
        .collect();
    match expected.iter().find(|order| !announced.contains(*order)) {
        Some(order) => Err(Violation::for_message(
            order.clone(),
            format!(
                "in the run without faults, no OrderPlaced for `{order}` reached \
                 `{ORDER_EVENTS}` by the end of the run: the order was placed and nobody was told"
            ),
        )),
        None => Ok(()),
    }
}

/// `lost-event`: a committed order whose event never reached the broker.
fn every_order_announced(run: &Run) -> Result<(), Violation> {
    let announced: BTreeSet<String> = published(run)?
        .into_iter()
        .map(|event| event.order_id)
        .collect();
    match committed_orders(run)
        .into_iter()
        .find(|order| !announced.contains(order))
    {
        Some(order) => Err(Violation::for_message(
            order.clone(),
            format!(
                "order `{order}` was committed in `{ORDERS}`, but no OrderPlaced for it ever \
                 reached `{ORDER_EVENTS}`: the warehouse will never ship it and billing will \
                 never charge it. The event is lost"
            ),
        )),
        None => Ok(()),
    }
}

/// `phantom-event`: an event for an order that was never committed, or one
/// that left before its order's commit.
fn no_event_before_its_order(run: &Run) -> Result<(), Violation> {
    let committed_at = order_commits(run);
    for event in published(run)? {
        let order = &event.order_id;
        match committed_at.get(order) {
            None => {
                return Err(Violation::for_message(
                    order.clone(),
                    format!(
                        "OrderPlaced for `{order}` reached `{ORDER_EVENTS}` at {} (as `{}`), but \
                         the order was never committed: its transaction rolled back. The \
                         warehouse will ship an order that does not exist",
                        format_offset(event.at),
                        event.message_id
                    ),
                ));
            }
            Some((index, at)) if *index > event.index => {
                return Err(Violation::for_message(
                    order.clone(),
                    format!(
                        "OrderPlaced for `{order}` reached `{ORDER_EVENTS}` at {} (as `{}`), \
                         before the transaction that placed the order committed at {}: had that \
                         commit failed, the event would announce an order that does not exist",
                        format_offset(event.at),
                        event.message_id,
                        format_offset(*at)
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// For each committed order, where in the trace (and when) the transaction
/// that inserted its row committed.
fn order_commits(run: &Run) -> BTreeMap<String, (usize, Duration)> {
    // The change feed says which transaction inserted each order...
    let mut inserted_by: BTreeMap<String, u64> = BTreeMap::new();
    for change in run.store.changes_since(0) {
        if change.table == ORDERS && change.kind == ChangeKind::Insert {
            inserted_by.entry(change.key).or_insert(change.transaction);
        }
    }
    // ...and the trace when that transaction's commit succeeded (its note
    // is `tx <id>`; a commit whose reply was lost is in the trace as done).
    let mut commits = BTreeMap::new();
    for (order, transaction) in inserted_by {
        let note = format!("tx {transaction}");
        if let Some((index, event)) = run.events.iter().enumerate().find(|(_, event)| {
            event.operation == Operation::Commit
                && event.outcome.is_ok()
                && event.note.as_deref() == Some(note.as_str())
        }) {
            commits.insert(order, (index, event.at));
        }
    }
    commits
}

/// `duplicate-event-undetected`: `order-events` accepted two events for one
/// order.
fn one_accepted_event_per_order(run: &Run) -> Result<(), Violation> {
    let mut per_order: BTreeMap<String, Vec<Published>> = BTreeMap::new();
    for event in published(run)? {
        per_order
            .entry(event.order_id.clone())
            .or_default()
            .push(event);
    }
    for (order, events) in per_order {
        let [first, second, ..] = events.as_slice() else {
            continue;
        };
        let sentence = if first.message_id == second.message_id {
            format!(
                "`{ORDER_EVENTS}` accepted OrderPlaced for `{order}` {} times, as `{}` at {} and \
                 again at {}: more than the queue's {}-minute duplicate detection window apart, \
                 so the broker took the repeat for a new message. The warehouse ships the order \
                 twice: stop publishing what was already published",
                events.len(),
                first.message_id,
                format_offset(first.at),
                format_offset(second.at),
                DUPLICATE_DETECTION_WINDOW.as_secs() / 60
            )
        } else {
            format!(
                "`{ORDER_EVENTS}` accepted OrderPlaced for `{order}` {} times, as `{}` at {} and \
                 as `{}` at {}: the same event published again under a new id, so duplicate \
                 detection could not tell it was a repeat. The warehouse ships the order twice",
                events.len(),
                first.message_id,
                format_offset(first.at),
                second.message_id,
                format_offset(second.at)
            )
        };
        return Err(Violation::for_message(order, sentence));
    }
    Ok(())
}

/// `lost-event`, before any run is judged: state kept where a simulated
/// crash cannot reach it.
///
/// The simulation crashes a service by dropping its future: its local
/// variables are gone, as in a real crash. A `static`, a `thread_local!` or
/// a lazy global is not in the future, so it survives the simulated crash
/// (and even the next run). In production a crash ends the process and
/// takes that memory with it. Such state would pass the checks and lose
/// events for real, so it fails this check instead.
fn state_kept_in_the_store(source: &str) -> Result<(), Violation> {
    match process_wide_state(source).first() {
        None => Ok(()),
        Some(found) => Err(Violation::new(format!(
            "`src/orders.rs` keeps state in process-wide memory, at line {} (`{}`): this state \
             lives outside the service and would be lost in a real crash, though the grader's \
             simulated crash cannot wipe it (so it would pass here and lose events in \
             production). Keep it in the store",
            found.line, found.text
        ))),
    }
}

/// A place in the source that declares process-wide state.
#[derive(Debug, PartialEq, Eq)]
struct ProcessWide {
    /// 1-based.
    line: usize,
    /// The line, trimmed.
    text: String,
}

/// The words that declare memory shared by the whole process: `static`
/// items (a `'static` lifetime is not one), and the macros and types that
/// build lazy or per-thread globals.
const PROCESS_WIDE: [&str; 8] = [
    "static",
    "thread_local",
    "lazy_static",
    "OnceLock",
    "OnceCell",
    "LazyLock",
    "LazyCell",
    "Lazy",
];

/// Every line of `source` that declares process-wide state, ignoring
/// comments, string and character literals, and lifetimes.
fn process_wide_state(source: &str) -> Vec<ProcessWide> {
    let code = code_only(source);
    let lines: Vec<&str> = source.lines().collect();
    let mut found = Vec::new();
    let mut seen_lines = BTreeSet::new();
    let mut line = 1;
    let mut previous = ' ';
    let mut chars = code.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\n' {
            line += 1;
        }
        if !(c.is_alphabetic() || c == '_') {
            if !c.is_whitespace() {
                previous = c;
            }
            continue;
        }
        let mut word = String::from(c);
        while let Some(&next) = chars.peek() {
            if next.is_alphanumeric() || next == '_' {
                word.push(next);
                chars.next();
            } else {
                break;
            }
        }
        let lifetime = previous == '\'';
        previous = 'a';
        if !lifetime && PROCESS_WIDE.contains(&word.as_str()) && seen_lines.insert(line) {
            found.push(ProcessWide {
                line,
                text: lines
                    .get(line - 1)
                    .map_or(String::new(), |text| text.trim().to_owned()),
            });
        }
    }
    found
}

/// `source` with comments and string and character literals blanked out
/// (newlines kept, so line numbers stay true). Lifetimes keep their `'`.
fn code_only(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match (c, next) {
            ('/', Some('/')) => {
                while i < chars.len() && chars[i] != '\n' {
                    out.push(' ');
                    i += 1;
                }
            }
            ('/', Some('*')) => {
                // Block comments nest in Rust.
                let mut depth = 0;
                while i < chars.len() {
                    if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                        depth += 1;
                        out.push_str("  ");
                        i += 2;
                    } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                        depth -= 1;
                        out.push_str("  ");
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        out.push(blank(chars[i]));
                        i += 1;
                    }
                }
            }
            ('r', Some('#' | '"')) if raw_string_at(&chars, i) => {
                // r"..." or r#"..."#: ends at a quote followed by as many #.
                let mut hashes = 0;
                let mut j = i + 1;
                while chars.get(j) == Some(&'#') {
                    hashes += 1;
                    j += 1;
                }
                j += 1; // the opening quote
                while j < chars.len() {
                    if chars[j] == '"' && (1..=hashes).all(|k| chars.get(j + k) == Some(&'#')) {
                        j += 1 + hashes;
                        break;
                    }
                    j += 1;
                }
                for &skipped in &chars[i..j.min(chars.len())] {
                    out.push(blank(skipped));
                }
                i = j;
            }
            ('"', _) => {
                out.push(' ');
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' {
                        out.push(' ');
                        i += 1;
                    }
                    if i < chars.len() {
                        out.push(blank(chars[i]));
                        i += 1;
                    }
                }
                out.push(' ');
                i += 1;
            }
            ('\'', Some('\\')) => {
                // An escaped character literal: '\n', '\'', '\u{1F600}'.
                out.push_str("  ");
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    out.push(' ');
                    i += 1;
                }
                out.push(' ');
                i += 1;
            }
            ('\'', Some(_)) if chars.get(i + 2) == Some(&'\'') => {
                // A plain character literal: 'a'.
                out.push_str("   ");
                i += 3;
            }
            _ => {
                // Code, and the `'` of a lifetime, which stays.
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// Whether a raw string starts at `i` (`r"` or `r#…"`), not an identifier
/// that ends in `r` (`for"` cannot happen, but `bar#` in a macro might).
fn raw_string_at(chars: &[char], i: usize) -> bool {
    let starts_word = i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
    let mut j = i + 1;
    while chars.get(j) == Some(&'#') {
        j += 1;
    }
    starts_word && chars.get(j) == Some(&'"')
}

/// "order-1, order-2".
fn list(orders: &BTreeSet<String>) -> String {
    orders.iter().cloned().collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::{ProcessWide, process_wide_state};

    fn lines(source: &str) -> Vec<usize> {
        process_wide_state(source)
            .into_iter()
            .map(|found| found.line)
            .collect()
    }

    #[test]
    fn finds_statics_thread_locals_and_lazy_globals() {
        let source = "use std::sync::Mutex;\n\
                      static SENT: Mutex<Vec<String>> = Mutex::new(Vec::new());\n\
                      thread_local! { static SEEN: u32 = 0; }\n\
                      fn f() { static mut N: u32 = 0; }\n\
                      const C: std::sync::OnceLock<u32> = std::sync::OnceLock::new();\n\
                      pub static LAZY: std::sync::LazyLock<u32> = std::sync::LazyLock::new(|| 1);\n";
        assert_eq!(lines(source), vec![2, 3, 4, 5, 6]);
        assert_eq!(
            process_wide_state(source)[0],
            ProcessWide {
                line: 2,
                text: "static SENT: Mutex<Vec<String>> = Mutex::new(Vec::new());".to_owned()
            }
        );
    }

    #[test]
    fn ignores_lifetimes_comments_strings_and_chars() {
        let source = "fn id(x: &'static str) -> &'static str { x }\n\
                      // a static would be wrong here\n\
                      /* static /* nested */ static */\n\
                      const NOTE: &str = \"static in a string\";\n\
                      const RAW: &str = r#\"a \"static\" raw string\"#;\n\
                      const QUOTE: char = '\\'';\n\
                      const S: char = 's';\n\
                      fn g<'a>(x: &'a str) -> &'a str { x } // OnceLock\n\
                      struct Staticky; fn statics() {}\n";
        assert_eq!(lines(source), Vec::<usize>::new());
    }

    #[test]
    fn the_shipped_files_keep_no_process_wide_state() {
        assert_eq!(lines(include_str!("orders.rs")), Vec::<usize>::new());
        assert_eq!(
            lines(include_str!("../solution/orders.rs")),
            Vec::<usize>::new()
        );
    }
}

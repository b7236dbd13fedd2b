//! Ready-made invariants, one per common anomaly. Each returns a closure for
//! [`super::Check::invariant`]; write your own the same way when none fits.

use std::collections::BTreeMap;

use super::violation::Violation;
use crate::fault::Fault;
use crate::simulation::Run;
use crate::trace::{Operation, Outcome};

/// `lost-message`: every message `input` accepted is either still there (or
/// in its dead-letter queue), or `processed(run, message_id)` holds.
///
/// A message that left the queue (completed, auto-committed, received and
/// deleted) without its processing showing is lost.
///
/// ```
/// use broker::grading::invariants;
/// let invariant = invariants::no_lost_message("orders", invariants::result_published_to("results"));
/// # let _ = invariant;
/// ```
pub fn no_lost_message<P>(
    input: &str,
    processed: P,
) -> impl Fn(&Run) -> Result<(), Violation> + Send + Sync + 'static
where
    P: Fn(&Run, &str) -> bool + Send + Sync + 'static,
{
    let input = input.to_owned();
    move |run: &Run| {
        entity_exists(run, &input)?;
        for id in run.accepted(&input) {
            if processed(run, &id) || run.still_held(&input, &id) {
                continue;
            }
            let how = if run.removed(&input, &id) {
                "was settled"
            } else {
                "vanished"
            };
            return Err(Violation::for_message(
                id.to_string(),
                format!(
                    "message `{id}` {how} on `{input}`, but its processing never took effect: it is lost"
                ),
            ));
        }
        Ok(())
    }
}

/// Evidence of processing for [`no_lost_message`]: a message with the input's
/// id as its correlation id was sent to `output`.
pub fn result_published_to(output: &str) -> impl Fn(&Run, &str) -> bool + Send + Sync + 'static {
    let output = output.to_owned();
    move |run: &Run, message_id: &str| run.published_for(&output, message_id)
}

/// Evidence of processing for [`no_lost_message`]: the store's `table` has a
/// committed row keyed by the message id.
pub fn row_committed_in(table: &str) -> impl Fn(&Run, &str) -> bool + Send + Sync + 'static {
    let table = table.to_owned();
    move |run: &Run, message_id: &str| run.store.committed(&table).contains_key(message_id)
}

/// Evidence of processing for [`no_lost_message`]: downstream `system` got a
/// call keyed by the message id.
pub fn downstream_called(system: &str) -> impl Fn(&Run, &str) -> bool + Send + Sync + 'static {
    let system = system.to_owned();
    move |run: &Run, message_id: &str| {
        run.calls_to(&system)
            .iter()
            .any(|call| &*call.key == message_id)
    }
}

/// `duplicate-side-effect`: downstream `system` got at most one call per key.
pub fn no_duplicate_side_effect(
    system: &str,
) -> impl Fn(&Run) -> Result<(), Violation> + Send + Sync + 'static {
    let system = system.to_owned();
    move |run: &Run| {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for call in run.calls_to(&system) {
            *counts.entry(&call.key).or_default() += 1;
        }
        match counts.into_iter().find(|(_, count)| *count > 1) {
            Some((key, count)) => Err(Violation::for_message(
                key,
                format!(
                    "`{system}` was called {count} times for `{key}`: the side effect happened more than once"
                ),
            )),
            None => Ok(()),
        }
    }
}

/// `unsettled-message`: at the end, nothing is left available, locked or
/// deferred in `path` (dead letters are settled).
pub fn no_unsettled_message(
    path: &str,
) -> impl Fn(&Run) -> Result<(), Violation> + Send + Sync + 'static {
    let path = path.to_owned();
    move |run: &Run| match entity_exists(run, &path)
        .map(|()| run.remaining(&path))?
        .first()
    {
        Some(envelope) => Err(Violation::for_message(
            envelope.message_id.to_string(),
            format!(
                "message `{}` was never settled on `{path}`: it is still there at the end, after {} {}",
                envelope.message_id,
                envelope.delivery_count,
                if envelope.delivery_count == 1 {
                    "delivery"
                } else {
                    "deliveries"
                }
            ),
        )),
        None => Ok(()),
    }
}

/// `poison-storm`: at most `limit` messages ended in `path`'s dead-letter
/// queue.
pub fn dead_letters_at_most(
    path: &str,
    limit: usize,
) -> impl Fn(&Run) -> Result<(), Violation> + Send + Sync + 'static {
    let path = path.to_owned();
    move |run: &Run| {
        entity_exists(run, &path)?;
        let dead = run.remaining(&crate::dead_letter::dead_letter_path(&path));
        if dead.len() <= limit {
            return Ok(());
        }
        Err(Violation::for_message(
            dead[limit].message_id.to_string(),
            format!(
                "{} messages were dead-lettered on `{path}` (at most {limit} expected): a poison storm",
                dead.len()
            ),
        ))
    }
}

/// A grader that names an entity the scenario does not have would pass
/// every run vacuously: make that a loud failure instead.
fn entity_exists(run: &Run, path: &str) -> Result<(), Violation> {
    match run.broker.stats(path) {
        Ok(_) => Ok(()),
        Err(error) => Err(Violation::new(format!(
            "the check is misconfigured: it reads `{path}`, but {error} in scenario `{}`",
            run.scenario
        ))),
    }
}

/// `unsettled-message`, the broker's way out: nothing ended in `path`'s
/// dead-letter queue. The report says how the first dead letter got there,
/// from the trace, because the fixes differ:
///
/// - the consumer dead-lettered it itself, after an error it could have
///   retried (a send that was unavailable, a reply that was lost): a
///   transient error calls for a retry, not a dead letter;
/// - the consumer abandoned it on every delivery until the broker gave up:
///   "abandoned N times, then dead-lettered";
/// - the consumer never settled it: each lock expired, until the broker
///   dead-lettered it after its maximum delivery count.
pub fn no_dead_letter(
    path: &str,
) -> impl Fn(&Run) -> Result<(), Violation> + Send + Sync + 'static {
    let path = path.to_owned();
    move |run: &Run| {
        entity_exists(run, &path)?;
        let dead = run.remaining(&crate::dead_letter::dead_letter_path(&path));
        let Some(envelope) = dead.first() else {
            return Ok(());
        };
        let id = envelope.message_id();
        Err(Violation::for_message(
            id,
            how_dead_lettered(run, &path, id, envelope.delivery_count),
        ))
    }
}

/// The sentence of [`no_dead_letter`] for message `id`.
fn how_dead_lettered(run: &Run, path: &str, id: &str, deliveries: u32) -> String {
    let about = |event: &&crate::trace::TraceEvent| {
        event.target.as_deref() == Some(path) && event.message_id.as_deref() == Some(id)
    };
    let times = |n: usize| {
        if n == 1 {
            "once".to_owned()
        } else {
            format!("{n} times")
        }
    };
    let by_consumer = run.events.iter().position(|event| {
        about(&event) && event.operation == Operation::DeadLetter && event.outcome.is_ok()
    });
    if let Some(at) = by_consumer {
        let actor = &run.events[at].actor;
        // What went wrong for that consumer since it received the message.
        let received = run.events[..at]
            .iter()
            .rposition(|event| {
                about(&event) && &event.actor == actor && event.operation.is_delivery()
            })
            .unwrap_or(0);
        let trouble = run.events[received..at].iter().rev().find(|event| {
            &event.actor == actor
                && (!event.outcome.is_ok() || event.fault.is_some_and(|fault| !fault.is_crash()))
        });
        return match trouble {
            Some(event) => format!(
                "`{actor}` dead-lettered `{id}` itself after its {} {} {}: a dead letter is for \
                 a message that can never be handled, and this error was transient (retrying, \
                 or returning the error so the message comes back, would have got `{id}` \
                 through). Nobody handles `{id}` now",
                event.operation.name(),
                event.target.as_deref().unwrap_or("-"),
                match (&event.outcome, event.fault) {
                    (Outcome::Failed(error), _) => format!("failed ({error})"),
                    (Outcome::Ok, Some(Fault::LostResponse)) =>
                        "lost its reply (it went through, the consumer got a timeout)".to_owned(),
                    (Outcome::Ok, Some(fault)) => format!("met a fault ({fault})"),
                    (Outcome::Ok, None) => "went wrong".to_owned(),
                }
            ),
            None => format!(
                "`{actor}` dead-lettered `{id}` itself, though nothing had failed while it \
                 handled it: a dead letter is for a message that can never be handled. Nobody \
                 handles `{id}` now"
            ),
        };
    }
    let abandons = run
        .events
        .iter()
        .filter(|event| {
            about(event) && event.operation == Operation::Abandon && event.outcome.is_ok()
        })
        .count();
    let limit = format!("after {deliveries} deliveries, the queue's maximum delivery count");
    if abandons > 0 {
        format!(
            "`{id}` was abandoned {} on `{path}`, then dead-lettered by the broker {limit}: \
             each abandon hands it straight back and counts a delivery, so a consumer that \
             abandons on every error burns through the deliveries in seconds",
            times(abandons)
        )
    } else {
        format!(
            "`{id}` was never settled on `{path}`: each of its locks expired, and the broker \
             dead-lettered it {limit}"
        )
    }
}

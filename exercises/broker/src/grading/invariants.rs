//! Ready-made invariants, one per common anomaly. Each returns a closure for
//! [`super::Check::invariant`]; write your own the same way when none fits.

use std::collections::BTreeMap;

use super::violation::Violation;
use crate::simulation::Run;

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

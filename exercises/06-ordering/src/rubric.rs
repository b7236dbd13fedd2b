//! The rubric: the graded checks of `ordering` and what each is worth. Do
//! not edit: this is the grader. `tests/checks.rs` runs each check as one
//! `#[test]`; the book's failure figure is drawn from [`stale_overwrite`].
//!
//! Every check reads the learner's file first (state kept in a `static`, a
//! `thread_local!` or a lazy global fails it: see [`Check::learner_file`]),
//! then explores the run without faults, every crash point of it, for
//! `stale-overwrite` every fault point (each kind of trouble at its worst,
//! at each operation: a 20-second pause there is how two replicas race on
//! one product), and seeded random fault plans (crashes, lost replies, unavailable or slow
//! operations, duplicate deliveries, outages of the broker or the store).
//! The reorderings come from what those faults set off, as in production: a
//! consumer that crashes holding an event gets it back a minute later,
//! after the other replica applied newer ones; an event that fails ten times
//! during a store outage is dead-lettered and replayed by ops an hour later.
//!
//! The checks judge what the storefront's customers could see: every write
//! the projection committed to `storefront_products` (the store's change
//! feed keeps them all, in commit order), and the table at the end. Every
//! check also requires that the projection works when nothing fails: the
//! read model ends equal to the catalog. A projection that writes nothing
//! cannot pass by having nothing to judge.

use std::collections::BTreeMap;
use std::time::Duration;

use broker::clock::format_offset;
use broker::dead_letter_path;
use broker::fault::FaultKind;
use broker::grading::{Check, Violation};
use broker::simulation::{Exploration, Run, Scenario};
use broker::store::ChangeKind;
use broker::trace::Operation;

use crate::catalog::{self, PRODUCT_EVENTS, PRODUCTS, ProductView};
use crate::scenario::{Deployment, scenario};

/// The file the learner edits, as the grader reads it for state kept
/// outside the service (see [`Check::learner_file`]).
const LEARNER_FILE: &str = "src/projection.rs";
/// The learner's file as compiled.
#[cfg(not(feature = "solution"))]
const PROJECTION_SOURCE: &str = include_str!("projection.rs");
#[cfg(feature = "solution")]
const PROJECTION_SOURCE: &str = include_str!("../solution/projection.rs");

/// A check of this exercise, for the projection whose file is `source`:
/// the learner's file read first, then the graded exploration, with the
/// kinds of fault in `weighted` more likely in the random plans.
fn check(
    name: &str,
    points: u32,
    scenario: Scenario,
    source: &str,
    weighted: &[FaultKind],
) -> Check {
    Check::new(name, points)
        .learner_file(LEARNER_FILE, source)
        .scenario(scenario)
        .exploration(exploration(weighted))
}

/// No product's row ever goes back to an older version than one the
/// storefront already showed: two competing consumers on a plain queue.
pub fn stale_overwrite() -> Check {
    stale_overwrite_of(scenario(Deployment::CompetingConsumers), PROJECTION_SOURCE)
}

/// [`stale_overwrite`] for another projection: its scenario and its source.
pub fn stale_overwrite_of(scenario: Scenario, source: &str) -> Check {
    check("stale-overwrite", 10, scenario, source, &SLOW)
        .invariant(the_projection_works)
        .invariant(no_stale_overwrite)
}

/// A product the catalog deleted never comes back once the storefront has
/// applied the delete: one session per product (FIFO per key), dead letters
/// replayed every hour.
pub fn resurrected_delete() -> Check {
    resurrected_delete_of(scenario(Deployment::Sessions), PROJECTION_SOURCE)
}

/// [`resurrected_delete`] for another projection: its scenario and its
/// source.
pub fn resurrected_delete_of(scenario: Scenario, source: &str) -> Check {
    check("resurrected-delete", 10, scenario, source, &DOWN)
        // Crash points and the outage-weighted random plans only: with one
        // session per product, what reorders a product's events is a store
        // outage that dead-letters one of them, and the random plans draw
        // such outages often enough to catch every wrong fix the teeth tests
        // know. The fault points would double the runs of a grade.
        .exploration(exploration(&DOWN).with_fault_points(false))
        .invariant(the_projection_works)
        .invariant(no_resurrected_delete)
}

/// Once every event is settled, the read model is the catalog: every
/// product at its latest version, no deleted product, nothing else.
pub fn divergent_projection() -> Check {
    divergent_projection_of(scenario(Deployment::CompetingConsumers), PROJECTION_SOURCE)
}

/// [`divergent_projection`] for another projection: its scenario and its
/// source.
pub fn divergent_projection_of(scenario: Scenario, source: &str) -> Check {
    check("divergent-projection", 5, scenario, source, &SLOW)
        // Crash points and random plans only: what diverges for good has
        // already failed `stale-overwrite` or `resurrected-delete` at their
        // fault points, and the wrong fixes this check exists for (a
        // skewed clock, skipped redeliveries, a version kept apart from its
        // row) show without them. Half the runs, for a loop under five
        // seconds.
        .exploration(exploration(&SLOW).with_fault_points(false))
        .invariant(the_projection_works)
        .invariant(every_event_settled)
        .invariant(converged)
}

/// The graded exploration (every crash point, every fault point, the seeded
/// random plans), with some kinds of fault more likely than others in the
/// random plans: each kind in `weighted` counts once more.
///
/// Slow operations and outages are what reorder events here. A pause
/// between a replica's read and its write lets the other replica apply a
/// newer event in between. An outage of the store makes every event that
/// arrives during it fail ten times and go to the dead-letter queue, to be
/// replayed an hour later. With one session per product only the second
/// reorders a product's events: a crash merely delays them, in order.
fn exploration(weighted: &[FaultKind]) -> Exploration {
    let mut kinds = FaultKind::ALL.to_vec();
    kinds.extend_from_slice(weighted);
    Exploration::graded()
        .with_random_plans(RANDOM_PLANS)
        .with_fault_kinds(&kinds)
}

/// The weights of `stale-overwrite` and `divergent-projection`: slow
/// operations, the competing consumers' race.
const SLOW: [FaultKind; 5] = [FaultKind::Delay; 5];
/// The weights of `resurrected-delete`: outages, the dead-letter replay.
const DOWN: [FaultKind; 3] = [FaultKind::Outage; 3];

/// The random plans a learner's grade runs per check, unless `EDA_SEEDS`
/// says otherwise. Fewer than the engine's default: this scenario's runs are
/// long (two replicas and ops, some 75 operations, two hours of virtual
/// time), and its crash and fault points alone are some 525 runs per check.
/// `cargo xtask verify` runs thousands.
const RANDOM_PLANS: u64 = 40;

/// One committed write to a row of `storefront_products`.
struct Write {
    product: String,
    /// The row after the write; `None` for a delete.
    view: Option<ProductView>,
    /// Where in the trace its transaction committed.
    index: usize,
    at: Duration,
    /// Who committed it.
    actor: String,
    /// The event the host was applying, found from the delivery the writer
    /// held last before the commit.
    event: Option<String>,
}

/// Every committed write to the read model, in commit order.
fn writes(run: &Run) -> Result<Vec<Write>, Violation> {
    let mut writes = Vec::new();
    for change in run.store.changes_since(0) {
        if change.table != PRODUCTS {
            continue;
        }
        let note = format!("tx {}", change.transaction);
        let Some((index, commit)) = run.events.iter().enumerate().find(|(_, event)| {
            event.operation == Operation::Commit
                && event.outcome.is_ok()
                && event.note.as_deref() == Some(note.as_str())
        }) else {
            // Only the projection writes this table, through its context:
            // every commit is in the trace.
            continue;
        };
        let view = match (&change.kind, &change.row) {
            (ChangeKind::Delete, _) | (_, None) => None,
            (_, Some(row)) => Some(ProductView::from_json(&change.key, &row.value).map_err(
                |error| {
                    Violation::new(format!(
                        "a row of `{PRODUCTS}` is not a ProductView ({error}): the storefront \
                         cannot show it. Write rows with `ProductView::to_json`"
                    ))
                },
            )?),
        };
        writes.push(Write {
            product: change.key.clone(),
            view,
            index,
            at: commit.at,
            actor: commit.actor.to_string(),
            event: applying(run, index),
        });
    }
    Ok(writes)
}

/// The event whose handling made the commit at `index` of the trace: the
/// last message its service received from `product-events` before it.
fn applying(run: &Run, index: usize) -> Option<String> {
    let actor = &run.events.get(index)?.actor;
    run.events[..index]
        .iter()
        .rev()
        .find(|event| {
            &event.actor == actor
                && event.operation == Operation::Receive
                && event.target.as_deref() == Some(PRODUCT_EVENTS)
                && event.outcome.is_ok()
        })
        .and_then(|event| event.message_id.as_deref().map(str::to_owned))
}

/// "version 3 (\"Teapot\", 29.00)".
fn shown(view: &ProductView) -> String {
    format!(
        "version {} (\"{}\", {}.{:02})",
        view.version,
        view.name,
        view.price_cents / 100,
        view.price_cents % 100
    )
}

/// Every check: without faults, the read model ends equal to the catalog.
fn the_projection_works(run: &Run) -> Result<(), Violation> {
    if !run.plan.is_empty() {
        return Ok(());
    }
    converged(run).map_err(|violation| Violation {
        sentence: format!(
            "in the run without faults, where every event arrives once and in order: {}",
            violation.sentence
        ),
        ..violation
    })
}

/// `stale-overwrite`: a row replaced by an older version than one it showed.
fn no_stale_overwrite(run: &Run) -> Result<(), Violation> {
    // Per product: the newest version shown so far, while its row exists.
    let mut newest: BTreeMap<String, ProductView> = BTreeMap::new();
    let mut deleted: Vec<String> = Vec::new();
    for write in writes(run)? {
        let Some(view) = write.view else {
            deleted.push(write.product.clone());
            continue;
        };
        // A row written after a delete is `resurrected-delete`'s business.
        if deleted.contains(&write.product) {
            continue;
        }
        match newest.get(&write.product) {
            Some(before) if before.version > view.version => {
                let event = write
                    .event
                    .clone()
                    .unwrap_or_else(|| format!("{}-v{}", write.product, view.version));
                return Err(Violation::for_message(
                    write.product.clone(),
                    format!(
                        "the storefront showed `{product}` at {newer}, then at {at} `{actor}` \
                         wrote {older} over it, applying `{event}`: an older event overwrote a \
                         newer one, and customers see what the catalog has since changed",
                        product = write.product,
                        newer = shown(before),
                        at = format_offset(write.at),
                        actor = write.actor,
                        older = shown(&view),
                    ),
                ));
            }
            Some(before) if before.version == view.version => {}
            _ => {
                newest.insert(write.product.clone(), view);
            }
        }
    }
    Ok(())
}

/// `resurrected-delete`: a deleted product written back after its delete
/// was applied.
fn no_resurrected_delete(run: &Run) -> Result<(), Violation> {
    let writes = writes(run)?;
    for (product, version) in catalog::deletes() {
        let delete_id = format!("{product}-v{version}");
        // The delete counts as applied from whichever comes first: the row's
        // delete, or the delete event's complete (a delete that found no row
        // still settles its event).
        let row_deleted = writes
            .iter()
            .find(|write| write.product == product && write.view.is_none())
            .map(|write| (write.index, write.at));
        let completed = run
            .events
            .iter()
            .enumerate()
            .find(|(_, event)| {
                event.operation == Operation::Complete
                    && event.outcome.is_ok()
                    && event.target.as_deref() == Some(PRODUCT_EVENTS)
                    && event.message_id.as_deref() == Some(delete_id.as_str())
            })
            .map(|(index, event)| (index, event.at));
        let applied = match (row_deleted, completed) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let Some((applied_index, applied_at)) = applied else {
            continue;
        };
        let back = writes.iter().find(|write| {
            write.product == product && write.view.is_some() && write.index > applied_index
        });
        if let Some(write) = back
            && let Some(view) = &write.view
        {
            let event = write
                .event
                .clone()
                .unwrap_or_else(|| format!("{product}-v{}", view.version));
            return Err(Violation::for_message(
                product.clone(),
                format!(
                    "the catalog deleted `{product}` (`{delete_id}`) and the storefront applied \
                     the delete at {applied}, but at {at} `{actor}` wrote it back at {older}, \
                     applying `{event}`: a deleted product is for sale again",
                    applied = format_offset(applied_at),
                    at = format_offset(write.at),
                    actor = write.actor,
                    older = shown(view),
                ),
            ));
        }
    }
    Ok(())
}

/// `divergent-projection`, first: every event settled by the end, none
/// waiting, locked or dead-lettered.
fn every_event_settled(run: &Run) -> Result<(), Violation> {
    let dead_letters = dead_letter_path(PRODUCT_EVENTS);
    if let Some(dead) = run.remaining(&dead_letters).first() {
        return Err(Violation::for_message(
            dead.message_id(),
            format!(
                "`{}` is still in `{dead_letters}` when the run ends ({}): it was never applied, \
                 so the read model cannot match the catalog. The projection failed on every one \
                 of its deliveries, also after the hourly replay",
                dead.message_id(),
                dead.dead_letter_reason
                    .as_deref()
                    .unwrap_or("no reason given")
            ),
        ));
    }
    if let Some(waiting) = run.remaining(PRODUCT_EVENTS).first() {
        return Err(Violation::for_message(
            waiting.message_id(),
            format!(
                "`{}` is still in `{PRODUCT_EVENTS}` when the run ends, after {} deliveries: it \
                 was never settled",
                waiting.message_id(),
                waiting.delivery_count
            ),
        ));
    }
    Ok(())
}

/// `divergent-projection`: the read model at the end is not the catalog.
fn converged(run: &Run) -> Result<(), Violation> {
    let truth = catalog::truth();
    let mut rows = BTreeMap::new();
    for (product, row) in run.store.committed(PRODUCTS) {
        let view = ProductView::from_json(&product, &row.value).map_err(|error| {
            Violation::new(format!(
                "the row `{product}` of `{PRODUCTS}` is not a ProductView ({error}): the \
                 storefront cannot show it. Write rows with `ProductView::to_json`"
            ))
        })?;
        rows.insert(product, view);
    }
    for (product, expected) in &truth {
        match rows.get(product) {
            None => {
                return Err(Violation::for_message(
                    product.clone(),
                    format!(
                        "`{product}` is missing from `{PRODUCTS}` at the end, though the catalog \
                         sells it at {}: the storefront does not list it",
                        shown(expected)
                    ),
                ));
            }
            Some(view) if view != expected => {
                return Err(Violation::for_message(
                    product.clone(),
                    format!(
                        "`{PRODUCTS}` ends with `{product}` at {}, but the catalog's latest is \
                         {}: the read model diverged from the source of truth",
                        shown(view),
                        shown(expected)
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    for (product, view) in &rows {
        if truth.contains_key(product) {
            continue;
        }
        let why = match catalog::deletes()
            .iter()
            .find(|(deleted, _)| deleted == product)
        {
            Some((_, version)) => format!("the catalog deleted it at version {version}"),
            None => "the catalog never had it".to_owned(),
        };
        return Err(Violation::for_message(
            product.clone(),
            format!(
                "`{PRODUCTS}` ends with `{product}` at {}, but {why}: the storefront sells a \
                 product that does not exist",
                shown(view)
            ),
        ));
    }
    Ok(())
}

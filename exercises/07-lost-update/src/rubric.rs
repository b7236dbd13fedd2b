//! The rubric: the graded checks of `lost-update` and what each is worth.
//! Do not edit: this is the grader. `tests/checks.rs` runs each check as one
//! `#[test]`; the book's failure figure is drawn from [`lost_update`].
//!
//! What each check explores:
//!
//! - `lost-update` and `oversold`: **every interleaving** of the two
//!   workers' store statements, without faults (not a sample: the grader
//!   enumerates the orders in which the statements can alternate until it
//!   has run each once); then the run without faults, every crash point and
//!   the random fault plans.
//! - `retry-storm`: the run without faults, every crash point and the
//!   random fault plans (lost replies, unavailable or slow operations,
//!   outages of the store of up to two minutes), then every interleaving.
//!
//! Each judges what the outside world can see at the end: the committed
//! rows of `stock` and `reservations`, and the trace. Every check also
//! requires that the warehouse works when nothing fails: both requests
//! settled, one of them reserved. A worker that reserves nothing cannot
//! pass by having nothing to judge.

use std::collections::BTreeMap;

use broker::grading::{Check, Violation};
use broker::simulation::{Exploration, Run, Scenario};
use broker::trace::Operation;

use crate::scenario::{OPENING_STOCK, SKU, requests, scenario};
use crate::warehouse::{
    MAX_ATTEMPTS_PER_DELIVERY, RESERVATION_REQUESTS, RESERVATIONS, STOCK, available,
};

/// The file the learner edits, as the grader reads it for state kept
/// outside the service (see [`Check::learner_file`]): a `static` lock
/// serialises the two workers only because the grader runs both in one
/// process; in production they are two processes.
const LEARNER_FILE: &str = "src/stock.rs";
/// The learner's file as compiled.
#[cfg(not(feature = "solution"))]
const SERVICE_SOURCE: &str = include_str!("stock.rs");
#[cfg(feature = "solution")]
const SERVICE_SOURCE: &str = include_str!("../solution/stock.rs");

/// The most interleavings a check runs. A solution with a small retry bound
/// stays far below it; one past it fails with a message that says so.
const MAX_INTERLEAVINGS: u64 = 20_000;

/// No interleaving of the two workers loses a reservation's update of the
/// stock: at the end, the stock equals the opening stock less everything
/// the committed reservations took. And nothing coordinates the workers
/// through process-wide memory.
pub fn lost_update() -> Check {
    lost_update_of(scenario(), SERVICE_SOURCE)
}

/// [`lost_update`] for another worker: its scenario and its source text.
pub fn lost_update_of(scenario: Scenario, source: &str) -> Check {
    Check::new("lost-update", 15)
        .learner_file(LEARNER_FILE, source)
        .scenario(scenario)
        .exploration(every_interleaving())
        .invariant(stock_matches_reservations)
        .invariant(the_warehouse_works)
}

/// The stock never goes below zero, and the committed reservations never
/// take more than there was.
pub fn oversold() -> Check {
    oversold_of(scenario())
}

/// [`oversold`] for another worker.
pub fn oversold_of(scenario: Scenario) -> Check {
    Check::new("oversold", 5)
        .learner_file(LEARNER_FILE, SERVICE_SOURCE)
        .scenario(scenario)
        .exploration(every_interleaving())
        .invariant(never_oversold)
        .invariant(the_warehouse_works)
}

/// Retries end: no delivery of a request leads to more than
/// [`MAX_ATTEMPTS_PER_DELIVERY`] transactions, and no run spins.
pub fn retry_storm() -> Check {
    retry_storm_of(scenario())
}

/// [`retry_storm`] for another worker.
pub fn retry_storm_of(scenario: Scenario) -> Check {
    Check::new("retry-storm", 5)
        .learner_file(LEARNER_FILE, SERVICE_SOURCE)
        .scenario(scenario)
        .exploration(every_interleaving())
        .invariant(bounded_attempts)
        .invariant(the_warehouse_works)
}

/// Every crash point, the seeded random plans (`EDA_SEEDS` of them,
/// [`RANDOM_PLANS`] by default), then every interleaving. Not the fault
/// points: a lost update needs no fault, and with a slow statement at every
/// operation the shortest failing run would be one with a fault, which
/// tells the learner the wrong story; every interleaving, without faults,
/// finds it and shows it as it happens in production.
fn every_interleaving() -> Exploration {
    Exploration {
        fault_points: false,
        ..Exploration::graded()
    }
    .with_random_plans(RANDOM_PLANS)
    .with_every_interleaving(MAX_INTERLEAVINGS)
}

/// The random plans a learner's grade runs per check, unless `EDA_SEEDS`
/// says otherwise: fewer than the engine's default, because this exercise's
/// mistake lives in the interleavings, which every check already runs in
/// full; the plans add the faults. `cargo xtask verify` runs thousands.
const RANDOM_PLANS: u64 = 100;

/// The reservations committed at the end: order id → quantity, taken from
/// the request (not from the row, which the worker writes).
fn reserved(run: &Run) -> BTreeMap<String, i64> {
    let committed = run.store.committed(RESERVATIONS);
    requests()
        .into_iter()
        .filter(|request| committed.contains_key(&request.order_id))
        .map(|request| (request.order_id, i64::from(request.quantity)))
        .collect()
}

/// The stock left at the end, as the `stock` row says.
fn stock_left(run: &Run) -> Result<i64, Violation> {
    let rows = run.store.committed(STOCK);
    let row = rows.get(SKU).ok_or_else(|| {
        Violation::new(format!(
            "the `{STOCK}` row of `{SKU}` is gone: the warehouse no longer knows its stock"
        ))
    })?;
    available(SKU, &row.value).map_err(|error| {
        Violation::new(format!(
            "the `{STOCK}` row of `{SKU}` cannot be read ({error}): write it with \
             `warehouse::stock_row`"
        ))
    })
}

/// "order-1 (2), order-2 (2)".
fn listed(reserved: &BTreeMap<String, i64>) -> String {
    if reserved.is_empty() {
        return "none".to_owned();
    }
    let parts: Vec<String> = reserved
        .iter()
        .map(|(order, quantity)| format!("{order} ({quantity})"))
        .collect();
    parts.join(", ")
}

/// `lost-update`: the stock row disagrees with the reservations.
fn stock_matches_reservations(run: &Run) -> Result<(), Violation> {
    let reserved = reserved(run);
    let taken: i64 = reserved.values().sum();
    let left = stock_left(run)?;
    if left == OPENING_STOCK - taken {
        return Ok(());
    }
    Err(Violation::new(format!(
        "the stock row says {left} left, but {OPENING_STOCK} were in stock and the \
         committed reservations took {taken} ({}), which leaves {}: {}",
        listed(&reserved),
        OPENING_STOCK - taken,
        if left > OPENING_STOCK - taken {
            "a reservation's update of the stock was lost. Both workers read the same count, \
             and the second write overwrote the first"
        } else {
            "the stock went down by more than was reserved"
        }
    )))
}

/// `oversold`: more promised than there ever was.
fn never_oversold(run: &Run) -> Result<(), Violation> {
    let reserved = reserved(run);
    let taken: i64 = reserved.values().sum();
    let left = stock_left(run)?;
    if left < 0 {
        return Err(Violation::new(format!(
            "the stock of {SKU} went below zero ({left}): reservations {} were committed for \
             {taken}, and only {OPENING_STOCK} were ever in stock",
            listed(&reserved)
        )));
    }
    if taken > OPENING_STOCK {
        return Err(Violation::new(format!(
            "reservations {} were committed for {taken} {SKU}s, and only {OPENING_STOCK} were \
             ever in stock: a customer was promised a {SKU} that does not exist",
            listed(&reserved)
        )));
    }
    Ok(())
}

/// `retry-storm`: too many transactions for one delivery of a request.
fn bounded_attempts(run: &Run) -> Result<(), Violation> {
    // Per request: the transactions begun since its latest delivery.
    let mut since_delivery: BTreeMap<&str, u32> = BTreeMap::new();
    for event in &run.events {
        if event.operation == Operation::Receive
            && event.target.as_deref() == Some(RESERVATION_REQUESTS)
            && event.outcome.is_ok()
            && let Some(id) = event.message_id.as_deref()
        {
            since_delivery.insert(id, 0);
        }
        if event.operation == Operation::Begin
            && let Some(id) = event.correlation_id.as_deref()
        {
            let attempts = since_delivery.entry(id).or_insert(0);
            *attempts += 1;
            if *attempts > MAX_ATTEMPTS_PER_DELIVERY {
                return Err(Violation::for_message(
                    id,
                    format!(
                        "`{id}` was delivered once and `{}` began {} transactions for it, more \
                         than the {MAX_ATTEMPTS_PER_DELIVERY} a delivery may take: a retry loop \
                         without a bound (or one that retries errors no retry can fix, such \
                         as an unavailable database) hammers the store instead of giving the \
                         request back to the broker",
                        event.actor, *attempts
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Every check: in a run without faults (whatever the interleaving), both
/// requests end settled and at least one is reserved.
fn the_warehouse_works(run: &Run) -> Result<(), Violation> {
    if !run.plan.is_empty() {
        return Ok(());
    }
    let left_over = run.remaining(RESERVATION_REQUESTS);
    if let Some(envelope) = left_over.first() {
        let id = envelope.message_id().to_owned();
        return Err(Violation::for_message(
            id.clone(),
            format!(
                "in a run without faults, request `{id}` was still on `{RESERVATION_REQUESTS}` \
                 at the end: `reserve` must decide every request (reserved or refused)"
            ),
        ));
    }
    if reserved(run).is_empty() {
        return Err(Violation::new(format!(
            "in a run without faults, no reservation was committed in `{RESERVATIONS}`, though \
             the {OPENING_STOCK} {SKU}s cover either order: `reserve` must reserve what the \
             stock allows"
        )));
    }
    Ok(())
}

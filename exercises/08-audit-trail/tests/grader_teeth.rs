//! The grader's own tests, not the learner's: each check must catch the
//! plausible wrong fixes it is named after, and pass correct solutions
//! whose storage is designed differently from the reference. (`cargo xtask
//! verify` proves that the starter fails `unexplained-state`,
//! `rebuild-mismatch` and `lost-history`, and that the reference, a kept
//! inbox written in the row's transaction, passes all four.)
//!
//! The wrong fixes:
//!
//! - the half-fix: the row committed, then the event stored in a second
//!   transaction. Right whenever nothing fails; a crash between the two
//!   commits leaves a change without its event, and the redelivery skips
//!   it because the row's version already holds it (`lost-history`, at a
//!   crash point, and only there);
//! - the same two transactions the other way round, the event first and
//!   "already stored" as the duplicate test: a crash between them leaves
//!   an event that never changed the row (`lost-history`);
//! - the over-correction: an event already stored is refused with an
//!   error, so a replayed event is abandoned until the broker dead-letters
//!   it (`replay-not-idempotent`);
//! - one transaction and no duplicate test at all, trusting the broker to
//!   deliver each event once: a replay applies and stores every event again
//!   (`replay-not-idempotent`), and so does a redelivery after a crash
//!   (`lost-history`);
//! - the history kept inside the account's own row: atomic, and gone with
//!   the row when the operators empty the table (`rebuild-mismatch`);
//! - `explain` that forgets to keep only the asked account's events
//!   (`unexplained-state`);
//! - `rebuild` that updates the row in place, and fails when the row it
//!   must bring back is not there (`rebuild-mismatch`, with its error);
//! - the history in a `static`, which survives the grader's simulated
//!   crashes and not a real one (every check, from the file's text).
//!
//! The correct solutions, besides the reference: the starter plus one
//! insert of the event in its transaction (the row's version stays the
//! duplicate test), and event sourcing, where the stored events are the
//! truth and the row is recomputed from them on every event.

use audit_trail::LedgerError;
use audit_trail::bank::{ACCOUNTS, Account, AccountEvent};
use audit_trail::rubric;
use audit_trail::scenario::{Duty, scenario_running};
use broker::simulation::{Exploration, ServiceCtx, Tx};
use broker::store::IsolationLevel;

#[path = "wrong/history_in_a_static.rs"]
mod history_in_a_static;

/// The attempts' source, as the grader reads a learner's file: this file's
/// text, which keeps no process-wide state, without the `mod` line that
/// brings in the static attempt (graded on its own file below; the grader
/// refuses a learner's file that pulls in another).
fn this_file() -> String {
    include_str!("grader_teeth.rs").replace("mod history_in_a_static;", "")
}

use broker::grading::teeth::{assert_fails, assert_passes};

// --- Building blocks the attempts share -------------------------------------------

/// The table the attempts keep their history in.
const HISTORY: &str = "account_history";

/// `ada/0000000002`: one account's events sort together, in order.
fn key(account: &str, seq: u64) -> String {
    format!("{account}/{seq:010}")
}

/// The account's row in `tx` (an empty account if there is none).
async fn current(tx: &mut Tx, account: &str) -> Result<Account, LedgerError> {
    match tx.get(ACCOUNTS, account).await? {
        Some(row) => Account::from_row(account, &row.value),
        None => Ok(Account::default()),
    }
}

/// The account's stored events, in order.
async fn stored(ctx: &ServiceCtx, account: &str) -> Result<Vec<AccountEvent>, LedgerError> {
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    let rows = tx.scan(HISTORY).await?;
    tx.rollback().await;
    let mut events = Vec::new();
    for (key, row) in rows {
        let event = AccountEvent::from_row(&key, &row.value)?;
        if event.account == account {
            events.push(event);
        }
    }
    events.sort_by_key(|event| event.seq);
    Ok(events)
}

/// A correct `explain` for the attempts that keep [`HISTORY`].
async fn explain(ctx: &ServiceCtx, account: &str) -> Result<Vec<AccountEvent>, LedgerError> {
    stored(ctx, account).await
}

/// A correct `rebuild` for the attempts that keep [`HISTORY`].
async fn rebuild(ctx: &ServiceCtx, account: &str) -> Result<(), LedgerError> {
    let history = stored(ctx, account).await?;
    if history.is_empty() {
        return Ok(());
    }
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    tx.upsert(ACCOUNTS, account, Account::from_history(&history).to_row())
        .await?;
    tx.commit().await?;
    Ok(())
}

// --- Wrong fixes ------------------------------------------------------------------

/// The half-fix: the starter's transaction, then the event stored in a
/// second one.
async fn state_then_history(ctx: &ServiceCtx, event: &AccountEvent) -> Result<(), LedgerError> {
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    let mut account = current(&mut tx, &event.account).await?;
    if event.seq <= account.version {
        tx.rollback().await;
        return Ok(());
    }
    account.apply(event);
    tx.upsert(ACCOUNTS, &event.account, account.to_row())
        .await?;
    tx.commit().await?;
    let mut record = ctx.begin(IsolationLevel::ReadCommitted).await?;
    record
        .upsert(HISTORY, &key(&event.account, event.seq), event.to_row())
        .await?;
    record.commit().await?;
    Ok(())
}

/// The event stored first, in its own transaction, and "already stored"
/// taken to mean "already applied".
async fn history_then_state(ctx: &ServiceCtx, event: &AccountEvent) -> Result<(), LedgerError> {
    let key = key(&event.account, event.seq);
    let mut record = ctx.begin(IsolationLevel::ReadCommitted).await?;
    if record.get(HISTORY, &key).await?.is_some() {
        record.rollback().await;
        return Ok(());
    }
    record.insert(HISTORY, &key, event.to_row()).await?;
    record.commit().await?;
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    let mut account = current(&mut tx, &event.account).await?;
    account.apply(event);
    tx.upsert(ACCOUNTS, &event.account, account.to_row())
        .await?;
    tx.commit().await?;
    Ok(())
}

/// One transaction, and a duplicate refused with an error.
async fn refuses_duplicates(ctx: &ServiceCtx, event: &AccountEvent) -> Result<(), LedgerError> {
    let key = key(&event.account, event.seq);
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    if tx.get(HISTORY, &key).await?.is_some() {
        tx.rollback().await;
        return Err(LedgerError::Refused {
            event_id: event.event_id.clone(),
            reason: "already processed".to_owned(),
        });
    }
    let mut account = current(&mut tx, &event.account).await?;
    account.apply(event);
    tx.upsert(ACCOUNTS, &event.account, account.to_row())
        .await?;
    tx.insert(HISTORY, &key, event.to_row()).await?;
    tx.commit().await?;
    Ok(())
}

/// One transaction, no duplicate test: every delivery is applied and
/// stored (under a fresh key: the delivery's position in the history).
async fn trusts_one_delivery(ctx: &ServiceCtx, event: &AccountEvent) -> Result<(), LedgerError> {
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    let stored = tx.scan(HISTORY).await?.len();
    let mut account = current(&mut tx, &event.account).await?;
    account.apply(event);
    tx.upsert(ACCOUNTS, &event.account, account.to_row())
        .await?;
    tx.insert(HISTORY, &format!("{stored:010}"), event.to_row())
        .await?;
    tx.commit().await?;
    Ok(())
}

/// `explain` for [`trusts_one_delivery`]: the history in the order stored.
async fn explain_in_stored_order(
    ctx: &ServiceCtx,
    account: &str,
) -> Result<Vec<AccountEvent>, LedgerError> {
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    let rows = tx.scan(HISTORY).await?;
    tx.rollback().await;
    let mut events = Vec::new();
    for (key, row) in rows {
        let event = AccountEvent::from_row(&key, &row.value)?;
        if event.account == account {
            events.push(event);
        }
    }
    Ok(events)
}

/// The history kept in the account's own row, beside the bank's fields.
async fn history_in_the_row(ctx: &ServiceCtx, event: &AccountEvent) -> Result<(), LedgerError> {
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    let row = tx.get(ACCOUNTS, &event.account).await?;
    let (mut account, mut history) = match &row {
        Some(row) => (
            Account::from_row(&event.account, &row.value)?,
            row.value["history"].as_array().cloned().unwrap_or_default(),
        ),
        None => (Account::default(), Vec::new()),
    };
    if event.seq <= account.version {
        tx.rollback().await;
        return Ok(());
    }
    account.apply(event);
    history.push(event.to_row());
    let mut value = account.to_row();
    value["history"] = serde_json::Value::Array(history);
    tx.upsert(ACCOUNTS, &event.account, value).await?;
    tx.commit().await?;
    Ok(())
}

/// `explain` for [`history_in_the_row`].
async fn explain_from_the_row(
    ctx: &ServiceCtx,
    account: &str,
) -> Result<Vec<AccountEvent>, LedgerError> {
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    let row = tx.get(ACCOUNTS, account).await?;
    tx.rollback().await;
    let rows = row
        .and_then(|row| row.value["history"].as_array().cloned())
        .unwrap_or_default();
    rows.iter()
        .map(|row| AccountEvent::from_row(account, row))
        .collect()
}

/// `rebuild` for [`history_in_the_row`]: from the history in the row.
async fn rebuild_from_the_row(ctx: &ServiceCtx, account: &str) -> Result<(), LedgerError> {
    let history = explain_from_the_row(ctx, account).await?;
    if history.is_empty() {
        return Ok(());
    }
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    tx.upsert(ACCOUNTS, account, Account::from_history(&history).to_row())
        .await?;
    tx.commit().await?;
    Ok(())
}

/// The reference's `explain`, without keeping only the asked account.
async fn explains_every_account(
    ctx: &ServiceCtx,
    _account: &str,
) -> Result<Vec<AccountEvent>, LedgerError> {
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    let rows = tx.scan(HISTORY).await?;
    tx.rollback().await;
    rows.iter()
        .map(|(key, row)| AccountEvent::from_row(key, &row.value))
        .collect()
}

#[test]
fn storing_the_event_in_a_second_transaction_loses_history_at_a_crash_point() {
    let report = rubric::lost_history_exploring(
        scenario_running(Duty::Audit, state_then_history, explain, rebuild),
        &this_file(),
        Exploration::every_crash_point().with_random_plans(0),
    )
    .run_with(None, None);
    assert_fails(&report, "the event that changed it was not stored");
    assert_fails(&report, "Crash point: crash");
    // Whenever nothing fails, it looks right.
    assert_passes_without_faults(state_then_history, explain, rebuild);
}

#[test]
fn storing_the_event_first_in_its_own_transaction_loses_history_too() {
    let report = rubric::lost_history_of(
        scenario_running(Duty::Audit, history_then_state, explain, rebuild),
        &this_file(),
    )
    .run_with(None, None);
    assert_fails(&report, "stored without the change it makes");
    assert_passes_without_faults(history_then_state, explain, rebuild);
}

#[test]
fn refusing_a_duplicate_dead_letters_the_replay() {
    let report = rubric::replay_not_idempotent_of(
        scenario_running(Duty::Replay, refuses_duplicates, explain, rebuild),
        &this_file(),
    )
    .run_with(None, None);
    assert_fails(&report, "ended in the dead-letter queue");
    assert_passes(
        &rubric::unexplained_state_of(
            scenario_running(Duty::Audit, refuses_duplicates, explain, rebuild),
            &this_file(),
        )
        .run_with(None, None),
    );
}

#[test]
fn trusting_the_broker_to_deliver_once_applies_the_replay_again() {
    let replay = rubric::replay_not_idempotent_of(
        scenario_running(
            Duty::Replay,
            trusts_one_delivery,
            explain_in_stored_order,
            rebuild,
        ),
        &this_file(),
    )
    .run_with(None, None);
    assert_fails(&replay, "the replay applied events again");
    let faults = rubric::lost_history_of(
        scenario_running(
            Duty::Audit,
            trusts_one_delivery,
            explain_in_stored_order,
            rebuild,
        ),
        &this_file(),
    )
    .run_with(None, None);
    assert_fails(&faults, "is in the history twice");
}

#[test]
fn a_history_inside_the_row_goes_with_the_row() {
    let report = rubric::rebuild_mismatch_of(
        scenario_running(
            Duty::Rebuild,
            history_in_the_row,
            explain_from_the_row,
            rebuild_from_the_row,
        ),
        &this_file(),
    )
    .run_with(None, None);
    assert_fails(&report, "nothing the service stored could bring it back");
    assert_passes(
        &rubric::unexplained_state_of(
            scenario_running(
                Duty::Audit,
                history_in_the_row,
                explain_from_the_row,
                rebuild_from_the_row,
            ),
            &this_file(),
        )
        .run_with(None, None),
    );
}

#[test]
fn explaining_every_account_at_once_is_an_unexplained_state() {
    let report = rubric::unexplained_state_of(
        scenario_running(
            Duty::Audit,
            audit_trail_starter_plus_one_insert,
            explains_every_account,
            rebuild,
        ),
        &this_file(),
    )
    .run_with(None, None);
    assert_fails(&report, "is an event of account `grace`, not of `ada`");
}

/// `rebuild` that updates the row in place from the history, and so needs
/// the row it is asked to bring back.
async fn rebuild_in_place(ctx: &ServiceCtx, account: &str) -> Result<(), LedgerError> {
    let history = stored(ctx, account).await?;
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    if tx.get_for_update(ACCOUNTS, account).await?.is_none() {
        tx.rollback().await;
        return Err(LedgerError::Unreadable {
            key: account.to_owned(),
            reason: "no row to rebuild".to_owned(),
        });
    }
    tx.upsert(ACCOUNTS, account, Account::from_history(&history).to_row())
        .await?;
    tx.commit().await?;
    Ok(())
}

#[test]
fn a_rebuild_that_needs_the_row_says_why_it_kept_failing() {
    let report = rubric::rebuild_mismatch_of(
        scenario_running(
            Duty::Rebuild,
            audit_trail_starter_plus_one_insert,
            explain,
            rebuild_in_place,
        ),
        &this_file(),
    )
    .run_with(None, None);
    assert_fails(
        &report,
        "kept failing: `ada` cannot be read: no row to rebuild",
    );
}

#[test]
fn a_history_in_a_static_fails_every_check_from_the_file() {
    let source = include_str!("wrong/history_in_a_static.rs");
    let audit = || {
        scenario_running(
            Duty::Audit,
            history_in_a_static::handle,
            history_in_a_static::explain,
            history_in_a_static::rebuild,
        )
    };
    let rebuild_scenario = scenario_running(
        Duty::Rebuild,
        history_in_a_static::handle,
        history_in_a_static::explain,
        history_in_a_static::rebuild,
    );
    let replay_scenario = scenario_running(
        Duty::Replay,
        history_in_a_static::handle,
        history_in_a_static::explain,
        history_in_a_static::rebuild,
    );
    for report in [
        rubric::unexplained_state_of(audit(), source).run_with(None, None),
        rubric::rebuild_mismatch_of(rebuild_scenario, source).run_with(None, None),
        rubric::replay_not_idempotent_of(replay_scenario, source).run_with(None, None),
        rubric::lost_history_of(audit(), source).run_with(None, None),
    ] {
        assert_fails(&report, "keeps state outside the service");
    }
}

// --- Correct solutions, designed differently from the reference ------------------

/// The starter with one more statement: the event stored in the row's
/// transaction. The row's version stays the duplicate test.
async fn audit_trail_starter_plus_one_insert(
    ctx: &ServiceCtx,
    event: &AccountEvent,
) -> Result<(), LedgerError> {
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    let mut account = current(&mut tx, &event.account).await?;
    if event.seq <= account.version {
        tx.rollback().await;
        return Ok(());
    }
    account.apply(event);
    tx.upsert(ACCOUNTS, &event.account, account.to_row())
        .await?;
    tx.insert(HISTORY, &key(&event.account, event.seq), event.to_row())
        .await?;
    tx.commit().await?;
    Ok(())
}

/// The event store: events keyed by their id are the truth, and the row is
/// a cache recomputed from all of them on every event.
const EVENT_STORE: &str = "event_store";

/// The account's events in the event store, in order.
async fn stream(tx: &mut Tx, account: &str) -> Result<Vec<AccountEvent>, LedgerError> {
    let mut events = Vec::new();
    for (key, row) in tx.scan(EVENT_STORE).await? {
        let event = AccountEvent::from_row(&key, &row.value)?;
        if event.account == account {
            events.push(event);
        }
    }
    events.sort_by_key(|event| event.seq);
    Ok(events)
}

async fn event_sourced_handle(ctx: &ServiceCtx, event: &AccountEvent) -> Result<(), LedgerError> {
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    if tx.get(EVENT_STORE, &event.event_id).await?.is_some() {
        tx.rollback().await;
        return Ok(());
    }
    tx.insert(EVENT_STORE, &event.event_id, event.to_row())
        .await?;
    let events = stream(&mut tx, &event.account).await?;
    tx.upsert(
        ACCOUNTS,
        &event.account,
        Account::from_history(&events).to_row(),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

async fn event_sourced_explain(
    ctx: &ServiceCtx,
    account: &str,
) -> Result<Vec<AccountEvent>, LedgerError> {
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    let events = stream(&mut tx, account).await?;
    tx.rollback().await;
    Ok(events)
}

async fn event_sourced_rebuild(ctx: &ServiceCtx, account: &str) -> Result<(), LedgerError> {
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    let events = stream(&mut tx, account).await?;
    if events.is_empty() {
        tx.rollback().await;
        return Ok(());
    }
    tx.upsert(ACCOUNTS, account, Account::from_history(&events).to_row())
        .await?;
    tx.commit().await?;
    Ok(())
}

fn assert_passes_without_faults<H, E, R>(handle: H, explain: E, rebuild: R)
where
    H: AsyncFn(&ServiceCtx, &AccountEvent) -> Result<(), LedgerError>
        + Clone
        + Send
        + Sync
        + 'static,
    E: AsyncFn(&ServiceCtx, &str) -> Result<Vec<AccountEvent>, LedgerError>
        + Clone
        + Send
        + Sync
        + 'static,
    R: AsyncFn(&ServiceCtx, &str) -> Result<(), LedgerError> + Clone + Send + Sync + 'static,
{
    let source = this_file();
    let scenario = |duty| scenario_running(duty, handle.clone(), explain.clone(), rebuild.clone());
    assert_passes(
        &rubric::unexplained_state_of(scenario(Duty::Audit), &source).run_with(None, None),
    );
    assert_passes(
        &rubric::rebuild_mismatch_of(scenario(Duty::Rebuild), &source).run_with(None, None),
    );
    assert_passes(
        &rubric::replay_not_idempotent_of(scenario(Duty::Replay), &source).run_with(None, None),
    );
}

fn assert_passes_every_check<H, E, R>(handle: H, explain: E, rebuild: R)
where
    H: AsyncFn(&ServiceCtx, &AccountEvent) -> Result<(), LedgerError>
        + Clone
        + Send
        + Sync
        + 'static,
    E: AsyncFn(&ServiceCtx, &str) -> Result<Vec<AccountEvent>, LedgerError>
        + Clone
        + Send
        + Sync
        + 'static,
    R: AsyncFn(&ServiceCtx, &str) -> Result<(), LedgerError> + Clone + Send + Sync + 'static,
{
    assert_passes_without_faults(handle.clone(), explain.clone(), rebuild.clone());
    assert_passes(
        &rubric::lost_history_of(
            scenario_running(Duty::Audit, handle, explain, rebuild),
            &this_file(),
        )
        .run_with(None, None),
    );
}

#[test]
fn the_starter_plus_one_insert_passes() {
    assert_passes_every_check(audit_trail_starter_plus_one_insert, explain, rebuild);
}

#[test]
fn event_sourcing_passes() {
    assert_passes_every_check(
        event_sourced_handle,
        event_sourced_explain,
        event_sourced_rebuild,
    );
}

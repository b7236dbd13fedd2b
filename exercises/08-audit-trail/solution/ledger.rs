//! The account service: the reference solution.
//!
//! The service keeps what it processed. Each event is stored in
//! `processed_events` (the inbox, kept rather than pruned) **in the same
//! transaction** as the change to the account's row, so a crash leaves
//! both or neither: the row never says more or less than the history
//! explains. `explain` reads the account's events back in order, and
//! `rebuild` folds them into a fresh row with the bank's one rule,
//! [`Account::apply`]. A redelivered or replayed event finds itself already
//! stored and changes nothing.

use broker::simulation::ServiceCtx;
use broker::store::IsolationLevel;

use crate::LedgerError;
use crate::bank::{ACCOUNTS, Account, AccountEvent};

/// The kept inbox: every event applied, keyed by account and position.
pub const PROCESSED_EVENTS: &str = "processed_events";

/// `ada/0000000002`: the key sorts an account's events together, in order
/// (zero-padded, so that 10 comes after 9).
fn history_key(account: &str, seq: u64) -> String {
    format!("{account}/{seq:010}")
}

/// Applies `event` to its account's row.
pub async fn handle(ctx: &ServiceCtx, event: &AccountEvent) -> Result<(), LedgerError> {
    // ANCHOR: solution-handler
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    let key = history_key(&event.account, event.seq);
    // Processed before (redelivered, or replayed)? Then it is in the history.
    if tx.get(PROCESSED_EVENTS, &key).await?.is_some() {
        tx.rollback().await;
        return Ok(());
    }
    let mut account = match tx.get(ACCOUNTS, &event.account).await? {
        Some(row) => Account::from_row(&event.account, &row.value)?,
        None => Account::default(),
    };
    account.apply(event);
    tx.upsert(ACCOUNTS, &event.account, account.to_row())
        .await?;
    // The event and the change it made commit together, or not at all.
    tx.insert(PROCESSED_EVENTS, &key, event.to_row()).await?;
    tx.commit().await?;
    Ok(())
    // ANCHOR_END: solution-handler
}

/// The events that made `account` what its row says, in the order they
/// were applied.
pub async fn explain(ctx: &ServiceCtx, account: &str) -> Result<Vec<AccountEvent>, LedgerError> {
    // ANCHOR: solution-explain
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    let rows = tx.scan(PROCESSED_EVENTS).await?;
    tx.rollback().await;
    let mut history = Vec::new();
    for (key, row) in rows {
        let event = AccountEvent::from_row(&key, &row.value)?;
        if event.account == account {
            history.push(event);
        }
    }
    // The keys already sort by position; sorting again says what we rely on.
    history.sort_by_key(|event| event.seq);
    Ok(history)
    // ANCHOR_END: solution-explain
}

/// Writes `account`'s row in `accounts` again, from what the service
/// stored. The operators call it after they emptied the table.
pub async fn rebuild(ctx: &ServiceCtx, account: &str) -> Result<(), LedgerError> {
    // ANCHOR: solution-rebuild
    let history = explain(ctx, account).await?;
    if history.is_empty() {
        return Ok(());
    }
    let rebuilt = Account::from_history(&history);
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    tx.upsert(ACCOUNTS, account, rebuilt.to_row()).await?;
    tx.commit().await?;
    Ok(())
    // ANCHOR_END: solution-rebuild
}

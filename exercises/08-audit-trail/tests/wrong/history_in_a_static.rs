//! A wrong fix for the grader's own tests (`tests/grader_teeth.rs`): the
//! starter's row, plus the history kept in a `static`. In the grader's one
//! process the static outlives every simulated crash, so the history looks
//! complete; a real crash, a deploy or a second replica loses it or splits
//! it. Every check must say so from this file's text.

use std::sync::Mutex;

use audit_trail::LedgerError;
use audit_trail::bank::{ACCOUNTS, Account, AccountEvent};
use broker::simulation::ServiceCtx;
use broker::store::IsolationLevel;

/// Every event applied, in order, "in the service".
static HISTORY: Mutex<Vec<AccountEvent>> = Mutex::new(Vec::new());

/// The starter, remembering each event it applies.
pub async fn handle(ctx: &ServiceCtx, event: &AccountEvent) -> Result<(), LedgerError> {
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    let mut account = match tx.get(ACCOUNTS, &event.account).await? {
        Some(row) => Account::from_row(&event.account, &row.value)?,
        None => Account::default(),
    };
    if event.seq <= account.version {
        tx.rollback().await;
        return Ok(());
    }
    account.apply(event);
    tx.upsert(ACCOUNTS, &event.account, account.to_row())
        .await?;
    tx.commit().await?;
    if let Ok(mut history) = HISTORY.lock() {
        history.push(event.clone());
    }
    Ok(())
}

/// What the static remembers about `account`.
pub async fn explain(_ctx: &ServiceCtx, account: &str) -> Result<Vec<AccountEvent>, LedgerError> {
    Ok(HISTORY
        .lock()
        .map(|history| {
            history
                .iter()
                .filter(|event| event.account == account)
                .cloned()
                .collect()
        })
        .unwrap_or_default())
}

/// The row again, from what the static remembers.
pub async fn rebuild(ctx: &ServiceCtx, account: &str) -> Result<(), LedgerError> {
    let history = explain(ctx, account).await?;
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    tx.upsert(ACCOUNTS, account, Account::from_history(&history).to_row())
        .await?;
    tx.commit().await?;
    Ok(())
}

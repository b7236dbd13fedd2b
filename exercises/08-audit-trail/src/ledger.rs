//! The account service. **This is the file you edit** (and the only one).
//!
//! - [`handle`] applies one account event to the account's row in
//!   `accounts`. The consumer calls it once per delivery and completes the
//!   event when it returns `Ok`; on an error it abandons the event, and the
//!   broker delivers it again.
//! - [`explain`] answers the support desk: which events, in order, made the
//!   account what its row says.
//! - [`rebuild`] writes the account's row again from what the service
//!   stored, after the operators emptied it (a migration went wrong).
//!
//! Run `cargo test -p audit-trail` to see what the graders think of them,
//! and `cargo xtask hint audit-trail` when you are stuck. Keep the three
//! signatures; add whatever else you need to this file.

use broker::simulation::ServiceCtx;
use broker::store::IsolationLevel;

use crate::LedgerError;
use crate::bank::{ACCOUNTS, Account, AccountEvent};

/// Applies `event` to its account's row.
pub async fn handle(ctx: &ServiceCtx, event: &AccountEvent) -> Result<(), LedgerError> {
    // ANCHOR: starter
    // ANCHOR: starter-handler
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    let mut account = match tx.get(ACCOUNTS, &event.account).await? {
        Some(row) => Account::from_row(&event.account, &row.value)?,
        None => Account::default(),
    };
    // Delivered again (a crash before the complete, a lost ack)? The row's
    // version says which events it already holds.
    if event.seq <= account.version {
        tx.rollback().await;
        return Ok(());
    }
    account.apply(event);
    tx.upsert(ACCOUNTS, &event.account, account.to_row())
        .await?;
    tx.commit().await?;
    Ok(())
    // ANCHOR_END: starter-handler
}

/// The events that made `account` what its row says, in the order they
/// were applied.
pub async fn explain(ctx: &ServiceCtx, account: &str) -> Result<Vec<AccountEvent>, LedgerError> {
    // ANCHOR: starter-explain
    // The row is all we keep: it says where the account stands, not how it
    // got there. There is no event to show.
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    let _current = tx.get(ACCOUNTS, account).await?;
    tx.rollback().await;
    Ok(Vec::new())
    // ANCHOR_END: starter-explain
}

/// Writes `account`'s row in `accounts` again, from what the service
/// stored. The operators call it after they emptied the table.
pub async fn rebuild(ctx: &ServiceCtx, account: &str) -> Result<(), LedgerError> {
    // ANCHOR: starter-rebuild
    // Nothing to rebuild from: the row was the only copy.
    let _ = (ctx, account);
    Ok(())
    // ANCHOR_END: starter-rebuild
    // ANCHOR_END: starter
}

//! The world of the exercise, as scenarios. Do not edit.
//!
//! - Six events wait on `account-events` (one session per account), for
//!   two accounts: Ada's (opened, 100.00 in, 30.00 out, renamed) and
//!   Grace's (opened, 50.00 in).
//! - The **consumer**, `accounts`, receives each event, calls
//!   [`crate::ledger::handle`], completes the event on `Ok`, and on an error
//!   waits a little (longer on each delivery) and abandons it, so the broker
//!   delivers it again (and dead-letters it after ten deliveries). A crash
//!   between its commit and its complete means the event comes again.
//! - The **support desk** asks [`crate::ledger::explain`] about each
//!   account at [`ASK_AT`] (20 minutes in, long after the events are
//!   handled) and writes the answer into its ticket system (the downstream
//!   system `tickets`, which the graders read). It asks again ten
//!   seconds after an error.
//! - In two of the scenarios, the **operators** step in at
//!   [`OPERATORS_AT`] (10 minutes in):
//!   - [`Duty::Replay`]: after an incident they replay the log, twice: they
//!     take every event `explain` returns and send it again to
//!     `account-events`;
//!   - [`Duty::Rebuild`]: a migration went wrong, so they empty the
//!     `accounts` table and call [`crate::ledger::rebuild`] for each account.
//!
//!   They note what they saw first (the answer of `explain` and the row) in
//!   their runbook (the downstream system `runbook`), so the graders can
//!   compare the end with it.
//!
//! A run lasts 30 minutes of virtual time.

use std::time::Duration;

use broker::clock::EPOCH_UTC;
use broker::simulation::{Scenario, ServiceCtx};
use broker::store::IsolationLevel;
use broker::{BrokerError, QueueOptions};
use serde_json::json;

use crate::LedgerError;
use crate::bank::{ACCOUNT_EVENTS, ACCOUNTS, AccountEvent, Change};

/// The consumer's name in traces.
pub const CONSUMER: &str = "accounts";
/// The support desk: the service that asks `explain`.
pub const SUPPORT_DESK: &str = "support-desk";
/// The support desk's ticket system (a downstream system), where it writes
/// each answer.
pub const TICKETS: &str = "tickets";
/// The operators: the service that replays or rebuilds.
pub const OPERATORS: &str = "operators";
/// The operators' runbook (a downstream system), where they note what they
/// saw before they acted.
pub const RUNBOOK: &str = "runbook";
/// When the support desk asks about each account.
pub const ASK_AT: Duration = Duration::from_secs(20 * 60);
/// When the operators replay or rebuild.
pub const OPERATORS_AT: Duration = Duration::from_secs(10 * 60);
/// How long a run lasts.
pub const RUN_FOR: Duration = Duration::from_secs(30 * 60);
/// How long the support desk and the operators wait after an error.
pub const ASK_AGAIN_AFTER: Duration = Duration::from_secs(10);

/// What the operators do during the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Duty {
    /// Nothing: the consumer and the support desk only.
    Audit,
    /// Replay the log twice.
    Replay,
    /// Empty `accounts` and rebuild every account.
    Rebuild,
}

impl Duty {
    fn name(self) -> &'static str {
        match self {
            Duty::Audit => "audit-trail",
            Duty::Replay => "audit-trail-replay",
            Duty::Rebuild => "audit-trail-rebuild",
        }
    }
}

/// The accounts, in the order the support desk asks about them.
pub const ACCOUNT_IDS: [&str; 2] = ["ada", "grace"];

/// Every event the core banking system sends, in the order it sends them.
pub fn history() -> Vec<AccountEvent> {
    let event = |account: &str, seq: u64, change: Change| AccountEvent {
        event_id: format!("{account}-{seq}"),
        account: account.to_owned(),
        seq,
        change,
    };
    let owner = |name: &str| name.to_owned();
    vec![
        event(
            "ada",
            1,
            Change::Opened {
                owner: owner("Ada"),
            },
        ),
        event(
            "grace",
            1,
            Change::Opened {
                owner: owner("Grace"),
            },
        ),
        event("ada", 2, Change::Deposited { amount: 10_000 }),
        event("ada", 3, Change::Withdrawn { amount: 3_000 }),
        event("grace", 2, Change::Deposited { amount: 5_000 }),
        event(
            "ada",
            4,
            Change::Renamed {
                owner: owner("Ada Lovelace"),
            },
        ),
    ]
}

/// The events of one account, in order: what `explain` must return.
pub fn history_of(account: &str) -> Vec<AccountEvent> {
    history()
        .into_iter()
        .filter(|event| event.account == account)
        .collect()
}

/// The scenario the checks explore with your `handle`, `explain` and
/// `rebuild`.
pub fn scenario(duty: Duty) -> Scenario {
    scenario_running(
        duty,
        crate::ledger::handle,
        crate::ledger::explain,
        crate::ledger::rebuild,
    )
}

/// The same world with another service in it, so the grader's own tests
/// can prove each check catches the mistake it is named after.
pub fn scenario_running<H, E, R>(duty: Duty, handle: H, explain: E, rebuild: R) -> Scenario
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
    let desk = explain.clone();
    let mut scenario = Scenario::new(duty.name())
        .queue(ACCOUNT_EVENTS, QueueOptions::default().with_sessions())
        .messages(
            ACCOUNT_EVENTS,
            history().iter().map(AccountEvent::to_message),
        )
        .service(CONSUMER, move |ctx| consume(ctx, handle.clone()))
        .service(SUPPORT_DESK, move |ctx| ask(ctx, desk.clone()));
    match duty {
        Duty::Audit => {}
        Duty::Replay => {
            scenario = scenario.service(OPERATORS, move |ctx| replay(ctx, explain.clone()));
        }
        Duty::Rebuild => {
            scenario = scenario.service(OPERATORS, move |ctx| rebuild_all(ctx, rebuild.clone()));
        }
    }
    scenario.run_for(RUN_FOR)
}

/// How long the consumer waits before it gives a failed event back: 15
/// seconds more on each delivery, at most a minute, so that ten deliveries
/// outlast an outage of the store (the random fault plans have outages of
/// up to two minutes, up to three of them) and an event is dead-lettered
/// only when something is really wrong with it.
pub fn retry_backoff(delivery_count: u32) -> Duration {
    Duration::from_secs(15 * u64::from(delivery_count.clamp(1, 4)))
}

/// The consumer: receive an event, handle it, settle it.
async fn consume<H>(ctx: ServiceCtx, handle: H) -> Result<(), BrokerError>
where
    H: AsyncFn(&ServiceCtx, &AccountEvent) -> Result<(), LedgerError>,
{
    loop {
        let delivery = ctx.receive(ACCOUNT_EVENTS).await?;
        let Ok(event) = AccountEvent::from_envelope(&delivery) else {
            ctx.dead_letter(&delivery, "Unreadable", "not an account event")
                .await?;
            continue;
        };
        // The event's store statements carry its account in the trace, so
        // a report's timeline of `ada` shows everything done about Ada.
        let handling = ctx.concerning(&event.account);
        match handle(&handling, &event).await {
            Ok(()) => ctx.complete(&delivery).await?,
            Err(_) => {
                tokio::time::sleep(retry_backoff(delivery.delivery_count)).await;
                ctx.abandon(&delivery).await?;
            }
        }
    }
}

/// Virtual time since the run began. A restarted service has lost its
/// memory, so it reads the clock rather than counting.
fn since_start(ctx: &ServiceCtx) -> Duration {
    let millis = ctx.now().unix_millis() - EPOCH_UTC.unix_millis();
    Duration::from_millis(u64::try_from(millis).unwrap_or(0))
}

/// Sleeps until `at` after the start of the run (at once if that is past).
async fn wait_until(ctx: &ServiceCtx, at: Duration) {
    tokio::time::sleep(at.saturating_sub(since_start(ctx))).await;
}

/// What `explain` answered, as the graders read it back.
fn answer_detail(answer: &Result<Vec<AccountEvent>, LedgerError>) -> String {
    match answer {
        Ok(events) => {
            let events: Vec<serde_json::Value> = events.iter().map(AccountEvent::to_row).collect();
            json!({ "events": events }).to_string()
        }
        Err(error) => json!({ "error": error.to_string() }).to_string(),
    }
}

/// Asks `explain` about `account` until it answers, and returns the answer.
async fn explain_until_it_answers<E>(
    ctx: &ServiceCtx,
    explain: &E,
    account: &str,
) -> Vec<AccountEvent>
where
    E: AsyncFn(&ServiceCtx, &str) -> Result<Vec<AccountEvent>, LedgerError>,
{
    loop {
        let answer = explain(&ctx.concerning(account), account).await;
        if let Ok(events) = answer {
            return events;
        }
        // Noted, so that a report can say why no answer came.
        let _ = ctx
            .call_downstream(TICKETS, account, answer_detail(&answer))
            .await;
        tokio::time::sleep(ASK_AGAIN_AFTER).await;
    }
}

/// The support desk: at [`ASK_AT`], asks about each account and writes the
/// answer down.
async fn ask<E>(ctx: ServiceCtx, explain: E) -> Result<(), BrokerError>
where
    E: AsyncFn(&ServiceCtx, &str) -> Result<Vec<AccountEvent>, LedgerError>,
{
    wait_until(&ctx, ASK_AT).await;
    for account in ACCOUNT_IDS {
        let events = explain_until_it_answers(&ctx, &explain, account).await;
        let detail = answer_detail(&Ok(events));
        while ctx
            .call_downstream(TICKETS, account, detail.clone())
            .await
            .is_err()
        {
            tokio::time::sleep(ASK_AGAIN_AFTER).await;
        }
    }
    // Done: the desk has no more questions.
    Ok(())
}

/// Reads `account`'s row (`None` if there is none), until the store answers.
async fn read_row(ctx: &ServiceCtx, account: &str) -> Option<serde_json::Value> {
    loop {
        let read = async {
            let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
            let row = tx.get(ACCOUNTS, account).await?;
            tx.rollback().await;
            Ok::<_, LedgerError>(row.map(|row| row.value))
        };
        match read.await {
            Ok(row) => return row,
            Err(_) => tokio::time::sleep(ASK_AGAIN_AFTER).await,
        }
    }
}

/// Notes in the operators' runbook what they saw before they acted.
async fn note(
    ctx: &ServiceCtx,
    account: &str,
    events: &[AccountEvent],
    row: Option<serde_json::Value>,
) {
    let events: Vec<serde_json::Value> = events.iter().map(AccountEvent::to_row).collect();
    let detail = json!({ "events": events, "row": row }).to_string();
    while ctx
        .call_downstream(RUNBOOK, account, detail.clone())
        .await
        .is_err()
    {
        tokio::time::sleep(ASK_AGAIN_AFTER).await;
    }
}

/// The operators replay the log: every event `explain` returns, sent again,
/// twice.
async fn replay<E>(ctx: ServiceCtx, explain: E) -> Result<(), BrokerError>
where
    E: AsyncFn(&ServiceCtx, &str) -> Result<Vec<AccountEvent>, LedgerError>,
{
    wait_until(&ctx, OPERATORS_AT).await;
    for account in ACCOUNT_IDS {
        let events = explain_until_it_answers(&ctx, &explain, account).await;
        let row = read_row(&ctx, account).await;
        note(&ctx, account, &events, row).await;
        for _ in 0..2 {
            for event in &events {
                ctx.send(ACCOUNT_EVENTS, event.to_message()).await?;
            }
        }
    }
    Ok(())
}

/// The runbook's key for the last error `rebuild` returned for `account`.
pub fn rebuild_error_key(account: &str) -> String {
    format!("{account}: rebuild failed")
}

/// The operators empty `accounts` and rebuild every account from what the
/// service stored.
async fn rebuild_all<R>(ctx: ServiceCtx, rebuild: R) -> Result<(), BrokerError>
where
    R: AsyncFn(&ServiceCtx, &str) -> Result<(), LedgerError>,
{
    wait_until(&ctx, OPERATORS_AT).await;
    for account in ACCOUNT_IDS {
        let row = read_row(&ctx, account).await;
        note(&ctx, account, &[], row).await;
    }
    // The bad migration's clean-up: every row of `accounts` goes.
    loop {
        let emptied = async {
            let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
            for account in ACCOUNT_IDS {
                tx.delete(ACCOUNTS, account).await?;
            }
            tx.commit().await?;
            Ok::<_, LedgerError>(())
        };
        if emptied.await.is_ok() {
            break;
        }
        tokio::time::sleep(ASK_AGAIN_AFTER).await;
    }
    for account in ACCOUNT_IDS {
        while let Err(error) = rebuild(&ctx.concerning(account), account).await {
            // Noted under a key of its own, so that the row noted before
            // stays, and a report can say why the row did not come back.
            let detail = json!({ "error": error.to_string() }).to_string();
            let _ = ctx
                .call_downstream(RUNBOOK, &rebuild_error_key(account), detail)
                .await;
            tokio::time::sleep(ASK_AGAIN_AFTER).await;
        }
    }
    Ok(())
}

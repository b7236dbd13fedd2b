//! The rubric: the graded checks of `audit-trail` and what each is worth.
//! Do not edit: this is the grader. `tests/checks.rs` runs each check as one
//! `#[test]`; the book's failure figure is drawn from [`unexplained_state`].
//!
//! What each check explores:
//!
//! - `unexplained-state`, `rebuild-mismatch` and `replay-not-idempotent`:
//!   the run without faults. Each asks one question of what the service
//!   stored: can it say which events made the state, can it make the state
//!   again from them, and can it take them again without changing anything.
//! - `lost-history`: every crash point, every fault point (each fault
//!   alone at each operation) and the seeded random fault plans
//!   (`EDA_SEEDS` of them, [`RANDOM_PLANS`] by default): whatever fails and
//!   wherever, the state and its history must still agree at the end.
//!
//! Each judges what the outside world can see: the committed rows of
//! `accounts` (the state, in the bank's format), what `explain` answered
//! the support desk, what the operators noted before they acted, and what
//! is left on the queue. Every check also requires that the bank works
//! when nothing fails: every event settled, every account's row what its
//! events add up to. A service that does nothing cannot pass by having
//! nothing to explain.

use std::collections::BTreeMap;

use broker::dead_letter_path;
use broker::grading::{Check, Violation};
use broker::simulation::{Exploration, Run, Scenario};

use crate::bank::{ACCOUNT_EVENTS, ACCOUNTS, Account, AccountEvent};
use crate::scenario::{
    ACCOUNT_IDS, Duty, RUNBOOK, TICKETS, history_of, rebuild_error_key, scenario,
};

/// The file the learner edits, as the grader reads it for state kept
/// outside the service (see [`Check::learner_file`]): a history kept in a
/// `static` survives the grader's simulated crashes, and would not survive
/// a real one.
const LEARNER_FILE: &str = "src/ledger.rs";
/// The learner's file as compiled.
#[cfg(not(feature = "solution"))]
const SERVICE_SOURCE: &str = include_str!("ledger.rs");
#[cfg(feature = "solution")]
const SERVICE_SOURCE: &str = include_str!("../solution/ledger.rs");

/// The random plans `lost-history` runs unless `EDA_SEEDS` says otherwise:
/// fewer than the engine's default, to keep a grade under five seconds;
/// the crash points and fault points already put a crash and each kind of
/// fault at every operation. `cargo xtask verify` runs thousands.
pub const RANDOM_PLANS: u64 = 100;

/// The support desk's question has an answer: `explain` returns, in order,
/// each event that made the account's row what it is, once, and nothing
/// else.
pub fn unexplained_state() -> Check {
    unexplained_state_of(scenario(Duty::Audit), SERVICE_SOURCE)
}

/// [`unexplained_state`] for another service: its scenario and its source.
pub fn unexplained_state_of(scenario: Scenario, source: &str) -> Check {
    Check::new("unexplained-state", 10)
        .learner_file(LEARNER_FILE, source)
        .scenario(scenario)
        .exploration(Exploration::happy_path())
        .invariant(every_state_explained)
        .invariant(the_bank_works)
}

/// After the operators empty `accounts`, `rebuild` writes every row back
/// as it was, from what the service stored.
pub fn rebuild_mismatch() -> Check {
    rebuild_mismatch_of(scenario(Duty::Rebuild), SERVICE_SOURCE)
}

/// [`rebuild_mismatch`] for another service.
pub fn rebuild_mismatch_of(scenario: Scenario, source: &str) -> Check {
    Check::new("rebuild-mismatch", 5)
        .learner_file(LEARNER_FILE, source)
        .scenario(scenario)
        .exploration(Exploration::happy_path())
        .invariant(rebuilt_as_before)
        .invariant(the_bank_works)
}

/// Replaying the log twice (every event `explain` returns, sent again to
/// the queue) changes no row and no history, and every replayed event is
/// completed, not dead-lettered.
pub fn replay_not_idempotent() -> Check {
    replay_not_idempotent_of(scenario(Duty::Replay), SERVICE_SOURCE)
}

/// [`replay_not_idempotent`] for another service.
pub fn replay_not_idempotent_of(scenario: Scenario, source: &str) -> Check {
    Check::new("replay-not-idempotent", 5)
        .learner_file(LEARNER_FILE, source)
        .scenario(scenario)
        .exploration(Exploration::happy_path())
        .invariant(replay_changed_nothing)
        .invariant(the_bank_works)
}

/// Whatever crashes or fails, at the end every account's row is what its
/// events add up to, and its history holds exactly those events: an event
/// is never applied without being stored, nor stored without being
/// applied.
pub fn lost_history() -> Check {
    lost_history_of(scenario(Duty::Audit), SERVICE_SOURCE)
}

/// [`lost_history`] for another service.
pub fn lost_history_of(scenario: Scenario, source: &str) -> Check {
    lost_history_exploring(
        scenario,
        source,
        Exploration::graded().with_random_plans(RANDOM_PLANS),
    )
}

/// [`lost_history`] with another exploration (the grader's own tests use
/// it to show which runs find a mistake).
pub fn lost_history_exploring(scenario: Scenario, source: &str, exploration: Exploration) -> Check {
    Check::new("lost-history", 10)
        .learner_file(LEARNER_FILE, source)
        .scenario(scenario)
        .exploration(exploration)
        .invariant(history_matches_state)
        .invariant(the_bank_works)
}

// --- What the run left ------------------------------------------------------------

/// The last note per account that a downstream system (the support desk's
/// tickets, the operators' runbook) received.
fn notes(run: &Run, system: &str) -> BTreeMap<String, serde_json::Value> {
    let mut notes = BTreeMap::new();
    for call in run.calls_to(system) {
        // The scenario writes these as JSON; a note that is not is no note.
        if let Ok(value) = serde_json::from_str(&call.detail) {
            notes.insert(call.key.to_string(), value);
        }
    }
    notes
}

/// The events in a note, `Err` with the note's error if `explain` failed.
fn noted_events(account: &str, note: &serde_json::Value) -> Result<Vec<AccountEvent>, Violation> {
    if let Some(error) = note["error"].as_str() {
        return Err(Violation::new(format!(
            "`explain(\"{account}\")` kept failing: {error}"
        )));
    }
    let rows = note["events"].as_array().cloned().unwrap_or_default();
    rows.iter()
        .map(|row| {
            AccountEvent::from_row(account, row).map_err(|error| {
                Violation::new(format!("`explain(\"{account}\")` returned {error}"))
            })
        })
        .collect()
}

/// What `explain` answered the support desk about `account`.
fn desk_answer(run: &Run, account: &str) -> Result<Vec<AccountEvent>, Violation> {
    let notes = notes(run, TICKETS);
    let note = notes.get(account).ok_or_else(|| {
        Violation::new(format!(
            "the support desk asked `explain(\"{account}\")` and never got an answer before the \
             run ended"
        ))
    })?;
    noted_events(account, note)
}

/// The account's committed row, if any.
fn row_of(run: &Run, account: &str) -> Result<Option<Account>, Violation> {
    let rows = run.store.committed(ACCOUNTS);
    rows.get(account)
        .map(|row| {
            Account::from_row(account, &row.value).map_err(|error| {
                Violation::new(format!("the `{ACCOUNTS}` row of `{account}`: {error}"))
            })
        })
        .transpose()
}

/// A row from a note (`null` when there was none).
fn noted_row(account: &str, value: &serde_json::Value) -> Result<Option<Account>, Violation> {
    if value.is_null() {
        return Ok(None);
    }
    Account::from_row(account, value)
        .map(Some)
        .map_err(|error| Violation::new(format!("the `{ACCOUNTS}` row of `{account}`: {error}")))
}

/// "owner Ada Lovelace, balance 70.00, version 4", or "no row".
fn described(row: Option<&Account>) -> String {
    match row {
        None => "no row".to_owned(),
        Some(account) => format!(
            "owner {}, balance {}{}.{:02}, version {}",
            account.owner,
            if account.balance < 0 { "-" } else { "" },
            account.balance.abs() / 100,
            account.balance.abs() % 100,
            account.version
        ),
    }
}

/// "ada-1, ada-2", or "none".
fn ids(events: &[AccountEvent]) -> String {
    if events.is_empty() {
        return "none".to_owned();
    }
    let ids: Vec<&str> = events.iter().map(|event| event.event_id.as_str()).collect();
    ids.join(", ")
}

/// How a history differs from the events that made `row`, in one sentence
/// about the first difference, or `None` if it does not.
fn history_differs(
    account: &str,
    history: &[AccountEvent],
    row: Option<&Account>,
) -> Option<String> {
    let version = row.map_or(0, |row| row.version);
    let applied: Vec<AccountEvent> = history_of(account)
        .into_iter()
        .filter(|event| event.seq <= version)
        .collect();
    if history == applied.as_slice() {
        return None;
    }
    let said = format!("`explain(\"{account}\")` returned {}", ids(history));
    if let Some(foreign) = history.iter().find(|event| event.account != account) {
        return Some(format!(
            "{said}: `{}` is an event of account `{}`, not of `{account}`",
            foreign.event_id, foreign.account
        ));
    }
    for (index, event) in history.iter().enumerate() {
        if history[..index]
            .iter()
            .any(|earlier| earlier.event_id == event.event_id)
        {
            return Some(format!(
                "{said}: `{}` is in the history twice, though it was applied once",
                event.event_id
            ));
        }
    }
    if history.is_empty() {
        return Some(format!(
            "{said}, but its row ({}) is the work of {} events ({}): the service kept the state \
             and threw away the events that explain it",
            described(row),
            applied.len(),
            ids(&applied)
        ));
    }
    if let Some(missing) = applied
        .iter()
        .find(|event| !history.iter().any(|kept| kept.event_id == event.event_id))
    {
        return Some(format!(
            "{said}, without `{}`, though the row's version {version} says it was applied: the \
             state changed and the event that changed it was not stored",
            missing.event_id
        ));
    }
    if let Some(extra) = history.iter().find(|event| event.seq > version) {
        return Some(format!(
            "{said}, with `{}`, though the row ({}) never applied it: the event was stored \
             without the change it makes",
            extra.event_id,
            described(row)
        ));
    }
    if let Some((kept, processed)) = history
        .iter()
        .zip(&applied)
        .find(|(kept, processed)| kept.event_id == processed.event_id && kept != processed)
    {
        return Some(format!(
            "{said}, but its `{}` is {}, and the event processed was {}",
            kept.event_id,
            kept.to_row(),
            processed.to_row()
        ));
    }
    Some(format!(
        "{said}, but the events were applied in the order {}: a history out of order rebuilds \
         another state (the last rename wins)",
        ids(&applied)
    ))
}

// --- The invariants ---------------------------------------------------------------

/// `unexplained-state`: the desk's answer is the row's history.
fn every_state_explained(run: &Run) -> Result<(), Violation> {
    for account in ACCOUNT_IDS {
        let row = row_of(run, account)?;
        let history = desk_answer(run, account)?;
        if let Some(difference) = history_differs(account, &history, row.as_ref()) {
            return Err(Violation::for_message(account, difference));
        }
    }
    Ok(())
}

/// `rebuild-mismatch`: each row after the rebuild is the row before.
fn rebuilt_as_before(run: &Run) -> Result<(), Violation> {
    let notes = notes(run, RUNBOOK);
    for account in ACCOUNT_IDS {
        let note = notes.get(account).ok_or_else(|| {
            Violation::new(format!(
                "the operators never got to note `{account}`'s row before the rebuild"
            ))
        })?;
        let before = noted_row(account, &note["row"])?;
        let after = row_of(run, account)?;
        if before == after {
            continue;
        }
        if let Some(error) = notes
            .get(&rebuild_error_key(account))
            .and_then(|note| note["error"].as_str())
        {
            return Err(Violation::for_message(
                account,
                format!(
                    "after the operators emptied `{ACCOUNTS}`, `rebuild(\"{account}\")` kept \
                     failing: {error}. The row said {} before",
                    described(before.as_ref())
                ),
            ));
        }
        let sentence = match &after {
            None => format!(
                "after the operators emptied `{ACCOUNTS}` and called `rebuild(\"{account}\")`, \
                 the account has no row; before, it said {}: nothing the service stored could \
                 bring it back",
                described(before.as_ref())
            ),
            Some(_) => format!(
                "after the operators emptied `{ACCOUNTS}`, `rebuild(\"{account}\")` wrote {}; \
                 before, the row said {}: rebuilding from what the service stored does not give \
                 the state it had",
                described(after.as_ref()),
                described(before.as_ref())
            ),
        };
        return Err(Violation::for_message(account, sentence));
    }
    Ok(())
}

/// `replay-not-idempotent`: the replay left every row, every history and
/// the queue as they were.
fn replay_changed_nothing(run: &Run) -> Result<(), Violation> {
    let notes = notes(run, RUNBOOK);
    for account in ACCOUNT_IDS {
        let note = notes.get(account).ok_or_else(|| {
            Violation::new(format!(
                "the operators never got to replay `{account}`'s log"
            ))
        })?;
        let replayed = noted_events(account, note)?;
        let before = noted_row(account, &note["row"])?;
        let after = row_of(run, account)?;
        if before != after {
            return Err(Violation::for_message(
                account,
                format!(
                    "the operators replayed `{account}`'s log ({}, each sent twice more) and \
                     its row went from {} to {}: the replay applied events again",
                    ids(&replayed),
                    described(before.as_ref()),
                    described(after.as_ref())
                ),
            ));
        }
        let history = desk_answer(run, account)?;
        if history != replayed {
            return Err(Violation::for_message(
                account,
                format!(
                    "before the replay, `explain(\"{account}\")` returned {}; after it, {}: the \
                     replay changed the history",
                    ids(&replayed),
                    ids(&history)
                ),
            ));
        }
    }
    let dead_letters = run.remaining(&dead_letter_path(ACCOUNT_EVENTS));
    if let Some(dead) = dead_letters.first() {
        let id = dead.message_id().to_owned();
        return Err(Violation::for_message(
            id.clone(),
            format!(
                "`{id}`, replayed, ended in the dead-letter queue after {} deliveries: an event \
                 the service has already processed is a duplicate, not a failure. Recognise it \
                 and let it be completed",
                dead.delivery_count
            ),
        ));
    }
    if let Some(left) = run.remaining(ACCOUNT_EVENTS).first() {
        let id = left.message_id().to_owned();
        return Err(Violation::for_message(
            id.clone(),
            format!(
                "`{id}`, replayed, was still on `{ACCOUNT_EVENTS}` at the end: the service never \
                 settled the replay"
            ),
        ));
    }
    Ok(())
}

/// `lost-history`: at the end of every run, whatever its faults, each row is
/// what its account's events add up to, and the history holds exactly them.
fn history_matches_state(run: &Run) -> Result<(), Violation> {
    for account in ACCOUNT_IDS {
        let row = row_of(run, account)?;
        let history = desk_answer(run, account)?;
        if let Some(difference) = history_differs(account, &history, row.as_ref()) {
            return Err(Violation::for_message(account, difference));
        }
        let events = history_of(account);
        let truth = Account::from_history(&events);
        if row.as_ref() != Some(&truth) {
            return Err(Violation::for_message(
                account,
                if history == events {
                    format!(
                        "`explain(\"{account}\")` returned all {} events ({}), which add up to \
                         {}, but the row says {}: an event was stored without the change it \
                         makes, or its change was made twice",
                        events.len(),
                        ids(&events),
                        described(Some(&truth)),
                        described(row.as_ref())
                    )
                } else {
                    format!(
                        "`{account}`'s row says {}, but its {} events ({}) add up to {}: an \
                         event was lost or applied twice",
                        described(row.as_ref()),
                        events.len(),
                        ids(&events),
                        described(Some(&truth))
                    )
                },
            ));
        }
    }
    Ok(())
}

/// Every check: in a run without faults, every event is settled and every
/// account's row is what its events add up to.
fn the_bank_works(run: &Run) -> Result<(), Violation> {
    if !run.plan.is_empty() {
        return Ok(());
    }
    for path in [ACCOUNT_EVENTS.to_owned(), dead_letter_path(ACCOUNT_EVENTS)] {
        if let Some(left) = run.remaining(&path).first() {
            let id = left.message_id().to_owned();
            return Err(Violation::for_message(
                id.clone(),
                format!(
                    "in a run without faults, event `{id}` was still on `{path}` at the end: \
                     `handle` must handle every event"
                ),
            ));
        }
    }
    for account in ACCOUNT_IDS {
        let row = row_of(run, account)?;
        let truth = Account::from_history(&history_of(account));
        if row.as_ref() != Some(&truth) {
            return Err(Violation::for_message(
                account,
                format!(
                    "in a run without faults, `{account}`'s row says {}, and its events add up \
                     to {}",
                    described(row.as_ref()),
                    described(Some(&truth))
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ada's events, picked by position in her history (1 is `ada-1`).
    fn ada(seqs: &[u64]) -> Vec<AccountEvent> {
        let history = history_of("ada");
        seqs.iter()
            .filter_map(|seq| history.iter().find(|event| event.seq == *seq).cloned())
            .collect()
    }

    /// Ada's row after her first `version` events.
    fn row(version: u64) -> Account {
        Account::from_history(&ada(&(1..=version).collect::<Vec<_>>()))
    }

    fn difference(history: &[AccountEvent], version: u64) -> String {
        history_differs("ada", history, Some(&row(version))).unwrap_or_default()
    }

    #[test]
    fn the_whole_history_in_order_is_no_difference() {
        assert_eq!(
            history_differs("ada", &ada(&[1, 2, 3, 4]), Some(&row(4))),
            None
        );
        assert_eq!(history_differs("ada", &ada(&[1, 2]), Some(&row(2))), None);
        assert_eq!(history_differs("ada", &[], None), None);
    }

    #[test]
    fn each_way_a_history_can_differ_has_its_own_sentence() {
        assert!(difference(&[], 4).contains("threw away the events that explain it"));
        assert!(difference(&ada(&[1, 3, 4]), 4).contains("without `ada-2`"));
        assert!(difference(&ada(&[1, 2, 2, 3, 4]), 4).contains("`ada-2` is in the history twice"));
        assert!(difference(&ada(&[1, 2, 3, 4]), 3).contains("with `ada-4`"));
        assert!(difference(&ada(&[1, 3, 2, 4]), 4).contains("applied in the order ada-1, ada-2"));
        let mut grace = ada(&[1, 2, 3, 4]);
        grace.extend(history_of("grace"));
        assert!(difference(&grace, 4).contains("an event of account `grace`"));
        let mut altered = ada(&[1, 2, 3, 4]);
        altered[1].change = crate::bank::Change::Deposited { amount: 1 };
        assert!(difference(&altered, 4).contains("the event processed was"));
    }

    #[test]
    fn amounts_read_as_money() {
        assert_eq!(
            described(Some(&Account {
                owner: "Ada".into(),
                balance: -705,
                version: 3
            })),
            "owner Ada, balance -7.05, version 3"
        );
        assert_eq!(described(None), "no row");
    }
}

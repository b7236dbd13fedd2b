//! The bank: account events, the account they add up to, and the names of
//! the queue and the state table. Do not edit.
//!
//! Events arrive on [`ACCOUNT_EVENTS`], a queue with one session per
//! account, so the events of one account are handed out one at a time, in
//! the order they were sent (their [`AccountEvent::seq`]: 1, 2, 3…).
//!
//! The service keeps each account's current state in [`ACCOUNTS`], one row
//! per account, keyed by account id, written with [`Account::to_row`]. The
//! graders read that table: whatever else you store, and wherever, this row
//! must say how the account stands.

use broker::{Envelope, Message};
use serde::{Deserialize, Serialize};

use crate::LedgerError;

/// The queue the account events arrive on (one session per account).
pub const ACCOUNT_EVENTS: &str = "account-events";
/// The current state: one row per account, [`Account::to_row`].
pub const ACCOUNTS: &str = "accounts";

/// Something that happened to an account, as the core banking system
/// publishes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountEvent {
    /// Unique per event, and the message id it travels under: `ada-2`.
    pub event_id: String,
    /// The account: `ada`.
    pub account: String,
    /// The event's place in its account's history, from 1, without gaps.
    pub seq: u64,
    /// What happened.
    pub change: Change,
}

/// What an event changes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Change {
    /// The account was opened for `owner`, with a balance of zero.
    Opened {
        /// Who holds it.
        owner: String,
    },
    /// Money came in.
    Deposited {
        /// In cents.
        amount: i64,
    },
    /// Money went out.
    Withdrawn {
        /// In cents.
        amount: i64,
    },
    /// The holder's name changed (the last one wins, so order matters).
    Renamed {
        /// The new name.
        owner: String,
    },
}

/// An account's current state: what the [`ACCOUNTS`] row holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// Who holds it.
    pub owner: String,
    /// In cents.
    pub balance: i64,
    /// The `seq` of the last event applied (0: none yet).
    pub version: u64,
}

impl Account {
    /// This account after `event`: the bank's one rule for what an event
    /// does. Rebuilding from a history means applying it event by event,
    /// from [`Account::default`], with this.
    pub fn apply(&mut self, event: &AccountEvent) {
        match &event.change {
            Change::Opened { owner } | Change::Renamed { owner } => {
                owner.clone_into(&mut self.owner)
            }
            Change::Deposited { amount } => self.balance += amount,
            Change::Withdrawn { amount } => self.balance -= amount,
        }
        self.version = event.seq;
    }

    /// The account that `events`, applied in the order given, add up to.
    pub fn from_history<'a>(events: impl IntoIterator<Item = &'a AccountEvent>) -> Account {
        let mut account = Account::default();
        for event in events {
            account.apply(event);
        }
        account
    }

    /// The account's row in [`ACCOUNTS`].
    pub fn to_row(&self) -> serde_json::Value {
        serde_json::json!({
            "owner": self.owner,
            "balance": self.balance,
            "version": self.version,
        })
    }

    /// Reads an [`ACCOUNTS`] row (`key` names it in the error).
    pub fn from_row(key: &str, value: &serde_json::Value) -> Result<Account, LedgerError> {
        serde_json::from_value(value.clone()).map_err(|error| LedgerError::Unreadable {
            key: key.to_owned(),
            reason: format!("not an account row ({error}): write it with `Account::to_row`"),
        })
    }
}

impl AccountEvent {
    /// The event as the core banking system sends it: its id as the message
    /// id, its account as the session id (and as the correlation id, so a
    /// trace can follow one account), JSON as the body.
    pub fn to_message(&self) -> Message {
        Message::new(self.event_id.clone(), self.to_row().to_string())
            .with_content_type("application/json")
            .with_session_id(self.account.clone())
            .with_correlation_id(self.account.clone())
    }

    /// Reads an event from a received message.
    pub fn from_envelope(envelope: &Envelope) -> Result<AccountEvent, LedgerError> {
        envelope
            .body_json()
            .map_err(|error| LedgerError::Unreadable {
                key: envelope.message_id().to_owned(),
                reason: error.to_string(),
            })
    }

    /// The event as a JSON value, to store it in a row.
    pub fn to_row(&self) -> serde_json::Value {
        // Serializing these plain fields cannot fail; `Null` would only be
        // the answer for a map with non-string keys, which this is not.
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// Reads an event stored with [`AccountEvent::to_row`] (`key` names the
    /// row in the error).
    pub fn from_row(key: &str, value: &serde_json::Value) -> Result<AccountEvent, LedgerError> {
        serde_json::from_value(value.clone()).map_err(|error| LedgerError::Unreadable {
            key: key.to_owned(),
            reason: format!("not an account event ({error}): store it with `AccountEvent::to_row`"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(seq: u64, change: Change) -> AccountEvent {
        AccountEvent {
            event_id: format!("ada-{seq}"),
            account: "ada".to_owned(),
            seq,
            change,
        }
    }

    #[test]
    fn a_history_adds_up_in_order_and_the_last_rename_wins() {
        let history = [
            event(
                1,
                Change::Opened {
                    owner: "Ada".into(),
                },
            ),
            event(2, Change::Deposited { amount: 10_000 }),
            event(
                3,
                Change::Renamed {
                    owner: "Ada Lovelace".into(),
                },
            ),
            event(4, Change::Withdrawn { amount: 3_000 }),
        ];
        let account = Account::from_history(&history);
        assert_eq!(
            account,
            Account {
                owner: "Ada Lovelace".into(),
                balance: 7_000,
                version: 4
            }
        );
        // The same events in another order give another state: the order is
        // part of what a history must keep.
        let rename_first = [&history[2], &history[0], &history[1], &history[3]];
        assert_eq!(Account::from_history(rename_first).owner, "Ada");
    }

    #[test]
    fn rows_and_events_read_back_what_was_written() {
        let account = Account {
            owner: "Grace".into(),
            balance: -250,
            version: 2,
        };
        assert_eq!(
            Account::from_row("grace", &account.to_row()).ok(),
            Some(account)
        );
        let deposit = event(2, Change::Deposited { amount: 10_000 });
        assert_eq!(
            AccountEvent::from_row("ada/2", &deposit.to_row()).ok(),
            Some(deposit)
        );
    }

    #[test]
    fn a_row_in_another_shape_is_refused_with_its_key_and_the_helper_to_use() {
        let error = Account::from_row("ada", &serde_json::json!({ "balance": "70" }))
            .err()
            .map(|error| error.to_string())
            .unwrap_or_default();
        assert!(error.contains("`ada`"), "{error}");
        assert!(error.contains("Account::to_row"), "{error}");
        let error = AccountEvent::from_row("history/1", &serde_json::json!({ "seq": 1 }))
            .err()
            .map(|error| error.to_string())
            .unwrap_or_default();
        assert!(error.contains("`history/1`"), "{error}");
        assert!(error.contains("AccountEvent::to_row"), "{error}");
    }
}

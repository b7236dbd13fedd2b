//! The rubric: the graded checks of `claim-check` and what each is worth.
//! Do not edit: this is the grader. `tests/checks.rs` runs each check as
//! one `#[test]`; the book's failure figure is drawn from
//! [`oversized_message`].
//!
//! Every check explores the same runs: the run without faults, every crash
//! point of it, every fault point, and random fault plans (crashes, lost
//! replies, unavailable or slow operations, outages of the broker or the
//! store). Each judges what the outside world can see: the sends the broker
//! accepted or refused, the archive's rows and the payloads left in the
//! store at the end, and the order in which the store's changes committed.
//!
//! Every check also requires that the archive works when nothing fails:
//! the invoice, which fits in one message, is archived as it was scanned.
//! A service that archives nothing cannot pass a check by having nothing to
//! judge.

use std::collections::{BTreeMap, BTreeSet};

use broker::clock::format_offset;
use broker::grading::{Check, Violation};
use broker::simulation::{Exploration, Run, Scenario};
use broker::store::{Change, ChangeKind, Row};
use broker::trace::{Operation, Outcome};

use crate::library::{ARCHIVE, DOCUMENTS, Document, PAYLOADS, TICKET_ID_PREFIX, TIER};
use crate::scenario::scenario;

/// The file the learner edits, as the grader reads it for state kept
/// outside the service (see [`Check::learner_file`]).
const LEARNER_FILE: &str = "src/claim.rs";
/// The learner's file as compiled.
#[cfg(not(feature = "solution"))]
const SERVICE_SOURCE: &str = include_str!("claim.rs");
#[cfg(feature = "solution")]
const SERVICE_SOURCE: &str = include_str!("../solution/claim.rs");

/// The random plans a learner's grade runs per check, unless `EDA_SEEDS`
/// says otherwise. The crash and fault points alone already find every
/// mistake the teeth tests know; the random plans add overlapping faults.
/// `cargo xtask verify` runs thousands.
const RANDOM_PLANS: u64 = 100;

/// A check of this exercise: it reads the learner's file first (state kept
/// in a `static`, a `thread_local!` or a lazy global survives the simulated
/// crash but not a real one, so it fails the check), then explores the run
/// without faults, every crash point, every fault point and the seeded
/// random fault plans.
fn check(name: &str, points: u32, scenario: Scenario, source: &str) -> Check {
    Check::new(name, points)
        .learner_file(LEARNER_FILE, source)
        .scenario(scenario)
        .exploration(Exploration::graded().with_random_plans(RANDOM_PLANS))
        .invariant(the_archive_works)
}

/// No document is refused for its size: every one of them, the contract
/// and the plan too, reaches the archive.
pub fn oversized_message() -> Check {
    oversized_message_of(scenario(), SERVICE_SOURCE)
}

/// [`oversized_message`] for other services: their scenario and source.
pub fn oversized_message_of(scenario: Scenario, source: &str) -> Check {
    check("oversized-message", 10, scenario, source)
        .invariant(no_send_refused_for_its_size)
        .invariant(every_document_arrives_without_faults)
}

/// Every document ends in the archive exactly as it was scanned, whatever
/// crashed or failed, and no claim ticket ever points at a payload that is
/// not stored yet.
pub fn lost_payload() -> Check {
    lost_payload_of(scenario(), SERVICE_SOURCE)
}

/// [`lost_payload`] for other services: their scenario and source.
pub fn lost_payload_of(scenario: Scenario, source: &str) -> Check {
    check("lost-payload", 10, scenario, source)
        .invariant(every_document_archived_intact)
        .invariant(no_ticket_before_its_payload)
}

/// A stored payload is deleted once its document is archived, and not
/// before: none is left behind at the end, none vanishes while its ticket
/// still needs it.
pub fn orphaned_payload() -> Check {
    orphaned_payload_of(scenario(), SERVICE_SOURCE)
}

/// [`orphaned_payload`] for other services: their scenario and source.
pub fn orphaned_payload_of(scenario: Scenario, source: &str) -> Check {
    check("orphaned-payload", 10, scenario, source)
        .invariant(no_payload_left_behind)
        .invariant(no_payload_deleted_before_archiving)
}

/// What the archive holds for a document at the end of a run.
enum Filed {
    /// Nothing.
    Missing,
    /// The document, as scanned.
    AsScanned,
    /// A row whose content is not the scan: its length.
    Altered(usize),
}

/// What `ARCHIVE` holds at the end for `document`. Compares in place: the
/// graders run this hundreds of times, on rows of hundreds of kilobytes.
fn filed(archive: &BTreeMap<&str, &Row>, document: &Document) -> Filed {
    match archive.get(document.id.as_str()) {
        None => Filed::Missing,
        Some(row) => match row.value["content"].as_str() {
            Some(content) if content == &*document.content => Filed::AsScanned,
            content => Filed::Altered(content.map_or(0, str::len)),
        },
    }
}

/// Every check: without faults, the invoice (it fits in a message) is
/// archived as scanned.
fn the_archive_works(run: &Run) -> Result<(), Violation> {
    if !run.plan.is_empty() {
        return Ok(());
    }
    run.store.inspect_committed(ARCHIVE, |archive| {
    for document in Document::of_the_day() {
        if !document.fits_in_a_message() {
            continue;
        }
        match filed(archive, document) {
            Filed::AsScanned => {}
            Filed::Missing | Filed::Altered(_) => {
                return Err(Violation::for_message(
                    document.id.clone(),
                    format!(
                        "in the run without faults, `{}` fits in one {} message and still is not \
                         in `{ARCHIVE}` as scanned at the end of the run: the archive must file \
                         the documents it receives",
                        document.id, TIER
                    ),
                ));
            }
        }
    }
    Ok(())
    })
}

/// `oversized-message`: the broker refused a message because of its size.
fn no_send_refused_for_its_size(run: &Run) -> Result<(), Violation> {
    for event in &run.events {
        let refused = event.operation == Operation::Send
            && event.target.as_deref() == Some(DOCUMENTS)
            && event.fault.is_none();
        // The broker's own refusal (`BrokerError::MessageTooLarge`), not a
        // fault the plan injected: its text names the tier's limit.
        let Outcome::Failed(error) = &event.outcome else {
            continue;
        };
        if refused && error.contains("tier allows at most") {
            let document = event.correlation_id.as_deref().unwrap_or("?");
            return Err(Violation::for_message(
                document.to_owned(),
                format!(
                    "at {} the broker refused `{document}` on `{DOCUMENTS}`: {error}. The tier \
                     will not change because the document is large: a payload that does not fit \
                     must travel another way",
                    format_offset(event.at)
                ),
            ));
        }
    }
    Ok(())
}

/// `oversized-message`: without faults, every document is archived (a
/// producer that skips the large ones refuses them as surely as the broker).
fn every_document_arrives_without_faults(run: &Run) -> Result<(), Violation> {
    if !run.plan.is_empty() {
        return Ok(());
    }
    let missing = run.store.inspect_committed(ARCHIVE, |archive| {
        Document::of_the_day()
            .iter()
            .find(|document| !archive.contains_key(document.id.as_str()))
    });
    match missing {
        Some(document) => Err(Violation::for_message(
            document.id.clone(),
            format!(
                "in the run without faults, `{}` ({} bytes) never reached `{ARCHIVE}`: larger \
                 than a {} message, it was dropped on the way",
                document.id,
                document.content.len(),
                TIER
            ),
        )),
        None => Ok(()),
    }
}

/// `lost-payload`: a document missing from the archive at the end, or
/// archived with other content than was scanned.
fn every_document_archived_intact(run: &Run) -> Result<(), Violation> {
    let filings: Vec<Filed> = run.store.inspect_committed(ARCHIVE, |archive| {
        Document::of_the_day()
            .iter()
            .map(|document| filed(archive, document))
            .collect()
    });
    for (document, filing) in Document::of_the_day().iter().zip(filings) {
        let sentence = match filing {
            Filed::AsScanned => continue,
            Filed::Altered(length) => format!(
                "`{}` is in `{ARCHIVE}` with {length} bytes of content where the scan had {}, \
                 and they differ: the archive keeps a document that is not the one scanned",
                document.id,
                document.content.len()
            ),
            Filed::Missing => format!(
                "`{}` was scanned and uploaded, and at the end of the run it is not in \
                 `{ARCHIVE}`: the document is lost",
                document.id
            ),
        };
        return Err(Violation::for_message(document.id.clone(), sentence));
    }
    Ok(())
}

/// `lost-payload`: a claim ticket the broker accepted before its payload's
/// row was committed. The archive may read that ticket first and find
/// nothing, and a crash right after the send leaves a ticket that points
/// at nothing until (unless) a retry stores the payload.
fn no_ticket_before_its_payload(run: &Run) -> Result<(), Violation> {
    let stored_at = payload_commits(run);
    for (index, event) in run.events.iter().enumerate() {
        let accepted = event.operation == Operation::Send
            && event.target.as_deref() == Some(DOCUMENTS)
            && event.outcome.is_ok()
            && event.sequence_number.is_some();
        let Some(payload_key) = event
            .message_id
            .as_deref()
            .and_then(|id| id.strip_prefix(TICKET_ID_PREFIX))
            .filter(|_| accepted)
        else {
            continue;
        };
        let document = event.correlation_id.as_deref().unwrap_or("?");
        let stored = stored_at.get(payload_key);
        if stored.is_some_and(|(at_index, _)| *at_index < index) {
            continue;
        }
        let when = match stored {
            Some((_, at)) => format!("its payload committed only at {}", format_offset(*at)),
            None => "its payload was never stored".to_owned(),
        };
        return Err(Violation::for_message(
            document.to_owned(),
            format!(
                "the ticket for `{document}` (payload `{payload_key}`) reached `{DOCUMENTS}` at \
                 {}, and {when}: a ticket that leaves before its payload is stored points at \
                 nothing, and a crash in between loses the document",
                format_offset(event.at)
            ),
        ));
    }
    Ok(())
}

/// For each payload key, where in the trace (and when) the first
/// transaction that wrote its row (not a delete) committed.
fn payload_commits(run: &Run) -> BTreeMap<String, (usize, std::time::Duration)> {
    let mut writers: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    run.store.inspect_changes_since(0, |changes| {
        for change in changes {
            if change.table == PAYLOADS && change.kind != ChangeKind::Delete {
                writers
                    .entry(change.transaction)
                    .or_default()
                    .push(change.key.clone());
            }
        }
    });
    let mut commits: BTreeMap<String, (usize, std::time::Duration)> = BTreeMap::new();
    for (index, event) in run.events.iter().enumerate() {
        if event.operation != Operation::Commit || !event.outcome.is_ok() {
            continue;
        }
        let Some(transaction) = event
            .note
            .as_deref()
            .and_then(|note| note.strip_prefix("tx "))
            .and_then(|id| id.parse::<u64>().ok())
        else {
            continue;
        };
        for key in writers.get(&transaction).into_iter().flatten() {
            commits.entry(key.clone()).or_insert((index, event.at));
        }
    }
    commits
}

/// `orphaned-payload`: a payload still stored at the end for a document
/// the archive already has (or a row nobody can read back).
fn no_payload_left_behind(run: &Run) -> Result<(), Violation> {
    let archived: BTreeSet<String> = run.store.inspect_committed(ARCHIVE, |archive| {
        archive.keys().map(|key| (*key).to_owned()).collect()
    });
    // (payload key, its document, its size), for every payload left.
    let left: Vec<(String, String, usize)> = run.store.inspect_committed(PAYLOADS, |payloads| {
        payloads
            .iter()
            .map(|(key, row)| {
                let document = row.value["id"].as_str().unwrap_or(key).to_owned();
                let size = row.value["content"].as_str().map_or(0, str::len);
                ((*key).to_owned(), document, size)
            })
            .collect()
    });
    for (key, document, size) in left {
        if !archived.contains(&document) {
            // Not archived: `lost-payload` says so; the payload may still be
            // needed.
            continue;
        }
        return Err(Violation::for_message(
            document.clone(),
            format!(
                "payload `{key}` ({size} bytes of `{document}`) is still in `{PAYLOADS}` at the \
                 end of the run, and `{document}` has been in `{ARCHIVE}` for a while: nobody \
                 will ever read it again, and the storage bill grows with every document"
            ),
        ));
    }
    Ok(())
}

/// `orphaned-payload`: a payload deleted before the transaction that filed
/// its document committed (in the same transaction is fine).
fn no_payload_deleted_before_archiving(run: &Run) -> Result<(), Violation> {
    // (payload key, its document, the deleting transaction), if any.
    let early = run.store.inspect_changes_since(0, first_early_delete);
    let Some((payload_key, document, transaction)) = early else {
        return Ok(());
    };
    let at = commit_time(run, transaction).map_or_else(|| "?".to_owned(), format_offset);
    Err(Violation::for_message(
        document.clone(),
        format!(
            "payload `{payload_key}` was deleted at {at}, before `{document}` was in \
             `{ARCHIVE}`: its ticket still pointed at it, and the archive that reads the \
             ticket finds nothing. Delete a payload only once its document is safely consumed"
        ),
    ))
}

/// The first delete of a payload whose document was not filed yet (by an
/// earlier transaction or the deleting one): its key, its document and the
/// deleting transaction.
fn first_early_delete(changes: &[Change]) -> Option<(String, String, u64)> {
    // The document each payload key held when it was last written.
    let mut holds: BTreeMap<String, String> = BTreeMap::new();
    // The documents filed so far, and the transactions that filed them.
    let mut filed: BTreeSet<String> = BTreeSet::new();
    // Group by transaction: the changes of one transaction are contiguous,
    // and a delete in the transaction that files the document is in time.
    let mut start = 0;
    while start < changes.len() {
        let transaction = changes[start].transaction;
        let end = changes[start..]
            .iter()
            .position(|change| change.transaction != transaction)
            .map_or(changes.len(), |offset| start + offset);
        let group = &changes[start..end];
        for change in group {
            if change.table == ARCHIVE && change.kind != ChangeKind::Delete {
                filed.insert(change.key.clone());
            }
        }
        for change in group {
            if change.table != PAYLOADS {
                continue;
            }
            match (&change.kind, &change.row) {
                (ChangeKind::Delete, _) => {
                    let document = holds
                        .get(&change.key)
                        .cloned()
                        .unwrap_or_else(|| change.key.clone());
                    if !filed.contains(&document) {
                        return Some((change.key.clone(), document, transaction));
                    }
                }
                (_, Some(row)) => {
                    if let Some(document) = row.value["id"].as_str() {
                        holds.insert(change.key.clone(), document.to_owned());
                    }
                }
                (_, None) => {}
            }
        }
        start = end;
    }
    None
}

/// When transaction `transaction`'s commit succeeded.
fn commit_time(run: &Run, transaction: u64) -> Option<std::time::Duration> {
    let note = format!("tx {transaction}");
    run.events
        .iter()
        .find(|event| {
            event.operation == Operation::Commit
                && event.outcome.is_ok()
                && event.note.as_deref() == Some(note.as_str())
        })
        .map(|event| event.at)
}

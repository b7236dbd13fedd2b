//! The grader's own tests, not the learner's: each check must catch the
//! plausible wrong fixes it is named after, and pass a correct solution
//! written differently from the reference. (`cargo xtask verify` proves
//! that the starter fails `oversized-message` and `lost-payload`, and that
//! the reference passes all.)
//!
//! The wrong fixes, one per way of getting the claim check half right:
//!
//! - the producer deletes the payload right after sending the ticket, "to
//!   keep the store clean" (`orphaned-payload`: deleted before it was read);
//! - the archive files the document and never deletes the payload
//!   (`orphaned-payload`: left behind);
//! - the producer sends the ticket, then stores the payload
//!   (`lost-payload`: a ticket that points at nothing);
//! - the producer truncates the document to the tier's limit
//!   (`lost-payload`: the archive keeps another document; it passes
//!   `oversized-message`, which is why that check is not enough);
//! - the producer skips the send when the payload is already stored, "it
//!   was sent last time" (`lost-payload`, found only by a crash between
//!   storing the payload and sending the ticket);
//! - the producer picks a fresh payload key on every attempt
//!   (`orphaned-payload`, found only by that same crash: the first
//!   attempt's payload is never read, nor deleted);
//! - the payloads live in a `static` map (every check, from the file's
//!   text: a simulated crash cannot wipe a static, a real one does).

use broker::simulation::{Exploration, ServiceCtx};
use broker::store::IsolationLevel;
use claim_check::ClaimError;
use claim_check::library::{self, ClaimTicket, DOCUMENTS, Delivered, Document, PAYLOADS, TIER};
use claim_check::rubric;
use claim_check::scenario::scenario_running;

#[path = "wrong/payloads_in_a_static.rs"]
mod payloads_in_a_static;

// --- Producers -----------------------------------------------------------------

/// Stores `document` under `payload_key`, committed.
async fn store_payload(
    ctx: &ServiceCtx,
    payload_key: &str,
    document: &Document,
) -> Result<(), ClaimError> {
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    tx.upsert(PAYLOADS, payload_key, document.to_json()).await?;
    tx.commit().await?;
    Ok(())
}

/// Sends the ticket for `document`'s payload under `payload_key`.
async fn send_ticket(
    ctx: &ServiceCtx,
    document: &Document,
    payload_key: &str,
) -> Result<(), ClaimError> {
    ctx.send(
        DOCUMENTS,
        ClaimTicket::new(document, payload_key).to_message(),
    )
    .await?;
    Ok(())
}

/// The right producer: payload committed first, one key per document.
async fn payload_then_ticket(ctx: &ServiceCtx, document: &Document) -> Result<(), ClaimError> {
    if document.fits_in_a_message() {
        ctx.send(DOCUMENTS, document.to_message()).await?;
        return Ok(());
    }
    store_payload(ctx, &document.id, document).await?;
    send_ticket(ctx, document, &document.id).await
}

/// Stores, sends, and deletes the payload at once.
async fn deletes_right_after_sending(
    ctx: &ServiceCtx,
    document: &Document,
) -> Result<(), ClaimError> {
    payload_then_ticket(ctx, document).await?;
    if !document.fits_in_a_message() {
        let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
        tx.delete(PAYLOADS, &document.id).await?;
        tx.commit().await?;
    }
    Ok(())
}

/// Sends the ticket first ("it is only a reference"), then stores.
async fn ticket_before_payload(ctx: &ServiceCtx, document: &Document) -> Result<(), ClaimError> {
    if document.fits_in_a_message() {
        ctx.send(DOCUMENTS, document.to_message()).await?;
        return Ok(());
    }
    send_ticket(ctx, document, &document.id).await?;
    store_payload(ctx, &document.id, document).await
}

/// Cuts the document down to what the tier allows.
async fn truncates(ctx: &ServiceCtx, document: &Document) -> Result<(), ClaimError> {
    let mut cut = document.clone();
    // Room for the title property and its name, with some to spare.
    let room = TIER.max_message_size().saturating_sub(1024);
    if let Some(kept) = document.content.get(..room) {
        cut.content = kept.into();
    }
    ctx.send(DOCUMENTS, cut.to_message()).await?;
    Ok(())
}

/// Skips the ticket when the payload is already stored: "then this is a
/// retry, and the ticket went out last time".
async fn skips_when_payload_exists(
    ctx: &ServiceCtx,
    document: &Document,
) -> Result<(), ClaimError> {
    if document.fits_in_a_message() {
        ctx.send(DOCUMENTS, document.to_message()).await?;
        return Ok(());
    }
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    if tx.get(PAYLOADS, &document.id).await?.is_some() {
        tx.rollback().await;
        return Ok(());
    }
    tx.insert(PAYLOADS, &document.id, document.to_json())
        .await?;
    tx.commit().await?;
    send_ticket(ctx, document, &document.id).await
}

/// A fresh payload key per attempt (the time of the attempt).
async fn fresh_key_per_attempt(ctx: &ServiceCtx, document: &Document) -> Result<(), ClaimError> {
    if document.fits_in_a_message() {
        ctx.send(DOCUMENTS, document.to_message()).await?;
        return Ok(());
    }
    let payload_key = format!("{}-{}", document.id, ctx.now());
    store_payload(ctx, &payload_key, document).await?;
    send_ticket(ctx, document, &payload_key).await
}

/// A correct producer written differently: every document goes by claim
/// check, small or not, under a key of its own naming.
async fn always_claim_check(ctx: &ServiceCtx, document: &Document) -> Result<(), ClaimError> {
    let payload_key = format!("scans/{}", document.id);
    store_payload(ctx, &payload_key, document).await?;
    send_ticket(ctx, document, &payload_key).await
}

// --- Archives ------------------------------------------------------------------

/// Files what the message carries (the payload read in `tx`), and deletes
/// the payload in the same transaction when `delete` says so.
async fn file_and_maybe_delete(
    ctx: &ServiceCtx,
    delivered: &Delivered,
    delete: bool,
) -> Result<(), ClaimError> {
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    match delivered {
        Delivered::Document(document) => library::file(&mut tx, document).await?,
        Delivered::Ticket(ticket) => match tx.get(PAYLOADS, &ticket.payload_key).await? {
            Some(row) => {
                let document = Document::from_json(&ticket.payload_key, &row.value)?;
                library::file(&mut tx, &document).await?;
                if delete {
                    tx.delete(PAYLOADS, &ticket.payload_key).await?;
                }
            }
            None if library::is_filed(&mut tx, &ticket.document_id).await? => {}
            None => {
                tx.rollback().await;
                return Err(ClaimError::MissingPayload {
                    document_id: ticket.document_id.clone(),
                    payload_key: ticket.payload_key.clone(),
                });
            }
        },
    }
    tx.commit().await?;
    Ok(())
}

/// The right archive: files and deletes in one transaction.
async fn files_and_deletes(ctx: &ServiceCtx, delivered: &Delivered) -> Result<(), ClaimError> {
    file_and_maybe_delete(ctx, delivered, true).await
}

/// Files, and keeps the payload "in case".
async fn never_deletes(ctx: &ServiceCtx, delivered: &Delivered) -> Result<(), ClaimError> {
    file_and_maybe_delete(ctx, delivered, false).await
}

/// A correct archive written differently: files in one transaction, deletes
/// in a second. A crash in between leaves the payload for the ticket's
/// redelivery, which files the document again (an upsert: no change) and
/// deletes it then.
async fn files_then_deletes(ctx: &ServiceCtx, delivered: &Delivered) -> Result<(), ClaimError> {
    file_and_maybe_delete(ctx, delivered, false).await?;
    if let Delivered::Ticket(ticket) = delivered {
        let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
        tx.delete(PAYLOADS, &ticket.payload_key).await?;
        tx.commit().await?;
    }
    Ok(())
}

// --- The tests -----------------------------------------------------------------

#[test]
fn orphaned_payload_catches_a_delete_right_after_sending() {
    let report = rubric::orphaned_payload()
        .scenario(scenario_running(
            deletes_right_after_sending,
            files_and_deletes,
        ))
        .run_with(None, None);
    assert!(
        !report.passed,
        "orphaned-payload passed a producer that deletes the payload it just sent:\n{}",
        report.text
    );
    assert!(report.text.contains("was deleted at"), "{}", report.text);
}

#[test]
fn orphaned_payload_catches_an_archive_that_never_deletes() {
    let report = rubric::orphaned_payload()
        .scenario(scenario_running(payload_then_ticket, never_deletes))
        .exploration(Exploration::happy_path())
        .run_with(None, None);
    assert!(
        !report.passed,
        "orphaned-payload passed payloads kept for ever:\n{}",
        report.text
    );
    assert!(
        report.text.contains("is still in `payloads`"),
        "{}",
        report.text
    );
}

#[test]
fn lost_payload_catches_a_ticket_sent_before_its_payload() {
    let report = rubric::lost_payload()
        .scenario(scenario_running(ticket_before_payload, files_and_deletes))
        .exploration(Exploration::happy_path())
        .run_with(None, None);
    assert!(
        !report.passed,
        "lost-payload passed a ticket sent before its payload:\n{}",
        report.text
    );
    assert!(report.text.contains("points at"), "{}", report.text);
}

#[test]
fn lost_payload_catches_truncation_that_oversized_message_lets_through() {
    let scenario = || scenario_running(truncates, files_and_deletes);
    let oversized = rubric::oversized_message()
        .scenario(scenario())
        .run_with(None, None);
    assert!(oversized.passed, "{}", oversized.text);
    let report = rubric::lost_payload()
        .scenario(scenario())
        .exploration(Exploration::happy_path())
        .run_with(None, None);
    assert!(
        !report.passed,
        "lost-payload passed truncated documents:\n{}",
        report.text
    );
    assert!(report.text.contains("they differ"), "{}", report.text);
}

#[test]
fn lost_payload_catches_a_skipped_ticket_only_at_the_crash_between() {
    let scenario = || scenario_running(skips_when_payload_exists, files_and_deletes);
    let happy = rubric::lost_payload()
        .scenario(scenario())
        .exploration(Exploration::happy_path())
        .run_with(None, None);
    assert!(happy.passed, "{}", happy.text);
    let report = rubric::lost_payload()
        .scenario(scenario())
        .exploration(Exploration::every_crash_point())
        .run_with(None, None);
    assert!(
        !report.passed,
        "lost-payload passed a producer that skips the ticket on a retry:\n{}",
        report.text
    );
    assert!(
        report.text.contains("the document is lost"),
        "{}",
        report.text
    );
}

#[test]
fn orphaned_payload_catches_a_fresh_key_only_at_the_crash_between() {
    let scenario = || scenario_running(fresh_key_per_attempt, files_and_deletes);
    let happy = rubric::orphaned_payload()
        .scenario(scenario())
        .exploration(Exploration::happy_path())
        .run_with(None, None);
    assert!(happy.passed, "{}", happy.text);
    let report = rubric::orphaned_payload()
        .scenario(scenario())
        .exploration(Exploration::every_crash_point())
        .run_with(None, None);
    assert!(
        !report.passed,
        "orphaned-payload passed a fresh payload key per attempt:\n{}",
        report.text
    );
    assert!(
        report.text.contains("is still in `payloads`"),
        "{}",
        report.text
    );
}

#[test]
fn every_check_refuses_payloads_kept_in_a_static() {
    let source = include_str!("wrong/payloads_in_a_static.rs");
    let scenario = || {
        scenario_running(
            payloads_in_a_static::send_document,
            payloads_in_a_static::archive_document,
        )
    };
    for check in [
        rubric::oversized_message_of(scenario(), source),
        rubric::lost_payload_of(scenario(), source),
        rubric::orphaned_payload_of(scenario(), source),
    ] {
        let report = check.run_with(None, None);
        assert!(
            !report.passed,
            "a check passed payloads kept in a static:\n{}",
            report.text
        );
        assert!(
            report.text.contains("static PAYLOADS"),
            "the report must point at the static:\n{}",
            report.text
        );
    }
}

#[test]
fn every_check_passes_a_correct_solution_written_differently() {
    let scenario = || scenario_running(always_claim_check, files_then_deletes);
    for check in [
        rubric::oversized_message_of(scenario(), ""),
        rubric::lost_payload_of(scenario(), ""),
        rubric::orphaned_payload_of(scenario(), ""),
    ] {
        let report = check.run_with(None, None);
        assert!(report.passed, "{}", report.text);
    }
}

//! The producer and the archive: the reference solution.
//!
//! A document that fits in one message of the tier still goes as one
//! message. A larger one goes by **claim check**: its payload is stored in
//! `payloads`, and only a small ticket that points at it crosses the broker.
//! Three rules keep that safe:
//!
//! 1. **Payload first, ticket second.** The payload's row commits before the
//!    ticket is sent, so a ticket never points at nothing. A crash in
//!    between leaves a stored payload and an unsent ticket; the upload comes
//!    back, and the retry stores the payload again and sends the ticket.
//! 2. **One key per document.** The payload key is the document's id, so a
//!    retry overwrites its own payload instead of leaving another behind.
//! 3. **Delete after consumption, in the same transaction.** The archive
//!    files the document and deletes its payload in one transaction: a crash
//!    leaves both or neither. A ticket that comes back after that (the
//!    complete was lost, or the producer sent it twice) finds the payload
//!    gone and the document filed, and is done.

use broker::simulation::ServiceCtx;
use broker::store::IsolationLevel;

use crate::ClaimError;
use crate::library::{self, ClaimTicket, DOCUMENTS, Delivered, Document, PAYLOADS, TIER};

/// Sends `document` to the archive.
pub async fn send_document(ctx: &ServiceCtx, document: &Document) -> Result<(), ClaimError> {
    // ANCHOR: solution-producer
    let whole = document.to_message();
    if whole.size() <= TIER.max_message_size() {
        ctx.send(DOCUMENTS, whole).await?;
        return Ok(());
    }
    // Too large for the tier: store the payload, then send a ticket for it.
    let payload_key = document.id.clone();
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    tx.upsert(PAYLOADS, &payload_key, document.to_json())
        .await?;
    tx.commit().await?;
    let ticket = ClaimTicket::new(document, &payload_key);
    // eda-lint: allow(dual-write) -- the upload is completed only after this send, so a crash after the commit brings it back and the retry sends the ticket
    ctx.send(DOCUMENTS, ticket.to_message()).await?;
    Ok(())
    // ANCHOR_END: solution-producer
}

/// Archives what one message on `documents` carries.
pub async fn archive_document(ctx: &ServiceCtx, delivered: &Delivered) -> Result<(), ClaimError> {
    // ANCHOR: solution-archive
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    match delivered {
        Delivered::Document(document) => library::file(&mut tx, document).await?,
        Delivered::Ticket(ticket) => match tx.get(PAYLOADS, &ticket.payload_key).await? {
            Some(row) => {
                let document = Document::from_json(&ticket.payload_key, &row.value)?;
                library::file(&mut tx, &document).await?;
                // Consumed: the payload goes with the same commit.
                tx.delete(PAYLOADS, &ticket.payload_key).await?;
            }
            // Gone: archived already (a repeat of this ticket), or not
            // stored yet. Only the first is done.
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
    // ANCHOR_END: solution-archive
}

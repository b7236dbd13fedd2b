//! A wrong fix for the grader's own tests (`tests/grader_teeth.rs`): a claim
//! check whose "blob store" is a `static` map in the process. The simulated
//! crash cannot wipe a static (it is not in the service's future), so the
//! payloads seem to survive; a real crash ends the process and takes every
//! payload along, and the producer and the archive are two processes anyway.
//! The checks must say so, plainly, from this file's text.

use std::collections::BTreeMap;
use std::sync::Mutex;

use broker::simulation::ServiceCtx;
use broker::store::IsolationLevel;
use claim_check::ClaimError;
use claim_check::library::{self, ClaimTicket, DOCUMENTS, Delivered, Document};

/// The payloads, by key.
static PAYLOADS: Mutex<BTreeMap<String, Document>> = Mutex::new(BTreeMap::new());

/// Keeps the document in memory and sends a ticket for it.
pub async fn send_document(ctx: &ServiceCtx, document: &Document) -> Result<(), ClaimError> {
    if let Ok(mut payloads) = PAYLOADS.lock() {
        payloads.insert(document.id.clone(), document.clone());
    }
    ctx.send(
        DOCUMENTS,
        ClaimTicket::new(document, &document.id).to_message(),
    )
    .await?;
    Ok(())
}

/// Files the document the ticket names, from memory.
pub async fn archive_document(ctx: &ServiceCtx, delivered: &Delivered) -> Result<(), ClaimError> {
    let document = match delivered {
        Delivered::Document(document) => document.clone(),
        Delivered::Ticket(ticket) => PAYLOADS
            .lock()
            .ok()
            .and_then(|payloads| payloads.get(&ticket.payload_key).cloned())
            .ok_or_else(|| ClaimError::MissingPayload {
                document_id: ticket.document_id.clone(),
                payload_key: ticket.payload_key.clone(),
            })?,
    };
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    library::file(&mut tx, &document).await?;
    tx.commit().await?;
    if let Ok(mut payloads) = PAYLOADS.lock() {
        payloads.remove(&document.id);
    }
    Ok(())
}

//! The producer and the archive. **This is the file you edit** (and the
//! only one).
//!
//! - [`send_document`] sends one scanned document to the archive over the
//!   `documents` queue. The producer calls it once per upload and completes
//!   the upload when it returns `Ok`; on an error it abandons the upload,
//!   and the broker delivers it again.
//! - [`archive_document`] handles one message the archive received from
//!   `documents`. The archive completes the message when it returns `Ok`; on
//!   an error it abandons it, and the broker delivers it again (up to ten
//!   times, then dead-letters it).
//!
//! Run `cargo test -p claim-check` to see what the graders think of them,
//! and `cargo xtask hint claim-check` when you are stuck. Keep both
//! signatures; add whatever else you need to this file.

use broker::simulation::ServiceCtx;
use broker::store::IsolationLevel;

use crate::ClaimError;
use crate::library::{self, DOCUMENTS, Delivered, Document};

/// Sends `document` to the archive.
pub async fn send_document(ctx: &ServiceCtx, document: &Document) -> Result<(), ClaimError> {
    // ANCHOR: starter
    // ANCHOR: starter-producer
    // One document, one message: the archive gets everything it needs.
    ctx.send(DOCUMENTS, document.to_message()).await?;
    Ok(())
    // ANCHOR_END: starter-producer
}

/// Archives what one message on `documents` carries.
pub async fn archive_document(ctx: &ServiceCtx, delivered: &Delivered) -> Result<(), ClaimError> {
    // ANCHOR: starter-archive
    let Delivered::Document(document) = delivered else {
        // Nobody sends tickets yet.
        return Err(ClaimError::Unreadable {
            key: "documents".to_owned(),
            reason: "a claim ticket, and this archive only reads whole documents".to_owned(),
        });
    };
    let mut tx = ctx.begin(IsolationLevel::ReadCommitted).await?;
    library::file(&mut tx, document).await?;
    tx.commit().await?;
    Ok(())
    // ANCHOR_END: starter-archive
    // ANCHOR_END: starter
}

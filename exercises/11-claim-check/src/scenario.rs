//! The world of the exercise, as one scenario. Do not edit.
//!
//! - The namespace is on the Basic tier ([`crate::library::TIER`]).
//! - The scanner has put one upload per document of the day on `uploads`
//!   (an invoice of 3 KB, a contract of 280 KB, a building plan of 360 KB).
//! - The **producer** (service `producer`) receives each upload, reads the
//!   scanned document, calls [`crate::claim::send_document`], completes the
//!   upload on `Ok`, and on an error waits a little (longer on each
//!   delivery) and abandons it, so the broker delivers it again. A crash
//!   before the complete means the upload comes again too.
//! - The **archive** (service `archive`) receives each message on
//!   `documents`, calls [`crate::claim::archive_document`], completes the
//!   message on `Ok`, and on an error waits and abandons it the same way.
//!   A message the broker delivered ten times goes to the dead-letter
//!   queue, where nobody reads it.
//!
//! A run lasts [`RUN_FOR`] of virtual time: long enough for every upload
//! and every message to be settled after the worst outage a random fault
//! plan causes.

use std::time::Duration;

use broker::simulation::{Scenario, ServiceCtx};
use broker::{BrokerError, Delivery, Message, QueueOptions};
use serde_json::json;

use crate::ClaimError;
use crate::library::{DOCUMENTS, Delivered, Document, TIER, UPLOADS};

/// The producer's name in traces.
pub const PRODUCER: &str = "producer";
/// The archive's name in traces.
pub const ARCHIVE_SERVICE: &str = "archive";
/// How long a run lasts.
pub const RUN_FOR: Duration = Duration::from_secs(15 * 60);

/// How long a service waits before it gives a message back after an error
/// on its `delivery_count`-th delivery: 5 s, 10 s, ... up to 30 s, so that a
/// short outage is ridden out well before ten deliveries.
pub fn retry_backoff(delivery_count: u32) -> Duration {
    Duration::from_secs(5 * u64::from(delivery_count.clamp(1, 6)))
}

/// The scanner's upload of `document_id`.
pub fn upload(document_id: &str) -> Message {
    Message::new(
        format!("upload-{document_id}"),
        json!({ "document_id": document_id }).to_string(),
    )
    .with_content_type("application/json")
    .with_correlation_id(document_id.to_owned())
}

/// The scenario the checks explore: your `send_document` and
/// `archive_document`.
pub fn scenario() -> Scenario {
    scenario_running(crate::claim::send_document, crate::claim::archive_document)
}

/// The same world with other services in it, so the grader's own tests can
/// prove each check catches the mistake it is named after.
pub fn scenario_running<S, A>(send_document: S, archive_document: A) -> Scenario
where
    S: AsyncFn(&ServiceCtx, &Document) -> Result<(), ClaimError> + Clone + Send + Sync + 'static,
    A: AsyncFn(&ServiceCtx, &Delivered) -> Result<(), ClaimError> + Clone + Send + Sync + 'static,
{
    Scenario::new("claim-check")
        .tier(TIER)
        .queue(UPLOADS, QueueOptions::default())
        .queue(DOCUMENTS, QueueOptions::default())
        .messages(
            UPLOADS,
            Document::of_the_day()
                .iter()
                .map(|document| upload(&document.id)),
        )
        .service(PRODUCER, move |ctx| produce(ctx, send_document.clone()))
        .service(ARCHIVE_SERVICE, move |ctx| {
            archive(ctx, archive_document.clone())
        })
        .run_for(RUN_FOR)
}

/// The producer: one upload at a time.
async fn produce<S>(ctx: ServiceCtx, send_document: S) -> Result<(), BrokerError>
where
    S: AsyncFn(&ServiceCtx, &Document) -> Result<(), ClaimError>,
{
    loop {
        let delivery = ctx.receive(UPLOADS).await?;
        let Some(document) = scanned(&delivery) else {
            ctx.dead_letter(
                &delivery,
                "Unreadable",
                "not an upload of a scanned document",
            )
            .await?;
            continue;
        };
        // The document's operations carry its id in the trace, so a report's
        // timeline of `plan-3` shows everything done about the plan.
        let handling = ctx.concerning(&document.id);
        match send_document(&handling, &document).await {
            Ok(()) => ctx.complete(&delivery).await?,
            Err(_) => give_back(&ctx, &delivery).await?,
        }
    }
}

/// The archive: one message at a time.
async fn archive<A>(ctx: ServiceCtx, archive_document: A) -> Result<(), BrokerError>
where
    A: AsyncFn(&ServiceCtx, &Delivered) -> Result<(), ClaimError>,
{
    loop {
        let delivery = ctx.receive(DOCUMENTS).await?;
        let Ok(delivered) = Delivered::from_envelope(&delivery) else {
            ctx.dead_letter(
                &delivery,
                "Unreadable",
                "neither a document nor a claim ticket",
            )
            .await?;
            continue;
        };
        let document_id = match &delivered {
            Delivered::Document(document) => document.id.clone(),
            Delivered::Ticket(ticket) => ticket.document_id.clone(),
        };
        let handling = ctx.concerning(&document_id);
        match archive_document(&handling, &delivered).await {
            Ok(()) => ctx.complete(&delivery).await?,
            Err(_) => give_back(&ctx, &delivery).await?,
        }
    }
}

/// Waits, then abandons: the broker delivers the message again.
async fn give_back(ctx: &ServiceCtx, delivery: &Delivery) -> Result<(), BrokerError> {
    tokio::time::sleep(retry_backoff(delivery.delivery_count)).await;
    ctx.abandon(delivery).await
}

/// The document an upload names, as the scanner produced it.
fn scanned(delivery: &Delivery) -> Option<Document> {
    let upload: serde_json::Value = delivery.body_json().ok()?;
    Document::scanned(upload["document_id"].as_str()?)
}

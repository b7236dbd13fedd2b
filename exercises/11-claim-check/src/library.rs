//! The records office: documents, the claim ticket, the tables and the
//! queues. Do not edit.
//!
//! The namespace is on the [`TIER`] tier (Basic): its largest message is
//! [`Tier::max_message_size`] bytes, 256 KB. A message larger than that is
//! refused by the broker (`BrokerError::MessageTooLarge`), whatever is in it.
//!
//! The store has two tables, keyed by string like every table of the
//! workshop's store (see `broker::store`):
//!
//! - [`ARCHIVE`]: the archive's documents, keyed by document id; it writes
//!   them with [`file()`];
//! - [`PAYLOADS`]: empty, and yours to use: a row can hold a whole
//!   document, whatever its size (the store plays the blob store here, as an
//!   S3 bucket or an Azure Storage container would in production).
//!
//! A message on [`DOCUMENTS`] is one of two things, and the archive reads
//! both with [`Delivered::from_envelope`]: a whole document
//! ([`Document::to_message`]), or a claim ticket ([`ClaimTicket::to_message`])
//! that says where the document's payload is stored.

use std::sync::{Arc, OnceLock};

use broker::simulation::Tx;
use broker::{Envelope, Message, Tier};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::ClaimError;

/// The namespace's pricing tier.
pub const TIER: Tier = Tier::Basic;

/// The scanner's uploads: one message per document to send, `{"document_id": ...}`.
pub const UPLOADS: &str = "uploads";
/// Where the producer sends documents (or their claim tickets); the archive
/// reads it.
pub const DOCUMENTS: &str = "documents";
/// The archive's table: one row per archived document.
pub const ARCHIVE: &str = "archive";
/// The payloads table: empty in the starter, yours to use.
pub const PAYLOADS: &str = "payloads";

/// The content type of a message that carries a whole document.
pub const DOCUMENT_CONTENT_TYPE: &str = "text/vnd.records.document";
/// The application property that carries a whole document's title.
pub const TITLE_PROPERTY: &str = "title";
/// The content type of a message that carries a claim ticket.
pub const TICKET_CONTENT_TYPE: &str = "application/vnd.records.claim-ticket+json";
/// The prefix of a claim ticket's message id; the rest is its payload key
/// (`ticket:contract-2`). The graders read the key from it.
pub const TICKET_ID_PREFIX: &str = "ticket:";

/// The documents of the day: `(id, title, size in bytes of the content)`.
/// The invoice fits in a Basic-tier message; the contract and the plan do
/// not.
pub const DOCUMENTS_OF_THE_DAY: [(&str, &str, usize); 3] = [
    ("invoice-1", "Invoice 2026-118", 3 * 1024),
    ("contract-2", "Lease contract, Quay Street", 280 * 1024),
    ("plan-3", "Building plan, third floor", 360 * 1024),
];

/// A scanned document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Document {
    /// Its id: `contract-2`.
    pub id: String,
    /// Its title.
    pub title: String,
    /// The scan, as text. Scans do not compress well, and neither does this.
    /// Shared, so that handing a document around does not copy the scan.
    pub content: Arc<str>,
}

impl Document {
    /// The document the scanner produced under `id`, if it is one of
    /// [`DOCUMENTS_OF_THE_DAY`]. Always the same content for the same id.
    pub fn scanned(id: &str) -> Option<Document> {
        scans().iter().find(|document| document.id == id).cloned()
    }

    /// Every document of the day, in upload order.
    pub fn of_the_day() -> &'static [Document] {
        scans()
    }

    /// The document as JSON, for a row of a table.
    pub fn to_json(&self) -> serde_json::Value {
        json!({ "id": self.id, "title": self.title, "content": &*self.content })
    }

    /// Reads a document back from the JSON [`Document::to_json`] wrote; `key`
    /// names the row or message in the error.
    pub fn from_json(key: &str, value: &serde_json::Value) -> Result<Document, ClaimError> {
        let field = |name: &str| {
            value[name].as_str().ok_or_else(|| ClaimError::Unreadable {
                key: key.to_owned(),
                reason: format!("no string field `{name}`: not a document"),
            })
        };
        Ok(Document {
            id: field("id")?.to_owned(),
            title: field("title")?.to_owned(),
            content: Arc::from(field("content")?),
        })
    }

    /// Whether the whole document fits in one message of the [`TIER`]:
    /// [`Message::size`] of [`Document::to_message`], worked out without
    /// building the message.
    pub fn fits_in_a_message(&self) -> bool {
        let size = self.content.len() + TITLE_PROPERTY.len() + self.title.len();
        size <= TIER.max_message_size()
    }

    /// The whole document as one message to [`DOCUMENTS`]: the scan is the
    /// body (as it would be in production: JSON would only add escaping to
    /// a megabyte of text), the title an application property. Its id and
    /// its correlation id are the document's id. The broker refuses it when
    /// it is larger than the tier allows ([`Message::size`]).
    pub fn to_message(&self) -> Message {
        Message::new(self.id.clone(), self.content.as_bytes())
            .with_content_type(DOCUMENT_CONTENT_TYPE)
            .with_correlation_id(self.id.clone())
            .with_property(TITLE_PROPERTY, self.title.clone())
    }
}

/// A claim ticket: "document `document_id` is stored under `payload_key` in
/// [`PAYLOADS`]". A few hundred bytes, whatever the document's size.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimTicket {
    /// The document it stands for.
    pub document_id: String,
    /// The key of the payload's row in [`PAYLOADS`].
    pub payload_key: String,
}

impl ClaimTicket {
    /// A ticket for `document`, whose payload is (or will be) stored under
    /// `payload_key`.
    pub fn new(document: &Document, payload_key: &str) -> ClaimTicket {
        ClaimTicket {
            document_id: document.id.clone(),
            payload_key: payload_key.to_owned(),
        }
    }

    /// The ticket as a message to [`DOCUMENTS`]: its id is
    /// `ticket:<payload_key>`, its correlation id the document's id.
    pub fn to_message(&self) -> Message {
        let body = json!({ "document_id": self.document_id, "payload_key": self.payload_key });
        Message::new(
            format!("{TICKET_ID_PREFIX}{}", self.payload_key),
            body.to_string(),
        )
        .with_content_type(TICKET_CONTENT_TYPE)
        .with_correlation_id(self.document_id.clone())
    }
}

/// What a message on [`DOCUMENTS`] carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivered {
    /// The whole document.
    Document(Document),
    /// A claim ticket: the document is in [`PAYLOADS`].
    Ticket(ClaimTicket),
}

impl Delivered {
    /// Reads a received message, by its content type.
    pub fn from_envelope(envelope: &Envelope) -> Result<Delivered, ClaimError> {
        let unreadable = |reason: String| ClaimError::Unreadable {
            key: envelope.message_id().to_owned(),
            reason,
        };
        match envelope.content_type.as_deref() {
            Some(DOCUMENT_CONTENT_TYPE) => {
                let content = envelope.body_text().ok_or_else(|| {
                    unreadable("the document's body is not UTF-8 text".to_owned())
                })?;
                let title = envelope
                    .property(TITLE_PROPERTY)
                    .ok_or_else(|| unreadable(format!("no `{TITLE_PROPERTY}` property")))?;
                Ok(Delivered::Document(Document {
                    id: envelope.message_id().to_owned(),
                    title: title.to_owned(),
                    content: Arc::from(content),
                }))
            }
            Some(TICKET_CONTENT_TYPE) => envelope
                .body_json()
                .map(Delivered::Ticket)
                .map_err(|error| unreadable(error.to_string())),
            other => Err(unreadable(format!(
                "content type {other:?} is neither a document nor a claim ticket: build messages \
                 with `Document::to_message` or `ClaimTicket::to_message`"
            ))),
        }
    }
}

/// Files `document` in [`ARCHIVE`] inside `tx` (an upsert: filing the same
/// document again changes nothing). It counts once `tx` commits.
pub async fn file(tx: &mut Tx, document: &Document) -> Result<(), ClaimError> {
    tx.upsert(ARCHIVE, &document.id, document.to_json()).await?;
    Ok(())
}

/// Whether `document_id` is filed in [`ARCHIVE`], as `tx` sees it.
pub async fn is_filed(tx: &mut Tx, document_id: &str) -> Result<bool, ClaimError> {
    Ok(tx.get(ARCHIVE, document_id).await?.is_some())
}

/// The documents of the day, scanned once per process: the graders run the
/// scenario hundreds of times, and generating a megabyte of text in a debug
/// build each time would cost more than the runs themselves. (The scanner
/// is the world, not a service: nothing here is state that a crash should
/// wipe.)
fn scans() -> &'static [Document] {
    static SCANS: OnceLock<Vec<Document>> = OnceLock::new();
    SCANS.get_or_init(|| {
        DOCUMENTS_OF_THE_DAY
            .iter()
            .map(|(id, title, size)| Document {
                id: (*id).to_owned(),
                title: (*title).to_owned(),
                content: Arc::from(scan(id, *size)),
            })
            .collect()
    })
}

/// `size` bytes of scan for document `id`: letters from a small generator
/// seeded by the id, so the same id always gives the same text and no two
/// documents share theirs.
fn scan(id: &str, size: usize) -> String {
    // FNV-1a of the id as the seed, then xorshift64: deterministic, no
    // dependency, and nothing a compressor can fold into 256 KB.
    let mut state = id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let alphabet_len = u64::try_from(alphabet.len()).unwrap_or(u64::MAX);
    (0..size)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let index = usize::try_from(state % alphabet_len).unwrap_or(0);
            char::from(alphabet[index])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_invoice_fits_in_a_basic_tier_message() {
        let fits: Vec<&str> = Document::of_the_day()
            .iter()
            .filter(|document| document.fits_in_a_message())
            .map(|document| document.id.as_str())
            .collect();
        assert_eq!(fits, ["invoice-1"]);
        for document in Document::of_the_day() {
            assert_eq!(
                document.fits_in_a_message(),
                document.to_message().size() <= TIER.max_message_size()
            );
        }
    }

    #[test]
    fn a_scan_is_the_same_every_time_and_differs_between_documents() {
        assert_eq!(Document::scanned("plan-3"), Document::scanned("plan-3"));
        let invoice = Document::scanned("invoice-1").map(|document| document.content);
        let contract = Document::scanned("contract-2").map(|document| document.content);
        assert_ne!(
            invoice.as_deref().map(|c| &c[..64]),
            contract.as_deref().map(|c| &c[..64])
        );
        assert_eq!(Document::scanned("unknown"), None);
    }

    /// `message` as the archive receives it, through a Basic-tier broker.
    async fn delivered(message: Message) -> Envelope {
        let broker = broker::Broker::with_tier(TIER);
        let received = async {
            broker.create_queue(DOCUMENTS, broker::QueueOptions::default())?;
            broker.client("test").send(DOCUMENTS, message).await?;
            broker.peek(DOCUMENTS)
        };
        match received.await.map(|mut envelopes| envelopes.pop()) {
            Ok(Some(envelope)) => envelope,
            other => panic!("the broker did not take the message: {other:?}"),
        }
    }

    #[test]
    fn a_document_reads_back_from_its_row_and_refuses_other_rows() {
        for document in Document::of_the_day() {
            let read = Document::from_json("row", &document.to_json()).ok();
            assert_eq!(read.as_ref(), Some(document));
        }
        assert!(Document::from_json("row", &json!({ "id": "x" })).is_err());
    }

    #[tokio::test]
    async fn a_document_and_a_ticket_read_back_from_their_messages() {
        let Some(invoice) = Document::scanned("invoice-1") else {
            panic!("invoice-1 is a document of the day");
        };
        let envelope = delivered(invoice.to_message()).await;
        assert_eq!(
            Delivered::from_envelope(&envelope).ok(),
            Some(Delivered::Document(invoice.clone()))
        );
        let ticket = ClaimTicket::new(&invoice, "key-1");
        let envelope = delivered(ticket.to_message()).await;
        assert_eq!(
            Delivered::from_envelope(&envelope).ok(),
            Some(Delivered::Ticket(ticket))
        );
        let other = delivered(Message::new("x", "{}")).await;
        assert!(Delivered::from_envelope(&other).is_err());
    }

    #[test]
    fn a_ticket_is_small_and_reads_back() {
        let Some(plan) = Document::scanned("plan-3") else {
            panic!("plan-3 is a document of the day");
        };
        let message = ClaimTicket::new(&plan, "plan-3").to_message();
        assert!(message.size() < 1024);
        assert_eq!(message.message_id(), "ticket:plan-3");
    }
}

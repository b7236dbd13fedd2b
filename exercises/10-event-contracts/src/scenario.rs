//! The world of the exercise, as one scenario. Do not edit.
//!
//! Nine `OrderPlaced` events wait on `order-events` when the shipping
//! service starts, published by the checkout team over a few releases:
//!
//! - three that keep the contract (one from a newer producer with a field
//!   this consumer does not know yet, one from an older producer without the
//!   optional `delivery_note`);
//! - six that break it, one or two of each kind the chapter names: a
//!   timestamp in local time (with no offset, and with the producer's
//!   offset), an id missing or blank, the total only in a header, and a
//!   partial event whose address was to follow in a later event.
//!
//! One service, `shipping`, receives them (peek-lock, the default), calls
//! [`crate::intake::handle`] for each delivery, and abandons the delivery
//! when `handle` returns an error, so the broker delivers it again (and
//! dead-letters it after ten deliveries). `handle` settles the delivery
//! itself otherwise: complete, or dead-letter.
//!
//! The run lasts 10 minutes of virtual time.

use std::time::Duration;

use broker::simulation::{Scenario, ServiceCtx};
use broker::{BrokerError, Delivery, Message, QueueOptions};
use serde_json::{Value, json};

use crate::IntakeError;
use crate::shipping::ORDER_EVENTS;

/// The service's name in traces.
pub const SHIPPING: &str = "shipping";

/// How an event breaks the contract, if it does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Keeps the contract.
    Good,
    /// `placed_at` in the producer's local time.
    LocalTime,
    /// No id, or a blank one.
    MissingId,
    /// `total_cents` only in an application property.
    HeaderOnly,
    /// Sent before the order was complete: the rest was to follow.
    Partial,
}

impl Kind {
    /// The kind in a report's words.
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Good => "a valid event",
            Kind::LocalTime => "a timestamp in local time",
            Kind::MissingId => "a missing id",
            Kind::HeaderOnly => "data only in a header",
            Kind::Partial => "a partial event",
        }
    }
}

/// One event on the queue, and what the grader knows about it.
#[derive(Clone, Debug)]
pub struct Sample {
    /// The message id the broker gave it.
    pub message_id: &'static str,
    /// The order it is about (the shipment's key).
    pub order_id: &'static str,
    /// Whether and how it breaks the contract.
    pub kind: Kind,
    /// The field at fault, which a dead letter's reason must name; empty
    /// for a good event.
    pub field: &'static str,
    /// What is wrong with it, for reports.
    pub flaw: &'static str,
    /// The total the shipment must carry (good events).
    pub total_cents: u64,
    /// The address the shipment must carry (good events).
    pub shipping_address: &'static str,
    /// The body.
    pub body: Value,
    /// Its application properties.
    pub properties: Vec<(&'static str, &'static str)>,
}

impl Sample {
    /// The message as the checkout team sent it.
    pub fn to_message(&self) -> Message {
        let mut message = Message::new(self.message_id, self.body.to_string())
            .with_content_type("application/json");
        for (name, value) in &self.properties {
            message = message.with_property(*name, *value);
        }
        message
    }
}

/// The events waiting when the service starts, in the order they arrive.
pub fn events() -> Vec<Sample> {
    let tracing = (
        "traceparent",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    );
    vec![
        Sample {
            message_id: "evt-1001",
            order_id: "order-1001",
            kind: Kind::Good,
            field: "",
            flaw: "",
            total_cents: 4_200,
            shipping_address: "12 Harbour Road, Leith",
            body: json!({
                "event_id": "evt-1001",
                "order_id": "order-1001",
                "total_cents": 4_200,
                "placed_at": "2026-03-29T00:30:00Z",
                "shipping_address": "12 Harbour Road, Leith",
                "delivery_note": "leave with the neighbour",
            }),
            properties: vec![tracing],
        },
        Sample {
            message_id: "evt-1002",
            order_id: "order-1002",
            kind: Kind::Good,
            field: "",
            flaw: "",
            total_cents: 1_850,
            shipping_address: "3 Mill Lane, Ghent",
            // A newer producer: a field this consumer does not know yet.
            body: json!({
                "event_id": "evt-1002",
                "order_id": "order-1002",
                "total_cents": 1_850,
                "placed_at": "2026-03-29T00:45:10Z",
                "shipping_address": "3 Mill Lane, Ghent",
                "delivery_note": null,
                "gift_wrap": true,
            }),
            properties: vec![tracing, ("schema", "order-placed/1.2")],
        },
        Sample {
            message_id: "evt-1003",
            order_id: "order-1003",
            kind: Kind::Good,
            field: "",
            flaw: "",
            total_cents: 990,
            shipping_address: "Kastanienallee 7, Berlin",
            // An older producer: no `delivery_note` at all.
            body: json!({
                "event_id": "evt-1003",
                "order_id": "order-1003",
                "total_cents": 990,
                "placed_at": "2026-03-29T01:05:00Z",
                "shipping_address": "Kastanienallee 7, Berlin",
            }),
            properties: vec![("schema", "order-placed/1.0")],
        },
        Sample {
            message_id: "evt-2001",
            order_id: "order-2001",
            kind: Kind::LocalTime,
            field: "placed_at",
            flaw: "`placed_at` is `2026-03-29T02:30:00`, a wall-clock time with no offset: \
                   in Berlin that night the clocks jumped from 02:00 to 03:00, so it names \
                   no instant at all there",
            total_cents: 3_100,
            shipping_address: "Oranienstraße 2, Berlin",
            body: json!({
                "event_id": "evt-2001",
                "order_id": "order-2001",
                "total_cents": 3_100,
                "placed_at": "2026-03-29T02:30:00",
                "shipping_address": "Oranienstraße 2, Berlin",
            }),
            properties: vec![tracing],
        },
        Sample {
            message_id: "evt-2002",
            order_id: "order-2002",
            kind: Kind::LocalTime,
            field: "placed_at",
            flaw: "`placed_at` is `2026-03-29T03:30:00+02:00`, the producer's local time: \
                   the contract says UTC",
            total_cents: 2_750,
            shipping_address: "Via Roma 40, Turin",
            body: json!({
                "event_id": "evt-2002",
                "order_id": "order-2002",
                "total_cents": 2_750,
                "placed_at": "2026-03-29T03:30:00+02:00",
                "shipping_address": "Via Roma 40, Turin",
            }),
            properties: vec![],
        },
        Sample {
            message_id: "msg-2003",
            order_id: "order-2003",
            kind: Kind::MissingId,
            field: "event_id",
            flaw: "the body has no `event_id`: only the broker's message id, which a \
                   resend of the same event does not keep",
            total_cents: 5_000,
            shipping_address: "1 Quay Street, Galway",
            body: json!({
                "order_id": "order-2003",
                "total_cents": 5_000,
                "placed_at": "2026-03-29T01:20:00Z",
                "shipping_address": "1 Quay Street, Galway",
            }),
            properties: vec![tracing],
        },
        Sample {
            message_id: "msg-2004",
            order_id: "order-2004",
            kind: Kind::MissingId,
            field: "event_id",
            flaw: "`event_id` is the empty string",
            total_cents: 1_200,
            shipping_address: "Rua Augusta 90, Lisbon",
            body: json!({
                "event_id": "",
                "order_id": "order-2004",
                "total_cents": 1_200,
                "placed_at": "2026-03-29T01:25:00Z",
                "shipping_address": "Rua Augusta 90, Lisbon",
            }),
            properties: vec![],
        },
        Sample {
            message_id: "evt-2005",
            order_id: "order-2005",
            kind: Kind::HeaderOnly,
            field: "total_cents",
            flaw: "the body has no `total_cents`: the producer put it only in an application \
                   property (a header), which a relay, a dead-letter replay or an archive \
                   can drop",
            total_cents: 6_400,
            shipping_address: "Nørrebrogade 5, Copenhagen",
            body: json!({
                "event_id": "evt-2005",
                "order_id": "order-2005",
                "placed_at": "2026-03-29T01:40:00Z",
                "shipping_address": "Nørrebrogade 5, Copenhagen",
            }),
            properties: vec![tracing, ("total_cents", "6400")],
        },
        Sample {
            message_id: "evt-2006",
            order_id: "order-2006",
            kind: Kind::Partial,
            field: "shipping_address",
            flaw: "`shipping_address` is null: the producer published the order before the \
                   customer had given an address, meaning to send it in a later event",
            total_cents: 7_300,
            shipping_address: "",
            body: json!({
                "event_id": "evt-2006",
                "order_id": "order-2006",
                "total_cents": 7_300,
                "placed_at": "2026-03-29T01:50:00Z",
                "shipping_address": null,
            }),
            properties: vec![tracing, ("part", "1 of 2")],
        },
    ]
}

/// The scenario the checks explore: your `handle`.
pub fn scenario() -> Scenario {
    scenario_running(crate::intake::handle)
}

/// The same world with another `handle` in it, so the grader's own tests
/// can prove each check catches the mistake it is named after.
pub fn scenario_running<H>(handle: H) -> Scenario
where
    H: AsyncFn(&ServiceCtx, &Delivery) -> Result<(), IntakeError> + Clone + Send + Sync + 'static,
{
    Scenario::new("event-contracts")
        .queue(ORDER_EVENTS, QueueOptions::default())
        .messages(ORDER_EVENTS, events().iter().map(Sample::to_message))
        .service(SHIPPING, move |ctx| serve(ctx, handle.clone()))
        .run_for(Duration::from_secs(10 * 60))
        .max_operations(5_000)
}

/// The service: receive an event, handle it, give it back on an error.
async fn serve<H>(ctx: ServiceCtx, handle: H) -> Result<(), BrokerError>
where
    H: AsyncFn(&ServiceCtx, &Delivery) -> Result<(), IntakeError>,
{
    loop {
        let delivery = ctx.receive(ORDER_EVENTS).await?;
        // The event's store statements carry its id in the trace.
        let handling = ctx.concerning(delivery.message_id());
        // `handle` settles a delivery it decided on; only a failure is
        // left to the service, which gives the delivery back.
        if let Err(_failed) = handle(&handling, &delivery).await {
            ctx.abandon(&delivery).await?;
        }
    }
}

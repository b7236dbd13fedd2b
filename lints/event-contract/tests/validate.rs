//! What `validate()` refuses at run time: what a deserialized event can
//! get wrong that its type cannot rule out.

use event_contract::{ContractError, Event, Problem};
use serde::Deserialize;

#[derive(Debug, Deserialize, Event)]
struct OrderPlaced {
    id: uuid::Uuid,
    #[event(required)]
    #[serde(default)]
    customer: Option<String>,
    #[event(required)]
    #[serde(default)]
    lines: Vec<String>,
    placed_at: chrono::DateTime<chrono::FixedOffset>,
    confirmed_at: Option<time::OffsetDateTime>,
}

#[derive(Debug, Deserialize, Event)]
struct OrderShipped {
    #[event(id)]
    shipment: String,
    #[event(required)]
    carrier: String,
}

fn order(json: &str) -> OrderPlaced {
    match serde_json::from_str(json) {
        Ok(order) => order,
        Err(error) => panic!("the test's JSON does not parse: {error}"),
    }
}

const GOOD: &str = r#"{
    "id": "6f1c2a52-3d0e-4d8b-9a57-0c7e8b1f2a10",
    "customer": "c-7",
    "lines": ["teapot"],
    "placed_at": "2026-03-29T00:30:00Z",
    "confirmed_at": null
}"#;

#[test]
fn a_complete_event_in_utc_passes() {
    let event = order(GOOD);
    assert_eq!(event.validate(), Ok(()));
    assert_eq!(
        event.id().to_string(),
        "6f1c2a52-3d0e-4d8b-9a57-0c7e8b1f2a10"
    );
    assert_eq!(OrderPlaced::ID_FIELD, "id");
}

#[test]
fn a_nil_uuid_is_a_blank_id() {
    let event = order(&GOOD.replace(
        "6f1c2a52-3d0e-4d8b-9a57-0c7e8b1f2a10",
        "00000000-0000-0000-0000-000000000000",
    ));
    assert_eq!(
        event.validate(),
        Err(ContractError {
            event: "OrderPlaced",
            problems: vec![Problem::BlankId { field: "id" }],
        })
    );
}

#[test]
fn required_fields_that_arrived_empty_are_each_named() {
    // A partial event: the producer sent what it had so far and meant to
    // send the rest later.
    let event = order(
        r#"{
            "id": "6f1c2a52-3d0e-4d8b-9a57-0c7e8b1f2a10",
            "placed_at": "2026-03-29T00:30:00Z"
        }"#,
    );
    let refused = event.validate().unwrap_err();
    assert_eq!(
        refused.problems,
        vec![
            Problem::Missing { field: "customer" },
            Problem::Missing { field: "lines" },
        ]
    );
    assert_eq!(
        refused.to_string(),
        "`OrderPlaced` breaks its contract: `customer` is missing: it is required, and the \
         event cannot be processed without it; `lines` is missing: it is required, and the \
         event cannot be processed without it"
    );
}

#[test]
fn a_timestamp_with_a_local_offset_is_refused_with_its_offset() {
    let event = order(&GOOD.replace("2026-03-29T00:30:00Z", "2026-03-29T02:30:00+02:00"));
    assert_eq!(
        event.validate().unwrap_err().to_string(),
        "`OrderPlaced` breaks its contract: `placed_at` is in local time (offset +02:00): send \
         it in UTC (offset +00:00)"
    );
}

#[test]
fn an_offset_inside_an_option_is_checked_too() {
    let mut event = order(GOOD);
    event.confirmed_at =
        Some(time::OffsetDateTime::UNIX_EPOCH.to_offset(time::macros::offset!(-5:30)));
    assert_eq!(
        event.validate().unwrap_err().problems,
        vec![Problem::NotUtc {
            field: "confirmed_at",
            offset_seconds: -19_800,
        }]
    );
}

#[test]
fn a_blank_string_id_and_a_blank_required_string_are_refused() {
    let event: OrderShipped = match serde_json::from_str(r#"{"shipment": " ", "carrier": ""}"#) {
        Ok(event) => event,
        Err(error) => panic!("the test's JSON does not parse: {error}"),
    };
    assert_eq!(
        event.validate().unwrap_err().problems,
        vec![
            Problem::BlankId { field: "shipment" },
            Problem::Missing { field: "carrier" },
        ]
    );
}

/// A producer that writes camelCase, and one field renamed on its own.
#[derive(Debug, Deserialize, Event)]
#[serde(rename_all = "camelCase")]
struct PaymentTaken {
    #[event(id)]
    payment_event_id: String,
    #[event(required)]
    #[serde(rename = "orderRef", default)]
    order_id: Option<String>,
    #[event(required)]
    #[serde(default)]
    card_holder: String,
    taken_at: chrono::DateTime<chrono::FixedOffset>,
}

#[test]
fn problems_name_fields_as_the_payload_does() {
    let event: PaymentTaken = match serde_json::from_str(
        r#"{"paymentEventId": "", "takenAt": "2026-03-29T03:30:00+02:00"}"#,
    ) {
        Ok(event) => event,
        Err(error) => panic!("the test's JSON does not parse: {error}"),
    };
    assert_eq!(PaymentTaken::ID_FIELD, "paymentEventId");
    assert_eq!(
        event.validate().unwrap_err().problems,
        vec![
            Problem::BlankId {
                field: "paymentEventId"
            },
            Problem::Missing { field: "orderRef" },
            Problem::Missing {
                field: "cardHolder"
            },
            Problem::NotUtc {
                field: "takenAt",
                offset_seconds: 7_200,
            },
        ]
    );
}

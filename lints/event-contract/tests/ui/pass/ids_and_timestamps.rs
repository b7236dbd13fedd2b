use event_contract::{Event, StableId};

// ANCHOR: contract
// A uuid named `id`, and timestamps that carry their offset.
#[derive(Event)]
struct OrderPlaced {
    id: uuid::Uuid,
    placed_at: chrono::DateTime<chrono::Utc>,
    confirmed_at: Option<time::OffsetDateTime>,
    // A date without a time is a business date, not an instant.
    delivery_day: chrono::NaiveDate,
}

// A string id derived from the business key, marked.
#[derive(Event)]
struct OrderShipped {
    #[event(id)]
    shipment: String,
    #[event(required)]
    tracking: Option<String>,
}
// ANCHOR_END: contract

// A newtype whose author declared it stable.
struct PaymentId(uuid::Uuid);

impl StableId for PaymentId {
    fn is_blank(&self) -> bool {
        self.0.is_nil()
    }
}

#[derive(Event)]
struct PaymentTaken {
    event_id: PaymentId,
    r#amount: u64,
}

// Generic events keep their bounds.
#[derive(Event)]
struct Wrapped<T: Clone> {
    id: String,
    body: T,
}

fn main() {
    assert_eq!(<OrderPlaced as Event>::ID_FIELD, "id");
    assert_eq!(<OrderShipped as Event>::ID_FIELD, "shipment");
    assert_eq!(<PaymentTaken as Event>::NAME, "PaymentTaken");
    let wrapped = Wrapped { id: "w-1".to_owned(), body: 3_u8 };
    assert_eq!(wrapped.id(), "w-1");
    assert!(wrapped.validate().is_ok());
}

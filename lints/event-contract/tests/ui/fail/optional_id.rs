use event_contract::Event;

#[derive(Event)]
struct OrderPlaced {
    id: Option<uuid::Uuid>,
    order_id: String,
}

fn main() {}

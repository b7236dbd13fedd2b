use event_contract::Event;

#[derive(Event)]
struct OrderPlaced {
    id: uuid::Uuid,
    #[event(mandatory)]
    order_id: String,
}

fn main() {}

use event_contract::Event;

#[derive(Event)]
struct OrderPlaced {
    id: uuid::Uuid,
    #[event(required)]
    total_cents: u64,
}

fn main() {}

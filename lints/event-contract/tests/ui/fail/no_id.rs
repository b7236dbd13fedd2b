use event_contract::Event;

#[derive(Event)]
struct OrderPlaced {
    order_id: String,
    total_cents: u64,
}

fn main() {}

use event_contract::Event;

#[derive(Event)]
struct OrderPlaced {
    id: u64,
    order_id: String,
}

fn main() {}

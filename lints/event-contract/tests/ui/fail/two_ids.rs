use event_contract::Event;

#[derive(Event)]
struct OrderPlaced {
    #[event(id)]
    event_id: String,
    #[event(id)]
    order_id: String,
}

fn main() {}

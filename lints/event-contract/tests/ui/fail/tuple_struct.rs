use event_contract::Event;

#[derive(Event)]
struct OrderPlaced(String, u64);

fn main() {}

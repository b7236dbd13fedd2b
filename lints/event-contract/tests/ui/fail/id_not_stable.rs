use event_contract::Event;

// A type the macro cannot judge by its name: the compiler asks whether it
// implements StableId, and it does not.
#[derive(Event)]
struct OrderPlaced {
    #[event(id)]
    key: Vec<u8>,
    order_id: String,
}

fn main() {}

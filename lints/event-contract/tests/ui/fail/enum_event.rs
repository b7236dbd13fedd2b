use event_contract::Event;

#[derive(Event)]
enum OrderEvent {
    Placed { id: uuid::Uuid },
    Cancelled { id: uuid::Uuid },
}

fn main() {}

use event_contract::Event;

#[derive(Event)]
struct OrderShipped {
    id: uuid::Uuid,
    shipped_at: time::PrimitiveDateTime,
}

fn main() {}

use chrono::{DateTime, Local};
use event_contract::Event;

#[derive(Event)]
struct OrderPlaced {
    id: uuid::Uuid,
    placed_at: DateTime<Local>,
}

fn main() {}

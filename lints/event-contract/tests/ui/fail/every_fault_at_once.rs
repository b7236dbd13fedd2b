use event_contract::Event;

// One build reports every field at fault, not one per build.
#[derive(Event)]
struct OrderPlaced {
    order_id: String,
    placed_at: chrono::DateTime<chrono::Local>,
    promised_for: chrono::NaiveDateTime,
}

fn main() {}

use event_contract::Event;

#[derive(Event)]
struct StockCounted {
    #[event(id)]
    counted_at: chrono::DateTime<chrono::Utc>,
    sku: String,
}

fn main() {}

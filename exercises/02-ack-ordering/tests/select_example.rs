//! The chapter's worked `tokio::select!` (examples/select_heartbeat.rs)
//! does what the chapter says: heartbeats at 20, 40 and 60 s while the
//! 75-second export runs, none after it finished, and the export's result.

#[path = "../examples/select_heartbeat.rs"]
#[allow(dead_code)] // its `main` is the example's, not this test's
mod select_heartbeat;

use std::time::Duration;

#[tokio::test(start_paused = true)]
async fn the_worked_select_sends_heartbeats_while_the_job_runs_and_stops_with_it() {
    let (rows, sent) = select_heartbeat::export_with_heartbeats().await;
    assert_eq!(rows, 12_000);
    assert_eq!(
        sent,
        [20, 40, 60].map(Duration::from_secs).to_vec(),
        "one heartbeat every 20 s while the export runs"
    );
}

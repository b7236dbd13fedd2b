//! A worked `tokio::select!`, for the chapter: keep telling someone you are
//! alive while a long job runs, in one task. The job here is an export and
//! the "I am alive" is a heartbeat to a watchdog; in the exercise they are
//! pricing and a lock renewal.
//!
//! `cargo run -p ack-ordering --example select_heartbeat` prints each
//! heartbeat with the virtual time it was sent at (the clock is tokio's
//! paused clock, so the 75 seconds take no real time);
//! `tests/select_example.rs` runs the same function and checks what it did.

use std::time::Duration;

use tokio::time::Instant;

/// How often the watchdog wants to hear from us.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(20);

/// A slow job: exporting a year of sales takes 75 seconds.
async fn export_sales() -> usize {
    tokio::time::sleep(Duration::from_secs(75)).await;
    12_000
}

/// Tells the watchdog we are still alive; returns when it has heard.
async fn heartbeat(started: Instant, sent: &mut Vec<Duration>) {
    sent.push(started.elapsed());
    println!("heartbeat at {:>2} s", started.elapsed().as_secs());
}

/// Runs the export, sending a heartbeat every [`HEARTBEAT_EVERY`] until it
/// is done; returns the rows exported and when each heartbeat went out.
pub async fn export_with_heartbeats() -> (usize, Vec<Duration>) {
    let started = Instant::now();
    let mut sent = Vec::new();
    // ANCHOR: select
    // The job is one future, created once and pinned, so that every turn of
    // the loop polls the same export instead of starting a new one.
    let export = export_sales();
    tokio::pin!(export);
    let rows = loop {
        tokio::select! {
            // Poll the branches in this order, so every run is the same.
            biased;
            // The export finished: leave the loop with its result.
            rows = &mut export => break rows,
            // A fresh timer on every turn: 20 s after the last heartbeat
            // (or the start), say we are alive, then wait again. A block,
            // ending in `;`: every branch must have the same type, `()`
            // here, whatever the call in it returns.
            () = tokio::time::sleep(HEARTBEAT_EVERY) => {
                heartbeat(started, &mut sent).await;
            }
        }
    };
    // ANCHOR_END: select
    println!("exported {rows} rows at {} s", started.elapsed().as_secs());
    (rows, sent)
}

fn main() -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()?;
    runtime.block_on(export_with_heartbeats());
    Ok(())
}

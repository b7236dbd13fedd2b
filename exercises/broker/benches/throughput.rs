//! `cargo bench -p broker`: how fast the broker and the simulation are, in one
//! run, on this machine.
//!
//! 1. Throughput: send → receive → complete through the broker, tracing on,
//!    against `tokio::sync::mpsc` moving the same messages; the ratio.
//!    (Target: at least 0.1× mpsc.)
//! 2. Exploration rate: runs per second of the crash demo's exploration.
//! 3. Every crash point of a 100-message scenario (target: under 1 s).
//! 4. A one-million-message dead-letter storm in virtual time: how long, and
//!    the peak memory of the process (target: under 1 GiB).
//!
//! A benchmark, not a test: it prints figures and asserts nothing, because
//! speed depends on the machine. `harness = false`: no extra crate needed.

use std::time::{Duration, Instant};

use broker::grading::{Check, invariants};
use broker::simulation::{Exploration, Scenario, ServiceCtx};
use broker::{Broker, BrokerError, Message, QueueOptions, ReceiveOptions};

const THROUGHPUT_MESSAGES: usize = 200_000;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime")
}

fn messages(count: usize) -> Vec<Message> {
    (0..count)
        .map(|n| Message::new(format!("m-{n}"), vec![7u8; 64]))
        .collect()
}

/// Messages per second through the broker: one producer task, one consumer
/// task, peek-lock, every message completed.
fn broker_throughput(count: usize) -> f64 {
    let runtime = runtime();
    let batch = messages(count);
    runtime.block_on(async move {
        let broker = Broker::new();
        broker
            .create_queue("bench", QueueOptions::default())
            .expect("a new queue");
        let producer = broker.client("producer");
        let consumer = broker.client("consumer");
        let started = Instant::now();
        let send = tokio::spawn(async move {
            for message in batch {
                producer.send("bench", message).await.expect("send");
            }
        });
        let receive = tokio::spawn(async move {
            for _ in 0..count {
                let delivery = consumer.receive("bench").await.expect("receive");
                consumer.complete(&delivery).await.expect("complete");
            }
        });
        send.await.expect("producer task");
        receive.await.expect("consumer task");
        let elapsed = started.elapsed();
        assert_eq!(broker.trace().len(), count * 3, "tracing was on");
        count as f64 / elapsed.as_secs_f64()
    })
}

/// Messages per second through a bounded tokio mpsc channel: the same
/// messages, the same two tasks.
fn mpsc_throughput(count: usize) -> f64 {
    let runtime = runtime();
    let batch = messages(count);
    runtime.block_on(async move {
        let (sender, mut receiver) = tokio::sync::mpsc::channel::<Message>(1024);
        let started = Instant::now();
        let send = tokio::spawn(async move {
            for message in batch {
                sender.send(message).await.expect("send");
            }
        });
        let receive = tokio::spawn(async move {
            for _ in 0..count {
                std::hint::black_box(receiver.recv().await.expect("receive"));
            }
        });
        send.await.expect("producer task");
        receive.await.expect("consumer task");
        count as f64 / started.elapsed().as_secs_f64()
    })
}

async fn correct_consumer(ctx: ServiceCtx) -> Result<(), BrokerError> {
    loop {
        let order = ctx.receive("orders").await?;
        ctx.send(
            "results",
            Message::new(format!("{}-result", order.message_id()), "ok")
                .with_correlation_id(order.message_id()),
        )
        .await?;
        ctx.complete(&order).await?;
    }
}

/// Every crash point of a scenario with `count` messages.
fn crash_points_of(count: usize) -> (usize, Duration, bool) {
    let scenario = Scenario::new("hundred")
        .queue("orders", QueueOptions::default())
        .queue(
            "results",
            QueueOptions::default().with_duplicate_detection(),
        )
        .messages(
            "orders",
            (0..count).map(|n| Message::new(format!("order-{n}"), "x")),
        )
        .service("consumer", correct_consumer);
    let check = Check::new("lost-message", 1)
        .scenario(scenario)
        .exploration(Exploration::every_crash_point())
        .invariant(invariants::no_lost_message(
            "orders",
            invariants::result_published_to("results"),
        ));
    let started = Instant::now();
    let report = check.run_with(None, None);
    (report.runs, started.elapsed(), report.passed)
}

/// The process's peak resident memory so far, from /proc (Linux only).
fn peak_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// A million messages, every one dead-lettered by a consumer whose
/// downstream is down, in virtual time, tracing on.
fn dead_letter_storm(count: usize) -> (Duration, Duration, usize) {
    let runtime = runtime();
    runtime.block_on(async move {
        let broker = Broker::new();
        broker
            .create_queue("orders", QueueOptions::default())
            .expect("a new queue");
        let client = broker.client("consumer");
        let started = Instant::now();
        let virtual_start = tokio::time::Instant::now();
        for n in 0..count {
            client
                .send("orders", Message::new(format!("order-{n}"), vec![1u8; 32]))
                .await
                .expect("send");
        }
        let options = ReceiveOptions::wait_at_most(Duration::ZERO);
        while let Some(delivery) = client
            .receive_with("orders", options)
            .await
            .expect("receive")
        {
            // One virtual millisecond of "calling the downstream that is down".
            tokio::time::sleep(Duration::from_millis(1)).await;
            client
                .dead_letter(
                    &delivery,
                    "DownstreamUnavailable",
                    "the payment API is down",
                )
                .await
                .expect("dead-letter");
        }
        let dead = broker
            .stats("orders")
            .expect("the queue exists")
            .dead_lettered;
        (started.elapsed(), virtual_start.elapsed(), dead)
    })
}

fn main() {
    // `cargo test --benches` runs this with `--bench` absent: keep it quick.
    let quick = !std::env::args().any(|arg| arg == "--bench");
    let scale = if quick { 100 } else { 1 };
    // `cargo bench -p broker -- storm` runs only the sections whose name
    // contains one of the words given: throughput, exploration, crash-points,
    // storm.
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with('-'))
        .collect();
    let wanted =
        |section: &str| filters.is_empty() || filters.iter().any(|f| section.contains(f.as_str()));

    println!(
        "broker benchmark{}",
        if quick {
            " (quick mode: cargo bench runs the full one)"
        } else {
            ""
        }
    );
    println!();

    if wanted("throughput") {
        throughput(THROUGHPUT_MESSAGES / scale);
    }
    if wanted("exploration") {
        exploration_rate(quick);
    }
    if wanted("crash-points") {
        hundred_messages();
    }
    if wanted("storm") {
        storm(1_000_000 / scale);
    }
}

fn throughput(count: usize) {
    // Warm up both, then measure each three times and keep the best.
    broker_throughput(count / 10);
    mpsc_throughput(count / 10);
    let broker_rate = (0..3).map(|_| broker_throughput(count)).fold(0.0, f64::max);
    let mpsc_rate = (0..3).map(|_| mpsc_throughput(count)).fold(0.0, f64::max);
    println!("send -> receive -> complete, {count} messages, tracing on:");
    println!("  broker:              {broker_rate:>12.0} messages/s");
    println!("  tokio::sync::mpsc:   {mpsc_rate:>12.0} messages/s");
    println!(
        "  ratio broker / mpsc: {:>12.3}x  (target: at least 0.1x)",
        broker_rate / mpsc_rate
    );
    println!();
}

fn exploration_rate(quick: bool) {
    let started = Instant::now();
    let mut runs = 0;
    let rounds = if quick { 1 } else { 20 };
    for _ in 0..rounds {
        runs += broker::demo::lost_message_check(broker::demo::naive_consumer)
            .run_with(None, None)
            .runs;
        runs += broker::demo::lost_message_check(broker::demo::correct_consumer)
            .run_with(None, None)
            .runs;
    }
    let elapsed = started.elapsed();
    println!("exploration rate (the crash demo, {runs} runs):");
    println!("  {:>12.0} runs/s", runs as f64 / elapsed.as_secs_f64());
    println!();
}

fn hundred_messages() {
    let (runs, elapsed, passed) = crash_points_of(100);
    println!("every crash point of a 100-message scenario:");
    println!(
        "  {runs} runs in {:.3} s ({}; target: under 1 s)",
        elapsed.as_secs_f64(),
        if passed { "all passed" } else { "SOME FAILED" }
    );
    println!();
}

fn storm(storm: usize) {
    let before = peak_memory_bytes();
    let (real, virtual_time, dead) = dead_letter_storm(storm);
    let after = peak_memory_bytes();
    println!("dead-letter storm, {storm} messages, tracing on:");
    println!(
        "  {dead} dead-lettered in {:.2} s of real time ({:.0} s of virtual time)",
        real.as_secs_f64(),
        virtual_time.as_secs_f64()
    );
    match (before, after) {
        (Some(before), Some(after)) => println!(
            "  peak memory of the process: {:.0} MiB (was {:.0} MiB before the storm; target: under 1024 MiB)",
            after as f64 / 1048576.0,
            before as f64 / 1048576.0
        ),
        _ => println!("  peak memory: not available on this platform"),
    }
}

//! The broker's bookkeeping under any sequence of client operations, checked
//! with proptest.
//!
//! A queue keeps indexes beside its messages (which are available, which
//! sessions are busy), and every settlement, expiry and timer must keep them
//! right. A slip there does not crash anything: a message just stops being
//! delivered, forever, which is the worst kind of bug a broker can have. So:
//! after any mix of sends (with sessions and time-to-live), receives in both
//! modes, settlements with live or stale locks, renewals, deferrals, dead
//! letters, resubmits and waits,
//!
//! 1. the counts ([`broker::Broker::stats`]) agree with the messages
//!    ([`broker::Broker::peek`]) after every step;
//! 2. once every lock has expired, nothing is locked, and every message that
//!    is not deferred can be received and completed: none is stuck.

use std::time::Duration;

use broker::{
    Broker, Client, Delivery, Message, QueueOptions, ReceiveMode, ReceiveOptions, dead_letter_path,
};
use proptest::prelude::*;

const QUEUE: &str = "q";

#[derive(Clone, Debug)]
enum Step {
    /// Message id, session, time-to-live in seconds.
    Send(u8, Option<u8>, Option<u16>),
    /// Which client; receive-and-delete or peek-lock.
    Receive(usize, bool),
    /// Settle or renew the n-th delivery received so far (its lock may be
    /// long gone: that is part of the test).
    Complete(usize),
    Abandon(usize),
    Defer(usize),
    DeadLetter(usize),
    Renew(usize),
    /// By sequence number.
    ReceiveDeferred(u64),
    Resubmit(u64),
    ReceiveDeadLetter(usize),
    Wait(u16),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (
            0u8..20,
            prop::option::of(0u8..3),
            prop::option::of(1u16..200)
        )
            .prop_map(|(id, session, ttl)| Step::Send(id, session, ttl)),
        (0usize..3, any::<bool>()).prop_map(|(client, delete)| Step::Receive(client, delete)),
        (0usize..8).prop_map(Step::Complete),
        (0usize..8).prop_map(Step::Abandon),
        (0usize..8).prop_map(Step::Defer),
        (0usize..8).prop_map(Step::DeadLetter),
        (0usize..8).prop_map(Step::Renew),
        (1u64..20).prop_map(Step::ReceiveDeferred),
        (1u64..20).prop_map(Step::Resubmit),
        (0usize..3).prop_map(Step::ReceiveDeadLetter),
        (1u16..120).prop_map(Step::Wait),
    ]
}

fn no_wait() -> ReceiveOptions {
    ReceiveOptions::wait_at_most(Duration::ZERO)
}

async fn perform(step: Step, sessions: bool, clients: &[Client], held: &mut Vec<Delivery>) {
    let settler = &clients[0];
    match step {
        Step::Send(id, session, ttl) => {
            let mut message = Message::new(format!("m-{id}"), "x");
            match (session, sessions) {
                (Some(session), _) => message = message.with_session_id(format!("s-{session}")),
                (None, true) => message = message.with_session_id("s-default"),
                (None, false) => {}
            }
            if let Some(ttl) = ttl {
                message = message.with_time_to_live(Duration::from_secs(u64::from(ttl)));
            }
            settler.send(QUEUE, message).await.expect("a valid send");
        }
        Step::Receive(client, delete) => {
            let mode = if delete {
                ReceiveMode::ReceiveAndDelete
            } else {
                ReceiveMode::PeekLock
            };
            let received = clients[client]
                .receive_with(QUEUE, no_wait().with_mode(mode))
                .await
                .expect("the queue exists");
            held.extend(received.filter(|_| !delete));
        }
        // Settling with a lost lock fails with LockLost: allowed, ignored.
        Step::Complete(n) => {
            if let Some(delivery) = held.get(n) {
                let _ = settler.complete(delivery).await;
            }
        }
        Step::Abandon(n) => {
            if let Some(delivery) = held.get(n) {
                let _ = settler.abandon(delivery).await;
            }
        }
        Step::Defer(n) => {
            if let Some(delivery) = held.get(n) {
                let _ = settler.defer(delivery).await;
            }
        }
        Step::DeadLetter(n) => {
            if let Some(delivery) = held.get(n) {
                let _ = settler.dead_letter(delivery, "test", "by the test").await;
            }
        }
        Step::Renew(n) => {
            if let Some(delivery) = held.get_mut(n) {
                let _ = settler.renew_lock(delivery).await;
            }
        }
        Step::ReceiveDeferred(sequence) => {
            if let Ok(delivery) = clients[1].receive_deferred(QUEUE, sequence).await {
                held.push(delivery);
            }
        }
        Step::Resubmit(sequence) => {
            let _ = clients[2].resubmit_dead_letter(QUEUE, sequence).await;
        }
        Step::ReceiveDeadLetter(client) => {
            let received = clients[client]
                .receive_with(&dead_letter_path(QUEUE), no_wait())
                .await
                .expect("the dead-letter queue exists");
            held.extend(received);
        }
        Step::Wait(seconds) => tokio::time::sleep(Duration::from_secs(u64::from(seconds))).await,
    }
}

fn check(sessions: bool, dead_letter_on_expiry: bool, steps: Vec<Step>) {
    // A paused clock: waits and lock expiries cost no real time.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a runtime");
    runtime.block_on(async move {
        let broker = Broker::new();
        let mut options = QueueOptions::default()
            .with_lock_duration(Duration::from_secs(30))
            .with_max_delivery_count(3)
            .with_duplicate_detection_window(Duration::from_secs(60));
        if sessions {
            options = options.with_sessions();
        }
        if dead_letter_on_expiry {
            options = options.with_dead_lettering_on_expiration();
        }
        broker.create_queue(QUEUE, options).expect("a new queue");
        let clients: Vec<Client> = (0..3).map(|n| broker.client(&format!("c-{n}"))).collect();
        let mut held = Vec::new();
        for step in steps {
            perform(step, sessions, &clients, &mut held).await;
            let stats = broker.stats(QUEUE).expect("the queue exists");
            assert_eq!(stats.unsettled(), broker.peek(QUEUE).expect("peek").len());
            let dead = broker.peek(&dead_letter_path(QUEUE)).expect("peek");
            assert_eq!(stats.dead_lettered, dead.len());
        }
        // Longer than any lock or time-to-live.
        tokio::time::sleep(Duration::from_secs(10_000)).await;
        let stats = broker.stats(QUEUE).expect("the queue exists");
        assert_eq!(stats.locked, 0, "{stats:?}");
        let drain = broker.client("drain");
        let mut drained = 0;
        while let Some(delivery) = drain.receive_with(QUEUE, no_wait()).await.expect("receive") {
            drain.complete(&delivery).await.expect("a fresh lock");
            drained += 1;
            assert!(drained < 1_000, "the queue never empties");
        }
        let stats = broker.stats(QUEUE).expect("the queue exists");
        assert_eq!(stats.unsettled(), stats.deferred, "stuck: {stats:?}");
    });
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn no_message_gets_stuck_and_the_counts_add_up(
        sessions in any::<bool>(),
        dead_letter_on_expiry in any::<bool>(),
        steps in prop::collection::vec(step(), 0..60),
    ) {
        check(sessions, dead_letter_on_expiry, steps);
    }
}

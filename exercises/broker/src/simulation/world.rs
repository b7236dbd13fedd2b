//! The world of one run: the broker, the store, the downstream systems, the
//! trace, the fault plan, and what the runtime knows about each service.
//!
//! Everything a crash must *not* erase lives here, outside the services:
//! that is the whole difference between durable state and a service's
//! memory.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::downstream::{DownstreamCall, DownstreamOptions};
use super::interleaving::Scheduler;
use super::runtime::RunOutcome;
use crate::broker::Broker;
use crate::clock::Clock;
use crate::fault::FaultPlan;
use crate::store::Store;
use crate::trace::Trace;

/// The name the trace and outages use for the broker as a whole.
pub(crate) const BROKER_TARGET: &str = "broker";
/// The name the trace and outages use for the store.
pub(crate) const STORE_TARGET: &str = "store";

#[derive(Debug)]
pub(crate) struct World {
    pub(crate) broker: Broker,
    pub(crate) store: Store,
    pub(crate) trace: Trace,
    pub(crate) clock: Clock,
    pub(crate) plan: FaultPlan,
    pub(crate) max_operations: u64,
    /// See [`super::Scenario::max_wakeups_without_operation`].
    pub(crate) max_wakeups_without_operation: u64,
    pub(crate) downstream_options: BTreeMap<String, DownstreamOptions>,
    /// Present in a run with a schedule: the gate every store statement
    /// passes (see `interleaving.rs`).
    pub(crate) scheduler: Option<Arc<Scheduler>>,
    state: Mutex<WorldState>,
    /// Woken when the run must stop early (a panic, too many operations).
    pub(crate) stop: Notify,
}

#[derive(Debug, Default)]
struct WorldState {
    next_operation: u64,
    /// Target → until when it is down (an injected outage).
    outages: BTreeMap<String, Instant>,
    services: BTreeMap<Arc<str>, ServiceStatus>,
    downstream_calls: Vec<DownstreamCall>,
    stop: Option<RunOutcome>,
}

/// What the runtime watches about one service, to tell a stuck service from
/// an idle one.
#[derive(Clone, Debug)]
pub(crate) struct ServiceStatus {
    /// The last time it started or finished an operation.
    pub(crate) last_activity: Instant,
    /// The operation it is in, if any, for the report.
    pub(crate) current: Option<String>,
    /// Waiting for a message or a change: idle, not stuck.
    pub(crate) waiting: bool,
    /// Returned for good.
    pub(crate) finished: bool,
}

impl World {
    pub(crate) fn new(
        broker: Broker,
        store: Store,
        trace: Trace,
        plan: FaultPlan,
        max_operations: u64,
        max_wakeups_without_operation: u64,
        downstream_options: BTreeMap<String, DownstreamOptions>,
    ) -> World {
        World {
            clock: broker.clock(),
            broker,
            store,
            trace,
            plan,
            max_operations,
            max_wakeups_without_operation,
            downstream_options,
            scheduler: None,
            state: Mutex::new(WorldState::default()),
            stop: Notify::new(),
        }
    }

    /// The same world, with store statements taking turns by `scheduler`.
    pub(crate) fn with_scheduler(mut self, scheduler: Option<Arc<Scheduler>>) -> World {
        self.scheduler = scheduler;
        self
    }

    /// Takes the next operation number, or `None` when the run has used up
    /// its operation budget (the caller then stops the run).
    pub(crate) fn next_operation(&self) -> Option<u64> {
        let mut state = self.state();
        if state.next_operation >= self.max_operations {
            return None;
        }
        let number = state.next_operation;
        state.next_operation += 1;
        Some(number)
    }

    /// How many operations were numbered so far.
    pub(crate) fn operations(&self) -> u64 {
        self.state().next_operation
    }

    /// Ends the run early with `outcome` (the first reason wins).
    pub(crate) fn stop_with(&self, outcome: RunOutcome) {
        let mut state = self.state();
        if state.stop.is_none() {
            state.stop = Some(outcome);
        }
        drop(state);
        self.stop.notify_one();
    }

    pub(crate) fn stopped(&self) -> Option<RunOutcome> {
        self.state().stop.clone()
    }

    /// Whether `target` is down now. Ends outages that are over (and brings
    /// the store back up when its outage ends).
    pub(crate) fn is_down(&self, target: &str, now: Instant) -> bool {
        let mut state = self.state();
        let ended: Vec<String> = state
            .outages
            .iter()
            .filter(|(_, until)| **until <= now)
            .map(|(name, _)| name.clone())
            .collect();
        for name in ended {
            state.outages.remove(&name);
            if name == STORE_TARGET {
                self.store.set_unavailable(false);
            }
        }
        state.outages.contains_key(target)
    }

    /// Takes `target` down for `duration` from now.
    pub(crate) fn start_outage(&self, target: &str, now: Instant, duration: Duration) {
        self.state()
            .outages
            .insert(target.to_owned(), now + duration);
        if target == STORE_TARGET {
            self.store.set_unavailable(true);
        }
    }

    pub(crate) fn register_service(&self, name: &Arc<str>) {
        self.state().services.insert(
            Arc::clone(name),
            ServiceStatus {
                last_activity: Instant::now(),
                current: None,
                waiting: false,
                finished: false,
            },
        );
    }

    pub(crate) fn update_service(&self, name: &str, update: impl FnOnce(&mut ServiceStatus)) {
        if let Some(status) = self.state().services.get_mut(name) {
            update(status);
        }
    }

    pub(crate) fn services(&self) -> BTreeMap<Arc<str>, ServiceStatus> {
        self.state().services.clone()
    }

    pub(crate) fn record_call(&self, call: DownstreamCall) {
        self.state().downstream_calls.push(call);
    }

    pub(crate) fn downstream_calls(&self) -> Vec<DownstreamCall> {
        self.state().downstream_calls.clone()
    }

    fn state(&self) -> MutexGuard<'_, WorldState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

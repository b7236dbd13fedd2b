//! Interleavings: who runs the next store statement, chosen by a schedule.
//!
//! A race such as the lost update needs two services' statements to
//! alternate in one particular order. The runtime's own order is fixed (one
//! thread, a paused clock), so a plain run shows one interleaving, always the
//! same. A run with a **schedule** instead stops every service at the door of
//! each store statement (a `get`, a write, a commit or rollback; not `begin`,
//! which reads nothing) and lets one through at a time, the one the schedule
//! names. [`super::explore_interleavings`] enumerates the schedules one by
//! one, depth first, until every interleaving has run once: an exhaustive
//! search, not a sample.
//!
//! How a choice is made:
//!
//! 1. a service reaching a store statement waits at the **gate**;
//! 2. the **scheduler** (a task of the run) waits until nothing else can
//!    move: it yields to the runtime until a whole round passes in which no
//!    service was polled. The services at the gate then are exactly the ones
//!    that could go next (the others wait for a row lock, a message or a
//!    timer);
//! 3. it sorts them by name and lets through the one at the schedule's next
//!    index (index 0 once the schedule is used up), and records the
//!    [`Decision`]: the services that could go, and which one did.
//!
//! Broker operations (receive, complete) are not gated: they run in the
//! runtime's order. The race this explores is over the store's rows.
//!
//! What "nothing else can move" counts: the polls of the services' own
//! tasks. A task a service spawned with `ServiceCtx::spawn` is not counted,
//! so a scenario whose spawned tasks make store statements may see the
//! scheduler choose before such a task reached the gate: its interleavings
//! are still real ones, but not necessarily all of them.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::Notify;

/// One choice point of a run: who could run a store statement next, and who did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The services waiting at the gate, sorted by name (a service with
    /// several statements waiting, from tasks it spawned, appears once per
    /// statement).
    pub enabled: Vec<Arc<str>>,
    /// The index in `enabled` of the one let through.
    pub chosen: usize,
}

impl Decision {
    /// The service let through.
    pub fn service(&self) -> &str {
        self.enabled.get(self.chosen).map_or("", |name| name)
    }
}

/// The schedule of a run, as the choices to make at each decision, written
/// `0.1.1.0` in replays. Choices past its end are 0.
pub type Schedule = Vec<usize>;

/// Formats a schedule the way [`parse_schedule`] reads it.
pub fn format_schedule(schedule: &[usize]) -> String {
    let parts: Vec<String> = schedule.iter().map(usize::to_string).collect();
    parts.join(".")
}

/// Reads `0.1.1.0` (an empty text is the empty schedule).
pub fn parse_schedule(text: &str) -> Option<Schedule> {
    if text.is_empty() {
        return Some(Vec::new());
    }
    text.split('.').map(|part| part.parse().ok()).collect()
}

/// The next schedule to try after a run that made `decisions`, depth first:
/// the last decision that has an untried alternative takes it, and
/// everything after it is left to the default. `None` when every
/// alternative has been tried.
pub fn next_schedule(decisions: &[Decision]) -> Option<Schedule> {
    let last_open = decisions
        .iter()
        .rposition(|decision| decision.chosen + 1 < decision.enabled.len())?;
    let mut schedule: Schedule = decisions[..last_open]
        .iter()
        .map(|decision| decision.chosen)
        .collect();
    schedule.push(decisions[last_open].chosen + 1);
    Some(schedule)
}

/// The gate and its keeper, for one run.
#[derive(Debug)]
pub(crate) struct Scheduler {
    schedule: Schedule,
    state: Mutex<GateState>,
    /// Woken when a statement arrives at the gate.
    arrived: Notify,
    /// Bumped on every poll of a service's task: a round of yields with no
    /// poll means every service is waiting.
    pub(crate) polls: AtomicU64,
}

#[derive(Debug, Default)]
struct GateState {
    /// Who waits, by arrival number: their service and their wake-up.
    waiting: BTreeMap<u64, (Arc<str>, Arc<Notify>)>,
    next_arrival: u64,
    decisions: Vec<Decision>,
}

/// The most yield rounds the scheduler waits for the services to settle. A
/// service that keeps being woken without reaching the gate (a spin) is
/// stopped by the runtime's wake-up limit long before this.
const MAX_SETTLE_ROUNDS: u32 = 10_000;

impl Scheduler {
    pub(crate) fn new(schedule: Schedule) -> Scheduler {
        Scheduler {
            schedule,
            state: Mutex::new(GateState::default()),
            arrived: Notify::new(),
            polls: AtomicU64::new(0),
        }
    }

    /// The decisions made so far.
    pub(crate) fn decisions(&self) -> Vec<Decision> {
        self.state().decisions.clone()
    }

    /// Waits at the gate until the scheduler lets `service` through.
    pub(crate) async fn gate(&self, service: &Arc<str>) {
        let wakeup = Arc::new(Notify::new());
        let arrival = {
            let mut state = self.state();
            let arrival = state.next_arrival;
            state.next_arrival += 1;
            state
                .waiting
                .insert(arrival, (Arc::clone(service), Arc::clone(&wakeup)));
            arrival
        };
        // A service that crashes at the gate leaves it (its future is dropped).
        let _leave = LeaveOnDrop {
            scheduler: self,
            arrival,
        };
        self.arrived.notify_one();
        wakeup.notified().await;
    }

    /// The scheduler's task: forever, once someone waits at the gate and
    /// everything else has settled, let the scheduled one through.
    pub(crate) async fn drive(self: Arc<Self>) {
        let mut step = 0;
        loop {
            while self.state().waiting.is_empty() {
                self.arrived.notified().await;
            }
            self.settle().await;
            let mut state = self.state();
            let mut candidates: Vec<(u64, Arc<str>, Arc<Notify>)> = state
                .waiting
                .iter()
                .map(|(arrival, (name, wakeup))| (*arrival, Arc::clone(name), Arc::clone(wakeup)))
                .collect();
            if candidates.is_empty() {
                continue;
            }
            // By name, then by arrival: the same order in every run.
            candidates.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
            let wanted = self.schedule.get(step).copied().unwrap_or(0);
            let chosen = wanted.min(candidates.len() - 1);
            let (arrival, _, wakeup) = &candidates[chosen];
            state.waiting.remove(arrival);
            state.decisions.push(Decision {
                enabled: candidates
                    .iter()
                    .map(|(_, name, _)| Arc::clone(name))
                    .collect(),
                chosen,
            });
            drop(state);
            step += 1;
            // `notify_one` keeps a permit if the service is not polling yet.
            wakeup.notify_one();
        }
    }

    /// Yields until a whole round passes with no service polled.
    async fn settle(&self) {
        for _ in 0..MAX_SETTLE_ROUNDS {
            let before = self.polls.load(Ordering::SeqCst);
            tokio::task::yield_now().await;
            if self.polls.load(Ordering::SeqCst) == before {
                return;
            }
        }
    }

    fn state(&self) -> MutexGuard<'_, GateState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

struct LeaveOnDrop<'a> {
    scheduler: &'a Scheduler,
    arrival: u64,
}

impl Drop for LeaveOnDrop<'_> {
    fn drop(&mut self) {
        self.scheduler.state().waiting.remove(&self.arrival);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(enabled: &[&str], chosen: usize) -> Decision {
        Decision {
            enabled: enabled.iter().map(|name| Arc::from(*name)).collect(),
            chosen,
        }
    }

    #[test]
    fn the_next_schedule_takes_the_last_untried_alternative() {
        let run = [
            decision(&["a", "b"], 0),
            decision(&["a", "b"], 0),
            decision(&["b"], 0),
        ];
        assert_eq!(next_schedule(&run), Some(vec![0, 1]));
        let run = [decision(&["a", "b"], 0), decision(&["a", "b"], 1)];
        assert_eq!(next_schedule(&run), Some(vec![1]));
        let run = [decision(&["a", "b"], 1), decision(&["a"], 0)];
        assert_eq!(next_schedule(&run), None);
        assert_eq!(next_schedule(&[]), None);
    }

    #[test]
    fn schedules_round_trip_as_text() {
        assert_eq!(format_schedule(&[0, 1, 1]), "0.1.1");
        assert_eq!(parse_schedule("0.1.1"), Some(vec![0, 1, 1]));
        assert_eq!(parse_schedule(""), Some(vec![]));
        assert_eq!(parse_schedule("0.x"), None);
    }
}

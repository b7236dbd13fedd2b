//! Faults: the two laws the whole course hangs on, made injectable.
//!
//! 1. *Your app will crash at the worst possible time.* A crash point sits
//!    before and after every broker and store operation a service makes.
//! 2. *The network is not reliable.* A request can fail, a reply can be lost
//!    after the work was done, a call can be slow, a message can arrive twice,
//!    a dependency can be down for a while.
//!
//! There is no separate "reorder" fault, because in production reordering is
//! a consequence, not an event, and it comes from the same places here: a
//! delayed send overtaken by another producer's ([`Fault::Delay`]), a
//! redelivery (abandon, an expired or lost lock, a crash) arriving after
//! later messages, competing consumers finishing out of order, a resubmitted
//! dead letter. An `out-of-order` check finds them by exploring crashes and
//! plans like any other anomaly.
//!
//! A [`FaultPlan`] says which fault hits which operation. Operations are
//! numbered in the order services start them in a run (the `#7` of a trace);
//! since a run is deterministic, the same plan hits the same operation every
//! time, so any failing run can be replayed from its plan. A plan has a text
//! form, printed in every report and accepted by `EDA_REPLAY`:
//!
//! ```
//! use broker::fault::{Fault, FaultPlan};
//! let plan: FaultPlan = "crash-after@7,delay-1500ms@9".parse().unwrap();
//! assert_eq!(plan.fault_at(7), Some(Fault::CrashAfter));
//! assert_eq!(plan.to_string(), "crash-after@7,delay-1500ms@9");
//! assert_eq!("none".parse::<FaultPlan>().unwrap(), FaultPlan::none());
//! ```

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// One fault, applied to one operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fault {
    /// The service crashes just before the operation: it never happens.
    CrashBefore,
    /// The operation happens, then the service crashes before it sees the
    /// result: the broker or store keeps the effect, the service's memory is
    /// gone.
    CrashAfter,
    /// The operation happens, but the reply is lost: the caller gets
    /// [`crate::BrokerError::Timeout`] (or [`crate::store::StoreError::Unavailable`]
    /// for a store operation) for something that was done.
    LostResponse,
    /// The request fails and nothing happens:
    /// [`crate::BrokerError::Unavailable`] or its store/downstream equivalent.
    Unavailable,
    /// The operation is held up this long before it happens. Delays on sends
    /// reorder messages between producers.
    Delay(Duration),
    /// On a receive: the message is delivered, but its lock is lost at once
    /// (the connection dropped), so it is delivered again to the next receive,
    /// and settling the first delivery fails with
    /// [`crate::BrokerError::LockLost`]. On other operations: no effect.
    DuplicateDelivery,
    /// The operation's target (the broker, the store or a downstream system)
    /// goes down for this long, starting with this operation, for every
    /// service.
    Outage(Duration),
}

impl Fault {
    /// Whether this fault is a crash.
    pub fn is_crash(self) -> bool {
        matches!(self, Fault::CrashBefore | Fault::CrashAfter)
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::CrashBefore => f.write_str("crash-before"),
            Fault::CrashAfter => f.write_str("crash-after"),
            Fault::LostResponse => f.write_str("lost-response"),
            Fault::Unavailable => f.write_str("unavailable"),
            Fault::Delay(d) => write!(f, "delay-{}ms", d.as_millis()),
            Fault::DuplicateDelivery => f.write_str("duplicate-delivery"),
            Fault::Outage(d) => write!(f, "outage-{}ms", d.as_millis()),
        }
    }
}

/// Why a fault plan's text could not be read.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum FaultPlanError {
    /// An entry is not `<fault>@<operation>`.
    #[error(
        "`{entry}` is not a planned fault: expected `<fault>@<operation number>`, e.g. `crash-after@7`"
    )]
    MalformedEntry {
        /// The entry.
        entry: String,
    },
    /// The fault's name is not one we know.
    #[error(
        "unknown fault `{name}`: expected crash-before, crash-after, lost-response, unavailable, delay-<n>ms, duplicate-delivery or outage-<n>ms"
    )]
    UnknownFault {
        /// The name.
        name: String,
    },
}

impl FromStr for Fault {
    type Err = FaultPlanError;
    fn from_str(s: &str) -> Result<Fault, FaultPlanError> {
        let unknown = || FaultPlanError::UnknownFault { name: s.to_owned() };
        let millis = |rest: &str| -> Result<Duration, FaultPlanError> {
            rest.strip_suffix("ms")
                .and_then(|n| n.parse::<u64>().ok())
                .map(Duration::from_millis)
                .ok_or_else(unknown)
        };
        Ok(match s {
            "crash-before" => Fault::CrashBefore,
            "crash-after" => Fault::CrashAfter,
            "lost-response" => Fault::LostResponse,
            "unavailable" => Fault::Unavailable,
            "duplicate-delivery" => Fault::DuplicateDelivery,
            _ => {
                if let Some(rest) = s.strip_prefix("delay-") {
                    Fault::Delay(millis(rest)?)
                } else if let Some(rest) = s.strip_prefix("outage-") {
                    Fault::Outage(millis(rest)?)
                } else {
                    return Err(unknown());
                }
            }
        })
    }
}

/// A fault aimed at one operation of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PlannedFault {
    /// The operation's number in the run (0-based, in the order services
    /// started their operations).
    pub operation: u64,
    /// What happens to it.
    pub fault: Fault,
}

/// Which faults hit which operations in one run. Empty means the happy path.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct FaultPlan {
    /// Sorted by operation, at most one fault per operation.
    faults: Vec<PlannedFault>,
}

impl FaultPlan {
    /// The plan with no faults.
    pub fn none() -> FaultPlan {
        FaultPlan::default()
    }

    /// A plan with one fault.
    pub fn single(operation: u64, fault: Fault) -> FaultPlan {
        FaultPlan::none().with(operation, fault)
    }

    /// This plan plus `fault` at `operation` (replacing any fault already
    /// planned there).
    pub fn with(mut self, operation: u64, fault: Fault) -> FaultPlan {
        self.faults.retain(|planned| planned.operation != operation);
        self.faults.push(PlannedFault { operation, fault });
        self.faults.sort();
        self
    }

    /// The fault planned for `operation`, if any.
    pub fn fault_at(&self, operation: u64) -> Option<Fault> {
        self.faults
            .binary_search_by_key(&operation, |planned| planned.operation)
            .ok()
            .map(|index| self.faults[index].fault)
    }

    /// The planned faults, by operation.
    pub fn faults(&self) -> &[PlannedFault] {
        &self.faults
    }

    /// Whether the plan has no faults.
    pub fn is_empty(&self) -> bool {
        self.faults.is_empty()
    }

    /// A random plan for a run of about `operations` operations: one to three
    /// faults of the `allowed` kinds at random operations. The same seed gives
    /// the same plan.
    pub fn random(seed: u64, operations: u64, allowed: &[FaultKind]) -> FaultPlan {
        let mut rng = SplitMix64::new(seed);
        let mut plan = FaultPlan::none();
        if allowed.is_empty() || operations == 0 {
            return plan;
        }
        let count = 1 + rng.below(3);
        for _ in 0..count {
            let operation = rng.below(operations);
            let kind = allowed[rng.below(allowed.len() as u64) as usize];
            plan = plan.with(operation, kind.instantiate(&mut rng));
        }
        plan
    }
}

impl fmt::Display for FaultPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.faults.is_empty() {
            return f.write_str("none");
        }
        for (index, planned) in self.faults.iter().enumerate() {
            if index > 0 {
                f.write_str(",")?;
            }
            write!(f, "{}@{}", planned.fault, planned.operation)?;
        }
        Ok(())
    }
}

impl FromStr for FaultPlan {
    type Err = FaultPlanError;
    fn from_str(s: &str) -> Result<FaultPlan, FaultPlanError> {
        let s = s.trim();
        let mut plan = FaultPlan::none();
        if s.is_empty() || s == "none" {
            return Ok(plan);
        }
        for entry in s.split(',') {
            let entry = entry.trim();
            let malformed = || FaultPlanError::MalformedEntry {
                entry: entry.to_owned(),
            };
            let (fault, operation) = entry.rsplit_once('@').ok_or_else(malformed)?;
            let operation = operation.parse::<u64>().map_err(|_| malformed())?;
            plan = plan.with(operation, fault.parse()?);
        }
        Ok(plan)
    }
}

/// The kinds of fault a random plan may draw from. Durations are drawn when
/// the plan is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FaultKind {
    /// [`Fault::CrashBefore`].
    CrashBefore,
    /// [`Fault::CrashAfter`].
    CrashAfter,
    /// [`Fault::LostResponse`].
    LostResponse,
    /// [`Fault::Unavailable`].
    Unavailable,
    /// [`Fault::Delay`] of 100 ms to 20 s.
    Delay,
    /// [`Fault::DuplicateDelivery`].
    DuplicateDelivery,
    /// [`Fault::Outage`] of 1 s to 2 min.
    Outage,
}

impl FaultKind {
    /// Every kind.
    pub const ALL: [FaultKind; 7] = [
        FaultKind::CrashBefore,
        FaultKind::CrashAfter,
        FaultKind::LostResponse,
        FaultKind::Unavailable,
        FaultKind::Delay,
        FaultKind::DuplicateDelivery,
        FaultKind::Outage,
    ];

    fn instantiate(self, rng: &mut SplitMix64) -> Fault {
        match self {
            FaultKind::CrashBefore => Fault::CrashBefore,
            FaultKind::CrashAfter => Fault::CrashAfter,
            FaultKind::LostResponse => Fault::LostResponse,
            FaultKind::Unavailable => Fault::Unavailable,
            FaultKind::Delay => Fault::Delay(Duration::from_millis(100 * (1 + rng.below(200)))),
            FaultKind::DuplicateDelivery => Fault::DuplicateDelivery,
            FaultKind::Outage => Fault::Outage(Duration::from_secs(1 + rng.below(120))),
        }
    }
}

/// A small, seedable random number generator (SplitMix64). Ours rather than
/// a crate's so that a seed means the same plan on every platform and every
/// version, forever: replay commands printed today must work next year.
#[derive(Clone, Debug)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (0 if `bound` is 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            0
        } else {
            self.next_u64() % bound
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_round_trip_through_text() {
        for seed in 0..200 {
            let plan = FaultPlan::random(seed, 50, &FaultKind::ALL);
            let text = plan.to_string();
            assert_eq!(text.parse::<FaultPlan>(), Ok(plan), "{text}");
        }
    }

    #[test]
    fn bad_plans_are_refused_with_a_reason() {
        assert!(matches!(
            "crash@x".parse::<FaultPlan>(),
            Err(FaultPlanError::MalformedEntry { .. })
        ));
        assert!(matches!(
            "explode@3".parse::<FaultPlan>(),
            Err(FaultPlanError::UnknownFault { .. })
        ));
    }

    #[test]
    fn the_same_seed_gives_the_same_plan() {
        assert_eq!(
            FaultPlan::random(42, 30, &FaultKind::ALL),
            FaultPlan::random(42, 30, &FaultKind::ALL)
        );
    }
}

//! Replaying one run: the `EDA_REPLAY` variable.
//!
//! Its value is `<check>:seed=<seed>:plan=<plan>`, e.g.
//! `lost-message:seed=0:plan=crash-after@4`, or for a run of an exploration
//! of interleavings `<check>:seed=0:plan=none:schedule=0.1.1` (who ran each
//! store statement, see [`crate::simulation::Schedule`]). A check whose name matches runs
//! only that run and prints its whole trace and mermaid diagram; other checks
//! ignore the variable.

use crate::fault::{FaultPlan, FaultPlanError};
use crate::simulation::{Schedule, format_schedule, parse_schedule};

/// A parsed `EDA_REPLAY` value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replay {
    /// The check it is for.
    pub check: String,
    /// The seed to record.
    pub seed: u64,
    /// The plan to run.
    pub plan: FaultPlan,
    /// The schedule, for a run of an exploration of interleavings.
    pub schedule: Option<Schedule>,
}

/// Why an `EDA_REPLAY` value could not be read.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ReplayError {
    /// Not `<check>:seed=<n>:plan=<plan>[:schedule=<choices>]`.
    #[error(
        "expected `<check>:seed=<number>:plan=<plan>` (and maybe `:schedule=<0.1.…>`), got `{0}`"
    )]
    Malformed(String),
    /// The plan part is not a plan.
    #[error(transparent)]
    Plan(#[from] FaultPlanError),
}

impl Replay {
    /// The text form.
    pub fn format(check: &str, seed: u64, plan: &FaultPlan) -> String {
        format!("{check}:seed={seed}:plan={plan}")
    }

    /// The text form of a run with a schedule.
    pub fn format_scheduled(
        check: &str,
        seed: u64,
        plan: &FaultPlan,
        schedule: &[usize],
    ) -> String {
        format!(
            "{}:schedule={}",
            Replay::format(check, seed, plan),
            format_schedule(schedule)
        )
    }

    /// Whether `text` is meant for `check`.
    pub fn names_check(text: &str, check: &str) -> bool {
        text.trim().split(':').next() == Some(check)
    }

    /// Reads the text form.
    pub fn parse(text: &str) -> Result<Replay, ReplayError> {
        let malformed = || ReplayError::Malformed(text.to_owned());
        let mut parts = text.trim().splitn(4, ':');
        let check = parts
            .next()
            .filter(|c| !c.is_empty())
            .ok_or_else(malformed)?;
        let seed = parts
            .next()
            .and_then(|part| part.strip_prefix("seed="))
            .and_then(|seed| seed.parse::<u64>().ok())
            .ok_or_else(malformed)?;
        let plan = parts
            .next()
            .and_then(|part| part.strip_prefix("plan="))
            .ok_or_else(malformed)?
            .parse()?;
        let schedule = match parts.next() {
            None => None,
            Some(part) => Some(
                part.strip_prefix("schedule=")
                    .and_then(parse_schedule)
                    .ok_or_else(malformed)?,
            ),
        };
        Ok(Replay {
            check: check.to_owned(),
            seed,
            plan,
            schedule,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replays_round_trip() {
        let plan: FaultPlan = "crash-after@4,lost-response@9".parse().unwrap();
        let text = Replay::format("lost-message", 17, &plan);
        assert_eq!(
            Replay::parse(&text),
            Ok(Replay {
                check: "lost-message".to_owned(),
                seed: 17,
                plan,
                schedule: None,
            })
        );
        let scheduled = Replay::format_scheduled("lost-update", 0, &FaultPlan::none(), &[0, 1, 1]);
        assert_eq!(
            Replay::parse(&scheduled).map(|replay| replay.schedule),
            Ok(Some(vec![0, 1, 1]))
        );
        assert!(Replay::parse("lost-update:seed=0:plan=none:schedule=0.x").is_err());
        assert!(Replay::names_check(&text, "lost-message"));
        assert!(!Replay::names_check(&text, "lost-update"));
        assert!(Replay::parse("lost-message:7").is_err());
    }
}

//! What a scenario saw, step by step: the evidence a disagreement prints.
//!
//! Times are counted from the start of the scenario with tokio's clock, so
//! our broker's trace shows virtual time (exact) and a real engine's shows
//! wall time (late by however long the machine took).

use std::fmt;

use tokio::time::Instant;

/// The steps of one run of a scenario.
#[derive(Clone, Debug)]
pub struct Trace {
    engine: String,
    started: Instant,
    steps: Vec<(u128, String)>,
}

impl Trace {
    /// An empty trace for `engine` (its name and version), starting now.
    pub fn new(engine: impl Into<String>) -> Trace {
        Trace {
            engine: engine.into(),
            started: Instant::now(),
            steps: Vec::new(),
        }
    }

    /// Records a step at the current time.
    pub fn step(&mut self, what: impl Into<String>) {
        let at = self.started.elapsed().as_millis();
        self.steps.push((at, what.into()));
    }

    /// The engine it ran on.
    pub fn engine(&self) -> &str {
        &self.engine
    }
}

impl fmt::Display for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "  on {}:", self.engine)?;
        for (at, what) in &self.steps {
            writeln!(f, "    {at:>6} ms  {what}")?;
        }
        Ok(())
    }
}

/// A scenario's outcome (what the claims are compared with) and its trace.
#[derive(Clone, Debug)]
pub struct Run<O> {
    /// What happened, in the scenario's own terms.
    pub outcome: O,
    /// How it happened.
    pub trace: Trace,
}

//! The options of `cargo xtask real`, in a file of their own with no
//! dependency but clap: the harness parses them, and `xtask` includes this
//! file (`#[path]`) so that its `--help` and its errors are the harness's own,
//! without linking the engines' clients.

use clap::Parser;

/// The default speed of the consumer's clock.
pub const DEFAULT_SPEED: u32 = 20;

/// Run your consumer (or the reference solution) against a real engine,
/// kill and restart it at chosen points, and judge what is left with the
/// exercise's anomaly names.
///
/// The consumer's clock runs `--speed` times faster than the wall clock, and
/// the engine's timers are scaled to match. Unlike the simulator, real mode
/// tries a handful of crash points (not every one), injects no lost replies
/// or outages, and cannot replay a run exactly: the engine's timing is real.
#[derive(Debug, Parser)]
pub struct Args {
    /// The exercise: `ack-ordering` or `idempotent-consumer`.
    pub exercise: String,
    /// The engine: `rabbitmq` or `nats`.
    #[arg(long, default_value = "nats")]
    pub engine: String,
    /// Run the reference solution instead of your file.
    #[arg(long)]
    pub solution: bool,
    /// Kill the consumer at this point of its first life: `after:N` (op N
    /// took effect, the consumer never learns it) or `before:N` (op N never
    /// happens). Repeat it for several runs. Replaces the default points.
    #[arg(long = "crash-at", value_name = "after:N|before:N")]
    pub crash_at: Vec<String>,
    /// Which crash points to try after the run without faults: `default`
    /// (after each operation on the first message, up to its settling),
    /// `all` (before and after every operation of that run), `none`.
    #[arg(long, default_value = "default", value_name = "default|all|none")]
    pub crash_points: String,
    /// Cut the consumer's engine connection just before operation N of its
    /// first life (it connects again), in every run.
    #[arg(long, value_name = "N")]
    pub disconnect_before: Option<u64>,
    /// How many times faster than the wall clock the consumer's clock runs.
    #[arg(long, default_value_t = DEFAULT_SPEED)]
    pub speed: u32,
    /// Print every event of every run as it happens: the consumer's
    /// operations, what the engine handed out, the kills and restarts.
    #[arg(long)]
    pub verbose: bool,
    /// Check the arguments and print the consumer binary to build, only
    /// (`cargo xtask real` builds it before the run).
    #[arg(long, hide = true)]
    pub validate_only: bool,
}

//! Engines shared by the tests of one binary, stopped when it exits.
//!
//! RabbitMQ takes tens of seconds to boot on a loaded machine, so each test
//! binary starts one engine and gives every test its own queues. A shared
//! engine lives in a `static`, and statics are never dropped: the
//! [`crate::server::Server`] handles are parked here instead, and an
//! `atexit` hook drops them (killing each engine's process group) when the
//! test harness exits, whether the tests passed or failed.

use std::sync::{Mutex, Once, PoisonError};

type Cleanup = Box<dyn FnOnce() + Send>;

static AT_EXIT: Mutex<Vec<Cleanup>> = Mutex::new(Vec::new());
static HOOK: Once = Once::new();

/// Runs `cleanup` when the process exits normally (the test harness calls
/// `exit` after the last test, failed or not). Cleanups run in the reverse
/// order of registration.
pub fn at_exit(cleanup: impl FnOnce() + Send + 'static) {
    HOOK.call_once(|| {
        // SAFETY: `run_at_exit` is a plain `extern "C" fn` with no
        // arguments; registering it has no other effect.
        let registered = unsafe { libc::atexit(run_at_exit) };
        if registered != 0 {
            eprintln!(
                "conformance: could not register the exit hook; engines may outlive this run"
            );
        }
    });
    AT_EXIT
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(Box::new(cleanup));
}

extern "C" fn run_at_exit() {
    let cleanups: Vec<Cleanup> = AT_EXIT
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .drain(..)
        .collect();
    // Last registered, first run: an engine registered after the helper it
    // started (RabbitMQ after its epmd) is stopped before that helper.
    for cleanup in cleanups.into_iter().rev() {
        // A panic must not unwind out of an `extern "C"` function.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(cleanup));
    }
}

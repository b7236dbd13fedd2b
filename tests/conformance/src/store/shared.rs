//! One engine per test binary, shared by its tests.
//!
//! Starting PostgreSQL means an `initdb` first (seconds on a loaded
//! machine), so each test binary starts each engine once and every test gets
//! its own database in it. The engine lives in a static, which Rust never
//! drops, so two things stop it: an `atexit` handler drops it (killing its
//! process group and removing its folder) when the test binary exits, and
//! the kernel kills it if the binary dies without exiting (its parent-death
//! signal, tied to the thread that started it, which never ends).

use std::sync::{Mutex, Once, PoisonError};

use crate::server::{Server, ServerError};

/// Every shared engine of this binary, stopped at exit.
static ENGINES: Mutex<Vec<Server>> = Mutex::new(Vec::new());
static STOP_AT_EXIT: Once = Once::new();

/// Runs `start` on a thread of its own that then lives as long as the
/// process (the engine's parent-death signal fires when that thread ends),
/// keeps the engine until exit, and returns its port.
pub(crate) fn start_shared<F>(name: &str, start: F) -> Result<u16, ServerError>
where
    F: FnOnce() -> Result<Server, ServerError> + Send + 'static,
{
    let started = std::time::Instant::now();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name(format!("conformance-{name}"))
        .spawn(move || {
            // The test is waiting on the receiver; if it is gone, so is the
            // test, and the engine is dropped (stopped) right here.
            let _ = sender.send(start());
            loop {
                std::thread::park();
            }
        })
        .map_err(|source| ServerError::Io {
            what: format!("a thread to start {name}"),
            source,
        })?;
    let server = receiver.recv().map_err(|_| ServerError::Io {
        what: format!("starting {name}"),
        source: std::io::Error::other("the starting thread panicked"),
    })??;
    let port = server.port();
    // Shown with --nocapture: the start is most of a binary's time.
    println!(
        "conformance: {name} started on port {port} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    ENGINES
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(server);
    STOP_AT_EXIT.call_once(|| {
        // SAFETY: registers a plain extern "C" function with no arguments;
        // it only drops what the static holds and never unwinds.
        unsafe {
            libc::atexit(stop_all);
        }
    });
    Ok(port)
}

extern "C" fn stop_all() {
    // Dropping a Server kills its process group and removes its folder. A
    // poisoned lock still holds the servers: take them all the same.
    let engines = std::mem::take(&mut *ENGINES.lock().unwrap_or_else(PoisonError::into_inner));
    drop(engines);
}

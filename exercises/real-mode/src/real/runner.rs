//! A consumer process: reads its [`RunnerConfig`], connects to the engine on
//! a thread of its own, and runs the learner's `run(ctx)` on the compressed
//! clock until it returns, or the harness kills it.
//!
//! Exit codes: 0 `run` returned `Ok`; 1 it returned an error; 2 no or bad
//! configuration (it is started by the harness, not by hand); 3 the
//! harness stopped reading; 4 a crash point nobody killed; 5 the engine
//! could not be reached; 101 a panic.

use std::collections::BTreeMap;
use std::future::Future;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use sim::simulation::ServiceResult;

use crate::real::clock::Clock;
use crate::real::config::{CONFIG_VAR, EngineKind, RunnerConfig};
use crate::real::ctx::{Inner, Job, ServiceCtx};
use crate::real::engine::Engine;
use crate::real::protocol::{Line, Out};

/// The `main` of a consumer binary: `real_mode::real::runner::main(consumer::run)`.
pub fn main<F, Fut, R>(run: F) -> ExitCode
where
    F: FnOnce(ServiceCtx) -> Fut,
    Fut: Future<Output = R>,
    R: ServiceResult,
{
    let config = match std::env::var(CONFIG_VAR)
        .map_err(|error| error.to_string())
        .and_then(|text| {
            serde_json::from_str::<RunnerConfig>(&text).map_err(|error| error.to_string())
        }) {
        Ok(config) => config,
        Err(error) => {
            eprintln!(
                "this is a real-mode consumer, started by `cargo xtask real`, not by hand \
                 ({CONFIG_VAR}: {error})"
            );
            return ExitCode::from(2);
        }
    };
    let out = Out::default();
    let jobs = match start_engine(&config, out.clone()) {
        Ok(jobs) => jobs,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(5);
        }
    };
    let downstream_log = match std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&config.downstream_log)
    {
        Ok(file) => file,
        Err(error) => {
            eprintln!(
                "cannot open the downstream call log {}: {error}",
                config.downstream_log.display()
            );
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start the consumer's runtime: {error}");
            return ExitCode::from(5);
        }
    };
    let local = tokio::task::LocalSet::new();
    let result = local.block_on(&runtime, async move {
        let clock = Clock::start(config.speed, config.consumer_utc_now());
        let locks: BTreeMap<String, Option<std::time::Duration>> = config
            .queues
            .iter()
            .map(|queue| {
                let lock = match config.engine {
                    EngineKind::Nats => Some(queue.lock),
                    EngineKind::Rabbitmq => None,
                };
                (queue.name.clone(), lock)
            })
            .collect();
        let ctx = ServiceCtx::new(Inner {
            name: config.service.clone(),
            jobs,
            out: out.clone(),
            clock,
            operations: Default::default(),
            crash: config.crash,
            disconnect_before: config.disconnect_before,
            locks,
            downstream: config
                .downstream
                .iter()
                .map(|system| (system.name.clone(), system.latency))
                .collect(),
            downstream_log: Mutex::new(downstream_log),
        });
        out.line(&Line::Start {
            service: config.service.clone(),
        });
        let result = run(ctx).await.into_result();
        out.line(&Line::Exit(result.clone()));
        result
    });
    // The ticker's blocking thread would keep the runtime's shutdown
    // waiting for ever: leave at once.
    std::process::exit(if result.is_ok() { 0 } else { 1 })
}

/// Connects on the engine's own thread (real clock) and returns where to
/// send it jobs.
fn start_engine(
    config: &RunnerConfig,
    out: Out,
) -> Result<tokio::sync::mpsc::UnboundedSender<Job>, String> {
    let (jobs, mut incoming) = tokio::sync::mpsc::unbounded_channel::<Job>();
    let (ready, connected) = std::sync::mpsc::channel::<Result<(), String>>();
    let config = config.clone();
    std::thread::Builder::new()
        .name("engine".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(error) => {
                    let _ = ready.send(Err(error.to_string()));
                    return;
                }
            };
            let local = tokio::task::LocalSet::new();
            local.block_on(&runtime, async move {
                let engine = match Engine::connect(
                    config.engine,
                    &config.url,
                    config.queues.clone(),
                    config.speed,
                    Some(out),
                )
                .await
                {
                    Ok(engine) => Arc::new(engine),
                    Err(error) => {
                        let _ = ready.send(Err(error.to_string()));
                        return;
                    }
                };
                let _ = ready.send(Ok(()));
                while let Some(job) = incoming.recv().await {
                    tokio::task::spawn_local(job(Arc::clone(&engine)));
                }
            });
        })
        .map_err(|error| format!("cannot start the engine's thread: {error}"))?;
    connected
        .recv()
        .map_err(|_| "the engine's thread stopped while connecting".to_owned())??;
    Ok(jobs)
}

//! Starting RabbitMQ and NATS JetStream for a test or a real-mode run: each
//! on free loopback ports, with its data, configuration and logs in its own
//! temporary folder, stopped (its whole process group) when dropped. Built on
//! [`crate::server`].

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::server::{self, Server, ServerError};

/// RabbitMQ's server script. Debian's `/usr/sbin/rabbitmq-server` is a
/// wrapper that switches to the `rabbitmq` user; the script it wraps runs as
/// whoever starts it, which a test needs.
const RABBITMQ_SCRIPT_DIR: &str = "/usr/lib/rabbitmq/bin";

/// A started engine and the version it reported.
#[derive(Debug)]
pub struct Engine {
    /// The running server; dropping it stops the engine.
    pub server: Server,
    /// `RabbitMQ 3.10.8`, `nats-server v2.9.10`.
    pub version: String,
    /// Where a client connects: `amqp://127.0.0.1:PORT/%2f`, `127.0.0.1:PORT`.
    pub url: String,
}

/// Whether RabbitMQ is installed (without starting it).
pub fn rabbitmq_binary() -> Result<PathBuf, ServerError> {
    server::find_binary(
        "rabbitmq-server",
        "rabbitmq-server",
        &[PathBuf::from(RABBITMQ_SCRIPT_DIR)],
    )
    .map(|found| {
        // Prefer the unwrapped script when both are there.
        let script = PathBuf::from(RABBITMQ_SCRIPT_DIR).join("rabbitmq-server");
        if script.is_file() { script } else { found }
    })
}

/// Whether NATS is installed.
pub fn nats_binary() -> Result<PathBuf, ServerError> {
    server::find_binary("nats-server", "nats-server", &[])
}

/// Starts RabbitMQ with `consumer_timeout` set (RabbitMQ's own default is
/// 30 minutes), no plugins, and the guest user allowed from loopback.
/// RabbitMQ takes several seconds to boot.
pub fn rabbitmq(consumer_timeout: Duration) -> Result<Engine, ServerError> {
    let binary = rabbitmq_binary()?;
    let port = server::free_port()?;
    let dist_port = server::free_port()?;
    let dir = Server::data_dir("rabbitmq")?;
    let base = dir.path().to_path_buf();
    let write = |name: &str, text: String| {
        std::fs::write(base.join(name), text).map_err(|source| ServerError::Io {
            what: format!("writing RabbitMQ's {name}"),
            source,
        })
    };
    write(
        "rabbitmq.conf",
        format!(
            "listeners.tcp.1 = 127.0.0.1:{port}\nloopback_users = none\nconsumer_timeout = {}\n",
            consumer_timeout.as_millis()
        ),
    )?;
    write("enabled_plugins", "[].\n".to_owned())?;
    let mut command = Command::new(binary);
    command
        .env("HOME", &base)
        .env("RABBITMQ_NODENAME", format!("real{port}@localhost"))
        .env("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1")
        .env("RABBITMQ_NODE_PORT", port.to_string())
        .env("RABBITMQ_DIST_PORT", dist_port.to_string())
        .env("RABBITMQ_BASE", &base)
        .env("RABBITMQ_MNESIA_BASE", base.join("mnesia"))
        .env("RABBITMQ_LOG_BASE", base.join("log"))
        .env("RABBITMQ_CONFIG_FILE", base.join("rabbitmq"))
        .env(
            "RABBITMQ_ENABLED_PLUGINS_FILE",
            base.join("enabled_plugins"),
        )
        .env("RABBITMQ_PID_FILE", base.join("rabbitmq.pid"));
    let server = Server::start("rabbitmq", command, port, dir, Duration::from_secs(90))?;
    let version = server
        .log_tail()
        .lines()
        .find_map(|line| {
            let at = line.find("RabbitMQ ")?;
            let version = line[at + "RabbitMQ ".len()..].split_whitespace().next()?;
            version
                .starts_with(|c: char| c.is_ascii_digit())
                .then(|| format!("RabbitMQ {version}"))
        })
        .unwrap_or_else(|| "RabbitMQ (version not reported)".to_owned());
    Ok(Engine {
        url: format!("amqp://guest:guest@127.0.0.1:{port}/%2f"),
        server,
        version,
    })
}

/// Starts `nats-server` with JetStream, its store in the temporary folder.
pub fn nats() -> Result<Engine, ServerError> {
    let binary = nats_binary()?;
    let version = server::version(&binary, &["--version"])?;
    let port = server::free_port()?;
    let dir = Server::data_dir("nats")?;
    let mut command = Command::new(binary);
    command
        .arg("-js")
        .args(["-a", "127.0.0.1"])
        .args(["-p", &port.to_string()])
        .arg("-sd")
        .arg(dir.path().join("jetstream"));
    let server = Server::start("nats", command, port, dir, Duration::from_secs(20))?;
    Ok(Engine {
        url: format!("127.0.0.1:{port}"),
        server,
        version,
    })
}

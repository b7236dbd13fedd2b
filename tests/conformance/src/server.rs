//! Real engines as child processes: one per test, on a free loopback port,
//! with their data in a temporary folder that goes away with them.
//!
//! An engine that is not installed is an error in CI (`CI` set: `.ci/run`
//! installs every engine, so a missing one is a broken install step) and a
//! loud skip on a developer's machine, never a silent pass.

use std::collections::BTreeSet;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Why an engine could not be started.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The engine's binary is not installed.
    #[error("{binary} is not installed (install it with `apt-get install -y {package}`)")]
    Missing {
        /// The binary looked for.
        binary: String,
        /// The Debian package that ships it.
        package: String,
    },
    /// Starting the process, or its folder, failed.
    #[error("starting {what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The engine did not accept connections in time.
    #[error("{name} did not listen on 127.0.0.1:{port} within {waited:?}; its log:\n{log}")]
    NotReady {
        /// The engine.
        name: String,
        /// The port it was given.
        port: u16,
        /// How long we waited.
        waited: Duration,
        /// The tail of its log.
        log: String,
    },
    /// The engine exited while starting.
    #[error("{name} exited while starting ({status}); its log:\n{log}")]
    Exited {
        /// The engine.
        name: String,
        /// Its exit status.
        status: std::process::ExitStatus,
        /// The tail of its log.
        log: String,
    },
}

fn io_error(what: impl Into<String>) -> impl FnOnce(io::Error) -> ServerError {
    let what = what.into();
    move |source| ServerError::Io { what, source }
}

/// Finds `binary` on `PATH` or in one of `extra_dirs` (PostgreSQL's server
/// binaries live under `/usr/lib/postgresql/<major>/bin`, off the path).
pub fn find_binary(
    binary: &str,
    package: &str,
    extra_dirs: &[PathBuf],
) -> Result<PathBuf, ServerError> {
    let path_dirs = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    path_dirs
        .iter()
        .chain(extra_dirs)
        .chain(
            [
                PathBuf::from("/usr/sbin"),
                PathBuf::from("/usr/lib/rabbitmq/bin"),
            ]
            .iter(),
        )
        .map(|dir| dir.join(binary))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| ServerError::Missing {
            binary: binary.to_owned(),
            package: package.to_owned(),
        })
}

/// Whether a missing engine fails the test (in CI) or skips it with a
/// message (on a developer's machine). Returns the binary when present.
///
/// # Panics
///
/// In CI (`CI` set to anything but `false`), when the engine is missing.
pub fn require(binary: &str, package: &str, extra_dirs: &[PathBuf]) -> Option<PathBuf> {
    match find_binary(binary, package, extra_dirs) {
        Ok(path) => Some(path),
        Err(error) => {
            let in_ci = std::env::var("CI").is_ok_and(|value| value != "false");
            assert!(!in_ci, "conformance: {error}; CI must install every engine");
            eprintln!("conformance: SKIPPED, {error}");
            None
        }
    }
}

/// A loopback port nobody listens on right now, and one this process has
/// not handed out before. The OS picks it; there is a small window before
/// the engine binds it, which is why [`Server::start`] checks that the engine
/// itself came up on it.
///
/// Linux often hands a port that was just released straight back to the next
/// `bind(0)`, so two calls in a row (RabbitMQ needs three ports) or two tests
/// running at once could otherwise be given the same port. Every port handed
/// out is remembered, and the listeners of refused picks are held until a new
/// one comes up, so that the kernel cannot offer them again.
pub fn free_port() -> Result<u16, ServerError> {
    static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    let mut held = Vec::new();
    for _ in 0..256 {
        let listener =
            TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(io_error("binding a free port"))?;
        let port = listener
            .local_addr()
            .map_err(io_error("reading the free port"))?
            .port();
        let mut handed_out = HANDED_OUT
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if handed_out.insert(port) {
            return Ok(port);
        }
        held.push(listener);
    }
    Err(io_error("binding a free port")(io::Error::new(
        io::ErrorKind::AddrInUse,
        "256 picks in a row were ports this process had already handed out",
    )))
}

/// A running engine. Dropping it kills the engine's whole process group
/// (RabbitMQ, for one, runs several processes) and removes its folder.
#[derive(Debug)]
pub struct Server {
    name: String,
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
    log: PathBuf,
}

impl Server {
    /// A fresh temporary folder for an engine's data, made before the
    /// engine starts (some engines need it initialised first, as PostgreSQL
    /// does with `initdb`).
    pub fn data_dir(name: &str) -> Result<tempfile::TempDir, ServerError> {
        tempfile::Builder::new()
            .prefix(&format!("conformance-{name}-"))
            .tempdir()
            .map_err(io_error(format!("a data folder for {name}")))
    }

    /// Starts `command` (already given its port and folders) in its own
    /// process group, with its output in `dir/server.log`, and waits until
    /// `port` accepts TCP connections.
    pub fn start(
        name: &str,
        mut command: Command,
        port: u16,
        dir: tempfile::TempDir,
        ready_within: Duration,
    ) -> Result<Server, ServerError> {
        let log = dir.path().join("server.log");
        let out = std::fs::File::create(&log).map_err(io_error(format!("{name}'s log")))?;
        let err = out.try_clone().map_err(io_error(format!("{name}'s log")))?;
        command
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            // Its own group, so that Drop can kill every process it forks.
            .process_group(0);
        let child = command
            .spawn()
            .map_err(io_error(format!("{name} ({command:?})")))?;
        let mut server = Server {
            name: name.to_owned(),
            child,
            port,
            dir,
            log,
        };
        server.wait_until_listening(ready_within)?;
        Ok(server)
    }

    fn wait_until_listening(&mut self, within: Duration) -> Result<(), ServerError> {
        let started = Instant::now();
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        loop {
            // An engine that has exited is never ready, even if something
            // else happens to answer on its port.
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(ServerError::Exited {
                    name: self.name.clone(),
                    status,
                    log: self.log_tail(),
                });
            }
            if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if started.elapsed() > within {
                return Err(ServerError::NotReady {
                    name: self.name.clone(),
                    port: self.port,
                    waited: within,
                    log: self.log_tail(),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The loopback port the engine listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The engine's data folder.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The last 40 lines of the engine's output, for failure messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// The process id of the engine's first process (its group leader).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // The group id is the leader's pid (process_group(0) above).
        if let Ok(group) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: kill(2) with a negative pid signals the process group we
            // created; it touches no memory of ours.
            unsafe {
                libc::kill(-group, libc::SIGKILL);
            }
        }
        let _ = self.child.wait();
    }
}

/// The version an engine reports, for the suite's record and the book's
/// "checked against" column: the first line of `binary args...`.
pub fn version(binary: &Path, args: &[&str]) -> Result<String, ServerError> {
    let output = Command::new(binary)
        .args(args)
        .output()
        .map_err(io_error(format!("{} {}", binary.display(), args.join(" "))))?;
    let text = if output.stdout.is_empty() {
        output.stderr
    } else {
        output.stdout
    };
    Ok(String::from_utf8_lossy(&text)
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned())
}

/// Makes `command` run as the system user `user` when the tests run as root,
/// and hands it `paths` (its data folder): PostgreSQL and MariaDB refuse to
/// run as root, and CI runs as root. As anyone else the command runs as
/// ourselves, unchanged. Returns the user it will run as, for messages.
pub fn run_as_when_root(
    command: &mut Command,
    user: &str,
    paths: &[&Path],
) -> Result<String, ServerError> {
    // SAFETY: geteuid(2) cannot fail and touches no memory.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(std::env::var("USER").unwrap_or_else(|_| "the current user".to_owned()));
    }
    let (uid, gid) = system_user(user)?;
    for path in paths {
        std::os::unix::fs::chown(path, Some(uid), Some(gid))
            .map_err(io_error(format!("handing {} to {user}", path.display())))?;
    }
    // std drops the supplementary groups (setgroups) when root sets a uid.
    command.uid(uid).gid(gid);
    Ok(user.to_owned())
}

/// The uid and gid of a system user (`postgres`, `mysql`: the Debian
/// packages create them).
fn system_user(user: &str) -> Result<(u32, u32), ServerError> {
    let missing = || ServerError::Io {
        what: format!("looking up the system user {user}"),
        source: io::Error::new(
            io::ErrorKind::NotFound,
            "no such user: the engine's Debian package creates it",
        ),
    };
    let name = std::ffi::CString::new(user).map_err(|_| missing())?;
    // SAFETY: getpwnam(3) reads a NUL-terminated name and returns a pointer
    // to static storage or null; we copy the two ids out at once, and the
    // tests call it only while starting an engine.
    let entry = unsafe { libc::getpwnam(name.as_ptr()) };
    if entry.is_null() {
        return Err(missing());
    }
    // SAFETY: non-null, so it points at a valid passwd record.
    let (uid, gid) = unsafe { ((*entry).pw_uid, (*entry).pw_gid) };
    Ok((uid, gid))
}

/// Makes the kernel kill `command`'s process when the thread that starts it
/// exits (Linux's parent-death signal). An engine shared by every test of a
/// binary lives in a static, which Rust never drops: this is what stops it
/// when the test binary ends, even when it is killed.
pub fn die_with_parent(command: &mut Command) {
    // SAFETY: the closure runs in the forked child before exec and only calls
    // prctl(2), which is async-signal-safe. It runs after the child changed
    // its uid (which would have cleared the setting).
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

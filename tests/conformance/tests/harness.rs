//! The harness itself: a server that never listens is reported with its log,
//! one that exits is reported as exited, and dropping a server kills its
//! whole process group.

use std::process::Command;
use std::time::Duration;

use conformance::server::{Server, ServerError, free_port};

#[test]
fn an_engine_that_exits_while_starting_is_reported_with_its_log() {
    let dir = Server::data_dir("exits").expect("a temporary folder");
    let mut command = Command::new("sh");
    command.args(["-c", "echo bad config; exit 3"]);
    let port = free_port().expect("a free port");
    let error = Server::start("exits", command, port, dir, Duration::from_secs(5))
        .expect_err("the engine exited");
    match error {
        ServerError::Exited { log, .. } => assert!(log.contains("bad config"), "{log}"),
        other => panic!("expected Exited, got {other}"),
    }
}

#[test]
fn free_ports_are_never_handed_out_twice() {
    let ports: Vec<u16> = (0..64).map(|_| free_port().expect("a free port")).collect();
    let distinct: std::collections::BTreeSet<u16> = ports.iter().copied().collect();
    assert_eq!(distinct.len(), ports.len(), "{ports:?}");
}

#[test]
fn an_engine_that_never_listens_times_out() {
    let dir = Server::data_dir("silent").expect("a temporary folder");
    let mut command = Command::new("sleep");
    command.arg("30");
    let port = free_port().expect("a free port");
    let error = Server::start("silent", command, port, dir, Duration::from_millis(300))
        .expect_err("nothing listens");
    assert!(matches!(error, ServerError::NotReady { .. }), "{error}");
}

#[test]
fn dropping_a_server_kills_its_process_group() {
    // The readiness probe only needs something listening: the test listens
    // itself, so the "engine" can be a shell that forks a long-lived child,
    // as RabbitMQ's launcher forks the Erlang VM.
    // The port comes from free_port, as the other tests' ports do, so that
    // the kernel cannot hand this listener a port another test was promised.
    let port = free_port().expect("a free port");
    let _listener = std::net::TcpListener::bind(("127.0.0.1", port)).expect("a listener");
    let pids = tempfile::tempdir().expect("a temporary folder");
    let child_pid_file = pids.path().join("child.pid");
    let script = format!("sleep 300 & echo $! > {}; wait", child_pid_file.display());
    let mut command = Command::new("sh");
    command.args(["-c", &script]);
    let dir = Server::data_dir("group").expect("a temporary folder");
    let server = Server::start("group", command, port, dir, Duration::from_secs(5))
        .expect("the probe connects to our listener");
    let child = wait_for_pid(&child_pid_file);
    assert!(
        running(child),
        "the forked child {child} should run before the drop"
    );
    drop(server);
    assert!(
        !running(child),
        "the forked child {child} survived the drop"
    );
}

fn wait_for_pid(file: &std::path::Path) -> u32 {
    for _ in 0..100 {
        if let Some(pid) = std::fs::read_to_string(file)
            .ok()
            .and_then(|text| text.trim().parse().ok())
        {
            return pid;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the shell never wrote {}", file.display());
}

/// Alive and not a zombie (an orphan killed here may wait to be reaped).
fn running(pid: u32) -> bool {
    for _ in 0..50 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // The state is the field after the parenthesised command name.
        let state = stat
            .rsplit(')')
            .next()
            .and_then(|rest| rest.split_whitespace().next());
        match state {
            None | Some("Z") | Some("X") => return false,
            Some(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    true
}

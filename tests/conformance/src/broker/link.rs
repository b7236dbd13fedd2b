//! A loopback TCP relay between a client and its engine, so that a test can
//! cut a consumer's connection the way a crash does.
//!
//! Dropping a client object is not a crash: most client libraries say
//! goodbye on drop (AMQP's `connection.close`, MQTT's `DISCONNECT`) or keep
//! their connection alive in a background task. A process that dies sends
//! nothing more; the kernel closes its sockets, after delivering what the
//! process had already written. So every consumer of a real engine connects
//! through its own [`Link`], and [`Link::sever`] does just that: it forwards
//! the bytes the client had already sent (an automatic PUBACK written the
//! moment a message arrived, say) and closes both sides, mid-conversation.
//! Nothing the client has not yet written gets through, and nothing more
//! reaches the client.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A relay from a fresh loopback port to an engine's port.
#[derive(Debug)]
pub struct Link {
    port: u16,
    /// Set once, by [`Link::sever`]: every relay drains and closes.
    severed: watch::Sender<bool>,
    /// The accept loop and every relayed connection.
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Link {
    /// Starts relaying connections made to [`Link::port`] to
    /// `127.0.0.1:upstream`.
    pub async fn to(upstream: u16) -> io::Result<Link> {
        // A port from free_port, so that the kernel cannot give this relay
        // a port an engine starting in a parallel test was promised.
        let port = crate::server::free_port().map_err(io::Error::other)?;
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
        let (severed, watching) = watch::channel(false);
        let tasks: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let relays = Arc::clone(&tasks);
        let mut accepting = watching.clone();
        let accept = tokio::spawn(async move {
            loop {
                let client = tokio::select! {
                    accepted = listener.accept() => match accepted {
                        Ok((client, _)) => client,
                        Err(_) => return,
                    },
                    _ = severed_now(&mut accepting) => return,
                };
                let relay = tokio::spawn(relay(client, upstream, watching.clone()));
                relays
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(relay);
            }
        });
        tasks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(accept);
        Ok(Link {
            port,
            severed,
            tasks,
        })
    }

    /// The port a client connects to instead of the engine's.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Cuts every connection as the client's death would, stops accepting
    /// new ones (a client that reconnects on its own cannot come back), and
    /// waits until the sockets are closed.
    pub async fn sever(&self) {
        self.severed.send_replace(true);
        let tasks: Vec<JoinHandle<()>> = self
            .tasks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..)
            .collect();
        for task in tasks {
            // A relay that failed on its own is as closed as a severed one.
            let _ = task.await;
        }
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        for task in self
            .tasks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..)
        {
            task.abort();
        }
    }
}

/// Resolves once the link is severed (or its [`Link`] is gone). The
/// `watch::Ref` that `wait_for` returns is dropped inside, so that the
/// futures waiting on it stay `Send`.
async fn severed_now(severed: &mut watch::Receiver<bool>) {
    let _ = severed.wait_for(|severed| *severed).await;
}

/// Copies both ways until either side closes or the link is severed; then
/// forwards what the client had already sent and drops both sockets.
async fn relay(mut client: TcpStream, upstream: u16, mut severed: watch::Receiver<bool>) {
    // An engine that refuses is the client's error to see: dropping `client`
    // closes it, as a refused connection would.
    let Ok(mut engine) =
        TcpStream::connect(SocketAddr::from((Ipv4Addr::LOCALHOST, upstream))).await
    else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = engine.set_nodelay(true);
    let mut from_client = vec![0_u8; 16 * 1024];
    let mut from_engine = vec![0_u8; 16 * 1024];
    loop {
        tokio::select! {
            read = client.read(&mut from_client) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => if engine.write_all(&from_client[..n]).await.is_err() { return },
            },
            read = engine.read(&mut from_engine) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => if client.write_all(&from_engine[..n]).await.is_err() { return },
            },
            _ = severed_now(&mut severed) => break,
        }
    }
    // The client "died" now: what it wrote before is already in our socket's
    // receive queue (loopback delivers within the write), as it would be in
    // the kernel's send buffer of a process that just died. Deliver it, then
    // close. A plain non-blocking read, not tokio's `try_read`: that one
    // trusts the reactor's last look, which may predate those bytes.
    if let Ok(client) = client.into_std() {
        let mut client = client;
        loop {
            match std::io::Read::read(&mut client, &mut from_client) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if engine.write_all(&from_client[..n]).await.is_err() {
                        break;
                    }
                }
            }
        }
    }
    let _ = engine.shutdown().await;
}

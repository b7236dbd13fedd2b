//! A loopback TCP relay between a client and its engine, so that a test can
//! cut a consumer's connection the way a crash does.
//!
//! Dropping a client object is not a crash: most client libraries say
//! goodbye on drop (AMQP's `connection.close`, MQTT's `DISCONNECT`) or keep
//! their connection alive in a background task. A process that dies sends
//! nothing; the kernel just closes its sockets. So every consumer of a real
//! engine connects through its own [`Link`], and [`Link::sever`] closes both
//! sides at once, mid-conversation.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A relay from a fresh loopback port to an engine's port.
#[derive(Debug)]
pub struct Link {
    port: u16,
    /// The accept loop and every relayed connection: aborting them drops
    /// their sockets, which closes the connections both ways.
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Link {
    /// Starts relaying connections made to [`Link::port`] to
    /// `127.0.0.1:upstream`.
    pub async fn to(upstream: u16) -> io::Result<Link> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let port = listener.local_addr()?.port();
        let tasks: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let relays = Arc::clone(&tasks);
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let upstream_address = SocketAddr::from((Ipv4Addr::LOCALHOST, upstream));
                let relay = tokio::spawn(async move {
                    // An engine that refuses is the client's error to see:
                    // dropping `client` closes it, as a refused connect would.
                    if let Ok(mut engine) = TcpStream::connect(upstream_address).await {
                        let _ = client.set_nodelay(true);
                        let _ = engine.set_nodelay(true);
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut engine).await;
                    }
                });
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
        Ok(Link { port, tasks })
    }

    /// The port a client connects to instead of the engine's.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Cuts every connection and stops accepting new ones (so a client that
    /// reconnects on its own cannot come back), and waits until the sockets
    /// are closed.
    pub async fn sever(&self) {
        let tasks: Vec<JoinHandle<()>> = self
            .tasks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..)
            .collect();
        for task in &tasks {
            task.abort();
        }
        for task in tasks {
            // Cancelled is the expected answer; a relay that had already
            // ended is as good.
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

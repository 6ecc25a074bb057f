//! Listening: binding the configured addresses, accepting clients (client cap,
//! protected mode, socket options), the background tasks, and shutdown.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::JoinHandle;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::pubsub::notify::{self, KeyEvent, class};
use crate::server::Server;
use crate::server::client::ClientHandle;
use crate::server::connection::serve_client;
use crate::store::expire::{sweep_step, sweep_step_with};
use crate::util::clock::now_ms;

/// How long shutdown waits for connections to finish before giving up on them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// Accept errors (out of file descriptors, ...) back off up to this long.
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

const DENIED: &[u8] = b"-DENIED broker-server is running in protected mode because protected mode is enabled and no password is set. In this mode connections are only accepted from the loopback interface. To accept clients from other hosts, either set a password (requirepass), or disable protected mode with 'CONFIG SET protected-mode no' from a loopback client, or start the server with '--protected-mode no', after making sure it is not reachable from untrusted networks.\r\n";

/// Parses one `bind` entry: `*` is every IPv4 address, `::*` every IPv6 address; a
/// leading `-` makes the entry optional.
fn parse_bind(entry: &str) -> Option<(IpAddr, bool)> {
    let (optional, address) = match entry.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, entry),
    };
    let ip = match address {
        "*" => IpAddr::from([0, 0, 0, 0]),
        "::*" => IpAddr::from([0u16; 8]),
        other => other.parse().ok()?,
    };
    Some((ip, optional))
}

fn listen_on(address: SocketAddr, backlog: u32) -> io::Result<TcpListener> {
    let socket = if address.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        let socket = TcpSocket::new_v6()?;
        // Like Redis: an IPv6 wildcard must not also claim the IPv4 port.
        socket2::SockRef::from(&socket).set_only_v6(true)?;
        socket
    };
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(backlog.max(1))
}

/// Binds every configured address. With port 0 the first address picks a free port
/// and the others reuse it.
pub fn bind(config: &Config) -> io::Result<Vec<TcpListener>> {
    let mut listeners = Vec::new();
    let mut port = config.port;
    for entry in &config.bind {
        let (ip, optional) = parse_bind(entry).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid bind address '{entry}'"),
            )
        })?;
        match listen_on(SocketAddr::new(ip, port), config.tcp_backlog) {
            Ok(listener) => {
                port = listener.local_addr()?.port();
                listeners.push(listener);
            }
            Err(error) if optional => {
                tracing::warn!(address = %entry, %error, "could not bind an optional address");
            }
            Err(error) => {
                return Err(io::Error::new(
                    error.kind(),
                    format!("could not bind {ip}:{port}: {error}"),
                ));
            }
        }
    }
    if listeners.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::AddrNotAvailable,
            "no address could be bound",
        ));
    }
    Ok(listeners)
}

/// Serves clients on `listeners` until `server.shutdown` is cancelled, then waits for
/// every connection to finish.
pub async fn serve(server: Arc<Server>, listeners: Vec<TcpListener>) {
    let tracker = TaskTracker::new();
    *server.listening.lock() = listeners
        .iter()
        .filter_map(|l| l.local_addr().ok())
        .collect();
    for listener in listeners {
        tracker.spawn(accept_loop(server.clone(), listener, tracker.clone()));
    }
    tracker.spawn(background(server.clone()));
    server.shutdown.cancelled().await;
    // A running script would keep its connection, and so the shutdown, waiting.
    server.scripting.force_kill();
    tracker.close();
    if tokio::time::timeout(SHUTDOWN_GRACE, tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!("some connections did not finish within the shutdown grace period");
    }
    // Clients are gone: leave a consistent, synced state on disk.
    let finishing = server.clone();
    let _ = tokio::task::spawn_blocking(move || finishing.persistence.shutdown()).await;
}

async fn accept_loop(server: Arc<Server>, listener: TcpListener, tracker: TaskTracker) {
    let mut backoff = Duration::from_millis(5);
    loop {
        let accepted = tokio::select! {
            _ = server.shutdown.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                backoff = Duration::from_millis(5);
                if let Some((stream, handle)) = admit(&server, stream, peer).await {
                    tracker.spawn(serve_client(server.clone(), stream, handle));
                }
            }
            Err(error) => {
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_ACCEPT_BACKOFF);
            }
        }
    }
}

/// Applies the client cap and protected mode, sets socket options and registers the
/// client.
async fn admit(
    server: &Arc<Server>,
    mut stream: TcpStream,
    peer: SocketAddr,
) -> Option<(TcpStream, Arc<ClientHandle>)> {
    server
        .stats
        .connections_received
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let (maxclients, protected, keepalive) = {
        let config = server.config.read();
        (
            config.maxclients,
            config.protected_mode && config.requirepass.is_none(),
            config.tcp_keepalive,
        )
    };
    if protected && !peer.ip().is_loopback() {
        let _ = stream.write_all(DENIED).await;
        return None;
    }
    if server.clients.len() >= maxclients {
        server
            .stats
            .rejected_connections
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let _ = stream
            .write_all(b"-ERR max number of clients reached\r\n")
            .await;
        return None;
    }
    let _ = stream.set_nodelay(true);
    if keepalive > 0 {
        let probes = socket2::TcpKeepalive::new().with_time(Duration::from_secs(keepalive));
        let _ = socket2::SockRef::from(&stream).set_tcp_keepalive(&probes);
    }
    let local = stream.local_addr().unwrap_or(peer);
    let mut handle = ClientHandle::new(server.next_client_id(), peer, local);
    // Shutdown cancels every client's kill token, so a connection watches one token.
    handle.kill = server.shutdown.child_token();
    let handle = Arc::new(handle);
    handle.touch();
    server.clients.insert(handle.id, handle.clone());
    Some((stream, handle))
}

/// Background work at `hz` per second: active expiry, persistence's periodic
/// work, the memory figure `maxmemory` is checked against, and idle clients. None of it runs
/// while the dataset loads: replay decides what has expired.
async fn background(server: Arc<Server>) {
    loop {
        let hz = server.config.read().hz.max(1);
        tokio::select! {
            _ = server.shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_millis(1000 / hz)) => {}
        }
        if server.is_loading() {
            continue;
        }
        let started = server.latency.start();
        expire_step(&server);
        server.latency.finish("expire-cycle", started);
        server.persistence.cron();
        server.refresh_used_memory();
        server.close_idle_clients();
    }
}

/// One active-expiry step; expired keys are announced once the shards are released.
fn expire_step(server: &Server) {
    if !server.keyspace.reports(class::EXPIRED) {
        sweep_step(&server.keyspace, now_ms());
        return;
    }
    let mut expired = Vec::new();
    sweep_step_with(&server.keyspace, now_ms(), |db, key| {
        expired.push((db, key))
    });
    for (db, key) in expired {
        let event = KeyEvent {
            class: class::EXPIRED,
            event: "expired",
            db,
            key,
        };
        notify::publish(server, &event);
    }
}

/// A running server, for embedding and tests.
pub struct ServerHandle {
    pub server: Arc<Server>,
    /// The first address listened on.
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl ServerHandle {
    /// Shuts the server down and waits for it.
    pub async fn shutdown(self) {
        self.server.shutdown.cancel();
        let _ = self.task.await;
    }
}

/// Binds, loads the dataset (see [`crate::persist`]) and starts serving in the
/// current runtime.
pub async fn start(config: Config) -> io::Result<ServerHandle> {
    let listeners = bind(&config)?;
    let addr = listeners[0].local_addr()?;
    let server = Arc::new(Server::new(config));
    let loading = server.clone();
    tokio::task::spawn_blocking(move || loading.persistence.recover(&loading))
        .await
        .map_err(io::Error::other)?
        .map_err(|error| io::Error::other(error.to_string()))?;
    let task = tokio::spawn(serve(server.clone(), listeners));
    Ok(ServerHandle { server, addr, task })
}

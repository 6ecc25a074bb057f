//! Clients: the state a connection owns ([`Client`]) and the part other connections
//! may see or act on ([`ClientHandle`]: `CLIENT LIST`, `CLIENT KILL`, pushes).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;

use crate::commands::CommandSpec;
use crate::protocol::{OwnedArgs, Protocol};
use crate::pubsub::Subscriptions;
use crate::server::outbox::Outbox;
use crate::store::watch::WatchSet;

/// `CLIENT REPLY` modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReplyMode {
    #[default]
    On,
    Off,
    /// The next command's reply is dropped.
    SkipNext,
}

/// A transaction being queued between `MULTI` and `EXEC`.
#[derive(Debug, Default)]
pub struct Transaction {
    pub queued: Vec<(&'static CommandSpec, OwnedArgs)>,
    /// Set when a command was refused while queueing: `EXEC` answers `EXECABORT`.
    pub aborted: bool,
}

impl std::fmt::Debug for CommandSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl Transaction {
    pub fn queue(&mut self, spec: &'static CommandSpec, args: OwnedArgs) {
        self.queued.push((spec, args));
    }
}

/// Per-connection state, owned by the connection's task.
pub struct Client {
    pub id: u64,
    pub db: usize,
    pub protocol: Protocol,
    pub authenticated: bool,
    pub reply_mode: ReplyMode,
    pub transaction: Option<Transaction>,
    /// Every subscription, shard channels included (RESP2 subscribed mode when
    /// non-zero); kept equal to `pubsub.total()` by [`Client::subscriptions_changed`].
    pub subscriptions: usize,
    /// Channels, patterns and shard channels this connection listens to.
    pub pubsub: Subscriptions,
    /// Keys this connection WATCHes, and the flag that says one of them changed.
    pub watched: WatchSet,
    pub handle: Arc<ClientHandle>,
    /// A wait the last command registered (BLPOP...), for the connection to carry out.
    pub blocked: Option<crate::commands::blocking::Blocked>,
    /// Indexes of the running command's arguments it marked sensitive (passwords):
    /// the slow log and MONITOR show them as `(redacted)`. Cleared once the command
    /// is recorded.
    pub redacted: Vec<usize>,
    /// The client a script's commands run as: the slow log shows its address as
    /// `?:0` and MONITOR as `lua`, as Redis does.
    pub script: bool,
}

impl Client {
    pub fn new(handle: Arc<ClientHandle>, authenticated: bool) -> Self {
        Client {
            id: handle.id,
            db: 0,
            protocol: Protocol::Resp2,
            authenticated,
            reply_mode: ReplyMode::On,
            transaction: None,
            subscriptions: 0,
            pubsub: Subscriptions::default(),
            watched: WatchSet::default(),
            handle,
            blocked: None,
            redacted: Vec::new(),
            script: false,
        }
    }

    /// The address the slow log shows for this client.
    pub fn peer_id(&self) -> String {
        if self.script {
            "?:0".into()
        } else {
            self.handle.addr.to_string()
        }
    }

    /// Selects a database, keeping the shared view current.
    pub fn select(&mut self, db: usize) {
        self.db = db;
        self.handle.info.lock().db = db;
    }

    /// Switches protocol, keeping the shared view current.
    pub fn set_protocol(&mut self, protocol: Protocol) {
        self.protocol = protocol;
        self.handle.info.lock().protocol = protocol;
        self.handle.set_protocol(protocol);
    }

    /// Refreshes the subscription counts after `pubsub` changed.
    pub fn subscriptions_changed(&mut self) {
        self.subscriptions = self.pubsub.total();
        self.handle.set_subscriptions(self.pubsub.counts());
    }
}

/// What `CLIENT LIST` shows that changes rarely; guarded by a mutex.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub name: Vec<u8>,
    pub lib_name: Vec<u8>,
    pub lib_ver: Vec<u8>,
    pub db: usize,
    pub protocol: Protocol,
    pub monitor: bool,
    pub no_evict: bool,
    pub no_touch: bool,
}

/// The shared side of a client.
pub struct ClientHandle {
    pub id: u64,
    pub addr: SocketAddr,
    pub laddr: SocketAddr,
    pub created: Instant,
    pub info: Mutex<ClientInfo>,
    /// Milliseconds since `created` at the last request (for `idle=`).
    last_interaction: AtomicU64,
    /// Command-table index of the last command, plus one (0 = none yet).
    last_command: AtomicUsize,
    /// Cancelled to close the connection (CLIENT KILL, output limits, shutdown).
    /// The listener makes it a child of the server's shutdown token.
    pub kill: CancellationToken,
    /// Frames pushed to the client from elsewhere: pub/sub messages, MONITOR lines.
    pub outbox: Outbox,
    /// Channel, pattern and shard-channel subscriptions, mirrored from the owning
    /// connection (`CLIENT LIST` `sub=`, `psub=`, `ssub=`).
    subscriptions: [AtomicUsize; 3],
    /// The protocol, mirrored so publishers pick the right encoding without a lock.
    resp3: AtomicBool,
    /// The waiter of the blocking command the client is parked on (`CLIENT UNBLOCK`).
    pub blocked_on: Mutex<Option<Arc<crate::store::waiters::Waiter>>>,
    /// Whether a command of the client is held by `CLIENT PAUSE` (the `b` flag).
    pub held: AtomicBool,
    /// Set when the server closes the client for idling past `timeout`.
    idle_closed: AtomicBool,
}

impl ClientHandle {
    pub fn new(id: u64, addr: SocketAddr, laddr: SocketAddr) -> Self {
        ClientHandle {
            id,
            addr,
            laddr,
            created: Instant::now(),
            info: Mutex::new(ClientInfo::default()),
            last_interaction: AtomicU64::new(0),
            last_command: AtomicUsize::new(0),
            kill: CancellationToken::new(),
            outbox: Outbox::default(),
            subscriptions: Default::default(),
            resp3: AtomicBool::new(false),
            blocked_on: Mutex::new(None),
            held: AtomicBool::new(false),
            idle_closed: AtomicBool::new(false),
        }
    }

    /// Notes activity now.
    pub fn touch(&self) {
        self.last_interaction
            .store(self.created.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    /// Milliseconds since the last request or reply.
    pub fn idle_ms(&self) -> u64 {
        let now = self.created.elapsed().as_millis() as u64;
        now.saturating_sub(self.last_interaction.load(Ordering::Relaxed))
    }

    /// Seconds since the last request or reply.
    pub fn idle_seconds(&self) -> u64 {
        self.idle_ms() / 1000
    }

    /// Whether the client waits on a blocking command or on `CLIENT PAUSE` (the
    /// `b` flag).
    pub fn is_blocked(&self) -> bool {
        self.blocked_on.lock().is_some() || self.held.load(Ordering::Acquire)
    }

    /// Closes the connection because it idled past `timeout`.
    pub fn close_idle(&self) {
        self.idle_closed.store(true, Ordering::Relaxed);
        self.kill.cancel();
    }

    /// Whether [`ClientHandle::close_idle`] closed the connection.
    pub fn closed_idle(&self) -> bool {
        self.idle_closed.load(Ordering::Relaxed)
    }

    pub fn set_last_command(&self, index: usize) {
        self.last_command.store(index + 1, Ordering::Relaxed);
    }

    /// Every subscription, of every kind.
    pub fn subscriptions(&self) -> usize {
        self.subscription_counts().iter().sum()
    }

    /// Channel, pattern and shard-channel subscriptions.
    pub fn subscription_counts(&self) -> [usize; 3] {
        [0, 1, 2].map(|kind| self.subscriptions[kind].load(Ordering::Relaxed))
    }

    pub fn set_subscriptions(&self, counts: [usize; 3]) {
        for (mirror, count) in self.subscriptions.iter().zip(counts) {
            mirror.store(count, Ordering::Relaxed);
        }
    }

    /// The protocol the client speaks (for encoding pushed frames).
    pub fn protocol(&self) -> Protocol {
        if self.resp3.load(Ordering::Relaxed) {
            Protocol::Resp3
        } else {
            Protocol::Resp2
        }
    }

    pub fn set_protocol(&self, protocol: Protocol) {
        self.resp3
            .store(protocol == Protocol::Resp3, Ordering::Relaxed);
    }

    /// Command-table index of the last command run, if any.
    pub fn last_command(&self) -> Option<usize> {
        self.last_command.load(Ordering::Relaxed).checked_sub(1)
    }
}

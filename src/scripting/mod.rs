//! Lua scripting: `EVAL`, `EVALSHA` and their `_RO` forms, run the way Redis runs
//! them.
//!
//! * [`engine`] is the Lua 5.1 interpreter, its sandbox and Redis's conversions
//!   between replies and Lua values. It knows nothing of the server.
//! * This module connects it to the server: [`Scripting`] is the one engine a server
//!   has, and [`ServerHost`] is what a running script's `redis.call` goes through.
//!
//! # Atomicity
//! Scripts run one at a time, as in Redis: `EVAL` is declared `ALL_KEYS`, so the gate
//! locks every shard before the handler runs (a script may touch keys it never
//! declared; kombu's sweep script builds key names from `ARGV`), and the engine sits
//! behind its own mutex, always taken after the shards. Each `redis.call` then runs
//! through [`run_handler`] with those locks, so nothing interleaves with the script.
//! Every command the script runs adds to the `EVAL`'s own [`Effects`], so clients
//! blocked on keys the script filled are served once the whole script is over, and
//! commands run with `nested` set, so blocking commands answer at once.
//!
//! # What a script's commands see
//! * Redis's checks for script commands, in Redis's order: unknown command or
//!   subcommand, arity, `noscript`, then writes from a read-only script (`EVAL_RO`,
//!   `EVALSHA_RO`, or a `#!lua flags=no-writes` script). Failures are ordinary error
//!   replies, texts from the error catalogue.
//! * Their own client: it starts in the caller's database, and `SELECT` moves only the
//!   script (the caller's database is untouched); its protocol follows
//!   `redis.setresp`.
//! * One clock: the `EVAL`'s start time, so a key cannot expire halfway through a
//!   script (`TIME` still reads the real clock, as in Redis 7.0).
//! * `MONITOR` shows each one as `[<db> lua]`, after the `EVAL` line itself.
//!
//! # Long scripts
//! A script runs on the calling connection's runtime thread, under
//! [`off_the_runtime`](crate::util::blocking::off_the_runtime): the runtime hands
//! that thread's other work, polling sockets included, to another thread, so the
//! server keeps serving while the script runs. [`BusyMarker`](crate::store::BusyMarker)
//! records when the script started. Once it has run past `lua-time-limit`, the gate
//! answers every other command `-BUSY` unless it is flagged `ALLOW_BUSY` (`SCRIPT
//! KILL`, `SHUTDOWN`, ...), and clients already waiting for a shard give up with the
//! same error, so no runtime thread stays parked behind the script. `SCRIPT KILL`
//! stops a script that has not written ([`KillSwitch`]); `SHUTDOWN` stops any.
//!
//! # Checked against redis-server
//! `tests/differential_scripting.rs` runs about 240 scripts and every `EVAL`/`SCRIPT`
//! error path on Debian's redis-server 7.0.15 and on broker-server, in RESP2 and
//! RESP3, and compares the bytes; it also plays a `-BUSY`/`SCRIPT KILL` story on
//! both and compares the transcripts.

pub mod engine;

use crate::util::clock::now_us;
use std::net::SocketAddr;
use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard};

pub use engine::{KillOutcome, KillSwitch, LogLevel, ScriptEngine, ScriptFlags, ScriptHost};

use crate::commands::gate::{record_call, resolve, run_handler};
use crate::commands::{CommandError, Effects, flags};
use crate::protocol::parse::parse_reply;
use crate::protocol::{Args, Protocol, Reply, ReplyWriter};
use crate::server::Server;
use crate::server::client::{Client, ClientHandle};
use crate::store::Locked;

/// The server's script cache and interpreter.
pub struct Scripting {
    engine: Mutex<ScriptEngine>,
    /// The engine's kill switch, reachable without the engine's lock (which the
    /// running script holds).
    kill: Arc<KillSwitch>,
    /// The identity scripts' commands run under: not a connection, never listed.
    handle: Arc<ClientHandle>,
}

impl Default for Scripting {
    fn default() -> Self {
        Self::new()
    }
}

impl Scripting {
    pub fn new() -> Self {
        let engine = ScriptEngine::new();
        let kill = engine.kill_switch();
        let nowhere = SocketAddr::from(([0, 0, 0, 0], 0));
        Scripting {
            engine: Mutex::new(engine),
            kill,
            handle: Arc::new(ClientHandle::new(0, nowhere, nowhere)),
        }
    }

    /// The engine, once no other script or `SCRIPT` command uses it; `-BUSY` once a
    /// script holding it has run past its limit.
    pub fn engine<'s>(
        &'s self,
        server: &Server,
    ) -> Result<MutexGuard<'s, ScriptEngine>, CommandError> {
        Ok(server.keyspace.busy.lock(&self.engine)?)
    }

    /// `SCRIPT KILL`.
    pub fn kill(&self) -> KillOutcome {
        self.kill.kill()
    }

    /// Stops the running script even if it has written (the server is shutting down).
    pub fn force_kill(&self) {
        self.kill.force_kill();
    }

    /// Whether a script is running now.
    pub fn is_running(&self) -> bool {
        self.kill.is_running()
    }

    /// The flags a script declares, as far as they can be known without running or
    /// waiting for anything: from the body's shebang (`by_sha` false), or from the
    /// cache for a SHA1. `None` when the body's shebang is invalid, the SHA1 is not
    /// cached, or the engine is in use (a script runs): the command's own flags
    /// then apply, as in Redis for the first two.
    pub fn declared_flags(&self, by_sha: bool, script: &[u8]) -> Option<ScriptFlags> {
        if by_sha {
            let engine = self.engine.try_lock()?;
            return engine.find(script).map(|(_, flags)| flags);
        }
        engine::parse_shebang(script).ok().map(|(flags, _)| flags)
    }
}

/// Writes a script's result. A script can return tables nested thousands deep (Redis
/// stops at ~8000 levels with `reached lua stack limit`), deeper than the recursive
/// encoder and `Reply`'s recursive drop can go on a runtime thread's stack, so this
/// walks the tree with an explicit stack, consuming it as it goes.
pub fn write_reply(out: &mut ReplyWriter<'_>, reply: Reply) {
    let mut pending: Vec<std::vec::IntoIter<Reply>> = Vec::new();
    let mut next = Some(reply);
    loop {
        match next.take() {
            Some(Reply::Array(items)) => {
                out.array_len(items.len());
                pending.push(items.into_iter());
            }
            Some(Reply::Set(items)) => {
                out.set_len(items.len());
                pending.push(items.into_iter());
            }
            Some(Reply::Push(items)) => {
                out.push_len(items.len());
                pending.push(items.into_iter());
            }
            Some(Reply::Map(pairs)) => {
                out.map_len(pairs.len());
                let flat: Vec<Reply> = pairs.into_iter().flat_map(|(k, v)| [k, v]).collect();
                pending.push(flat.into_iter());
            }
            Some(leaf) => out.reply(&leaf),
            None => {}
        }
        loop {
            let Some(items) = pending.last_mut() else {
                return;
            };
            if let Some(item) = items.next() {
                next = Some(item);
                break;
            }
            pending.pop();
        }
    }
}

/// How a script's commands reach the server.
pub struct ServerHost<'h, 'a> {
    server: &'a Server,
    /// The script's locks: every shard, lent to each command in turn.
    store: &'h mut Option<Locked<'a>>,
    effects: &'h mut Effects,
    /// The script's own client (database, protocol).
    client: Client,
    /// Scratch output: each command's reply is rendered here and read back.
    out: Vec<u8>,
    now_ms: u64,
    read_only: bool,
    /// Memory was past `maxmemory` when the script started: its first write that
    /// may grow the dataset is refused, as in Redis (a later one cannot be, or
    /// the script would stop half done).
    out_of_memory_at_start: bool,
    kill: &'h KillSwitch,
}

impl<'h, 'a> ServerHost<'h, 'a> {
    /// A host for a script started by a client in database `db` at `now_ms`.
    pub fn new(
        server: &'a Server,
        store: &'h mut Option<Locked<'a>>,
        effects: &'h mut Effects,
        db: usize,
        now_ms: u64,
        read_only: bool,
    ) -> Self {
        let scripting = &server.scripting;
        let mut client = Client::new(scripting.handle.clone(), true);
        client.db = db;
        client.script = true;
        ServerHost {
            server,
            store,
            effects,
            client,
            out: Vec::new(),
            now_ms,
            read_only,
            out_of_memory_at_start: server.over_maxmemory(),
            kill: &scripting.kill,
        }
    }

    /// Redis's checks before a script's command runs.
    fn check(
        &self,
        args: &Args<'_>,
    ) -> Result<&'static crate::commands::CommandSpec, CommandError> {
        let spec = resolve(args).map_err(|error| match error {
            CommandError::WrongArity(_) => CommandError::ScriptWrongArity,
            _ => CommandError::ScriptUnknownCommand,
        })?;
        if spec.has(flags::NOSCRIPT) {
            return Err(CommandError::ScriptNotAllowed);
        }
        if spec.has(flags::WRITE) && self.read_only {
            return Err(CommandError::ScriptWriteReadOnly);
        }
        if spec.has(flags::DENYOOM) && self.out_of_memory_at_start && !self.kill.has_written() {
            return Err(CommandError::OutOfMemory);
        }
        // Killed: the engine stops the script without this write.
        if spec.has(flags::WRITE) && !self.kill.note_write() {
            return Err(CommandError::ScriptNotAllowed);
        }
        Ok(spec)
    }
}

impl ScriptHost for ServerHost<'_, '_> {
    fn call(&mut self, args: Args<'_>, resp: u8) -> Reply {
        let spec = match self.check(&args) {
            Ok(spec) => spec,
            Err(error) => return Reply::Error(error.reply_text().into_owned().into()),
        };
        self.client.protocol = if resp == 3 {
            Protocol::Resp3
        } else {
            Protocol::Resp2
        };
        self.out.clear();
        let started = now_us();
        let (_, failed) = run_handler(
            self.server,
            &mut self.client,
            &mut self.out,
            spec,
            args,
            self.store,
            self.now_ms,
            self.effects,
            true,
        );
        record_call(self.server, &mut self.client, spec, &args, started, failed);
        match parse_reply(&self.out) {
            Some((reply, _)) => reply,
            None => Reply::Error(
                CommandError::err("command produced no reply")
                    .reply_text()
                    .into_owned()
                    .into(),
            ),
        }
    }

    fn log(&mut self, level: LogLevel, message: &[u8]) {
        let message = String::from_utf8_lossy(message);
        match level {
            LogLevel::Debug | LogLevel::Verbose => tracing::debug!(target: "lua", "{message}"),
            LogLevel::Notice => tracing::info!(target: "lua", "{message}"),
            LogLevel::Warning => tracing::warn!(target: "lua", "{message}"),
        }
    }

    fn acl_check(&mut self, args: Args<'_>) -> Option<bool> {
        // One user, allowed everything: only whether the command exists matters
        // (its arity does not, as in Redis).
        match resolve(&args) {
            Ok(_) | Err(CommandError::WrongArity(_)) => Some(true),
            Err(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::protocol::OwnedArgs;
    use crate::util::clock::now_ms;

    #[allow(dead_code)]
    mod celery {
        include!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/common/celery_scripts.rs"
        ));
    }
    use celery::LOCK_RELEASE;

    /// What `EXEC` does with queued scripts: runs them one after another under the
    /// transaction's own locks, lending them to each command. MULTI itself arrives on
    /// another branch; this checks the handler side of it.
    #[test]
    fn queued_scripts_run_under_the_transaction_s_locks() {
        let server = Server::new(Config::default());
        let nowhere = SocketAddr::from(([127, 0, 0, 1], 0));
        let mut client = Client::new(Arc::new(ClientHandle::new(1, nowhere, nowhere)), true);
        let mut store = Some(server.keyspace.lock_all());
        let mut effects = Effects::default();
        let mut out = Vec::new();
        let sha = b"c3f8721cbb97f72bc19e972846bd7aaf91901658";
        let queued: [&[&[u8]]; 5] = [
            &[b"SET", b"unacked_mutex", b"tok"],
            &[b"EVAL", LOCK_RELEASE, b"1", b"unacked_mutex", b"tok"],
            &[b"EVALSHA", sha, b"1", b"unacked_mutex", b"tok"],
            &[b"EVALSHA", &[b'0'; 40], b"0"],
            &[b"GET", b"unacked_mutex"],
        ];
        for request in queued {
            let args = OwnedArgs::from_slices(request.iter().copied());
            let spec = resolve(&args.args()).unwrap();
            run_handler(
                &server,
                &mut client,
                &mut out,
                spec,
                args.args(),
                &mut store,
                now_ms(),
                &mut effects,
                true,
            );
            assert!(store.is_some(), "the locks are handed back");
        }
        assert_eq!(
            String::from_utf8_lossy(&out),
            "+OK\r\n:1\r\n:0\r\n-NOSCRIPT No matching script. Please use EVAL.\r\n$-1\r\n"
        );
    }
}

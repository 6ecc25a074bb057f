//! The one gate every request passes through.
//!
//! The checks run in Redis's order, because clients and test suites observe it:
//! existence, arity, authentication, the RESP2 subscribed-mode rule, loading, a
//! script running past its time limit (`-BUSY`), `CLIENT PAUSE`, then `MULTI`
//! queueing, and only then execution. A refused command gets an error reply and,
//! inside `MULTI`, marks the transaction so that `EXEC` aborts. A command a pause
//! holds gets nothing yet: the connection waits for the pause to end and brings the
//! request through the gate again (see [`crate::server::pause`]). Execution locks
//! the shards of the command's declared keys (answering `-BUSY` instead if a script
//! holds them past its limit), runs the handler, renders its error if it failed,
//! publishes the keyspace events the store recorded, and records what it took:
//! statistics, the latency monitor, the slow log and the `MONITOR` feed
//! ([`record_call`]).

use crate::commands::table::CommandTable;
use crate::commands::{CommandError, CommandSpec, Ctx, Effects, Flow, flags};
use crate::persist;
use crate::protocol::{Args, Protocol, ReplyWriter};
use crate::pubsub::notify;
use crate::server::Server;
use crate::server::client::{Client, ReplyMode};
use crate::server::pause::PauseMode;
use crate::server::slowlog::{SlowCommand, logged_args};
use crate::store::{ALL_SHARDS, Locked};
use crate::util::clock::{now_ms, now_us};

/// What the connection must do after a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Continue,
    /// Flush what is owed, then close.
    Close,
    /// Close at once, dropping even the replies owed (a cross-protocol attack).
    Abort,
    /// `CLIENT PAUSE` holds the request: it was not executed, and must be brought
    /// back through the gate, with everything behind it, once the pause ends.
    Held,
}

/// What [`admission`] lets a request do.
#[derive(Debug, PartialEq, Eq)]
enum Admission {
    Run,
    /// Wait for `CLIENT PAUSE` to end.
    Hold,
}

/// Runs one request through the gate and appends its reply to `out`.
pub fn dispatch(
    server: &Server,
    client: &mut Client,
    out: &mut Vec<u8>,
    args: Args<'_>,
) -> Outcome {
    let name = &args[0];
    if name.eq_ignore_ascii_case(b"post") || name.eq_ignore_ascii_case(b"host:") {
        server.log_security_attack(client);
        return Outcome::Abort;
    }
    let spec = match resolve(&args) {
        Ok(spec) => spec,
        Err(error) => return reject(server, client, out, name, None, error),
    };
    match admission(server, client, spec, &args) {
        Ok(Admission::Run) => {}
        Ok(Admission::Hold) => {
            // `CLIENT LIST` shows the held command as the client's current one.
            client
                .handle
                .set_last_command(CommandTable::get().index(spec));
            return Outcome::Held;
        }
        Err(error) => return reject(server, client, out, name, Some(spec), error),
    }
    if client.transaction.is_some() && !spec.has(flags::TRANSACTION_CONTROL) {
        if let Some(transaction) = client.transaction.as_mut() {
            transaction.queue(spec, args.to_owned());
        }
        out.extend_from_slice(b"+QUEUED\r\n");
        return Outcome::Continue;
    }
    let mode_before = client.reply_mode;
    let start = out.len();
    let flow = execute(server, client, out, spec, args);
    apply_reply_mode(client, mode_before, out, start);
    if client.subscriptions > 0 {
        own_pushes_first(client, out, start);
    }
    match flow {
        Flow::Continue => Outcome::Continue,
        Flow::Close => Outcome::Close,
    }
}

/// Finds the command (or subcommand) a request names, and checks its arity.
pub fn resolve(args: &Args<'_>) -> Result<&'static CommandSpec, CommandError> {
    let table = CommandTable::get();
    let name = &args[0];
    let Some(spec) = table.lookup(name) else {
        return Err(CommandError::UnknownCommand {
            name: name.to_vec(),
            args: args.iter().skip(1).map(<[u8]>::to_vec).collect(),
        });
    };
    if spec.subcommands.is_empty() || args.len() < 2 {
        return check_arity(spec, args.len(), || spec.name.to_string());
    }
    match CommandTable::lookup_sub(spec, &args[1]) {
        Some(sub) => check_arity(sub, args.len(), || format!("{}|{}", spec.name, sub.name)),
        None => Err(CommandError::UnknownSubcommand {
            container: spec.name.to_string(),
            sub: args[1].to_vec(),
        }),
    }
}

/// Checks the arity; the full name for the error text is built only on failure, so
/// a well-formed request allocates nothing here.
fn check_arity(
    spec: &'static CommandSpec,
    argc: usize,
    full_name: impl FnOnce() -> String,
) -> Result<&'static CommandSpec, CommandError> {
    if spec.arity_ok(argc) {
        Ok(spec)
    } else {
        Err(CommandError::WrongArity(full_name()))
    }
}

/// The checks between lookup and execution.
fn admission(
    server: &Server,
    client: &Client,
    spec: &'static CommandSpec,
    args: &Args<'_>,
) -> Result<Admission, CommandError> {
    if !client.authenticated && server.auth_required() && !spec.has(flags::NO_AUTH) {
        return Err(CommandError::NoAuth);
    }
    if client.transaction.is_some() && spec.has(flags::NO_MULTI) {
        return Err(CommandError::NotInMulti);
    }
    if refused_out_of_memory(client, spec) && server.over_maxmemory() {
        return Err(CommandError::OutOfMemory);
    }
    if client.protocol == Protocol::Resp2
        && client.subscriptions > 0
        && !spec.has(flags::SUBSCRIBED_OK)
    {
        let index = CommandTable::get().index(spec);
        return Err(CommandError::SubscribedContext(
            CommandTable::get().full_name(index).to_string(),
        ));
    }
    if server.is_loading() && !spec.has(flags::LOADING) {
        return Err(CommandError::Loading);
    }
    if server.keyspace.busy.is_busy() && !spec.has(flags::ALLOW_BUSY) {
        return Err(CommandError::Busy);
    }
    if held_by_pause(server, client, spec, args) {
        return Ok(Admission::Hold);
    }
    Ok(Admission::Run)
}

/// Whether `CLIENT PAUSE` holds the request, by Redis's rule: under `ALL`, every
/// command; under `WRITE`, a command that may write or propagate, and EXEC of a
/// transaction that queued one.
#[inline]
fn held_by_pause(
    server: &Server,
    client: &Client,
    spec: &'static CommandSpec,
    args: &Args<'_>,
) -> bool {
    if !server.pause.is_set() {
        return false;
    }
    match server.pause.mode(now_ms()) {
        PauseMode::Off => false,
        PauseMode::All => true,
        PauseMode::Write => {
            may_replicate(server, spec, args)
                || (spec.name == "exec"
                    && client.transaction.as_ref().is_some_and(|transaction| {
                        transaction
                            .queued
                            .iter()
                            .any(|(queued, args)| may_replicate(server, queued, &args.args()))
                    }))
        }
    }
}

/// Whether a request may write or propagate anything (Redis's `write` and
/// `may_replicate` flags). For a script, a `#!lua flags=...` line decides instead
/// of the command: it writes unless it declares `no-writes`.
fn may_replicate(server: &Server, spec: &CommandSpec, args: &Args<'_>) -> bool {
    if spec.has(flags::SHEBANG_FLAGS) {
        let by_sha = spec.name.starts_with("evalsha");
        let declared = args
            .get(1)
            .and_then(|script| server.scripting.declared_flags(by_sha, script));
        if let Some(declared) = declared.filter(|flags| flags.shebang) {
            return !declared.no_writes;
        }
    }
    spec.has(flags::WRITE | flags::MAY_REPLICATE)
}

/// Whether `spec` is refused when memory is past `maxmemory`, as in Redis: commands
/// that may grow the dataset (`denyoom`), EXEC of a transaction holding one, and
/// anything queued inside MULTI (queueing itself takes memory) but DISCARD, EXEC,
/// QUIT and RESET.
#[inline]
fn refused_out_of_memory(client: &Client, spec: &'static CommandSpec) -> bool {
    if spec.has(flags::DENYOOM) {
        return true;
    }
    let Some(transaction) = &client.transaction else {
        return false;
    };
    match spec.name {
        "exec" => transaction
            .queued
            .iter()
            .any(|(queued, _)| queued.has(flags::DENYOOM)),
        "discard" | "quit" | "reset" => false,
        _ => true,
    }
}

/// Answers a refused command (`name`); inside `MULTI` the transaction will abort.
/// A refused EXEC, as in Redis, discards the transaction and the watches at once
/// (even outside MULTI) and answers `EXECABORT Transaction discarded because of:`
/// followed by the error without its `ERR` code.
fn reject(
    server: &Server,
    client: &mut Client,
    out: &mut Vec<u8>,
    name: &[u8],
    spec: Option<&'static CommandSpec>,
    error: CommandError,
) -> Outcome {
    if let Some(transaction) = client.transaction.as_mut() {
        transaction.aborted = true;
    }
    if let Some(spec) = spec {
        server
            .stats
            .command(CommandTable::get().index(spec))
            .record_rejected();
    }
    let text = error.reply_bytes();
    let mut reply = ReplyWriter::new(out, client.protocol);
    if name.eq_ignore_ascii_case(b"exec") {
        client.transaction = None;
        client.watched.clear(&server.keyspace, None);
        let cause = text.strip_prefix(b"ERR ").unwrap_or(&text);
        let mut aborted = b"EXECABORT Transaction discarded because of: ".to_vec();
        aborted.extend_from_slice(cause);
        reply.error(&aborted);
    } else {
        reply.error(&text);
    }
    Outcome::Continue
}

/// Messages a subscribed client caused itself (a PUBLISH to its own channel, a
/// notification of its own write) go before the reply, as in Redis, where they are
/// written while the command runs. Only at top level: inside an EXEC array a push
/// would split the array.
fn own_pushes_first(client: &Client, out: &mut Vec<u8>, start: usize) {
    let mut pushes = Vec::new();
    if client.handle.outbox.drain_into(&mut pushes) > 0 {
        out.splice(start..start, pushes);
    }
}

/// The shards `spec` declares for this request: `None` when it has no keys.
pub fn mask_for(server: &Server, spec: &CommandSpec, args: &Args<'_>) -> Option<u64> {
    if spec.has(flags::ALL_KEYS) {
        return Some(ALL_SHARDS);
    }
    if spec.has(flags::NO_KEYS) || spec.keys.first == 0 {
        return None;
    }
    let keys = spec.keys.positions(args.len()).map(|i| &args[i]);
    Some(server.keyspace.mask_of(keys))
}

/// Locks what `spec` declares for this request; `-BUSY` if a script holds it too long.
pub fn lock_for<'a>(
    server: &'a Server,
    spec: &CommandSpec,
    args: &Args<'_>,
) -> Result<Option<Locked<'a>>, CommandError> {
    match mask_for(server, spec, args) {
        Some(mask) => Ok(Some(server.keyspace.lock_or_busy(mask)?)),
        None => Ok(None),
    }
}

/// Runs a command that passed the gate: locks, calls the handler, renders its error,
/// records statistics and feeds `MONITOR`.
pub fn execute(
    server: &Server,
    client: &mut Client,
    out: &mut Vec<u8>,
    spec: &'static CommandSpec,
    args: Args<'_>,
) -> Flow {
    // One clock read gives the command's time for expiry and the start of its
    // duration; a second one, in `record_call`, its end (as Redis's `call()`).
    let started_us = now_us();
    let mut store = match lock_for(server, spec, &args) {
        Ok(store) => store,
        Err(error) => {
            reject(server, client, out, spec.name.as_bytes(), Some(spec), error);
            return Flow::Continue;
        }
    };
    let mut effects = Effects::default();
    let (flow, failed) = run_handler(
        server,
        client,
        out,
        spec,
        args,
        &mut store,
        started_us / 1000,
        &mut effects,
        false,
    );
    drop(store);
    // The locks are released: serve clients blocked on keys the command filled, and
    // announce what the serves changed, before its own reply leaves.
    if !effects.ready_keys.is_empty() {
        let events = server
            .keyspace
            .serve_ready(std::mem::take(&mut effects.ready_keys), now_ms());
        for event in &events {
            notify::publish(server, event);
        }
    }
    record_call(server, client, spec, &args, started_us, failed);
    flow
}

/// Records a command that ran (at top level, queued in EXEC, or called by a
/// script), from the one measurement of its duration: statistics and the latency
/// histogram, the latency monitor, the slow log, the last command for `CLIENT
/// LIST`, and the `MONITOR` feed. Redis records at the same points (`call()`), and
/// EXEC itself only in statistics and the latency monitor (`skip_slowlog`).
///
/// A blocking command that parked the client is in the histogram and the slow log
/// only once served or unblocked, with this duration (see [`DeferredRecord`]); one
/// that times out never is, as in Redis.
pub fn record_call(
    server: &Server,
    client: &mut Client,
    spec: &'static CommandSpec,
    args: &Args<'_>,
    started_us: u64,
    failed: bool,
) {
    if client.script && server.is_loading() {
        // A script replayed from the log: Redis keeps its commands out of the
        // statistics and the slow log.
        client.redacted.clear();
        return;
    }
    let ended_us = now_us();
    let usec = ended_us.saturating_sub(started_us);
    let index = CommandTable::get().index(spec);
    let stat = server.stats.command(index);
    stat.record_call(usec, failed);
    let event = if spec.has(flags::FAST) {
        "fast-command"
    } else {
        "command"
    };
    server.latency.sample(event, usec / 1000);
    let loggable = !spec.has(flags::SKIP_SLOWLOG);
    if client.blocked.is_some() {
        let slow = (loggable && server.slowlog.enabled()).then(|| slow_command(client, args, usec));
        if let Some(blocked) = client.blocked.as_mut() {
            blocked.deferred = Some(DeferredRecord { index, usec, slow });
        }
    } else {
        if server.stats.latency_tracking() {
            stat.record_latency(usec);
        }
        if loggable && server.slowlog.wants(usec) {
            server
                .slowlog
                .push(slow_command(client, args, usec), ended_us / 1_000_000);
        }
    }
    client.handle.set_last_command(index);
    if server.monitors_active() && !spec.has(flags::SKIP_MONITOR) && !spec.has(flags::ADMIN) {
        server.feed_monitors(client, args);
    }
    client.redacted.clear();
}

/// `args` as the slow log keeps them, with the client's address and name.
fn slow_command(client: &Client, args: &Args<'_>, usec: u64) -> SlowCommand {
    SlowCommand {
        duration_us: usec,
        args: logged_args(args.iter(), &client.redacted),
        addr: client.peer_id(),
        name: if client.script {
            Vec::new()
        } else {
            client.handle.info.lock().name.clone()
        },
    }
}

/// What a parked blocking command leaves to record once it is served or unblocked.
#[derive(Debug)]
pub struct DeferredRecord {
    /// The command's index in the table.
    index: usize,
    /// How long its first run took.
    usec: u64,
    /// Its slow-log entry, prepared while its arguments were at hand (when the slow
    /// log is on and the command is not `skip_slowlog`).
    slow: Option<SlowCommand>,
}

impl DeferredRecord {
    /// Records the served command: its histogram, and the slow log if its duration
    /// reaches the threshold now in force.
    pub fn commit(self, server: &Server) {
        if server.stats.latency_tracking() {
            server.stats.command(self.index).record_latency(self.usec);
        }
        if let Some(slow) = self.slow.filter(|_| server.slowlog.wants(self.usec)) {
            server.slowlog.push(slow, now_ms() / 1000);
        }
    }
}

/// Calls a handler with the shards in `store` (EXEC and scripts lend the same locks
/// to every command they run, and get them back), adding what it leaves to do to
/// `effects`, then publishes the keyspace events recorded while it ran. `nested` is
/// true inside EXEC or a script: blocking commands then answer at once.
///
/// This is also where commands reach the append-only log: after the handler, while
/// the locks are still held, a write command that changed something is logged (see
/// [`crate::persist::hook`] for the rules, and for what EXEC and scripts must do).
///
/// # Returns
/// The handler's flow, and whether it failed.
#[allow(clippy::too_many_arguments)]
pub fn run_handler<'a>(
    server: &'a Server,
    client: &mut Client,
    out: &mut Vec<u8>,
    spec: &'static CommandSpec,
    args: Args<'_>,
    store: &mut Option<Locked<'a>>,
    now_ms: u64,
    effects: &mut Effects,
    nested: bool,
) -> (Flow, bool) {
    let protocol = client.protocol;
    let frame = persist::hook::enter(
        &mut effects.log,
        client.db,
        store.as_ref().map_or(0, Locked::changes),
    );
    let mut ctx = Ctx {
        server,
        client,
        out: ReplyWriter::new(out, protocol),
        store: store.take(),
        now_ms,
        spec,
        flow: Flow::Continue,
        effects,
        nested,
    };
    let result = (spec.handler)(&mut ctx, args);
    let failed = match result {
        Ok(()) => false,
        Err(error) => {
            ctx.out.error(&error.reply_bytes());
            true
        }
    };
    ctx.publish_store_events();
    let changes_after = ctx.store.as_ref().map_or(0, Locked::changes);
    persist::hook::leave(
        server,
        &mut ctx.effects.log,
        frame,
        spec,
        args,
        failed,
        changes_after,
        now_ms,
    );
    *store = ctx.store.take();
    (std::mem::take(&mut ctx.flow), failed)
}

/// Applies `CLIENT REPLY OFF|SKIP`: drops the reply just written when replies are off,
/// or when the previous command asked to skip this one.
fn apply_reply_mode(client: &mut Client, mode_before: ReplyMode, out: &mut Vec<u8>, start: usize) {
    match (mode_before, client.reply_mode) {
        (_, ReplyMode::Off) => out.truncate(start),
        (ReplyMode::SkipNext, after) => {
            out.truncate(start);
            if after == ReplyMode::SkipNext {
                client.reply_mode = ReplyMode::On;
            }
        }
        _ => {}
    }
}

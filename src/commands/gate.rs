//! The one gate every request passes through.
//!
//! The checks run in Redis's order, because clients and test suites observe it:
//! existence, arity, authentication, the RESP2 subscribed-mode rule, loading, then
//! `MULTI` queueing, and only then execution. A refused command gets an error reply
//! and, inside `MULTI`, marks the transaction so that `EXEC` aborts. Execution locks
//! the shards of the command's declared keys, runs the handler, renders its error if
//! it failed, and records statistics and the `MONITOR` feed.

use std::time::Instant;

use crate::commands::table::CommandTable;
use crate::commands::{CommandError, CommandSpec, Ctx, Effects, Flow, flags};
use crate::persist;
use crate::protocol::{Args, Protocol, ReplyWriter};
use crate::server::Server;
use crate::server::client::{Client, ReplyMode};
use crate::store::Locked;
use crate::util::clock::now_ms;

/// What the connection must do after a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Continue,
    /// Flush what is owed, then close.
    Close,
    /// Close at once, dropping even the replies owed (a cross-protocol attack).
    Abort,
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
        Err(error) => return reject(server, client, out, None, error),
    };
    if let Err(error) = admission(server, client, spec) {
        return reject(server, client, out, Some(spec), error);
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
    match flow {
        Flow::Continue => Outcome::Continue,
        Flow::Close => Outcome::Close,
    }
}

/// Finds the command (or subcommand) a request names, and checks its arity.
fn resolve(args: &Args<'_>) -> Result<&'static CommandSpec, CommandError> {
    let table = CommandTable::get();
    let name = &args[0];
    let Some(spec) = table.lookup(name) else {
        return Err(CommandError::UnknownCommand {
            name: name.to_vec(),
            args: args.iter().skip(1).map(<[u8]>::to_vec).collect(),
        });
    };
    if spec.subcommands.is_empty() || args.len() < 2 {
        return check_arity(spec, spec.name.to_string(), args.len());
    }
    match CommandTable::lookup_sub(spec, &args[1]) {
        Some(sub) => check_arity(sub, format!("{}|{}", spec.name, sub.name), args.len()),
        None => Err(CommandError::UnknownSubcommand {
            container: spec.name.to_string(),
            sub: args[1].to_vec(),
        }),
    }
}

fn check_arity(
    spec: &'static CommandSpec,
    full_name: String,
    argc: usize,
) -> Result<&'static CommandSpec, CommandError> {
    if spec.arity_ok(argc) {
        Ok(spec)
    } else {
        Err(CommandError::WrongArity(full_name))
    }
}

/// The checks between lookup and execution.
fn admission(
    server: &Server,
    client: &Client,
    spec: &'static CommandSpec,
) -> Result<(), CommandError> {
    if !client.authenticated && server.auth_required() && !spec.has(flags::NO_AUTH) {
        return Err(CommandError::NoAuth);
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
    Ok(())
}

/// Answers a refused command; inside `MULTI` the transaction will abort.
fn reject(
    server: &Server,
    client: &mut Client,
    out: &mut Vec<u8>,
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
    ReplyWriter::new(out, client.protocol).error(error.reply_text().as_bytes());
    Outcome::Continue
}

/// Locks what `spec` declares for this request.
pub fn lock_for<'a>(server: &'a Server, spec: &CommandSpec, args: &Args<'_>) -> Option<Locked<'a>> {
    if spec.has(flags::ALL_KEYS) {
        return Some(server.keyspace.lock_all());
    }
    if spec.has(flags::NO_KEYS) || spec.keys.first == 0 {
        return None;
    }
    let keyspace = &server.keyspace;
    let mask = keyspace.mask_of(spec.keys.positions(args.len()).map(|i| &args[i]));
    Some(keyspace.lock(mask))
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
    let started = Instant::now();
    let store = lock_for(server, spec, &args);
    let mut effects = Effects::default();
    let (flow, failed) = run_handler(
        server,
        client,
        out,
        spec,
        args,
        store,
        now_ms(),
        &mut effects,
    );
    let index = CommandTable::get().index(spec);
    server
        .stats
        .command(index)
        .record_call(started.elapsed().as_micros() as u64, failed);
    client.handle.set_last_command(index);
    if server.monitors_active() && !spec.has(flags::SKIP_MONITOR) && !spec.has(flags::ADMIN) {
        server.feed_monitors(client, &args);
    }
    flow
}

/// Calls a handler with an already-locked store (EXEC and scripts reuse their locks),
/// adding what it leaves to do to `effects`.
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
    store: Option<Locked<'a>>,
    now_ms: u64,
    effects: &mut Effects,
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
        store,
        now_ms,
        spec,
        flow: Flow::Continue,
        effects,
        nested: false,
    };
    let result = (spec.handler)(&mut ctx, args);
    let failed = match result {
        Ok(()) => false,
        Err(error) => {
            ctx.out.error(error.reply_text().as_bytes());
            true
        }
    };
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

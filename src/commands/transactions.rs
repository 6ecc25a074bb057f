//! Transactions: MULTI, EXEC, DISCARD, WATCH and UNWATCH, as Redis 7.0 has them.
//!
//! # Queueing
//! Between MULTI and EXEC the gate answers `+QUEUED` for every command except the
//! transaction controls (flag `TRANSACTION_CONTROL`: MULTI, EXEC, DISCARD, WATCH,
//! QUIT, RESET). A command refused before execution (unknown, wrong arity, ...) marks
//! the transaction, and EXEC then answers `EXECABORT`. `MULTI` nested and `WATCH`
//! inside MULTI answer errors but leave the transaction open and valid.
//!
//! # EXEC
//! EXEC locks, once, the union of the shards its queued commands declare and the
//! shards of the watched keys (every shard if a queued command needs them all), so
//! no other client sees any state between two of its commands. Under those locks it
//! checks the watches (a raised flag, or a watched key past its deadline), forgets
//! them, then runs each queued command through [`gate::run_handler`] with the same
//! locks, the same clock and the same [`crate::commands::Effects`], marked nested so
//! blocking commands answer at once. A runtime error is one element of the reply
//! array; the other commands still run. The locks are released when EXEC returns,
//! and the gate applies the collected effects once.
//!
//! # WATCH
//! WATCH registers the client's flag on each key, in the key's shard, under the lock
//! the gate took for the command; see [`crate::store::watch`] for what raises it.

use crate::util::clock::now_us;

use crate::commands::flags::*;
use crate::commands::gate;
use crate::commands::{CmdResult, CommandError, CommandSpec, Ctx, Flow};
use crate::protocol::Args;
use crate::server::client::{Client, Transaction};
use crate::store::Locked;

const NOKEYS: (i32, i32, i32) = (0, 0, 0);
const CONTROL: u32 = NOSCRIPT | LOADING | STALE | TRANSACTION_CONTROL | NO_KEYS;

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("multi", 1, CONTROL | FAST | ALLOW_BUSY, NOKEYS, multi).doc(
        "transactions",
        "1.2.0",
        "Starts a transaction.",
    ),
    CommandSpec::new("exec", 1, CONTROL | SKIP_SLOWLOG, NOKEYS, exec).doc(
        "transactions",
        "1.2.0",
        "Executes all commands in a transaction.",
    ),
    CommandSpec::new("discard", 1, CONTROL | FAST | ALLOW_BUSY, NOKEYS, discard).doc(
        "transactions",
        "2.0.0",
        "Discards a transaction.",
    ),
    CommandSpec::new(
        "watch",
        -2,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY | TRANSACTION_CONTROL,
        (1, -1, 1),
        watch,
    )
    .doc(
        "transactions",
        "2.2.0",
        "Monitors changes to keys to determine the execution of a transaction.",
    )
    .syntax("key [key ...]"),
    // Queued like any command inside MULTI, as in Redis.
    CommandSpec::new(
        "unwatch",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY | NO_KEYS,
        NOKEYS,
        unwatch,
    )
    .doc(
        "transactions",
        "2.2.0",
        "Forgets about watched keys of a transaction.",
    ),
];

fn multi(ctx: &mut Ctx<'_, '_>, _: Args<'_>) -> CmdResult {
    if ctx.client.transaction.is_some() {
        return Err(CommandError::NestedMulti);
    }
    ctx.client.transaction = Some(Transaction::default());
    ctx.out.ok();
    Ok(())
}

fn discard(ctx: &mut Ctx<'_, '_>, _: Args<'_>) -> CmdResult {
    if ctx.client.transaction.take().is_none() {
        return Err(CommandError::DiscardWithoutMulti);
    }
    forget_watches(ctx);
    ctx.out.ok();
    Ok(())
}

fn watch(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    if ctx.client.transaction.is_some() {
        return Err(CommandError::WatchInMulti);
    }
    let watched = &mut ctx.client.watched;
    // Once a watched key changed the next EXEC fails anyway: nothing more to watch.
    if !watched.flag.is_raised() {
        let (db, now) = (ctx.client.db, ctx.now_ms);
        let locked = ctx.store.as_mut().expect("the gate locks the watched keys");
        for key in args.iter().skip(1) {
            if !watched.contains(db, key) {
                locked.shard_for(key).dbs[db].watch(key, &watched.flag, now);
                watched.record(db, key);
            }
        }
    }
    ctx.out.ok();
    Ok(())
}

fn unwatch(ctx: &mut Ctx<'_, '_>, _: Args<'_>) -> CmdResult {
    forget_watches(ctx);
    ctx.out.ok();
    Ok(())
}

/// Forgets the client's watches (also RESET). Inside EXEC there are none left to
/// forget, as EXEC forgets them before running the queue.
pub fn forget_watches(ctx: &mut Ctx<'_, '_>) {
    ctx.client
        .watched
        .clear(&ctx.server.keyspace, ctx.store.as_mut());
}

fn exec(ctx: &mut Ctx<'_, '_>, _: Args<'_>) -> CmdResult {
    let Some(transaction) = ctx.client.transaction.take() else {
        return Err(CommandError::ExecWithoutMulti);
    };
    let server = ctx.server;
    if transaction.aborted {
        ctx.client.watched.clear(&server.keyspace, None);
        return Err(CommandError::ExecAbort);
    }
    let mut mask = ctx.client.watched.mask(&server.keyspace);
    for (spec, args) in &transaction.queued {
        mask |= gate::mask_for(server, spec, &args.args()).unwrap_or(0);
    }
    let mut store = match mask {
        0 => None,
        mask => Some(server.keyspace.lock_or_busy(mask)?),
    };
    let fired = watch_fired(ctx.client, store.as_mut(), ctx.now_ms);
    ctx.client.watched.clear(&server.keyspace, store.as_mut());
    if fired {
        ctx.out.null_array();
        return Ok(());
    }
    ctx.out.array_len(transaction.queued.len());
    for (spec, args) in &transaction.queued {
        let started = now_us();
        let args = args.args();
        let (flow, failed) = gate::run_handler(
            server,
            ctx.client,
            ctx.out.raw(),
            spec,
            args,
            &mut store,
            ctx.now_ms,
            ctx.effects,
            true,
        );
        gate::record_call(server, ctx.client, spec, &args, started, failed);
        if flow == Flow::Close {
            ctx.flow = Flow::Close;
        }
    }
    // Keep the locks until EXEC's own run_handler has logged the transaction as one
    // unit, so no other client's write can land in the log between its commands.
    ctx.store = store;
    Ok(())
}

/// Whether a watched key changed, or passed its deadline, since it was watched.
fn watch_fired(client: &Client, store: Option<&mut Locked<'_>>, now_ms: u64) -> bool {
    let watched = &client.watched;
    if watched.flag.is_raised() {
        return true;
    }
    let Some(locked) = store else {
        return false;
    };
    watched.keys().any(|(db, key)| {
        locked.shard_for(key).dbs[db].watched_key_expired(key, &watched.flag, now_ms)
    })
}

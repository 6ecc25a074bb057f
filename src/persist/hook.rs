//! How commands reach the log: the hook in [`crate::commands::gate::run_handler`].
//!
//! # What every command family gets for free
//! `run_handler` calls [`enter`] before a handler and [`leave`] after it, while the
//! command's shard locks are still held. `leave` logs the command **as sent** when
//! all of these hold:
//! * the command is declared `WRITE`;
//! * it did not fail;
//! * it changed something: [`crate::store::Locked::changes`] moved (every
//!   [`crate::store::DbView`] path that inserts, removes, sets a deadline or hands
//!   out mutable access to a live value bumps it, except
//!   [`crate::store::DbView::change_in_place`], which bumps it only when its caller
//!   reports a change), or the handler called
//!   [`crate::commands::Ctx::mark_changed`].
//!
//! So a new family (lists, hashes, sets, sorted sets...) is logged correctly without
//! any work, as long as its commands are deterministic and change data through
//! `DbView`.
//!
//! # When a handler must say what to log
//! Replay runs the logged commands again, each with the clock it originally ran at
//! (see [`crate::persist::record`]), so the logged form must give the same result.
//! A handler calls [`crate::commands::Ctx::propagate`] (once per command to log;
//! this replaces the as-sent form) when its request is not that:
//! * relative deadlines: `EXPIRE`, `SETEX`, `SET ... EX`, `GETEX` → `PEXPIREAT` or
//!   `SET ... PXAT` (done here for strings and keys);
//! * floating point: `INCRBYFLOAT` → `SET key result KEEPTTL`; `HINCRBYFLOAT` →
//!   `HSET key field result`;
//! * randomness: `SPOP` → `SREM` of the members it popped; `SRANDMEMBER` is a read;
//! * blocking hand-offs: a push whose element went straight to a blocked client logs
//!   the push and the pop it amounts to (`LPUSH q x` + `RPOP q`), and a blocked
//!   client served later logs its pop (`RPOP q`, `LMOVE src dst RIGHT LEFT`...).
//!   Several `propagate` calls in one command are written as one `MULTI`/`EXEC`
//!   unit, so replay applies all or none.
//!
//! [`crate::commands::Ctx::propagate_none`] logs nothing for a command that changed
//! nothing lasting.
//!
//! # Nesting: transactions and scripts
//! `EXEC` and scripts run each command through `run_handler`, passing their own
//! [`crate::commands::Effects`]. Nested commands' records are collected in that
//! `Effects`, and the outermost `run_handler` writes them as one `MULTI`/`EXEC` unit
//! when it returns. The outer command's own request (`EXEC`, `EVALSHA ...`) is not
//! logged when nested commands logged anything: scripts are logged by their effects,
//! so replay never needs the script. Two rules for that code:
//! * nested commands must go through `run_handler` (never call a handler directly);
//! * the outer command must hold its shard locks until its own `run_handler`
//!   returns, so that the unit is appended before any other client can touch those
//!   keys: an `EXEC` or `EVAL` handler that takes its locks into a local
//!   (`let mut store = Some(keyspace.lock(mask))`, passed as `&mut store` to each
//!   nested `run_handler`) ends with `ctx.store = store;`, handing them to its own
//!   context, which releases them after this hook ran.
//!
//! # Effects outside any command
//! Code that changes data with no command running calls
//! [`crate::store::Locked::propagate`] while holding the keys' locks (store code), or
//! [`crate::persist::Persistence::log_command`] (server code). The case in view is
//! serving a blocked client after the command that filled its key has returned:
//! once the hand-off to the waiter succeeded, and before the locks are released,
//! log the pop it amounts to (`RPOP key`, `LMOVE src dst RIGHT LEFT`,
//! `ZPOPMIN key`...); when the waiter was gone and the element is put back, log
//! nothing. The waiter's reply then waits for that record like any reply does.

use crate::commands::CommandSpec;
use crate::commands::flags::WRITE;
use crate::persist::record::Unit;
use crate::protocol::Args;
use crate::server::Server;

/// The log's share of a command's [`crate::commands::Effects`].
#[derive(Debug, Default)]
pub struct LogEffects {
    /// How many `run_handler` calls are running (1 while a top-level handler runs).
    depth: u32,
    /// Records of finished nested commands, written when the outermost returns.
    nested: Unit,
    /// How many changing commands `nested` stands for.
    nested_changes: u64,
    /// The running command's own choice of records (`Ctx::propagate`).
    explicit: Option<Unit>,
    /// Set by `Ctx::mark_changed`.
    marked: bool,
}

impl LogEffects {
    /// Adds a record to log for the running command, replacing its request.
    pub fn propagate<'a>(&mut self, db: usize, args: impl ExactSizeIterator<Item = &'a [u8]>) {
        self.explicit
            .get_or_insert_with(Unit::default)
            .push(db, args);
    }

    /// The running command logs nothing (unless it also calls `propagate`).
    pub fn propagate_none(&mut self) {
        self.explicit.get_or_insert_with(Unit::default);
    }

    /// The running command changed data the store's counter cannot see.
    pub fn mark_changed(&mut self) {
        self.marked = true;
    }

    /// Whether a top-level handler is running (depth 0 means none).
    pub fn nested(&self) -> bool {
        self.depth > 1
    }
}

/// What [`enter`] saves for [`leave`].
pub struct Frame {
    outer_explicit: Option<Unit>,
    outer_marked: bool,
    nested_before: usize,
    db: usize,
    changes_before: u64,
}

/// Called by `run_handler` before the handler runs in database `db`, with the
/// store's change count.
pub fn enter(log: &mut LogEffects, db: usize, changes_before: u64) -> Frame {
    log.depth += 1;
    Frame {
        outer_explicit: log.explicit.take(),
        outer_marked: std::mem::take(&mut log.marked),
        nested_before: log.nested.len(),
        db,
        changes_before,
    }
}

/// Called by `run_handler` after the handler, while the locks are still held:
/// decides what this command logs and, at the outermost level, appends it.
#[allow(clippy::too_many_arguments)]
pub fn leave(
    server: &Server,
    log: &mut LogEffects,
    frame: Frame,
    spec: &CommandSpec,
    args: Args<'_>,
    failed: bool,
    changes_after: u64,
    now_ms: u64,
) {
    log.depth -= 1;
    let explicit = std::mem::replace(&mut log.explicit, frame.outer_explicit);
    let marked = std::mem::replace(&mut log.marked, frame.outer_marked);
    let write = spec.has(WRITE);
    let changed = changes_after != frame.changes_before
        || marked
        || explicit.as_ref().is_some_and(|unit| !unit.is_empty());
    let persistence = &server.persistence;
    // Counted where it costs least: by the append that logs it, else (log off,
    // nested, logged as nothing) in a shared counter; not at all while loading,
    // since the count restarts once the dataset is in.
    let counts = write && changed && !failed;
    if !persistence.logging() {
        if counts && !server.is_loading() {
            persistence.note_dirty(1);
        }
        // The log is off (or was just turned off): drop what nested commands left,
        // once the outermost returns.
        if log.depth == 0 {
            log.nested.clear();
            log.nested_changes = 0;
        }
        return;
    }
    let children = log.nested.len().saturating_sub(frame.nested_before);
    let as_sent = children == 0 && counts;
    match explicit {
        Some(mut unit) => {
            if counts && unit.is_empty() {
                persistence.note_dirty(1);
            } else if counts {
                log.nested_changes += 1;
            }
            log.nested.append(&mut unit);
        }
        None if as_sent && log.depth == 0 && log.nested.is_empty() => {
            // The common case: one top-level command, encoded straight into the log.
            persistence.log_args(frame.db, args, now_ms);
            return;
        }
        None if as_sent => {
            log.nested_changes += 1;
            log.nested.push(frame.db, args.iter());
        }
        None => {}
    }
    if log.depth == 0 && !log.nested.is_empty() {
        persistence.log_unit(&log.nested, now_ms, log.nested_changes);
        log.nested.clear();
        log.nested_changes = 0;
    }
}

#[cfg(test)]
mod tests {
    use crate::commands::flags::{NO_KEYS, WRITE};
    use crate::commands::table::CommandTable;
    use crate::commands::{CmdResult, CommandSpec, Ctx, gate};
    use crate::config::Config;
    use crate::protocol::{Args, OwnedArgs};
    use crate::server::Server;
    use crate::server::client::{Client, ClientHandle};
    use std::sync::Arc;

    /// Stands in for EXEC or a script: runs `SET a 1`, `INCR n`, `SETNX a 2` (which
    /// changes nothing) through `run_handler`, sharing its effects.
    fn nested(ctx: &mut Ctx<'_, '_>, _: Args<'_>) -> CmdResult {
        let server = ctx.server;
        for words in [&["SET", "a", "1"][..], &["INCR", "n"], &["SETNX", "a", "2"]] {
            let owned = OwnedArgs::from_slices(words.iter().map(|w| w.as_bytes()));
            let args = owned.args();
            let spec = CommandTable::get().lookup(&args[0]).unwrap();
            let mut store = gate::lock_for(server, spec, &args).unwrap();
            let mut scratch = Vec::new();
            gate::run_handler(
                server,
                ctx.client,
                &mut scratch,
                spec,
                args,
                &mut store,
                ctx.now_ms,
                ctx.effects,
                true,
            );
        }
        Ok(())
    }

    /// A write whose request is not what it logs: two records, so a MULTI/EXEC unit.
    fn handoff(ctx: &mut Ctx<'_, '_>, _: Args<'_>) -> CmdResult {
        ctx.propagate(&[b"SET", b"q", b"x"]);
        ctx.propagate(&[b"DEL", b"q"]);
        ctx.out.ok();
        Ok(())
    }

    /// A write that says it logs nothing.
    fn quiet(ctx: &mut Ctx<'_, '_>, _: Args<'_>) -> CmdResult {
        ctx.mark_changed();
        ctx.propagate_none();
        ctx.out.ok();
        Ok(())
    }

    static NESTED: CommandSpec = CommandSpec::new("nested", 1, NO_KEYS, (0, 0, 0), nested);
    static HANDOFF: CommandSpec =
        CommandSpec::new("handoff", 1, WRITE | NO_KEYS, (0, 0, 0), handoff);
    static QUIET: CommandSpec = CommandSpec::new("quiet", 1, WRITE | NO_KEYS, (0, 0, 0), quiet);

    fn run(server: &Server, client: &mut Client, words: &[&str], spec: &'static CommandSpec) {
        let owned = OwnedArgs::from_slices(words.iter().map(|w| w.as_bytes()));
        let mut out = Vec::new();
        let mut store = gate::lock_for(server, spec, &owned.args()).unwrap();
        let mut effects = crate::commands::Effects::default();
        gate::run_handler(
            server,
            client,
            &mut out,
            spec,
            owned.args(),
            &mut store,
            1_000,
            &mut effects,
            false,
        );
    }

    fn command(name: &str) -> &'static CommandSpec {
        CommandTable::get().lookup(name.as_bytes()).unwrap()
    }

    #[test]
    fn nested_commands_are_logged_as_one_transaction_and_no_ops_are_not() {
        let dir = std::env::temp_dir().join(format!(
            "broker-hook-{}-{}",
            std::process::id(),
            crate::server::random_hex(8)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let config = Config {
            dir: dir.clone(),
            ..Config::default()
        };
        let server = Server::new(config);
        server.persistence.recover(&server).unwrap();
        let nowhere = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        let mut client = Client::new(Arc::new(ClientHandle::new(1, nowhere, nowhere)), true);
        run(&server, &mut client, &["nested"], &NESTED);
        run(&server, &mut client, &["SETNX", "a", "3"], command("setnx"));
        run(
            &server,
            &mut client,
            &["INCR", "not-a-number-key"],
            command("incr"),
        );
        run(&server, &mut client, &["SET", "s", "x"], command("set"));
        run(
            &server,
            &mut client,
            &["APPEND", "s", "y"],
            command("append"),
        );
        run(&server, &mut client, &["INCR", "s"], command("incr"));
        run(&server, &mut client, &["handoff"], &HANDOFF);
        run(&server, &mut client, &["quiet"], &QUIET);
        // A change made outside any command (a blocked client served later).
        let mask = 1 << server.keyspace.shard_of(b"q");
        server
            .keyspace
            .lock(mask)
            .propagate(0, 2_000, &[&[b"RPOP", b"q"]]);
        server.persistence.shutdown();
        let bytes = std::fs::read(dir.join("appendonly.aof")).unwrap();
        let start = bytes.windows(3).position(|w| w == b"#T:").unwrap();
        let log: Vec<String> = String::from_utf8_lossy(&bytes[start..])
            .split("\r\n")
            .filter(|line| !line.starts_with('*') && !line.starts_with('$') && !line.is_empty())
            .map(str::to_string)
            .collect();
        assert_eq!(
            log,
            [
                "#T:1000",
                "SELECT",
                "0",
                "MULTI",
                "SET",
                "a",
                "1",
                "INCR",
                "n",
                "EXEC",
                "INCR",
                "not-a-number-key",
                "SET",
                "s",
                "x",
                "APPEND",
                "s",
                "y",
                "MULTI",
                "SET",
                "q",
                "x",
                "DEL",
                "q",
                "EXEC",
                "#T:2000",
                "RPOP",
                "q",
            ],
            "{log:?}"
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}

//! Scripting commands: `EVAL`, `EVALSHA`, their read-only forms, and `SCRIPT`.
//!
//! The handlers parse arguments and apply Redis's checks in Redis's order; running a
//! script, and what its commands may do, is [`crate::scripting`]'s job.

use crate::commands::connection::help_reply;
use crate::commands::flags::*;
use crate::commands::{CmdResult, CommandError, CommandSpec, Ctx, container_handler, int_arg};
use crate::protocol::Args;
use crate::scripting::{KillOutcome, ServerHost, write_reply};
use crate::util::blocking::off_the_runtime;

const NOKEYS: (i32, i32, i32) = (0, 0, 0);

/// A script may touch any key (even ones it did not declare), so it locks every shard.
/// Its shebang, if any, says whether it writes.
const EVAL_FLAGS: u32 = NOSCRIPT | STALE | SKIP_MONITOR | ALL_KEYS | SHEBANG_FLAGS;

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("eval", -3, EVAL_FLAGS | MAY_REPLICATE, NOKEYS, eval)
        .doc("scripting", "2.6.0", "Executes a server-side Lua script.")
        .syntax("script numkeys [key [key ...]] [arg [arg ...]]"),
    CommandSpec::new("evalsha", -3, EVAL_FLAGS | MAY_REPLICATE, NOKEYS, evalsha)
        .doc(
            "scripting",
            "2.6.0",
            "Executes a server-side Lua script by SHA1 digest.",
        )
        .syntax("sha1 numkeys [key [key ...]] [arg [arg ...]]"),
    CommandSpec::new("eval_ro", -3, READONLY | EVAL_FLAGS, NOKEYS, eval_ro)
        .doc(
            "scripting",
            "7.0.0",
            "Executes a read-only server-side Lua script.",
        )
        .syntax("script numkeys [key [key ...]] [arg [arg ...]]"),
    CommandSpec::new("evalsha_ro", -3, READONLY | EVAL_FLAGS, NOKEYS, evalsha_ro)
        .doc(
            "scripting",
            "7.0.0",
            "Executes a read-only server-side Lua script by SHA1 digest.",
        )
        .syntax("sha1 numkeys [key [key ...]] [arg [arg ...]]"),
    CommandSpec::new("script", -2, 0, NOKEYS, container_handler)
        .doc(
            "scripting",
            "2.6.0",
            "A container for Lua scripts management commands.",
        )
        .subs(SCRIPT_SUBCOMMANDS),
];

static SCRIPT_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new("load", 3, NOSCRIPT | STALE, NOKEYS, script_load)
        .doc(
            "scripting",
            "2.6.0",
            "Loads a server-side Lua script to the script cache.",
        )
        .syntax("script"),
    CommandSpec::new("exists", -3, NOSCRIPT, NOKEYS, script_exists)
        .doc(
            "scripting",
            "2.6.0",
            "Determines whether server-side Lua scripts exist in the script cache.",
        )
        .syntax("sha1 [sha1 ...]"),
    CommandSpec::new("flush", -2, NOSCRIPT, NOKEYS, script_flush)
        .doc(
            "scripting",
            "2.6.0",
            "Removes all server-side Lua scripts from the script cache.",
        )
        .syntax("[ASYNC | SYNC]:async"),
    CommandSpec::new("kill", 2, NOSCRIPT | ALLOW_BUSY, NOKEYS, script_kill).doc(
        "scripting",
        "2.6.0",
        "Terminates a server-side Lua script during execution.",
    ),
    CommandSpec::new("debug", 3, NOSCRIPT, NOKEYS, script_debug)
        .doc(
            "scripting",
            "3.2.0",
            "Sets the debug mode of server-side Lua scripts.",
        )
        .syntax("<YES | SYNC | NO>:mode"),
    CommandSpec::new("help", 2, LOADING | STALE, NOKEYS, script_help).doc(
        "scripting",
        "5.0.0",
        "Returns helpful text about the different subcommands.",
    ),
];

fn eval(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    run(ctx, args, false, false)
}

fn evalsha(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    run(ctx, args, true, false)
}

fn eval_ro(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    run(ctx, args, false, true)
}

fn evalsha_ro(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    run(ctx, args, true, true)
}

/// Runs a script given by body or by SHA1, with the checks in Redis's order: a SHA1
/// of the wrong length, the number of keys, the script itself (compile error or
/// unknown SHA1), then its flags against the command used.
fn run(ctx: &mut Ctx<'_, '_>, args: Args<'_>, by_sha: bool, ro_command: bool) -> CmdResult {
    let server = ctx.server;
    // EVAL is fed to MONITOR before the commands it runs (it skips the gate's feed,
    // which comes after the command), as Redis shows it.
    if server.monitors_active() {
        server.feed_monitors(ctx.client, &args);
    }
    if by_sha && args[1].len() != 40 {
        return Err(CommandError::NoScript);
    }
    let numkeys = int_arg(&args[2])?;
    if numkeys > args.len() as i64 - 3 {
        return Err(CommandError::NumkeysExceedArgs);
    }
    if numkeys < 0 {
        return Err(CommandError::NumKeysNegative);
    }
    let mut engine = server.scripting.engine(server)?;
    let (sha, flags) = if by_sha {
        engine.find(&args[1]).ok_or(CommandError::NoScript)?
    } else {
        match engine.load(&args[1]) {
            Ok(sha) => engine.find(sha.as_bytes()).expect("just loaded"),
            Err(compile_error) => {
                ctx.out.reply(&compile_error);
                return Ok(());
            }
        }
    };
    if ro_command && flags.shebang && !flags.no_writes {
        return Err(CommandError::ScriptWriteFlagRo);
    }
    let read_only = ro_command || (flags.shebang && flags.no_writes);
    let split = 3 + numkeys as usize;
    let keys: Vec<&[u8]> = args.iter().take(split).skip(3).collect();
    let argv: Vec<&[u8]> = args.iter().skip(split).collect();
    let limit_ms = server.config.read().lua_time_limit;
    let reply = {
        let _running = server.keyspace.busy.begin(limit_ms);
        let mut host = ServerHost::new(
            server,
            &mut ctx.store,
            ctx.effects,
            ctx.client.db,
            ctx.now_ms,
            read_only,
        );
        off_the_runtime(|| engine.run(&sha, &keys, &argv, &mut host))
    };
    write_reply(&mut ctx.out, reply);
    Ok(())
}

fn script_load(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let loaded = ctx.server.scripting.engine(ctx.server)?.load(&args[2]);
    match loaded {
        Ok(sha) => ctx.out.bulk(sha.as_bytes()),
        Err(compile_error) => ctx.out.reply(&compile_error),
    }
    Ok(())
}

fn script_exists(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let engine = ctx.server.scripting.engine(ctx.server)?;
    ctx.out.array_len(args.len() - 2);
    for sha in args.iter().skip(2) {
        ctx.out.int(engine.exists(sha) as i64);
    }
    Ok(())
}

fn script_flush(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    // The cache is small and a fresh interpreter is cheap, so ASYNC flushes at once.
    match args.get(2) {
        None => {}
        Some(mode) if mode.eq_ignore_ascii_case(b"ASYNC") || mode.eq_ignore_ascii_case(b"SYNC") => {
        }
        Some(_) => return Err(CommandError::ScriptFlushMode),
    }
    if args.len() > 3 {
        return Err(CommandError::ScriptFlushMode);
    }
    ctx.server.scripting.engine(ctx.server)?.flush();
    ctx.out.ok();
    Ok(())
}

fn script_kill(ctx: &mut Ctx<'_, '_>, _: Args<'_>) -> CmdResult {
    match ctx.server.scripting.kill() {
        KillOutcome::Killed => {
            ctx.out.ok();
            Ok(())
        }
        KillOutcome::NotBusy => Err(CommandError::NotBusy),
        KillOutcome::Unkillable => Err(CommandError::Unkillable),
    }
}

fn script_debug(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let mode = &args[2];
    if mode.eq_ignore_ascii_case(b"NO") {
        ctx.out.ok();
        Ok(())
    } else if mode.eq_ignore_ascii_case(b"YES") || mode.eq_ignore_ascii_case(b"SYNC") {
        Err(CommandError::ScriptDebugUnsupported)
    } else {
        Err(CommandError::ScriptDebugMode)
    }
}

fn script_help(ctx: &mut Ctx<'_, '_>, _: Args<'_>) -> CmdResult {
    help_reply(
        ctx,
        "SCRIPT",
        &[
            "EXISTS <sha1> [<sha1> ...] -- Tell which of the given SHA1 digests are cached scripts.",
            "FLUSH [ASYNC|SYNC] -- Empty the script cache.",
            "KILL -- Stop the running script, unless it has already written.",
            "LOAD <script> -- Cache a script without running it; return its SHA1 digest.",
            "DEBUG NO -- The Lua debugger is not available; only NO is accepted.",
        ],
    );
    Ok(())
}

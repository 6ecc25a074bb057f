//! Persistence commands: SAVE, BGSAVE, BGREWRITEAOF (LASTSAVE and SHUTDOWN live with
//! the server commands). The machinery is in [`crate::persist`].

use crate::commands::flags::*;
use crate::commands::{CmdResult, CommandError, CommandSpec, Ctx};
use crate::persist::JobRefusal;
use crate::protocol::Args;

const NOKEYS: (i32, i32, i32) = (0, 0, 0);

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "save",
        1,
        ADMIN | NOSCRIPT | NO_MULTI | ALL_KEYS,
        NOKEYS,
        save,
    )
    .doc(
        "server",
        "1.0.0",
        "Synchronously saves the database(s) to disk.",
    ),
    CommandSpec::new("bgsave", -1, ADMIN | NOSCRIPT | NO_KEYS, NOKEYS, bgsave)
        .doc(
            "server",
            "1.0.0",
            "Asynchronously saves the database(s) to disk.",
        )
        .syntax("[SCHEDULE]"),
    CommandSpec::new(
        "bgrewriteaof",
        1,
        ADMIN | NOSCRIPT | NO_KEYS,
        NOKEYS,
        bgrewriteaof,
    )
    .doc(
        "server",
        "1.0.0",
        "Asynchronously rewrites the append-only file to disk.",
    ),
];

fn save(ctx: &mut Ctx<'_, '_>, _: Args<'_>) -> CmdResult {
    let server = ctx.server;
    let result = server.persistence.save_locked(ctx.locked());
    match result {
        Ok(_) => {
            ctx.out.ok();
            Ok(())
        }
        Err(error) => {
            tracing::warn!(%error, "SAVE failed");
            Err(CommandError::err(error.to_string()))
        }
    }
}

fn bgsave(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let schedule = match args.get(1) {
        None => false,
        Some(word) if args.len() == 2 && word.eq_ignore_ascii_case(b"SCHEDULE") => true,
        Some(_) => return Err(CommandError::Syntax),
    };
    match ctx.server.persistence.background_save(schedule) {
        Ok(()) => ctx.out.simple(b"Background saving started"),
        Err(JobRefusal::Scheduled) => ctx.out.simple(b"Background saving scheduled"),
        Err(JobRefusal::AlreadyRunning) => {
            return Err(CommandError::err("Background save already in progress"));
        }
        Err(_) => {
            return Err(CommandError::err(
                "Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.",
            ));
        }
    }
    Ok(())
}

fn bgrewriteaof(ctx: &mut Ctx<'_, '_>, _: Args<'_>) -> CmdResult {
    match ctx.server.persistence.background_rewrite() {
        Ok(()) => ctx
            .out
            .simple(b"Background append only file rewriting started"),
        Err(JobRefusal::Scheduled) => ctx
            .out
            .simple(b"Background append only file rewriting scheduled"),
        Err(JobRefusal::AlreadyRunning) => {
            return Err(CommandError::err(
                "Background append only file rewriting already in progress",
            ));
        }
        Err(JobRefusal::LogOff) => {
            return Err(CommandError::err(
                "The append only file is off; turn it on with CONFIG SET appendonly yes",
            ));
        }
        Err(JobRefusal::Busy) => {
            return Err(CommandError::err(
                "Another background job is running; try again later",
            ));
        }
    }
    Ok(())
}

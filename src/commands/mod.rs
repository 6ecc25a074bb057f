//! Commands: declared as data, dispatched through one gate.
//!
//! Each family module (`strings`, `keys`, ...) exports a `COMMANDS` slice of
//! [`CommandSpec`]s: name, Redis arity (negative means "at least"), flags, the
//! positions of its keys, its handler and its documentation. [`table`] gathers them
//! into the lookup used by [`gate::dispatch`], which performs every check Redis
//! performs before a command runs (existence, arity, authentication, subscribed
//! mode, loading, transactions), locks the shards of the declared keys, and calls the
//! handler. Handlers receive a [`Ctx`] and write their reply through its typed
//! writer; an `Err` they return is rendered by the gate from the error catalogue.

pub mod acl;
pub mod bits;
pub mod blocking;
pub mod categories;
pub mod collections;
pub mod connection;
pub mod context;
pub mod diagnostics;
pub mod docs;
pub mod error;
pub mod gate;
pub mod hashes;
pub mod keys;
pub mod lists;
pub mod memory;
pub mod persistence;
pub mod pubsub;
pub mod scripting;
pub mod server;
pub mod sets;
pub mod strings;
pub mod table;
pub mod transactions;
pub mod wait;
pub mod zsets;

pub use context::{Ctx, Effects, Flow};
pub use error::CommandError;

use crate::protocol::Args;

/// What a handler returns; the reply itself is written through the context.
pub type CmdResult = Result<(), CommandError>;

/// A command's implementation.
pub type Handler = fn(&mut Ctx<'_, '_>, Args<'_>) -> CmdResult;

/// Command flags, as Redis documents them in `COMMAND INFO`, plus the server's own.
pub mod flags {
    pub const WRITE: u32 = 1 << 0;
    pub const READONLY: u32 = 1 << 1;
    pub const DENYOOM: u32 = 1 << 2;
    pub const ADMIN: u32 = 1 << 3;
    pub const PUBSUB: u32 = 1 << 4;
    pub const NOSCRIPT: u32 = 1 << 5;
    pub const BLOCKING: u32 = 1 << 6;
    pub const LOADING: u32 = 1 << 7;
    pub const STALE: u32 = 1 << 8;
    pub const SKIP_MONITOR: u32 = 1 << 9;
    pub const FAST: u32 = 1 << 10;
    pub const NO_AUTH: u32 = 1 << 11;
    pub const ALLOW_BUSY: u32 = 1 << 12;
    pub const NO_MULTI: u32 = 1 << 13;
    /// Runs even inside MULTI instead of being queued (MULTI, EXEC, DISCARD, WATCH...).
    pub const TRANSACTION_CONTROL: u32 = 1 << 14;
    /// Allowed on a RESP2 connection in subscribed mode.
    pub const SUBSCRIBED_OK: u32 = 1 << 15;
    /// Touches keys that cannot be declared up front: every shard is locked.
    pub const ALL_KEYS: u32 = 1 << 16;
    /// Holds no keys at all: no shard is locked.
    pub const NO_KEYS: u32 = 1 << 17;
    /// Never goes to the slow log itself (EXEC: the commands it runs do).
    pub const SKIP_SLOWLOG: u32 = 1 << 18;
    /// May propagate something without being a write command (PUBLISH, scripts):
    /// held by `CLIENT PAUSE WRITE` like a write. Redis 7.0 hides this flag from
    /// `COMMAND INFO`, so it has no name here either.
    pub const MAY_REPLICATE: u32 = 1 << 19;
    /// Runs a script whose `#!lua flags=...` line, when it has one, replaces the
    /// command's own write flags (EVAL and its relatives).
    pub const SHEBANG_FLAGS: u32 = 1 << 20;

    /// Names for `COMMAND INFO`, in Redis's order.
    pub const NAMES: &[(u32, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (PUBSUB, "pubsub"),
        (NOSCRIPT, "noscript"),
        (BLOCKING, "blocking"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (SKIP_MONITOR, "skip_monitor"),
        (SKIP_SLOWLOG, "skip_slowlog"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (ALLOW_BUSY, "allow_busy"),
        (NO_MULTI, "no_multi"),
    ];
}

/// Where a command's keys sit among its arguments (Redis's first/last/step triple;
/// `last` may be negative, counting from the end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySpec {
    pub first: i32,
    pub last: i32,
    pub step: i32,
}

impl KeySpec {
    pub const NONE: KeySpec = KeySpec {
        first: 0,
        last: 0,
        step: 0,
    };

    /// The argument indexes holding keys, for a request of `argc` arguments.
    pub fn positions(&self, argc: usize) -> impl Iterator<Item = usize> {
        let argc = argc as i32;
        let last = if self.last < 0 {
            argc + self.last
        } else {
            self.last.min(argc - 1)
        };
        let (first, step) = (self.first, self.step.max(1));
        (first..=last)
            .step_by(step as usize)
            .filter(move |_| first > 0)
            .map(|i| i as usize)
    }
}

/// One command (or subcommand) declared as data.
pub struct CommandSpec {
    /// Lower-case name (for a subcommand, the part after the container's name).
    pub name: &'static str,
    /// Redis arity: exact count including the name, or at least `-arity`.
    pub arity: i32,
    pub flags: u32,
    pub keys: KeySpec,
    pub handler: Handler,
    pub group: &'static str,
    pub since: &'static str,
    pub summary: &'static str,
    /// For container commands (`CLIENT`, `CONFIG`...): their subcommands.
    pub subcommands: &'static [CommandSpec],
    /// The arguments in redis.io's notation, for `COMMAND DOCS` (see [`docs`]).
    pub syntax: &'static str,
    /// The ACL categories Redis lists for the command, when they are not the one its
    /// group names (see [`categories`]); those its flags imply are added to either.
    pub acl: Option<u32>,
}

impl CommandSpec {
    /// A command with the given name, arity, flags, key positions and handler.
    pub const fn new(
        name: &'static str,
        arity: i32,
        flags: u32,
        keys: (i32, i32, i32),
        handler: Handler,
    ) -> Self {
        CommandSpec {
            name,
            arity,
            flags,
            keys: KeySpec {
                first: keys.0,
                last: keys.1,
                step: keys.2,
            },
            handler,
            group: "generic",
            since: "1.0.0",
            summary: "",
            subcommands: &[],
            syntax: "",
            acl: None,
        }
    }

    /// Sets the documentation shown by `COMMAND DOCS`.
    pub const fn doc(
        mut self,
        group: &'static str,
        since: &'static str,
        summary: &'static str,
    ) -> Self {
        self.group = group;
        self.since = since;
        self.summary = summary;
        self
    }

    /// Documents the arguments, in redis.io's notation (see [`docs`]).
    pub const fn syntax(mut self, syntax: &'static str) -> Self {
        self.syntax = syntax;
        self
    }

    /// Lists the command's ACL categories instead of its group's (see [`categories`]).
    pub const fn acl(mut self, categories: u32) -> Self {
        self.acl = Some(categories);
        self
    }

    /// Declares subcommands, making this a container command.
    pub const fn subs(mut self, subcommands: &'static [CommandSpec]) -> Self {
        self.subcommands = subcommands;
        self
    }

    pub fn has(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }

    /// Whether `argc` arguments satisfy the arity.
    pub fn arity_ok(&self, argc: usize) -> bool {
        let argc = argc as i32;
        if self.arity >= 0 {
            argc == self.arity
        } else {
            argc >= -self.arity
        }
    }
}

/// Parses an integer argument.
pub fn int_arg(arg: &[u8]) -> Result<i64, CommandError> {
    crate::util::numbers::parse_i64(arg).ok_or(CommandError::NotInteger)
}

/// Parses an integer argument that must lie in `min..=max` (Redis's
/// `getRangeLongFromObjectOrReply`): `error` replaces both the not-an-integer and the
/// out-of-range errors when given, as the command's own message does in Redis.
pub fn range_arg(
    arg: &[u8],
    min: i64,
    max: i64,
    error: Option<CommandError>,
) -> Result<i64, CommandError> {
    let value = match int_arg(arg) {
        Ok(value) => value,
        Err(not_integer) => return Err(error.unwrap_or(not_integer)),
    };
    if value < min || value > max {
        return Err(error.unwrap_or(CommandError::OutOfRangeBetween(min, max)));
    }
    Ok(value)
}

/// Parses a count that must be zero or more (Redis's `getPositiveLongFromObjectOrReply`).
pub fn positive_arg(arg: &[u8], error: Option<CommandError>) -> Result<usize, CommandError> {
    let error = error.unwrap_or(CommandError::MustBePositive);
    Ok(range_arg(arg, 0, i64::MAX, Some(error))? as usize)
}

/// Parses an argument Redis reads as a C `int` (database indexes): a non-integer is
/// `value is not an integer or out of range`, an integer outside 32 bits gets
/// Redis's range message.
pub fn int32_arg(arg: &[u8]) -> Result<i64, CommandError> {
    range_arg(arg, i32::MIN.into(), i32::MAX.into(), None)
}

/// Parses a float argument (scores, increments).
pub fn float_arg(arg: &[u8]) -> Result<f64, CommandError> {
    crate::util::numbers::parse_f64(arg).ok_or(CommandError::NotFloat)
}

/// The key/value (or field/value, name/value) pairs filling the arguments from
/// `first` on (MSET, HSET, CONFIG SET); a pair left incomplete is an arity error
/// for `command`.
pub fn arg_pairs<'a>(
    args: &'a Args<'_>,
    first: usize,
    command: &str,
) -> Result<impl Iterator<Item = (&'a [u8], &'a [u8])> + Clone, CommandError> {
    if (args.len() - first) % 2 != 0 {
        return Err(CommandError::WrongArity(command.into()));
    }
    Ok((first..args.len())
        .step_by(2)
        .map(|i| (&args[i][..], &args[i + 1][..])))
}

/// Handler of container commands called without a subcommand they know; never
/// reached, since the gate answers those itself.
pub fn container_handler(_: &mut Ctx<'_, '_>, _: Args<'_>) -> CmdResult {
    Err(CommandError::Syntax)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_positions() {
        let one = KeySpec {
            first: 1,
            last: 1,
            step: 1,
        };
        assert_eq!(one.positions(3).collect::<Vec<_>>(), [1]);
        let pairs = KeySpec {
            first: 1,
            last: -1,
            step: 2,
        };
        assert_eq!(pairs.positions(5).collect::<Vec<_>>(), [1, 3]);
        let all_but_last = KeySpec {
            first: 1,
            last: -2,
            step: 1,
        };
        assert_eq!(all_but_last.positions(5).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(KeySpec::NONE.positions(4).count(), 0);
    }
}

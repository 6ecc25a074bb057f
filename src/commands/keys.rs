//! Generic key commands: existence, deletion, expiry, renaming, iteration.

use crate::commands::categories;
use crate::commands::connection::help_reply;
use crate::commands::flags::*;
use crate::commands::{
    CmdResult, CommandError, CommandSpec, Ctx, container_handler, int_arg, int32_arg,
};
use crate::protocol::Args;
use crate::pubsub::notify::class;
use crate::store::{Entry, SHARD_COUNT, Value};
use crate::util::glob::glob_match;
use crate::util::numbers::parse_i64;
use crate::util::random;

const ONE_KEY: (i32, i32, i32) = (1, 1, 1);
const ALL: (i32, i32, i32) = (1, -1, 1);
const TWO_KEYS: (i32, i32, i32) = (1, 2, 1);
const NOKEYS: (i32, i32, i32) = (0, 0, 0);

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("del", -2, WRITE, ALL, del)
        .doc("generic", "1.0.0", "Deletes one or more keys.")
        .syntax("key [key ...]"),
    CommandSpec::new("unlink", -2, WRITE | FAST, ALL, del)
        .doc("generic", "4.0.0", "Asynchronously deletes one or more keys.")
        .syntax("key [key ...]"),
    CommandSpec::new("exists", -2, READONLY | FAST, ALL, exists)
        .doc("generic", "1.0.0", "Determines whether one or more keys exist.")
        .syntax("key [key ...]"),
    CommandSpec::new("touch", -2, READONLY | FAST, ALL, exists)
        .doc("generic", "3.2.1", "Returns the number of existing keys out of those specified after updating the time they were last accessed.")
        .syntax("key [key ...]"),
    CommandSpec::new("type", 2, READONLY | FAST, ONE_KEY, type_of)
        .doc("generic", "1.0.0", "Determines the type of value stored at a key.")
        .syntax("key"),
    CommandSpec::new("expire", -3, WRITE | FAST, ONE_KEY, expire)
        .doc("generic", "1.0.0", "Sets the expiration time of a key in seconds.")
        .syntax("key seconds [NX | XX | GT | LT]:condition"),
    CommandSpec::new("pexpire", -3, WRITE | FAST, ONE_KEY, pexpire)
        .doc("generic", "2.6.0", "Sets the expiration time of a key in milliseconds.")
        .syntax("key milliseconds [NX | XX | GT | LT]:condition"),
    CommandSpec::new("expireat", -3, WRITE | FAST, ONE_KEY, expireat)
        .doc("generic", "1.2.0", "Sets the expiration time of a key to a Unix timestamp.")
        .syntax("key unix-time-seconds [NX | XX | GT | LT]:condition"),
    CommandSpec::new("pexpireat", -3, WRITE | FAST, ONE_KEY, pexpireat)
        .doc("generic", "2.6.0", "Sets the expiration time of a key to a Unix milliseconds timestamp.")
        .syntax("key unix-time-milliseconds [NX | XX | GT | LT]:condition"),
    CommandSpec::new("ttl", 2, READONLY | FAST, ONE_KEY, ttl)
        .doc("generic", "1.0.0", "Returns the expiration time in seconds of a key.")
        .syntax("key"),
    CommandSpec::new("pttl", 2, READONLY | FAST, ONE_KEY, pttl)
        .doc("generic", "2.6.0", "Returns the expiration time in milliseconds of a key.")
        .syntax("key"),
    CommandSpec::new("expiretime", 2, READONLY | FAST, ONE_KEY, expiretime)
        .doc("generic", "7.0.0", "Returns the expiration time of a key as a Unix timestamp.")
        .syntax("key"),
    CommandSpec::new("pexpiretime", 2, READONLY | FAST, ONE_KEY, pexpiretime)
        .doc("generic", "7.0.0", "Returns the expiration time of a key as a Unix milliseconds timestamp.")
        .syntax("key"),
    CommandSpec::new("persist", 2, WRITE | FAST, ONE_KEY, persist)
        .doc("generic", "2.2.0", "Removes the expiration time of a key.")
        .syntax("key"),
    CommandSpec::new("keys", 2, READONLY | ALL_KEYS, NOKEYS, keys)
        .doc("generic", "1.0.0", "Returns all key names that match a pattern.")
        .syntax("pattern")
        .acl(categories::KEYSPACE | categories::DANGEROUS),
    CommandSpec::new("scan", -2, READONLY | ALL_KEYS, NOKEYS, scan)
        .doc("generic", "2.8.0", "Iterates over the key names in the database.")
        .syntax("cursor [MATCH pattern] [COUNT count] [TYPE type]"),
    CommandSpec::new("randomkey", 1, READONLY | ALL_KEYS, NOKEYS, randomkey)
        .doc("generic", "1.0.0", "Returns a random key name from the database."),
    CommandSpec::new("rename", 3, WRITE, TWO_KEYS, rename)
        .doc("generic", "1.0.0", "Renames a key and overwrites the destination.")
        .syntax("key newkey"),
    CommandSpec::new("renamenx", 3, WRITE | FAST, TWO_KEYS, renamenx)
        .doc("generic", "1.0.0", "Renames a key only when the target key name doesn't exist.")
        .syntax("key newkey"),
    CommandSpec::new("copy", -3, WRITE | DENYOOM, TWO_KEYS, copy)
        .doc("generic", "6.2.0", "Copies the value of a key to a new key.")
        .syntax("source destination [DB destination-db] [REPLACE]"),
    CommandSpec::new("move", 3, WRITE | FAST, ONE_KEY, move_key)
        .doc("generic", "1.0.0", "Moves a key to another database.")
        .syntax("key db"),
    CommandSpec::new("object", -2, 0, NOKEYS, container_handler)
        .doc("generic", "2.2.3", "A container for object introspection commands.")
        .subs(OBJECT_SUBCOMMANDS),
];

static OBJECT_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new("encoding", 3, READONLY, (2, 2, 1), object_encoding)
        .doc(
            "generic",
            "2.2.3",
            "Returns the internal encoding of a Redis object.",
        )
        .syntax("key"),
    CommandSpec::new("refcount", 3, READONLY, (2, 2, 1), object_refcount)
        .doc(
            "generic",
            "2.2.3",
            "Returns the reference count of a value of a key.",
        )
        .syntax("key"),
    CommandSpec::new("idletime", 3, READONLY, (2, 2, 1), object_idletime)
        .doc(
            "generic",
            "2.2.3",
            "Returns the time since the last access to a Redis object.",
        )
        .syntax("key"),
    CommandSpec::new("freq", 3, READONLY, (2, 2, 1), object_freq)
        .doc(
            "generic",
            "4.0.0",
            "Returns the logarithmic access frequency counter of a Redis object.",
        )
        .syntax("key"),
    CommandSpec::new("help", 2, LOADING | STALE, NOKEYS, object_help).doc(
        "generic",
        "6.2.0",
        "Returns helpful text about the different subcommands.",
    ),
];

fn del(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let mut removed = 0;
    for key in args.iter().skip(1) {
        if ctx.db().remove(key).is_some() {
            removed += 1;
            ctx.notify(class::GENERIC, "del", key);
        }
    }
    ctx.out.int(removed);
    Ok(())
}

fn exists(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let (mut db, out) = ctx.db_and_out();
    let found = args
        .iter()
        .skip(1)
        .filter(|key| db.read(key).is_some())
        .count();
    out.int(found as i64);
    Ok(())
}

fn type_of(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let (mut db, out) = ctx.db_and_out();
    let name = db
        .read(&args[1])
        .map_or("none", |e| e.value.value_type().name());
    out.simple(name.as_bytes());
    Ok(())
}

/// EXPIRE's NX/XX/GT/LT conditions.
#[derive(Default, Clone, Copy)]
struct ExpireCondition {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

impl ExpireCondition {
    fn parse(args: &Args<'_>) -> Result<Self, CommandError> {
        let mut condition = ExpireCondition::default();
        for option in args.iter().skip(3) {
            match &option.to_ascii_uppercase()[..] {
                b"NX" => condition.nx = true,
                b"XX" => condition.xx = true,
                b"GT" => condition.gt = true,
                b"LT" => condition.lt = true,
                _ => {
                    return Err(CommandError::echo("Unsupported option ", option, ""));
                }
            }
        }
        if condition.nx && (condition.xx || condition.gt || condition.lt) {
            return Err(CommandError::err(
                "NX and XX, GT or LT options at the same time are not compatible",
            ));
        }
        if condition.gt && condition.lt {
            return Err(CommandError::err(
                "GT and LT options at the same time are not compatible",
            ));
        }
        Ok(condition)
    }

    /// Whether a key whose deadline is `current` (None = persistent) may get `new`.
    fn allows(self, current: Option<u64>, new: u64) -> bool {
        match current {
            None => !(self.xx || self.gt),
            Some(current) => {
                let refused = self.nx || (self.gt && new <= current) || (self.lt && new >= current);
                !refused
            }
        }
    }
}

fn expire_generic(
    ctx: &mut Ctx<'_, '_>,
    args: Args<'_>,
    unit_ms: i64,
    absolute: bool,
    name: &str,
) -> CmdResult {
    // Redis reads the options before the time: a bad option wins over a bad time.
    let condition = ExpireCondition::parse(&args)?;
    let amount = int_arg(&args[2])?;
    let invalid = || CommandError::InvalidExpireTime(name.to_string());
    let millis = amount.checked_mul(unit_ms).ok_or_else(invalid)?;
    let at = if absolute {
        millis
    } else {
        millis.checked_add(ctx.now_ms as i64).ok_or_else(invalid)?
    };
    let now = ctx.now_ms as i64;
    let (mut db, out) = ctx.db_and_out();
    let key = &args[1];
    let Some(entry) = db.peek(key) else {
        out.int(0);
        return Ok(());
    };
    let new = at.max(0) as u64;
    if !condition.allows(entry.expire_at(), new) {
        out.int(0);
        return Ok(());
    }
    // Logged as what it did, with an absolute deadline, whatever the form sent.
    let mut digits = itoa::Buffer::new();
    let event = if at <= now {
        db.remove(key);
        out.int(1);
        ctx.propagate(&[b"DEL", key]);
        "del"
    } else {
        db.set_expire(key, new);
        out.int(1);
        ctx.propagate(&[b"PEXPIREAT", key, digits.format(new).as_bytes()]);
        "expire"
    };
    ctx.notify(class::GENERIC, event, key);
    Ok(())
}

fn expire(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    expire_generic(ctx, args, 1000, false, "expire")
}

fn pexpire(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    expire_generic(ctx, args, 1, false, "pexpire")
}

fn expireat(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    expire_generic(ctx, args, 1000, true, "expireat")
}

fn pexpireat(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    expire_generic(ctx, args, 1, true, "pexpireat")
}

/// How TTL-style commands report a deadline.
#[derive(Clone, Copy)]
enum TtlForm {
    RemainingSeconds,
    RemainingMillis,
    AbsoluteSeconds,
    AbsoluteMillis,
}

fn ttl_generic(ctx: &mut Ctx<'_, '_>, args: Args<'_>, form: TtlForm) -> CmdResult {
    let now = ctx.now_ms;
    let (mut db, out) = ctx.db_and_out();
    let reply = match db.read(&args[1]) {
        None => -2,
        Some(entry) => match entry.expire_at() {
            None => -1,
            Some(at) => {
                let remaining = at.saturating_sub(now) as i64;
                match form {
                    TtlForm::RemainingSeconds => (remaining + 500) / 1000,
                    TtlForm::RemainingMillis => remaining,
                    TtlForm::AbsoluteSeconds => at as i64 / 1000,
                    TtlForm::AbsoluteMillis => at as i64,
                }
            }
        },
    };
    out.int(reply);
    Ok(())
}

fn ttl(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    ttl_generic(ctx, args, TtlForm::RemainingSeconds)
}

fn pttl(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    ttl_generic(ctx, args, TtlForm::RemainingMillis)
}

fn expiretime(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    ttl_generic(ctx, args, TtlForm::AbsoluteSeconds)
}

fn pexpiretime(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    ttl_generic(ctx, args, TtlForm::AbsoluteMillis)
}

fn persist(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let (mut db, out) = ctx.db_and_out();
    let had_deadline = db.peek(&args[1]).and_then(|e| e.expire_at()).is_some();
    if had_deadline {
        db.set_expire(&args[1], 0);
    }
    out.int(had_deadline.into());
    if had_deadline {
        ctx.notify(class::GENERIC, "persist", &args[1]);
    }
    Ok(())
}

fn keys(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let pattern = &args[1];
    let match_all = pattern == b"*";
    let (db_index, now) = (ctx.client.db, ctx.now_ms);
    let mut found: Vec<Vec<u8>> = Vec::new();
    for (_, shard) in ctx.locked().shards() {
        for (key, _) in shard.dbs[db_index].keys(now) {
            if match_all || glob_match(pattern, key, false) {
                found.push(key.to_vec());
            }
        }
    }
    ctx.out.array_len(found.len());
    found.iter().for_each(|key| ctx.out.bulk(key));
    Ok(())
}

/// A SCAN cursor: a shard and a position within its slice of the database, walked
/// downwards; position 0 means "from the top".
fn decode_cursor(cursor: u64) -> (usize, usize) {
    (
        (cursor % SHARD_COUNT as u64) as usize,
        (cursor / SHARD_COUNT as u64) as usize,
    )
}

fn encode_cursor(shard: usize, position: usize) -> u64 {
    position as u64 * SHARD_COUNT as u64 + shard as u64
}

/// SCAN-family options.
pub struct ScanOptions<'a> {
    pub pattern: Option<&'a [u8]>,
    pub count: usize,
    /// Only keys of this type name; an unknown name matches nothing, as in Redis 7.0.
    pub type_name: Option<&'a [u8]>,
}

/// Parses a SCAN-family cursor the way Redis does, with C's `strtoul`: an optional
/// sign (a negative cursor wraps around, so `-1` is the largest), decimal digits, no
/// leading blank and nothing after; an empty cursor is 0; more than 64 bits is
/// `invalid cursor`.
pub fn parse_cursor(arg: &[u8]) -> Result<u64, CommandError> {
    let invalid = || CommandError::InvalidCursor;
    let (negative, digits) = match arg.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, arg),
    };
    if digits.is_empty() {
        // strtoul reads nothing and stops at the start: Redis accepts only "".
        return if arg.is_empty() {
            Ok(0)
        } else {
            Err(invalid())
        };
    }
    let mut value: u64 = 0;
    for &byte in digits {
        if !byte.is_ascii_digit() {
            return Err(invalid());
        }
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(byte - b'0')))
            .ok_or_else(invalid)?;
    }
    Ok(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}

/// Parses MATCH / COUNT (and TYPE when `allow_type`) starting at `from`.
pub fn parse_scan_options<'a>(
    args: &Args<'a>,
    from: usize,
    allow_type: bool,
) -> Result<ScanOptions<'a>, CommandError> {
    let mut options = ScanOptions {
        pattern: None,
        count: 10,
        type_name: None,
    };
    let mut index = from;
    while index < args.len() {
        let value = args.get(index + 1).ok_or(CommandError::Syntax)?;
        match &args[index].to_ascii_uppercase()[..] {
            b"MATCH" => options.pattern = Some(value).filter(|p| *p != b"*"),
            b"COUNT" => {
                let count = int_arg(value)?;
                if count < 1 {
                    return Err(CommandError::Syntax);
                }
                options.count = count as usize;
            }
            b"TYPE" if allow_type => options.type_name = Some(value),
            _ => return Err(CommandError::Syntax),
        }
        index += 2;
    }
    Ok(options)
}

fn scan(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let cursor = parse_cursor(&args[1])?;
    let options = parse_scan_options(&args, 2, true)?;
    let (db_index, now) = (ctx.client.db, ctx.now_ms);
    let (mut shard, position) = decode_cursor(cursor);
    let mut position = (position > 0).then_some(position);
    let mut found: Vec<Vec<u8>> = Vec::new();
    let mut budget = options.count;
    let locked = ctx.locked();
    let next_cursor = loop {
        let slice = &locked.shard(shard).dbs[db_index];
        let visit = |key: &[u8], entry: &Entry| {
            let type_ok = options.type_name.is_none_or(|t| {
                entry
                    .value
                    .value_type()
                    .name()
                    .as_bytes()
                    .eq_ignore_ascii_case(t)
            });
            let pattern_ok = options.pattern.is_none_or(|p| glob_match(p, key, false));
            if type_ok && pattern_ok {
                found.push(key.to_vec());
            }
        };
        let before = position.unwrap_or(slice.len()).min(slice.len());
        position = slice.scan(position, budget, now, visit);
        budget = budget.saturating_sub(before - position.unwrap_or(0));
        if let Some(resume) = position {
            break encode_cursor(shard, resume);
        }
        shard += 1;
        if shard == SHARD_COUNT {
            break 0;
        }
        if budget == 0 {
            break encode_cursor(shard, 0);
        }
    };
    ctx.out.array_len(2);
    ctx.out.bulk(next_cursor.to_string().as_bytes());
    ctx.out.array_len(found.len());
    found.iter().for_each(|key| ctx.out.bulk(key));
    Ok(())
}

fn randomkey(ctx: &mut Ctx<'_, '_>, _: Args<'_>) -> CmdResult {
    let (db_index, now) = (ctx.client.db, ctx.now_ms);
    let locked = ctx.locked();
    let sizes: Vec<usize> = (0..SHARD_COUNT)
        .map(|i| locked.shard(i).dbs[db_index].len())
        .collect();
    let total: usize = sizes.iter().sum();
    // A few draws skip keys that expired but were not yet swept.
    let mut chosen = None;
    for _ in 0..total.min(100) {
        let mut pick = random::below(total);
        let shard = sizes.iter().position(|&n| {
            if pick < n {
                true
            } else {
                pick -= n;
                false
            }
        });
        let Some(shard) = shard else { break };
        let slice = &locked.shard(shard).dbs[db_index];
        if let Some((key, entry)) = slice.key_at(pick) {
            if entry.expire_at().is_none_or(|at| at >= now) {
                chosen = Some(key.to_vec());
                break;
            }
        }
    }
    match chosen {
        Some(key) => ctx.out.bulk(&key),
        None => ctx.out.null(),
    }
    Ok(())
}

fn rename_generic(ctx: &mut Ctx<'_, '_>, args: Args<'_>, only_if_missing: bool) -> CmdResult {
    let (source, target) = (&args[1], &args[2]);
    let (mut db, out) = ctx.db_and_out();
    if !db.exists(source) {
        return Err(CommandError::err("no such key"));
    }
    if only_if_missing && db.exists(target) {
        out.int(0);
        return Ok(());
    }
    if source != target {
        let entry = db.remove(source).expect("checked above");
        // As Redis: an existing target is deleted, then the key is added anew (so
        // the target reports `new`).
        db.remove(target);
        db.insert_entry(target, entry);
    }
    if only_if_missing {
        out.int(1);
    } else {
        out.ok();
    }
    if source != target {
        ctx.notify(class::GENERIC, "rename_from", source);
        ctx.notify(class::GENERIC, "rename_to", target);
    }
    ctx.signal_ready(target);
    Ok(())
}

fn rename(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    rename_generic(ctx, args, false)
}

fn renamenx(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    rename_generic(ctx, args, true)
}

/// Parses a database index argument.
fn db_index_arg(ctx: &Ctx<'_, '_>, arg: &[u8]) -> Result<usize, CommandError> {
    let index = int32_arg(arg)?;
    if index < 0 || index as usize >= ctx.server.keyspace.databases() {
        return Err(CommandError::DbIndexOutOfRange);
    }
    Ok(index as usize)
}

fn copy(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let mut target_db = ctx.client.db;
    let mut replace = false;
    let mut index = 3;
    while index < args.len() {
        match &args[index].to_ascii_uppercase()[..] {
            b"REPLACE" => replace = true,
            b"DB" if index + 1 < args.len() => {
                target_db = db_index_arg(ctx, &args[index + 1])?;
                index += 1;
            }
            _ => return Err(CommandError::Syntax),
        }
        index += 1;
    }
    let (source, target) = (&args[1], &args[2]);
    if source == target && target_db == ctx.client.db {
        return Err(CommandError::err(
            "source and destination objects are the same",
        ));
    }
    let (source_db, now) = (ctx.client.db, ctx.now_ms);
    let locked = ctx.locked();
    let Some(entry) = locked.db(source_db, now).read(source).cloned() else {
        ctx.out.int(0);
        return Ok(());
    };
    let mut destination = locked.db(target_db, now);
    if destination.exists(target) && !replace {
        ctx.out.int(0);
        return Ok(());
    }
    destination.remove(target);
    destination.insert_entry(target, entry);
    ctx.out.int(1);
    ctx.notify_in(target_db, class::GENERIC, "copy_to", target);
    ctx.signal_ready_in(target_db, target);
    Ok(())
}

fn move_key(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let target_db = db_index_arg(ctx, &args[2])?;
    let (source_db, now) = (ctx.client.db, ctx.now_ms);
    if target_db == source_db {
        return Err(CommandError::err(
            "source and destination objects are the same",
        ));
    }
    let key = &args[1];
    let locked = ctx.locked();
    if !locked.db(source_db, now).exists(key) || locked.db(target_db, now).exists(key) {
        ctx.out.int(0);
        return Ok(());
    }
    let entry = locked
        .db(source_db, now)
        .remove(key)
        .expect("checked above");
    locked.db(target_db, now).insert_entry(key, entry);
    ctx.out.int(1);
    ctx.notify_in(source_db, class::GENERIC, "move_from", key);
    ctx.notify_in(target_db, class::GENERIC, "move_to", key);
    ctx.signal_ready_in(target_db, key);
    Ok(())
}

/// Applies `f` to the entry under `key`, if the key exists.
fn with_entry<T>(ctx: &mut Ctx<'_, '_>, key: &[u8], f: impl FnOnce(&Entry) -> T) -> Option<T> {
    ctx.db().peek(key).map(f)
}

fn object_encoding(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    match with_entry(ctx, &args[2], |e| e.value.encoding_name()) {
        Some(name) => ctx.out.bulk(name.as_bytes()),
        None => ctx.out.null(),
    }
    Ok(())
}

/// Redis shares one object between every string holding an integer from 0 to
/// 9999 (unless an LRU or LFU policy is set with a memory limit) and reports its
/// refcount as `i32::MAX`; any other value has a count of 1. (A COPY of such a
/// string is a private object with a count of 1 in Redis; that is not tracked.)
fn object_refcount(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let shared_allowed = {
        let config = ctx.server.config.read();
        config.maxmemory == 0
            || !(config.maxmemory_policy.ends_with("-lru")
                || config.maxmemory_policy.ends_with("-lfu"))
    };
    let shared = |value: &Value| match value {
        Value::Str(bytes) => parse_i64(bytes).is_some_and(|n| (0..10_000).contains(&n)),
        _ => false,
    };
    match with_entry(ctx, &args[2], |e| shared(&e.value)) {
        Some(true) if shared_allowed => ctx.out.int(i32::MAX as i64),
        Some(_) => ctx.out.int(1),
        None => ctx.out.null(),
    }
    Ok(())
}

/// LRU and LFU tracking are not kept per key (they would cost memory on every key and
/// drive only eviction, which broker-server does not do): IDLETIME reports 0 and FREQ
/// answers as Redis does when no LFU policy is selected.
fn object_idletime(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    match with_entry(ctx, &args[2], |_| ()) {
        Some(_) => ctx.out.int(0),
        None => ctx.out.null(),
    }
    Ok(())
}

fn object_freq(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    if with_entry(ctx, &args[2], |_| ()).is_none() {
        ctx.out.null();
        return Ok(());
    }
    Err(CommandError::err(
        "An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
    ))
}

fn object_help(ctx: &mut Ctx<'_, '_>, _: Args<'_>) -> CmdResult {
    // Redis's text, line for line: every subcommand it lists is served here.
    help_reply(
        ctx,
        "OBJECT",
        &[
            "ENCODING <key>",
            "    Return the kind of internal representation used in order to store the value",
            "    associated with a <key>.",
            "FREQ <key>",
            "    Return the access frequency index of the <key>. The returned integer is",
            "    proportional to the logarithm of the recent access frequency of the key.",
            "IDLETIME <key>",
            "    Return the idle time of the <key>, that is the approximated number of",
            "    seconds elapsed since the last access to the key.",
            "REFCOUNT <key>",
            "    Return the number of references of the value associated with the specified",
            "    <key>.",
        ],
    );
    Ok(())
}

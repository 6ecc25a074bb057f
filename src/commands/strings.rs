//! String commands.

use crate::commands::flags::*;
use crate::commands::{CmdResult, CommandError, CommandSpec, Ctx, arg_pairs, int_arg};
use crate::protocol::Args;
use crate::pubsub::notify::class;
use crate::store::lcs::LcsError;
use crate::store::strings::{Expiry, substring};
use crate::store::{Value, ValueType};
use crate::util::long_double::LongDouble;

const ONE_KEY: (i32, i32, i32) = (1, 1, 1);

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("get", 2, READONLY | FAST, ONE_KEY, get)
        .doc("string", "1.0.0", "Returns the string value of a key.")
        .syntax("key"),
    CommandSpec::new("set", -3, WRITE | DENYOOM, ONE_KEY, set)
        .doc("string", "1.0.0", "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.")
        .syntax("key value [NX | XX]:condition [GET] [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | KEEPTTL]:expiration"),
    CommandSpec::new("setex", 4, WRITE | DENYOOM, ONE_KEY, setex)
        .doc("string", "2.0.0", "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.")
        .syntax("key seconds value"),
    CommandSpec::new("psetex", 4, WRITE | DENYOOM, ONE_KEY, psetex)
        .doc("string", "2.6.0", "Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist.")
        .syntax("key milliseconds value"),
    CommandSpec::new("setnx", 3, WRITE | DENYOOM | FAST, ONE_KEY, setnx)
        .doc("string", "1.0.0", "Set the string value of a key only when the key doesn't exist.")
        .syntax("key value"),
    CommandSpec::new("mget", -2, READONLY | FAST, (1, -1, 1), mget)
        .doc("string", "1.0.0", "Atomically returns the string values of one or more keys.")
        .syntax("key [key ...]"),
    CommandSpec::new("mset", -3, WRITE | DENYOOM, (1, -1, 2), mset)
        .doc("string", "1.0.1", "Atomically creates or modifies the string values of one or more keys.")
        .syntax("key value [key value ...]"),
    CommandSpec::new("msetnx", -3, WRITE | DENYOOM, (1, -1, 2), msetnx)
        .doc("string", "1.0.1", "Atomically modifies the string values of one or more keys only when all keys don't exist.")
        .syntax("key value [key value ...]"),
    CommandSpec::new("getset", 3, WRITE | DENYOOM | FAST, ONE_KEY, getset)
        .doc("string", "1.0.0", "Returns the previous string value of a key after setting it to a new value.")
        .syntax("key value"),
    CommandSpec::new("getdel", 2, WRITE | FAST, ONE_KEY, getdel)
        .doc("string", "6.2.0", "Returns the string value of a key after deleting the key.")
        .syntax("key"),
    CommandSpec::new("getex", -2, WRITE | FAST, ONE_KEY, getex)
        .doc("string", "6.2.0", "Returns the string value of a key after setting its expiration time.")
        .syntax("key [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | PERSIST]:expiration"),
    CommandSpec::new("incr", 2, WRITE | DENYOOM | FAST, ONE_KEY, incr)
        .doc("string", "1.0.0", "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.")
        .syntax("key"),
    CommandSpec::new("decr", 2, WRITE | DENYOOM | FAST, ONE_KEY, decr)
        .doc("string", "1.0.0", "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.")
        .syntax("key"),
    CommandSpec::new("incrby", 3, WRITE | DENYOOM | FAST, ONE_KEY, incrby)
        .doc("string", "1.0.0", "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.")
        .syntax("key increment"),
    CommandSpec::new("decrby", 3, WRITE | DENYOOM | FAST, ONE_KEY, decrby)
        .doc("string", "1.0.0", "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.")
        .syntax("key decrement"),
    CommandSpec::new("incrbyfloat", 3, WRITE | DENYOOM | FAST, ONE_KEY, incrbyfloat)
        .doc("string", "2.6.0", "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist.")
        .syntax("key increment:double"),
    CommandSpec::new("append", 3, WRITE | DENYOOM | FAST, ONE_KEY, append)
        .doc("string", "2.0.0", "Appends a string to the value of a key. Creates the key if it doesn't exist.")
        .syntax("key value"),
    CommandSpec::new("strlen", 2, READONLY | FAST, ONE_KEY, strlen)
        .doc("string", "2.2.0", "Returns the length of a string value.")
        .syntax("key"),
    CommandSpec::new("getrange", 4, READONLY, ONE_KEY, getrange)
        .doc("string", "2.4.0", "Returns a substring of the string stored at a key.")
        .syntax("key start end"),
    CommandSpec::new("substr", 4, READONLY, ONE_KEY, getrange)
        .doc("string", "1.0.0", "Returns a substring from a string value.")
        .syntax("key start end"),
    CommandSpec::new("setrange", 4, WRITE | DENYOOM, ONE_KEY, setrange)
        .doc("string", "2.2.0", "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.")
        .syntax("key offset value"),
    CommandSpec::new("lcs", -3, READONLY, (1, 2, 1), lcs)
        .doc("string", "7.0.0", "Returns the longest common subsequence of two strings, its length, or where it lies in each.")
        .syntax("key1:key key2:key [LEN] [IDX] [MINMATCHLEN len:integer] [WITHMATCHLEN]"),
];

fn get(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let (mut db, out) = ctx.db_and_out();
    out.bulk_or_null(db.get_string(&args[1])?);
    Ok(())
}

/// Turns a relative or absolute expire argument into a deadline in milliseconds.
///
/// `unit_ms` is 1000 for seconds; `absolute` for EXAT/PXAT. Zero, negative or
/// overflowing times are `invalid expire time in '<command>' command`.
pub fn deadline(
    ctx: &Ctx<'_, '_>,
    arg: &[u8],
    unit_ms: i64,
    absolute: bool,
    command: &str,
) -> Result<u64, CommandError> {
    let amount = int_arg(arg)?;
    let invalid = || CommandError::InvalidExpireTime(command.to_string());
    if amount <= 0 {
        return Err(invalid());
    }
    let millis = amount.checked_mul(unit_ms).ok_or_else(invalid)?;
    let at = if absolute {
        millis
    } else {
        millis.checked_add(ctx.now_ms as i64).ok_or_else(invalid)?
    };
    Ok(at as u64)
}

/// Parsed SET/GETEX options.
#[derive(Default)]
struct SetOptions<'a> {
    if_missing: bool,
    if_present: bool,
    get: bool,
    expiry: Option<Expiry>,
    /// The last EX/PX/EXAT/PXAT seen, not yet checked: (unit in ms, absolute,
    /// argument). [`SetOptions::resolve_time`] turns it into `expiry`.
    time: Option<(i64, bool, &'a [u8])>,
}

impl SetOptions<'_> {
    /// Checks the expire time read by [`parse_set_options`] and sets `expiry`.
    fn resolve_time(&mut self, ctx: &Ctx<'_, '_>, command: &str) -> Result<(), CommandError> {
        if let Some((unit, absolute, value)) = self.time.take() {
            self.expiry = Some(Expiry::At(deadline(ctx, value, unit, absolute, command)?));
        }
        Ok(())
    }
}

/// Parses SET's (or, with `getex`, GETEX's) options as Redis 7.0 does: an option may
/// be repeated (the last one counts), conflicting options are a syntax error, and
/// the expire time is left for [`SetOptions::resolve_time`], as Redis checks it
/// only once every option has been read (and GETEX only once it found the key).
fn parse_set_options<'a>(
    args: &'a Args<'_>,
    from: usize,
    getex: bool,
) -> Result<SetOptions<'a>, CommandError> {
    let mut options = SetOptions::default();
    // The last EX/PX/EXAT/PXAT seen: (keyword, unit in ms, absolute, argument).
    let mut time: Option<(&[u8], i64, bool, &[u8])> = None;
    let mut index = from;
    while index < args.len() {
        let word = &args[index];
        let is = |name: &str| word.eq_ignore_ascii_case(name.as_bytes());
        let next = args.get(index + 1);
        let timed = [
            ("EX", 1000, false),
            ("PX", 1, false),
            ("EXAT", 1000, true),
            ("PXAT", 1, true),
        ]
        .into_iter()
        .find(|(name, ..)| is(name));
        if let Some((name, unit, absolute)) = timed {
            let other_time = time.is_some_and(|(seen, ..)| seen != name.as_bytes());
            let conflict =
                other_time || matches!(options.expiry, Some(Expiry::Keep | Expiry::Clear));
            match next {
                Some(value) if !conflict => {
                    time = Some((name.as_bytes(), unit, absolute, value));
                    index += 2;
                    continue;
                }
                _ => return Err(CommandError::Syntax),
            }
        }
        if !getex && is("NX") && !options.if_present {
            options.if_missing = true;
        } else if !getex && is("XX") && !options.if_missing {
            options.if_present = true;
        } else if !getex && is("GET") {
            options.get = true;
        } else if !getex && is("KEEPTTL") && time.is_none() {
            options.expiry = Some(Expiry::Keep);
        } else if getex && is("PERSIST") && time.is_none() {
            options.expiry = Some(Expiry::Clear);
        } else {
            return Err(CommandError::Syntax);
        }
        index += 1;
    }
    options.time = time.map(|(_, unit, absolute, value)| (unit, absolute, value));
    Ok(options)
}

fn set(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let mut options = parse_set_options(&args, 3, false)?;
    options.resolve_time(ctx, "set")?;
    let (key, value) = (&args[1], &args[2]);
    let (mut db, out) = ctx.db_and_out();
    let exists = if options.get {
        match db.get_string(key)? {
            Some(old) => {
                out.bulk(old);
                true
            }
            None => {
                out.null();
                false
            }
        }
    } else if options.if_missing || options.if_present {
        db.exists(key)
    } else {
        // A plain SET need not look first: `insert` replaces in one probe and
        // counts a replaced entry that had expired, as the lookup would have.
        false
    };
    if (options.if_missing && exists) || (options.if_present && !exists) {
        if !options.get {
            out.null();
        }
        return Ok(());
    }
    db.set_string(key, value, options.expiry.unwrap_or(Expiry::Clear));
    if !options.get {
        out.ok();
    }
    if let Some(Expiry::At(at)) = options.expiry {
        propagate_set_at(ctx, key, value, at);
    }
    notify_set(ctx, key, matches!(options.expiry, Some(Expiry::At(_))));
    Ok(())
}

/// The events of a string write: `set`, then `expire` when it set a deadline.
fn notify_set(ctx: &mut Ctx<'_, '_>, key: &[u8], with_deadline: bool) {
    ctx.notify(class::STRING, "set", key);
    if with_deadline {
        ctx.notify(class::GENERIC, "expire", key);
    }
}

/// Logs `SET key value PXAT at`: a relative expiry replays as the same deadline.
fn propagate_set_at(ctx: &mut Ctx<'_, '_>, key: &[u8], value: &[u8], at: u64) {
    let mut digits = itoa::Buffer::new();
    ctx.propagate(&[b"SET", key, value, b"PXAT", digits.format(at).as_bytes()]);
}

fn set_with_expiry(
    ctx: &mut Ctx<'_, '_>,
    args: Args<'_>,
    unit_ms: i64,
    command: &str,
) -> CmdResult {
    let at = deadline(ctx, &args[2], unit_ms, false, command)?;
    let (mut db, out) = ctx.db_and_out();
    db.set_string(&args[1], &args[3], Expiry::At(at));
    out.ok();
    propagate_set_at(ctx, &args[1], &args[3], at);
    notify_set(ctx, &args[1], true);
    Ok(())
}

fn setex(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    set_with_expiry(ctx, args, 1000, "setex")
}

fn psetex(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    set_with_expiry(ctx, args, 1, "psetex")
}

fn setnx(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let (mut db, out) = ctx.db_and_out();
    let created = !db.exists(&args[1]);
    if created {
        db.set_string(&args[1], &args[2], Expiry::Clear);
    }
    out.int(created.into());
    if created {
        notify_set(ctx, &args[1], false);
    }
    Ok(())
}

fn mget(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let (mut db, out) = ctx.db_and_out();
    out.array_len(args.len() - 1);
    for key in args.iter().skip(1) {
        match db.get_string(key) {
            Ok(Some(value)) => out.bulk(value),
            _ => out.null(),
        }
    }
    Ok(())
}

fn mset(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let pairs = arg_pairs(&args, 1, "mset")?;
    set_pairs(ctx, pairs);
    ctx.out.ok();
    Ok(())
}

fn msetnx(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let pairs = arg_pairs(&args, 1, "msetnx")?;
    let mut db = ctx.db();
    if pairs.clone().any(|(key, _)| db.exists(key)) {
        ctx.out.int(0);
        return Ok(());
    }
    set_pairs(ctx, pairs);
    ctx.out.int(1);
    Ok(())
}

/// Stores each key/value pair of an MSET-style request, announcing each in turn.
fn set_pairs<'a>(ctx: &mut Ctx<'_, '_>, pairs: impl Iterator<Item = (&'a [u8], &'a [u8])>) {
    for (key, value) in pairs {
        ctx.db().set_string(key, value, Expiry::Clear);
        notify_set(ctx, key, false);
    }
}

fn getset(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let (mut db, out) = ctx.db_and_out();
    out.bulk_or_null(db.get_string(&args[1])?);
    db.set_string(&args[1], &args[2], Expiry::Clear);
    notify_set(ctx, &args[1], false);
    Ok(())
}

fn getdel(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let (mut db, out) = ctx.db_and_out();
    match db.get_string(&args[1])? {
        Some(old) => {
            out.bulk(old);
            db.remove(&args[1]);
            ctx.notify(class::GENERIC, "del", &args[1]);
        }
        None => out.null(),
    }
    Ok(())
}

fn getex(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let mut options = parse_set_options(&args, 2, true)?;
    // Redis checks the expire time only once it has found the key: a missing key
    // (or one of another type) is answered first. One lookup, one hit or miss.
    let time_checked = options.resolve_time(ctx, "getex");
    let now = ctx.now_ms;
    let key = &args[1];
    let (mut db, out) = ctx.db_and_out();
    let Some(value) = db.get_string(key)? else {
        out.null();
        return Ok(());
    };
    time_checked?;
    out.bulk(value);
    let mut digits = itoa::Buffer::new();
    let event = match options.expiry {
        Some(Expiry::At(at)) if at <= now => {
            db.remove(key);
            ctx.propagate(&[b"DEL", key]);
            "del"
        }
        Some(Expiry::At(at)) => {
            db.set_expire(key, at);
            ctx.propagate(&[b"PEXPIREAT", key, digits.format(at).as_bytes()]);
            "expire"
        }
        // Removing a deadline the key does not have changes nothing.
        Some(Expiry::Clear) if db.peek(key).is_some_and(|e| e.expire_at().is_some()) => {
            db.set_expire(key, 0);
            ctx.propagate(&[b"PERSIST", key]);
            "persist"
        }
        _ => return Ok(()),
    };
    ctx.notify(class::GENERIC, event, key);
    Ok(())
}

fn incr_reply(ctx: &mut Ctx<'_, '_>, key: &[u8], delta: i64) -> CmdResult {
    let (mut db, out) = ctx.db_and_out();
    out.int(db.incr_by(key, delta)?);
    ctx.notify(class::STRING, "incrby", key);
    Ok(())
}

fn incr(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    incr_reply(ctx, &args[1], 1)
}

fn decr(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    incr_reply(ctx, &args[1], -1)
}

fn incrby(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    incr_reply(ctx, &args[1], int_arg(&args[2])?)
}

fn decrby(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let delta = int_arg(&args[2])?;
    if delta == i64::MIN {
        return Err(CommandError::err("decrement would overflow"));
    }
    incr_reply(ctx, &args[1], -delta)
}

fn incrbyfloat(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let (mut db, out) = ctx.db_and_out();
    let Some(delta) = LongDouble::parse(&args[2]) else {
        // Redis checks the key's type before it reads the increment.
        db.get_string(&args[1])?;
        return Err(CommandError::NotFloat);
    };
    let text = db.incr_by_float(&args[1], delta)?;
    out.bulk(&text);
    // Logged as the value it produced: float arithmetic need not replay identically.
    ctx.propagate(&[b"SET", &args[1], &text, b"KEEPTTL"]);
    ctx.notify(class::STRING, "incrbyfloat", &args[1]);
    Ok(())
}

fn append(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let max = ctx.server.config.read().proto_max_bulk_len;
    let (mut db, out) = ctx.db_and_out();
    out.int(db.append(&args[1], &args[2], max)? as i64);
    ctx.notify(class::STRING, "append", &args[1]);
    Ok(())
}

fn strlen(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let (mut db, out) = ctx.db_and_out();
    out.int(db.get_string(&args[1])?.map_or(0, <[u8]>::len) as i64);
    Ok(())
}

fn getrange(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let (start, end) = (int_arg(&args[2])?, int_arg(&args[3])?);
    let (mut db, out) = ctx.db_and_out();
    out.bulk(substring(
        db.get_string(&args[1])?.unwrap_or(b""),
        start,
        end,
    ));
    Ok(())
}

fn setrange(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let offset = int_arg(&args[2])?;
    if offset < 0 {
        return Err(CommandError::err("offset is out of range"));
    }
    let max = ctx.server.config.read().proto_max_bulk_len;
    let (mut db, out) = ctx.db_and_out();
    out.int(db.set_range(&args[1], offset as usize, &args[3], max)? as i64);
    // An empty write changes nothing.
    if !args[3].is_empty() {
        ctx.notify(class::STRING, "setrange", &args[1]);
    }
    Ok(())
}

/// What LCS is asked to answer.
#[derive(Default)]
struct LcsOptions {
    len: bool,
    idx: bool,
    with_match_len: bool,
    min_match_len: u64,
}

/// Parses LCS's options (from argument 3 on) as Redis does: each may repeat, a
/// negative MINMATCHLEN counts as 0, and LEN with IDX is refused once all are read.
fn parse_lcs_options(args: &Args<'_>) -> Result<LcsOptions, CommandError> {
    let mut options = LcsOptions::default();
    let mut at = 3;
    while at < args.len() {
        let word = &args[at];
        let is = |name: &str| word.eq_ignore_ascii_case(name.as_bytes());
        if is("IDX") {
            options.idx = true;
        } else if is("LEN") {
            options.len = true;
        } else if is("WITHMATCHLEN") {
            options.with_match_len = true;
        } else if is("MINMATCHLEN") && at + 1 < args.len() {
            options.min_match_len = int_arg(&args[at + 1])?.max(0) as u64;
            at += 1;
        } else {
            return Err(CommandError::Syntax);
        }
        at += 1;
    }
    if options.len && options.idx {
        return Err(CommandError::LcsLenAndIdx);
    }
    Ok(options)
}

fn lcs(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let table_limit = ctx.server.config.read().proto_max_bulk_len;
    let (mut db, out) = ctx.db_and_out();
    // Both keys are read (a hit or a miss each) before either type is checked.
    let types = [&args[1], &args[2]].map(|key| db.read(key).map(|e| e.value.value_type()));
    if types
        .iter()
        .any(|kind| kind.is_some_and(|kind| kind != ValueType::String))
    {
        return Err(CommandError::LcsWrongType);
    }
    let options = parse_lcs_options(&args)?;
    let string = |key: &[u8]| match db.peek_shared(key).map(|entry| &entry.value) {
        Some(Value::Str(bytes)) => &bytes[..],
        _ => &[][..],
    };
    let found = crate::store::lcs::lcs(
        string(&args[1]),
        string(&args[2]),
        options.min_match_len,
        table_limit,
    )
    .map_err(|error| match error {
        LcsError::TooLong => CommandError::LcsTooLong,
        LcsError::TableOverLimit => CommandError::LcsTableOverLimit,
        LcsError::OutOfMemory => CommandError::LcsOutOfMemory,
    })?;
    if options.idx {
        out.map_len(2);
        out.bulk(b"matches");
        out.array_len(found.matches.len());
        for range in &found.matches {
            out.array_len(2 + usize::from(options.with_match_len));
            for (start, end) in [range.a, range.b] {
                out.array_len(2);
                out.int(start.into());
                out.int(end.into());
            }
            if options.with_match_len {
                out.int(range.len.into());
            }
        }
        out.bulk(b"len");
        out.int(found.text.len() as i64);
    } else if options.len {
        out.int(found.text.len() as i64);
    } else {
        out.bulk(&found.text);
    }
    Ok(())
}

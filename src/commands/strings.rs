//! String commands.

use crate::commands::flags::*;
use crate::commands::{CmdResult, CommandError, CommandSpec, Ctx, int_arg};
use crate::protocol::Args;
use crate::store::strings::{Expiry, substring};
use crate::util::numbers::parse_long_double;

const ONE_KEY: (i32, i32, i32) = (1, 1, 1);

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("get", 2, READONLY | FAST, ONE_KEY, get)
        .doc("string", "1.0.0", "Returns the string value of a key."),
    CommandSpec::new("set", -3, WRITE | DENYOOM, ONE_KEY, set)
        .doc("string", "1.0.0", "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist."),
    CommandSpec::new("setex", 4, WRITE | DENYOOM, ONE_KEY, setex)
        .doc("string", "2.0.0", "Sets the string value and expiration time of a key. Creates the key if it doesn't exist."),
    CommandSpec::new("psetex", 4, WRITE | DENYOOM, ONE_KEY, psetex)
        .doc("string", "2.6.0", "Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist."),
    CommandSpec::new("setnx", 3, WRITE | DENYOOM | FAST, ONE_KEY, setnx)
        .doc("string", "1.0.0", "Set the string value of a key only when the key doesn't exist."),
    CommandSpec::new("mget", -2, READONLY | FAST, (1, -1, 1), mget)
        .doc("string", "1.0.0", "Atomically returns the string values of one or more keys."),
    CommandSpec::new("mset", -3, WRITE | DENYOOM, (1, -1, 2), mset)
        .doc("string", "1.0.1", "Atomically creates or modifies the string values of one or more keys."),
    CommandSpec::new("msetnx", -3, WRITE | DENYOOM, (1, -1, 2), msetnx)
        .doc("string", "1.0.1", "Atomically modifies the string values of one or more keys only when all keys don't exist."),
    CommandSpec::new("getset", 3, WRITE | DENYOOM | FAST, ONE_KEY, getset)
        .doc("string", "1.0.0", "Returns the previous string value of a key after setting it to a new value."),
    CommandSpec::new("getdel", 2, WRITE | FAST, ONE_KEY, getdel)
        .doc("string", "6.2.0", "Returns the string value of a key after deleting the key."),
    CommandSpec::new("getex", -2, WRITE | FAST, ONE_KEY, getex)
        .doc("string", "6.2.0", "Returns the string value of a key after setting its expiration time."),
    CommandSpec::new("incr", 2, WRITE | DENYOOM | FAST, ONE_KEY, incr)
        .doc("string", "1.0.0", "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist."),
    CommandSpec::new("decr", 2, WRITE | DENYOOM | FAST, ONE_KEY, decr)
        .doc("string", "1.0.0", "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist."),
    CommandSpec::new("incrby", 3, WRITE | DENYOOM | FAST, ONE_KEY, incrby)
        .doc("string", "1.0.0", "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist."),
    CommandSpec::new("decrby", 3, WRITE | DENYOOM | FAST, ONE_KEY, decrby)
        .doc("string", "1.0.0", "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist."),
    CommandSpec::new("incrbyfloat", 3, WRITE | DENYOOM | FAST, ONE_KEY, incrbyfloat)
        .doc("string", "2.6.0", "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist."),
    CommandSpec::new("append", 3, WRITE | DENYOOM | FAST, ONE_KEY, append)
        .doc("string", "2.0.0", "Appends a string to the value of a key. Creates the key if it doesn't exist."),
    CommandSpec::new("strlen", 2, READONLY | FAST, ONE_KEY, strlen)
        .doc("string", "2.2.0", "Returns the length of a string value."),
    CommandSpec::new("getrange", 4, READONLY, ONE_KEY, getrange)
        .doc("string", "2.4.0", "Returns a substring of the string stored at a key."),
    CommandSpec::new("substr", 4, READONLY, ONE_KEY, getrange)
        .doc("string", "1.0.0", "Returns a substring from a string value."),
    CommandSpec::new("setrange", 4, WRITE | DENYOOM, ONE_KEY, setrange)
        .doc("string", "2.2.0", "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist."),
];

fn get(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let (mut db, out) = ctx.db_and_out();
    match db.get_string(&args[1])? {
        Some(value) => out.bulk(value),
        None => out.null(),
    }
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
struct SetOptions {
    if_missing: bool,
    if_present: bool,
    get: bool,
    expiry: Option<Expiry>,
}

fn parse_set_options(
    ctx: &Ctx<'_, '_>,
    args: &Args<'_>,
    from: usize,
    command: &str,
    getex: bool,
) -> Result<SetOptions, CommandError> {
    let mut options = SetOptions::default();
    let mut index = from;
    while index < args.len() {
        let word = args[index].to_ascii_uppercase();
        let next = args.get(index + 1);
        let mut take_time = |unit: i64, absolute: bool| -> Result<(), CommandError> {
            if options.expiry.is_some() {
                return Err(CommandError::Syntax);
            }
            let value = next.ok_or(CommandError::Syntax)?;
            options.expiry = Some(Expiry::At(deadline(ctx, value, unit, absolute, command)?));
            index += 1;
            Ok(())
        };
        match &word[..] {
            b"EX" => take_time(1000, false)?,
            b"PX" => take_time(1, false)?,
            b"EXAT" => take_time(1000, true)?,
            b"PXAT" => take_time(1, true)?,
            b"NX" if !getex && !options.if_present => options.if_missing = true,
            b"XX" if !getex && !options.if_missing => options.if_present = true,
            b"GET" if !getex => options.get = true,
            b"KEEPTTL" if !getex && options.expiry.is_none() => options.expiry = Some(Expiry::Keep),
            b"PERSIST" if getex && options.expiry.is_none() => options.expiry = Some(Expiry::Clear),
            _ => return Err(CommandError::Syntax),
        }
        index += 1;
    }
    Ok(options)
}

fn set(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let options = parse_set_options(ctx, &args, 3, "set", false)?;
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
    } else {
        db.exists(key)
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
    Ok(())
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

fn check_pairs(args: &Args<'_>, name: &str) -> CmdResult {
    if args.len() % 2 == 0 {
        return Err(CommandError::WrongArity(name.into()));
    }
    Ok(())
}

fn mset(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    check_pairs(&args, "mset")?;
    let (mut db, out) = ctx.db_and_out();
    for pair in (1..args.len()).step_by(2) {
        db.set_string(&args[pair], &args[pair + 1], Expiry::Clear);
    }
    out.ok();
    Ok(())
}

fn msetnx(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    check_pairs(&args, "msetnx")?;
    let (mut db, out) = ctx.db_and_out();
    if (1..args.len()).step_by(2).any(|i| db.exists(&args[i])) {
        out.int(0);
        return Ok(());
    }
    for pair in (1..args.len()).step_by(2) {
        db.set_string(&args[pair], &args[pair + 1], Expiry::Clear);
    }
    out.int(1);
    Ok(())
}

fn getset(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let (mut db, out) = ctx.db_and_out();
    match db.get_string(&args[1])? {
        Some(old) => out.bulk(old),
        None => out.null(),
    }
    db.set_string(&args[1], &args[2], Expiry::Clear);
    Ok(())
}

fn getdel(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let (mut db, out) = ctx.db_and_out();
    match db.get_string(&args[1])? {
        Some(old) => {
            out.bulk(old);
            db.remove(&args[1]);
        }
        None => out.null(),
    }
    Ok(())
}

fn getex(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let options = parse_set_options(ctx, &args, 2, "getex", true)?;
    let now = ctx.now_ms;
    let (mut db, out) = ctx.db_and_out();
    let key = &args[1];
    match db.get_string(key)? {
        Some(value) => out.bulk(value),
        None => {
            out.null();
            return Ok(());
        }
    }
    let mut digits = itoa::Buffer::new();
    match options.expiry {
        Some(Expiry::At(at)) if at <= now => {
            db.remove(key);
            ctx.propagate(&[b"DEL", key]);
        }
        Some(Expiry::At(at)) => {
            db.set_expire(key, at);
            ctx.propagate(&[b"PEXPIREAT", key, digits.format(at).as_bytes()]);
        }
        Some(Expiry::Clear) if db.expire_at(key).is_some() => {
            db.set_expire(key, 0);
            ctx.propagate(&[b"PERSIST", key]);
        }
        _ => {}
    }
    Ok(())
}

fn incr_reply(ctx: &mut Ctx<'_, '_>, key: &[u8], delta: i64) -> CmdResult {
    let (mut db, out) = ctx.db_and_out();
    out.int(db.incr_by(key, delta)?);
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
    let delta = parse_long_double(&args[2]).ok_or(CommandError::NotFloat)?;
    let (mut db, out) = ctx.db_and_out();
    let text = db.incr_by_float(&args[1], delta)?;
    out.bulk(&text);
    // Logged as the value it produced: float arithmetic need not replay identically.
    ctx.propagate(&[b"SET", &args[1], &text, b"KEEPTTL"]);
    Ok(())
}

fn append(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let max = ctx.server.config.read().proto_max_bulk_len;
    let (mut db, out) = ctx.db_and_out();
    out.int(db.append(&args[1], &args[2], max)? as i64);
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
    Ok(())
}

//! Hash commands.

use crate::commands::collections::{rand_options, scan_command};
use crate::commands::flags::*;
use crate::commands::{CmdResult, CommandError, CommandSpec, Ctx, arg_pairs, int_arg};
use crate::protocol::Args;
use crate::pubsub::notify::class;
use crate::store::ValueType;
use crate::store::sample::Sample;
use crate::util::long_double::LongDouble;
use crate::util::random;

const ONE_KEY: (i32, i32, i32) = (1, 1, 1);

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("hset", -4, WRITE | DENYOOM | FAST, ONE_KEY, hset)
        .doc("hash", "2.0.0", "Creates or modifies the value of a field in a hash.")
        .syntax("key field value [field value ...]"),
    CommandSpec::new("hmset", -4, WRITE | DENYOOM | FAST, ONE_KEY, hmset)
        .doc("hash", "2.0.0", "Sets the values of multiple fields.")
        .syntax("key field value [field value ...]"),
    CommandSpec::new("hsetnx", 4, WRITE | DENYOOM | FAST, ONE_KEY, hsetnx)
        .doc("hash", "2.0.0", "Sets the value of a field in a hash only when the field doesn't exist.")
        .syntax("key field value"),
    CommandSpec::new("hget", 3, READONLY | FAST, ONE_KEY, hget)
        .doc("hash", "2.0.0", "Returns the value of a field in a hash.")
        .syntax("key field"),
    CommandSpec::new("hmget", -3, READONLY | FAST, ONE_KEY, hmget)
        .doc("hash", "2.0.0", "Returns the values of all fields in a hash.")
        .syntax("key field [field ...]"),
    CommandSpec::new("hdel", -3, WRITE | FAST, ONE_KEY, hdel)
        .doc("hash", "2.0.0", "Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain.")
        .syntax("key field [field ...]"),
    CommandSpec::new("hgetall", 2, READONLY, ONE_KEY, hgetall)
        .doc("hash", "2.0.0", "Returns all fields and values in a hash.")
        .syntax("key"),
    CommandSpec::new("hlen", 2, READONLY | FAST, ONE_KEY, hlen)
        .doc("hash", "2.0.0", "Returns the number of fields in a hash.")
        .syntax("key"),
    CommandSpec::new("hexists", 3, READONLY | FAST, ONE_KEY, hexists)
        .doc("hash", "2.0.0", "Determines whether a field exists in a hash.")
        .syntax("key field"),
    CommandSpec::new("hkeys", 2, READONLY, ONE_KEY, hkeys)
        .doc("hash", "2.0.0", "Returns all fields in a hash.")
        .syntax("key"),
    CommandSpec::new("hvals", 2, READONLY, ONE_KEY, hvals)
        .doc("hash", "2.0.0", "Returns all values in a hash.")
        .syntax("key"),
    CommandSpec::new("hincrby", 4, WRITE | DENYOOM | FAST, ONE_KEY, hincrby)
        .doc("hash", "2.0.0", "Increments the integer value of a field in a hash by a number. Uses 0 as initial value if the field doesn't exist.")
        .syntax("key field increment"),
    CommandSpec::new("hincrbyfloat", 4, WRITE | DENYOOM | FAST, ONE_KEY, hincrbyfloat)
        .doc("hash", "2.6.0", "Increments the floating point value of a field by a number. Uses 0 as initial value if the field doesn't exist.")
        .syntax("key field increment:double"),
    CommandSpec::new("hstrlen", 3, READONLY | FAST, ONE_KEY, hstrlen)
        .doc("hash", "3.2.0", "Returns the length of the value of a field.")
        .syntax("key field"),
    CommandSpec::new("hrandfield", -2, READONLY, ONE_KEY, hrandfield)
        .doc("hash", "6.2.0", "Returns one or more random fields from a hash.")
        .syntax("key [count [WITHVALUES]]:options"),
    CommandSpec::new("hscan", -3, READONLY, ONE_KEY, hscan)
        .doc("hash", "2.8.0", "Iterates over fields and values of a hash.")
        .syntax("key cursor [MATCH pattern] [COUNT count]"),
];

/// HSET and HMSET: sets the fields and reports `hset`, even when nothing changed.
///
/// # Returns
/// How many fields are new.
fn set_fields(ctx: &mut Ctx<'_, '_>, args: &Args<'_>) -> Result<usize, CommandError> {
    let pairs = arg_pairs(args, 2, ctx.spec.name)?;
    let added = ctx.db().hash_set(&args[1], pairs)?;
    ctx.notify(class::HASH, "hset", &args[1]);
    Ok(added)
}

fn hset(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let added = set_fields(ctx, &args)?;
    ctx.out.int(added as i64);
    Ok(())
}

fn hmset(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    set_fields(ctx, &args)?;
    ctx.out.ok();
    Ok(())
}

fn hsetnx(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let (mut db, out) = ctx.db_and_out();
    let set = db.hash_set_if_missing(&args[1], &args[2], &args[3])?;
    out.int(set.into());
    if set {
        ctx.notify(class::HASH, "hset", &args[1]);
    }
    Ok(())
}

fn hget(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let (mut db, out) = ctx.db_and_out();
    out.bulk_or_null(db.hash_get(&args[1], &args[2])?);
    Ok(())
}

fn hmget(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let (mut db, out) = ctx.db_and_out();
    let hash = db.hash(&args[1])?;
    out.array_len(args.len() - 2);
    for field in args.iter().skip(2) {
        out.bulk_or_null(hash.and_then(|hash| hash.get(field)));
    }
    Ok(())
}

fn hdel(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let (mut db, out) = ctx.db_and_out();
    let removed = db.hash_delete(&args[1], args.iter().skip(2))?;
    out.int(removed as i64);
    if removed > 0 {
        ctx.notify_removal(class::HASH, "hdel", &args[1]);
    }
    Ok(())
}

fn hgetall(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let (mut db, out) = ctx.db_and_out();
    let Some(hash) = db.hash(&args[1])? else {
        out.map_len(0);
        return Ok(());
    };
    out.map_len(hash.len());
    for (field, value) in hash {
        out.bulk(field);
        out.bulk(value);
    }
    Ok(())
}

fn hlen(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let (mut db, out) = ctx.db_and_out();
    out.int(db.hash(&args[1])?.map_or(0, |hash| hash.len()) as i64);
    Ok(())
}

fn hexists(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let (mut db, out) = ctx.db_and_out();
    out.int(db.hash_get(&args[1], &args[2])?.is_some().into());
    Ok(())
}

/// HKEYS and HVALS: one side of every pair.
fn hash_side(ctx: &mut Ctx<'_, '_>, args: Args<'_>, values: bool) -> CmdResult {
    let (mut db, out) = ctx.db_and_out();
    let Some(hash) = db.hash(&args[1])? else {
        out.array_len(0);
        return Ok(());
    };
    out.array_len(hash.len());
    for (field, value) in hash {
        out.bulk(if values { value } else { field });
    }
    Ok(())
}

fn hkeys(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    hash_side(ctx, args, false)
}

fn hvals(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    hash_side(ctx, args, true)
}

fn hincrby(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let delta = int_arg(&args[3])?;
    let (mut db, out) = ctx.db_and_out();
    out.int(db.hash_incr_by(&args[1], &args[2], delta)?);
    ctx.notify(class::HASH, "hincrby", &args[1]);
    Ok(())
}

fn hincrbyfloat(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let delta = LongDouble::parse(&args[3]).ok_or(CommandError::NotFloat)?;
    if !delta.is_finite() {
        return Err(CommandError::ValueNanOrInfinity);
    }
    let (mut db, out) = ctx.db_and_out();
    let text = db.hash_incr_by_float(&args[1], &args[2], delta)?;
    out.bulk(&text);
    // Logged as the value it produced: float arithmetic need not replay identically.
    ctx.propagate(&[b"HSET", &args[1], &args[2], &text]);
    ctx.notify(class::HASH, "hincrbyfloat", &args[1]);
    Ok(())
}

fn hstrlen(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let (mut db, out) = ctx.db_and_out();
    out.int(db.hash_get(&args[1], &args[2])?.map_or(0, <[u8]>::len) as i64);
    Ok(())
}

/// `HRANDFIELD key [count [WITHVALUES]]`.
fn hrandfield(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let Some((count, with_values)) = rand_options(&args, b"withvalues")? else {
        let (mut db, out) = ctx.db_and_out();
        match db.hash(&args[1])? {
            Some(hash) => {
                let (field, _) = hash
                    .get_index(random::below(hash.len()))
                    .expect("a stored hash is never empty");
                out.bulk(field);
            }
            None => out.null(),
        }
        return Ok(());
    };
    let (mut db, out) = ctx.db_and_out();
    let Some(hash) = db.hash(&args[1])? else {
        out.array_len(0);
        return Ok(());
    };
    let sample = Sample::new(hash.len(), count);
    if with_values {
        out.pairs_len(sample.len());
    } else {
        out.array_len(sample.len());
    }
    for position in sample {
        let (field, value) = hash.get_index(position).expect("sampled below the length");
        if with_values {
            out.pair();
            out.bulk(field);
            out.bulk(value);
        } else {
            out.bulk(field);
        }
    }
    Ok(())
}

fn hscan(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    scan_command(ctx, args, ValueType::Hash)
}

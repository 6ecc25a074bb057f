//! Set commands. Replies that Redis sends as sets (SMEMBERS, SINTER, SUNION,
//! SDIFF, SPOP with a count) use the RESP3 set type; SRANDMEMBER answers an array,
//! since it may repeat members.

use crate::commands::collections::{
    limit_arg, numkeys_arg, positive_count, rand_options, scan_command, store_and_reply,
};
use crate::commands::flags::*;
use crate::commands::{CmdResult, CommandError, CommandSpec, Ctx};
use crate::protocol::Args;
use crate::pubsub::notify::class;
use crate::store::sample::Sample;
use crate::store::sets::{SetMoveOut, SetOp, members_in_order};
use crate::store::{Value, ValueType};
use crate::util::random;

const ONE_KEY: (i32, i32, i32) = (1, 1, 1);
const ALL: (i32, i32, i32) = (1, -1, 1);

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("sadd", -3, WRITE | DENYOOM | FAST, ONE_KEY, sadd)
        .doc("set", "1.0.0", "Adds one or more members to a set. Creates the key if it doesn't exist.")
        .syntax("key member [member ...]"),
    CommandSpec::new("srem", -3, WRITE | FAST, ONE_KEY, srem)
        .doc("set", "1.0.0", "Removes one or more members from a set. Deletes the set if the last member was removed.")
        .syntax("key member [member ...]"),
    CommandSpec::new("smembers", 2, READONLY, ONE_KEY, smembers)
        .doc("set", "1.0.0", "Returns all members of a set.")
        .syntax("key"),
    CommandSpec::new("sismember", 3, READONLY | FAST, ONE_KEY, sismember)
        .doc("set", "1.0.0", "Determines whether a member belongs to a set.")
        .syntax("key member"),
    CommandSpec::new("smismember", -3, READONLY | FAST, ONE_KEY, smismember)
        .doc("set", "6.2.0", "Determines whether multiple members belong to a set.")
        .syntax("key member [member ...]"),
    CommandSpec::new("scard", 2, READONLY | FAST, ONE_KEY, scard)
        .doc("set", "1.0.0", "Returns the number of members in a set.")
        .syntax("key"),
    CommandSpec::new("spop", -2, WRITE | FAST, ONE_KEY, spop)
        .doc("set", "1.0.0", "Returns one or more random members from a set after removing them. Deletes the set if the last member was popped.")
        .syntax("key [count]"),
    CommandSpec::new("srandmember", -2, READONLY, ONE_KEY, srandmember)
        .doc("set", "1.0.0", "Get one or multiple random members from a set")
        .syntax("key [count]"),
    CommandSpec::new("smove", 4, WRITE | FAST, (1, 2, 1), smove)
        .doc("set", "1.0.0", "Moves a member from one set to another.")
        .syntax("source destination member"),
    CommandSpec::new("sinter", -2, READONLY, ALL, sinter)
        .doc("set", "1.0.0", "Returns the intersect of multiple sets.")
        .syntax("key [key ...]"),
    CommandSpec::new("sintercard", -3, READONLY | ALL_KEYS, (0, 0, 0), sintercard)
        .doc("set", "7.0.0", "Returns the number of members of the intersect of multiple sets.")
        .syntax("numkeys key [key ...] [LIMIT limit:integer]"),
    CommandSpec::new("sunion", -2, READONLY, ALL, sunion)
        .doc("set", "1.0.0", "Returns the union of multiple sets.")
        .syntax("key [key ...]"),
    CommandSpec::new("sdiff", -2, READONLY, ALL, sdiff)
        .doc("set", "1.0.0", "Returns the difference of multiple sets.")
        .syntax("key [key ...]"),
    CommandSpec::new("sinterstore", -3, WRITE | DENYOOM, ALL, sinterstore)
        .doc("set", "1.0.0", "Stores the intersect of multiple sets in a key.")
        .syntax("destination key [key ...]"),
    CommandSpec::new("sunionstore", -3, WRITE | DENYOOM, ALL, sunionstore)
        .doc("set", "1.0.0", "Stores the union of multiple sets in a key.")
        .syntax("destination key [key ...]"),
    CommandSpec::new("sdiffstore", -3, WRITE | DENYOOM, ALL, sdiffstore)
        .doc("set", "1.0.0", "Stores the difference of multiple sets in a key.")
        .syntax("destination key [key ...]"),
    CommandSpec::new("sscan", -3, READONLY, ONE_KEY, sscan)
        .doc("set", "2.8.0", "Iterates over members of a set.")
        .syntax("key cursor [MATCH pattern] [COUNT count]"),
];

fn sadd(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let (mut db, out) = ctx.db_and_out();
    let added = db.set_add(&args[1], args.iter().skip(2))?;
    out.int(added as i64);
    if added > 0 {
        ctx.notify(class::SET, "sadd", &args[1]);
    }
    Ok(())
}

fn srem(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let (mut db, out) = ctx.db_and_out();
    let removed = db.set_remove(&args[1], args.iter().skip(2))?;
    out.int(removed as i64);
    if removed > 0 {
        ctx.notify_removal(class::SET, "srem", &args[1]);
    }
    Ok(())
}

fn smembers(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let (mut db, out) = ctx.db_and_out();
    let Some(set) = db.set(&args[1])? else {
        out.set_len(0);
        return Ok(());
    };
    out.set_len(set.len());
    members_in_order(set)
        .into_iter()
        .for_each(|member| out.bulk(member));
    Ok(())
}

fn sismember(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let (mut db, out) = ctx.db_and_out();
    out.int(
        db.set(&args[1])?
            .is_some_and(|set| set.contains(&args[2][..]))
            .into(),
    );
    Ok(())
}

fn smismember(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let (mut db, out) = ctx.db_and_out();
    let set = db.set(&args[1])?;
    out.array_len(args.len() - 2);
    for member in args.iter().skip(2) {
        out.int(set.is_some_and(|set| set.contains(member)).into());
    }
    Ok(())
}

fn scard(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let (mut db, out) = ctx.db_and_out();
    out.int(db.set(&args[1])?.map_or(0, |set| set.len()) as i64);
    Ok(())
}

/// `SPOP key [count]`: one member (or null) without a count, a set with one.
fn spop(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let count = match args.len() {
        2 => None,
        3 => Some(positive_count(&args[2])?),
        _ => return Err(CommandError::Syntax),
    };
    let (mut db, out) = ctx.db_and_out();
    let popped: Vec<_> = match count {
        None => match db.set_pop_one(&args[1])? {
            Some(member) => {
                out.bulk(&member);
                vec![member]
            }
            None => {
                out.null();
                Vec::new()
            }
        },
        Some(count) => {
            let popped = db.set_pop(&args[1], count)?;
            out.set_len(popped.len());
            popped.iter().for_each(|member| out.bulk(member));
            popped.into_iter().collect()
        }
    };
    if !popped.is_empty() {
        // The members were drawn at random: the log records which ones went.
        let mut command: Vec<&[u8]> = vec![b"SREM", &args[1]];
        command.extend(popped.iter().map(|m| &m[..]));
        ctx.propagate(&command);
        ctx.notify_removal(class::SET, "spop", &args[1]);
    }
    Ok(())
}

/// `SRANDMEMBER key [count]`.
fn srandmember(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let options = rand_options(&args, b"")?;
    let (mut db, out) = ctx.db_and_out();
    let set = db.set(&args[1])?;
    let Some((count, _)) = options else {
        match set {
            Some(set) => out.bulk(&set[random::below(set.len())]),
            None => out.null(),
        }
        return Ok(());
    };
    let Some(set) = set else {
        out.array_len(0);
        return Ok(());
    };
    let sample = Sample::new(set.len(), count);
    out.array_len(sample.len());
    if let Sample::All(_) = sample {
        // The whole set, as Redis lists it.
        members_in_order(set)
            .into_iter()
            .for_each(|member| out.bulk(member));
    } else {
        sample.for_each(|position| out.bulk(&set[position]));
    }
    Ok(())
}

/// `SMOVE source destination member`: `srem` on the source (and `del` if it
/// empties), then `sadd` on the destination if the member is new there.
fn smove(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let (source, destination, member) = (&args[1], &args[2], &args[3]);
    let moved = match ctx.db().set_move_out(source, destination, member)? {
        SetMoveOut::Stays(answer) => answer,
        SetMoveOut::Taken => {
            ctx.notify_removal(class::SET, "srem", source);
            if ctx.db().set_add(destination, [member])? > 0 {
                ctx.notify(class::SET, "sadd", destination);
            }
            true
        }
    };
    ctx.out.int(moved.into());
    Ok(())
}

/// SINTER, SUNION and SDIFF: the combination of every key's set, as a set.
fn combine_reply(ctx: &mut Ctx<'_, '_>, args: Args<'_>, op: SetOp) -> CmdResult {
    let (mut db, out) = ctx.db_and_out();
    let result = db.set_combine(op, args.iter().skip(1))?;
    out.set_len(result.len());
    members_in_order(&result)
        .into_iter()
        .for_each(|member| out.bulk(member));
    Ok(())
}

fn sinter(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    combine_reply(ctx, args, SetOp::Inter)
}

fn sunion(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    combine_reply(ctx, args, SetOp::Union)
}

fn sdiff(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    combine_reply(ctx, args, SetOp::Diff)
}

/// SINTERSTORE, SUNIONSTORE and SDIFFSTORE: `<cmd> destination key [key ...]`.
fn combine_store(ctx: &mut Ctx<'_, '_>, args: Args<'_>, op: SetOp) -> CmdResult {
    let result = ctx.db().set_combine(op, args.iter().skip(2))?;
    let len = result.len();
    let event = match op {
        SetOp::Inter => "sinterstore",
        SetOp::Union => "sunionstore",
        SetOp::Diff => "sdiffstore",
    };
    store_and_reply(ctx, &args[1], Value::Set(Box::new(result)), len, event)
}

fn sinterstore(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    combine_store(ctx, args, SetOp::Inter)
}

fn sunionstore(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    combine_store(ctx, args, SetOp::Union)
}

fn sdiffstore(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    combine_store(ctx, args, SetOp::Diff)
}

/// `SINTERCARD numkeys key [key ...] [LIMIT limit]`.
fn sintercard(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let numkeys = numkeys_arg(&args[1]).ok_or(CommandError::NumkeysNotPositive)?;
    if numkeys > args.len() - 2 {
        return Err(CommandError::NumkeysExceedArgs);
    }
    let keys_end = 2 + numkeys;
    let mut limit = 0;
    let mut index = keys_end;
    while index < args.len() {
        match args.get(index + 1) {
            Some(value) if args[index].eq_ignore_ascii_case(b"limit") => {
                limit = limit_arg(value)?;
                index += 2;
            }
            _ => return Err(CommandError::Syntax),
        }
    }
    let (mut db, out) = ctx.db_and_out();
    out.int(db.set_inter_card(args.iter().skip(2).take(keys_end - 2), limit)? as i64);
    Ok(())
}

fn sscan(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    scan_command(ctx, args, ValueType::Set)
}

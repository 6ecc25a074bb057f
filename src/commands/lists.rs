//! List commands, blocking ones included (their rules are in
//! [`crate::commands::blocking`]).
//!
//! Argument checks run in Redis's order, which clients can observe: for example
//! LRANGE and LTRIM parse their indexes before looking at the key, while LINDEX and
//! LSET look at the key first, so `LINDEX missing notanumber` answers null.

use crate::commands::blocking::{self, parse_timeout};
use crate::commands::collections::parse_multi_pop;
use crate::commands::flags::*;
use crate::commands::{CmdResult, CommandError, CommandSpec, Ctx, int_arg, positive_arg};
use crate::protocol::{Args, Protocol, ReplyWriter};
use crate::pubsub::notify::class;
use crate::store::lists::{End, element_index};
use crate::store::waiters::{Delivery, ReadyKeys, ServeOp};
use crate::store::{DbView, StoreError};

const ONE_KEY: (i32, i32, i32) = (1, 1, 1);
const TWO_KEYS: (i32, i32, i32) = (1, 2, 1);
/// Every argument from the first key on: LMPOP and BLMPOP name their keys through
/// `numkeys`, which a key triple cannot express. Locking the shards of the trailing
/// `LEFT COUNT n` words too is harmless.
const MPOP_KEYS: (i32, i32, i32) = (2, -1, 1);
const BLMPOP_KEYS: (i32, i32, i32) = (3, -1, 1);

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("lpush", -3, WRITE | DENYOOM | FAST, ONE_KEY, lpush)
        .doc("list", "1.0.0", "Prepends one or more elements to a list. Creates the key if it doesn't exist.")
        .syntax("key element [element ...]"),
    CommandSpec::new("rpush", -3, WRITE | DENYOOM | FAST, ONE_KEY, rpush)
        .doc("list", "1.0.0", "Appends one or more elements to a list. Creates the key if it doesn't exist.")
        .syntax("key element [element ...]"),
    CommandSpec::new("lpushx", -3, WRITE | DENYOOM | FAST, ONE_KEY, lpushx)
        .doc("list", "2.2.0", "Prepends one or more elements to a list only when the list exists.")
        .syntax("key element [element ...]"),
    CommandSpec::new("rpushx", -3, WRITE | DENYOOM | FAST, ONE_KEY, rpushx)
        .doc("list", "2.2.0", "Appends an element to a list only when the list exists.")
        .syntax("key element [element ...]"),
    CommandSpec::new("lpop", -2, WRITE | FAST, ONE_KEY, lpop)
        .doc("list", "1.0.0", "Returns the first elements in a list after removing it. Deletes the list if the last element was popped.")
        .syntax("key [count]"),
    CommandSpec::new("rpop", -2, WRITE | FAST, ONE_KEY, rpop)
        .doc("list", "1.0.0", "Returns and removes the last elements of a list. Deletes the list if the last element was popped.")
        .syntax("key [count]"),
    CommandSpec::new("llen", 2, READONLY | FAST, ONE_KEY, llen)
        .doc("list", "1.0.0", "Returns the length of a list.")
        .syntax("key"),
    CommandSpec::new("lrange", 4, READONLY, ONE_KEY, lrange)
        .doc("list", "1.0.0", "Returns a range of elements from a list.")
        .syntax("key start stop:integer"),
    CommandSpec::new("lindex", 3, READONLY, ONE_KEY, lindex)
        .doc("list", "1.0.0", "Returns an element from a list by its index.")
        .syntax("key index"),
    CommandSpec::new("lset", 4, WRITE | DENYOOM, ONE_KEY, lset)
        .doc("list", "1.0.0", "Sets the value of an element in a list by its index.")
        .syntax("key index element"),
    CommandSpec::new("linsert", 5, WRITE | DENYOOM, ONE_KEY, linsert)
        .doc("list", "2.2.0", "Inserts an element before or after another element in a list.")
        .syntax("key <BEFORE | AFTER>:where pivot element"),
    CommandSpec::new("lrem", 4, WRITE, ONE_KEY, lrem)
        .doc("list", "1.0.0", "Removes elements from a list. Deletes the list if the last element was removed.")
        .syntax("key count element"),
    CommandSpec::new("ltrim", 4, WRITE, ONE_KEY, ltrim)
        .doc("list", "1.0.0", "Removes elements from both ends a list. Deletes the list if all elements were trimmed.")
        .syntax("key start stop:integer"),
    CommandSpec::new("lpos", -3, READONLY, ONE_KEY, lpos)
        .doc("list", "6.0.6", "Returns the index of matching elements in a list.")
        .syntax("key element [RANK rank:integer] [COUNT num-matches:integer] [MAXLEN len:integer]"),
    CommandSpec::new("lmove", 5, WRITE | DENYOOM, TWO_KEYS, lmove)
        .doc("list", "6.2.0", "Returns an element after popping it from one list and pushing it to another. Deletes the list if the last element was moved.")
        .syntax("source destination <LEFT | RIGHT>:wherefrom <LEFT | RIGHT>:whereto"),
    CommandSpec::new("rpoplpush", 3, WRITE | DENYOOM, TWO_KEYS, rpoplpush)
        .doc("list", "1.2.0", "Returns the last element of a list after removing and pushing it to another list. Deletes the list if the last element was popped.")
        .syntax("source destination"),
    CommandSpec::new("lmpop", -4, WRITE, MPOP_KEYS, lmpop)
        .doc("list", "7.0.0", "Returns multiple elements from a list after removing them. Deletes the list if the last element was popped.")
        .syntax("numkeys key [key ...] <LEFT | RIGHT>:where [COUNT count]"),
    CommandSpec::new("blpop", -3, WRITE | NOSCRIPT | BLOCKING, (1, -2, 1), blpop)
        .doc("list", "2.0.0", "Removes and returns the first element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.")
        .syntax("key [key ...] timeout:double"),
    CommandSpec::new("brpop", -3, WRITE | NOSCRIPT | BLOCKING, (1, -2, 1), brpop)
        .doc("list", "2.0.0", "Removes and returns the last element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.")
        .syntax("key [key ...] timeout:double"),
    CommandSpec::new("blmove", 6, WRITE | DENYOOM | NOSCRIPT | BLOCKING, TWO_KEYS, blmove)
        .doc("list", "6.2.0", "Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available otherwise. Deletes the list if the last element was moved.")
        .syntax("source destination <LEFT | RIGHT>:wherefrom <LEFT | RIGHT>:whereto timeout:double"),
    CommandSpec::new("brpoplpush", 4, WRITE | DENYOOM | NOSCRIPT | BLOCKING, TWO_KEYS, brpoplpush)
        .doc("list", "2.2.0", "Pops an element from a list, pushes it to another list and returns it. Block until an element is available otherwise. Deletes the list if the last element was popped.")
        .syntax("source destination timeout:double"),
    // Unlike the other blocking pops, Redis 7.0.15 lets scripts call BLMPOP.
    CommandSpec::new("blmpop", -5, WRITE | BLOCKING, BLMPOP_KEYS, blmpop)
        .doc("list", "7.0.0", "Pops the first element from one of multiple lists. Blocks until an element is available otherwise. Deletes the list if the last element was popped.")
        .syntax("timeout:double numkeys key [key ...] <LEFT | RIGHT>:where [COUNT count]"),
];

// ---------------------------------------------------------------------------------
// Pushes and pops.

/// The keyspace event of pushing at `end` (LPUSHX and LMOVE's push included).
fn push_event(end: End) -> &'static str {
    match end {
        End::Head => "lpush",
        End::Tail => "rpush",
    }
}

/// The keyspace event of popping at `end` (LMPOP and LMOVE's pop included).
fn pop_event(end: End) -> &'static str {
    match end {
        End::Head => "lpop",
        End::Tail => "rpop",
    }
}

fn push(ctx: &mut Ctx<'_, '_>, args: Args<'_>, end: End, create: bool) -> CmdResult {
    let key = &args[1];
    let (mut db, out) = ctx.db_and_out();
    let len = db.list_push(key, args.iter().skip(2), end, create)?;
    out.int(len as i64);
    if len > 0 {
        ctx.notify(class::LIST, push_event(end), key);
        ctx.signal_ready(key);
    }
    Ok(())
}

fn lpush(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    push(ctx, args, End::Head, true)
}

fn rpush(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    push(ctx, args, End::Tail, true)
}

fn lpushx(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    push(ctx, args, End::Head, false)
}

fn rpushx(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    push(ctx, args, End::Tail, false)
}

/// LPOP/RPOP `key [count]`: without a count one bulk string (null when missing), with
/// one an array (the null array when missing, `*0` for a count of 0).
fn pop(ctx: &mut Ctx<'_, '_>, args: Args<'_>, end: End) -> CmdResult {
    let count = match args.len() {
        2 => None,
        3 => Some(positive_arg(&args[2], None)?),
        _ => return Err(CommandError::WrongArity(ctx.spec.name.into())),
    };
    let (mut db, out) = ctx.db_and_out();
    let popped = db.list_pop(&args[1], end, count.unwrap_or(1))?;
    let took = popped.as_ref().is_some_and(|items| !items.is_empty());
    match (popped, count) {
        (Some(items), None) => out.bulk(&items[0]),
        (None, None) => out.null(),
        (Some(items), Some(_)) => bulk_array(out, &items),
        (None, Some(_)) => out.null_array(),
    }
    if took {
        ctx.notify_removal(class::LIST, pop_event(end), &args[1]);
    }
    Ok(())
}

fn lpop(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    pop(ctx, args, End::Head)
}

fn rpop(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    pop(ctx, args, End::Tail)
}

fn bulk_array(out: &mut ReplyWriter<'_>, items: &[Vec<u8>]) {
    out.array_len(items.len());
    for item in items {
        out.bulk(item);
    }
}

/// The reply of a pop that names its key: `[key, element]` (BLPOP, BRPOP), or
/// `[key, [elements]]` when a count was given (LMPOP, BLMPOP).
fn keyed_reply(out: &mut ReplyWriter<'_>, key: &[u8], items: &[Vec<u8>], counted: bool) {
    out.array_len(2);
    out.bulk(key);
    if counted {
        bulk_array(out, items);
    } else {
        out.bulk(&items[0]);
    }
}

/// Pops from the first key, in argument order, that holds a list, and replies with
/// [`keyed_reply`]. A key of another type met on the way is `WRONGTYPE`.
///
/// # Returns
/// Whether something was popped (otherwise nothing was written).
fn pop_first<'k>(
    ctx: &mut Ctx<'_, '_>,
    keys: impl IntoIterator<Item = &'k [u8]>,
    end: End,
    count: Option<usize>,
) -> Result<bool, CommandError> {
    let (mut db, out) = ctx.db_and_out();
    for key in keys {
        // Lists are never empty: an existing one has something to pop.
        if db.list_mut(key)?.is_some() {
            let items = db
                .list_pop(key, end, count.unwrap_or(1))?
                .unwrap_or_default();
            keyed_reply(out, key, &items, count.is_some());
            ctx.notify_removal(class::LIST, pop_event(end), key);
            return Ok(true);
        }
    }
    Ok(false)
}

// ---------------------------------------------------------------------------------
// Reading and editing in place.

fn llen(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let (mut db, out) = ctx.db_and_out();
    out.int(db.list_len(&args[1])? as i64);
    Ok(())
}

fn lrange(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let (start, stop) = (int_arg(&args[2])?, int_arg(&args[3])?);
    let (mut db, out) = ctx.db_and_out();
    match db.list_range(&args[1], start, stop)? {
        Some(items) => {
            out.array_len(items.len());
            for item in items {
                out.bulk(item);
            }
        }
        None => out.array_len(0),
    }
    Ok(())
}

fn lindex(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let index = int_arg(&args[2]);
    let (mut db, out) = ctx.db_and_out();
    let Some(list) = db.list(&args[1])? else {
        out.null();
        return Ok(());
    };
    out.bulk_or_null(element_index(list.len(), index?).and_then(|at| list.get(at)));
    Ok(())
}

fn lset(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let index = int_arg(&args[2]);
    let (mut db, out) = ctx.db_and_out();
    db.list_mut(&args[1])?.ok_or(StoreError::NoSuchKey)?;
    db.list_set(&args[1], index?, &args[3])?;
    out.ok();
    ctx.notify(class::LIST, "lset", &args[1]);
    Ok(())
}

fn linsert(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let after = match &args[2] {
        word if word.eq_ignore_ascii_case(b"after") => true,
        word if word.eq_ignore_ascii_case(b"before") => false,
        _ => return Err(CommandError::Syntax),
    };
    let (mut db, out) = ctx.db_and_out();
    let len = db.list_insert(&args[1], after, &args[3], &args[4])?;
    out.int(len);
    if len > 0 {
        ctx.notify(class::LIST, "linsert", &args[1]);
    }
    Ok(())
}

fn lrem(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let count = int_arg(&args[2])?;
    let (mut db, out) = ctx.db_and_out();
    let removed = db.list_remove(&args[1], count, &args[3])?;
    out.int(removed as i64);
    if removed > 0 {
        ctx.notify_removal(class::LIST, "lrem", &args[1]);
    }
    Ok(())
}

fn ltrim(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let (start, stop) = (int_arg(&args[2])?, int_arg(&args[3])?);
    let (mut db, out) = ctx.db_and_out();
    let existed = db.list_trim(&args[1], start, stop)?;
    out.ok();
    // Even a trim that keeps everything is an `ltrim` event in Redis.
    if existed {
        ctx.notify_removal(class::LIST, "ltrim", &args[1]);
    }
    Ok(())
}

/// `LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]`
fn lpos(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let (mut rank, mut count, mut maxlen) = (1, None, 0);
    let mut index = 3;
    while index < args.len() {
        let (option, value) = (&args[index], args.get(index + 1));
        let Some(value) = value else {
            return Err(CommandError::Syntax);
        };
        if option.eq_ignore_ascii_case(b"rank") {
            rank = int_arg(value)?;
            if rank == 0 {
                return Err(CommandError::LposRankZero);
            }
            // Redis 7.0 negates the rank without a range check, and the negation of
            // the most negative value is itself: "any match, from the tail".
            if rank == i64::MIN {
                rank = -1;
            }
        } else if option.eq_ignore_ascii_case(b"count") {
            count = Some(positive_arg(value, Some(CommandError::LposCountNegative))?);
        } else if option.eq_ignore_ascii_case(b"maxlen") {
            maxlen = positive_arg(value, Some(CommandError::LposMaxlenNegative))?;
        } else {
            return Err(CommandError::Syntax);
        }
        index += 2;
    }
    let (mut db, out) = ctx.db_and_out();
    let found = db.list_positions(&args[1], &args[2], rank, count.unwrap_or(1), maxlen)?;
    match (found, count) {
        (Some(positions), Some(_)) => {
            out.array_len(positions.len());
            for position in positions {
                out.int(position as i64);
            }
        }
        (None, Some(_)) => out.array_len(0),
        (Some(positions), None) if !positions.is_empty() => out.int(positions[0] as i64),
        (_, None) => out.null(),
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// Moves and multi-key pops.

fn end_arg(word: &[u8]) -> Result<End, CommandError> {
    End::parse(word).ok_or(CommandError::Syntax)
}

/// Moves one element and replies with it (null when the source is missing).
fn move_reply(
    ctx: &mut Ctx<'_, '_>,
    source: &[u8],
    destination: &[u8],
    from: End,
    to: End,
) -> CmdResult {
    let (mut db, out) = ctx.db_and_out();
    match db.list_move(source, destination, from, to)? {
        Some(item) => {
            out.bulk(&item);
            // Redis reports the push first, then the pop (and the source's removal).
            ctx.notify(class::LIST, push_event(to), destination);
            ctx.notify_removal(class::LIST, pop_event(from), source);
            ctx.signal_ready(destination);
        }
        None => out.null(),
    }
    Ok(())
}

fn lmove(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let (from, to) = (end_arg(&args[3])?, end_arg(&args[4])?);
    move_reply(ctx, &args[1], &args[2], from, to)
}

fn rpoplpush(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    move_reply(ctx, &args[1], &args[2], End::Tail, End::Head)
}

fn lmpop(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let request = parse_multi_pop(&args, 1, End::parse)?;
    let keys = request.keys.map(|i| &args[i]);
    if !pop_first(ctx, keys, request.end, Some(request.count))? {
        ctx.out.null_array();
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// Blocking commands.

/// A serve's [`Ctx::notify_removal`]: records `event` on `key`, which just lost
/// elements, then `del` if that emptied it.
fn report_removal(db: &mut DbView<'_, '_>, event: &'static str, key: &[u8]) {
    db.report(class::LIST, event, key);
    if !db.exists(key) {
        db.report(class::GENERIC, "del", key);
    }
}

/// Serves a BLPOP, BRPOP or BLMPOP waiter: pops from its end of the list.
struct PopServe {
    end: End,
    /// BLMPOP's count; `None` for BLPOP/BRPOP, whose reply has a single element.
    count: Option<usize>,
    protocol: Protocol,
}

impl ServeOp for PopServe {
    fn can_serve(&self, db: &mut DbView<'_, '_>, key: &[u8]) -> bool {
        matches!(db.list_mut(key), Ok(Some(_)))
    }

    fn serve(&self, db: &mut DbView<'_, '_>, key: &[u8], _: &mut ReadyKeys) -> Delivery {
        let items = db
            .list_pop(key, self.end, self.count.unwrap_or(1))
            .ok()
            .flatten()
            .unwrap_or_default();
        report_removal(db, pop_event(self.end), key);
        // The hand-off is logged as the pop it amounts to.
        let mut count = itoa::Buffer::new();
        let pop_command: &[u8] = match self.end {
            End::Head => b"LPOP",
            End::Tail => b"RPOP",
        };
        let (index, now) = (db.index(), db.now_ms());
        db.locked().propagate(
            index,
            now,
            &[&[pop_command, key, count.format(items.len()).as_bytes()]],
        );
        let mut reply = Vec::new();
        keyed_reply(
            &mut ReplyWriter::new(&mut reply, self.protocol),
            key,
            &items,
            self.count.is_some(),
        );
        let (end, owned) = (self.end, key.to_vec());
        let restore = move |db: &mut DbView<'_, '_>| {
            // Pushed back in reverse pop order, the elements are where they were.
            match db.list_push(&owned, items.iter().rev().map(|i| &i[..]), end, true) {
                // The pop was reported and logged: so is the push that undoes it.
                Ok(_) => {
                    db.report(class::LIST, push_event(end), &owned);
                    let push_command: &[u8] = match end {
                        End::Head => b"LPUSH",
                        End::Tail => b"RPUSH",
                    };
                    let mut command: Vec<&[u8]> = vec![push_command, &owned];
                    command.extend(items.iter().rev().map(|i| &i[..]));
                    let (index, now) = (db.index(), db.now_ms());
                    db.locked().propagate(index, now, &[&command]);
                }
                Err(_) => {
                    tracing::warn!(key = %String::from_utf8_lossy(&owned), "an undelivered element could not go back: the key changed type");
                }
            }
        };
        Delivery {
            reply,
            restore: Some((key.to_vec(), Box::new(restore))),
        }
    }
}

/// Serves a BLMOVE or BRPOPLPUSH waiter: moves one element to the destination. A
/// destination that is no longer a list answers the waiter `WRONGTYPE` and leaves the
/// element in place, as Redis does.
struct MoveServe {
    from: End,
    to: End,
    destination: Box<[u8]>,
    protocol: Protocol,
}

impl ServeOp for MoveServe {
    fn also_locks(&self) -> Option<&[u8]> {
        Some(&self.destination)
    }

    fn can_serve(&self, db: &mut DbView<'_, '_>, key: &[u8]) -> bool {
        matches!(db.list_mut(key), Ok(Some(_)))
    }

    fn serve(&self, db: &mut DbView<'_, '_>, key: &[u8], ready: &mut ReadyKeys) -> Delivery {
        let mut reply = Vec::new();
        let mut out = ReplyWriter::new(&mut reply, self.protocol);
        match db.list_move(key, &self.destination, self.from, self.to) {
            Ok(Some(item)) => {
                out.bulk(&item);
                let side = |end: End| -> &'static [u8] {
                    match end {
                        End::Head => b"LEFT",
                        End::Tail => b"RIGHT",
                    }
                };
                let (index, now) = (db.index(), db.now_ms());
                db.locked().propagate(
                    index,
                    now,
                    &[&[
                        b"LMOVE",
                        key,
                        &self.destination,
                        side(self.from),
                        side(self.to),
                    ]],
                );
                db.report(class::LIST, push_event(self.to), &self.destination);
                report_removal(db, pop_event(self.from), key);
                db.note_ready(&self.destination, ready);
            }
            Ok(None) => out.null(),
            Err(error) => out.error(CommandError::from(error).reply_text().as_bytes()),
        }
        Delivery {
            reply,
            restore: None,
        }
    }
}

/// BLPOP/BRPOP `key [key ...] timeout`
fn blocking_pop(ctx: &mut Ctx<'_, '_>, args: Args<'_>, end: End) -> CmdResult {
    let last = args.len() - 1;
    let deadline = parse_timeout(&args[last], ctx.now_ms)?;
    let keys = (1..last).map(|i| &args[i]);
    if pop_first(ctx, keys.clone(), end, None)? {
        return Ok(());
    }
    if ctx.nested {
        ctx.out.null_array();
        return Ok(());
    }
    let protocol = ctx.client.protocol;
    let serve = PopServe {
        end,
        count: None,
        protocol,
    };
    blocking::block(ctx, keys, deadline, Box::new(serve));
    Ok(())
}

fn blpop(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    blocking_pop(ctx, args, End::Head)
}

fn brpop(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    blocking_pop(ctx, args, End::Tail)
}

/// `BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]`
fn blmpop(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let request = parse_multi_pop(&args, 2, End::parse)?;
    let deadline = parse_timeout(&args[1], ctx.now_ms)?;
    let keys = request.keys.map(|i| &args[i]);
    if pop_first(ctx, keys.clone(), request.end, Some(request.count))? {
        return Ok(());
    }
    if ctx.nested {
        ctx.out.null_array();
        return Ok(());
    }
    let serve = PopServe {
        end: request.end,
        count: Some(request.count),
        protocol: ctx.client.protocol,
    };
    blocking::block(ctx, keys, deadline, Box::new(serve));
    Ok(())
}

/// BLMOVE and BRPOPLPUSH: move at once if the source has something, else wait on it.
fn blocking_move(
    ctx: &mut Ctx<'_, '_>,
    args: Args<'_>,
    from: End,
    to: End,
    deadline: Option<u64>,
) -> CmdResult {
    let (source, destination) = (&args[1], &args[2]);
    if ctx.db().list_mut(source)?.is_some() {
        return move_reply(ctx, source, destination, from, to);
    }
    if ctx.nested {
        ctx.out.null();
        return Ok(());
    }
    let serve = MoveServe {
        from,
        to,
        destination: destination.into(),
        protocol: ctx.client.protocol,
    };
    blocking::block(ctx, [source], deadline, Box::new(serve));
    Ok(())
}

/// `BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout`
fn blmove(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let (from, to) = (end_arg(&args[3])?, end_arg(&args[4])?);
    let deadline = parse_timeout(&args[5], ctx.now_ms)?;
    blocking_move(ctx, args, from, to, deadline)
}

/// `BRPOPLPUSH source destination timeout`
fn brpoplpush(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let deadline = parse_timeout(&args[3], ctx.now_ms)?;
    blocking_move(ctx, args, End::Tail, End::Head, deadline)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::table::CommandTable;
    use crate::commands::{Effects, Flow, gate};
    use crate::config::Config;
    use crate::protocol::OwnedArgs;
    use crate::server::Server;
    use crate::server::client::{Client, ClientHandle};
    use std::sync::Arc;

    /// Runs one command the way EXEC or a script runs it: `nested` set.
    fn run_nested(server: &Server, client: &mut Client, words: &[&str]) -> Vec<u8> {
        let args = OwnedArgs::from_slices(words.iter().map(|w| w.as_bytes()));
        let spec = CommandTable::get()
            .lookup(words[0].as_bytes())
            .expect("known");
        let store = gate::lock_for(server, spec, &args.args()).expect("no script runs");
        let (mut out, mut effects) = (Vec::new(), Effects::default());
        let protocol = client.protocol;
        let mut ctx = Ctx {
            server,
            client,
            out: ReplyWriter::new(&mut out, protocol),
            store,
            now_ms: 0,
            spec,
            flow: Flow::Continue,
            effects: &mut effects,
            nested: true,
        };
        if let Err(error) = (spec.handler)(&mut ctx, args.args()) {
            ctx.out.error(error.reply_text().as_bytes());
        }
        out
    }

    #[test]
    fn blocking_commands_never_block_when_nested() {
        let server = Server::new(Config::default());
        let address = "127.0.0.1:1".parse().unwrap();
        let mut client = Client::new(Arc::new(ClientHandle::new(1, address, address)), true);
        let mut run = |words: &[&str]| run_nested(&server, &mut client, words);
        assert_eq!(run(&["BLPOP", "q", "0"]), b"*-1\r\n");
        assert_eq!(run(&["BRPOP", "q", "other", "0"]), b"*-1\r\n");
        assert_eq!(run(&["BLMPOP", "0", "1", "q", "LEFT"]), b"*-1\r\n");
        // BLMOVE and BRPOPLPUSH answer the null bulk string here, as Redis does.
        assert_eq!(run(&["BLMOVE", "q", "d", "LEFT", "RIGHT", "0"]), b"$-1\r\n");
        assert_eq!(run(&["BRPOPLPUSH", "q", "d", "0"]), b"$-1\r\n");
        // With something to pop they behave as outside a transaction.
        assert_eq!(run(&["RPUSH", "q", "a", "b"]), b":2\r\n");
        assert_eq!(run(&["BRPOP", "q", "0"]), b"*2\r\n$1\r\nq\r\n$1\r\nb\r\n");
        assert_eq!(
            run(&["BLMOVE", "q", "d", "LEFT", "RIGHT", "0"]),
            b"$1\r\na\r\n"
        );
        client.set_protocol(Protocol::Resp3);
        assert_eq!(
            run_nested(&server, &mut client, &["BLPOP", "q", "0"]),
            b"_\r\n"
        );
        assert!(client.blocked.is_none());
        assert_eq!(server.keyspace.waiter_entries(), 0);
        assert_eq!(server.blocked_clients(), 0);
    }
}

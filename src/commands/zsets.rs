//! Sorted-set commands.
//!
//! Scores are printed as Redis 7.0 prints them (`%.17g`, `inf`, `-inf`): RESP3
//! doubles, or bulk strings in RESP2. Replies with scores come in three shapes,
//! each exactly as Redis 7.0.15 sends it:
//! * ZRANGE and its legacy forms, ZUNION/ZINTER/ZDIFF, ZRANDMEMBER and ZPOPMIN/ZPOPMAX
//!   *with a count*: `[member, score]` pairs, nested in RESP3 and flat in RESP2;
//! * ZPOPMIN/ZPOPMAX *without* a count: one flat `[member, score]` array;
//! * ZSCAN: a flat list with the scores as bulk strings in both protocols.
//!
//! The blocking pops name their key: BZPOPMIN/BZPOPMAX answer one flat
//! `[key, member, score]`, BZMPOP `[key, [[member, score], ...]]`, nested in both
//! protocols. They follow the rules in [`crate::commands::blocking`].

use std::ops::Range;

use crate::commands::blocking::{self, parse_timeout};
use crate::commands::collections::{
    limit_arg, parse_multi_pop, positive_count, rand_options, scan_command, store_and_reply,
};
use crate::commands::flags::*;
use crate::commands::{CmdResult, CommandError, CommandSpec, Ctx, float_arg, int_arg};
use crate::protocol::{Args, Protocol, ReplyWriter};
use crate::pubsub::notify::class;
use crate::store::sorted_set::{LexBound, ScoreBound};
use crate::store::value::ZSet;
use crate::store::waiters::{Delivery, ReadyKeys, ServeOp};
use crate::store::zsets::{Aggregate, Popped, RangeBy, RangeQuery, ZaddFlags, ZsetOp};
use crate::store::{DbView, Value, ValueType};
use crate::util::numbers::parse_f64;
use crate::util::random;

const ONE_KEY: (i32, i32, i32) = (1, 1, 1);
const NOKEYS: (i32, i32, i32) = (0, 0, 0);
/// BZPOPMIN and BZPOPMAX: every argument but the timeout.
const BZPOP_KEYS: (i32, i32, i32) = (1, -2, 1);
/// ZMPOP names its keys through `numkeys`: every argument from the first key on
/// (locking the shards of the trailing `MIN COUNT n` words too is harmless).
const ZMPOP_KEYS: (i32, i32, i32) = (2, -1, 1);
/// BZMPOP names its keys through `numkeys`: every argument from the first key on
/// (locking the shards of the trailing `MIN COUNT n` words too is harmless).
const BZMPOP_KEYS: (i32, i32, i32) = (3, -1, 1);

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("zadd", -4, WRITE | DENYOOM | FAST, ONE_KEY, zadd)
        .doc("sorted-set", "1.2.0", "Adds one or more members to a sorted set, or updates their scores. Creates the key if it doesn't exist.")
        .syntax("key [NX | XX]:condition [GT | LT]:comparison [CH]:change [INCR]:increment score:double member [score:double member ...]"),
    CommandSpec::new("zincrby", 4, WRITE | DENYOOM | FAST, ONE_KEY, zincrby)
        .doc("sorted-set", "1.2.0", "Increments the score of a member in a sorted set.")
        .syntax("key increment member"),
    CommandSpec::new("zrem", -3, WRITE | FAST, ONE_KEY, zrem)
        .doc("sorted-set", "1.2.0", "Removes one or more members from a sorted set. Deletes the sorted set if all members were removed.")
        .syntax("key member [member ...]"),
    CommandSpec::new("zscore", 3, READONLY | FAST, ONE_KEY, zscore)
        .doc("sorted-set", "1.2.0", "Returns the score of a member in a sorted set.")
        .syntax("key member"),
    CommandSpec::new("zmscore", -3, READONLY | FAST, ONE_KEY, zmscore)
        .doc("sorted-set", "6.2.0", "Returns the score of one or more members in a sorted set.")
        .syntax("key member [member ...]"),
    CommandSpec::new("zcard", 2, READONLY | FAST, ONE_KEY, zcard)
        .doc("sorted-set", "1.2.0", "Returns the number of members in a sorted set.")
        .syntax("key"),
    CommandSpec::new("zcount", 4, READONLY | FAST, ONE_KEY, zcount)
        .doc("sorted-set", "2.0.0", "Returns the count of members in a sorted set that have scores within a range.")
        .syntax("key min:double max:double"),
    CommandSpec::new("zlexcount", 4, READONLY | FAST, ONE_KEY, zlexcount)
        .doc("sorted-set", "2.8.9", "Returns the number of members in a sorted set within a lexicographical range.")
        .syntax("key min max"),
    CommandSpec::new("zrange", -4, READONLY, ONE_KEY, zrange)
        .doc("sorted-set", "1.2.0", "Returns members in a sorted set within a range of indexes.")
        .syntax("key start:string stop [BYSCORE | BYLEX]:sortby [REV] [LIMIT offset count]:offset_count [WITHSCORES]"),
    CommandSpec::new("zrangestore", -5, WRITE | DENYOOM, (1, 2, 1), zrangestore)
        .doc("sorted-set", "6.2.0", "Stores a range of members from sorted set in a key.")
        .syntax("dst:key src:key min max [BYSCORE | BYLEX]:sortby [REV] [LIMIT offset count]:offset_count"),
    CommandSpec::new("zrangebyscore", -4, READONLY, ONE_KEY, zrangebyscore)
        .doc("sorted-set", "1.0.5", "Returns members in a sorted set within a range of scores.")
        .syntax("key min:double max:double [WITHSCORES] [LIMIT offset count]:offset_count"),
    CommandSpec::new("zrevrangebyscore", -4, READONLY, ONE_KEY, zrevrangebyscore)
        .doc("sorted-set", "2.2.0", "Returns members in a sorted set within a range of scores in reverse order.")
        .syntax("key max:double min:double [WITHSCORES] [LIMIT offset count]:offset_count"),
    CommandSpec::new("zrangebylex", -4, READONLY, ONE_KEY, zrangebylex)
        .doc("sorted-set", "2.8.9", "Returns members in a sorted set within a lexicographical range.")
        .syntax("key min max [LIMIT offset count]:offset_count"),
    CommandSpec::new("zrevrangebylex", -4, READONLY, ONE_KEY, zrevrangebylex)
        .doc("sorted-set", "2.8.9", "Returns members in a sorted set within a lexicographical range in reverse order.")
        .syntax("key max min [LIMIT offset count]:offset_count"),
    CommandSpec::new("zrevrange", -4, READONLY, ONE_KEY, zrevrange)
        .doc("sorted-set", "1.2.0", "Returns members in a sorted set within a range of indexes in reverse order.")
        .syntax("key start stop:integer [WITHSCORES]"),
    CommandSpec::new("zrank", 3, READONLY | FAST, ONE_KEY, zrank)
        .doc("sorted-set", "2.0.0", "Returns the index of a member in a sorted set ordered by ascending scores.")
        .syntax("key member"),
    CommandSpec::new("zrevrank", 3, READONLY | FAST, ONE_KEY, zrevrank)
        .doc("sorted-set", "2.0.0", "Returns the index of a member in a sorted set ordered by descending scores.")
        .syntax("key member"),
    CommandSpec::new("zremrangebyscore", 4, WRITE, ONE_KEY, zremrangebyscore)
        .doc("sorted-set", "1.2.0", "Removes members in a sorted set within a range of scores. Deletes the sorted set if all members were removed.")
        .syntax("key min:double max:double"),
    CommandSpec::new("zremrangebyrank", 4, WRITE, ONE_KEY, zremrangebyrank)
        .doc("sorted-set", "2.0.0", "Removes members in a sorted set within a range of indexes. Deletes the sorted set if all members were removed.")
        .syntax("key start stop:integer"),
    CommandSpec::new("zremrangebylex", 4, WRITE, ONE_KEY, zremrangebylex)
        .doc("sorted-set", "2.8.9", "Removes members in a sorted set within a lexicographical range. Deletes the sorted set if all members were removed.")
        .syntax("key min max"),
    CommandSpec::new("zpopmin", -2, WRITE | FAST, ONE_KEY, zpopmin)
        .doc("sorted-set", "5.0.0", "Returns the lowest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.")
        .syntax("key [count]"),
    CommandSpec::new("zpopmax", -2, WRITE | FAST, ONE_KEY, zpopmax)
        .doc("sorted-set", "5.0.0", "Returns the highest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.")
        .syntax("key [count]"),
    CommandSpec::new("zmpop", -4, WRITE, ZMPOP_KEYS, zmpop)
        .doc("sorted-set", "7.0.0", "Returns the highest- or lowest-scoring members from one or more sorted sets after removing them. Deletes the sorted set if the last member was popped.")
        .syntax("numkeys key [key ...] <MIN | MAX>:where [COUNT count]"),
    // Redis 7.0.15 flags BZPOPMIN and BZPOPMAX `noscript`, but not BZMPOP.
    CommandSpec::new("bzpopmin", -3, WRITE | NOSCRIPT | BLOCKING | FAST, BZPOP_KEYS, bzpopmin)
        .doc("sorted-set", "5.0.0", "Removes and returns the member with the lowest score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.")
        .syntax("key [key ...] timeout:double"),
    CommandSpec::new("bzpopmax", -3, WRITE | NOSCRIPT | BLOCKING | FAST, BZPOP_KEYS, bzpopmax)
        .doc("sorted-set", "5.0.0", "Removes and returns the member with the highest score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.")
        .syntax("key [key ...] timeout:double"),
    CommandSpec::new("bzmpop", -5, WRITE | BLOCKING, BZMPOP_KEYS, bzmpop)
        .doc("sorted-set", "7.0.0", "Removes and returns a member by score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.")
        .syntax("timeout:double numkeys key [key ...] <MIN | MAX>:where [COUNT count]"),
    CommandSpec::new("zrandmember", -2, READONLY, ONE_KEY, zrandmember)
        .doc("sorted-set", "6.2.0", "Returns one or more random members from a sorted set.")
        .syntax("key [count [WITHSCORES]]:options"),
    CommandSpec::new("zscan", -3, READONLY, ONE_KEY, zscan)
        .doc("sorted-set", "2.8.0", "Iterates over members and scores of a sorted set.")
        .syntax("key cursor [MATCH pattern] [COUNT count]"),
    CommandSpec::new("zunionstore", -4, WRITE | DENYOOM | ALL_KEYS, NOKEYS, zunionstore)
        .doc("sorted-set", "2.0.0", "Stores the union of multiple sorted sets in a key.")
        .syntax("destination numkeys key [key ...] [WEIGHTS weight:integer [weight:integer ...]] [AGGREGATE <SUM | MIN | MAX>:aggregate]"),
    CommandSpec::new("zinterstore", -4, WRITE | DENYOOM | ALL_KEYS, NOKEYS, zinterstore)
        .doc("sorted-set", "2.0.0", "Stores the intersect of multiple sorted sets in a key.")
        .syntax("destination numkeys key [key ...] [WEIGHTS weight:integer [weight:integer ...]] [AGGREGATE <SUM | MIN | MAX>:aggregate]"),
    CommandSpec::new("zdiffstore", -4, WRITE | DENYOOM | ALL_KEYS, NOKEYS, zdiffstore)
        .doc("sorted-set", "6.2.0", "Stores the difference of multiple sorted sets in a key.")
        .syntax("destination numkeys key [key ...]"),
    CommandSpec::new("zunion", -3, READONLY | ALL_KEYS, NOKEYS, zunion)
        .doc("sorted-set", "6.2.0", "Returns the union of multiple sorted sets.")
        .syntax("numkeys key [key ...] [WEIGHTS weight:integer [weight:integer ...]] [AGGREGATE <SUM | MIN | MAX>:aggregate] [WITHSCORES]"),
    CommandSpec::new("zinter", -3, READONLY | ALL_KEYS, NOKEYS, zinter)
        .doc("sorted-set", "6.2.0", "Returns the intersect of multiple sorted sets.")
        .syntax("numkeys key [key ...] [WEIGHTS weight:integer [weight:integer ...]] [AGGREGATE <SUM | MIN | MAX>:aggregate] [WITHSCORES]"),
    CommandSpec::new("zdiff", -3, READONLY | ALL_KEYS, NOKEYS, zdiff)
        .doc("sorted-set", "6.2.0", "Returns the difference between multiple sorted sets.")
        .syntax("numkeys key [key ...] [WITHSCORES]"),
    CommandSpec::new("zintercard", -3, READONLY | ALL_KEYS, NOKEYS, zintercard)
        .doc("sorted-set", "7.0.0", "Returns the number of members of the intersect of multiple sorted sets.")
        .syntax("numkeys key [key ...] [LIMIT limit:integer]"),
];

/// Writes `(member, score)` elements: `[member, score]` pairs when `with_scores`
/// (nested in RESP3, flat in RESP2), members alone otherwise.
fn write_elements<'m>(
    out: &mut ReplyWriter<'_>,
    len: usize,
    elements: impl Iterator<Item = (&'m [u8], f64)>,
    with_scores: bool,
) {
    if with_scores {
        out.pairs_len(len);
    } else {
        out.array_len(len);
    }
    for (member, score) in elements {
        if with_scores {
            out.pair();
            out.bulk(member);
            out.double(score);
        } else {
            out.bulk(member);
        }
    }
}

/// `ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]`, checked in
/// Redis's order: options, pairing, incompatible options, scores, then the key.
fn zadd(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let mut flags = ZaddFlags::default();
    let mut changed = false;
    let mut index = 2;
    while let Some(word) = args.get(index) {
        match &word.to_ascii_uppercase()[..] {
            b"NX" => flags.nx = true,
            b"XX" => flags.xx = true,
            b"GT" => flags.gt = true,
            b"LT" => flags.lt = true,
            b"CH" => changed = true,
            b"INCR" => flags.incr = true,
            _ => break,
        }
        index += 1;
    }
    let elements = args.len() - index;
    if elements == 0 || elements % 2 != 0 {
        return Err(CommandError::Syntax);
    }
    if flags.nx && flags.xx {
        return Err(CommandError::ZaddXxAndNx);
    }
    if (flags.nx && (flags.gt || flags.lt)) || (flags.gt && flags.lt) {
        return Err(CommandError::ZaddGtLtNx);
    }
    if flags.incr && elements > 2 {
        return Err(CommandError::ZaddIncrPairs);
    }
    let pairs = (index..args.len())
        .step_by(2)
        .map(|i| Ok((float_arg(&args[i])?, &args[i + 1][..])))
        .collect::<Result<Vec<_>, CommandError>>()?;
    add_and_reply(ctx, &args[1], flags, &pairs, changed)
}

/// Applies ZADD/ZINCRBY and answers: the new score (or null) with INCR, otherwise
/// the number added (plus the number changed with CH).
fn add_and_reply(
    ctx: &mut Ctx<'_, '_>,
    key: &[u8],
    flags: ZaddFlags,
    pairs: &[(f64, &[u8])],
    changed: bool,
) -> CmdResult {
    let (mut db, out) = ctx.db_and_out();
    let outcome = db.zset_add(key, flags, pairs)?;
    if flags.incr {
        match outcome.score {
            Some(score) => out.double(score),
            None => out.null(),
        }
    } else if changed {
        out.int((outcome.added + outcome.updated) as i64);
    } else {
        out.int(outcome.added as i64);
    }
    if outcome.added + outcome.updated > 0 {
        let event = if flags.incr { "zincr" } else { "zadd" };
        ctx.notify(class::ZSET, event, key);
    }
    if outcome.added > 0 {
        ctx.signal_ready(key);
    }
    Ok(())
}

fn zincrby(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let delta = float_arg(&args[2])?;
    let flags = ZaddFlags {
        incr: true,
        ..ZaddFlags::default()
    };
    add_and_reply(ctx, &args[1], flags, &[(delta, &args[3][..])], false)
}

fn zrem(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let (mut db, out) = ctx.db_and_out();
    let removed = db.zset_remove(&args[1], args.iter().skip(2))?;
    out.int(removed as i64);
    if removed > 0 {
        ctx.notify_removal(class::ZSET, "zrem", &args[1]);
    }
    Ok(())
}

fn zscore(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let (mut db, out) = ctx.db_and_out();
    match db.zset(&args[1])?.and_then(|zset| zset.score(&args[2])) {
        Some(score) => out.double(score),
        None => out.null(),
    }
    Ok(())
}

fn zmscore(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let (mut db, out) = ctx.db_and_out();
    let zset = db.zset(&args[1])?;
    out.array_len(args.len() - 2);
    for member in args.iter().skip(2) {
        match zset.and_then(|zset| zset.score(member)) {
            Some(score) => out.double(score),
            None => out.null(),
        }
    }
    Ok(())
}

fn zcard(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let (mut db, out) = ctx.db_and_out();
    out.int(db.zset(&args[1])?.map_or(0, ZSet::len) as i64);
    Ok(())
}

/// A score range `min max` (`(` for exclusive, `-inf`, `+inf`).
fn score_range(min: &[u8], max: &[u8]) -> Result<RangeBy, CommandError> {
    match (ScoreBound::parse(min), ScoreBound::parse(max)) {
        (Some(min), Some(max)) => Ok(RangeBy::Score(min, max)),
        _ => Err(CommandError::MinMaxNotFloat),
    }
}

/// A lex range `min max` (`[` inclusive, `(` exclusive, `-`, `+`).
fn lex_range(min: &[u8], max: &[u8]) -> Result<RangeBy, CommandError> {
    match (LexBound::parse(min), LexBound::parse(max)) {
        (Some(min), Some(max)) => Ok(RangeBy::Lex(min, max)),
        _ => Err(CommandError::MinMaxNotLex),
    }
}

fn rank_range(start: &[u8], end: &[u8]) -> Result<RangeBy, CommandError> {
    Ok(RangeBy::Rank(int_arg(start)?, int_arg(end)?))
}

/// ZCOUNT and ZLEXCOUNT: how many elements a range holds.
fn count_in(ctx: &mut Ctx<'_, '_>, key: &[u8], by: RangeBy) -> CmdResult {
    let (mut db, out) = ctx.db_and_out();
    let count = match (db.zset(key)?, &by) {
        (None, _) => 0,
        (Some(zset), RangeBy::Score(min, max)) => zset.count_in_score_range(*min, *max),
        (Some(zset), RangeBy::Lex(min, max)) => zset.count_in_lex_range(min, max),
        (Some(_), RangeBy::Rank(..)) => unreachable!("counts are by score or lex"),
    };
    out.int(count as i64);
    Ok(())
}

fn zcount(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let by = score_range(&args[2], &args[3])?;
    count_in(ctx, &args[1], by)
}

fn zlexcount(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let by = lex_range(&args[2], &args[3])?;
    count_in(ctx, &args[1], by)
}

/// What a range command's name fixes before its options are read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RangeKind {
    /// ZRANGE and ZRANGESTORE: BYSCORE or BYLEX may choose, ranks otherwise.
    Auto,
    Rank,
    Score,
    Lex,
}

/// The one parser of every range form: `ZRANGE key min max [BYSCORE|BYLEX] [REV]
/// [LIMIT offset count] [WITHSCORES]`, ZRANGESTORE (`key` at index 2, no
/// WITHSCORES) and the legacy commands (`kind` and `rev` fixed by the name, so
/// BYSCORE, BYLEX and REV are syntax errors there). Follows Redis's checks in
/// order: options, LIMIT on ranks, WITHSCORES on lex, then the bounds, which REV
/// gives highest first for scores and lex.
///
/// # Returns
/// The query and whether WITHSCORES was given.
fn parse_range(
    args: &Args<'_>,
    key_index: usize,
    kind: RangeKind,
    rev: Option<bool>,
    store: bool,
) -> Result<(RangeQuery, bool), CommandError> {
    let (mut kind, mut rev) = (kind, rev);
    let mut with_scores = false;
    let mut limit = None;
    let mut index = key_index + 3;
    while index < args.len() {
        let word = &args[index];
        let left = args.len() - index - 1;
        if !store && word.eq_ignore_ascii_case(b"withscores") {
            with_scores = true;
        } else if word.eq_ignore_ascii_case(b"limit") && left >= 2 {
            limit = Some((int_arg(&args[index + 1])?, int_arg(&args[index + 2])?));
            index += 2;
        } else if rev.is_none() && word.eq_ignore_ascii_case(b"rev") {
            rev = Some(true);
        } else if kind == RangeKind::Auto && word.eq_ignore_ascii_case(b"bylex") {
            kind = RangeKind::Lex;
        } else if kind == RangeKind::Auto && word.eq_ignore_ascii_case(b"byscore") {
            kind = RangeKind::Score;
        } else {
            return Err(CommandError::Syntax);
        }
        index += 1;
    }
    let rev = rev.unwrap_or(false);
    // Redis tells "no LIMIT" by a count of -1, so `LIMIT x -1` passes on ranks.
    let limited = limit.is_some_and(|(_, count)| count != -1);
    if limited && matches!(kind, RangeKind::Auto | RangeKind::Rank) {
        return Err(CommandError::LimitNeedsScoreOrLex);
    }
    if with_scores && kind == RangeKind::Lex {
        return Err(CommandError::WithscoresByLex);
    }
    let (mut low, mut high) = (&args[key_index + 1][..], &args[key_index + 2][..]);
    if rev && matches!(kind, RangeKind::Score | RangeKind::Lex) {
        std::mem::swap(&mut low, &mut high);
    }
    let by = match kind {
        RangeKind::Auto | RangeKind::Rank => {
            limit = None;
            rank_range(low, high)?
        }
        RangeKind::Score => score_range(low, high)?,
        RangeKind::Lex => lex_range(low, high)?,
    };
    Ok((RangeQuery { by, rev, limit }, with_scores))
}

/// ZRANGE and its legacy forms: parse, then answer the selected elements.
fn range_reply(
    ctx: &mut Ctx<'_, '_>,
    args: Args<'_>,
    kind: RangeKind,
    rev: Option<bool>,
) -> CmdResult {
    let (query, with_scores) = parse_range(&args, 1, kind, rev, false)?;
    let (mut db, out) = ctx.db_and_out();
    let Some(zset) = db.zset(&args[1])? else {
        out.array_len(0);
        return Ok(());
    };
    let window = query.window(zset);
    write_elements(out, window.len(), window.iter(zset), with_scores);
    Ok(())
}

fn zrange(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    range_reply(ctx, args, RangeKind::Auto, None)
}

fn zrangebyscore(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    range_reply(ctx, args, RangeKind::Score, Some(false))
}

fn zrevrangebyscore(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    range_reply(ctx, args, RangeKind::Score, Some(true))
}

fn zrangebylex(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    range_reply(ctx, args, RangeKind::Lex, Some(false))
}

fn zrevrangebylex(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    range_reply(ctx, args, RangeKind::Lex, Some(true))
}

fn zrevrange(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    range_reply(ctx, args, RangeKind::Rank, Some(true))
}

/// `ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]`.
fn zrangestore(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let (query, _) = parse_range(&args, 2, RangeKind::Auto, None, true)?;
    let copy = ctx.db().zset_range_copy(&args[2], &query)?;
    let len = copy.len();
    store_and_reply(
        ctx,
        &args[1],
        Value::ZSet(Box::new(copy)),
        len,
        "zrangestore",
    )
}

/// ZRANK and ZREVRANK.
fn rank_reply(ctx: &mut Ctx<'_, '_>, args: Args<'_>, rev: bool) -> CmdResult {
    let (mut db, out) = ctx.db_and_out();
    let rank = db.zset(&args[1])?.and_then(|zset| {
        zset.rank(&args[2])
            .map(|rank| if rev { zset.len() - 1 - rank } else { rank })
    });
    match rank {
        Some(rank) => out.int(rank as i64),
        None => out.null(),
    }
    Ok(())
}

fn zrank(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    rank_reply(ctx, args, false)
}

fn zrevrank(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    rank_reply(ctx, args, true)
}

/// ZREMRANGEBYRANK, ZREMRANGEBYSCORE and ZREMRANGEBYLEX.
fn remove_range(ctx: &mut Ctx<'_, '_>, key: &[u8], by: RangeBy) -> CmdResult {
    let event = match by {
        RangeBy::Rank(..) => "zremrangebyrank",
        RangeBy::Score(..) => "zremrangebyscore",
        RangeBy::Lex(..) => "zremrangebylex",
    };
    let query = RangeQuery {
        by,
        rev: false,
        limit: None,
    };
    let (mut db, out) = ctx.db_and_out();
    let removed = db.zset_remove_range(key, &query)?;
    out.int(removed as i64);
    if removed > 0 {
        ctx.notify_removal(class::ZSET, event, key);
    }
    Ok(())
}

fn zremrangebyrank(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let by = rank_range(&args[2], &args[3])?;
    remove_range(ctx, &args[1], by)
}

fn zremrangebyscore(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let by = score_range(&args[2], &args[3])?;
    remove_range(ctx, &args[1], by)
}

fn zremrangebylex(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let by = lex_range(&args[2], &args[3])?;
    remove_range(ctx, &args[1], by)
}

/// ZPOPMIN and ZPOPMAX: `key [count]`.
fn pop_reply(ctx: &mut Ctx<'_, '_>, args: Args<'_>, from_max: bool) -> CmdResult {
    let count = match args.len() {
        2 => None,
        3 => Some(positive_count(&args[2])?),
        _ => return Err(CommandError::Syntax),
    };
    let (mut db, out) = ctx.db_and_out();
    let popped = db.zset_pop(&args[1], count.unwrap_or(1), from_max)?;
    let elements = popped.iter().map(|(member, score)| (&member[..], *score));
    match (count, popped.first()) {
        (Some(_), _) => write_elements(out, popped.len(), elements, true),
        (None, Some((member, score))) => {
            out.array_len(2);
            out.bulk(member);
            out.double(*score);
        }
        (None, None) => out.array_len(0),
    }
    if !popped.is_empty() {
        let event = if from_max { "zpopmax" } else { "zpopmin" };
        ctx.notify_removal(class::ZSET, event, &args[1]);
    }
    Ok(())
}

fn zpopmin(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    pop_reply(ctx, args, false)
}

fn zpopmax(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    pop_reply(ctx, args, true)
}

// ---------------------------------------------------------------------------------
// Blocking pops.

/// What a blocking pop takes from a sorted set.
#[derive(Clone, Copy)]
struct ZPop {
    from_max: bool,
    /// BZMPOP's count; `None` for BZPOPMIN/BZPOPMAX, which take one member and
    /// answer it flat.
    count: Option<usize>,
}

impl ZPop {
    /// The keyspace event of the pop, the same as ZPOPMIN's or ZPOPMAX's.
    fn event(self) -> &'static str {
        if self.from_max { "zpopmax" } else { "zpopmin" }
    }
}

/// `[key, member, score]`, or `[key, [[member, score], ...]]` when `counted`.
fn keyed_reply(out: &mut ReplyWriter<'_>, key: &[u8], popped: &[Popped], counted: bool) {
    if counted {
        out.array_len(2);
        out.bulk(key);
        out.array_len(popped.len());
        for (member, score) in popped {
            out.array_len(2);
            out.bulk(member);
            out.double(*score);
        }
    } else if let Some((member, score)) = popped.first() {
        out.array_len(3);
        out.bulk(key);
        out.bulk(member);
        out.double(*score);
    } else {
        // Never reached: a stored sorted set has a member to pop.
        out.null_array();
    }
}

/// Pops from the first key, in argument order, that holds a sorted set, replies
/// with [`keyed_reply`] and announces the pop. A key of another type met on the way
/// is `WRONGTYPE`.
///
/// # Returns
/// Whether something was popped (otherwise nothing was written).
fn pop_first<'k>(
    ctx: &mut Ctx<'_, '_>,
    keys: impl IntoIterator<Item = &'k [u8]>,
    pop: ZPop,
) -> Result<bool, CommandError> {
    for key in keys {
        let (mut db, out) = ctx.db_and_out();
        let popped = db.zset_pop(key, pop.count.unwrap_or(1), pop.from_max)?;
        if popped.is_empty() {
            continue;
        }
        keyed_reply(out, key, &popped, pop.count.is_some());
        let emptied = !db.exists(key);
        ctx.notify(class::ZSET, pop.event(), key);
        if emptied {
            ctx.notify(class::GENERIC, "del", key);
        }
        return Ok(true);
    }
    Ok(false)
}

/// Serves a BZPOPMIN, BZPOPMAX or BZMPOP waiter.
struct PopServe {
    pop: ZPop,
    protocol: Protocol,
}

impl ServeOp for PopServe {
    fn can_serve(&self, db: &mut DbView<'_, '_>, key: &[u8]) -> bool {
        db.type_of(key) == Some(ValueType::ZSet)
    }

    fn serve(&self, db: &mut DbView<'_, '_>, key: &[u8], _: &mut ReadyKeys) -> Delivery {
        let pop = self.pop;
        let popped = db
            .zset_pop(key, pop.count.unwrap_or(1), pop.from_max)
            .unwrap_or_default();
        let mut reply = Vec::new();
        keyed_reply(
            &mut ReplyWriter::new(&mut reply, self.protocol),
            key,
            &popped,
            pop.count.is_some(),
        );
        let (index, now) = (db.index(), db.now_ms());
        let emptied = !db.exists(key);
        let locked = db.locked();
        // The hand-off is logged as the pop it amounts to.
        let mut count = itoa::Buffer::new();
        let pop_command: &[u8] = if pop.from_max { b"ZPOPMAX" } else { b"ZPOPMIN" };
        locked.propagate(
            index,
            now,
            &[&[pop_command, key, count.format(popped.len()).as_bytes()]],
        );
        locked.report(class::ZSET, pop.event(), index, || key.into());
        if emptied {
            locked.report(class::GENERIC, "del", index, || key.into());
        }
        let owned = key.to_vec();
        let restore = move |db: &mut DbView<'_, '_>| {
            let pairs: Vec<(f64, &[u8])> = popped
                .iter()
                .map(|(member, score)| (*score, &member[..]))
                .collect();
            if db.zset_add(&owned, ZaddFlags::default(), &pairs).is_err() {
                tracing::warn!(key = %String::from_utf8_lossy(&owned), "undelivered members could not go back: the key changed type");
                return;
            }
            // The pop was logged: so is the ZADD that undoes it.
            let scores: Vec<Vec<u8>> = popped
                .iter()
                .map(|(_, score)| {
                    let mut text = Vec::new();
                    crate::util::numbers::format_double_17g(*score, &mut text);
                    text
                })
                .collect();
            let mut command: Vec<&[u8]> = vec![b"ZADD", &owned];
            for ((member, _), score) in popped.iter().zip(&scores) {
                command.push(score);
                command.push(member);
            }
            let (index, now) = (db.index(), db.now_ms());
            db.locked().propagate(index, now, &[&command]);
        };
        Delivery {
            reply,
            restore: Some((key.to_vec(), Box::new(restore))),
        }
    }
}

/// Pops at once if one of `keys` holds a sorted set; otherwise answers the null array
/// when nested (EXEC, scripts), or blocks.
fn pop_or_block<'k>(
    ctx: &mut Ctx<'_, '_>,
    keys: impl IntoIterator<Item = &'k [u8]> + Clone,
    pop: ZPop,
    deadline: Option<u64>,
) -> CmdResult {
    if pop_first(ctx, keys.clone(), pop)? {
        return Ok(());
    }
    if ctx.nested {
        ctx.out.null_array();
        return Ok(());
    }
    let protocol = ctx.client.protocol;
    blocking::block(ctx, keys, deadline, Box::new(PopServe { pop, protocol }));
    Ok(())
}

/// BZPOPMIN/BZPOPMAX `key [key ...] timeout`
fn blocking_pop(ctx: &mut Ctx<'_, '_>, args: Args<'_>, from_max: bool) -> CmdResult {
    let last = args.len() - 1;
    let deadline = parse_timeout(&args[last], ctx.now_ms)?;
    let keys = (1..last).map(|i| &args[i][..]);
    let pop = ZPop {
        from_max,
        count: None,
    };
    pop_or_block(ctx, keys, pop, deadline)
}

fn bzpopmin(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    blocking_pop(ctx, args, false)
}

fn bzpopmax(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    blocking_pop(ctx, args, true)
}

/// `MIN` or `MAX`: whether to pop from the high end.
fn from_max_arg(word: &[u8]) -> Option<bool> {
    if word.eq_ignore_ascii_case(b"min") {
        Some(false)
    } else if word.eq_ignore_ascii_case(b"max") {
        Some(true)
    } else {
        None
    }
}

/// `BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]`: the arguments after
/// the timeout are checked first, as Redis does.
fn bzmpop(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let request = parse_multi_pop(&args, 2, from_max_arg)?;
    let deadline = parse_timeout(&args[1], ctx.now_ms)?;
    let keys = request.keys.map(|i| &args[i][..]);
    let pop = ZPop {
        from_max: request.end,
        count: Some(request.count),
    };
    pop_or_block(ctx, keys, pop, deadline)
}

/// `ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]`: BZMPOP's reply, or the null
/// array when none of the keys holds a sorted set.
fn zmpop(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let request = parse_multi_pop(&args, 1, from_max_arg)?;
    let keys = request.keys.map(|i| &args[i][..]);
    let pop = ZPop {
        from_max: request.end,
        count: Some(request.count),
    };
    if !pop_first(ctx, keys, pop)? {
        ctx.out.null_array();
    }
    Ok(())
}

/// `ZRANDMEMBER key [count [WITHSCORES]]`.
fn zrandmember(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let options = rand_options(&args, b"withscores")?;
    let (mut db, out) = ctx.db_and_out();
    let Some((count, with_scores)) = options else {
        match db.zset(&args[1])? {
            Some(zset) => {
                let (member, _) = zset
                    .get_by_rank(random::below(zset.len()))
                    .expect("a stored sorted set is never empty");
                out.bulk(member);
            }
            None => out.null(),
        }
        return Ok(());
    };
    let picked = db.zset_random(&args[1], count)?;
    let elements = picked.iter().map(|(member, score)| (&member[..], *score));
    write_elements(out, picked.len(), elements, with_scores);
    Ok(())
}

fn zscan(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    scan_command(ctx, args, ValueType::ZSet)
}

/// The arguments of ZUNION, ZINTER, ZDIFF, their STORE forms and ZINTERCARD.
struct Combine {
    /// Argument indexes of the input keys.
    keys: Range<usize>,
    weights: Vec<f64>,
    aggregate: Aggregate,
    with_scores: bool,
    /// ZINTERCARD's LIMIT (0 = none).
    limit: usize,
}

/// Parses `numkeys key [key ...]` at `numkeys_index` and the options after it, in
/// Redis's order: numkeys, the count of keys, the type of every key (before any
/// option is read), then WEIGHTS, AGGREGATE, WITHSCORES (not when storing) or LIMIT
/// (ZINTERCARD only).
fn parse_combine(
    ctx: &mut Ctx<'_, '_>,
    args: &Args<'_>,
    numkeys_index: usize,
    op: ZsetOp,
    store: bool,
    card_only: bool,
) -> Result<Combine, CommandError> {
    let numkeys = int_arg(&args[numkeys_index])?;
    if numkeys < 1 {
        let name = ctx.spec.name;
        return Err(CommandError::NoInputKeys(name.to_string()));
    }
    let first = numkeys_index + 1;
    let numkeys = usize::try_from(numkeys).unwrap_or(usize::MAX);
    if numkeys > args.len() - first {
        return Err(CommandError::Syntax);
    }
    let keys = first..first + numkeys;
    ctx.db()
        .zset_check_sources(keys.clone().map(|i| &args[i][..]))?;
    let mut combine = Combine {
        keys: keys.clone(),
        weights: Vec::new(),
        aggregate: Aggregate::Sum,
        with_scores: false,
        limit: 0,
    };
    let options = op != ZsetOp::Diff && !card_only;
    let mut index = keys.end;
    while index < args.len() {
        let word = &args[index];
        let left = args.len() - index;
        if options && left > numkeys && word.eq_ignore_ascii_case(b"weights") {
            combine.weights = (index + 1..=index + numkeys)
                .map(|i| parse_f64(&args[i]).ok_or(CommandError::WeightNotFloat))
                .collect::<Result<_, _>>()?;
            index += 1 + numkeys;
        } else if options && left >= 2 && word.eq_ignore_ascii_case(b"aggregate") {
            combine.aggregate = match &args[index + 1].to_ascii_uppercase()[..] {
                b"SUM" => Aggregate::Sum,
                b"MIN" => Aggregate::Min,
                b"MAX" => Aggregate::Max,
                _ => return Err(CommandError::Syntax),
            };
            index += 2;
        } else if !store && !card_only && word.eq_ignore_ascii_case(b"withscores") {
            combine.with_scores = true;
            index += 1;
        } else if card_only && left >= 2 && word.eq_ignore_ascii_case(b"limit") {
            combine.limit = limit_arg(&args[index + 1])?;
            index += 2;
        } else {
            return Err(CommandError::Syntax);
        }
    }
    Ok(combine)
}

/// ZUNION, ZINTER and ZDIFF, answered, or stored in `args[1]` when `store`.
fn combine(ctx: &mut Ctx<'_, '_>, args: Args<'_>, op: ZsetOp, store: bool) -> CmdResult {
    let numkeys_index = if store { 2 } else { 1 };
    let options = parse_combine(ctx, &args, numkeys_index, op, store, false)?;
    let result = ctx.db().zset_combine(
        op,
        options.keys.map(|i| &args[i][..]),
        &options.weights,
        options.aggregate,
    )?;
    if store {
        let len = result.len();
        let event = match op {
            ZsetOp::Union => "zunionstore",
            ZsetOp::Inter => "zinterstore",
            ZsetOp::Diff => "zdiffstore",
        };
        return store_and_reply(ctx, &args[1], Value::ZSet(Box::new(result)), len, event);
    }
    write_elements(
        &mut ctx.out,
        result.len(),
        result.iter(),
        options.with_scores,
    );
    Ok(())
}

fn zunionstore(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    combine(ctx, args, ZsetOp::Union, true)
}

fn zinterstore(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    combine(ctx, args, ZsetOp::Inter, true)
}

fn zdiffstore(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    combine(ctx, args, ZsetOp::Diff, true)
}

fn zunion(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    combine(ctx, args, ZsetOp::Union, false)
}

fn zinter(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    combine(ctx, args, ZsetOp::Inter, false)
}

fn zdiff(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    combine(ctx, args, ZsetOp::Diff, false)
}

/// `ZINTERCARD numkeys key [key ...] [LIMIT limit]`.
fn zintercard(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let options = parse_combine(ctx, &args, 1, ZsetOp::Inter, false, true)?;
    let (db, out) = ctx.db_and_out();
    out.int(db.zset_inter_card(options.keys.map(|i| &args[i][..]), options.limit)? as i64);
    Ok(())
}

//! What the collection families share: the *SCAN handler, the count argument of the
//! RAND commands, storing a computed collection (the *STORE commands), and the
//! arguments of the multi-key pops (LMPOP, BLMPOP, BZMPOP).

use crate::commands::keys::{parse_cursor, parse_scan_options};
use crate::commands::{CmdResult, CommandError, Ctx, int_arg, range_arg};
use crate::protocol::Args;
use crate::pubsub::notify::class;
use crate::store::scan::{ScanItem, scan_collection};
use crate::store::{Value, ValueType};
use crate::util::glob::glob_match;
use crate::util::numbers::format_double_17g;

/// HSCAN, SSCAN and ZSCAN: `<cmd> key cursor [MATCH pattern] [COUNT count]`.
///
/// Redis checks the cursor first, answers an empty scan for a missing key (even
/// when the options are bad), checks the type, and only then parses the options.
/// Hash values and scores come as bulk strings in both protocols.
pub fn scan_command(ctx: &mut Ctx<'_, '_>, args: Args<'_>, kind: ValueType) -> CmdResult {
    let cursor = parse_cursor(&args[2])?;
    let (mut db, out) = ctx.db_and_out();
    let Some(value) = db.typed(&args[1], kind)? else {
        out.array_len(2);
        out.bulk(b"0");
        out.array_len(0);
        return Ok(());
    };
    let options = parse_scan_options(&args, 3, false)?;
    let mut items: Vec<Vec<u8>> = Vec::new();
    let next = scan_collection(value, cursor, options.count, |item: ScanItem<'_>| {
        if options
            .pattern
            .is_some_and(|pattern| !glob_match(pattern, item.name(), false))
        {
            return;
        }
        items.push(item.name().to_vec());
        match item {
            ScanItem::Field(_, value) => items.push(value.to_vec()),
            ScanItem::Scored(_, score) => {
                let mut text = Vec::with_capacity(24);
                format_double_17g(score, &mut text);
                items.push(text);
            }
            ScanItem::Member(_) => {}
        }
    });
    out.array_len(2);
    out.bulk_int(next as i64);
    out.array_len(items.len());
    items.iter().for_each(|item| out.bulk(item));
    Ok(())
}

/// The arguments of HRANDFIELD, SRANDMEMBER and ZRANDMEMBER after the key:
/// `[count [<with_word>]]` (SRANDMEMBER passes no word).
///
/// # Returns
/// `None` without a count; otherwise the count and whether the word was given. The
/// count is parsed first, as Redis does, and must lie in `-LONG_MAX..=LONG_MAX`;
/// with the word, its magnitude must also fit twice (the reply has pairs).
pub fn rand_options(
    args: &Args<'_>,
    with_word: &[u8],
) -> Result<Option<(i64, bool)>, CommandError> {
    let Some(count) = args.get(2) else {
        return Ok(None);
    };
    let count = match int_arg(count)? {
        i64::MIN => return Err(CommandError::CountOutOfRange),
        count => count,
    };
    let with = match args.get(3) {
        None => false,
        Some(word)
            if args.len() == 4 && !with_word.is_empty() && word.eq_ignore_ascii_case(with_word) =>
        {
            true
        }
        Some(_) => return Err(CommandError::Syntax),
    };
    if with && count.unsigned_abs() > (i64::MAX / 2) as u64 {
        return Err(CommandError::ValueOutOfRange);
    }
    Ok(Some((count, with)))
}

/// A count that must be zero or more (SPOP, ZPOPMIN, ZPOPMAX).
pub fn positive_count(arg: &[u8]) -> Result<usize, CommandError> {
    crate::util::numbers::parse_i64(arg)
        .and_then(|count| usize::try_from(count).ok())
        .ok_or(CommandError::MustBePositive)
}

/// A positive numkeys argument (SINTERCARD, ZUNIONSTORE...); `None` otherwise, and
/// each command has its own error text for that.
pub fn numkeys_arg(arg: &[u8]) -> Option<usize> {
    crate::util::numbers::parse_i64(arg)
        .filter(|&n| n > 0)
        .and_then(|n| usize::try_from(n).ok())
}

/// The LIMIT of SINTERCARD and ZINTERCARD: zero (no limit) or more.
pub fn limit_arg(arg: &[u8]) -> Result<usize, CommandError> {
    crate::util::numbers::parse_i64(arg)
        .and_then(|n| usize::try_from(n).ok())
        .ok_or(CommandError::LimitNegative)
}

/// The *STORE commands: replaces `key` with a computed collection of `len`
/// elements (deleting it when empty) and answers the length. A stored collection
/// is reported as `event` (`sinterstore`, `zrangestore`, ...) of its type's class,
/// an empty result as `del` if it removed a key, and nothing otherwise. A stored
/// sorted set may serve clients blocked on the key.
pub fn store_and_reply(
    ctx: &mut Ctx<'_, '_>,
    key: &[u8],
    value: Value,
    len: usize,
    event: &'static str,
) -> CmdResult {
    let kind = value.value_type();
    let (mut db, out) = ctx.db_and_out();
    let previous = db.store_collection(key, value, len);
    out.int(len as i64);
    if len > 0 {
        let class = match kind {
            ValueType::ZSet => class::ZSET,
            _ => class::SET,
        };
        ctx.notify(class, event, key);
        if kind == ValueType::ZSet {
            ctx.signal_ready(key);
        }
    } else if previous.is_some() {
        ctx.notify(class::GENERIC, "del", key);
    }
    Ok(())
}

/// What `numkeys key [key ...] <end> [COUNT count]` asks for (LMPOP and BLMPOP with
/// `LEFT|RIGHT`, BZMPOP with `MIN|MAX`).
pub struct MultiPop<E> {
    /// Argument positions of the keys.
    pub keys: std::ops::Range<usize>,
    pub end: E,
    pub count: usize,
}

/// Parses a multi-key pop's arguments from `numkeys` (at `at`) on, in Redis's order:
/// numkeys, the end word (read by `end`, a syntax error when it answers `None`),
/// then at most one COUNT.
pub fn parse_multi_pop<E>(
    args: &Args<'_>,
    at: usize,
    end: impl Fn(&[u8]) -> Option<E>,
) -> Result<MultiPop<E>, CommandError> {
    let numkeys = range_arg(
        &args[at],
        1,
        i64::MAX,
        Some(CommandError::NumkeysNotPositive),
    )?;
    let end_at = usize::try_from(numkeys)
        .ok()
        .and_then(|n| (at + 1).checked_add(n))
        .filter(|&end_at| end_at < args.len())
        .ok_or(CommandError::Syntax)?;
    let end = end(&args[end_at]).ok_or(CommandError::Syntax)?;
    let mut count = None;
    let mut index = end_at + 1;
    while index < args.len() {
        match args.get(index + 1) {
            Some(value) if count.is_none() && args[index].eq_ignore_ascii_case(b"count") => {
                count = Some(range_arg(
                    value,
                    1,
                    i64::MAX,
                    Some(CommandError::CountNotPositive),
                )?);
            }
            _ => return Err(CommandError::Syntax),
        }
        index += 2;
    }
    Ok(MultiPop {
        keys: at + 1..end_at,
        end,
        count: count.unwrap_or(1) as usize,
    })
}

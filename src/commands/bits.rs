//! Bitmap commands: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD and
//! BITFIELD_RO, over string values.
//!
//! Handlers parse their arguments and check them in Redis 7.0's order (which
//! error a malformed request gets depends on it: BITCOUNT answers a missing key
//! before it reads its range, BITFIELD parses every operation before it looks the
//! key up), then call the socket-free bit logic of [`crate::store::bits`].
//!
//! Writes change the string in place through
//! [`crate::store::DbView::change_string`], and only a write that changed something
//! fires WATCH, a `setbit` event and a log record, as in Redis. They are
//! deterministic, so the log records them as sent.

use crate::commands::flags::*;
use crate::commands::{CmdResult, CommandError, CommandSpec, Ctx, int_arg};
use crate::protocol::Args;
use crate::pubsub::notify::class;
use crate::store::bits::{
    self, BitOp, FieldAction, FieldOp, FieldType, Overflow, RangeUnit, bytes_for_bit, clamp_range,
    count_ones, get_bit, set_bit,
};
use crate::store::thin_bytes::ThinBytes;
use crate::store::{Value, ValueType};
use crate::util::numbers::parse_i64;

const ONE_KEY: (i32, i32, i32) = (1, 1, 1);

/// One BITFIELD operation in redis.io's notation, named as Redis names its parts.
macro_rules! bitfield_operation {
    () => {
        "<<GET encoding offset>:encoding_offset | \
         <[OVERFLOW <WRAP | SAT | FAIL>]:wrap_sat_fail \
         <<SET encoding offset value:integer>:encoding_offset_value | \
         <INCRBY encoding offset increment>:encoding_offset_increment>:write_operation>:write>:operation"
    };
}

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("setbit", 4, WRITE | DENYOOM, ONE_KEY, setbit)
        .doc("bitmap", "2.2.0", "Sets or clears one bit of a string, creating or lengthening it as needed.")
        .syntax("key offset value:integer"),
    CommandSpec::new("getbit", 3, READONLY | FAST, ONE_KEY, getbit)
        .doc("bitmap", "2.2.0", "Returns one bit of a string (0 past its end).")
        .syntax("key offset"),
    CommandSpec::new("bitcount", -2, READONLY, ONE_KEY, bitcount)
        .doc("bitmap", "2.6.0", "Counts the bits set to 1 in a string, or in a range of its bytes or bits.")
        .syntax("key [start end [BYTE | BIT]:index_unit]:index"),
    CommandSpec::new("bitpos", -3, READONLY, ONE_KEY, bitpos)
        .doc("bitmap", "2.8.7", "Returns the position of the first bit set to 1, or to 0, in a string or a range of it.")
        .syntax("key bit:integer [start [end [BYTE | BIT]:index_unit]:end_index]:index"),
    CommandSpec::new("bitop", -4, WRITE | DENYOOM, (2, -1, 1), bitop)
        .doc("bitmap", "2.6.0", "Stores the bitwise AND, OR, XOR or NOT of strings in a key.")
        .syntax("operation destkey:key key [key ...]"),
    CommandSpec::new("bitfield", -2, WRITE | DENYOOM, ONE_KEY, bitfield)
        .doc("bitmap", "3.2.0", "Reads, writes and increments integers of any width at any bit offset of a string.")
        .syntax(concat!("key [", bitfield_operation!(), " [", bitfield_operation!(), " ...]]")),
    CommandSpec::new("bitfield_ro", -2, READONLY | FAST, ONE_KEY, bitfield_ro)
        .doc("bitmap", "6.0.0", "Reads integers of any width at any bit offset of a string; BITFIELD limited to GET.")
        .syntax("key [<GET encoding offset>:encoding_offset [<GET encoding offset>:encoding_offset ...]]"),
];

/// Parses a bit offset as Redis's `getBitOffsetFromArgument` does. With
/// `field_bits` (BITFIELD), `#n` means the n-th field of that width.
///
/// # Returns
/// The offset in bits; [`CommandError::BitOffset`] when it is no integer, negative,
/// or addresses a byte at or past `max_bytes` (`proto-max-bulk-len`).
pub fn parse_bit_offset(
    arg: &[u8],
    field_bits: Option<u32>,
    max_bytes: u64,
) -> Result<u64, CommandError> {
    let (digits, multiplier) = match (arg.split_first(), field_bits) {
        (Some((b'#', rest)), Some(bits)) => (rest, i64::from(bits)),
        _ => (arg, 1),
    };
    // Redis multiplies in 64 bits without checking; a wrapped product is refused
    // below whenever it comes out negative or too large, as there.
    let offset = parse_i64(digits)
        .ok_or(CommandError::BitOffset)?
        .wrapping_mul(multiplier);
    if offset < 0 || (offset as u64 >> 3) >= max_bytes {
        return Err(CommandError::BitOffset);
    }
    Ok(offset as u64)
}

/// `proto-max-bulk-len`: the longest string a bit write may address.
fn max_bytes(ctx: &Ctx<'_, '_>) -> u64 {
    ctx.server.config.read().proto_max_bulk_len
}

fn setbit(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let offset = parse_bit_offset(&args[2], None, max_bytes(ctx))?;
    let on = match int_arg(&args[3]) {
        Ok(0) => false,
        Ok(1) => true,
        _ => return Err(CommandError::BitValue),
    };
    let key = &args[1];
    let (mut db, out) = ctx.db_and_out();
    let (was, changed) = db.change_string(key, bytes_for_bit(offset), |bytes, fresh| {
        let was = get_bit(bytes, offset);
        set_bit(bytes, offset, on);
        // A new or lengthened string counts as changed even if the bit was 0.
        ((was, fresh || was != on), was != on)
    })?;
    out.int(was.into());
    if changed {
        ctx.notify(class::STRING, "setbit", key);
    }
    Ok(())
}

fn getbit(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let offset = parse_bit_offset(&args[2], None, max_bytes(ctx))?;
    let (mut db, out) = ctx.db_and_out();
    let bit = db
        .get_string(&args[1])?
        .is_some_and(|bytes| get_bit(bytes, offset));
    out.int(bit.into());
    Ok(())
}

/// Reads the `BYTE|BIT` word of BITCOUNT and BITPOS when present.
fn unit_arg(args: &Args<'_>, at: usize) -> Result<RangeUnit, CommandError> {
    match args.get(at) {
        Some(word) => RangeUnit::parse(word).ok_or(CommandError::Syntax),
        None => Ok(RangeUnit::Byte),
    }
}

fn bitcount(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let (mut db, out) = ctx.db_and_out();
    // A missing key answers 0 whatever the other arguments are.
    let Some(bytes) = db.get_string(&args[1])? else {
        out.int(0);
        return Ok(());
    };
    let range = match args.len() {
        2 => clamp_range(bytes.len(), 0, -1, RangeUnit::Byte),
        4 | 5 => {
            let (start, end) = (int_arg(&args[2])?, int_arg(&args[3])?);
            // Both counted from the end and in the wrong order: empty, before the
            // unit is even read.
            if start < 0 && end < 0 && start > end {
                out.int(0);
                return Ok(());
            }
            clamp_range(bytes.len(), start, end, unit_arg(&args, 4)?)
        }
        _ => return Err(CommandError::Syntax),
    };
    let count = range.map_or(0, |(first, last)| count_ones(bytes, first, last));
    out.int(count as i64);
    Ok(())
}

fn bitpos(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let bit = match int_arg(&args[2])? {
        0 => false,
        1 => true,
        _ => return Err(CommandError::BitposBit),
    };
    let (mut db, out) = ctx.db_and_out();
    // A missing key is an endless row of zeros.
    let Some(bytes) = db.get_string(&args[1])? else {
        out.int(if bit { -1 } else { 0 });
        return Ok(());
    };
    let position = match args.len() {
        3 => bits::bitpos(bytes, bit, 0, None, RangeUnit::Byte),
        4..=6 => {
            let start = int_arg(&args[3])?;
            // Redis reads the unit before the end.
            let unit = unit_arg(&args, 5)?;
            let end = args.get(4).map(int_arg).transpose()?;
            bits::bitpos(bytes, bit, start, end, unit)
        }
        _ => return Err(CommandError::Syntax),
    };
    out.int(position);
    Ok(())
}

fn bitop(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let op = BitOp::parse(&args[1]).ok_or(CommandError::Syntax)?;
    if op == BitOp::Not && args.len() != 4 {
        return Err(CommandError::BitopNotOneKey);
    }
    let destination = &args[2];
    let (mut db, out) = ctx.db_and_out();
    // Each source is looked up as a read, in order, up to the first of another type.
    db.read_all(args.iter().skip(3), |kind| kind == ValueType::String);
    let result = {
        let mut sources = Vec::with_capacity(args.len() - 3);
        for key in args.iter().skip(3) {
            sources.push(match db.peek_shared_typed(key, ValueType::String)? {
                Some(Value::Str(bytes)) => &bytes[..],
                _ => &[][..],
            });
        }
        let mut result = ThinBytes::zeroed(bits::bitop_len(&sources));
        bits::bitop(op, &sources, &mut result);
        result
    };
    let len = result.len();
    // A non-empty result replaces the destination (and its deadline); an empty one
    // deletes it.
    let previous = db.store_collection(destination, Value::Str(result), len);
    out.int(len as i64);
    if len > 0 {
        ctx.notify(class::STRING, "set", destination);
    } else if previous.is_some() {
        ctx.notify(class::GENERIC, "del", destination);
    }
    Ok(())
}

/// Parses BITFIELD's operations (from argument 2 on) in Redis's order: each word,
/// then its type, its offset and its value, stopping at the first error.
fn parse_field_ops(args: &Args<'_>, max_bytes: u64) -> Result<Vec<FieldOp>, CommandError> {
    let mut ops = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut at = 2;
    while at < args.len() {
        let remaining = args.len() - at - 1;
        let word = &args[at];
        let is = |name: &str| word.eq_ignore_ascii_case(name.as_bytes());
        let (action, width) = if is("get") && remaining >= 2 {
            (FieldAction::Get, 3)
        } else if is("set") && remaining >= 3 {
            (FieldAction::Set(0), 4)
        } else if is("incrby") && remaining >= 3 {
            (FieldAction::IncrBy(0), 4)
        } else if is("overflow") && remaining >= 1 {
            overflow = Overflow::parse(&args[at + 1]).ok_or(CommandError::BitfieldOverflowType)?;
            at += 2;
            continue;
        } else {
            return Err(CommandError::Syntax);
        };
        let ty = FieldType::parse(&args[at + 1]).ok_or(CommandError::BitfieldType)?;
        let offset = parse_bit_offset(&args[at + 2], Some(ty.bits), max_bytes)?;
        let action = match action {
            FieldAction::Get => FieldAction::Get,
            FieldAction::Set(_) => FieldAction::Set(int_arg(&args[at + 3])?),
            FieldAction::IncrBy(_) => FieldAction::IncrBy(int_arg(&args[at + 3])?),
        };
        ops.push(FieldOp {
            action,
            ty,
            offset,
            overflow,
        });
        at += width;
    }
    Ok(ops)
}

/// BITFIELD, or BITFIELD_RO when `read_only`.
fn bitfield_generic(ctx: &mut Ctx<'_, '_>, args: Args<'_>, read_only: bool) -> CmdResult {
    let ops = parse_field_ops(&args, max_bytes(ctx))?;
    let last_written = ops.iter().filter_map(FieldOp::last_written_bit).max();
    let key = &args[1];
    let (mut db, out) = ctx.db_and_out();
    let Some(last_written) = last_written else {
        // Only GETs: a read, which a missing key answers with zeros.
        let bytes = db.get_string(key)?.unwrap_or_default();
        out.array_len(ops.len());
        for op in &ops {
            out.int(op.read(bytes));
        }
        return Ok(());
    };
    if read_only {
        return Err(CommandError::BitfieldReadOnly);
    }
    let (replies, changes) =
        db.change_string(key, bytes_for_bit(last_written), |bytes, fresh| {
            let (replies, changes) = bits::run_fields(bytes, &ops, fresh);
            ((replies, changes), changes > 0)
        })?;
    out.array_len(replies.len());
    for reply in replies {
        match reply {
            Some(value) => out.int(value),
            // A write that overflowed under OVERFLOW FAIL.
            None => out.null(),
        }
    }
    if changes > 0 {
        ctx.notify(class::STRING, "setbit", key);
    }
    Ok(())
}

fn bitfield(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    bitfield_generic(ctx, args, false)
}

fn bitfield_ro(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    bitfield_generic(ctx, args, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: u64 = 512 * 1024 * 1024;

    #[test]
    fn bit_offsets_stop_at_proto_max_bulk_len() {
        assert_eq!(parse_bit_offset(b"0", None, MAX), Ok(0));
        assert_eq!(
            parse_bit_offset(b"4294967295", None, MAX),
            Ok(u32::MAX.into())
        );
        for bad in [&b"4294967296"[..], b"-1", b"x", b"", b"#1", b"1.5"] {
            assert_eq!(
                parse_bit_offset(bad, None, MAX),
                Err(CommandError::BitOffset),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        assert_eq!(parse_bit_offset(b"8388607", None, 1 << 20), Ok(8_388_607));
        assert!(parse_bit_offset(b"8388608", None, 1 << 20).is_err());
    }

    #[test]
    fn hash_offsets_count_fields() {
        assert_eq!(parse_bit_offset(b"#3", Some(8), MAX), Ok(24));
        assert_eq!(parse_bit_offset(b"#0", Some(64), MAX), Ok(0));
        assert!(parse_bit_offset(b"#-1", Some(8), MAX).is_err());
        assert!(parse_bit_offset(b"#", Some(8), MAX).is_err());
        // A product that wraps to a negative number is refused.
        assert!(parse_bit_offset(b"#4611686018427387904", Some(2), MAX).is_err());
    }
}

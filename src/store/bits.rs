//! The bit-level work behind SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP and BITFIELD:
//! synchronous functions over byte slices, with no keys, locks or replies.
//!
//! # Numbering
//! A string is a row of bits read left to right: bit 0 is the most significant bit
//! of byte 0, bit 8 the most significant bit of byte 1, and so on. Reads past the
//! end of a string see zeros, so a missing key or a short string behaves as an
//! endless row of zero bits. Writes need the bytes to exist; the store grows the
//! string with zeros first ([`crate::store::DbView::change_string`]).
//!
//! # Ranges
//! BITCOUNT and BITPOS take `start end` counted in bytes, or in bits with `BIT`.
//! Negative indexes count from the end, both ends are clamped to the string, and
//! [`clamp_range`] turns the result into an inclusive range of bit positions (or
//! nothing, when it is empty). BITCOUNT also answers 0 outright when both indexes
//! are negative and `start` is past `end`, before looking at the unit; that rule
//! belongs to the command, not to the range.
//!
//! # BITFIELD
//! A field is 1 to 64 bits (`i1`..`i64`) or 1 to 63 bits (`u1`..`u63`; a 64-bit
//! unsigned value would not fit a RESP integer) at any bit offset, stored most
//! significant bit first. Signed fields are two's complement. Writes that do not
//! fit wrap, saturate or fail according to the `OVERFLOW` mode in force, with the
//! exact arithmetic of Redis 7.0's `checkSignedBitfieldOverflow` and
//! `checkUnsignedBitfieldOverflow`, including its corners (a negative `SET` of an
//! unsigned field overflows upwards, since Redis compares it as unsigned).

use crate::util::numbers::parse_i64;

/// The unit of a BITCOUNT or BITPOS range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeUnit {
    Byte,
    Bit,
}

impl RangeUnit {
    /// Parses `BYTE` or `BIT`, case-insensitively.
    pub fn parse(word: &[u8]) -> Option<RangeUnit> {
        if word.eq_ignore_ascii_case(b"byte") {
            Some(RangeUnit::Byte)
        } else if word.eq_ignore_ascii_case(b"bit") {
            Some(RangeUnit::Bit)
        } else {
            None
        }
    }
}

/// The mask selecting bit `offset` within its byte.
fn bit_mask(offset: u64) -> u8 {
    0x80 >> (offset & 7)
}

/// The bit at `offset`; false past the end.
pub fn get_bit(bytes: &[u8], offset: u64) -> bool {
    usize::try_from(offset >> 3)
        .ok()
        .and_then(|index| bytes.get(index))
        .is_some_and(|byte| byte & bit_mask(offset) != 0)
}

/// Sets (`on`) or clears the bit at `offset`, which must lie within `bytes`.
pub fn set_bit(bytes: &mut [u8], offset: u64, on: bool) {
    let byte = &mut bytes[(offset >> 3) as usize];
    if on {
        *byte |= bit_mask(offset);
    } else {
        *byte &= !bit_mask(offset);
    }
}

/// The number of bytes a string needs so that bit `offset` exists.
pub fn bytes_for_bit(offset: u64) -> usize {
    (offset >> 3) as usize + 1
}

/// Resolves a BITCOUNT/BITPOS range over a string of `len` bytes: negative indexes
/// count from the end (in `unit`s), both ends are clamped to the string.
///
/// # Returns
/// The first and last bit positions of the range, inclusive; `None` when it is
/// empty (always so for an empty string).
pub fn clamp_range(len: usize, start: i64, end: i64, unit: RangeUnit) -> Option<(u64, u64)> {
    let total = match unit {
        RangeUnit::Byte => len as i64,
        RangeUnit::Bit => (len as i64) << 3,
    };
    // `total` is at most 2^35 or so: adding a negative index cannot overflow.
    let start = if start < 0 { total + start } else { start }.max(0);
    let end = if end < 0 { total + end } else { end }
        .max(0)
        .min(total - 1);
    if start > end {
        return None;
    }
    let (start, end) = (start as u64, end as u64);
    Some(match unit {
        RangeUnit::Byte => (start * 8, end * 8 + 7),
        RangeUnit::Bit => (start, end),
    })
}

/// The number of set bits in `bytes`.
pub fn popcount(bytes: &[u8]) -> u64 {
    let mut words = bytes.chunks_exact(8);
    let mut total: u64 = words
        .by_ref()
        .map(|word| u64::from(u64::from_ne_bytes(word.try_into().expect("8 bytes")).count_ones()))
        .sum();
    total += words
        .remainder()
        .iter()
        .map(|byte| u64::from(byte.count_ones()))
        .sum::<u64>();
    total
}

/// The bits of the first byte of a range starting at bit `first`.
fn head_mask(first: u64) -> u8 {
    0xFF >> (first & 7)
}

/// The bits of the last byte of a range ending at bit `last` (inclusive).
fn tail_mask(last: u64) -> u8 {
    0xFF << (7 - (last & 7))
}

/// The number of set bits from bit `first` to bit `last` inclusive, both within
/// `bytes` (as [`clamp_range`] gives them).
pub fn count_ones(bytes: &[u8], first: u64, last: u64) -> u64 {
    let (head, tail) = ((first >> 3) as usize, (last >> 3) as usize);
    if head == tail {
        return u64::from((bytes[head] & head_mask(first) & tail_mask(last)).count_ones());
    }
    u64::from((bytes[head] & head_mask(first)).count_ones())
        + popcount(&bytes[head + 1..tail])
        + u64::from((bytes[tail] & tail_mask(last)).count_ones())
}

/// The position of the first bit equal to `bit` from bit `first` to bit `last`
/// inclusive, both within `bytes`.
pub fn find_bit(bytes: &[u8], first: u64, last: u64, bit: bool) -> Option<u64> {
    // XOR with `flip` turns every wanted bit into a 1, whichever value is sought.
    let flip: u8 = if bit { 0 } else { 0xFF };
    let found = |index: usize, mask: u8| {
        let wanted = (bytes[index] ^ flip) & mask;
        (wanted != 0).then(|| index as u64 * 8 + u64::from(wanted.leading_zeros()))
    };
    let (head, tail) = ((first >> 3) as usize, (last >> 3) as usize);
    if head == tail {
        return found(head, head_mask(first) & tail_mask(last));
    }
    if let Some(position) = found(head, head_mask(first)) {
        return Some(position);
    }
    // Whole words first: long runs of the unwanted value are the common case.
    let middle = &bytes[head + 1..tail];
    let skip = u64::from_ne_bytes([flip; 8]);
    let plain_words = middle
        .chunks_exact(8)
        .take_while(|word| u64::from_ne_bytes((*word).try_into().expect("8 bytes")) == skip)
        .count();
    let from = head + 1 + plain_words * 8;
    (from..tail)
        .find_map(|index| found(index, 0xFF))
        .or_else(|| found(tail, tail_mask(last)))
}

/// BITPOS: the first bit equal to `bit` in the range `start..=end` (in `unit`s;
/// `end` `None` means to the end of the string, which only a byte range allows).
///
/// # Returns
/// The bit's position, or -1 when the range holds none. One exception, as in
/// Redis: looking for a 0 without an explicit end in a string of ones answers the
/// position just past the string, since the string is taken as padded with zeros.
pub fn bitpos(bytes: &[u8], bit: bool, start: i64, end: Option<i64>, unit: RangeUnit) -> i64 {
    let Some((first, last)) = clamp_range(bytes.len(), start, end.unwrap_or(i64::MAX), unit) else {
        return -1;
    };
    match find_bit(bytes, first, last, bit) {
        Some(position) => position as i64,
        None if bit || end.is_some() => -1,
        None => last as i64 + 1,
    }
}

/// A BITOP operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

impl BitOp {
    /// Parses `AND`, `OR`, `XOR` or `NOT`, case-insensitively.
    pub fn parse(word: &[u8]) -> Option<BitOp> {
        [
            (BitOp::And, &b"and"[..]),
            (BitOp::Or, b"or"),
            (BitOp::Xor, b"xor"),
            (BitOp::Not, b"not"),
        ]
        .into_iter()
        .find(|(_, name)| word.eq_ignore_ascii_case(name))
        .map(|(op, _)| op)
    }
}

/// The length of BITOP's result: that of the longest source.
pub fn bitop_len(sources: &[&[u8]]) -> usize {
    sources.iter().map(|s| s.len()).max().unwrap_or(0)
}

/// Writes BITOP's result over `sources` (a missing key is an empty string) into
/// `out`, which is [`bitop_len`] bytes long: shorter sources read as padded with
/// zeros. `Not` takes one source.
pub fn bitop(op: BitOp, sources: &[&[u8]], out: &mut [u8]) {
    let Some((first, rest)) = sources.split_first() else {
        return;
    };
    out[..first.len()].copy_from_slice(first);
    out[first.len()..].fill(0);
    match op {
        BitOp::Not => out.iter_mut().for_each(|byte| *byte = !*byte),
        BitOp::And => {
            for source in rest {
                out.iter_mut()
                    .zip(source.iter())
                    .for_each(|(byte, other)| *byte &= other);
                // Past its end a source is zeros: AND clears the rest.
                out[source.len()..].fill(0);
            }
        }
        BitOp::Or => {
            for source in rest {
                out.iter_mut()
                    .zip(source.iter())
                    .for_each(|(byte, other)| *byte |= other);
            }
        }
        BitOp::Xor => {
            for source in rest {
                out.iter_mut()
                    .zip(source.iter())
                    .for_each(|(byte, other)| *byte ^= other);
            }
        }
    }
}

/// What BITFIELD does when a write does not fit its field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overflow {
    /// Keep the low bits (modular arithmetic); the default.
    Wrap,
    /// Store the field's maximum or minimum.
    Sat,
    /// Write nothing and answer a null.
    Fail,
}

impl Overflow {
    /// Parses `WRAP`, `SAT` or `FAIL`, case-insensitively.
    pub fn parse(word: &[u8]) -> Option<Overflow> {
        [
            (Overflow::Wrap, &b"wrap"[..]),
            (Overflow::Sat, b"sat"),
            (Overflow::Fail, b"fail"),
        ]
        .into_iter()
        .find(|(_, name)| word.eq_ignore_ascii_case(name))
        .map(|(mode, _)| mode)
    }
}

/// A BITFIELD field type: `i1`..`i64` or `u1`..`u63`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldType {
    pub signed: bool,
    pub bits: u32,
}

impl FieldType {
    /// Parses a type such as `i16` or `u8`. The sign letter is lower case only, and
    /// the width is read up to a NUL byte, as Redis reads it as a C string.
    pub fn parse(arg: &[u8]) -> Option<FieldType> {
        let arg = arg.split(|&byte| byte == 0).next().unwrap_or_default();
        let (&sign, width) = arg.split_first()?;
        let signed = match sign {
            b'i' => true,
            b'u' => false,
            _ => return None,
        };
        let bits = parse_i64(width)?;
        let widest = if signed { 64 } else { 63 };
        (1..=widest).contains(&bits).then_some(FieldType {
            signed,
            bits: bits as u32,
        })
    }
}

/// Reads the `bits`-wide unsigned field at bit `offset`; bits past the end of
/// `bytes` read as zero.
pub fn get_unsigned(bytes: &[u8], offset: u64, bits: u32) -> u64 {
    (0..u64::from(bits)).fold(0, |value, i| {
        (value << 1) | u64::from(get_bit(bytes, offset + i))
    })
}

/// Reads the `bits`-wide two's-complement field at bit `offset`.
pub fn get_signed(bytes: &[u8], offset: u64, bits: u32) -> i64 {
    let raw = get_unsigned(bytes, offset, bits);
    if bits < 64 && raw & (1 << (bits - 1)) != 0 {
        (raw | (u64::MAX << bits)) as i64
    } else {
        raw as i64
    }
}

/// Writes the low `bits` bits of `value` as the field at bit `offset`, which must
/// lie within `bytes`.
pub fn set_field(bytes: &mut [u8], offset: u64, bits: u32, value: u64) {
    for i in 0..bits {
        let on = (value >> (bits - 1 - i)) & 1 == 1;
        set_bit(bytes, offset + u64::from(i), on);
    }
}

/// `value + incr` stored in an unsigned field of `bits` bits (at most 63) under
/// `mode`. A SET is an increment of 0 from the value given, which Redis compares as
/// unsigned: a negative one is huge and overflows upwards.
///
/// # Returns
/// The value to store, or `None` when it overflows under `Fail`.
pub fn add_unsigned(value: u64, incr: i64, bits: u32, mode: Overflow) -> Option<u64> {
    let max = (1u64 << bits) - 1;
    // The conditions short-circuit exactly where Redis's arithmetic would overflow.
    let over = value > max || (incr > 0 && incr > (max - value) as i64);
    let under = !over && incr < 0 && incr < (value as i64).wrapping_neg();
    let sum = value.wrapping_add(incr as u64);
    if !over && !under {
        return Some(sum);
    }
    match mode {
        Overflow::Wrap => Some(sum & max),
        Overflow::Sat => Some(if over { max } else { 0 }),
        Overflow::Fail => None,
    }
}

/// `value + incr` stored in a two's-complement field of `bits` bits under `mode`,
/// with Redis's exact overflow test (its intermediate sums wrap; a SET of a value
/// far below the field's range can therefore count as overflowing upwards).
///
/// # Returns
/// The value to store, or `None` when it overflows under `Fail`.
pub fn add_signed(value: i64, incr: i64, bits: u32, mode: Overflow) -> Option<i64> {
    let max = if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    let max_incr = (max as u64).wrapping_sub(value as u64) as i64;
    let min_incr = min.wrapping_sub(value);
    let narrow = bits != 64;
    let over =
        value > max || (narrow && incr > max_incr) || (value >= 0 && incr > 0 && incr > max_incr);
    let under = !over
        && (value < min
            || (narrow && incr < min_incr)
            || (value < 0 && incr < 0 && incr < min_incr));
    let sum = (value as u64).wrapping_add(incr as u64);
    if !over && !under {
        return Some(sum as i64);
    }
    match mode {
        Overflow::Wrap if narrow => {
            // Sign-extend from the field's top bit.
            let high = u64::MAX << bits;
            let wrapped = if sum & (1 << (bits - 1)) != 0 {
                sum | high
            } else {
                sum & !high
            };
            Some(wrapped as i64)
        }
        Overflow::Wrap => Some(sum as i64),
        Overflow::Sat => Some(if over { max } else { min }),
        Overflow::Fail => None,
    }
}

/// One BITFIELD operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldAction {
    Get,
    /// SET to this value; answers the previous one.
    Set(i64),
    /// INCRBY this much; answers the new value.
    IncrBy(i64),
}

/// A parsed BITFIELD operation, with the overflow mode in force where it appeared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldOp {
    pub action: FieldAction,
    pub ty: FieldType,
    /// In bits (a `#n` offset already multiplied by the width).
    pub offset: u64,
    pub overflow: Overflow,
}

impl FieldOp {
    /// The last bit this operation writes; `None` for a GET.
    pub fn last_written_bit(&self) -> Option<u64> {
        match self.action {
            FieldAction::Get => None,
            _ => Some(self.offset + u64::from(self.ty.bits) - 1),
        }
    }

    /// The field's value in `bytes` (what a GET answers).
    pub fn read(&self, bytes: &[u8]) -> i64 {
        let FieldType { signed, bits } = self.ty;
        if signed {
            get_signed(bytes, self.offset, bits)
        } else {
            // An unsigned field is at most 63 bits: it fits an i64.
            get_unsigned(bytes, self.offset, bits) as i64
        }
    }

    /// Runs the operation on `bytes`, which hold every bit it writes.
    ///
    /// # Returns
    /// Its reply (`None` for a write that overflowed under `FAIL`), and whether it
    /// wrote a value different from the one there.
    pub fn apply(&self, bytes: &mut [u8]) -> (Option<i64>, bool) {
        let FieldType { signed, bits } = self.ty;
        let (given, is_set) = match self.action {
            FieldAction::Get => return (Some(self.read(bytes)), false),
            FieldAction::Set(value) => (value, true),
            FieldAction::IncrBy(incr) => (incr, false),
        };
        // A SET checks the new value alone (an increment of 0 from it); an INCRBY
        // checks the old value plus the increment.
        let (old, new) = if signed {
            let old = get_signed(bytes, self.offset, bits);
            let new = if is_set {
                add_signed(given, 0, bits, self.overflow)
            } else {
                add_signed(old, given, bits, self.overflow)
            };
            (old as u64, new.map(|n| n as u64))
        } else {
            let old = get_unsigned(bytes, self.offset, bits);
            let new = if is_set {
                add_unsigned(given as u64, 0, bits, self.overflow)
            } else {
                add_unsigned(old, given, bits, self.overflow)
            };
            (old, new)
        };
        let Some(new) = new else {
            return (None, false);
        };
        set_field(bytes, self.offset, bits, new);
        let reply = if is_set { old } else { new };
        (Some(reply as i64), old != new)
    }
}

/// Runs BITFIELD's operations in order on `bytes`, which hold every bit the writes
/// reach. GETs read past the end as zeros.
///
/// # Returns
/// One reply per operation, and how many writes Redis counts as changes: each one
/// that wrote, when `fresh` (the string was just created or lengthened), otherwise
/// each one that wrote a different value.
pub fn run_fields(bytes: &mut [u8], ops: &[FieldOp], fresh: bool) -> (Vec<Option<i64>>, usize) {
    let mut changes = 0;
    let replies = ops
        .iter()
        .map(|op| {
            let (reply, differs) = op.apply(bytes);
            let wrote = reply.is_some() && op.action != FieldAction::Get;
            changes += usize::from(wrote && (fresh || differs));
            reply
        })
        .collect();
    (replies, changes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::random::SeededRng;

    /// The bits of `bytes` as a string of 0s and 1s: the model the fast paths are
    /// checked against.
    fn bit_string(bytes: &[u8]) -> Vec<bool> {
        (0..bytes.len() as u64 * 8)
            .map(|i| get_bit(bytes, i))
            .collect()
    }

    #[test]
    fn bits_are_numbered_from_the_most_significant() {
        let mut bytes = [0u8; 2];
        set_bit(&mut bytes, 0, true);
        set_bit(&mut bytes, 9, true);
        assert_eq!(bytes, [0x80, 0x40]);
        assert!(get_bit(&bytes, 9));
        assert!(!get_bit(&bytes, 10));
        assert!(!get_bit(&bytes, 1 << 40), "past the end reads as zero");
        set_bit(&mut bytes, 0, false);
        assert_eq!(bytes, [0, 0x40]);
        assert_eq!(bytes_for_bit(0), 1);
        assert_eq!(bytes_for_bit(7), 1);
        assert_eq!(bytes_for_bit(8), 2);
    }

    #[test]
    fn ranges_clamp_like_redis() {
        use RangeUnit::{Bit, Byte};
        assert_eq!(clamp_range(6, 0, -1, Byte), Some((0, 47)));
        assert_eq!(clamp_range(6, 1, 1, Byte), Some((8, 15)));
        assert_eq!(clamp_range(6, -2, -1, Byte), Some((32, 47)));
        assert_eq!(clamp_range(6, -100, 100, Byte), Some((0, 47)));
        assert_eq!(clamp_range(6, 5, 3, Byte), None);
        assert_eq!(clamp_range(6, 5, -40, Bit), Some((5, 8)));
        assert_eq!(clamp_range(6, 5, -44, Bit), None);
        assert_eq!(clamp_range(6, 5, 30, Bit), Some((5, 30)));
        assert_eq!(clamp_range(6, -3, -1, Bit), Some((45, 47)));
        assert_eq!(clamp_range(0, 0, -1, Byte), None);
        assert_eq!(clamp_range(0, 0, i64::MAX, Bit), None);
        assert_eq!(clamp_range(3, i64::MIN, i64::MAX, Bit), Some((0, 23)));
    }

    #[test]
    fn popcount_over_ranges_matches_a_bit_by_bit_count() {
        let mut random = SeededRng::new(0xb175);
        for round in 0..300 {
            let len = 1 + random.below(70);
            let bytes: Vec<u8> = (0..len).map(|_| random.next() as u8).collect();
            let bits = bit_string(&bytes);
            let first = random.below(len * 8) as u64;
            let last = first + random.below(len * 8 - first as usize) as u64;
            let expected = bits[first as usize..=last as usize]
                .iter()
                .filter(|&&b| b)
                .count() as u64;
            assert_eq!(count_ones(&bytes, first, last), expected, "round {round}");
        }
        assert_eq!(popcount(b"foobar"), 26);
        assert_eq!(popcount(&[0xFF; 1000]), 8000);
        assert_eq!(count_ones(b"foobar", 5, 30), 17);
    }

    #[test]
    fn find_bit_matches_a_bit_by_bit_search() {
        let mut random = SeededRng::new(0xf1d);
        for round in 0..500 {
            let len = 1 + random.below(60);
            // Mostly uniform bytes, so long runs reach the word-skipping path.
            let fill = if random.chance(50) { 0x00 } else { 0xFF };
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    if random.chance(97) {
                        fill
                    } else {
                        random.next() as u8
                    }
                })
                .collect();
            let bits = bit_string(&bytes);
            let first = random.below(len * 8) as u64;
            let last = first + random.below(len * 8 - first as usize) as u64;
            for bit in [false, true] {
                let expected = (first..=last).find(|&i| bits[i as usize] == bit);
                assert_eq!(
                    find_bit(&bytes, first, last, bit),
                    expected,
                    "round {round}, bit {bit}"
                );
            }
        }
    }

    #[test]
    fn bitpos_follows_redis_rules() {
        use RangeUnit::{Bit, Byte};
        let ones = [0xFFu8, 0xFF, 0xFF];
        // No explicit end: the string is padded with zeros.
        assert_eq!(bitpos(&ones, false, 0, None, Byte), 24);
        assert_eq!(bitpos(&ones, false, 2, None, Byte), 24);
        // An explicit end keeps the search inside the range.
        assert_eq!(bitpos(&ones, false, 0, Some(-1), Byte), -1);
        assert_eq!(bitpos(&ones, true, 0, None, Byte), 0);
        assert_eq!(bitpos(&[0, 0], true, 0, None, Byte), -1);
        let bytes = [0x00, 0xFF, 0xF0];
        assert_eq!(bitpos(&bytes, true, 0, None, Byte), 8);
        assert_eq!(bitpos(&bytes, true, 2, Some(-1), Byte), 16);
        assert_eq!(bitpos(&bytes, false, 1, Some(1), Byte), -1);
        assert_eq!(bitpos(&bytes, false, 1, None, Byte), 20);
        assert_eq!(bitpos(&bytes, true, 7, Some(15), Bit), 8);
        assert_eq!(bitpos(&bytes, false, 9, Some(19), Bit), -1);
        assert_eq!(bitpos(&bytes, false, 9, Some(20), Bit), 20);
        assert_eq!(bitpos(&bytes, true, 3, Some(2), Byte), -1);
        // An empty string holds no bit of either kind.
        assert_eq!(bitpos(&[], false, 0, None, Byte), -1);
        assert_eq!(bitpos(&[], true, 0, None, Byte), -1);
    }

    fn bitop(op: BitOp, sources: &[&[u8]]) -> Vec<u8> {
        let mut out = vec![0xAA; bitop_len(sources)];
        super::bitop(op, sources, &mut out);
        out
    }

    #[test]
    fn bitop_pads_short_sources_with_zeros() {
        let (a, b) = (&b"\xF0\x0F\xFF"[..], &b"\xFF\xFF"[..]);
        assert_eq!(bitop(BitOp::And, &[a, b]), b"\xF0\x0F\x00");
        assert_eq!(bitop(BitOp::Or, &[a, b]), b"\xFF\xFF\xFF");
        assert_eq!(bitop(BitOp::Xor, &[a, b]), b"\x0F\xF0\xFF");
        assert_eq!(bitop(BitOp::Xor, &[b, a, a]), b"\xFF\xFF\x00");
        assert_eq!(bitop(BitOp::And, &[b, &b""[..], a]), b"\x00\x00\x00");
        assert_eq!(bitop(BitOp::Not, &[a]), b"\x0F\xF0\x00");
        assert_eq!(bitop(BitOp::Or, &[&b""[..], &b""[..]]), b"");
        assert_eq!(BitOp::parse(b"xOr"), Some(BitOp::Xor));
        assert_eq!(BitOp::parse(b"nand"), None);
    }

    #[test]
    fn field_types_parse_like_redis() {
        let parse = |text: &[u8]| FieldType::parse(text).map(|t| (t.signed, t.bits));
        assert_eq!(parse(b"i64"), Some((true, 64)));
        assert_eq!(parse(b"u63"), Some((false, 63)));
        assert_eq!(parse(b"u1"), Some((false, 1)));
        assert_eq!(parse(b"i8\0junk"), Some((true, 8)));
        for bad in [
            &b"u64"[..],
            b"i65",
            b"i0",
            b"u",
            b"I8",
            b"8",
            b"",
            b"i08",
            b"i+8",
        ] {
            assert_eq!(parse(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn fields_round_trip_at_any_offset() {
        let mut random = SeededRng::new(0xf1e1d);
        for _ in 0..500 {
            let bits = 1 + random.below(64) as u32;
            let offset = random.below(40) as u64;
            let mut bytes = vec![0u8; 14];
            let value = random.next() as i64 >> (64 - bits);
            set_field(&mut bytes, offset, bits, value as u64);
            assert_eq!(
                get_signed(&bytes, offset, bits),
                value,
                "i{bits} at {offset}"
            );
            if bits < 64 {
                let unsigned = value as u64 & ((1u64 << bits) - 1);
                assert_eq!(get_unsigned(&bytes, offset, bits), unsigned);
            }
            // Nothing outside the field was touched.
            let outside = (0..14 * 8)
                .filter(|&i| i < offset || i >= offset + u64::from(bits))
                .any(|i| get_bit(&bytes, i));
            assert!(!outside);
        }
        // The example of Redis's documentation: 23 as u5 at offset 7.
        let mut bytes = [0u8; 2];
        set_field(&mut bytes, 7, 5, 23);
        assert_eq!(bytes, [0b0000_0001, 0b0111_0000]);
        assert_eq!(get_unsigned(&[0xFF], 4, 8), 0xF0, "zeros past the end");
    }

    #[test]
    fn unsigned_overflow_wraps_saturates_or_fails() {
        use Overflow::{Fail, Sat, Wrap};
        assert_eq!(add_unsigned(200, 100, 8, Wrap), Some(44));
        assert_eq!(add_unsigned(200, 100, 8, Sat), Some(255));
        assert_eq!(add_unsigned(200, 100, 8, Fail), None);
        assert_eq!(add_unsigned(10, -20, 8, Wrap), Some(246));
        assert_eq!(add_unsigned(10, -20, 8, Sat), Some(0));
        assert_eq!(add_unsigned(10, -20, 8, Fail), None);
        assert_eq!(add_unsigned(10, -10, 8, Fail), Some(0));
        assert_eq!(add_unsigned(255, 0, 8, Fail), Some(255));
        // SET u8 -1: compared as unsigned, so too big: the maximum under SAT.
        assert_eq!(add_unsigned(-1i64 as u64, 0, 8, Sat), Some(255));
        assert_eq!(add_unsigned(-1i64 as u64, 0, 8, Wrap), Some(255));
        assert_eq!(add_unsigned(256, 0, 8, Wrap), Some(0));
        let max63 = i64::MAX as u64;
        assert_eq!(add_unsigned(max63, 1, 63, Wrap), Some(0));
        assert_eq!(add_unsigned(0, i64::MIN, 63, Sat), Some(0));
        assert_eq!(add_unsigned(0, i64::MIN, 63, Wrap), Some(0));
    }

    #[test]
    fn signed_overflow_wraps_saturates_or_fails() {
        use Overflow::{Fail, Sat, Wrap};
        assert_eq!(add_signed(100, 100, 8, Wrap), Some(-56));
        assert_eq!(add_signed(100, 100, 8, Sat), Some(127));
        assert_eq!(add_signed(100, 100, 8, Fail), None);
        assert_eq!(add_signed(-100, -100, 8, Wrap), Some(56));
        assert_eq!(add_signed(-100, -100, 8, Sat), Some(-128));
        assert_eq!(add_signed(-128, 0, 8, Fail), Some(-128));
        assert_eq!(add_signed(127, 0, 8, Fail), Some(127));
        assert_eq!(add_signed(128, 0, 8, Sat), Some(127));
        assert_eq!(add_signed(-129, 0, 8, Sat), Some(-128));
        assert_eq!(add_signed(i64::MAX, 1, 64, Wrap), Some(i64::MIN));
        assert_eq!(add_signed(i64::MAX, 1, 64, Sat), Some(i64::MAX));
        assert_eq!(add_signed(i64::MIN, -1, 64, Sat), Some(i64::MIN));
        assert_eq!(add_signed(i64::MIN, -1, 64, Fail), None);
        assert_eq!(add_signed(-5, i64::MAX, 64, Fail), Some(i64::MAX - 5));
        // Redis's wrapping intermediate: a value far below an i8's range compares
        // as "above the maximum".
        assert_eq!(add_signed(i64::MIN, 0, 8, Sat), Some(127));
        assert_eq!(add_signed(0, 1, 1, Sat), Some(0));
        assert_eq!(add_signed(0, -1, 1, Fail), Some(-1));
    }

    fn op(action: FieldAction, ty: &[u8], offset: u64, overflow: Overflow) -> FieldOp {
        FieldOp {
            action,
            ty: FieldType::parse(ty).unwrap(),
            offset,
            overflow,
        }
    }

    #[test]
    fn bitfield_runs_operations_in_order_and_counts_changes() {
        use FieldAction::{Get, IncrBy, Set};
        use Overflow::{Fail, Wrap};
        let mut bytes = vec![0u8; 2];
        let ops = [
            op(Set(-1), b"i8", 0, Wrap),
            op(Get, b"u8", 0, Wrap),
            op(IncrBy(1), b"u8", 0, Fail),
            op(IncrBy(1), b"u8", 0, Wrap),
            op(Set(5), b"u4", 8, Wrap),
            op(Set(5), b"u4", 8, Wrap),
            op(Get, b"i16", 0, Wrap),
        ];
        let (replies, changes) = run_fields(&mut bytes, &ops, false);
        assert_eq!(
            replies,
            [
                Some(0),
                Some(255),
                None,
                Some(0),
                Some(0),
                Some(5),
                Some(0x0050)
            ]
        );
        assert_eq!(bytes, [0x00, 0x50]);
        // SET i8 -1, INCRBY wrapping to 0, the first SET u4: the second SET u4
        // wrote what was there, and the failed INCRBY wrote nothing.
        assert_eq!(changes, 3);
        // On a fresh string every write that happened counts.
        let (_, changes) = run_fields(&mut bytes, &ops, true);
        assert_eq!(changes, 4);
        assert_eq!(ops[4].last_written_bit(), Some(11));
        assert_eq!(ops[1].last_written_bit(), None);
    }
}

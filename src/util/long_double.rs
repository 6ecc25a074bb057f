//! Redis's `long double` arithmetic for INCRBYFLOAT and HINCRBYFLOAT.
//!
//! Redis parses the stored value and the increment with `strtold`, adds them in
//! x87 80-bit extended precision (a 64-bit significand), and stores the sum as
//! `printf("%.17Lf")` with trailing zeros removed. The extra eleven bits are
//! visible to clients: `1.1 + 0.1` is `1.2` there, where binary64 gives
//! `1.2000000000000002`. [`LongDouble`] reproduces that exactly: parsing rounds
//! the decimal or hexadecimal text once to 64 bits (ties to even), addition
//! rounds the exact sum once, and formatting writes the exact binary value
//! rounded to 17 decimals. The exact steps use a small unsigned big integer;
//! these commands are rare enough that clarity beats speed here.

use std::cmp::Ordering;

use crate::util::numbers::{HexFloat, Rounded, ScannedLongDouble, X87_FORMAT, scan_long_double};

/// A finite x87 extended value, `mantissa * 2^exp2` (`mantissa` < 2^64), or an
/// infinity (which [`LongDouble::parse`] accepts, as `strtold` does).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LongDouble {
    negative: bool,
    magnitude: Magnitude,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Magnitude {
    Finite { mantissa: u64, exp2: i64 },
    Infinite,
}

/// Decimal places of Redis's human-friendly format (`%.17Lf`).
const DECIMALS: u32 = 17;

impl LongDouble {
    pub const ZERO: LongDouble = LongDouble {
        negative: false,
        magnitude: Magnitude::Finite {
            mantissa: 0,
            exp2: 0,
        },
    };

    /// Parses `s` as Redis's `string2ld` does: `strtold`'s grammar, the whole
    /// input, no NaN, and nothing that overflows or underflows to zero.
    pub fn parse(s: &[u8]) -> Option<LongDouble> {
        let (negative, scanned) = scan_long_double(s)?;
        let magnitude = match scanned {
            ScannedLongDouble::Infinity => Magnitude::Infinite,
            ScannedLongDouble::Zero => Magnitude::Finite {
                mantissa: 0,
                exp2: 0,
            },
            ScannedLongDouble::Decimal { digits, exp10 } => {
                finite(decimal_to_binary(&digits, exp10).round(X87_FORMAT))?
            }
            ScannedLongDouble::Hex(hex) => finite(hex.round(X87_FORMAT))?,
        };
        Some(LongDouble {
            negative,
            magnitude,
        })
    }

    pub fn is_finite(&self) -> bool {
        matches!(self.magnitude, Magnitude::Finite { .. })
    }

    /// `self + other`, rounded once to the nearest extended value (ties to
    /// even); `None` when the sum is infinite or NaN, as Redis refuses it.
    pub fn checked_add(self, other: LongDouble) -> Option<LongDouble> {
        let (
            Magnitude::Finite {
                mantissa: m1,
                exp2: e1,
            },
            Magnitude::Finite {
                mantissa: m2,
                exp2: e2,
            },
        ) = (self.magnitude, other.magnitude)
        else {
            return None;
        };
        // Exact: both operands as integers over the smaller power of two.
        let base = e1.min(e2);
        let a = Big::from_u64(m1).shl((e1 - base) as usize);
        let b = Big::from_u64(m2).shl((e2 - base) as usize);
        let (negative, sum) = if self.negative == other.negative {
            (self.negative, a.add(&b))
        } else {
            match a.cmp(&b) {
                Ordering::Less => (other.negative, b.sub(&a)),
                Ordering::Greater => (self.negative, a.sub(&b)),
                // x + (-x) is +0 when rounding to nearest.
                Ordering::Equal => return Some(LongDouble::ZERO),
            }
        };
        if sum.is_zero() {
            // Both zero: -0 only if both were.
            return Some(LongDouble {
                negative,
                ..LongDouble::ZERO
            });
        }
        let magnitude = match sum.to_hex_float(base).round(X87_FORMAT) {
            Rounded::Value { q, exp2 } => finite_value(q, exp2),
            Rounded::Overflow => return None,
            // Subnormal sums are exact: rounding cannot reach zero.
            Rounded::Zero | Rounded::Underflow => return Some(LongDouble::ZERO),
        };
        Some(LongDouble {
            negative,
            magnitude,
        })
    }

    /// Appends Redis's text for the value: `%.17Lf`, trailing zeros and a
    /// trailing point removed, and `-0` written `0`. Infinities are written
    /// `inf` and `-inf`, though Redis never stores one.
    pub fn format_human(&self, out: &mut Vec<u8>) {
        let start = out.len();
        if self.negative {
            out.push(b'-');
        }
        let Magnitude::Finite { mantissa, exp2 } = self.magnitude else {
            out.extend_from_slice(b"inf");
            return;
        };
        let (integer, fraction) = if exp2 >= 0 {
            (Big::from_u64(mantissa).shl(exp2 as usize), 0)
        } else {
            split_fraction(mantissa, exp2.unsigned_abs())
        };
        integer.write_decimal(out);
        if fraction != 0 {
            let mut digits = itoa_padded(fraction);
            while digits.last() == Some(&b'0') {
                digits.pop();
            }
            out.push(b'.');
            out.extend_from_slice(&digits);
        }
        if &out[start..] == b"-0" {
            out.truncate(start);
            out.push(b'0');
        }
    }
}

/// A rounding outcome as a finite magnitude; `None` for one `strtold` flags
/// with ERANGE (overflow, or a non-zero value rounding to zero).
fn finite(rounded: Rounded) -> Option<Magnitude> {
    match rounded {
        Rounded::Value { q, exp2 } => Some(finite_value(q, exp2)),
        Rounded::Zero => Some(Magnitude::Finite {
            mantissa: 0,
            exp2: 0,
        }),
        Rounded::Overflow | Rounded::Underflow => None,
    }
}

/// `q * 2^exp2` from rounding: `q` is 2^64 when rounding carried out of the
/// significand, which is the same value as 2^63 one binade up.
fn finite_value(q: u128, exp2: i64) -> Magnitude {
    if q >> 64 != 0 {
        Magnitude::Finite {
            mantissa: (q >> 1) as u64,
            exp2: exp2 + 1,
        }
    } else {
        Magnitude::Finite {
            mantissa: q as u64,
            exp2,
        }
    }
}

/// `mantissa * 2^-shift` as its integer part and its first 17 decimals,
/// rounded to nearest with ties to even on the exact value, carried into the
/// integer part when the decimals round up to 1.
fn split_fraction(mantissa: u64, shift: u64) -> (Big, u64) {
    let (integer, fraction_bits) = if shift >= 64 {
        (0, mantissa)
    } else {
        (mantissa >> shift, mantissa & ((1u64 << shift) - 1))
    };
    let scale = 10u128.pow(DECIMALS);
    // Below 2^121: 64 fraction bits times 10^17 (< 2^57).
    let scaled = u128::from(fraction_bits) * scale;
    let (mut decimals, round_up) = if shift >= 122 {
        // The scaled fraction is below half a unit of the 17th decimal.
        (0, false)
    } else {
        let decimals = scaled >> shift;
        let rest = scaled - (decimals << shift);
        let half = 1u128 << (shift - 1);
        (decimals, rest > half || (rest == half && decimals & 1 == 1))
    };
    if round_up {
        decimals += 1;
    }
    let mut integer = integer;
    if decimals == scale {
        decimals = 0;
        integer += 1;
    }
    (Big::from_u64(integer), decimals as u64)
}

/// `value` as exactly 17 digits, with leading zeros.
fn itoa_padded(value: u64) -> Vec<u8> {
    let text = value.to_string();
    let mut digits = vec![b'0'; DECIMALS as usize - text.len()];
    digits.extend_from_slice(text.as_bytes());
    digits
}

/// `digits * 10^exp10` (digits non-zero) as a binary value with at least 127
/// significant bits and a sticky bit, ready to be rounded once.
fn decimal_to_binary(digits: &[u8], exp10: i64) -> HexFloat {
    let mut value = Big::from_u64(0);
    for chunk in digits.chunks(19) {
        let mut part = 0u64;
        for &d in chunk {
            part = part * 10 + u64::from(d - b'0');
        }
        value = value
            .mul_small(10u64.pow(chunk.len() as u32))
            .add_small(part);
    }
    if exp10 >= 0 {
        return value.mul_pow10(exp10 as u32).to_hex_float(0);
    }
    // value / 10^k, with the quotient scaled to between 2^126 and 2^128.
    let divisor = Big::from_u64(1).mul_pow10(exp10.unsigned_abs() as u32);
    let shift = 127 + divisor.bits() as i64 - value.bits() as i64;
    let (numerator, divisor) = if shift >= 0 {
        (value.shl(shift as usize), divisor)
    } else {
        (value, divisor.shl(shift.unsigned_abs() as usize))
    };
    let (quotient, exact) = numerator.div_to_u128(&divisor);
    HexFloat {
        mantissa: quotient,
        exp2: -shift,
        sticky: !exact,
    }
}

/// An unsigned integer of any size: little-endian 64-bit limbs, no trailing
/// zero limbs.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Big(Vec<u64>);

impl Big {
    fn from_u64(value: u64) -> Big {
        Big(if value == 0 { Vec::new() } else { vec![value] })
    }

    fn is_zero(&self) -> bool {
        self.0.is_empty()
    }

    fn bits(&self) -> u64 {
        self.0.last().map_or(0, |top| {
            self.0.len() as u64 * 64 - u64::from(top.leading_zeros())
        })
    }

    fn trimmed(mut self) -> Big {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
        self
    }

    fn mul_small(self, factor: u64) -> Big {
        let mut carry = 0u128;
        let mut limbs: Vec<u64> = self
            .0
            .iter()
            .map(|&limb| {
                let product = u128::from(limb) * u128::from(factor) + carry;
                carry = product >> 64;
                product as u64
            })
            .collect();
        limbs.push(carry as u64);
        Big(limbs).trimmed()
    }

    fn add_small(self, addend: u64) -> Big {
        self.add(&Big::from_u64(addend))
    }

    fn mul_pow10(mut self, mut exp: u32) -> Big {
        while exp > 0 {
            let step = exp.min(19);
            self = self.mul_small(10u64.pow(step));
            exp -= step;
        }
        self
    }

    fn shl(&self, bits: usize) -> Big {
        if self.is_zero() {
            return self.clone();
        }
        let (limbs, offset) = (bits / 64, bits % 64);
        let mut out = vec![0u64; limbs];
        let mut carry = 0u64;
        for &limb in &self.0 {
            if offset == 0 {
                out.push(limb);
            } else {
                out.push(limb << offset | carry);
                carry = limb >> (64 - offset);
            }
        }
        out.push(carry);
        Big(out).trimmed()
    }

    fn add(&self, other: &Big) -> Big {
        let (long, short) = if self.0.len() >= other.0.len() {
            (self, other)
        } else {
            (other, self)
        };
        let mut carry = false;
        let mut out: Vec<u64> = long
            .0
            .iter()
            .enumerate()
            .map(|(i, &limb)| {
                let (sum, c1) = limb.overflowing_add(short.0.get(i).copied().unwrap_or(0));
                let (sum, c2) = sum.overflowing_add(u64::from(carry));
                carry = c1 || c2;
                sum
            })
            .collect();
        out.push(u64::from(carry));
        Big(out).trimmed()
    }

    /// `self - other`, for `self >= other`.
    fn sub(&self, other: &Big) -> Big {
        let mut borrow = false;
        let out: Vec<u64> = self
            .0
            .iter()
            .enumerate()
            .map(|(i, &limb)| {
                let (diff, b1) = limb.overflowing_sub(other.0.get(i).copied().unwrap_or(0));
                let (diff, b2) = diff.overflowing_sub(u64::from(borrow));
                borrow = b1 || b2;
                diff
            })
            .collect();
        Big(out).trimmed()
    }

    fn cmp(&self, other: &Big) -> Ordering {
        self.0
            .len()
            .cmp(&other.0.len())
            .then_with(|| self.0.iter().rev().cmp(other.0.iter().rev()))
    }

    /// `self / divisor` for a quotient below 2^128, and whether it is exact.
    fn div_to_u128(&self, divisor: &Big) -> (u128, bool) {
        let mut rest = self.clone();
        let mut quotient = 0u128;
        for bit in (0..128).rev() {
            let part = divisor.shl(bit);
            if rest.cmp(&part) != Ordering::Less {
                rest = rest.sub(&part);
                quotient |= 1 << bit;
            }
        }
        (quotient, rest.is_zero())
    }

    /// `self * 2^exp2` as its top 128 bits and a sticky bit for the rest.
    fn to_hex_float(&self, exp2: i64) -> HexFloat {
        let drop = self.bits().saturating_sub(128);
        let (limbs, offset) = ((drop / 64) as usize, drop % 64);
        let sticky = self.0[..limbs].iter().any(|&limb| limb != 0)
            || (offset > 0 && self.0[limbs] & ((1u64 << offset) - 1) != 0);
        let mut top = 0u128;
        for (i, &limb) in self.0.iter().enumerate().skip(limbs) {
            let position = (i - limbs) as i64 * 64 - offset as i64;
            if position < 0 {
                top |= u128::from(limb >> offset);
            } else if position < 128 {
                top |= u128::from(limb) << position;
            }
        }
        HexFloat {
            mantissa: top,
            exp2: exp2 + drop as i64,
            sticky,
        }
    }

    /// Appends the decimal digits (`0` for zero).
    fn write_decimal(&self, out: &mut Vec<u8>) {
        const CHUNK: u64 = 10_000_000_000_000_000_000;
        let mut chunks = Vec::new();
        let mut rest = self.0.clone();
        while !rest.is_empty() {
            let mut remainder = 0u128;
            for limb in rest.iter_mut().rev() {
                let current = remainder << 64 | u128::from(*limb);
                *limb = (current / u128::from(CHUNK)) as u64;
                remainder = current % u128::from(CHUNK);
            }
            chunks.push(remainder as u64);
            while rest.last() == Some(&0) {
                rest.pop();
            }
        }
        let Some((first, others)) = chunks.split_last() else {
            out.push(b'0');
            return;
        };
        out.extend_from_slice(first.to_string().as_bytes());
        for chunk in others.iter().rev() {
            out.extend_from_slice(format!("{chunk:019}").as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: LongDouble) -> String {
        let mut out = Vec::new();
        value.format_human(&mut out);
        String::from_utf8(out).unwrap()
    }

    fn sum(a: &str, b: &str) -> Option<String> {
        let a = LongDouble::parse(a.as_bytes()).expect("a parses");
        let b = LongDouble::parse(b.as_bytes()).expect("b parses");
        a.checked_add(b).map(text)
    }

    /// Replies of Redis 7.0.15 (x86-64) to `SET k <a>` then `INCRBYFLOAT k <b>`.
    #[test]
    fn sums_match_redis() {
        let cases = [
            ("1.1", "0.1", "1.2"),
            ("1.2", "0.2", "1.4"),
            ("0", "5.0e3", "5000"),
            ("5000", "1e-10", "5000.00000000010000001"),
            (
                "5000.00000000010000001",
                "-1234567.891",
                "-1229567.89099999989991829",
            ),
            ("12345678901234567", "1", "12345678901234568"),
            ("0", "1e-20", "0"),
            ("9223372036854775807", "0", "9223372036854775807"),
            ("9223372036854775807", "1.5", "9223372036854775808"),
            ("9223372036854775807", "1e2", "9223372036854775907"),
            ("-9223372036854775808", "1.5", "-9223372036854775806.5"),
            ("-9223372036854775808", "-2.5", "-9223372036854775810"),
            ("-0", "-0", "0"),
            ("-1e-30", "0", "0"),
            ("2e-17", "0", "0.00000000000000002"),
            ("1.18973149535723176e4932", "-1.18973149535723176e4932", "0"),
            ("9223372036854775806", "1.5", "9223372036854775807.5"),
            ("0.1", "0.2", "0.3"),
            ("1e-5", "1e-7", "0.0000101"),
            ("123.456", "-0.456", "123"),
            ("1.0000000000000000001", "0", "1"),
            (".5", "5.", "5.5"),
            ("+1", "0", "1"),
            (
                "99999999999999999999",
                "9999999999999999999",
                "110000000000000000000",
            ),
            ("1e30", "0", "1000000000000000000024696061952"),
            ("1e30", "1", "1000000000000000000024696061952"),
            ("3.7e-4951", "0", "0"),
            ("10.5", "0.1", "10.6"),
            ("3.0e3", "200", "3200"),
            ("0x10", "0x1p-2", "16.25"),
            ("0.3", "-0.1", "0.2"),
            ("-5", "2.25", "-2.75"),
            ("1e19", "0.5", "10000000000000000000"),
            ("7", "-7", "0"),
            ("8385129764215937714e-2227", "-64", "-64"),
            ("0.99999999999999999999999", "0", "1"),
        ];
        for (a, b, expected) in cases {
            assert_eq!(sum(a, b).as_deref(), Some(expected), "{a} + {b}");
        }
    }

    #[test]
    fn ten_tenths_make_one() {
        let tenth = LongDouble::parse(b"0.1").unwrap();
        let mut total = tenth;
        for _ in 0..9 {
            total = total.checked_add(tenth).unwrap();
        }
        assert_eq!(text(total), "1");
    }

    #[test]
    fn parsing_follows_string2ld() {
        for bad in [
            "", " 1", "1 ", "abc", "nan", "-nan", "1e5000", "1e-5000", "0x", "1.5x",
        ] {
            assert_eq!(LongDouble::parse(bad.as_bytes()), None, "{bad:?}");
        }
        for good in [
            "0",
            "-0",
            "+1",
            ".5",
            "5.",
            "1e3",
            "inf",
            "-Infinity",
            "0x1.8p1",
            "0e99999",
        ] {
            assert!(LongDouble::parse(good.as_bytes()).is_some(), "{good:?}");
        }
        // The largest and smallest magnitudes a long double holds.
        assert!(LongDouble::parse(b"1.18973149535723176e4932").is_some());
        assert!(LongDouble::parse(b"3.7e-4951").is_some());
    }

    #[test]
    fn infinities_and_overflow_are_refused() {
        let inf = LongDouble::parse(b"inf").unwrap();
        assert!(!inf.is_finite());
        assert_eq!(inf.checked_add(LongDouble::ZERO), None);
        let max = LongDouble::parse(b"1.18973149535723176e4932").unwrap();
        assert_eq!(max.checked_add(max), None);
        assert_eq!(
            sum("1.18973149535723176e4932", "-1.18973149535723176e4932").as_deref(),
            Some("0")
        );
    }

    #[test]
    fn negative_zero_is_written_zero() {
        assert_eq!(sum("-0", "-0").as_deref(), Some("0"));
        assert_eq!(sum("-1e-30", "0").as_deref(), Some("0"));
    }

    #[test]
    fn big_integers_print_every_digit() {
        let mut out = Vec::new();
        LongDouble::parse(b"1e4000").unwrap().format_human(&mut out);
        // Redis 7.0.15: `SET k 1e4000`, `INCRBYFLOAT k 0`.
        assert_eq!(out.len(), 4000);
        assert!(out.starts_with(b"9999999999999999999965463873099623784932"));
        assert!(out.ends_with(b"956972190272729951206648276349901340672"));
        assert!(out.iter().all(u8::is_ascii_digit));
    }
}

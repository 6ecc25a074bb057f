//! The positional cursor behind `SCAN`, `HSCAN`, `SSCAN` and `ZSCAN`.
//!
//! Every container that answers a scan keeps its elements at stable positions:
//! key maps and hashes/sets are insertion-ordered (`KeyMap`, `IndexMap`/`IndexSet`,
//! where a removal moves only the last element into the hole, or shifts the tail
//! down by one), and a sorted set names each member by a slab id that it keeps until it is
//! removed. The cursor walks positions *downwards*: insertions land above it (at the
//! end, or in a recycled slot), and a removal only ever moves an element that was
//! already visited into a lower position. So an element present for the whole scan
//! is returned at least once, which is the guarantee Redis gives.
//!
//! Cursors on the wire: `0` starts (and ends) a scan; any other value is the
//! position to resume below.

use crate::store::Value;

/// Visits up to `count` positions of a container of `len` positions, walking
/// downwards from `position` (exclusive; `None` means from the top).
///
/// # Returns
/// The position to resume from, or `None` when the walk reached the bottom.
pub fn scan_down(
    len: usize,
    position: Option<usize>,
    count: usize,
    mut visit: impl FnMut(usize),
) -> Option<usize> {
    let mut next = position.unwrap_or(usize::MAX).min(len);
    let mut visited = 0;
    while next > 0 && visited < count {
        next -= 1;
        visited += 1;
        visit(next);
    }
    (next > 0).then_some(next)
}

/// The position a wire cursor resumes from (`0` starts from the top).
pub fn cursor_position(cursor: u64) -> Option<usize> {
    (cursor > 0).then(|| usize::try_from(cursor).unwrap_or(usize::MAX))
}

/// The wire cursor for a resume position (`0` when the scan is complete).
pub fn position_cursor(position: Option<usize>) -> u64 {
    position.map_or(0, |p| p as u64)
}

/// One element a collection scan visits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ScanItem<'a> {
    /// A hash field and its value.
    Field(&'a [u8], &'a [u8]),
    /// A set member.
    Member(&'a [u8]),
    /// A sorted-set member and its score.
    Scored(&'a [u8], f64),
}

impl<'a> ScanItem<'a> {
    /// The part MATCH applies to: the field or member.
    pub fn name(&self) -> &'a [u8] {
        match *self {
            ScanItem::Field(name, _) | ScanItem::Member(name) | ScanItem::Scored(name, _) => name,
        }
    }
}

/// HSCAN, SSCAN and ZSCAN over one collection: visits up to `count` positions from
/// `cursor`. A collection Redis 7.0 would keep in a compact encoding (listpack or
/// intset) is returned whole with cursor 0, as Redis does (COUNT is only a hint).
///
/// # Returns
/// The next cursor (0 when done).
pub fn scan_collection(
    value: &Value,
    cursor: u64,
    count: usize,
    mut visit: impl FnMut(ScanItem<'_>),
) -> u64 {
    match value {
        Value::Hash(hash) if Value::hash_is_small(hash) => {
            hash.iter().for_each(|(f, v)| visit(ScanItem::Field(f, v)));
            return 0;
        }
        Value::Set(set) if Value::set_is_small(set) => {
            crate::store::sets::members_in_order(set)
                .into_iter()
                .for_each(|m| visit(ScanItem::Member(m)));
            return 0;
        }
        Value::ZSet(zset) if Value::zset_is_small(zset) => {
            zset.iter().for_each(|(m, s)| visit(ScanItem::Scored(m, s)));
            return 0;
        }
        _ => {}
    }
    let len = match value {
        Value::Hash(hash) => hash.len(),
        Value::Set(set) => set.len(),
        Value::ZSet(zset) => zset.id_bound(),
        Value::Str(_) | Value::List(_) => return 0,
    };
    let position = cursor_position(cursor);
    let next = scan_down(len, position, count, |index| match value {
        Value::Hash(hash) => {
            if let Some((field, value)) = hash.get_index(index) {
                visit(ScanItem::Field(field, value));
            }
        }
        Value::Set(set) => {
            if let Some(member) = set.get_index(index) {
                visit(ScanItem::Member(member));
            }
        }
        Value::ZSet(zset) => {
            if let Some((member, score)) = zset.member_by_id(index) {
                visit(ScanItem::Scored(member, score));
            }
        }
        Value::Str(_) | Value::List(_) => {}
    });
    position_cursor(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_down_in_steps_and_ends_at_zero() {
        let mut seen = Vec::new();
        let next = scan_down(5, None, 2, |i| seen.push(i));
        assert_eq!((next, &seen[..]), (Some(3), &[4, 3][..]));
        let next = scan_down(5, next, 2, |i| seen.push(i));
        let next = scan_down(5, next, 2, |i| seen.push(i));
        assert_eq!((next, seen), (None, vec![4, 3, 2, 1, 0]));
        assert_eq!(scan_down(0, None, 10, |_| panic!("empty")), None);
    }

    #[test]
    fn a_stale_cursor_beyond_the_end_restarts_from_the_top() {
        let mut seen = Vec::new();
        assert_eq!(scan_down(3, Some(100), 10, |i| seen.push(i)), None);
        assert_eq!(seen, [2, 1, 0]);
    }

    #[test]
    fn cursors_round_trip() {
        assert_eq!(cursor_position(0), None);
        assert_eq!(cursor_position(7), Some(7));
        assert_eq!(position_cursor(Some(7)), 7);
        assert_eq!(position_cursor(None), 0);
    }
}

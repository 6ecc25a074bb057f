//! List operations on a database view: socket-free, returning typed errors.
//!
//! Every operation that empties a list removes its key, because Redis never keeps an
//! empty collection (a client polling `EXISTS` or `LLEN`, or a `BRPOP` on the key,
//! must see it gone). Read-only operations count keyspace hits and misses; writes do
//! not, as in Redis. Index arguments follow Redis's rules: negative indexes count from
//! the tail, and ranges are clamped rather than refused.

use crate::store::packed_list::Iter;
use crate::store::value::List;
use crate::store::{DbView, StoreError, Value, ValueType};

/// Which end of a list an operation works at (`LEFT`/`RIGHT` in LMOVE and LMPOP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The head, where LPUSH adds and LPOP takes.
    Head,
    /// The tail, where RPUSH adds and RPOP takes.
    Tail,
}

impl End {
    /// Parses `LEFT` or `RIGHT`, case-insensitively.
    pub fn parse(word: &[u8]) -> Option<End> {
        if word.eq_ignore_ascii_case(b"left") {
            Some(End::Head)
        } else if word.eq_ignore_ascii_case(b"right") {
            Some(End::Tail)
        } else {
            None
        }
    }
}

/// The inclusive element range `start..=stop` selects in a list of `len` elements,
/// after Redis's normalisation (LRANGE, LTRIM): negative indexes count from the tail,
/// a start before the head is clamped to it and a stop past the tail to the tail.
///
/// # Returns
/// `None` when the range is empty.
pub fn range_bounds(len: usize, start: i64, stop: i64) -> Option<(usize, usize)> {
    let len = len as i64;
    let start = if start < 0 { len + start } else { start }.max(0);
    let stop = if stop < 0 { len + stop } else { stop };
    if start > stop || start >= len {
        return None;
    }
    Some((start as usize, stop.min(len - 1) as usize))
}

/// The position `index` designates in a list of `len` elements (LINDEX, LSET):
/// negative indexes count from the tail.
pub fn element_index(len: usize, index: i64) -> Option<usize> {
    let index = if index < 0 { len as i64 + index } else { index };
    (0..len as i64).contains(&index).then_some(index as usize)
}

fn push(list: &mut List, item: &[u8], end: End) {
    match end {
        End::Head => list.push_front(item),
        End::Tail => list.push_back(item),
    }
}

fn pop(list: &mut List, end: End) -> Option<Vec<u8>> {
    match end {
        End::Head => list.pop_front(),
        End::Tail => list.pop_back(),
    }
}

impl DbView<'_, '_> {
    /// The list under `key` for a read-only command (counts a hit or a miss).
    pub fn list(&mut self, key: &[u8]) -> Result<Option<&List>, StoreError> {
        match self.typed(key, ValueType::List)? {
            Some(Value::List(list)) => Ok(Some(list)),
            _ => Ok(None),
        }
    }

    /// The list under `key` for a command about to change it (no hit or miss).
    pub fn list_mut(&mut self, key: &[u8]) -> Result<Option<&mut List>, StoreError> {
        match self.get_mut(key).map(|entry| &mut entry.value) {
            None => Ok(None),
            Some(Value::List(list)) => Ok(Some(list)),
            Some(_) => Err(StoreError::WrongType),
        }
    }

    /// Pushes `items` one by one at `end` (so LPUSH a b c leaves c first). With
    /// `create` false (LPUSHX, RPUSHX) a missing key stays missing.
    ///
    /// # Returns
    /// The list's length afterwards (0 when nothing was created).
    pub fn list_push<'i>(
        &mut self,
        key: &[u8],
        items: impl IntoIterator<Item = &'i [u8]>,
        end: End,
        create: bool,
    ) -> Result<usize, StoreError> {
        if self.list_mut(key)?.is_none() {
            if !create {
                return Ok(0);
            }
            self.insert(key, Value::List(Box::default()), 0);
        }
        let list = self.list_mut(key)?.expect("present or just created");
        for item in items {
            push(list, item, end);
        }
        Ok(list.len())
    }

    /// Pops up to `count` elements from `end`, removing the key once it is empty.
    ///
    /// # Returns
    /// `None` when the key does not exist; otherwise the elements in pop order.
    pub fn list_pop(
        &mut self,
        key: &[u8],
        end: End,
        count: usize,
    ) -> Result<Option<Vec<Vec<u8>>>, StoreError> {
        let Some(list) = self.list_mut(key)? else {
            return Ok(None);
        };
        let taken = count.min(list.len());
        let mut popped = Vec::with_capacity(taken);
        for _ in 0..taken {
            popped.extend(pop(list, end));
        }
        self.remove_if_empty(key);
        Ok(Some(popped))
    }

    /// The number of elements (0 for a missing key).
    pub fn list_len(&mut self, key: &[u8]) -> Result<usize, StoreError> {
        Ok(self.list(key)?.map_or(0, |list| list.len()))
    }

    /// The elements `start..=stop` (Redis's index rules), or `None` when the key is
    /// missing.
    pub fn list_range(
        &mut self,
        key: &[u8],
        start: i64,
        stop: i64,
    ) -> Result<Option<Iter<'_>>, StoreError> {
        let Some(list) = self.list(key)? else {
            return Ok(None);
        };
        Ok(Some(match range_bounds(list.len(), start, stop) {
            Some((first, last)) => list.range(first, last),
            // `range` is empty whenever its start is past the end.
            None => list.range(list.len(), 0),
        }))
    }

    /// Replaces the element at `index` (LSET).
    pub fn list_set(&mut self, key: &[u8], index: i64, value: &[u8]) -> Result<(), StoreError> {
        let list = self.list_mut(key)?.ok_or(StoreError::NoSuchKey)?;
        let at = element_index(list.len(), index).ok_or(StoreError::IndexOutOfRange)?;
        list.set(at, value);
        Ok(())
    }

    /// Inserts `value` before or after the first element equal to `pivot` (LINSERT).
    ///
    /// # Returns
    /// The new length, -1 when the pivot is absent, 0 when the key is missing.
    pub fn list_insert(
        &mut self,
        key: &[u8],
        after: bool,
        pivot: &[u8],
        value: &[u8],
    ) -> Result<i64, StoreError> {
        let Some(list) = self.list_mut(key)? else {
            return Ok(0);
        };
        let Some(at) = list.find(pivot) else {
            return Ok(-1);
        };
        list.insert(at + usize::from(after), value);
        Ok(list.len() as i64)
    }

    /// Removes elements equal to `value` (LREM: `count` > 0 from the head, < 0 from
    /// the tail, 0 all), removing the key if it empties.
    ///
    /// # Returns
    /// How many were removed.
    pub fn list_remove(
        &mut self,
        key: &[u8],
        count: i64,
        value: &[u8],
    ) -> Result<usize, StoreError> {
        let Some(list) = self.list_mut(key)? else {
            return Ok(0);
        };
        let removed = list.remove_matching(value, count);
        self.remove_if_empty(key);
        Ok(removed)
    }

    /// Keeps only `start..=stop` (LTRIM), removing the key if nothing is left.
    ///
    /// # Returns
    /// Whether the key existed.
    pub fn list_trim(&mut self, key: &[u8], start: i64, stop: i64) -> Result<bool, StoreError> {
        let Some(list) = self.list_mut(key)? else {
            return Ok(false);
        };
        match range_bounds(list.len(), start, stop) {
            Some((first, last)) => list.retain_range(first, last),
            None => list.clear(),
        }
        self.remove_if_empty(key);
        Ok(true)
    }

    /// Positions of elements equal to `value` (LPOS; see
    /// [`List::position`](crate::store::packed_list::PackedList::position) for
    /// `rank`, `count` and `maxlen`), or `None` when the key is missing.
    pub fn list_positions(
        &mut self,
        key: &[u8],
        value: &[u8],
        rank: i64,
        count: usize,
        maxlen: usize,
    ) -> Result<Option<Vec<usize>>, StoreError> {
        Ok(self
            .list(key)?
            .map(|list| list.position(value, rank, count, maxlen)))
    }

    /// Pops one element from `source` at `from` and pushes it onto `destination` at
    /// `to` (LMOVE, RPOPLPUSH; the two keys may be the same list). The destination's
    /// type is checked only when there is something to move, as Redis does.
    ///
    /// # Returns
    /// The element moved, or `None` when `source` is missing.
    pub fn list_move(
        &mut self,
        source: &[u8],
        destination: &[u8],
        from: End,
        to: End,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        if self.list_mut(source)?.is_none() {
            return Ok(None);
        }
        self.list_mut(destination)?;
        let list = self.list_mut(source)?.expect("checked above");
        let Some(item) = pop(list, from) else {
            return Ok(None);
        };
        if source == destination {
            // A rotation: the list never goes away, not even for a moment.
            push(list, &item, to);
            return Ok(Some(item));
        }
        self.remove_if_empty(source);
        self.list_push(destination, [&item[..]], to, true)?;
        Ok(Some(item))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Keyspace;
    use crate::store::strings::Expiry;

    fn items(list: Option<Iter<'_>>) -> Vec<Vec<u8>> {
        list.map(|iter| iter.map(<[u8]>::to_vec).collect())
            .unwrap_or_default()
    }

    #[test]
    fn push_pop_and_empty_lists_disappear() {
        let keyspace = Keyspace::new(1);
        let mut locked = keyspace.lock_all();
        let mut db = locked.db(0, 0);
        assert_eq!(
            db.list_push(b"q", [&b"a"[..], b"b", b"c"], End::Head, true),
            Ok(3)
        );
        assert_eq!(
            items(db.list_range(b"q", 0, -1).unwrap()),
            [b"c", b"b", b"a"]
        );
        assert_eq!(db.list_push(b"none", [&b"x"[..]], End::Tail, false), Ok(0));
        assert!(!db.exists(b"none"));
        assert_eq!(
            db.list_pop(b"q", End::Tail, 2),
            Ok(Some(vec![b"a".to_vec(), b"b".to_vec()]))
        );
        assert_eq!(
            db.list_pop(b"q", End::Head, 5),
            Ok(Some(vec![b"c".to_vec()]))
        );
        assert!(!db.exists(b"q"));
        assert_eq!(db.list_pop(b"q", End::Head, 1), Ok(None));
    }

    #[test]
    fn wrong_type_everywhere() {
        let keyspace = Keyspace::new(1);
        let mut locked = keyspace.lock_all();
        let mut db = locked.db(0, 0);
        db.set_string(b"s", b"v", Expiry::Clear);
        let wrong = Err(StoreError::WrongType);
        assert_eq!(db.list_push(b"s", [&b"x"[..]], End::Head, true), wrong);
        assert_eq!(db.list_pop(b"s", End::Head, 1), Err(StoreError::WrongType));
        assert_eq!(db.list_len(b"s"), Err(StoreError::WrongType));
        assert_eq!(db.list_set(b"s", 0, b"x"), Err(StoreError::WrongType));
        assert_eq!(db.list_trim(b"s", 0, 1), Err(StoreError::WrongType));
        // LMOVE checks the destination only when the source has something.
        assert_eq!(
            db.list_move(b"missing", b"s", End::Head, End::Tail),
            Ok(None)
        );
        db.list_push(b"l", [&b"x"[..]], End::Head, true).unwrap();
        assert_eq!(
            db.list_move(b"l", b"s", End::Head, End::Tail),
            Err(StoreError::WrongType)
        );
        assert_eq!(db.list_len(b"l"), Ok(1));
    }

    #[test]
    fn range_rules_match_redis() {
        assert_eq!(range_bounds(5, 0, -1), Some((0, 4)));
        assert_eq!(range_bounds(5, -100, 100), Some((0, 4)));
        assert_eq!(range_bounds(5, 3, 1), None);
        assert_eq!(range_bounds(5, 5, 10), None);
        assert_eq!(range_bounds(5, -2, -1), Some((3, 4)));
        assert_eq!(range_bounds(0, 0, -1), None);
        assert_eq!(range_bounds(5, i64::MIN, i64::MAX), Some((0, 4)));
    }

    #[test]
    fn index_set_insert_remove_trim() {
        let keyspace = Keyspace::new(1);
        let mut locked = keyspace.lock_all();
        let mut db = locked.db(0, 0);
        db.list_push(b"l", [&b"a"[..], b"b", b"a", b"c"], End::Tail, true)
            .unwrap();
        assert_eq!(element_index(4, -1), Some(3));
        assert_eq!(element_index(4, 4), None);
        assert_eq!(element_index(4, -5), None);
        assert_eq!(db.list_set(b"l", -4, b"z"), Ok(()));
        assert_eq!(db.list_set(b"l", 9, b"z"), Err(StoreError::IndexOutOfRange));
        assert_eq!(db.list_set(b"nokey", 0, b"z"), Err(StoreError::NoSuchKey));
        assert_eq!(db.list_insert(b"l", true, b"b", b"B"), Ok(5));
        assert_eq!(db.list_insert(b"l", false, b"nope", b"B"), Ok(-1));
        assert_eq!(db.list_insert(b"nokey", false, b"a", b"B"), Ok(0));
        assert_eq!(
            items(db.list_range(b"l", 0, -1).unwrap()),
            [&b"z"[..], b"b", b"B", b"a", b"c"]
        );
        assert_eq!(db.list_remove(b"l", 0, b"B"), Ok(1));
        assert_eq!(db.list_positions(b"l", b"a", 1, 0, 0), Ok(Some(vec![2])));
        db.list_trim(b"l", 1, -2).unwrap();
        assert_eq!(items(db.list_range(b"l", 0, -1).unwrap()), [b"b", b"a"]);
        db.list_trim(b"l", 5, 10).unwrap();
        assert!(!db.exists(b"l"));
    }

    #[test]
    fn move_rotates_and_creates() {
        let keyspace = Keyspace::new(1);
        let mut locked = keyspace.lock_all();
        let mut db = locked.db(0, 0);
        db.list_push(b"src", [&b"1"[..], b"2", b"3"], End::Tail, true)
            .unwrap();
        assert_eq!(
            db.list_move(b"src", b"src", End::Tail, End::Head),
            Ok(Some(b"3".to_vec()))
        );
        assert_eq!(
            items(db.list_range(b"src", 0, -1).unwrap()),
            [b"3", b"1", b"2"]
        );
        db.list_trim(b"src", 0, 0).unwrap();
        assert_eq!(
            db.list_move(b"src", b"dst", End::Head, End::Tail),
            Ok(Some(b"3".to_vec()))
        );
        assert!(!db.exists(b"src"));
        assert_eq!(db.list_len(b"dst"), Ok(1));
        // A one-element list moved onto itself survives.
        assert_eq!(
            db.list_move(b"dst", b"dst", End::Head, End::Tail),
            Ok(Some(b"3".to_vec()))
        );
        assert_eq!(db.list_len(b"dst"), Ok(1));
    }
}

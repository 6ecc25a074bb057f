//! String operations on a database view: socket-free, returning typed errors.

use crate::store::thin_bytes::ThinBytes;
use crate::store::{DbView, StoreError, Value, ValueType};
use crate::util::long_double::LongDouble;
use crate::util::numbers::parse_i64;

/// What a write does to the key's deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// Remove any deadline (plain SET).
    Clear,
    /// Keep the current deadline (KEEPTTL, APPEND, INCR...).
    Keep,
    /// Set this deadline, in Unix milliseconds.
    At(u64),
}

impl DbView<'_, '_> {
    /// The string under `key`.
    pub fn get_string(&mut self, key: &[u8]) -> Result<Option<&[u8]>, StoreError> {
        match self.typed(key, ValueType::String)? {
            Some(Value::Str(bytes)) => Ok(Some(bytes)),
            _ => Ok(None),
        }
    }

    /// The string under `key`, for a write command deciding what to do (no
    /// statistics, no `keymiss`; Redis's `lookupKeyWrite`).
    fn string_for_write(&mut self, key: &[u8]) -> Result<Option<&[u8]>, StoreError> {
        match self.typed_for_write(key, ValueType::String)? {
            Some(Value::Str(bytes)) => Ok(Some(bytes)),
            _ => Ok(None),
        }
    }

    /// Stores a string, with the given effect on the deadline.
    pub fn set_string(&mut self, key: &[u8], value: &[u8], expiry: Expiry) {
        let expire_at = match expiry {
            Expiry::Clear => 0,
            Expiry::At(at) => at,
            Expiry::Keep => self.peek(key).and_then(|e| e.expire_at()).unwrap_or(0),
        };
        self.insert(key, Value::Str(value.into()), expire_at);
    }

    /// Adds `delta` to the integer stored at `key` (0 when missing), keeping its TTL.
    pub fn incr_by(&mut self, key: &[u8], delta: i64) -> Result<i64, StoreError> {
        let next = add_to_integer(self.string_for_write(key)?, delta, StoreError::NotInteger)?;
        let mut digits = itoa::Buffer::new();
        self.set_string(key, digits.format(next).as_bytes(), Expiry::Keep);
        Ok(next)
    }

    /// Adds a float to the number at `key`, keeping its TTL.
    ///
    /// # Returns
    /// The stored text of the result.
    pub fn incr_by_float(&mut self, key: &[u8], delta: LongDouble) -> Result<Vec<u8>, StoreError> {
        let text = add_to_float(self.string_for_write(key)?, delta, StoreError::NotFloat)?;
        self.set_string(key, &text, Expiry::Keep);
        Ok(text)
    }

    /// Appends to the string at `key` (creating it).
    ///
    /// # Returns
    /// The new length.
    pub fn append(&mut self, key: &[u8], tail: &[u8], max_len: u64) -> Result<usize, StoreError> {
        let mut value = self
            .string_for_write(key)?
            .map(<[u8]>::to_vec)
            .unwrap_or_default();
        if (value.len() + tail.len()) as u64 > max_len {
            return Err(StoreError::StringTooLong);
        }
        value.extend_from_slice(tail);
        let length = value.len();
        self.set_string(key, &value, Expiry::Keep);
        Ok(length)
    }

    /// Changes the string at `key` in place, first lengthened with zero bytes to at
    /// least `min_len` (created when missing; its deadline is kept). SETBIT and
    /// BITFIELD write through this, so a bitmap grows in place instead of being
    /// copied on every write.
    ///
    /// `change` gets the bytes and whether the string is new or was just lengthened,
    /// and answers its result and whether it changed any byte. Watchers of the key see
    /// a change, and the command counts as a write, only when the string was created,
    /// lengthened or changed: Redis signals nothing for a SETBIT that leaves the bit
    /// as it was.
    pub fn change_string<R>(
        &mut self,
        key: &[u8],
        min_len: usize,
        change: impl FnOnce(&mut [u8], bool) -> (R, bool),
    ) -> Result<R, StoreError> {
        let mut change = Some(change);
        let existing = self.change_in_place(key, ValueType::String, |value| {
            let Value::Str(bytes) = value else {
                unreachable!("the type was checked");
            };
            let lengthened = bytes.len() < min_len;
            bytes.grow_zeroed(min_len);
            let change = change.take().expect("called once");
            let (result, changed) = change(bytes, lengthened);
            (result, lengthened || changed)
        })?;
        if let Some(result) = existing {
            return Ok(result);
        }
        let change = change.take().expect("not called for a missing key");
        let mut bytes = ThinBytes::zeroed(min_len);
        let (result, _) = change(&mut bytes, true);
        self.insert(key, Value::Str(bytes), 0);
        Ok(result)
    }

    /// Overwrites part of the string at `key`, zero-padding as needed.
    ///
    /// # Returns
    /// The new length.
    pub fn set_range(
        &mut self,
        key: &[u8],
        offset: usize,
        data: &[u8],
        max_len: u64,
    ) -> Result<usize, StoreError> {
        let current = self.string_for_write(key)?.map(<[u8]>::to_vec);
        let Some(mut value) = current.or_else(|| (!data.is_empty()).then(Vec::new)) else {
            return Ok(0);
        };
        if data.is_empty() {
            return Ok(value.len());
        }
        if (offset + data.len()) as u64 > max_len {
            return Err(StoreError::StringTooLong);
        }
        if value.len() < offset + data.len() {
            value.resize(offset + data.len(), 0);
        }
        value[offset..offset + data.len()].copy_from_slice(data);
        let length = value.len();
        self.set_string(key, &value, Expiry::Keep);
        Ok(length)
    }
}

/// Adds `delta` to a number stored as text, a missing one counting as 0 (INCRBY,
/// HINCRBY). `not_integer` is the error for text that is no integer: strings and
/// hash fields word it differently.
pub(super) fn add_to_integer(
    stored: Option<&[u8]>,
    delta: i64,
    not_integer: StoreError,
) -> Result<i64, StoreError> {
    let current = match stored {
        Some(text) => parse_i64(text).ok_or(not_integer)?,
        None => 0,
    };
    current.checked_add(delta).ok_or(StoreError::Overflow)
}

/// Adds `delta` to a number stored as text, a missing one counting as 0
/// (INCRBYFLOAT, HINCRBYFLOAT), in Redis's `long double` arithmetic. `not_float`
/// is the error for text that is no number.
///
/// # Returns
/// The text to store, formatted as Redis stores the result.
pub(super) fn add_to_float(
    stored: Option<&[u8]>,
    delta: LongDouble,
    not_float: StoreError,
) -> Result<Vec<u8>, StoreError> {
    let current = match stored {
        Some(text) => LongDouble::parse(text).ok_or(not_float)?,
        None => LongDouble::ZERO,
    };
    let next = current
        .checked_add(delta)
        .ok_or(StoreError::NanOrInfinity)?;
    let mut text = Vec::new();
    next.format_human(&mut text);
    Ok(text)
}

/// The byte range GETRANGE returns for `start..=end` (Redis's clamping rules).
pub fn substring(value: &[u8], start: i64, end: i64) -> &[u8] {
    let len = value.len() as i64;
    if start < 0 && end < 0 && start > end {
        return b"";
    }
    let start = if start < 0 {
        (len + start).max(0)
    } else {
        start
    };
    let mut end = if end < 0 { (len + end).max(0) } else { end };
    if end >= len {
        end = len - 1;
    }
    if start > end || len == 0 {
        return b"";
    }
    &value[start as usize..=end as usize]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Keyspace;

    #[test]
    fn incr_keeps_ttl_and_checks_overflow() {
        let keyspace = Keyspace::new(1);
        let mut locked = keyspace.lock_all();
        let mut db = locked.db(0, 0);
        db.set_string(b"n", b"41", Expiry::At(5000));
        assert_eq!(db.incr_by(b"n", 1), Ok(42));
        assert_eq!(db.peek(b"n").unwrap().expire_at(), Some(5000));
        db.set_string(b"max", i64::MAX.to_string().as_bytes(), Expiry::Clear);
        assert_eq!(db.incr_by(b"max", 1), Err(StoreError::Overflow));
        db.set_string(b"text", b"abc", Expiry::Clear);
        assert_eq!(db.incr_by(b"text", 1), Err(StoreError::NotInteger));
    }

    #[test]
    fn incr_by_float_formats_like_redis() {
        let keyspace = Keyspace::new(1);
        let mut locked = keyspace.lock_all();
        let mut db = locked.db(0, 0);
        let number = |text: &str| LongDouble::parse(text.as_bytes()).unwrap();
        db.set_string(b"f", b"10.5", Expiry::Clear);
        assert_eq!(db.incr_by_float(b"f", number("0.1")).unwrap(), b"10.6");
        assert_eq!(db.incr_by_float(b"g", number("3e3")).unwrap(), b"3000");
        // long double arithmetic, as Redis: binary64 would give 1.2000000000000002.
        db.set_string(b"h", b"1.1", Expiry::Clear);
        assert_eq!(db.incr_by_float(b"h", number("0.1")).unwrap(), b"1.2");
        assert_eq!(
            db.incr_by_float(b"f", number("inf")),
            Err(StoreError::NanOrInfinity)
        );
    }

    #[test]
    fn set_range_pads_and_skips_empty_writes() {
        let keyspace = Keyspace::new(1);
        let mut locked = keyspace.lock_all();
        let mut db = locked.db(0, 0);
        assert_eq!(db.set_range(b"k", 3, b"", 100), Ok(0));
        assert!(!db.exists(b"k"));
        assert_eq!(db.set_range(b"k", 2, b"ab", 100), Ok(4));
        assert_eq!(db.get_string(b"k").unwrap().unwrap(), b"\0\0ab");
        assert_eq!(
            db.set_range(b"k", 99, b"xy", 100),
            Err(StoreError::StringTooLong)
        );
    }

    #[test]
    fn change_string_grows_in_place_and_reports_only_real_changes() {
        use crate::store::watch::WatchFlag;
        let keyspace = Keyspace::new(1);
        let watch = || {
            let flag = WatchFlag::default();
            keyspace.lock_all().shard_for(b"k").dbs[0].watch(b"k", &flag, 0);
            flag
        };
        // Created: a change, whatever the closure says.
        let flag = watch();
        let mut locked = keyspace.lock_all();
        let mut db = locked.db(0, 0);
        let created = db.change_string(b"k", 2, |bytes, fresh| {
            bytes[1] = 7;
            (fresh, false)
        });
        assert_eq!(created, Ok(true));
        assert_eq!(db.get_string(b"k").unwrap().unwrap(), b"\0\x07");
        db.set_expire(b"k", 9000);
        drop(locked);
        assert!(flag.is_raised());

        // Same length, nothing written: no watch fired, no change counted.
        let flag = watch();
        let mut locked = keyspace.lock_all();
        let before = locked.changes();
        let unchanged = locked
            .db(0, 0)
            .change_string(b"k", 1, |_, fresh| (fresh, false));
        assert_eq!(unchanged, Ok(false));
        assert_eq!(locked.changes(), before);
        drop(locked);
        assert!(!flag.is_raised());

        // Lengthened: a change, and the deadline stays.
        let mut locked = keyspace.lock_all();
        let mut db = locked.db(0, 0);
        assert_eq!(
            db.change_string(b"k", 4, |_, fresh| (fresh, false)),
            Ok(true)
        );
        assert_eq!(db.get_string(b"k").unwrap().unwrap(), b"\0\x07\0\0");
        assert_eq!(db.peek(b"k").unwrap().expire_at(), Some(9000));
        assert!(locked.changes() > before);
        drop(locked);
        assert!(flag.is_raised());

        let mut locked = keyspace.lock_all();
        let mut db = locked.db(0, 0);
        db.insert(b"l", Value::List(Box::default()), 0);
        assert_eq!(
            db.change_string(b"l", 1, |_, _| ((), true)),
            Err(StoreError::WrongType)
        );
    }

    #[test]
    fn substring_clamps_like_getrange() {
        assert_eq!(substring(b"Hello World", 0, 3), b"Hell");
        assert_eq!(substring(b"Hello World", -3, -1), b"rld");
        assert_eq!(substring(b"Hello World", 0, -100), b"H");
        assert_eq!(substring(b"Hello World", 5, 1000), b" World");
        assert_eq!(substring(b"Hello World", -1, -5), b"");
        assert_eq!(substring(b"", 0, -1), b"");
    }

    #[test]
    fn wrong_type_is_reported() {
        let keyspace = Keyspace::new(1);
        let mut locked = keyspace.lock_all();
        let mut db = locked.db(0, 0);
        db.insert(b"l", Value::List(Box::default()), 0);
        assert_eq!(db.get_string(b"l").unwrap_err(), StoreError::WrongType);
    }
}

//! The snapshot format: the whole dataset in one checksummed stream.
//!
//! It is broker-server's own format (not Redis's RDB). `SAVE`/`BGSAVE` write it to
//! `dbfilename`, and every append-only log starts with one (the log's *base*, written
//! when the log is created or rewritten), followed by log records.
//!
//! # Format
//! Integers are little-endian; `varint` is unsigned LEB128; `bytes` is a `varint`
//! length followed by that many bytes.
//!
//! ```text
//! header   "BRKRSNAP" (8 bytes) | version: u8 = 1 | created: u64 (Unix ms)
//! records  any number of:
//!   0x01 DB      db: varint                 — the following keys belong to this db
//!   0x10 STRING  key: bytes | expire: varint | value: bytes
//!   0x11 LIST    key: bytes | expire: varint | n: varint | n × element: bytes
//!   0x12 HASH    key: bytes | expire: varint | n: varint | n × (field: bytes, value: bytes)
//!   0x13 SET     key: bytes | expire: varint | n: varint | n × member: bytes
//!   0x14 ZSET    key: bytes | expire: varint | n: varint | n × (member: bytes, score: f64)
//! end      0xFF | keys: u64 (number of key records) | crc: u32
//! ```
//!
//! `expire` is the key's deadline in Unix milliseconds, 0 for none. The CRC-32
//! (IEEE) covers every byte from the magic through `keys`. Records come in no
//! particular order: each shard is written as it is captured (see
//! [`crate::store::ShardCapture`]), starting with a `DB` record. Keys whose deadline
//! had passed when the snapshot was taken are left out; keys that expire between the
//! snapshot and a load are dropped by the load.
//!
//! The `ZSET` code is reserved for the sorted-set value type: the loader refuses it
//! until that type exists in [`crate::store::Value`], and the writer gains it with the
//! type (the `match` in [`write_entry`] will not compile without it).

use std::io::{self, Write};

use crate::persist::input::Input;
use crate::store::sorted_set::SortedSet;
use crate::store::value::{Hash, List, Set};
use crate::store::{Entry, Shard, Value};

/// First bytes of every snapshot.
pub const MAGIC: &[u8; 8] = b"BRKRSNAP";
/// The format version this build writes and reads.
pub const VERSION: u8 = 1;

const OP_DB: u8 = 0x01;
const OP_STRING: u8 = 0x10;
const OP_LIST: u8 = 0x11;
const OP_HASH: u8 = 0x12;
const OP_SET: u8 = 0x13;
const OP_ZSET: u8 = 0x14;
const OP_END: u8 = 0xFF;

/// Appends an unsigned LEB128 number.
pub fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// The header: magic, version, creation time.
pub fn header(created_ms: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(17);
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    out.extend_from_slice(&created_ms.to_le_bytes());
    out
}

/// Appends one key's record.
pub fn write_entry(out: &mut Vec<u8>, key: &[u8], entry: &Entry) {
    let expire = entry.expire_at().unwrap_or(0);
    let opcode = match &entry.value {
        Value::Str(_) => OP_STRING,
        Value::List(_) => OP_LIST,
        Value::Hash(_) => OP_HASH,
        Value::Set(_) => OP_SET,
        Value::ZSet(_) => OP_ZSET,
    };
    out.push(opcode);
    put_bytes(out, key);
    put_varint(out, expire);
    match &entry.value {
        Value::Str(bytes) => put_bytes(out, bytes),
        Value::List(list) => {
            put_varint(out, list.len() as u64);
            for element in list.iter() {
                put_bytes(out, element);
            }
        }
        Value::Hash(hash) => {
            put_varint(out, hash.len() as u64);
            for (field, value) in hash.iter() {
                put_bytes(out, field);
                put_bytes(out, value);
            }
        }
        Value::Set(set) => {
            put_varint(out, set.len() as u64);
            for member in set.iter() {
                put_bytes(out, member);
            }
        }
        Value::ZSet(zset) => {
            put_varint(out, zset.len() as u64);
            for (member, score) in zset.iter() {
                put_bytes(out, member);
                out.extend_from_slice(&score.to_le_bytes());
            }
        }
    }
}

/// Appends every key of `shard` that is live at `now_ms`, each database introduced by
/// a `DB` record.
///
/// # Returns
/// The number of keys written.
pub fn write_shard(out: &mut Vec<u8>, shard: &Shard, now_ms: u64) -> u64 {
    let mut keys = 0;
    for (index, db) in shard.dbs.iter().enumerate() {
        if db.is_empty() {
            continue;
        }
        out.push(OP_DB);
        put_varint(out, index as u64);
        for (key, entry) in db.keys(now_ms) {
            write_entry(out, key, entry);
            keys += 1;
        }
    }
    keys
}

/// Writes a snapshot to `out`: the header, then the body pieces a caller produces,
/// then the end record with the checksum.
pub struct SnapshotWriter<W: Write> {
    out: W,
    crc: crc32fast::Hasher,
    keys: u64,
    written: u64,
}

impl<W: Write> SnapshotWriter<W> {
    /// Starts a snapshot taken at `created_ms`.
    pub fn new(out: W, created_ms: u64) -> io::Result<Self> {
        let mut writer = SnapshotWriter {
            out,
            crc: crc32fast::Hasher::new(),
            keys: 0,
            written: 0,
        };
        writer.write(&header(created_ms))?;
        Ok(writer)
    }

    /// Writes body records holding `keys` keys.
    pub fn write_records(&mut self, records: &[u8], keys: u64) -> io::Result<()> {
        self.keys += keys;
        self.write(records)
    }

    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.crc.update(bytes);
        self.written += bytes.len() as u64;
        self.out.write_all(bytes)
    }

    /// Writes the end record and returns the output and the snapshot's size.
    pub fn finish(mut self) -> io::Result<(W, u64)> {
        let mut end = vec![OP_END];
        end.extend_from_slice(&self.keys.to_le_bytes());
        self.write(&end)?;
        let crc = self.crc.clone().finalize();
        self.out.write_all(&crc.to_le_bytes())?;
        self.written += 4;
        self.out.flush()?;
        Ok((self.out, self.written))
    }
}

/// Why a snapshot could not be read.
#[derive(Debug)]
pub enum SnapshotError {
    Io(io::Error),
    /// The bytes at `offset` are not a valid snapshot.
    Corrupt {
        offset: u64,
        reason: String,
    },
}

impl std::fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SnapshotError::Io(error) => write!(f, "{error}"),
            SnapshotError::Corrupt { offset, reason } => {
                write!(f, "bad snapshot data at offset {offset}: {reason}")
            }
        }
    }
}

/// What a snapshot held.
#[derive(Debug, Clone, Copy)]
pub struct SnapshotInfo {
    pub created_ms: u64,
    pub keys: u64,
}

/// A failure inside [`read_body`]: I/O, or bad data at a known offset (None: where
/// reading stopped).
enum Failure {
    Io(io::Error),
    Bad(Option<u64>, String),
}

impl From<io::Error> for Failure {
    fn from(error: io::Error) -> Self {
        Failure::Io(error)
    }
}

/// Reads a snapshot from `input` (positioned at its magic), handing each key to
/// `insert(db, key, value, expire_at)`. `databases` bounds the `DB` records.
pub fn read_snapshot(
    input: &mut Input,
    databases: usize,
    insert: impl FnMut(usize, &[u8], Value, u64),
) -> Result<SnapshotInfo, SnapshotError> {
    match read_body(input, databases, insert) {
        Ok(info) => Ok(info),
        Err(Failure::Bad(offset, reason)) => Err(SnapshotError::Corrupt {
            offset: offset.unwrap_or(input.offset()),
            reason,
        }),
        Err(Failure::Io(error)) => match error.kind() {
            io::ErrorKind::UnexpectedEof => Err(SnapshotError::Corrupt {
                offset: input.offset(),
                reason: "unexpected end of file".into(),
            }),
            io::ErrorKind::InvalidData => Err(SnapshotError::Corrupt {
                offset: input.offset(),
                reason: error.to_string(),
            }),
            _ => Err(SnapshotError::Io(error)),
        },
    }
}

fn read_body(
    input: &mut Input,
    databases: usize,
    mut insert: impl FnMut(usize, &[u8], Value, u64),
) -> Result<SnapshotInfo, Failure> {
    input.start_crc();
    if input.take(8)? != MAGIC {
        return Err(Failure::Bad(None, "not a broker-server snapshot".into()));
    }
    let version = input.byte()?;
    if version != VERSION {
        return Err(Failure::Bad(
            None,
            format!("snapshot version {version} is not supported (this build reads {VERSION})"),
        ));
    }
    let created_ms = input.u64_le()?;
    let mut db = 0usize;
    let mut keys = 0u64;
    loop {
        let record_offset = input.offset();
        match input.byte()? {
            OP_END => break,
            OP_DB => {
                let index = input.varint()?;
                if index >= databases as u64 {
                    return Err(Failure::Bad(
                        Some(record_offset),
                        format!("database {index} is out of range (databases is {databases})"),
                    ));
                }
                db = index as usize;
            }
            opcode @ (OP_STRING | OP_LIST | OP_HASH | OP_SET | OP_ZSET) => {
                let (key, expire, value) = read_value(input, opcode)?;
                insert(db, &key, value, expire);
                keys += 1;
            }
            other => {
                return Err(Failure::Bad(
                    Some(record_offset),
                    format!("unknown record type 0x{other:02x}"),
                ));
            }
        }
    }
    let count = input.u64_le()?;
    let computed = input.finish_crc();
    let stored = input.u32_le()?;
    if stored != computed {
        return Err(Failure::Bad(
            None,
            format!("checksum mismatch (stored {stored:08x}, computed {computed:08x})"),
        ));
    }
    if count != keys {
        return Err(Failure::Bad(
            None,
            format!("the end record counts {count} keys but {keys} were read"),
        ));
    }
    Ok(SnapshotInfo { created_ms, keys })
}

fn read_value(input: &mut Input, opcode: u8) -> io::Result<(Vec<u8>, u64, Value)> {
    let key = input.bytes()?.to_vec();
    let expire = input.varint()?;
    let value = match opcode {
        OP_STRING => Value::Str(input.bytes()?.into()),
        OP_LIST => {
            let n = input.varint()?;
            let mut list = List::new();
            for _ in 0..n {
                list.push_back(input.bytes()?);
            }
            Value::List(Box::new(list))
        }
        OP_HASH => {
            let n = input.varint()?;
            let mut hash = Hash::default();
            hash.reserve(n.min(1 << 20) as usize);
            for _ in 0..n {
                let field: Box<[u8]> = input.bytes()?.into();
                let value: Box<[u8]> = input.bytes()?.into();
                hash.insert(field, value);
            }
            Value::Hash(Box::new(hash))
        }
        OP_SET => {
            let n = input.varint()?;
            let mut set = Set::default();
            set.reserve(n.min(1 << 20) as usize);
            for _ in 0..n {
                set.insert(input.bytes()?.into());
            }
            Value::Set(Box::new(set))
        }
        OP_ZSET => {
            let n = input.varint()?;
            let mut zset = SortedSet::new();
            for _ in 0..n {
                let member = input.bytes()?.to_vec();
                let score = f64::from_le_bytes(input.u64_le()?.to_le_bytes());
                if score.is_nan() {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, "a NaN score"));
                }
                zset.insert(&member, score);
            }
            Value::ZSet(Box::new(zset))
        }
        _ => unreachable!("caller matched the opcode"),
    };
    Ok((key, expire, value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::persist::input::tests::tempfile_in_target;
    use crate::store::Keyspace;
    use std::io::{Seek, SeekFrom};

    fn sample_keyspace() -> Keyspace {
        let keyspace = Keyspace::new(4);
        let mut locked = keyspace.lock_all();
        let mut db = locked.db(0, 0);
        db.insert(b"plain", Value::Str(b"v"[..].into()), 0);
        db.insert(b"ttl", Value::Str(b"t"[..].into()), 9_000_000_000_000);
        db.insert(b"gone", Value::Str(b"x"[..].into()), 5);
        let mut list = List::new();
        for element in [&b"a"[..], b"", b"\x00\x06\x16binary"] {
            list.push_back(element);
        }
        db.insert(b"list", Value::List(Box::new(list)), 8_000_000_000_000);
        let mut hash = Hash::default();
        hash.insert(b"f"[..].into(), b"1"[..].into());
        hash.insert(b"g"[..].into(), b"2"[..].into());
        db.insert(b"hash", Value::Hash(Box::new(hash)), 0);
        let mut db3 = locked.db(3, 0);
        let mut set = Set::default();
        set.insert(b"m1"[..].into());
        set.insert(b"m2"[..].into());
        db3.insert(b"set", Value::Set(Box::new(set)), 7_000_000_000_000);
        drop(locked);
        keyspace
    }

    fn dump(keyspace: &Keyspace, now: u64) -> Vec<u8> {
        let mut writer = SnapshotWriter::new(Vec::new(), 42).unwrap();
        keyspace.for_each_shard(|_, shard| {
            let mut body = Vec::new();
            let keys = write_shard(&mut body, shard, now);
            writer.write_records(&body, keys).unwrap();
        });
        writer.finish().unwrap().0
    }

    fn load(bytes: &[u8]) -> Result<(Keyspace, SnapshotInfo), SnapshotError> {
        let mut file = tempfile_in_target("snapshot");
        file.write_all(bytes).unwrap();
        file.seek(SeekFrom::Start(0)).unwrap();
        let mut input = Input::new(file, 0);
        let keyspace = Keyspace::new(4);
        let info = read_snapshot(&mut input, 4, |db, key, value, expire| {
            keyspace.lock(u64::MAX).db(db, 0).insert(key, value, expire);
        })?;
        Ok((keyspace, info))
    }

    fn describe(keyspace: &Keyspace) -> Vec<String> {
        let mut all = Vec::new();
        keyspace.for_each_shard(|_, shard| {
            for (index, db) in shard.dbs.iter().enumerate() {
                for (key, entry) in db.keys(0) {
                    all.push(format!(
                        "{index} {} {:?} {:?}",
                        String::from_utf8_lossy(key),
                        entry.expire_at(),
                        entry.value
                    ));
                }
            }
        });
        all.sort();
        all
    }

    #[test]
    fn every_type_round_trips_with_its_deadline() {
        let keyspace = sample_keyspace();
        let bytes = dump(&keyspace, 10);
        let (loaded, info) = load(&bytes).unwrap();
        assert_eq!(info.created_ms, 42);
        assert_eq!(info.keys, 5, "the key expired at the snapshot is left out");
        let mut expected = describe(&keyspace);
        expected.retain(|line| !line.contains(" gone "));
        assert_eq!(describe(&loaded), expected);
    }

    #[test]
    fn damage_is_detected_with_an_offset() {
        let keyspace = sample_keyspace();
        let bytes = dump(&keyspace, 10);
        let mut flipped = bytes.clone();
        let middle = bytes.len() / 2;
        flipped[middle] ^= 0x01;
        assert!(matches!(load(&flipped), Err(SnapshotError::Corrupt { .. })));
        let truncated = &bytes[..bytes.len() - 3];
        match load(truncated) {
            Err(SnapshotError::Corrupt { reason, .. }) => {
                assert!(reason.contains("end of file"), "{reason}")
            }
            Err(other) => panic!("{other:?}"),
            Ok(_) => panic!("a truncated snapshot loaded"),
        }
        match load(b"RDB0011xxxxxxxxxxxxxx") {
            Err(SnapshotError::Corrupt { offset, reason }) => {
                assert_eq!(offset, 8);
                assert!(reason.contains("not a broker-server snapshot"));
            }
            Err(other) => panic!("{other:?}"),
            Ok(_) => panic!("garbage loaded"),
        }
    }

    #[test]
    fn varints_round_trip() {
        for value in [0u64, 1, 127, 128, 300, u32::MAX as u64, u64::MAX] {
            let mut out = Vec::new();
            put_varint(&mut out, value);
            let mut file = tempfile_in_target("varint");
            file.write_all(&out).unwrap();
            file.seek(SeekFrom::Start(0)).unwrap();
            assert_eq!(Input::new(file, 0).varint().unwrap(), value);
        }
    }
}

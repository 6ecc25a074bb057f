//! Log records: how commands, database switches and clock annotations are written.
//!
//! # Format
//! The log part of the file is a sequence of requests in the same wire format clients
//! send (multibulk RESP), so the request decoder reads it back:
//!
//! * a command: `*<n>\r\n` then `$<len>\r\n<bytes>\r\n` per argument;
//! * `SELECT <db>` before a record whose database differs from the previous record's;
//! * a clock annotation `#T:<unix ms>\r\n` (one inline line) before a record whose
//!   execution time differs from the previous record's;
//! * `MULTI` ... `EXEC` around the records of one transaction, script, or command that
//!   amounts to several (a blocking hand-off): replay applies them all or, when the
//!   file ends inside, none.

/// Prefix of the clock annotation line.
pub const TIME_PREFIX: &[u8] = b"#T:";

/// Appends one command as a multibulk request.
pub fn encode_command<'a>(out: &mut Vec<u8>, args: impl ExactSizeIterator<Item = &'a [u8]>) {
    let mut digits = itoa::Buffer::new();
    out.push(b'*');
    out.extend_from_slice(digits.format(args.len()).as_bytes());
    out.extend_from_slice(b"\r\n");
    for arg in args {
        out.push(b'$');
        out.extend_from_slice(digits.format(arg.len()).as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

/// Appends `SELECT <db>`.
pub fn encode_select(out: &mut Vec<u8>, db: usize) {
    let mut digits = itoa::Buffer::new();
    encode_command(
        out,
        [&b"SELECT"[..], digits.format(db).as_bytes()].into_iter(),
    );
}

/// Appends the clock annotation `#T:<ms>\r\n`.
pub fn encode_time(out: &mut Vec<u8>, unix_ms: u64) {
    let mut digits = itoa::Buffer::new();
    out.extend_from_slice(TIME_PREFIX);
    out.extend_from_slice(digits.format(unix_ms).as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// The records one command (or one transaction) leaves in the log, appended as a unit:
/// encoded commands, with `SELECT`s between records of different databases.
#[derive(Debug, Default, Clone)]
pub struct Unit {
    bytes: Vec<u8>,
    count: usize,
    first_db: usize,
    last_db: usize,
}

impl Unit {
    /// Adds a command run in database `db`.
    pub fn push<'a>(&mut self, db: usize, args: impl ExactSizeIterator<Item = &'a [u8]>) {
        if self.count == 0 {
            self.first_db = db;
        } else if db != self.last_db {
            encode_select(&mut self.bytes, db);
        }
        self.last_db = db;
        self.count += 1;
        encode_command(&mut self.bytes, args);
    }

    /// Moves every record of `other` to the end of this unit.
    pub fn append(&mut self, other: &mut Unit) {
        if other.count == 0 {
            return;
        }
        if self.count == 0 {
            std::mem::swap(self, other);
            return;
        }
        if other.first_db != self.last_db {
            encode_select(&mut self.bytes, other.first_db);
        }
        self.bytes.append(&mut other.bytes);
        self.count += other.count;
        self.last_db = other.last_db;
        other.clear();
    }

    pub fn clear(&mut self) {
        self.bytes.clear();
        self.count = 0;
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Number of commands.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Database of the first record.
    pub fn first_db(&self) -> usize {
        self.first_db
    }

    /// Database of the last record.
    pub fn last_db(&self) -> usize {
        self.last_db
    }

    /// The encoded records (SELECTs between databases included, the leading one not).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_encode_as_multibulk() {
        let mut out = Vec::new();
        encode_command(&mut out, [&b"SET"[..], b"k", b""].into_iter());
        assert_eq!(out, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
        out.clear();
        encode_time(&mut out, 1234);
        assert_eq!(out, b"#T:1234\r\n");
    }

    #[test]
    fn units_select_between_databases() {
        let mut unit = Unit::default();
        unit.push(2, [&b"DEL"[..], b"a"].into_iter());
        unit.push(2, [&b"DEL"[..], b"b"].into_iter());
        unit.push(0, [&b"DEL"[..], b"c"].into_iter());
        assert_eq!((unit.len(), unit.first_db(), unit.last_db()), (3, 2, 0));
        let text = String::from_utf8(unit.bytes().to_vec()).unwrap();
        assert_eq!(text.matches("SELECT").count(), 1);
        let mut more = Unit::default();
        more.push(5, [&b"DEL"[..], b"d"].into_iter());
        unit.append(&mut more);
        assert!(more.is_empty());
        assert_eq!((unit.len(), unit.last_db()), (4, 5));
        let text = String::from_utf8(unit.bytes().to_vec()).unwrap();
        assert_eq!(text.matches("SELECT").count(), 2);
    }
}

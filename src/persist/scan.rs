//! Reading the log part of a file back: records, clock annotations, transactions, and
//! the difference between a torn tail and corruption.
//!
//! The loader and `broker-server check-aof` share this scanner, so they always agree
//! on where a file goes bad.
//!
//! * **Torn tail**: the file ends inside a record, or inside a `MULTI` ... `EXEC`
//!   block, or the rest of the file is zeros (what a file system can leave after a
//!   crash). The records before it are intact; the tail was never acknowledged.
//! * **Corruption**: bytes that are not a valid record (or name no known command),
//!   with more data after them. Something damaged the file; the loader stops rather
//!   than guess.

use crate::commands::table::CommandTable;
use crate::persist::input::Input;
use crate::persist::record::TIME_PREFIX;
use crate::protocol::decode::DecodeLimits;
use crate::protocol::{Args, RequestDecoder};
use crate::util::numbers::parse_i64;

const LIMITS: DecodeLimits = DecodeLimits {
    max_bulk_len: usize::MAX >> 2,
    unauthenticated: false,
};

/// One thing read from the log.
pub enum Event<'a> {
    /// The records that follow ran at this Unix millisecond.
    Time(u64),
    Select(u64),
    Multi,
    Exec,
    Command(Args<'a>),
}

/// Where and why a log stops being readable.
#[derive(Debug)]
pub enum ScanError {
    Io(std::io::Error),
    /// The file ends inside a record or a transaction; truncating at `offset` leaves
    /// only whole records.
    Torn {
        offset: u64,
        reason: String,
    },
    /// The record at `offset` is not valid and more data follows. Truncating at
    /// `fix_at` (the record, or the `MULTI` of the transaction it is in) leaves only
    /// whole records.
    Corrupt {
        offset: u64,
        fix_at: u64,
        reason: String,
    },
}

impl From<std::io::Error> for ScanError {
    fn from(error: std::io::Error) -> Self {
        ScanError::Io(error)
    }
}

/// What the next request is, without borrowing it.
enum Kind {
    Empty,
    Time(u64),
    Annotation,
    Select(u64),
    Multi,
    Exec,
    Command,
    Bad(String),
}

/// Reads log records one at a time.
pub struct LogScanner {
    input: Input,
    decoder: RequestDecoder,
    /// Offset of the open `MULTI`, if any.
    multi_at: Option<u64>,
}

impl LogScanner {
    /// Scans from the current position of `input`.
    pub fn new(input: Input) -> Self {
        LogScanner {
            input,
            decoder: RequestDecoder::new(),
            multi_at: None,
        }
    }

    /// The offset of the next unread byte.
    pub fn offset(&self) -> u64 {
        self.input.offset()
    }

    /// The next event and the offset of its record; `None` at a clean end.
    pub fn next_event(&mut self) -> Result<Option<(u64, Event<'_>)>, ScanError> {
        loop {
            let offset = self.input.offset();
            match self.decoder.decode(self.input.buffered(), &LIMITS) {
                Ok(Some(length)) => {
                    self.input.consume(length);
                    let kind = classify(&self.decoder.args(self.recent(length)));
                    let event = match kind {
                        Kind::Empty | Kind::Annotation => continue,
                        Kind::Bad(reason) => {
                            return Err(ScanError::Corrupt {
                                offset,
                                fix_at: self.multi_at.unwrap_or(offset),
                                reason,
                            });
                        }
                        Kind::Time(ms) => Event::Time(ms),
                        Kind::Select(db) => Event::Select(db),
                        Kind::Multi => {
                            if let Some(open) = self.multi_at {
                                return Err(ScanError::Corrupt {
                                    offset,
                                    fix_at: open,
                                    reason: "MULTI inside MULTI".into(),
                                });
                            }
                            self.multi_at = Some(offset);
                            Event::Multi
                        }
                        Kind::Exec => {
                            if self.multi_at.take().is_none() {
                                return Err(ScanError::Corrupt {
                                    offset,
                                    fix_at: offset,
                                    reason: "EXEC without MULTI".into(),
                                });
                            }
                            Event::Exec
                        }
                        Kind::Command => {
                            let args = self.decoder.args(self.recent(length));
                            return Ok(Some((offset, Event::Command(args))));
                        }
                    };
                    return Ok(Some((offset, event)));
                }
                Ok(None) => {
                    let wanted = self.decoder.bytes_wanted(self.input.buffered().len());
                    if self.input.fill_more(wanted)? {
                        continue;
                    }
                    if let Some(open) = self.multi_at {
                        return Err(ScanError::Torn {
                            offset: open,
                            reason: "the file ends inside a MULTI/EXEC block".into(),
                        });
                    }
                    if self.input.buffered().is_empty() {
                        return Ok(None);
                    }
                    return Err(ScanError::Torn {
                        offset,
                        reason: "the file ends in the middle of a record".into(),
                    });
                }
                Err(error) => {
                    if self.rest_is_zeros()? {
                        return Err(ScanError::Torn {
                            offset: self.multi_at.unwrap_or(offset),
                            reason: "the file ends with zeros".into(),
                        });
                    }
                    return Err(ScanError::Corrupt {
                        offset,
                        fix_at: self.multi_at.unwrap_or(offset),
                        reason: error.to_string(),
                    });
                }
            }
        }
    }

    /// The `length` bytes just consumed.
    fn recent(&self, length: usize) -> &[u8] {
        let data = self.input.buffered_before();
        &data[data.len() - length..]
    }

    /// Whether everything from the current position to the end of the file is zero.
    fn rest_is_zeros(&mut self) -> Result<bool, ScanError> {
        loop {
            if self.input.buffered().iter().any(|&b| b != 0) {
                return Ok(false);
            }
            let length = self.input.buffered().len();
            self.input.consume(length);
            if !self.input.fill_more(0)? {
                return Ok(true);
            }
        }
    }
}

/// What a decoded request is, for the scanner.
fn classify(args: &Args<'_>) -> Kind {
    let Some(name) = args.get(0) else {
        return Kind::Empty;
    };
    if name.first() == Some(&b'#') {
        if args.len() == 1 {
            if let Some(digits) = name.strip_prefix(TIME_PREFIX) {
                return match parse_i64(digits) {
                    Some(ms) if ms >= 0 => Kind::Time(ms as u64),
                    _ => Kind::Bad("bad clock annotation".into()),
                };
            }
        }
        return Kind::Annotation;
    }
    if name.eq_ignore_ascii_case(b"SELECT") {
        return match args.get(1).and_then(parse_i64) {
            Some(db) if args.len() == 2 && db >= 0 => Kind::Select(db as u64),
            _ => Kind::Bad("bad SELECT record".into()),
        };
    }
    if name.eq_ignore_ascii_case(b"MULTI") {
        return Kind::Multi;
    }
    if name.eq_ignore_ascii_case(b"EXEC") {
        return Kind::Exec;
    }
    match CommandTable::get().lookup(name) {
        None => Kind::Bad(format!(
            "unknown command '{}'",
            String::from_utf8_lossy(&name[..name.len().min(64)])
        )),
        Some(spec) if !spec.arity_ok(args.len()) => {
            Kind::Bad(format!("wrong number of arguments for '{}'", spec.name))
        }
        Some(_) => Kind::Command,
    }
}

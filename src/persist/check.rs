//! `broker-server check-aof FILE [--fix]`: finds the first bad record of a log and,
//! with `--fix`, truncates the file there.
//!
//! It reads the file exactly as the loader does (the snapshot base with its checksum,
//! then the records, with the same scanner), so "valid" here means "loads". Damage in
//! the snapshot base cannot be repaired by truncation and is only reported.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use crate::persist::input::Input;
use crate::persist::scan::{Event, LogScanner, ScanError};
use crate::persist::snapshot::{self, MAGIC, SnapshotError};

/// What the check found.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Valid {
        size: u64,
        records: u64,
        base_keys: Option<u64>,
    },
    /// The log part goes bad at `fix_at` (truncating there leaves whole records).
    Bad {
        size: u64,
        offset: u64,
        fix_at: u64,
        torn: bool,
        reason: String,
        records: u64,
    },
    /// The snapshot base is damaged.
    BadBase { offset: u64, reason: String },
}

/// Checks a log file.
pub fn check(path: &Path) -> std::io::Result<Verdict> {
    let mut file = File::open(path)?;
    let size = file.metadata()?.len();
    let mut magic = [0u8; 8];
    let mut read = 0;
    while read < magic.len() {
        match file.read(&mut magic[read..])? {
            0 => break,
            n => read += n,
        }
    }
    file.seek(SeekFrom::Start(0))?;
    let mut input = Input::new(file, 0);
    let mut base_keys = None;
    if read == magic.len() && &magic == MAGIC {
        // Any database number is accepted here; the loader checks it against the
        // configuration.
        match snapshot::read_snapshot(&mut input, usize::MAX, |_, _, _, _| {}) {
            Ok(info) => base_keys = Some(info.keys),
            Err(SnapshotError::Io(error)) => return Err(error),
            Err(SnapshotError::Corrupt { offset, reason }) => {
                return Ok(Verdict::BadBase { offset, reason });
            }
        }
    }
    let mut scanner = LogScanner::new(input);
    let mut records = 0u64;
    loop {
        match scanner.next_event() {
            Ok(Some((_, event))) => {
                if matches!(event, Event::Command(_)) {
                    records += 1;
                }
            }
            Ok(None) => {
                return Ok(Verdict::Valid {
                    size,
                    records,
                    base_keys,
                });
            }
            Err(ScanError::Io(error)) => return Err(error),
            Err(ScanError::Torn { offset, reason }) => {
                return Ok(Verdict::Bad {
                    size,
                    offset,
                    fix_at: offset,
                    torn: true,
                    reason,
                    records,
                });
            }
            Err(ScanError::Corrupt {
                offset,
                fix_at,
                reason,
            }) => {
                return Ok(Verdict::Bad {
                    size,
                    offset,
                    fix_at,
                    torn: false,
                    reason,
                    records,
                });
            }
        }
    }
}

/// Runs the subcommand: prints what it found (and did) and returns the exit code.
pub fn run(path: &Path, fix: bool) -> u8 {
    let name = path.display();
    let verdict = match check(path) {
        Ok(verdict) => verdict,
        Err(error) => {
            eprintln!("check-aof: can't read {name}: {error}");
            return 1;
        }
    };
    match verdict {
        Verdict::Valid {
            size,
            records,
            base_keys,
        } => {
            let base = base_keys.map_or(String::new(), |keys| {
                format!(", a snapshot base of {keys} keys")
            });
            println!("AOF {name} is valid: {size} bytes{base}, {records} commands");
            0
        }
        Verdict::BadBase { offset, reason } => {
            println!("AOF {name}: the snapshot base is damaged at offset {offset}: {reason}");
            println!("This cannot be repaired by truncation; restore the file from a backup.");
            1
        }
        Verdict::Bad {
            size,
            offset,
            fix_at,
            torn,
            reason,
            records,
        } => {
            let kind = if torn { "torn tail" } else { "bad record" };
            println!(
                "AOF {name}: {kind} at offset {offset}: {reason} ({records} good commands before it)"
            );
            if fix_at != offset {
                println!("It is inside the transaction that starts at offset {fix_at}.");
            }
            let removed = size - fix_at;
            if !fix {
                println!(
                    "Truncating at offset {fix_at} would remove {removed} bytes. Run 'broker-server check-aof --fix {name}' to do it (back the file up first)."
                );
                return 1;
            }
            match super::load::truncate(path, fix_at) {
                Ok(()) => {
                    println!(
                        "Truncated {name} from {size} to {fix_at} bytes: removed {removed} bytes. The file is now valid."
                    );
                    0
                }
                Err(error) => {
                    eprintln!("check-aof: can't truncate {name}: {error}");
                    1
                }
            }
        }
    }
}

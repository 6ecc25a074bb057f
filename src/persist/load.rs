//! Recovery: loading a snapshot, then replaying a log, at start-up.
//!
//! Log records run through the same handlers clients use
//! ([`crate::commands::gate::run_handler`]), each with the clock it originally ran at,
//! so replay reproduces what happened, expiry included. The log is not being written
//! while this runs, so replay logs nothing.

use std::fs::File;
use std::io::{self, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::commands::table::CommandTable;
use crate::commands::{CommandSpec, Effects, gate};
use crate::persist::input::Input;
use crate::persist::scan::{Event, LogScanner, ScanError};
use crate::persist::snapshot::{self, MAGIC, SnapshotError};
use crate::protocol::{Args, OwnedArgs};
use crate::server::Server;
use crate::server::client::{Client, ClientHandle};
use crate::store::Keyspace;

/// Why recovery stopped the server.
#[derive(Debug)]
pub enum LoadError {
    Io {
        path: PathBuf,
        error: io::Error,
    },
    /// The snapshot (or the log's base) is damaged.
    BadSnapshot {
        path: PathBuf,
        offset: u64,
        reason: String,
    },
    /// A log record in the middle of the file is damaged.
    BadLog {
        path: PathBuf,
        offset: u64,
        reason: String,
    },
    /// Shutdown was requested while loading.
    Interrupted,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Io { path, error } => {
                write!(f, "can't read {}: {error}", path.display())
            }
            LoadError::BadSnapshot {
                path,
                offset,
                reason,
            } => write!(
                f,
                "Bad file format reading {} at offset {offset}: {reason}. The snapshot data is damaged and truncation cannot repair it: restore the file from a backup. 'broker-server check-aof {}' reports what it finds.",
                path.display(),
                path.display()
            ),
            LoadError::BadLog {
                path,
                offset,
                reason,
            } => write!(
                f,
                "Bad file format reading the append only file {} at offset {offset}: {reason}. Make a backup of the file, then run 'broker-server check-aof --fix {}' to truncate it at the first bad record (everything after it is lost), and restart.",
                path.display(),
                path.display()
            ),
            LoadError::Interrupted => f.write_str("loading interrupted by shutdown"),
        }
    }
}

/// What a load read.
#[derive(Debug, Default, Clone, Copy)]
pub struct LoadReport {
    pub bytes: u64,
    pub keys: u64,
    pub records: u64,
    /// Bytes removed from a torn tail.
    pub truncated: u64,
    pub seconds: f64,
}

impl LoadReport {
    /// Load speed in MB/s.
    pub fn mb_per_second(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.seconds.max(1e-6)
    }
}

/// Progress for `INFO` while loading.
pub trait Progress {
    fn loaded(&self, bytes: u64);
}

fn io_error(path: &Path) -> impl Fn(io::Error) -> LoadError + '_ {
    move |error| LoadError::Io {
        path: path.to_path_buf(),
        error,
    }
}

fn inserter(keyspace: &Keyspace) -> impl FnMut(usize, &[u8], crate::store::Value, u64) + '_ {
    move |db, key, value, expire| {
        let mask = 1u64 << keyspace.shard_of(key);
        keyspace.lock(mask).db(db, 0).insert(key, value, expire);
    }
}

/// Loads a snapshot file into the keyspace.
pub fn load_snapshot(server: &Server, path: &Path) -> Result<LoadReport, LoadError> {
    let started = Instant::now();
    let file = File::open(path).map_err(io_error(path))?;
    let size = file.metadata().map_err(io_error(path))?.len();
    let mut input = Input::new(file, 0);
    let info = snapshot::read_snapshot(
        &mut input,
        server.keyspace.databases(),
        inserter(&server.keyspace),
    )
    .map_err(|error| snapshot_error(path, error))?;
    Ok(LoadReport {
        bytes: size,
        keys: info.keys,
        records: 0,
        truncated: 0,
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn snapshot_error(path: &Path, error: SnapshotError) -> LoadError {
    match error {
        SnapshotError::Io(error) => LoadError::Io {
            path: path.to_path_buf(),
            error,
        },
        SnapshotError::Corrupt { offset, reason } => LoadError::BadSnapshot {
            path: path.to_path_buf(),
            offset,
            reason,
        },
    }
}

/// Loads an append-only log (its snapshot base, then its records) into the keyspace.
/// A torn tail is truncated away, with a warning.
pub fn load_log(
    server: &Server,
    path: &Path,
    progress: &dyn Progress,
    key_load_delay: Duration,
) -> Result<LoadReport, LoadError> {
    let started = Instant::now();
    let mut file = File::open(path).map_err(io_error(path))?;
    let size = file.metadata().map_err(io_error(path))?.len();
    let mut report = LoadReport {
        bytes: size,
        ..LoadReport::default()
    };
    let mut magic = [0u8; 8];
    let has_base = {
        use std::io::Read;
        let mut read = 0;
        while read < magic.len() {
            match file.read(&mut magic[read..]).map_err(io_error(path))? {
                0 => break,
                n => read += n,
            }
        }
        read == magic.len() && &magic == MAGIC
    };
    file.seek(SeekFrom::Start(0)).map_err(io_error(path))?;
    let mut input = Input::new(file, 0);
    let mut clock = 0;
    if has_base {
        let info = snapshot::read_snapshot(
            &mut input,
            server.keyspace.databases(),
            inserter(&server.keyspace),
        )
        .map_err(|error| snapshot_error(path, error))?;
        report.keys = info.keys;
        clock = info.created_ms;
    }
    let mut replay = Replay::new(server, clock);
    let mut scanner = LogScanner::new(input);
    let mut since_check = 0u32;
    loop {
        let event = match scanner.next_event() {
            Ok(Some(event)) => event,
            Ok(None) => break,
            Err(ScanError::Io(error)) => return Err(io_error(path)(error)),
            Err(ScanError::Torn { offset, reason }) => {
                let removed = size - offset;
                tracing::warn!(
                    file = %path.display(),
                    offset,
                    removed,
                    "The append only file ends with a torn write ({reason}); truncating it at the last whole record. The removed bytes were never acknowledged."
                );
                truncate(path, offset).map_err(io_error(path))?;
                report.truncated = removed;
                break;
            }
            Err(ScanError::Corrupt { offset, reason, .. }) => {
                return Err(LoadError::BadLog {
                    path: path.to_path_buf(),
                    offset,
                    reason,
                });
            }
        };
        let (offset, event) = event;
        report.records += 1;
        replay.event(event).map_err(|reason| LoadError::BadLog {
            path: path.to_path_buf(),
            offset,
            reason,
        })?;
        since_check += 1;
        if !key_load_delay.is_zero() {
            std::thread::sleep(key_load_delay);
        }
        if since_check >= 4096 || !key_load_delay.is_zero() {
            since_check = 0;
            progress.loaded(scanner.offset());
            if server.shutdown.is_cancelled() {
                return Err(LoadError::Interrupted);
            }
        }
    }
    if replay.failures > 0 {
        tracing::warn!(
            failures = replay.failures,
            "some logged commands failed when replayed (they failed the same way when they ran)"
        );
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Shortens a file and makes that durable.
pub fn truncate(path: &Path, length: u64) -> io::Result<()> {
    let file = std::fs::OpenOptions::new().write(true).open(path)?;
    file.set_len(length)?;
    file.sync_all()
}

/// A step of a queued transaction.
enum Queued {
    Select(usize),
    Command(OwnedArgs),
}

/// Runs log records against the keyspace as a client would.
struct Replay<'s> {
    server: &'s Server,
    client: Client,
    out: Vec<u8>,
    effects: Effects,
    now_ms: u64,
    transaction: Option<Vec<Queued>>,
    failures: u64,
}

impl<'s> Replay<'s> {
    fn new(server: &'s Server, now_ms: u64) -> Self {
        let nowhere = std::net::SocketAddr::from(([0, 0, 0, 0], 0));
        let handle = Arc::new(ClientHandle::new(0, nowhere, nowhere));
        Replay {
            server,
            client: Client::new(handle, true),
            out: Vec::new(),
            effects: Effects::default(),
            now_ms,
            transaction: None,
            failures: 0,
        }
    }

    fn event(&mut self, event: Event<'_>) -> Result<(), String> {
        match event {
            Event::Time(ms) => self.now_ms = ms,
            Event::Select(db) => {
                let databases = self.server.keyspace.databases();
                if db >= databases as u64 {
                    return Err(format!(
                        "SELECT {db} is out of range (databases is {databases})"
                    ));
                }
                match self.transaction.as_mut() {
                    Some(queue) => queue.push(Queued::Select(db as usize)),
                    None => self.client.select(db as usize),
                }
            }
            Event::Multi => self.transaction = Some(Vec::new()),
            Event::Exec => {
                for step in self.transaction.take().unwrap_or_default() {
                    match step {
                        Queued::Select(db) => self.client.select(db),
                        Queued::Command(args) => self.run(args.args())?,
                    }
                }
            }
            Event::Command(args) => match self.transaction.as_mut() {
                Some(queue) => queue.push(Queued::Command(args.to_owned())),
                None => self.run(args)?,
            },
        }
        Ok(())
    }

    fn run(&mut self, args: Args<'_>) -> Result<(), String> {
        let spec = resolve(&args)?;
        let mut store = gate::lock_for(self.server, spec, &args)
            .map_err(|error| error.reply_text().into_owned())?;
        let (_, failed) = gate::run_handler(
            self.server,
            &mut self.client,
            &mut self.out,
            spec,
            args,
            &mut store,
            self.now_ms,
            &mut self.effects,
            false,
        );
        self.failures += u64::from(failed);
        self.out.clear();
        self.effects.ready_keys.clear();
        Ok(())
    }
}

/// The command (or subcommand) a record names.
fn resolve(args: &Args<'_>) -> Result<&'static CommandSpec, String> {
    let name = &args[0];
    let spec = CommandTable::get()
        .lookup(name)
        .ok_or_else(|| format!("unknown command '{}'", String::from_utf8_lossy(name)))?;
    if spec.subcommands.is_empty() || args.len() < 2 {
        return Ok(spec);
    }
    let sub = CommandTable::lookup_sub(spec, &args[1]).ok_or_else(|| {
        format!(
            "unknown subcommand '{}' of '{}'",
            String::from_utf8_lossy(&args[1]),
            spec.name
        )
    })?;
    if !sub.arity_ok(args.len()) {
        return Err(format!("wrong number of arguments for '{}'", spec.name));
    }
    Ok(sub)
}

/// Removes every key whose deadline has passed (keys that expired while the server
/// was down).
///
/// # Returns
/// How many were removed.
pub fn expire_all(keyspace: &Keyspace, now_ms: u64) -> u64 {
    let mut expired = 0;
    keyspace.for_each_shard(|_, shard| {
        let mut in_shard = 0;
        for db in shard.dbs.iter_mut() {
            // The sweep walks down from where it last stopped: two calls cover
            // every position whatever that was.
            for _ in 0..2 {
                if db.expiring() > 0 {
                    in_shard += db.sweep(now_ms, usize::MAX).1;
                }
            }
        }
        shard.stats.expired_keys += in_shard;
        expired += in_shard;
    });
    expired
}

/// Counts progress into atomics.
pub struct AtomicProgress<'a>(pub &'a std::sync::atomic::AtomicU64);

impl Progress for AtomicProgress<'_> {
    fn loaded(&self, bytes: u64) {
        self.0.store(bytes, Ordering::Relaxed);
    }
}

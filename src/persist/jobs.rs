//! Background jobs: snapshots (`BGSAVE`) and log rewrites (`BGREWRITEAOF`, automatic
//! compaction, turning the log on at run time), plus their synchronous forms.
//!
//! Both take a point-in-time copy of the dataset without stopping clients (see
//! [`crate::store::ShardCapture`]) and write it on their own thread. A rewrite's
//! new file is the copy (as a snapshot base) followed by every record appended since
//! the copy's instant (the tail, see [`crate::persist::log`]); it replaces the old
//! file only once it is complete and durable, so a crash at any point leaves one
//! whole log.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use parking_lot::Mutex;

use crate::persist::Inner;
use crate::persist::log::sync_parent_dir;
use crate::persist::snapshot::{SnapshotWriter, write_shard};
use crate::store::{SHARD_COUNT, Shard, ShardCapture};
use crate::util::clock::now_ms;

/// Stop draining the tail into the new file and switch once a drain is this small.
const SMALL_TAIL: usize = 64 * 1024;
/// ...or after this many drains.
const MAX_DRAINS: usize = 32;

/// A background job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    /// `BGSAVE`: a snapshot to `dbfilename`.
    Snapshot,
    /// A log rewrite (compaction).
    Rewrite,
    /// A rewrite that also turns the log on (`CONFIG SET appendonly yes`).
    Enable,
}

/// Collects shard copies as they are captured.
#[derive(Default)]
struct Sink {
    /// Keys whose deadline is at or before this instant are left out.
    cut_ms: AtomicU64,
    parts: Mutex<Vec<(Vec<u8>, u64)>>,
    /// Set when the job gave up: later captures copy nothing.
    abort: AtomicBool,
}

impl ShardCapture for Sink {
    fn capture(&self, _index: usize, shard: &Shard) {
        if self.abort.load(Ordering::Relaxed) {
            return;
        }
        let mut body = Vec::new();
        let keys = write_shard(&mut body, shard, self.cut_ms.load(Ordering::Relaxed));
        if !body.is_empty() {
            self.parts.lock().push((body, keys));
        }
    }
}

/// Runs a job to its end and records its outcome.
pub(crate) fn run(inner: Arc<Inner>, kind: JobKind) {
    let started = Instant::now();
    let result = match kind {
        JobKind::Snapshot => background_save(&inner),
        JobKind::Rewrite => rewrite(&inner, false),
        JobKind::Enable => rewrite(&inner, true),
    };
    let seconds = started.elapsed().as_secs();
    match &result {
        Ok(size) => tracing::info!(?kind, bytes = size, seconds, "Background job done"),
        Err(error) => tracing::warn!(?kind, %error, "Background job failed"),
    }
    inner.job_finished(kind, result.is_ok(), seconds);
}

/// Writes every captured shard into `writer`, walking the shards in order. On
/// return every shard has been captured (or skipped after an error), so the capture
/// is over whatever happened.
fn write_capture<W: Write>(
    inner: &Inner,
    sink: &Sink,
    writer: &mut SnapshotWriter<W>,
) -> io::Result<()> {
    let mut result = Ok(());
    for index in 0..SHARD_COUNT {
        if result.is_ok() && inner.cancelled() {
            result = Err(io::Error::other("cancelled"));
        }
        if result.is_err() {
            sink.abort.store(true, Ordering::Relaxed);
        }
        inner.keyspace.settle_shard(index);
        let parts = std::mem::take(&mut *sink.parts.lock());
        if result.is_ok() {
            for (body, keys) in parts {
                if let Err(error) = writer.write_records(&body, keys) {
                    result = Err(error);
                    break;
                }
            }
        }
    }
    result
}

/// Creates a temporary file next to `path`.
fn temp_file(path: &Path, what: &str) -> io::Result<(File, PathBuf)> {
    let name = format!("temp-{what}-{}.tmp", std::process::id());
    let tmp = path
        .parent()
        .map_or_else(|| PathBuf::from(&name), |dir| dir.join(&name));
    let file = File::create(&tmp)?;
    Ok((file, tmp))
}

/// Moves a complete, synced temporary file into place.
fn install(tmp: &Path, path: &Path) -> io::Result<()> {
    std::fs::rename(tmp, path)?;
    sync_parent_dir(path)
}

fn background_save(inner: &Arc<Inner>) -> io::Result<u64> {
    let path = inner.snapshot_path();
    let (file, tmp) = temp_file(&path, "bgsave")?;
    let sink = Arc::new(Sink::default());
    let capture: Arc<dyn ShardCapture> = sink.clone();
    let (cut_ms, dirty_at_cut) = inner.keyspace.begin_capture(capture, || {
        let now = now_ms();
        sink.cut_ms.store(now, Ordering::Relaxed);
        (now, inner.changes())
    });
    let result = (|| {
        let mut writer = SnapshotWriter::new(BufWriter::with_capacity(1 << 20, file), cut_ms)?;
        write_capture(inner, &sink, &mut writer)?;
        let (out, size) = writer.finish()?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        install(&tmp, &path)?;
        Ok(size)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    } else {
        inner.saved(cut_ms, dirty_at_cut);
    }
    result
}

fn rewrite(inner: &Arc<Inner>, enable: bool) -> io::Result<u64> {
    let path = inner.log_path();
    let (file, tmp) = temp_file(&path, "rewriteaof")?;
    if enable {
        // Records start flowing at the cut; until the switch they only go to the tail.
        inner.log.start(None, 0, false);
    }
    let sink = Arc::new(Sink::default());
    let capture: Arc<dyn ShardCapture> = sink.clone();
    let cut_ms = inner.keyspace.begin_capture(capture, || {
        let now = now_ms();
        sink.cut_ms.store(now, Ordering::Relaxed);
        inner.log.begin_tee(enable);
        now
    });
    let result = (|| {
        let mut writer = SnapshotWriter::new(BufWriter::with_capacity(1 << 20, file), cut_ms)?;
        write_capture(inner, &sink, &mut writer)?;
        let (out, _) = writer.finish()?;
        let mut file = out.into_inner().map_err(|e| e.into_error())?;
        for _ in 0..MAX_DRAINS {
            if inner.cancelled() {
                return Err(io::Error::other("cancelled"));
            }
            let tail = inner.log.take_tail();
            file.write_all(&tail)?;
            if tail.len() < SMALL_TAIL {
                break;
            }
        }
        file.sync_all()?;
        inner.log.switch_to(file, tmp.clone(), path.clone())
    })();
    if result.is_err() {
        inner.log.abort_tee();
        let _ = std::fs::remove_file(&tmp);
        if enable {
            inner.log.stop();
        }
    }
    result
}

/// Writes a snapshot of `shards` (already locked, or otherwise quiet) to `path`,
/// synchronously: `SAVE`, shutdown, and the first base of a new log.
///
/// # Returns
/// The file's size.
pub fn save_shards<'s>(
    path: &Path,
    shards: impl Iterator<Item = &'s Shard>,
    now: u64,
) -> io::Result<u64> {
    let (file, tmp) = temp_file(path, "save")?;
    let result = (|| {
        let mut writer = SnapshotWriter::new(BufWriter::with_capacity(1 << 20, file), now)?;
        let mut body = Vec::new();
        for shard in shards {
            body.clear();
            let keys = write_shard(&mut body, shard, now);
            writer.write_records(&body, keys)?;
        }
        let (out, size) = writer.finish()?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        install(&tmp, path)?;
        Ok(size)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

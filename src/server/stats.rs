//! Server-wide counters reported by `INFO` and reset by `CONFIG RESETSTAT`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Buckets of a [`Histogram`].
pub const HISTOGRAM_BUCKETS: usize = 21;

/// How long one command's calls took, counted in power-of-two buckets
/// (`LATENCY HISTOGRAM`).
///
/// Redis 7.0 keeps an HDR histogram per command (two significant digits, from 1 ns
/// to 1 s) of each call's whole microseconds times 1000, and reports it at 1024 ns,
/// 2048 ns, 4096 ns... Each report point stands for every value the histogram cannot
/// tell apart from it, up to `1032 * 2^k - 1` ns, and is printed in whole
/// microseconds: 1, 2, 4, 8, 16, 33, 66, 132... Counting each call in the first
/// bucket whose bound holds it gives the same figures without the histogram.
pub struct Histogram {
    buckets: [AtomicU64; HISTOGRAM_BUCKETS],
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

impl Histogram {
    /// Counts a call that took `usec` microseconds.
    #[inline]
    pub fn record(&self, usec: u64) {
        self.buckets[histogram_bucket(usec)].fetch_add(1, Ordering::Relaxed);
    }

    /// Calls counted.
    pub fn total(&self) -> u64 {
        self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).sum()
    }

    /// For each bucket holding calls: its bound in microseconds and the calls up
    /// to it (a cumulative distribution, as `LATENCY HISTOGRAM` prints it).
    pub fn cumulative(&self) -> Vec<(u64, u64)> {
        let mut total = 0;
        let mut points = Vec::new();
        for (k, bucket) in self.buckets.iter().enumerate() {
            let count = bucket.load(Ordering::Relaxed);
            if count > 0 {
                total += count;
                points.push((((1032u64 << k) - 1) / 1000, total));
            }
        }
        points
    }

    fn reset(&self) {
        self.buckets
            .iter()
            .for_each(|b| b.store(0, Ordering::Relaxed));
    }
}

/// The bucket of a call that took `usec` microseconds: the first `k` with
/// `ns < 1032 * 2^k`, where `ns` is the time in nanoseconds kept within Redis's
/// histogram range (1 ns to 1 s).
fn histogram_bucket(usec: u64) -> usize {
    let ns = usec.saturating_mul(1000).clamp(1, 1_000_000_000);
    (u64::BITS - (ns / 1032).leading_zeros()) as usize
}

/// Calls, time and failures of one command or subcommand (`INFO commandstats`),
/// and the distribution of its durations (`LATENCY HISTOGRAM`).
#[derive(Default)]
pub struct CommandStat {
    pub calls: AtomicU64,
    pub usec: AtomicU64,
    pub rejected: AtomicU64,
    pub failed: AtomicU64,
    pub histogram: Histogram,
}

impl CommandStat {
    pub fn record_call(&self, usec: u64, failed: bool) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.usec.fetch_add(usec, Ordering::Relaxed);
        if failed {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn record_rejected(&self) {
        self.rejected.fetch_add(1, Ordering::Relaxed);
    }

    fn reset(&self) {
        for counter in [&self.calls, &self.usec, &self.rejected, &self.failed] {
            counter.store(0, Ordering::Relaxed);
        }
        self.histogram.reset();
    }
}

/// Counters shared by every connection.
pub struct Stats {
    pub connections_received: AtomicU64,
    pub rejected_connections: AtomicU64,
    pub net_input_bytes: AtomicU64,
    pub net_output_bytes: AtomicU64,
    /// `latency-tracking`: whether calls are counted in the histograms.
    latency_tracking: AtomicBool,
    commands: Box<[CommandStat]>,
}

impl Stats {
    /// Counters for a command table of `commands` entries.
    pub fn new(commands: usize) -> Self {
        Stats {
            connections_received: AtomicU64::new(0),
            rejected_connections: AtomicU64::new(0),
            net_input_bytes: AtomicU64::new(0),
            net_output_bytes: AtomicU64::new(0),
            latency_tracking: AtomicBool::new(true),
            commands: (0..commands).map(|_| CommandStat::default()).collect(),
        }
    }

    /// Takes a new `latency-tracking`.
    pub fn set_latency_tracking(&self, on: bool) {
        self.latency_tracking.store(on, Ordering::Relaxed);
    }

    /// Whether calls are counted in the latency histograms.
    #[inline]
    pub fn latency_tracking(&self) -> bool {
        self.latency_tracking.load(Ordering::Relaxed)
    }

    pub fn command(&self, index: usize) -> &CommandStat {
        &self.commands[index]
    }

    pub fn commands(&self) -> impl Iterator<Item = (usize, &CommandStat)> {
        self.commands.iter().enumerate()
    }

    /// Total commands processed.
    pub fn total_commands(&self) -> u64 {
        self.commands
            .iter()
            .map(|c| c.calls.load(Ordering::Relaxed))
            .sum()
    }

    pub fn reset(&self) {
        for counter in [
            &self.connections_received,
            &self.rejected_connections,
            &self.net_input_bytes,
            &self.net_output_bytes,
        ] {
            counter.store(0, Ordering::Relaxed);
        }
        self.commands.iter().for_each(CommandStat::reset);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_match_redis_report_points() {
        // Report points, in microseconds, of Redis's histogram.
        let bounds: Vec<u64> = (0..HISTOGRAM_BUCKETS)
            .map(|k| ((1032u64 << k) - 1) / 1000)
            .collect();
        assert_eq!(&bounds[..8], [1, 2, 4, 8, 16, 33, 66, 132]);
        assert_eq!(bounds[HISTOGRAM_BUCKETS - 1], 1_082_130);
        assert_eq!(histogram_bucket(0), 0);
        assert_eq!(histogram_bucket(1), 0);
        assert_eq!(histogram_bucket(2), 1);
        assert_eq!(histogram_bucket(8), 3);
        assert_eq!(histogram_bucket(9), 4);
        assert_eq!(histogram_bucket(33), 5);
        assert_eq!(histogram_bucket(34), 6);
        // Anything past a second is counted at the last point.
        assert_eq!(histogram_bucket(u64::MAX), HISTOGRAM_BUCKETS - 1);
    }

    #[test]
    fn cumulative_counts_skip_empty_buckets() {
        let histogram = Histogram::default();
        for usec in [0, 1, 5, 5, 7, 100] {
            histogram.record(usec);
        }
        assert_eq!(histogram.total(), 6);
        assert_eq!(histogram.cumulative(), [(1, 2), (8, 5), (132, 6)]);
        histogram.reset();
        assert_eq!(histogram.total(), 0);
        assert!(histogram.cumulative().is_empty());
    }
}

//! Server-wide counters reported by `INFO` and reset by `CONFIG RESETSTAT`.
//!
//! # Stripes
//! Every command adds to its counters, from whichever core runs it. Counters that
//! every core adds to would bounce their cache lines between cores on each command,
//! so the per-command counters and the network byte counts are kept in *stripes*:
//! each thread adds to its own stripe (one per core, see [`Stats::new`]), and
//! readers (`INFO`, `LATENCY HISTOGRAM`) sum the stripes.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

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

    fn add_to(&self, counts: &mut HistogramCounts) {
        for (sum, bucket) in counts.0.iter_mut().zip(&self.buckets) {
            *sum += bucket.load(Ordering::Relaxed);
        }
    }

    fn reset(&self) {
        self.buckets
            .iter()
            .for_each(|b| b.store(0, Ordering::Relaxed));
    }
}

/// A histogram's buckets as read (summed over the stripes).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct HistogramCounts([u64; HISTOGRAM_BUCKETS]);

impl HistogramCounts {
    /// Calls counted.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// For each bucket holding calls: its bound in microseconds and the calls up
    /// to it (a cumulative distribution, as `LATENCY HISTOGRAM` prints it).
    pub fn cumulative(&self) -> Vec<(u64, u64)> {
        let mut total = 0;
        let mut points = Vec::new();
        for (k, &count) in self.0.iter().enumerate() {
            if count > 0 {
                total += count;
                points.push((((1032u64 << k) - 1) / 1000, total));
            }
        }
        points
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
/// and the distribution of its durations (`LATENCY HISTOGRAM`), as counted by the
/// threads of one stripe.
#[derive(Default)]
pub struct CommandStat {
    calls: AtomicU64,
    usec: AtomicU64,
    rejected: AtomicU64,
    failed: AtomicU64,
    histogram: Histogram,
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

    /// Counts a call's duration in the histogram (`latency-tracking`).
    pub fn record_latency(&self, usec: u64) {
        self.histogram.record(usec);
    }

    fn add_to(&self, totals: &mut CommandTotals) {
        totals.calls += self.calls.load(Ordering::Relaxed);
        totals.usec += self.usec.load(Ordering::Relaxed);
        totals.rejected += self.rejected.load(Ordering::Relaxed);
        totals.failed += self.failed.load(Ordering::Relaxed);
        self.histogram.add_to(&mut totals.histogram);
    }

    fn reset(&self) {
        for counter in [&self.calls, &self.usec, &self.rejected, &self.failed] {
            counter.store(0, Ordering::Relaxed);
        }
        self.histogram.reset();
    }
}

/// One command's counters, summed over the stripes.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct CommandTotals {
    pub calls: u64,
    pub usec: u64,
    pub rejected: u64,
    pub failed: u64,
    pub histogram: HistogramCounts,
}

/// The counters one group of threads adds to. Aligned so that two stripes never
/// share a cache line.
#[repr(align(128))]
struct Stripe {
    net_input_bytes: AtomicU64,
    net_output_bytes: AtomicU64,
    commands: Box<[CommandStat]>,
}

/// The stripe number of the current thread, handed out in turn on first use.
fn thread_stripe() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static STRIPE: Cell<usize> = const { Cell::new(usize::MAX) };
    }
    STRIPE.with(|stripe| {
        if stripe.get() == usize::MAX {
            stripe.set(NEXT.fetch_add(1, Ordering::Relaxed));
        }
        stripe.get()
    })
}

/// Counters shared by every connection.
pub struct Stats {
    pub connections_received: AtomicU64,
    pub rejected_connections: AtomicU64,
    /// `latency-tracking`: whether calls are counted in the histograms.
    latency_tracking: AtomicBool,
    /// A power of two in number, so a thread's stripe is a mask away.
    stripes: Box<[Stripe]>,
}

impl Stats {
    /// Counters for a command table of `commands` entries, in one stripe per core
    /// (rounded up to a power of two, at most 64).
    pub fn new(commands: usize) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::with_stripes(commands, cores.clamp(1, 64).next_power_of_two())
    }

    fn with_stripes(commands: usize, stripes: usize) -> Self {
        debug_assert!(stripes.is_power_of_two());
        Stats {
            connections_received: AtomicU64::new(0),
            rejected_connections: AtomicU64::new(0),
            latency_tracking: AtomicBool::new(true),
            stripes: (0..stripes)
                .map(|_| Stripe {
                    net_input_bytes: AtomicU64::new(0),
                    net_output_bytes: AtomicU64::new(0),
                    commands: (0..commands).map(|_| CommandStat::default()).collect(),
                })
                .collect(),
        }
    }

    /// The current thread's stripe.
    #[inline]
    fn stripe(&self) -> &Stripe {
        &self.stripes[thread_stripe() & (self.stripes.len() - 1)]
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

    /// Where the current thread counts the calls of command `index`.
    #[inline]
    pub fn command(&self, index: usize) -> &CommandStat {
        &self.stripe().commands[index]
    }

    /// Command `index`'s counters, summed over the stripes.
    pub fn command_totals(&self, index: usize) -> CommandTotals {
        let mut totals = CommandTotals::default();
        for stripe in self.stripes.iter() {
            stripe.commands[index].add_to(&mut totals);
        }
        totals
    }

    /// Every command's counters, summed over the stripes, by index.
    pub fn commands(&self) -> impl Iterator<Item = (usize, CommandTotals)> + '_ {
        let count = self.stripes[0].commands.len();
        (0..count).map(|index| (index, self.command_totals(index)))
    }

    /// Total commands processed.
    pub fn total_commands(&self) -> u64 {
        self.stripes
            .iter()
            .flat_map(|stripe| stripe.commands.iter())
            .map(|c| c.calls.load(Ordering::Relaxed))
            .sum()
    }

    /// Counts bytes read from clients.
    #[inline]
    pub fn add_net_input(&self, bytes: usize) {
        self.stripe()
            .net_input_bytes
            .fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// Counts bytes written to clients.
    #[inline]
    pub fn add_net_output(&self, bytes: usize) {
        self.stripe()
            .net_output_bytes
            .fetch_add(bytes as u64, Ordering::Relaxed);
    }

    pub fn net_input_bytes(&self) -> u64 {
        self.sum(|stripe| &stripe.net_input_bytes)
    }

    pub fn net_output_bytes(&self) -> u64 {
        self.sum(|stripe| &stripe.net_output_bytes)
    }

    fn sum(&self, counter: impl Fn(&Stripe) -> &AtomicU64) -> u64 {
        self.stripes
            .iter()
            .map(|stripe| counter(stripe).load(Ordering::Relaxed))
            .sum()
    }

    pub fn reset(&self) {
        self.connections_received.store(0, Ordering::Relaxed);
        self.rejected_connections.store(0, Ordering::Relaxed);
        for stripe in self.stripes.iter() {
            stripe.net_input_bytes.store(0, Ordering::Relaxed);
            stripe.net_output_bytes.store(0, Ordering::Relaxed);
            stripe.commands.iter().for_each(CommandStat::reset);
        }
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
        let mut counts = HistogramCounts::default();
        histogram.add_to(&mut counts);
        assert_eq!(counts.total(), 6);
        assert_eq!(counts.cumulative(), [(1, 2), (8, 5), (132, 6)]);
        histogram.reset();
        let mut counts = HistogramCounts::default();
        histogram.add_to(&mut counts);
        assert_eq!(counts.total(), 0);
        assert!(counts.cumulative().is_empty());
    }

    #[test]
    fn threads_count_in_their_own_stripes_and_readers_sum_them() {
        let stats = Stats::with_stripes(3, 4);
        std::thread::scope(|scope| {
            for _ in 0..6 {
                scope.spawn(|| {
                    for _ in 0..1000 {
                        stats.command(1).record_call(2, false);
                        stats.command(1).record_latency(2);
                        stats.add_net_input(10);
                    }
                    stats.command(2).record_rejected();
                    stats.command(2).record_call(5, true);
                    stats.add_net_output(3);
                });
            }
        });
        let get = stats.command_totals(1);
        assert_eq!((get.calls, get.usec, get.failed), (6000, 12000, 0));
        assert_eq!(get.histogram.cumulative(), [(2, 6000)]);
        let other = stats.command_totals(2);
        assert_eq!((other.calls, other.rejected, other.failed), (6, 6, 6));
        assert_eq!(stats.total_commands(), 6006);
        assert_eq!(
            (stats.net_input_bytes(), stats.net_output_bytes()),
            (60_000, 18)
        );
        let listed: Vec<u64> = stats.commands().map(|(_, totals)| totals.calls).collect();
        assert_eq!(listed, [0, 6000, 6]);
        stats.reset();
        assert_eq!(stats.command_totals(1), CommandTotals::default());
        assert_eq!((stats.total_commands(), stats.net_input_bytes()), (0, 0));
    }
}

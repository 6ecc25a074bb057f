//! The latency monitor: for each kind of event that took at least
//! `latency-monitor-threshold` milliseconds, its latest samples (`LATENCY LATEST`,
//! `HISTORY`, `GRAPH`, `DOCTOR`).
//!
//! # Events, as Redis 7.0 names them
//! * `command`, `fast-command`: a command (one flagged `fast`) that ran that long;
//!   measured by the gate, with the same figure as `INFO commandstats`.
//! * `expire-cycle`: an active-expiry sweep step.
//! * `aof-write`, `aof-fsync-always`, `aof-rename`: the append-only log's `write`,
//!   its `fdatasync` under `appendfsync always`, and the rename that ends a rewrite.
//!
//! # Samples
//! Each event keeps [`HISTORY_LEN`] samples, one per second: a sample in the same
//! second as the previous one only raises it to the larger latency. The event also
//! keeps its all-time maximum. `LATENCY RESET` forgets events entirely.
//!
//! # Cost
//! With the monitor off (threshold 0), [`LatencyMonitor::sample`] is one relaxed
//! atomic load; callers that would have to read the clock to measure check
//! [`LatencyMonitor::enabled`] first. The lock is taken only to record a sample that
//! passed the threshold, or to report.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use parking_lot::Mutex;

/// Samples kept per event.
pub const HISTORY_LEN: usize = 160;

/// One second's worst latency for an event.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sample {
    /// Unix seconds; 0 marks an unused slot.
    pub time: u64,
    pub latency_ms: u64,
}

/// An event's samples: a ring of [`HISTORY_LEN`] slots.
#[derive(Debug, Clone)]
pub struct Series {
    samples: [Sample; HISTORY_LEN],
    /// The slot the next second's sample goes to.
    next: usize,
    /// The largest latency ever recorded (until reset).
    max_ms: u64,
}

impl Default for Series {
    fn default() -> Self {
        Series {
            samples: [Sample::default(); HISTORY_LEN],
            next: 0,
            max_ms: 0,
        }
    }
}

impl Series {
    /// Records `latency_ms` at Unix second `now_s`, merged into the previous sample
    /// when that one is from the same second.
    pub fn add(&mut self, now_s: u64, latency_ms: u64) {
        self.max_ms = self.max_ms.max(latency_ms);
        let previous = &mut self.samples[(self.next + HISTORY_LEN - 1) % HISTORY_LEN];
        if previous.time == now_s {
            previous.latency_ms = previous.latency_ms.max(latency_ms);
            return;
        }
        self.samples[self.next] = Sample {
            time: now_s,
            latency_ms,
        };
        self.next = (self.next + 1) % HISTORY_LEN;
    }

    /// The most recent sample.
    pub fn latest(&self) -> Sample {
        self.samples[(self.next + HISTORY_LEN - 1) % HISTORY_LEN]
    }

    pub fn max_ms(&self) -> u64 {
        self.max_ms
    }

    /// The samples kept, oldest first.
    pub fn history(&self) -> impl Iterator<Item = Sample> + '_ {
        (0..HISTORY_LEN)
            .map(|i| self.samples[(self.next + i) % HISTORY_LEN])
            .filter(|sample| sample.time != 0)
    }

    /// Figures over the samples kept, at Unix second `now_s` (`LATENCY DOCTOR`).
    pub fn summary(&self, now_s: u64) -> Summary {
        let samples: Vec<u64> = self.history().map(|s| s.latency_ms).collect();
        let count = samples.len() as u64;
        if count == 0 {
            return Summary::default();
        }
        let average = samples.iter().sum::<u64>() / count;
        let deviation = samples.iter().map(|s| s.abs_diff(average)).sum::<u64>() / count;
        let oldest = self.history().map(|s| s.time).min().unwrap_or(now_s);
        Summary {
            samples: count,
            average_ms: average,
            mean_deviation_ms: deviation,
            min_ms: samples.iter().copied().min().unwrap_or(0),
            max_ms: samples.iter().copied().max().unwrap_or(0),
            period_s: now_s.saturating_sub(oldest).max(1),
        }
    }

    /// An ASCII graph of the samples kept, as `LATENCY GRAPH` draws it (see
    /// [`sparkline`]), at Unix second `now_s`.
    pub fn graph(&self, event: &str, now_s: u64) -> String {
        let samples: Vec<(u64, String)> = self
            .history()
            .map(|s| (s.latency_ms, age_label(now_s.saturating_sub(s.time))))
            .collect();
        let high = samples.iter().map(|s| s.0).max().unwrap_or(0);
        let low = samples.iter().map(|s| s.0).min().unwrap_or(0);
        let mut graph = format!(
            "{event} - high {high} ms, low {low} ms (all time high {} ms)\n",
            self.max_ms
        );
        graph.push_str(&"-".repeat(GRAPH_COLUMNS));
        graph.push('\n');
        graph.push_str(&sparkline(&samples, GRAPH_COLUMNS, GRAPH_ROWS));
        graph
    }
}

/// What `LATENCY DOCTOR` reports for an event.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub samples: u64,
    /// Integer mean of the samples.
    pub average_ms: u64,
    /// Integer mean of the distances from `average_ms`.
    pub mean_deviation_ms: u64,
    pub min_ms: u64,
    pub max_ms: u64,
    /// Seconds from the oldest sample to now (at least 1).
    pub period_s: u64,
}

const GRAPH_COLUMNS: usize = 80;
const GRAPH_ROWS: usize = 4;

/// How long ago a sample was, as a graph's column label: seconds, then minutes,
/// hours and days.
fn age_label(seconds: u64) -> String {
    match seconds {
        0..60 => format!("{seconds}s"),
        60..3600 => format!("{}m", seconds / 60),
        3600..86400 => format!("{}h", seconds / 3600),
        _ => format!("{}d", seconds / 86400),
    }
}

/// Draws `samples` (value, label) as columns `rows` high, in blocks of at most
/// `columns`; each column's label is written downwards beneath it, after a blank
/// line.
///
/// A column's height is its value's place between the smallest and the largest
/// value, in `3 * rows` steps; the top character of a column is `_`, `o` or `#` by
/// its step within the row, and the rows below it are filled with `|`. This is the
/// layout Redis's `LATENCY GRAPH` prints, so tools that show it keep working.
fn sparkline(samples: &[(u64, String)], columns: usize, rows: usize) -> String {
    const MARKS: [u8; 3] = *b"_o#";
    let low = samples.iter().map(|s| s.0).min().unwrap_or(0);
    let high = samples.iter().map(|s| s.0).max().unwrap_or(0);
    let range = match high - low {
        0 => 1.0,
        range => range as f64,
    };
    let steps = (MARKS.len() * rows) as i64;
    let mut out = String::new();
    for (block, chunk) in samples.chunks(columns).enumerate() {
        if block > 0 {
            out.push('\n');
        }
        let heights: Vec<i64> = chunk
            .iter()
            .map(|(value, _)| {
                // Scaled, truncated to a whole number, then divided: Redis's order.
                let scaled = ((value - low) as f64 * steps as f64) as i64;
                ((scaled as f64 / range) as i64).clamp(0, steps - 1)
            })
            .collect();
        for row in 0..rows {
            let floor = ((rows - row - 1) * MARKS.len()) as i64;
            let line: String = heights
                .iter()
                .map(|&height| match height - floor {
                    mark @ 0..=2 => MARKS[mark as usize] as char,
                    3.. => '|',
                    _ => ' ',
                })
                .collect();
            out.push_str(&line);
            out.push('\n');
        }
        if chunk.is_empty() {
            continue;
        }
        out.push_str(&" ".repeat(chunk.len()));
        out.push('\n');
        for position in 0.. {
            if chunk.iter().all(|(_, label)| label.len() <= position) {
                break;
            }
            let line: String = chunk
                .iter()
                .map(|(_, label)| label.as_bytes().get(position).map_or(' ', |&b| b as char))
                .collect();
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

/// The monitor, shared by every connection and the background work.
#[derive(Debug)]
pub struct LatencyMonitor {
    /// `latency-monitor-threshold` in milliseconds; 0 is off.
    threshold_ms: AtomicU64,
    /// Events in the order they first occurred (`LATENCY LATEST` lists them so).
    events: Mutex<Vec<(&'static str, Series)>>,
}

impl LatencyMonitor {
    pub fn new(threshold_ms: u64) -> Self {
        LatencyMonitor {
            threshold_ms: AtomicU64::new(threshold_ms),
            events: Mutex::new(Vec::new()),
        }
    }

    /// Takes a new `latency-monitor-threshold`.
    pub fn configure(&self, threshold_ms: u64) {
        self.threshold_ms.store(threshold_ms, Ordering::Relaxed);
    }

    pub fn threshold_ms(&self) -> u64 {
        self.threshold_ms.load(Ordering::Relaxed)
    }

    /// Whether samples are recorded at all; check it before reading a clock.
    #[inline]
    pub fn enabled(&self) -> bool {
        self.threshold_ms() != 0
    }

    /// Records that `event` took `latency_ms`, if the monitor is on and that is at
    /// least the threshold.
    #[inline]
    pub fn sample(&self, event: &'static str, latency_ms: u64) {
        let threshold = self.threshold_ms();
        if threshold != 0 && latency_ms >= threshold {
            self.add(event, latency_ms, crate::util::clock::now_ms() / 1000);
        }
    }

    /// Starts timing an event: the clock is read only when the monitor is on.
    #[inline]
    pub fn start(&self) -> Option<Instant> {
        self.enabled().then(Instant::now)
    }

    /// Ends the timing [`start`](Self::start) began, recording `event` if it took
    /// at least the threshold.
    #[inline]
    pub fn finish(&self, event: &'static str, started: Option<Instant>) {
        if let Some(started) = started {
            self.sample(event, started.elapsed().as_millis() as u64);
        }
    }

    /// Records a sample unconditionally, at Unix second `now_s`.
    pub fn add(&self, event: &'static str, latency_ms: u64, now_s: u64) {
        let mut events = self.events.lock();
        match events.iter_mut().find(|(name, _)| *name == event) {
            Some((_, series)) => series.add(now_s, latency_ms),
            None => {
                let mut series = Series::default();
                series.add(now_s, latency_ms);
                events.push((event, series));
            }
        }
    }

    /// Every event with its series (a copy, taken under the lock).
    pub fn events(&self) -> Vec<(&'static str, Series)> {
        self.events.lock().clone()
    }

    /// The series of `event` (the exact name, case included), if it has one.
    pub fn series(&self, event: &[u8]) -> Option<(&'static str, Series)> {
        self.events
            .lock()
            .iter()
            .find(|(name, _)| name.as_bytes() == event)
            .cloned()
    }

    /// Forgets the events named in `names` (case-insensitively), or every event when
    /// `names` is empty.
    ///
    /// # Returns
    /// How many events were forgotten.
    pub fn reset(&self, names: &[&[u8]]) -> usize {
        let mut events = self.events.lock();
        let before = events.len();
        if names.is_empty() {
            events.clear();
        } else {
            events.retain(|(event, _)| {
                !names
                    .iter()
                    .any(|name| name.eq_ignore_ascii_case(event.as_bytes()))
            });
        }
        before - events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.lock().is_empty()
    }
}

/// `LATENCY DOCTOR`'s report at Unix second `now_s`: each event's figures, and what
/// the events suggest looking at.
pub fn doctor_report(monitor: &LatencyMonitor, slowlog_threshold_us: i64, now_s: u64) -> String {
    let events = monitor.events();
    if events.is_empty() {
        return if monitor.enabled() {
            format!(
                "No latency event has reached the threshold of {} ms since the monitor was started or reset.\n",
                monitor.threshold_ms()
            )
        } else {
            "The latency monitor is off, and no event was recorded. Turn it on with \"CONFIG SET latency-monitor-threshold <milliseconds>\".\n".into()
        };
    }
    let mut report = String::from("Latency events recorded by broker-server:\n\n");
    let mut commands = false;
    let mut log_io = false;
    let mut expiry = false;
    for (number, (event, series)) in events.iter().enumerate() {
        let summary = series.summary(now_s);
        let _ = writeln!(
            report,
            "{}. {event}: {} spikes (average {}ms, mean deviation {}ms, one every {:.2} sec). Worst ever: {}ms.",
            number + 1,
            summary.samples,
            summary.average_ms,
            summary.mean_deviation_ms,
            summary.period_s as f64 / summary.samples.max(1) as f64,
            series.max_ms(),
        );
        match *event {
            "command" | "fast-command" => commands = true,
            "expire-cycle" => expiry = true,
            name if name.starts_with("aof-") => log_io = true,
            _ => {}
        }
    }
    report.push_str("\nWhere to look:\n\n");
    if commands {
        if slowlog_threshold_us < 0 {
            report.push_str("- Slow commands were seen but the slow log is off: set slowlog-log-slower-than (in microseconds) and read SLOWLOG GET.\n");
        } else {
            report.push_str("- SLOWLOG GET lists the slowest commands with their arguments. Commands over large values (SMEMBERS, LRANGE 0 -1, KEYS) take time in proportion to their size.\n");
        }
    }
    if expiry {
        report.push_str("- The active-expiry sweep found many keys to reclaim at once; keys given the same deadline expire together.\n");
    }
    if log_io {
        report.push_str("- Writing or syncing the append-only log was slow: check the disk's load and speed, or consider appendfsync everysec.\n");
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_in_one_second_keep_the_largest() {
        let mut series = Series::default();
        series.add(100, 5);
        series.add(100, 3);
        series.add(100, 9);
        assert_eq!(
            series.latest(),
            Sample {
                time: 100,
                latency_ms: 9
            }
        );
        series.add(101, 2);
        assert_eq!(series.history().count(), 2);
        assert_eq!(series.latest().latency_ms, 2);
        assert_eq!(series.max_ms(), 9);
    }

    #[test]
    fn history_keeps_the_last_160_seconds_oldest_first() {
        let mut series = Series::default();
        for second in 1..=200 {
            series.add(second, second);
        }
        let history: Vec<u64> = series.history().map(|s| s.time).collect();
        assert_eq!(history.len(), HISTORY_LEN);
        assert_eq!(history[0], 41);
        assert_eq!(history[HISTORY_LEN - 1], 200);
        assert_eq!(series.max_ms(), 200);
    }

    #[test]
    fn the_threshold_filters_and_zero_turns_it_off() {
        let monitor = LatencyMonitor::new(0);
        monitor.sample("command", 1_000);
        assert!(monitor.is_empty());
        monitor.configure(10);
        monitor.sample("command", 9);
        assert!(monitor.is_empty());
        monitor.sample("command", 10);
        monitor.sample("expire-cycle", 50);
        let events: Vec<&str> = monitor.events().iter().map(|(e, _)| *e).collect();
        assert_eq!(events, ["command", "expire-cycle"]);
    }

    #[test]
    fn reset_by_name_ignores_case_but_lookup_does_not() {
        let monitor = LatencyMonitor::new(1);
        monitor.add("command", 5, 10);
        monitor.add("fast-command", 5, 10);
        monitor.add("expire-cycle", 5, 10);
        assert!(monitor.series(b"COMMAND").is_none());
        assert!(monitor.series(b"command").is_some());
        assert_eq!(monitor.reset(&[b"COMMAND", b"nosuch"]), 1);
        assert_eq!(monitor.reset(&[]), 2);
        assert!(monitor.is_empty());
    }

    #[test]
    fn summary_figures() {
        let mut series = Series::default();
        series.add(100, 10);
        series.add(101, 20);
        series.add(102, 60);
        let summary = series.summary(110);
        assert_eq!(summary.samples, 3);
        assert_eq!(summary.average_ms, 30);
        // |30-10| + |30-20| + |30-60| = 60, over 3.
        assert_eq!(summary.mean_deviation_ms, 20);
        assert_eq!(summary.period_s, 10);
        assert_eq!(Series::default().summary(5), Summary::default());
    }

    #[test]
    fn graph_of_one_sample() {
        let mut series = Series::default();
        series.add(1_000, 5);
        let expected = format!(
            "command - high 5 ms, low 5 ms (all time high 5 ms)\n{}\n \n \n \n_\n \n3\ns\n",
            "-".repeat(80)
        );
        assert_eq!(series.graph("command", 1_003), expected);
    }

    #[test]
    fn graph_scales_between_low_and_high() {
        let samples: Vec<(u64, String)> = [0u64, 4, 8, 12]
            .iter()
            .map(|&v| (v, "10s".to_string()))
            .collect();
        // Steps out of 12: 0, 4, 8, 11 (the top is clamped to the last step).
        assert_eq!(
            sparkline(&samples, 80, 4),
            "   #\n  #|\n o||\n_|||\n    \n1111\n0000\nssss\n"
        );
    }

    #[test]
    fn graphs_wider_than_80_columns_continue_below() {
        let samples: Vec<(u64, String)> = (0..81).map(|_| (1, "1m".to_string())).collect();
        let graph = sparkline(&samples, 80, 4);
        let blocks: Vec<&str> = graph.split("\n\n").collect();
        assert_eq!(blocks.len(), 2, "{graph}");
        assert!(blocks[1].starts_with(" \n \n \n_\n"), "{graph}");
    }

    #[test]
    fn age_labels() {
        assert_eq!(age_label(59), "59s");
        assert_eq!(age_label(60), "1m");
        assert_eq!(age_label(7_200), "2h");
        assert_eq!(age_label(200_000), "2d");
    }

    #[test]
    fn doctor_names_each_event() {
        let monitor = LatencyMonitor::new(0);
        assert!(doctor_report(&monitor, 10_000, 0).contains("off"));
        monitor.configure(1);
        assert!(doctor_report(&monitor, 10_000, 0).contains("No latency event"));
        monitor.add("command", 12, 100);
        monitor.add("aof-write", 40, 100);
        let report = doctor_report(&monitor, 10_000, 104);
        assert!(report.contains("1. command: 1 spikes (average 12ms, mean deviation 0ms, one every 4.00 sec). Worst ever: 12ms."), "{report}");
        assert!(report.contains("2. aof-write"), "{report}");
        assert!(report.contains("SLOWLOG GET"), "{report}");
        assert!(report.contains("append-only log"), "{report}");
    }
}

//! Server-wide counters reported by `INFO` and reset by `CONFIG RESETSTAT`.

use std::sync::atomic::{AtomicU64, Ordering};

/// Calls, time and failures of one command or subcommand (`INFO commandstats`).
#[derive(Default)]
pub struct CommandStat {
    pub calls: AtomicU64,
    pub usec: AtomicU64,
    pub rejected: AtomicU64,
    pub failed: AtomicU64,
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
    }
}

/// Counters shared by every connection.
pub struct Stats {
    pub connections_received: AtomicU64,
    pub rejected_connections: AtomicU64,
    pub net_input_bytes: AtomicU64,
    pub net_output_bytes: AtomicU64,
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
            commands: (0..commands).map(|_| CommandStat::default()).collect(),
        }
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

//! Wall-clock time in the units Redis uses (Unix milliseconds and microseconds).

/// Microseconds since the Unix epoch, read straight from the system clock: this
/// runs twice per command (the command's duration), and `SystemTime`'s checked
/// `Duration` arithmetic cost more than the clock read itself.
pub fn now_us() -> u64 {
    let (seconds, nanos) = realtime();
    seconds * 1_000_000 + nanos / 1_000
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    let (seconds, nanos) = realtime();
    seconds * 1_000 + nanos / 1_000_000
}

/// Seconds and nanoseconds of `CLOCK_REALTIME`; 0 for a clock set before 1970.
fn realtime() -> (u64, u64) {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable timespec; CLOCK_REALTIME always exists.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut now) };
    if status != 0 || now.tv_sec < 0 {
        return (0, 0);
    }
    (now.tv_sec as u64, now.tv_nsec as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{SystemTime, UNIX_EPOCH};

    #[test]
    fn agrees_with_the_standard_clock() {
        let before = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        let (us, ms) = (now_us(), now_ms());
        let after = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        assert!(before.as_micros() as u64 <= us && us <= after.as_micros() as u64);
        assert!(before.as_millis() as u64 <= ms && ms <= after.as_millis() as u64);
    }
}

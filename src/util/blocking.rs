//! Long synchronous work on a runtime thread.

use tokio::runtime::{Handle, RuntimeFlavor};

/// Runs `f`, which may block for long (a script, or a wait for a script's locks),
/// after letting the runtime hand this thread's other tasks and its I/O-driver duty
/// to another thread. A tokio worker blocked for seconds would otherwise stall every
/// connection it was due to poll, including the one bringing `SCRIPT KILL`. Outside
/// a multi-threaded runtime (unit tests, blocking threads) `f` just runs.
pub fn off_the_runtime<R>(f: impl FnOnce() -> R) -> R {
    match Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
            crate::server::send_batch::leave_worker();
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

//! Blocking commands: the rules they follow, their timeout, parking a client, waking
//! it, and `CLIENT UNBLOCK`. The list family's BLPOP, BRPOP, BLMOVE, BRPOPLPUSH and
//! BLMPOP use it, and the sorted-set family's BZPOPMIN, BZPOPMAX and BZMPOP, each
//! family with its own [`ServeOp`]. The mechanism (queues, hand-off, leaving) is in
//! [`crate::store::waiters`]. WAIT parks on no key at all
//! ([`block_without_keys`]): nothing serves it, and it ends as the others do when
//! they are not served (timeout, `CLIENT UNBLOCK`, disconnect, kill, shutdown).
//!
//! # The rules, as Redis 7.0 behaves
//! 1. **Serve at once when possible.** The keys are examined in argument order and the
//!    first one holding a non-empty value is served, as the non-blocking command would
//!    be. A key holding another type answers `WRONGTYPE` when it is reached, even if a
//!    later key has elements. The reply names the key (all but BLMOVE and
//!    BRPOPLPUSH).
//! 2. **Otherwise wait.** The client is queued on every key it names, in the shards'
//!    queues, under the same locks as the emptiness check. Waiters on one key are
//!    served first come, first served; those waiting for another type than the key
//!    now holds (BLPOP on a sorted set) keep their place and are passed over. A
//!    waiter on several keys is served once, by whichever key receives something
//!    first.
//! 3. **The timeout** is in seconds, an integer or a decimal number (read as Redis
//!    reads it, in long double), rounded up to milliseconds; `0` means forever. A
//!    negative value answers `-ERR timeout is negative` and anything else that is not
//!    a number `-ERR timeout is not a float or out of range`. Values so large that
//!    Redis's millisecond conversion overflows are negative to it too; a deadline past
//!    the end of time is forever. On timeout the reply is the null array (`*-1` in
//!    RESP2, even for BLMOVE and BRPOPLPUSH; `_` in RESP3).
//! 4. **Serving happens after the writing command.** A handler that adds elements to
//!    a key calls [`Ctx::signal_ready`]; once the whole command, `EXEC` or script has
//!    finished and its locks are released, [`crate::commands::gate::execute`] serves
//!    the ready keys, before the writer's own reply leaves. The writer's reply still
//!    counts what it pushed (`LPUSH` answers `:1` even if a waiter took the element at
//!    once). A BLMOVE serve that pushes onto its destination makes that key ready in
//!    turn. A serve publishes the keyspace events the command would have, as Redis
//!    does when it serves a blocked client (`lpop`/`rpop` or `zpopmin`/`zpopmax`,
//!    `del` when the key empties, and BLMOVE's push on its destination first), after
//!    the writer's own events.
//! 5. **Never lost, never twice.** See [`crate::store::waiters`]: the waiter's sender is
//!    taken before anything is popped; a delivery the waiter cannot receive goes back;
//!    a waiter that times out keeps a delivery that raced with its timeout, and one
//!    that disconnected gives it back to the list and to the next waiter.
//! 6. **A blocked connection** executes nothing else: requests pipelined behind the
//!    blocking command wait until it has answered. The socket is still watched, so a
//!    client that closes its connection leaves the queues at once; `CLIENT KILL`
//!    and shutdown end the wait the same way.
//! 7. **Never block inside `EXEC` or a script** ([`Ctx::nested`]): with nothing to pop
//!    the command answers at once, with the null array (the null bulk string for
//!    BLMOVE and BRPOPLPUSH, as Redis does). Redis 7.0.15 refuses most of them in
//!    scripts (`noscript`), but not BLMPOP and BZMPOP.
//! 8. **`CLIENT UNBLOCK id [TIMEOUT|ERROR]`** wakes a blocked client as if it had timed
//!    out, or with `-UNBLOCKED client unblocked via CLIENT UNBLOCK`, and answers `:1`;
//!    `:0` when that client is not blocked. `INFO blocked_clients` counts the waiters.
//!
//! # Cost
//! An idle Celery worker re-issues `BRPOP` on four keys with a one-second timeout,
//! every second. Blocking costs a few small allocations and one queue entry per key;
//! the wait is a branch of the connection's own `select!` (no task, no polling, no
//! runtime thread held); a push finds its waiter with one lookup, and a push to a
//! shard where nobody waits skips even that.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::oneshot;

use crate::commands::gate::DeferredRecord;
use crate::commands::{CmdResult, CommandError, Ctx, int_arg};
use crate::protocol::{Args, Protocol, ReplyWriter};
use crate::pubsub::notify;
use crate::server::Server;
use crate::server::client::{ClientHandle, ReplyMode};
use crate::store::DbView;
use crate::store::waiters::{Delivery, ReadyKeys, ServeOp, UnblockReason, Waiter, Wake};
use crate::util::clock::now_ms;
use crate::util::numbers::{decimal_above, parse_long_double};

/// Parses a blocking timeout in seconds into a deadline in Unix milliseconds.
///
/// # Returns
/// `None` to wait forever (a zero timeout, or a deadline that does not fit).
pub fn parse_timeout(arg: &[u8], now_ms: u64) -> Result<Option<u64>, CommandError> {
    let seconds = parse_long_double(arg).ok_or(CommandError::TimeoutNotFloat)?;
    let millis = (seconds * 1000.0).ceil();
    // Redis converts to a C `long long`; on x86 anything out of range, infinity
    // included, becomes the most negative value.
    if millis < 0.0 {
        return Err(CommandError::TimeoutNegative);
    }
    if millis >= i64::MAX as f64 {
        // Rounded to f64 this is past i64::MAX, but Redis multiplies in long double:
        // up to 9223372036854775.807 seconds still fits, and the deadline that
        // overflows when added to the clock never comes (Redis keeps it unsigned).
        return match decimal_above(arg, b"9223372036854775807", 15) {
            Some(false) => Ok(None),
            _ => Err(CommandError::TimeoutNegative),
        };
    }
    let millis = millis as u64;
    Ok(if millis == 0 {
        None
    } else {
        now_ms
            .checked_add(millis)
            .filter(|at| *at < i64::MAX as u64)
    })
}

/// Whether a wait with deadline `deadline_ms` is over at `now_ms`. Both are whole
/// milliseconds of a clock read by truncation, so the deadline's millisecond must
/// have passed entirely, as in Redis (`timeout < now`): otherwise a wait that began
/// late in a millisecond could end up to a millisecond short of its timeout.
pub fn timed_out(deadline_ms: u64, now_ms: u64) -> bool {
    now_ms > deadline_ms
}

/// How long to sleep at `now_ms` before [`timed_out`] can hold.
pub fn until_timed_out(deadline_ms: u64, now_ms: u64) -> Duration {
    Duration::from_millis(deadline_ms.saturating_add(1).saturating_sub(now_ms))
}

/// What a wait answers when it ends without being served: on timeout, and when
/// `CLIENT UNBLOCK ... TIMEOUT` ends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unserved {
    /// The null array (`*-1`, `_` in RESP3): the blocking pops.
    NullArray,
    /// The integer 0: WAIT, for the replicas that acknowledged (there are none).
    Zero,
}

/// A wait a handler registered, for the connection to carry out.
pub struct Blocked {
    waiter: Arc<Waiter>,
    receiver: oneshot::Receiver<Wake>,
    /// Unix milliseconds; `None` waits forever.
    pub deadline_ms: Option<u64>,
    unserved: Unserved,
    /// `CLIENT REPLY OFF` or `SKIP` was in force when the command ran: the gate
    /// drops replies as they are written, and this one comes later.
    silent: bool,
    /// What the gate left to record once the command is served or unblocked (the
    /// histogram and the slow log; not after a timeout, as in Redis).
    pub deferred: Option<DeferredRecord>,
}

/// Parks the calling client on `keys`, which the handler has just found empty with
/// their shards locked; the connection waits once the handler returns.
pub fn block<'k>(
    ctx: &mut Ctx<'_, '_>,
    keys: impl IntoIterator<Item = &'k [u8]>,
    deadline_ms: Option<u64>,
    op: Box<dyn ServeOp>,
) {
    let server = ctx.server;
    let (waiter, receiver) = Waiter::new(&server.keyspace, ctx.client.id, ctx.client.db, keys, op);
    ctx.locked().register(&waiter);
    park(ctx, waiter, receiver, deadline_ms, Unserved::NullArray);
}

/// Parks the calling client on no key at all, until the deadline (`None`: for
/// ever), `CLIENT UNBLOCK`, a disconnect, a kill or shutdown; nothing serves it.
/// On timeout it answers `unserved`.
pub fn block_without_keys(ctx: &mut Ctx<'_, '_>, deadline_ms: Option<u64>, unserved: Unserved) {
    let keys: [&[u8]; 0] = [];
    let (waiter, receiver) = Waiter::new(
        &ctx.server.keyspace,
        ctx.client.id,
        ctx.client.db,
        keys,
        Box::new(NothingToServe),
    );
    park(ctx, waiter, receiver, deadline_ms, unserved);
}

/// The serve operation of a wait on no key, which is never asked to serve.
struct NothingToServe;

impl ServeOp for NothingToServe {
    fn can_serve(&self, _: &mut DbView<'_, '_>, _: &[u8]) -> bool {
        false
    }

    fn serve(&self, _: &mut DbView<'_, '_>, _: &[u8], _: &mut ReadyKeys) -> Delivery {
        unreachable!("a wait on no key is in no key's queue")
    }
}

/// Makes the client's connection wait for `waiter` once the handler returns, and
/// counts it in `blocked_clients`.
fn park(
    ctx: &mut Ctx<'_, '_>,
    waiter: Arc<Waiter>,
    receiver: oneshot::Receiver<Wake>,
    deadline_ms: Option<u64>,
    unserved: Unserved,
) {
    *ctx.client.handle.blocked_on.lock() = Some(waiter.clone());
    ctx.server.blocked.fetch_add(1, Ordering::Relaxed);
    let silent = ctx.client.reply_mode != ReplyMode::On;
    ctx.client.blocked = Some(Blocked {
        waiter,
        receiver,
        deadline_ms,
        unserved,
        silent,
        deferred: None,
    });
}

/// A blocked client's wait, from the connection's side. Dropping it unfinished (the
/// client disconnected, was killed, or the server is shutting down) takes the waiter
/// out of every queue and gives back anything already handed to it.
pub struct Waiting<'s> {
    server: &'s Server,
    handle: Arc<ClientHandle>,
    blocked: Blocked,
    done: bool,
}

impl<'s> Waiting<'s> {
    pub fn new(server: &'s Server, handle: Arc<ClientHandle>, blocked: Blocked) -> Self {
        Waiting {
            server,
            handle,
            blocked,
            done: false,
        }
    }

    /// The deadline in Unix milliseconds, if any.
    pub fn deadline_ms(&self) -> Option<u64> {
        self.blocked.deadline_ms
    }

    /// Resolves when something wakes the waiter. Cancel-safe: the one-shot receiver
    /// keeps its value until polled to completion.
    pub async fn woken(&mut self) -> Option<Wake> {
        (&mut self.blocked.receiver).await.ok()
    }

    /// Ends the wait (woken with `wake`, or timed out with `None`) and writes the
    /// reply: the delivery, the timeout's [`Unserved`] reply, or the `UNBLOCKED`
    /// error.
    pub fn finish(mut self, wake: Option<Wake>, out: &mut Vec<u8>, protocol: Protocol) {
        let raced = self.leave(false);
        let wake = wake.or(raced);
        if let (Some(_), Some(deferred)) = (&wake, self.blocked.deferred.take()) {
            deferred.commit(self.server);
        }
        if self.blocked.silent {
            return;
        }
        let mut reply = ReplyWriter::new(out, protocol);
        match wake {
            Some(Wake::Served(delivery)) => reply.raw().extend_from_slice(&delivery.reply),
            Some(Wake::Unblocked(UnblockReason::Error)) => {
                reply.error(CommandError::Unblocked.reply_text().as_bytes())
            }
            Some(Wake::Unblocked(UnblockReason::Timeout)) | None => match self.blocked.unserved {
                Unserved::NullArray => reply.null_array(),
                Unserved::Zero => reply.int(0),
            },
        }
    }

    fn leave(&mut self, gone: bool) -> Option<Wake> {
        self.done = true;
        // The wait ends as interaction (its reply follows), before the client stops
        // counting as blocked: the idle sweep never sees it idle in between.
        self.handle.touch();
        self.handle.blocked_on.lock().take();
        let server = self.server;
        let raced = server.keyspace.leave(
            &self.blocked.waiter,
            &mut self.blocked.receiver,
            gone,
            now_ms(),
            &mut |event| notify::publish(server, &event),
        );
        // Counted out only once out of every queue (and anything handed to it given
        // back): whoever reads `blocked_clients` lower may push and find no waiter.
        server.blocked.fetch_sub(1, Ordering::Release);
        raced
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.leave(true);
        }
    }
}

/// `CLIENT UNBLOCK id [TIMEOUT|ERROR]`
pub fn client_unblock(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    // At most an id and a reason; Redis's catch-all answers anything longer.
    if args.len() > 4 {
        return Err(CommandError::SubcommandSyntax {
            container: "client".into(),
            sub: args[1].to_vec(),
        });
    }
    let reason = match args.get(3) {
        None => UnblockReason::Timeout,
        Some(word) if word.eq_ignore_ascii_case(b"timeout") => UnblockReason::Timeout,
        Some(word) if word.eq_ignore_ascii_case(b"error") => UnblockReason::Error,
        Some(_) => return Err(CommandError::UnblockReason),
    };
    let id = int_arg(&args[2])?;
    let waiter = u64::try_from(id)
        .ok()
        .and_then(|id| ctx.server.clients.get(&id).map(|h| h.value().clone()))
        .and_then(|handle| handle.blocked_on.lock().clone());
    let woken = waiter.is_some_and(|waiter| waiter.unblock(reason));
    ctx.out.int(woken.into());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_ends_only_once_its_deadline_millisecond_has_passed() {
        assert!(!timed_out(1300, 1299));
        assert!(!timed_out(1300, 1300));
        assert!(timed_out(1300, 1301));
        assert_eq!(until_timed_out(1300, 1000), Duration::from_millis(301));
        assert_eq!(until_timed_out(1300, 1300), Duration::from_millis(1));
        assert_eq!(until_timed_out(1300, 1301), Duration::ZERO);
        assert_eq!(
            until_timed_out(u64::MAX, 0),
            Duration::from_millis(u64::MAX)
        );
    }

    #[test]
    fn timeouts_parse_like_redis() {
        assert_eq!(parse_timeout(b"0", 1000), Ok(None));
        assert_eq!(parse_timeout(b"1", 1000), Ok(Some(2000)));
        assert_eq!(parse_timeout(b"0.2", 1000), Ok(Some(1200)));
        // Rounded up to the millisecond, so a tiny timeout still expires.
        assert_eq!(parse_timeout(b"1e-300", 1000), Ok(Some(1001)));
        // -0.0001 s rounds up to zero milliseconds: forever, as in Redis.
        assert_eq!(parse_timeout(b"-0.0001", 1000), Ok(None));
        assert_eq!(parse_timeout(b"-1", 0), Err(CommandError::TimeoutNegative));
        assert_eq!(parse_timeout(b"inf", 0), Err(CommandError::TimeoutNegative));
        assert_eq!(
            parse_timeout(b"1e300", 0),
            Err(CommandError::TimeoutNegative)
        );
        assert_eq!(parse_timeout(b"abc", 0), Err(CommandError::TimeoutNotFloat));
        assert_eq!(parse_timeout(b" 1", 0), Err(CommandError::TimeoutNotFloat));
        // A deadline past the end of time waits forever.
        assert_eq!(
            parse_timeout(b"9223371000000000", 1_700_000_000_000),
            Ok(None)
        );
    }
}

//! WAIT: waiting for replicas to acknowledge the client's writes, on a server that
//! never has a replica.
//!
//! No replica ever acknowledges anything here, so WAIT always answers 0, when Redis
//! 7.0 without replicas would: at once when asked for 0 replicas (or fewer), or
//! inside `MULTI` (a transaction never blocks); otherwise once the timeout (in
//! milliseconds, 0 for ever) has passed. Meanwhile the client is blocked like a
//! BRPOP on no key ([`blocking::block_without_keys`]): counted in
//! `blocked_clients`, flagged `b` in `CLIENT LIST`, and released by `CLIENT UNBLOCK`
//! (0, or the `UNBLOCKED` error), `CLIENT KILL`, a disconnect or shutdown.

use crate::commands::blocking::{self, Unserved};
use crate::commands::categories;
use crate::commands::flags::*;
use crate::commands::{CmdResult, CommandError, CommandSpec, Ctx, int_arg};
use crate::protocol::Args;
use crate::util::numbers::parse_i64;

pub static COMMANDS: &[CommandSpec] = &[CommandSpec::new("wait", 3, NOSCRIPT, (0, 0, 0), wait)
    .doc(
        "generic",
        "3.0.0",
        "Waits until replicas have acknowledged the connection's writes; there are none.",
    )
    .syntax("numreplicas:integer timeout:integer")
    .acl(categories::CONNECTION)];

/// `WAIT numreplicas timeout`
fn wait(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let wanted = int_arg(&args[1])?;
    let deadline_ms = parse_timeout_ms(&args[2], ctx.now_ms)?;
    if wanted <= 0 || ctx.nested {
        ctx.out.int(0);
        return Ok(());
    }
    blocking::block_without_keys(ctx, deadline_ms, Unserved::Zero);
    Ok(())
}

/// Parses a timeout in milliseconds into a deadline in Unix milliseconds, as
/// Redis's `getTimeoutFromObjectOrReply` does for milliseconds.
///
/// # Returns
/// `None` to wait for ever: a zero timeout, or a deadline past the end of time
/// (Redis's sum overflows, and its timer never fires).
fn parse_timeout_ms(arg: &[u8], now_ms: u64) -> Result<Option<u64>, CommandError> {
    let millis = parse_i64(arg).ok_or(CommandError::TimeoutNotInteger)?;
    if millis < 0 {
        return Err(CommandError::TimeoutNegative);
    }
    if millis == 0 {
        return Ok(None);
    }
    Ok(now_ms
        .checked_add(millis as u64)
        .filter(|at| *at <= i64::MAX as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_are_whole_milliseconds() {
        assert_eq!(parse_timeout_ms(b"0", 1000), Ok(None));
        assert_eq!(parse_timeout_ms(b"100", 1000), Ok(Some(1100)));
        assert_eq!(
            parse_timeout_ms(b"-1", 1000),
            Err(CommandError::TimeoutNegative)
        );
        for bad in [&b"1.5"[..], b"0.0", b"x", b"", b"99999999999999999999"] {
            assert_eq!(
                parse_timeout_ms(bad, 1000),
                Err(CommandError::TimeoutNotInteger)
            );
        }
        assert_eq!(
            parse_timeout_ms(b"9223372036854775807", 1_700_000_000_000),
            Ok(None)
        );
        assert_eq!(
            CommandError::TimeoutNotInteger.reply_text(),
            "ERR timeout is not an integer or out of range"
        );
    }
}

//! The request decoder's invariants, checked on arbitrary bytes.
//!
//! Shared by the saved-corpus test (`tests/decoder/main.rs`) and the fuzz target
//! (`fuzz/fuzz_targets/request_decoder.rs`), so that whatever the fuzzer finds is
//! judged by exactly the rules the ordinary tests apply:
//!
//! 1. decoding never panics;
//! 2. a complete request consumes at least one byte and no more than is buffered;
//! 3. a multibulk request's arguments lie within the bytes it consumed, and an
//!    inline request's unquoted arguments are never longer than its line;
//! 4. the same bytes fed in two pieces, split anywhere, give the same requests and
//!    the same ending as one piece. The one allowed difference is Redis's own: the
//!    64 KiB line limits are checked against what has arrived so far, so a long line
//!    whose end comes in the second piece may already be refused after the first.
//!    The split run must then end in that limit's error, after a prefix of the
//!    requests.

#![allow(dead_code)]

use broker_server::protocol::ProtocolError;
use broker_server::protocol::decode::{DecodeLimits, RequestDecoder};

/// The limit sets every input is decoded under: the defaults, before
/// authentication, and the smallest `proto-max-bulk-len` CONFIG SET allows.
pub const LIMITS: [DecodeLimits; 3] = [
    DecodeLimits {
        max_bulk_len: 512 * 1024 * 1024,
        unauthenticated: false,
    },
    DecodeLimits {
        max_bulk_len: 512 * 1024 * 1024,
        unauthenticated: true,
    },
    DecodeLimits {
        max_bulk_len: 1024 * 1024,
        unauthenticated: false,
    },
];

/// How a run over some input ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// Waiting for more bytes, with this many buffered (the unfinished request).
    NeedMore(usize),
    Error(ProtocolError),
}

/// Everything a run decoded: each request's arguments, then how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub requests: Vec<Vec<Vec<u8>>>,
    pub end: End,
}

/// Whether `part` lies within `whole` in memory.
fn lies_within(part: &[u8], whole: &[u8]) -> bool {
    let (start, end) = (
        whole.as_ptr() as usize,
        whole.as_ptr() as usize + whole.len(),
    );
    let part_start = part.as_ptr() as usize;
    part.is_empty() || (part_start >= start && part_start + part.len() <= end)
}

/// Decodes the pieces as successive reads into one buffer, the way a connection
/// does, checking invariants 2 and 3 on every request.
pub fn decode_in_pieces(pieces: &[&[u8]], limits: &DecodeLimits) -> Outcome {
    let mut decoder = RequestDecoder::new();
    let mut buffer: Vec<u8> = Vec::new();
    let mut requests = Vec::new();
    for piece in pieces {
        buffer.extend_from_slice(piece);
        loop {
            match decoder.decode(&buffer, limits) {
                Ok(Some(consumed)) => {
                    assert!(consumed > 0, "a request consumed nothing");
                    assert!(
                        consumed <= buffer.len(),
                        "consumed {consumed} of {} bytes",
                        buffer.len()
                    );
                    let request = &buffer[..consumed];
                    let args = decoder.args(&buffer);
                    let mut owned = Vec::with_capacity(args.len());
                    for arg in args.iter() {
                        if request[0] == b'*' {
                            assert!(
                                lies_within(arg, request),
                                "a multibulk argument outside its request"
                            );
                        } else {
                            assert!(
                                arg.len() <= consumed,
                                "an inline argument longer than its line"
                            );
                        }
                        owned.push(arg.to_vec());
                    }
                    requests.push(owned);
                    buffer.drain(..consumed);
                }
                Ok(None) => {
                    // Asking how much is still wanted must be safe at any point.
                    let _ = decoder.bytes_wanted(buffer.len());
                    break;
                }
                Err(error) => {
                    return Outcome {
                        requests,
                        end: End::Error(error),
                    };
                }
            }
        }
    }
    Outcome {
        requests,
        end: End::NeedMore(buffer.len()),
    }
}

/// Which split points to try for invariant 4.
#[derive(Debug, Clone, Copy)]
pub enum Splits {
    /// Every split point of inputs up to this length; evenly spaced ones above it.
    All { up_to: usize },
    /// About this many split points, evenly spaced.
    Sample(usize),
}

fn split_points(len: usize, splits: Splits) -> Vec<usize> {
    let wanted = match splits {
        Splits::All { up_to } if len <= up_to => return (0..=len).collect(),
        Splits::All { up_to } => up_to,
        Splits::Sample(count) => count,
    };
    let step = (len / wanted.max(1)).max(1);
    let mut points: Vec<usize> = (0..=len).step_by(step).collect();
    // Around the 64 KiB limit, where the allowed difference lives.
    for near in [65535, 65536, 65537, 65538] {
        if near <= len {
            points.push(near);
        }
    }
    points.push(len);
    points.sort_unstable();
    points.dedup();
    points
}

fn is_line_limit(end: &End) -> bool {
    matches!(
        end,
        End::Error(
            ProtocolError::TooBigInline
                | ProtocolError::TooBigMultibulkCount
                | ProtocolError::TooBigBulkCount
        )
    )
}

/// Checks every invariant on `input`, under every limit set.
pub fn check(input: &[u8], splits: Splits) {
    for limits in &LIMITS {
        let whole = decode_in_pieces(&[input], limits);
        for split in split_points(input.len(), splits) {
            let (first, second) = input.split_at(split);
            let pieces = decode_in_pieces(&[first, second], limits);
            if pieces == whole {
                continue;
            }
            assert!(
                is_line_limit(&pieces.end) && whole.requests.starts_with(&pieces.requests),
                "split at {split} of {} bytes ({limits:?}) gives {pieces:?}, one piece gives {whole:?}",
                input.len()
            );
        }
    }
}

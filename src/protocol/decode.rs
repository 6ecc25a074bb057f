//! The request decoder: multibulk and inline requests, resumable and bounded.
//!
//! A connection hands the decoder the unconsumed part of its read buffer. The decoder
//! either returns one complete request (its arguments as ranges of that buffer, so
//! nothing is copied), says it needs more bytes, or fails with a protocol error whose
//! text is Redis's. Progress on a partial request is kept between calls, so a request
//! that arrives a byte at a time is never re-scanned from its start, and a large bulk
//! argument is waited for by length alone.
//!
//! The rules follow Redis 7.0: the first byte of each request chooses multibulk (`*`)
//! or inline; counts and lengths are strict decimals; the two bytes after a bulk
//! argument are skipped unchecked; a count of zero or less is an empty request; lines
//! without an end are cut off at 64 KiB.

use std::fmt;
use std::ops::Index;

use crate::protocol::inline::split_inline;
use crate::util::numbers::parse_i64;

/// Longest inline request, or count/length line, that may arrive without its end.
pub const MAX_INLINE_SIZE: usize = 64 * 1024;
/// Redis accepts multibulk counts up to `INT_MAX`.
const MAX_MULTIBULK_COUNT: i64 = i32::MAX as i64;
/// Before authentication a request may carry at most this many arguments...
const UNAUTHENTICATED_MAX_COUNT: i64 = 10;
/// ...each at most this long.
const UNAUTHENTICATED_MAX_BULK: i64 = 16 * 1024;
/// Never reserve more argument slots than this up front, whatever the count says.
const MAX_PREALLOCATED_ARGS: usize = 1024;

/// A malformed request. Each variant's text is what Redis sends after
/// `-ERR Protocol error: `; the connection then closes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtocolError {
    InvalidMultibulkLength,
    InvalidBulkLength,
    ExpectedDollar(u8),
    TooBigInline,
    TooBigMultibulkCount,
    TooBigBulkCount,
    UnbalancedQuotes,
    UnauthenticatedMultibulkLength,
    UnauthenticatedBulkLength,
}

impl ProtocolError {
    /// The full error line, without `-` and CRLF.
    pub fn reply_text(&self) -> Vec<u8> {
        let mut text = b"ERR Protocol error: ".to_vec();
        match self {
            ProtocolError::ExpectedDollar(byte) => {
                text.extend_from_slice(b"expected '$', got '");
                text.push(*byte);
                text.push(b'\'');
            }
            other => text.extend_from_slice(other.detail().as_bytes()),
        }
        text
    }

    fn detail(&self) -> &'static str {
        match self {
            ProtocolError::InvalidMultibulkLength => "invalid multibulk length",
            ProtocolError::InvalidBulkLength => "invalid bulk length",
            ProtocolError::ExpectedDollar(_) => "expected '$'",
            ProtocolError::TooBigInline => "too big inline request",
            ProtocolError::TooBigMultibulkCount => "too big mbulk count string",
            ProtocolError::TooBigBulkCount => "too big bulk count string",
            ProtocolError::UnbalancedQuotes => "unbalanced quotes in request",
            ProtocolError::UnauthenticatedMultibulkLength => "unauthenticated multibulk length",
            ProtocolError::UnauthenticatedBulkLength => "unauthenticated bulk length",
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.reply_text()))
    }
}

impl std::error::Error for ProtocolError {}

/// Where the decoder is inside the current request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Nothing of the next request has been examined.
    Start,
    /// Inside a multibulk request with `remaining` arguments to go; `bulk_len` is the
    /// length of the argument whose header has been read.
    Multibulk {
        remaining: usize,
        bulk_len: Option<usize>,
    },
}

/// Limits the decoder enforces, taken from the server's configuration.
#[derive(Debug, Clone, Copy)]
pub struct DecodeLimits {
    /// `proto-max-bulk-len`.
    pub max_bulk_len: usize,
    /// True while the connection must still authenticate: requests are kept small.
    pub unauthenticated: bool,
}

/// A resumable request decoder; one per connection.
#[derive(Debug)]
pub struct RequestDecoder {
    state: State,
    /// Parse position, relative to the start of the current request.
    pos: usize,
    /// How far the search for the current line's end has already looked.
    scanned: usize,
    /// Argument ranges: into the caller's buffer for multibulk, into `inline` otherwise.
    ranges: Vec<(usize, usize)>,
    /// Unquoted arguments of an inline request.
    inline: Vec<u8>,
    /// Whether the last complete request was inline.
    last_inline: bool,
}

impl Default for RequestDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl RequestDecoder {
    pub fn new() -> Self {
        RequestDecoder {
            state: State::Start,
            pos: 0,
            scanned: 0,
            ranges: Vec::with_capacity(8),
            inline: Vec::new(),
            last_inline: false,
        }
    }

    /// Decodes the next request from `buf`, which must start where the previous
    /// complete request ended (or hold the same partial request as before, extended).
    ///
    /// # Returns
    /// `Ok(Some(n))` when a request of `n` bytes is complete (read it with
    /// [`RequestDecoder::args`]; it may have no arguments, which callers skip),
    /// `Ok(None)` when more bytes are needed, or the protocol error.
    pub fn decode(
        &mut self,
        buf: &[u8],
        limits: &DecodeLimits,
    ) -> Result<Option<usize>, ProtocolError> {
        if self.state == State::Start {
            let Some(&first) = buf.first() else {
                return Ok(None);
            };
            if first != b'*' {
                return self.decode_inline(buf);
            }
            // Only a fresh request (nothing of it scanned before) tries the one-pass
            // path, so a request that arrives in pieces is never re-scanned.
            if self.scanned == 0 {
                if let Some(consumed) = self.decode_complete(buf, limits) {
                    return Ok(Some(consumed));
                }
            }
            let Some(line_end) = self.find_line_end(buf, ProtocolError::TooBigMultibulkCount)?
            else {
                return Ok(None);
            };
            let count =
                parse_i64(&buf[1..line_end]).ok_or(ProtocolError::InvalidMultibulkLength)?;
            if count > MAX_MULTIBULK_COUNT {
                return Err(ProtocolError::InvalidMultibulkLength);
            }
            if limits.unauthenticated && count > UNAUTHENTICATED_MAX_COUNT {
                return Err(ProtocolError::UnauthenticatedMultibulkLength);
            }
            self.pos = line_end + 2;
            self.ranges.clear();
            if count <= 0 {
                return Ok(Some(self.finish()));
            }
            self.ranges
                .reserve((count as usize).min(MAX_PREALLOCATED_ARGS));
            self.state = State::Multibulk {
                remaining: count as usize,
                bulk_len: None,
            };
        }
        self.decode_multibulk(buf, limits)
    }

    /// The arguments of the request the last `decode` completed. `buf` must be the
    /// same buffer that was passed to it.
    pub fn args<'a>(&'a self, buf: &'a [u8]) -> Args<'a> {
        let data = if self.last_inline {
            &self.inline[..]
        } else {
            buf
        };
        Args {
            data,
            ranges: &self.ranges,
        }
    }

    /// How many more bytes the current partial request needs at least, when known;
    /// lets the connection reserve room for a large argument in one step.
    pub fn bytes_wanted(&self, buffered: usize) -> usize {
        match self.state {
            State::Multibulk {
                bulk_len: Some(len),
                ..
            } => (self.pos + len + 2).saturating_sub(buffered),
            _ => 0,
        }
    }

    /// The common case in one pass: a multibulk request that is entirely in `buf`,
    /// well formed, and not subject to the pre-authentication limits. Anything else
    /// (incomplete, malformed, a count of zero or less) returns `None` having
    /// changed nothing but `ranges`, and the resumable path decodes the request from
    /// its start, so error texts and partial-input behaviour are exactly its own.
    ///
    /// # Returns
    /// The request's length in bytes, its arguments in `ranges`.
    fn decode_complete(&mut self, buf: &[u8], limits: &DecodeLimits) -> Option<usize> {
        if limits.unauthenticated {
            return None;
        }
        let (count, mut pos) = header_line(buf, 0, b'*')?;
        if count <= 0 || count > MAX_MULTIBULK_COUNT {
            return None;
        }
        self.ranges.clear();
        self.ranges
            .reserve((count as usize).min(MAX_PREALLOCATED_ARGS));
        for _ in 0..count {
            let (len, start) = header_line(buf, pos, b'$')?;
            if len < 0 || len as u64 > limits.max_bulk_len as u64 {
                return None;
            }
            let end = start + len as usize;
            // The two bytes after the data are skipped unchecked, as below.
            if buf.len() < end + 2 {
                return None;
            }
            self.ranges.push((start, end));
            pos = end + 2;
        }
        self.last_inline = false;
        Some(pos)
    }

    fn decode_multibulk(
        &mut self,
        buf: &[u8],
        limits: &DecodeLimits,
    ) -> Result<Option<usize>, ProtocolError> {
        while let State::Multibulk {
            remaining,
            bulk_len,
        } = self.state
        {
            let len = match bulk_len {
                Some(len) => len,
                None => {
                    let Some(line_end) =
                        self.find_line_end(&buf[self.pos..], ProtocolError::TooBigBulkCount)?
                    else {
                        return Ok(None);
                    };
                    let line = &buf[self.pos..self.pos + line_end];
                    if buf[self.pos] != b'$' {
                        return Err(ProtocolError::ExpectedDollar(buf[self.pos]));
                    }
                    let len = parse_i64(&line[1..]).ok_or(ProtocolError::InvalidBulkLength)?;
                    if len < 0 || len as u64 > limits.max_bulk_len as u64 {
                        return Err(ProtocolError::InvalidBulkLength);
                    }
                    if limits.unauthenticated && len > UNAUTHENTICATED_MAX_BULK {
                        return Err(ProtocolError::UnauthenticatedBulkLength);
                    }
                    self.pos += line_end + 2;
                    self.state = State::Multibulk {
                        remaining,
                        bulk_len: Some(len as usize),
                    };
                    len as usize
                }
            };
            // The two bytes after the data are skipped without being checked, as
            // Redis does, but they must have arrived.
            if buf.len() < self.pos + len + 2 {
                return Ok(None);
            }
            self.ranges.push((self.pos, self.pos + len));
            self.pos += len + 2;
            self.state = if remaining == 1 {
                State::Start
            } else {
                State::Multibulk {
                    remaining: remaining - 1,
                    bulk_len: None,
                }
            };
        }
        self.last_inline = false;
        Ok(Some(self.finish()))
    }

    fn decode_inline(&mut self, buf: &[u8]) -> Result<Option<usize>, ProtocolError> {
        let from = self.scanned.min(buf.len());
        let Some(offset) = buf[from..].iter().position(|&b| b == b'\n') else {
            self.scanned = buf.len();
            if buf.len() > MAX_INLINE_SIZE {
                return Err(ProtocolError::TooBigInline);
            }
            return Ok(None);
        };
        let newline = from + offset;
        let mut line = &buf[..newline];
        if let [rest @ .., b'\r'] = line {
            line = rest;
        }
        self.ranges.clear();
        self.inline.clear();
        if !split_inline(line, &mut self.inline, &mut self.ranges) {
            return Err(ProtocolError::UnbalancedQuotes);
        }
        self.pos = newline + 1;
        self.last_inline = true;
        Ok(Some(self.finish()))
    }

    /// Finds the `\r` ending the line that starts `line`, requiring the `\n` after it
    /// to have arrived, as Redis does.
    ///
    /// # Returns
    /// The offset of `\r` within `line`, or `None` while incomplete; `too_big` once 64
    /// KiB have arrived without a `\r`.
    fn find_line_end(
        &mut self,
        line: &[u8],
        too_big: ProtocolError,
    ) -> Result<Option<usize>, ProtocolError> {
        let from = self.scanned.min(line.len());
        match line[from..].iter().position(|&b| b == b'\r') {
            Some(offset) if from + offset + 1 < line.len() => {
                self.scanned = 0;
                Ok(Some(from + offset))
            }
            Some(offset) => {
                // The `\r` is the last byte so far: look again from it next time.
                self.scanned = from + offset;
                Ok(None)
            }
            None => {
                self.scanned = line.len();
                if line.len() > MAX_INLINE_SIZE {
                    return Err(too_big);
                }
                Ok(None)
            }
        }
    }

    /// Ends the current request and returns its length.
    fn finish(&mut self) -> usize {
        let consumed = self.pos;
        self.state = State::Start;
        self.pos = 0;
        self.scanned = 0;
        consumed
    }
}

/// Most digits the one-pass path reads in a count or length (no overflow possible);
/// longer numbers are left to the resumable path and its limits.
const MAX_HEADER_DIGITS: usize = 18;

/// Reads a `<kind><digits>\r` line at `at`: a canonical non-negative decimal (no
/// sign, no leading zero), with the byte after `\r` arrived (as
/// [`RequestDecoder::decode`] requires, without checking that it is `\n`). Digits
/// are accumulated while looking for the `\r`, in one pass.
///
/// # Returns
/// The number and where the next line starts; `None` for anything else, which the
/// resumable path then decodes or rejects with Redis's error.
fn header_line(buf: &[u8], at: usize, kind: u8) -> Option<(i64, usize)> {
    let line = buf.get(at..)?;
    if line.first() != Some(&kind) {
        return None;
    }
    let mut value: i64 = 0;
    let mut end = 1;
    loop {
        match *line.get(end)? {
            digit @ b'0'..=b'9' if end <= MAX_HEADER_DIGITS => {
                value = value * 10 + i64::from(digit - b'0');
                end += 1;
            }
            b'\r' => break,
            _ => return None,
        }
    }
    let digits = end - 1;
    if digits == 0 || (digits > 1 && line[1] == b'0') || end + 1 >= line.len() {
        return None;
    }
    Some((value, at + end + 2))
}

/// The arguments of one request, borrowed from wherever they were decoded.
/// `args[0]` is the command name.
#[derive(Clone, Copy)]
pub struct Args<'a> {
    data: &'a [u8],
    ranges: &'a [(usize, usize)],
}

impl<'a> Args<'a> {
    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    pub fn get(&self, index: usize) -> Option<&'a [u8]> {
        self.ranges
            .get(index)
            .map(|&(start, end)| &self.data[start..end])
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &'a [u8]> + ExactSizeIterator + 'a {
        let data = self.data;
        self.ranges
            .iter()
            .map(move |&(start, end)| &data[start..end])
    }

    /// Copies the arguments, for requests that outlive the read buffer (queued in
    /// MULTI, parked on a blocking pop, written to the log).
    pub fn to_owned(&self) -> OwnedArgs {
        OwnedArgs::from_slices(self.iter())
    }
}

impl Index<usize> for Args<'_> {
    type Output = [u8];

    fn index(&self, index: usize) -> &[u8] {
        let (start, end) = self.ranges[index];
        &self.data[start..end]
    }
}

impl fmt::Debug for Args<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.iter().map(String::from_utf8_lossy))
            .finish()
    }
}

/// Arguments that own their bytes: one buffer plus ranges.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct OwnedArgs {
    data: Vec<u8>,
    ranges: Vec<(usize, usize)>,
}

impl OwnedArgs {
    pub fn from_slices<'s>(args: impl IntoIterator<Item = &'s [u8]>) -> Self {
        let mut owned = OwnedArgs::default();
        for arg in args {
            owned.push(arg);
        }
        owned
    }

    pub fn push(&mut self, arg: &[u8]) {
        let start = self.data.len();
        self.data.extend_from_slice(arg);
        self.ranges.push((start, self.data.len()));
    }

    pub fn args(&self) -> Args<'_> {
        Args {
            data: &self.data,
            ranges: &self.ranges,
        }
    }

    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }
}

impl fmt::Debug for OwnedArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.args().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPEN: DecodeLimits = DecodeLimits {
        max_bulk_len: 512 * 1024 * 1024,
        unauthenticated: false,
    };
    const GUARDED: DecodeLimits = DecodeLimits {
        max_bulk_len: 512 * 1024 * 1024,
        unauthenticated: true,
    };

    /// Decodes every request in `input`, as one read.
    fn decode_all(input: &[u8], limits: &DecodeLimits) -> Result<Vec<Vec<Vec<u8>>>, ProtocolError> {
        let mut decoder = RequestDecoder::new();
        let mut requests = Vec::new();
        let mut offset = 0;
        while let Some(consumed) = decoder.decode(&input[offset..], limits)? {
            let args = decoder.args(&input[offset..]);
            requests.push(args.iter().map(|a| a.to_vec()).collect());
            offset += consumed;
        }
        Ok(requests)
    }

    fn strings(request: &[Vec<u8>]) -> Vec<String> {
        request
            .iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect()
    }

    #[test]
    fn multibulk_request() {
        let requests = decode_all(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", &OPEN).unwrap();
        assert_eq!(requests.len(), 1);
        assert_eq!(strings(&requests[0]), ["GET", "k"]);
    }

    #[test]
    fn binary_arguments() {
        let requests = decode_all(b"*1\r\n$4\r\n\x06\x16\r\n\r\n", &OPEN).unwrap();
        assert_eq!(requests[0][0], b"\x06\x16\r\n");
    }

    #[test]
    fn empty_and_negative_counts_are_ignored() {
        for input in [
            &b"*0\r\n"[..],
            b"*-1\r\n",
            b"*-10\r\n",
            b"\r\n",
            b"\n",
            b"   \r\n",
        ] {
            let requests = decode_all(input, &OPEN).unwrap();
            assert_eq!(requests.len(), 1, "{input:?}");
            assert!(requests[0].is_empty());
        }
    }

    #[test]
    fn malformed_inputs_have_redis_errors() {
        let cases: &[(&[u8], ProtocolError)] = &[
            (b"*3000000000\r\n", ProtocolError::InvalidMultibulkLength),
            (b"*01\r\n", ProtocolError::InvalidMultibulkLength),
            (b"*+1\r\n", ProtocolError::InvalidMultibulkLength),
            (b"*x\r\n", ProtocolError::InvalidMultibulkLength),
            (b"*1\r\n$4000000000\r\n", ProtocolError::InvalidBulkLength),
            (b"*1\r\n$-1\r\n", ProtocolError::InvalidBulkLength),
            (b"*1\r\n$04\r\n", ProtocolError::InvalidBulkLength),
            (b"*1\r\n$536870913\r\n", ProtocolError::InvalidBulkLength),
            (b"*1\r\nfoo\r\n", ProtocolError::ExpectedDollar(b'f')),
            (b"SET \"a b\r\n", ProtocolError::UnbalancedQuotes),
        ];
        for (input, expected) in cases {
            assert_eq!(
                decode_all(input, &OPEN).unwrap_err(),
                *expected,
                "{input:?}"
            );
        }
    }

    #[test]
    fn largest_bulk_length_is_accepted() {
        let mut decoder = RequestDecoder::new();
        assert_eq!(decoder.decode(b"*1\r\n$536870912\r\n", &OPEN), Ok(None));
        assert_eq!(decoder.bytes_wanted(16), 536870912 + 2);
    }

    #[test]
    fn unauthenticated_limits() {
        assert!(decode_all(b"*10\r\n", &GUARDED).is_ok());
        assert_eq!(
            decode_all(b"*11\r\n", &GUARDED).unwrap_err(),
            ProtocolError::UnauthenticatedMultibulkLength
        );
        assert!(decode_all(b"*2\r\n$3\r\nGET\r\n$16384\r\n", &GUARDED).is_ok());
        assert_eq!(
            decode_all(b"*2\r\n$3\r\nGET\r\n$20000\r\n", &GUARDED).unwrap_err(),
            ProtocolError::UnauthenticatedBulkLength
        );
    }

    #[test]
    fn long_lines_without_an_end_are_refused() {
        let mut inline = vec![b'a'; MAX_INLINE_SIZE + 1];
        assert_eq!(
            decode_all(&inline, &OPEN).unwrap_err(),
            ProtocolError::TooBigInline
        );
        inline[0] = 0;
        assert_eq!(
            decode_all(&inline, &OPEN).unwrap_err(),
            ProtocolError::TooBigInline
        );
        let mut count = vec![b'*', 0];
        count.resize(MAX_INLINE_SIZE + 2, b'1');
        assert_eq!(
            decode_all(&count, &OPEN).unwrap_err(),
            ProtocolError::TooBigMultibulkCount
        );
        let mut bulk = b"*1\r\n$".to_vec();
        bulk.resize(MAX_INLINE_SIZE + 10, b'1');
        assert_eq!(
            decode_all(&bulk, &OPEN).unwrap_err(),
            ProtocolError::TooBigBulkCount
        );
    }

    #[test]
    fn trailing_bytes_after_data_are_not_checked() {
        let requests = decode_all(b"*1\r\n$4\r\nPINGxx", &OPEN).unwrap();
        assert_eq!(strings(&requests[0]), ["PING"]);
    }

    #[test]
    fn partial_frame_waits() {
        assert!(
            decode_all(b"*2\r\n$4\r\nECHO\r\n$3\r\nab", &OPEN)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn mixed_inline_and_multibulk_pipeline() {
        let requests = decode_all(b"PING\r\n*1\r\n$4\r\nPING\r\nset a \"b c\"\n", &OPEN).unwrap();
        assert_eq!(requests.len(), 3);
        assert_eq!(strings(&requests[2]), ["set", "a", "b c"]);
    }

    #[test]
    fn every_split_point_gives_the_same_requests() {
        let input: &[u8] =
            b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$0\r\n\r\n";
        let whole = decode_all(input, &OPEN).unwrap();
        for split in 0..input.len() {
            let mut decoder = RequestDecoder::new();
            let mut buffer = Vec::new();
            let mut requests = Vec::new();
            for chunk in [&input[..split], &input[split..]] {
                buffer.extend_from_slice(chunk);
                while let Some(consumed) = decoder.decode(&buffer, &OPEN).unwrap() {
                    let args = decoder.args(&buffer);
                    requests.push(args.iter().map(|a| a.to_vec()).collect::<Vec<_>>());
                    buffer.drain(..consumed);
                }
            }
            assert_eq!(requests, whole, "split at {split}");
        }
    }

    #[test]
    fn byte_at_a_time() {
        let input: &[u8] = b"*2\r\n$4\r\nECHO\r\n$5\r\nhello\r\nECHO \"x\\ty\"\r\n";
        let mut decoder = RequestDecoder::new();
        let mut buffer = Vec::new();
        let mut requests = Vec::new();
        for &byte in input {
            buffer.push(byte);
            while let Some(consumed) = decoder.decode(&buffer, &OPEN).unwrap() {
                requests.push(strings(
                    &decoder
                        .args(&buffer)
                        .iter()
                        .map(|a| a.to_vec())
                        .collect::<Vec<_>>(),
                ));
                buffer.drain(..consumed);
            }
        }
        assert_eq!(requests, [vec!["ECHO", "hello"], vec!["ECHO", "x\ty"]]);
    }

    #[test]
    fn huge_count_does_not_preallocate() {
        let mut decoder = RequestDecoder::new();
        assert_eq!(decoder.decode(b"*2000000000\r\n", &OPEN), Ok(None));
        assert!(decoder.ranges.capacity() <= MAX_PREALLOCATED_ARGS.max(8));
    }

    /// The one-pass path must decode exactly what the resumable path decodes, and
    /// fail with the same error. Before authentication only the resumable path runs,
    /// so decoding with and without the guard compares the two, on well-formed
    /// pipelines and on byte-level mutations of them (cases the guard's own limits
    /// refuse are skipped).
    #[test]
    fn one_pass_and_resumable_paths_agree() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let alphabet = b"*$\r\n0123456789-+ aZ";
        for case in 0..20_000 {
            let mut input = Vec::new();
            for _ in 0..1 + next() % 4 {
                let argc = next() % 5;
                input.extend_from_slice(format!("*{argc}\r\n").as_bytes());
                for _ in 0..argc {
                    let len = (next() % 12) as usize;
                    input.extend_from_slice(format!("${len}\r\n").as_bytes());
                    input.extend((0..len).map(|_| b'a' + (next() % 26) as u8));
                    input.extend_from_slice(b"\r\n");
                }
            }
            for _ in 0..case % 4 {
                let at = (next() as usize) % input.len();
                input[at] = alphabet[(next() as usize) % alphabet.len()];
            }
            if case % 3 == 0 {
                input.truncate((next() as usize) % (input.len() + 1));
            }
            let guarded = decode_all(&input, &GUARDED);
            if matches!(
                guarded,
                Err(ProtocolError::UnauthenticatedMultibulkLength
                    | ProtocolError::UnauthenticatedBulkLength)
            ) {
                continue;
            }
            assert_eq!(decode_all(&input, &OPEN), guarded, "{input:?}");
        }
    }

    #[test]
    fn owned_args_round_trip() {
        let owned = OwnedArgs::from_slices([&b"SET"[..], b"k", b""]);
        let args = owned.args();
        assert_eq!(args.len(), 3);
        assert_eq!(&args[1], b"k");
        assert_eq!(args.get(2), Some(&b""[..]));
        assert_eq!(args.get(3), None);
    }
}

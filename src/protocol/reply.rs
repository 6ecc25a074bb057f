//! Replies: the semantic vocabulary handlers speak, and the one encoder that renders it.
//!
//! Handlers never write bytes. They call typed methods on [`ReplyWriter`] (`null`,
//! `map_len`, `double`, ...) or hand it a composed [`Reply`]. The writer knows the
//! connection's protocol and is the only place where RESP2 and RESP3 differ: a RESP3
//! null is `_` everywhere, while RESP2 distinguishes `$-1` from `*-1`; maps, sets and
//! pushes fall back to arrays; doubles and big numbers fall back to bulk strings.

use bytes::Bytes;

use crate::util::numbers::format_double_17g;

/// The protocol a connection speaks, switched by `HELLO`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Protocol {
    #[default]
    Resp2,
    Resp3,
}

impl Protocol {
    /// The number `HELLO` reports for this protocol.
    pub fn version(self) -> i64 {
        match self {
            Protocol::Resp2 => 2,
            Protocol::Resp3 => 3,
        }
    }
}

/// An owned reply value, for replies composed before they are written (HELLO, script
/// results, pub/sub pushes, replies parsed back from RESP).
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// `+OK`
    Ok,
    /// A status reply: `+<text>`.
    Simple(Bytes),
    /// An error: the full text without the leading `-`, e.g. `ERR syntax error`.
    Error(Bytes),
    Int(i64),
    Bulk(Bytes),
    /// "No value": RESP2 `$-1`, RESP3 `_`.
    Null,
    /// "No array": RESP2 `*-1`, RESP3 `_`.
    NullArray,
    Array(Vec<Reply>),
    Map(Vec<(Reply, Reply)>),
    Set(Vec<Reply>),
    Double(f64),
    Bool(bool),
    BigNumber(Bytes),
    /// A verbatim string: (three-byte format such as `txt`, text).
    Verbatim(Bytes, Bytes),
    Push(Vec<Reply>),
}

impl Reply {
    /// A bulk string copied from a slice.
    pub fn bulk(bytes: &[u8]) -> Reply {
        Reply::Bulk(Bytes::copy_from_slice(bytes))
    }

    /// A status reply from static text.
    pub fn simple(text: &'static str) -> Reply {
        Reply::Simple(Bytes::from_static(text.as_bytes()))
    }

    /// Whether this reply is an error.
    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }
}

/// Appends replies to a connection's output buffer in its current protocol.
pub struct ReplyWriter<'a> {
    buf: &'a mut Vec<u8>,
    protocol: Protocol,
}

impl<'a> ReplyWriter<'a> {
    pub fn new(buf: &'a mut Vec<u8>, protocol: Protocol) -> Self {
        ReplyWriter { buf, protocol }
    }

    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// Changes the protocol for the replies that follow (HELLO switches before replying).
    pub fn set_protocol(&mut self, protocol: Protocol) {
        self.protocol = protocol;
    }

    /// Bytes written so far; used to undo a partial reply.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Drops everything written after `len`.
    pub fn truncate(&mut self, len: usize) {
        self.buf.truncate(len);
    }

    /// The raw buffer, for the few places that append pre-encoded frames.
    pub fn raw(&mut self) -> &mut Vec<u8> {
        self.buf
    }

    pub fn ok(&mut self) {
        self.buf.extend_from_slice(b"+OK\r\n");
    }

    /// `+<text>`; line breaks in the text become spaces so the frame stays valid.
    pub fn simple(&mut self, text: &[u8]) {
        self.buf.push(b'+');
        push_single_line(self.buf, text);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// `-<text>`, where `text` already starts with its error code (`ERR ...`).
    pub fn error(&mut self, text: &[u8]) {
        self.buf.push(b'-');
        push_single_line(self.buf, text);
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn int(&mut self, value: i64) {
        match value {
            0 => self.buf.extend_from_slice(b":0\r\n"),
            1 => self.buf.extend_from_slice(b":1\r\n"),
            _ => self.header(b':', value),
        }
    }

    pub fn bulk(&mut self, data: &[u8]) {
        self.header(b'$', data.len() as i64);
        self.buf.extend_from_slice(data);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// A bulk string holding the decimal text of an integer.
    pub fn bulk_int(&mut self, value: i64) {
        let mut text = itoa::Buffer::new();
        self.bulk(text.format(value).as_bytes());
    }

    /// "No value" (a missing key, field or member).
    pub fn null(&mut self) {
        match self.protocol {
            Protocol::Resp2 => self.buf.extend_from_slice(b"$-1\r\n"),
            Protocol::Resp3 => self.buf.extend_from_slice(b"_\r\n"),
        }
    }

    /// A bulk string, or "no value" when there is none (GET, HGET, LINDEX).
    #[inline]
    pub fn bulk_or_null(&mut self, data: Option<impl AsRef<[u8]>>) {
        match data {
            Some(data) => self.bulk(data.as_ref()),
            None => self.null(),
        }
    }

    /// "No array" (a blocking timeout, an aborted EXEC).
    pub fn null_array(&mut self) {
        match self.protocol {
            Protocol::Resp2 => self.buf.extend_from_slice(b"*-1\r\n"),
            Protocol::Resp3 => self.buf.extend_from_slice(b"_\r\n"),
        }
    }

    pub fn array_len(&mut self, len: usize) {
        self.header(b'*', len as i64);
    }

    /// A map of `len` pairs; RESP2 gets a flat array of `2 * len` elements.
    pub fn map_len(&mut self, len: usize) {
        match self.protocol {
            Protocol::Resp2 => self.header(b'*', 2 * len as i64),
            Protocol::Resp3 => self.header(b'%', len as i64),
        }
    }

    /// An array of `len` pairs (WITHSCORES, WITHVALUES): RESP3 nests each pair in a
    /// two-element array opened by [`pair`](Self::pair), RESP2 flattens them into
    /// `2 * len` elements. (A map would lose the order the client needs.)
    pub fn pairs_len(&mut self, len: usize) {
        match self.protocol {
            Protocol::Resp2 => self.header(b'*', 2 * len as i64),
            Protocol::Resp3 => self.header(b'*', len as i64),
        }
    }

    /// Opens one pair of a [`pairs_len`](Self::pairs_len) array.
    pub fn pair(&mut self) {
        if self.protocol == Protocol::Resp3 {
            self.buf.extend_from_slice(b"*2\r\n");
        }
    }

    pub fn set_len(&mut self, len: usize) {
        match self.protocol {
            Protocol::Resp2 => self.header(b'*', len as i64),
            Protocol::Resp3 => self.header(b'~', len as i64),
        }
    }

    pub fn push_len(&mut self, len: usize) {
        match self.protocol {
            Protocol::Resp2 => self.header(b'*', len as i64),
            Protocol::Resp3 => self.header(b'>', len as i64),
        }
    }

    /// A double, formatted as Redis 7.0 does (`%.17g`, `inf`, `-inf`).
    pub fn double(&mut self, value: f64) {
        let mut text = Vec::with_capacity(24);
        format_double_17g(value, &mut text);
        match self.protocol {
            Protocol::Resp2 => self.bulk(&text),
            Protocol::Resp3 => {
                self.buf.push(b',');
                self.buf.extend_from_slice(&text);
                self.buf.extend_from_slice(b"\r\n");
            }
        }
    }

    pub fn bool(&mut self, value: bool) {
        match (self.protocol, value) {
            (Protocol::Resp2, true) => self.buf.extend_from_slice(b":1\r\n"),
            (Protocol::Resp2, false) => self.buf.extend_from_slice(b":0\r\n"),
            (Protocol::Resp3, true) => self.buf.extend_from_slice(b"#t\r\n"),
            (Protocol::Resp3, false) => self.buf.extend_from_slice(b"#f\r\n"),
        }
    }

    pub fn big_number(&mut self, digits: &[u8]) {
        match self.protocol {
            Protocol::Resp2 => self.bulk(digits),
            Protocol::Resp3 => {
                self.buf.push(b'(');
                self.buf.extend_from_slice(digits);
                self.buf.extend_from_slice(b"\r\n");
            }
        }
    }

    /// A verbatim string (INFO, CLIENT INFO); RESP2 gets a plain bulk string.
    pub fn verbatim(&mut self, format: &[u8; 3], text: &[u8]) {
        match self.protocol {
            Protocol::Resp2 => self.bulk(text),
            Protocol::Resp3 => {
                self.header(b'=', text.len() as i64 + 4);
                self.buf.extend_from_slice(format);
                self.buf.push(b':');
                self.buf.extend_from_slice(text);
                self.buf.extend_from_slice(b"\r\n");
            }
        }
    }

    /// Writes a composed reply.
    pub fn reply(&mut self, reply: &Reply) {
        match reply {
            Reply::Ok => self.ok(),
            Reply::Simple(text) => self.simple(text),
            Reply::Error(text) => self.error(text),
            Reply::Int(value) => self.int(*value),
            Reply::Bulk(data) => self.bulk(data),
            Reply::Null => self.null(),
            Reply::NullArray => self.null_array(),
            Reply::Array(items) => {
                self.array_len(items.len());
                items.iter().for_each(|item| self.reply(item));
            }
            Reply::Map(pairs) => {
                self.map_len(pairs.len());
                for (key, value) in pairs {
                    self.reply(key);
                    self.reply(value);
                }
            }
            Reply::Set(items) => {
                self.set_len(items.len());
                items.iter().for_each(|item| self.reply(item));
            }
            Reply::Double(value) => self.double(*value),
            Reply::Bool(value) => self.bool(*value),
            Reply::BigNumber(digits) => self.big_number(digits),
            Reply::Verbatim(format, text) => {
                let mut fmt = *b"txt";
                if format.len() == 3 {
                    fmt.copy_from_slice(format);
                }
                self.verbatim(&fmt, text)
            }
            Reply::Push(items) => {
                self.push_len(items.len());
                items.iter().for_each(|item| self.reply(item));
            }
        }
    }

    fn header(&mut self, kind: u8, len: i64) {
        let mut digits = itoa::Buffer::new();
        self.buf.push(kind);
        self.buf.extend_from_slice(digits.format(len).as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }
}

/// Appends `text`, replacing CR and LF so a simple string or error stays on one line.
fn push_single_line(buf: &mut Vec<u8>, text: &[u8]) {
    if text.iter().any(|&b| b == b'\r' || b == b'\n') {
        buf.extend(
            text.iter()
                .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
        );
    } else {
        buf.extend_from_slice(text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(protocol: Protocol, reply: &Reply) -> Vec<u8> {
        let mut buf = Vec::new();
        ReplyWriter::new(&mut buf, protocol).reply(reply);
        buf
    }

    #[test]
    fn nulls_depend_on_protocol_and_context() {
        assert_eq!(render(Protocol::Resp2, &Reply::Null), b"$-1\r\n");
        assert_eq!(render(Protocol::Resp2, &Reply::NullArray), b"*-1\r\n");
        assert_eq!(render(Protocol::Resp3, &Reply::Null), b"_\r\n");
        assert_eq!(render(Protocol::Resp3, &Reply::NullArray), b"_\r\n");
    }

    #[test]
    fn aggregates_fall_back_to_arrays_in_resp2() {
        let map = Reply::Map(vec![(Reply::bulk(b"f"), Reply::bulk(b"v"))]);
        assert_eq!(
            render(Protocol::Resp3, &map),
            b"%1\r\n$1\r\nf\r\n$1\r\nv\r\n"
        );
        assert_eq!(
            render(Protocol::Resp2, &map),
            b"*2\r\n$1\r\nf\r\n$1\r\nv\r\n"
        );
        let set = Reply::Set(vec![Reply::bulk(b"a")]);
        assert_eq!(render(Protocol::Resp3, &set), b"~1\r\n$1\r\na\r\n");
        assert_eq!(render(Protocol::Resp2, &set), b"*1\r\n$1\r\na\r\n");
        let push = Reply::Push(vec![Reply::Int(1)]);
        assert_eq!(render(Protocol::Resp3, &push), b">1\r\n:1\r\n");
        assert_eq!(render(Protocol::Resp2, &push), b"*1\r\n:1\r\n");
    }

    #[test]
    fn doubles_and_booleans() {
        assert_eq!(render(Protocol::Resp3, &Reply::Double(0.5)), b",0.5\r\n");
        assert_eq!(
            render(Protocol::Resp2, &Reply::Double(0.5)),
            b"$3\r\n0.5\r\n"
        );
        assert_eq!(
            render(Protocol::Resp3, &Reply::Double(f64::INFINITY)),
            b",inf\r\n"
        );
        assert_eq!(render(Protocol::Resp3, &Reply::Bool(true)), b"#t\r\n");
        assert_eq!(render(Protocol::Resp2, &Reply::Bool(false)), b":0\r\n");
    }

    #[test]
    fn pairs_nest_in_resp3_and_flatten_in_resp2() {
        for (protocol, expected) in [
            (Protocol::Resp3, &b"*1\r\n*2\r\n$1\r\nm\r\n,0.5\r\n"[..]),
            (Protocol::Resp2, &b"*2\r\n$1\r\nm\r\n$3\r\n0.5\r\n"[..]),
        ] {
            let mut buf = Vec::new();
            let mut out = ReplyWriter::new(&mut buf, protocol);
            out.pairs_len(1);
            out.pair();
            out.bulk(b"m");
            out.double(0.5);
            assert_eq!(buf, expected);
        }
    }

    #[test]
    fn verbatim_strings() {
        let reply = Reply::Verbatim(Bytes::from_static(b"txt"), Bytes::from_static(b"hi"));
        assert_eq!(render(Protocol::Resp3, &reply), b"=6\r\ntxt:hi\r\n");
        assert_eq!(render(Protocol::Resp2, &reply), b"$2\r\nhi\r\n");
    }

    #[test]
    fn errors_and_statuses_stay_on_one_line() {
        assert_eq!(
            render(
                Protocol::Resp2,
                &Reply::Error(Bytes::from_static(b"ERR a\r\nb"))
            ),
            b"-ERR a  b\r\n"
        );
        assert_eq!(
            render(Protocol::Resp2, &Reply::simple("PONG")),
            b"+PONG\r\n"
        );
        assert_eq!(render(Protocol::Resp2, &Reply::Int(-2)), b":-2\r\n");
    }
}

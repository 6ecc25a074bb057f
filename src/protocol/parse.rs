//! Reading RESP replies back into [`Reply`] values.
//!
//! The server renders every reply through one encoder; scripts (which see command
//! results as Lua values) and tests read those bytes back with this parser.

use bytes::Bytes;

use crate::protocol::reply::Reply;
use crate::util::numbers::{parse_f64, parse_i64};

/// Parses one reply from the start of `buf`.
///
/// # Returns
/// The reply and the number of bytes it took, or `None` when `buf` does not start
/// with a complete, well-formed reply.
pub fn parse_reply(buf: &[u8]) -> Option<(Reply, usize)> {
    let mut pos = 0;
    let reply = parse_at(buf, &mut pos)?;
    Some((reply, pos))
}

/// Parses every reply in `buf`; `None` if anything is incomplete or malformed.
pub fn parse_all(buf: &[u8]) -> Option<Vec<Reply>> {
    let mut pos = 0;
    let mut replies = Vec::new();
    while pos < buf.len() {
        replies.push(parse_at(buf, &mut pos)?);
    }
    Some(replies)
}

fn line<'a>(buf: &'a [u8], pos: &mut usize) -> Option<&'a [u8]> {
    let rest = buf.get(*pos..)?;
    let end = rest.windows(2).position(|w| w == b"\r\n")?;
    *pos += end + 2;
    Some(&rest[..end])
}

fn length(text: &[u8]) -> Option<i64> {
    parse_i64(text)
}

fn items(buf: &[u8], pos: &mut usize, count: i64) -> Option<Vec<Reply>> {
    (0..count).map(|_| parse_at(buf, pos)).collect()
}

fn blob<'a>(buf: &'a [u8], pos: &mut usize, len: i64) -> Option<&'a [u8]> {
    let len = usize::try_from(len).ok()?;
    let data = buf.get(*pos..*pos + len)?;
    if buf.get(*pos + len..*pos + len + 2)? != b"\r\n" {
        return None;
    }
    *pos += len + 2;
    Some(data)
}

fn parse_at(buf: &[u8], pos: &mut usize) -> Option<Reply> {
    let kind = *buf.get(*pos)?;
    *pos += 1;
    let text = line(buf, pos)?;
    let copy = |t: &[u8]| Bytes::copy_from_slice(t);
    Some(match kind {
        b'+' if text == b"OK" => Reply::Ok,
        b'+' => Reply::Simple(copy(text)),
        b'-' => Reply::Error(copy(text)),
        b':' => Reply::Int(length(text)?),
        b'_' => Reply::Null,
        b',' => Reply::Double(match text {
            b"inf" => f64::INFINITY,
            b"-inf" => f64::NEG_INFINITY,
            other => parse_f64(other)?,
        }),
        b'#' => Reply::Bool(text == b"t"),
        b'(' => Reply::BigNumber(copy(text)),
        b'$' | b'!' | b'=' => {
            let len = length(text)?;
            if len < 0 {
                return Some(Reply::Null);
            }
            let data = blob(buf, pos, len)?;
            match kind {
                b'$' => Reply::Bulk(copy(data)),
                b'!' => Reply::Error(copy(data)),
                _ if data.len() >= 4 => Reply::Verbatim(copy(&data[..3]), copy(&data[4..])),
                _ => return None,
            }
        }
        b'*' | b'~' | b'>' => {
            let count = length(text)?;
            if count < 0 {
                return Some(Reply::NullArray);
            }
            let list = items(buf, pos, count)?;
            match kind {
                b'*' => Reply::Array(list),
                b'~' => Reply::Set(list),
                _ => Reply::Push(list),
            }
        }
        b'%' => {
            let count = length(text)?;
            let flat = items(buf, pos, count.checked_mul(2)?)?;
            let mut pairs = Vec::with_capacity(flat.len() / 2);
            let mut iter = flat.into_iter();
            while let (Some(k), Some(v)) = (iter.next(), iter.next()) {
                pairs.push((k, v));
            }
            Reply::Map(pairs)
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::reply::{Protocol, ReplyWriter};

    #[test]
    fn round_trips_through_the_encoder() {
        let reply = Reply::Array(vec![
            Reply::Ok,
            Reply::Int(-3),
            Reply::bulk(b"a\r\nb"),
            Reply::Null,
            Reply::Map(vec![(Reply::bulk(b"k"), Reply::Double(1.5))]),
            Reply::Set(vec![Reply::Bool(true)]),
            Reply::Error(Bytes::from_static(b"ERR x")),
        ]);
        let mut buf = Vec::new();
        ReplyWriter::new(&mut buf, Protocol::Resp3).reply(&reply);
        assert_eq!(parse_reply(&buf), Some((reply, buf.len())));
    }

    #[test]
    fn incomplete_input() {
        assert_eq!(parse_reply(b"$5\r\nab"), None);
        assert_eq!(parse_reply(b"*2\r\n:1\r\n"), None);
    }

    #[test]
    fn resp2_nulls() {
        assert_eq!(
            parse_all(b"$-1\r\n*-1\r\n"),
            Some(vec![Reply::Null, Reply::NullArray])
        );
    }
}

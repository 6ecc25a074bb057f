//! Differential helpers for commands that answer with several frames (SUBSCRIBE a b,
//! pipelined transactions) and for connections that receive pushes.

#![allow(dead_code)]

use crate::common::{Differential, RawClient, encode_command};

/// Splits a line into words and encodes it as a request.
pub fn request(line: &str) -> Vec<u8> {
    let words: Vec<&[u8]> = line.split_whitespace().map(str::as_bytes).collect();
    encode_command(&words)
}

/// Reads `n` replies and returns their bytes, concatenated.
pub fn read_n(client: &mut RawClient, n: usize) -> Vec<u8> {
    (0..n).flat_map(|_| client.read_raw()).collect()
}

pub trait PairExt {
    /// Sends `bytes` to both sides as they are.
    fn send_both(&mut self, bytes: &[u8]);
    /// Reads `n` replies from each side and asserts the bytes are identical.
    fn expect_same(&mut self, n: usize, what: &str) -> Vec<u8>;
    /// Sends one command line (words split on spaces) and compares `n` replies.
    fn check_n(&mut self, line: &str, n: usize) -> Vec<u8>;
}

impl PairExt for Differential {
    fn send_both(&mut self, bytes: &[u8]) {
        self.redis.send(bytes);
        self.ours.send(bytes);
    }

    fn expect_same(&mut self, n: usize, what: &str) -> Vec<u8> {
        let expected = read_n(&mut self.redis, n);
        let actual = read_n(&mut self.ours, n);
        assert_eq!(
            String::from_utf8_lossy(&actual),
            String::from_utf8_lossy(&expected),
            "differs from redis-server after {what}"
        );
        actual
    }

    fn check_n(&mut self, line: &str, n: usize) -> Vec<u8> {
        self.send_both(&request(line));
        self.expect_same(n, line)
    }
}

//! A buffered file reader for the loaders: large sequential reads, byte offsets for
//! error messages, and a checksum over exactly the bytes consumed.

use std::fs::File;
use std::io::{self, Read};

/// How much is read from the file at a time.
const CHUNK: usize = 4 * 1024 * 1024;

/// A file read through one growing buffer.
pub struct Input {
    file: File,
    buf: Vec<u8>,
    /// Next unconsumed byte in `buf`.
    pos: usize,
    /// File offset of `buf[0]`.
    base: u64,
    eof: bool,
    /// Checksum of consumed bytes, while one is being kept.
    crc: Option<crc32fast::Hasher>,
    /// First byte of `buf` not yet fed to `crc`.
    crc_from: usize,
}

impl Input {
    /// Reads `file` from its current position, which is file offset `offset`.
    pub fn new(file: File, offset: u64) -> Self {
        Input {
            file,
            buf: Vec::with_capacity(CHUNK),
            pos: 0,
            base: offset,
            eof: false,
            crc: None,
            crc_from: 0,
        }
    }

    /// File offset of the next unconsumed byte.
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// The unconsumed bytes buffered so far.
    pub fn buffered(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    /// The buffered bytes already consumed (the most recent ones last); they stay
    /// until the next read from the file.
    pub fn buffered_before(&self) -> &[u8] {
        &self.buf[..self.pos]
    }

    /// Marks `n` buffered bytes as consumed.
    pub fn consume(&mut self, n: usize) {
        debug_assert!(self.pos + n <= self.buf.len());
        self.pos += n;
    }

    /// Whether the end of the file has been reached (nothing more can be buffered).
    pub fn at_eof(&self) -> bool {
        self.eof
    }

    /// Reads more of the file into the buffer: at least `at_least` more bytes if the
    /// file has them.
    ///
    /// # Returns
    /// False once the file is exhausted and nothing was added.
    pub fn fill_more(&mut self, at_least: usize) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        self.compact();
        let target = self.buf.len() + at_least.max(CHUNK);
        let mut added = false;
        while self.buf.len() < target {
            let start = self.buf.len();
            self.buf.resize(target, 0);
            let read = match self.file.read(&mut self.buf[start..]) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => 0,
                Err(e) => {
                    self.buf.truncate(start);
                    return Err(e);
                }
            };
            self.buf.truncate(start + read);
            if read == 0 {
                self.eof = true;
                break;
            }
            added = true;
            if self.buf.len() - self.pos >= at_least {
                break;
            }
        }
        Ok(added)
    }

    /// Drops consumed bytes from the buffer (feeding them to the checksum first).
    fn compact(&mut self) {
        if self.pos == 0 {
            return;
        }
        self.feed_crc();
        self.buf.drain(..self.pos);
        self.base += self.pos as u64;
        self.crc_from = 0;
        self.pos = 0;
    }

    fn feed_crc(&mut self) {
        if let Some(crc) = self.crc.as_mut() {
            crc.update(&self.buf[self.crc_from..self.pos]);
        }
        self.crc_from = self.pos;
    }

    /// Starts a checksum over the bytes consumed from now on.
    pub fn start_crc(&mut self) {
        self.crc_from = self.pos;
        self.crc = Some(crc32fast::Hasher::new());
    }

    /// The checksum of the bytes consumed since [`Input::start_crc`]; stops it.
    pub fn finish_crc(&mut self) -> u32 {
        self.feed_crc();
        self.crc.take().map_or(0, |crc| crc.finalize())
    }

    /// Consumes exactly `n` bytes.
    pub fn take(&mut self, n: usize) -> io::Result<&[u8]> {
        while self.buf.len() - self.pos < n {
            let missing = n - (self.buf.len() - self.pos);
            if !self.fill_more(missing)? {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
        let start = self.pos;
        self.pos += n;
        Ok(&self.buf[start..start + n])
    }

    pub fn byte(&mut self) -> io::Result<u8> {
        Ok(self.take(1)?[0])
    }

    pub fn u64_le(&mut self) -> io::Result<u64> {
        let bytes = self.take(8)?;
        Ok(u64::from_le_bytes(bytes.try_into().expect("8 bytes")))
    }

    pub fn u32_le(&mut self) -> io::Result<u32> {
        let bytes = self.take(4)?;
        Ok(u32::from_le_bytes(bytes.try_into().expect("4 bytes")))
    }

    /// An unsigned LEB128 number.
    pub fn varint(&mut self) -> io::Result<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "varint too long",
        ))
    }

    /// A length-prefixed byte string.
    pub fn bytes(&mut self) -> io::Result<&[u8]> {
        let len = self.varint()?;
        let len = usize::try_from(len)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "length too large"))?;
        self.take(len)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::{Seek, Write};

    #[test]
    fn checksums_cover_exactly_the_consumed_bytes() {
        let mut file = tempfile_in_target("input-crc");
        file.write_all(b"headerpayload-tail").unwrap();
        file.rewind().unwrap();
        let mut input = Input::new(file, 0);
        assert_eq!(input.take(6).unwrap(), b"header");
        input.start_crc();
        assert_eq!(input.take(7).unwrap(), b"payload");
        assert_eq!(input.finish_crc(), crc32fast::hash(b"payload"));
        assert_eq!(input.offset(), 13);
        assert_eq!(input.buffered(), b"-tail");
        assert!(input.take(6).is_err());
    }

    pub(crate) fn tempfile_in_target(name: &str) -> File {
        let path = std::env::temp_dir().join(format!(
            "broker-{name}-{}-{}",
            std::process::id(),
            crate::server::random_hex(8)
        ));
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        let _ = std::fs::remove_file(&path);
        file
    }
}

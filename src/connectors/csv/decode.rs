//! Byte sources for the record reader: a counting file reader (progress) and a transcoder
//! from GBK / GB18030 / UTF-16 to UTF-8 that remembers whether it met bytes that are not
//! valid in the encoding.
//!
//! The transcoder replaces bad bytes with U+FFFD (so line structure survives) and counts
//! them; the row reader then sends a record holding U+FFFD to the error output. A file
//! that is UTF-8 never passes through here.

use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

/// Counts the bytes read from the inner reader into a shared counter.
pub(crate) struct CountingRead<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R> CountingRead<R> {
    pub fn new(inner: R, count: Arc<AtomicU64>) -> Self {
        CountingRead { inner, count }
    }
}

impl<R: Read> Read for CountingRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Relaxed);
        Ok(n)
    }
}

/// Size of the raw-byte chunks read before decoding.
const RAW_CHUNK: usize = 256 * 1024;

/// Transcodes an encoded byte stream to UTF-8.
pub(crate) struct DecodeRead<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    raw: Vec<u8>,
    raw_pos: usize,
    raw_end: usize,
    inner_eof: bool,
    done: bool,
    /// Times bad input was replaced by U+FFFD so far.
    malformed: Arc<AtomicU64>,
    /// Decoded bytes not yet handed out (only for callers with tiny buffers).
    pend: [u8; 16],
    pend_pos: usize,
    pend_len: usize,
}

impl<R: Read> DecodeRead<R> {
    pub fn new(inner: R, decoder: encoding_rs::Decoder, malformed: Arc<AtomicU64>) -> Self {
        DecodeRead {
            inner,
            decoder,
            raw: vec![0; RAW_CHUNK],
            raw_pos: 0,
            raw_end: 0,
            inner_eof: false,
            done: false,
            malformed,
            pend: [0; 16],
            pend_pos: 0,
            pend_len: 0,
        }
    }
}

impl<R: Read> DecodeRead<R> {
    /// Decodes into `dst` (at least 16 bytes); 0 only at the end of the input.
    fn decode_into(&mut self, dst: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.done {
                return Ok(0);
            }
            if self.raw_pos == self.raw_end && !self.inner_eof {
                self.raw_pos = 0;
                self.raw_end = loop {
                    match self.inner.read(&mut self.raw) {
                        Ok(n) => break n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(e),
                    }
                };
                if self.raw_end == 0 {
                    self.inner_eof = true;
                }
            }
            let last = self.inner_eof;
            let (result, read, written, had_errors) =
                self.decoder.decode_to_utf8(&self.raw[self.raw_pos..self.raw_end], dst, last);
            self.raw_pos += read;
            if had_errors {
                self.malformed.fetch_add(1, Relaxed);
            }
            if last && result == encoding_rs::CoderResult::InputEmpty {
                self.done = true;
            }
            if written > 0 {
                return Ok(written);
            }
        }
    }
}

impl<R: Read> Read for DecodeRead<R> {
    fn read(&mut self, dst: &mut [u8]) -> io::Result<usize> {
        if self.pend_pos < self.pend_len {
            let n = dst.len().min(self.pend_len - self.pend_pos);
            dst[..n].copy_from_slice(&self.pend[self.pend_pos..self.pend_pos + n]);
            self.pend_pos += n;
            return Ok(n);
        }
        if dst.len() >= self.pend.len() {
            return self.decode_into(dst);
        }
        // A caller buffer too small for a whole character: decode into a side buffer.
        let mut pend = [0u8; 16];
        self.pend_len = self.decode_into(&mut pend)?;
        self.pend = pend;
        self.pend_pos = 0;
        if self.pend_len == 0 {
            return Ok(0);
        }
        self.read(dst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_gbk_and_counts_bad_bytes() {
        let (bytes, _, _) = encoding_rs::GBK.encode("客户,电话\n张三,1\n");
        let bad = Arc::new(AtomicU64::new(0));
        let mut r = DecodeRead::new(&bytes[..], encoding_rs::GBK.new_decoder_without_bom_handling(), bad.clone());
        let mut s = String::new();
        r.read_to_string(&mut s).unwrap();
        assert_eq!(s, "客户,电话\n张三,1\n");
        assert_eq!(bad.load(Relaxed), 0);

        let mut broken = bytes.to_vec();
        broken.extend_from_slice(&[0x81, b',', b'2', b'\n']);
        let mut r = DecodeRead::new(&broken[..], encoding_rs::GBK.new_decoder_without_bom_handling(), bad.clone());
        let mut s = String::new();
        r.read_to_string(&mut s).unwrap();
        assert!(s.ends_with("\u{FFFD},2\n"), "{s:?}");
        assert_eq!(bad.load(Relaxed), 1);
    }
}

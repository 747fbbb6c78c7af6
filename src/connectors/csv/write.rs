//! Rows → CSV lines: value text, quoting, null marker, line ending, and the output
//! encoding. A row that cannot be encoded (a character GBK does not have) is refused whole,
//! so the output never holds half a line or a silently replaced character.
//!
//! UTF-8 lines are written straight into the caller's buffer; other encodings go through
//! one scratch line first.

use super::{LineEnding, QuoteStyle, WriteEncoding};
use crate::value::{write_value_text, Value};
use chrono::{Datelike, Timelike};

/// How to write CSV.
#[derive(Debug, Clone)]
pub struct WriteOptions {
    pub delimiter: u8,
    pub quote: u8,
    /// Written for null values.
    pub null_marker: String,
    pub encoding: WriteEncoding,
    pub line_ending: LineEnding,
    pub quote_style: QuoteStyle,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            delimiter: b',',
            quote: b'"',
            null_marker: String::new(),
            encoding: WriteEncoding::Utf8,
            line_ending: LineEnding::Lf,
            quote_style: QuoteStyle::Necessary,
        }
    }
}

/// A character the output encoding cannot hold.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("cannot be written in {encoding}: character '{ch}' (U+{:04X})", *ch as u32)]
pub struct EncodeError {
    pub ch: char,
    /// Index of the column holding it.
    pub column: usize,
    pub encoding: &'static str,
}

/// Formats rows as CSV lines in the configured encoding.
pub struct CsvRowWriter {
    opts: WriteOptions,
    encoder: Option<encoding_rs::Encoder>,
    /// The UTF-8 line before encoding (non-UTF-8 outputs only).
    line: Vec<u8>,
    /// Start offset of each column in `line`.
    starts: Vec<usize>,
    text: Vec<u8>,
}

impl CsvRowWriter {
    pub fn new(opts: WriteOptions) -> Self {
        let encoder = match opts.encoding {
            WriteEncoding::Gbk => Some(encoding_rs::GBK.new_encoder()),
            WriteEncoding::Gb18030 => Some(encoding_rs::GB18030.new_encoder()),
            _ => None,
        };
        CsvRowWriter { opts, encoder, line: Vec::new(), starts: Vec::new(), text: Vec::new() }
    }

    pub fn options(&self) -> &WriteOptions {
        &self.opts
    }

    /// Bytes that start a new file (a byte-order mark), if the encoding has them.
    pub fn bom(&self) -> &'static [u8] {
        match self.opts.encoding {
            WriteEncoding::Utf8Bom => b"\xEF\xBB\xBF",
            WriteEncoding::Utf16Le => b"\xFF\xFE",
            _ => b"",
        }
    }

    /// The line ending, encoded.
    pub fn line_ending(&self) -> Vec<u8> {
        let le = self.opts.line_ending.bytes();
        match self.opts.encoding {
            WriteEncoding::Utf16Le => le.iter().flat_map(|&b| [b, 0]).collect(),
            _ => le.to_vec(),
        }
    }

    /// Appends the header line to `out`.
    pub fn write_header(&mut self, names: &[&str], out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let values: Vec<Value> = names.iter().map(|n| Value::str(n)).collect();
        self.write_row(values.iter().map(Some), out)
    }

    /// Appends one row to `out`: a value per column, `None` where the row has no such
    /// column (written like null). On an encoding error nothing is appended.
    pub fn write_row<'a>(
        &mut self,
        values: impl ExactSizeIterator<Item = Option<&'a Value>>,
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        let single = values.len() == 1;
        match self.opts.encoding {
            WriteEncoding::Utf8 | WriteEncoding::Utf8Bom => {
                self.format_line(values, single, out, false);
                Ok(())
            }
            _ => {
                let mut line = std::mem::take(&mut self.line);
                line.clear();
                self.format_line(values, single, &mut line, true);
                let r = self.encode(&line, out);
                self.line = line;
                r
            }
        }
    }

    fn format_line<'a>(
        &mut self,
        values: impl Iterator<Item = Option<&'a Value>>,
        single: bool,
        buf: &mut Vec<u8>,
        track_starts: bool,
    ) {
        if track_starts {
            self.starts.clear();
        }
        for (i, v) in values.enumerate() {
            if i > 0 {
                buf.push(self.opts.delimiter);
            }
            if track_starts {
                self.starts.push(buf.len());
            }
            self.push_value(buf, v, single);
        }
        buf.extend_from_slice(self.opts.line_ending.bytes());
    }

    /// Whether `bytes` holds the delimiter, the quote or a line break. Every value of
    /// every row passes here and most are short, so the test runs on 8-byte words (SWAR:
    /// a byte equal to `x` is a zero byte of `word ^ splat(x)`) rather than byte by byte.
    #[inline]
    fn needs_quote(&self, bytes: &[u8]) -> bool {
        const LO: u64 = 0x0101_0101_0101_0101;
        const HI: u64 = 0x8080_8080_8080_8080;
        let n = bytes.len();
        if n == 0 {
            return false;
        }
        let (d, q) = (LO * self.opts.delimiter as u64, LO * self.opts.quote as u64);
        let (lf, cr) = (LO * b'\n' as u64, LO * b'\r' as u64);
        let zero = |x: u64| x.wrapping_sub(LO) & !x & HI;
        let hit = |w: u64| (zero(w ^ d) | zero(w ^ q) | zero(w ^ lf) | zero(w ^ cr)) != 0;
        if n < 8 {
            // Pad with the first byte: it is tested anyway, so padding adds no false hit.
            let mut word = [bytes[0]; 8];
            word[..n].copy_from_slice(bytes);
            return hit(u64::from_le_bytes(word));
        }
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            if hit(u64::from_le_bytes(c.try_into().expect("8 bytes"))) {
                return true;
            }
        }
        // The tail, as the last 8 bytes (overlapping what was tested).
        !chunks.remainder().is_empty() && hit(u64::from_le_bytes(bytes[n - 8..].try_into().expect("8 bytes")))
    }

    #[inline]
    fn push_value(&mut self, buf: &mut Vec<u8>, v: Option<&Value>, single: bool) {
        let q = self.opts.quote;
        match v {
            None | Some(Value::Null) => {
                // A lone empty field would make an empty line, which readers skip.
                if single && self.opts.null_marker.is_empty() {
                    buf.extend_from_slice(&[q, q]);
                } else {
                    buf.extend_from_slice(self.opts.null_marker.as_bytes());
                }
            }
            Some(Value::String(s)) => {
                let b = s.as_bytes();
                let force = self.opts.quote_style != QuoteStyle::Necessary || (single && b.is_empty());
                if force || self.needs_quote(b) {
                    push_quoted(buf, b, q);
                } else {
                    buf.extend_from_slice(b);
                }
            }
            Some(v) => {
                let numeric = matches!(v, Value::Int(_) | Value::Float(_) | Value::Decimal(_));
                let start = buf.len();
                match v {
                    Value::DateTime(dt) => write_datetime(buf, dt),
                    _ => write_value_text(buf, v),
                }
                let force = match self.opts.quote_style {
                    QuoteStyle::Necessary => false,
                    QuoteStyle::Always => true,
                    QuoteStyle::NonNumeric => !numeric,
                };
                if force || self.needs_quote(&buf[start..]) {
                    self.text.clear();
                    self.text.extend_from_slice(&buf[start..]);
                    buf.truncate(start);
                    push_quoted(buf, &self.text, q);
                }
            }
        }
    }

    fn encode(&mut self, line: &[u8], out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let text = std::str::from_utf8(line).expect("formatted lines are UTF-8");
        if self.opts.encoding == WriteEncoding::Utf16Le {
            out.reserve(text.len() * 2);
            for u in text.encode_utf16() {
                out.extend_from_slice(&u.to_le_bytes());
            }
            return Ok(());
        }
        let encoding = self.opts.encoding.name();
        let enc = self.encoder.as_mut().expect("an encoder for non-UTF encodings");
        let start = out.len();
        let mut done = 0;
        loop {
            let need = enc.max_buffer_length_from_utf8_without_replacement(text.len() - done).unwrap_or(text.len() * 4);
            out.reserve(need);
            let (res, read) = enc.encode_from_utf8_to_vec_without_replacement(&text[done..], out, false);
            done += read;
            match res {
                encoding_rs::EncoderResult::InputEmpty => return Ok(()),
                encoding_rs::EncoderResult::OutputFull => continue,
                encoding_rs::EncoderResult::Unmappable(ch) => {
                    out.truncate(start);
                    let at = done - ch.len_utf8();
                    let column = self.starts.iter().rposition(|&s| s <= at).unwrap_or(0);
                    return Err(EncodeError { ch, column, encoding });
                }
            }
        }
    }
}

fn push_quoted(buf: &mut Vec<u8>, b: &[u8], q: u8) {
    buf.reserve(b.len() + 2);
    buf.push(q);
    let mut rest = b;
    while let Some(i) = rest.iter().position(|&c| c == q) {
        buf.extend_from_slice(&rest[..=i]);
        buf.push(q);
        rest = &rest[i + 1..];
    }
    buf.extend_from_slice(rest);
    buf.push(q);
}

/// The same text as `format_datetime` (RFC 3339, `Z` for UTC, sub-seconds only when set)
/// without its allocation, for the common case; anything unusual goes the general way.
fn write_datetime(buf: &mut Vec<u8>, dt: &chrono::DateTime<chrono::FixedOffset>) {
    let local = dt.naive_local();
    let offset = dt.offset().local_minus_utc();
    let year = local.year();
    if !(0..=9999).contains(&year) || local.nanosecond() != 0 || offset % 60 != 0 {
        write_value_text(buf, &Value::DateTime(*dt));
        return;
    }
    let two = |buf: &mut Vec<u8>, n: u32| {
        buf.push(b'0' + (n / 10) as u8);
        buf.push(b'0' + (n % 10) as u8);
    };
    let y = year as u32;
    two(buf, y / 100);
    two(buf, y % 100);
    buf.push(b'-');
    two(buf, local.month());
    buf.push(b'-');
    two(buf, local.day());
    buf.push(b'T');
    two(buf, local.hour());
    buf.push(b':');
    two(buf, local.minute());
    buf.push(b':');
    two(buf, local.second());
    if offset == 0 {
        buf.push(b'Z');
    } else {
        buf.push(if offset < 0 { b'-' } else { b'+' });
        let m = offset.unsigned_abs() / 60;
        two(buf, m / 60);
        buf.push(b':');
        two(buf, m % 60);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::{format_datetime, parse_text_as, DataType};

    fn line(w: &mut CsvRowWriter, vals: &[Value]) -> Vec<u8> {
        let mut out = Vec::new();
        w.write_row(vals.iter().map(Some), &mut out).unwrap();
        out
    }

    #[test]
    fn quoting_styles() {
        let vals = [Value::Int(1), Value::str("a,b"), Value::str("say \"hi\""), Value::Null, Value::str("plain")];
        let mut w = CsvRowWriter::new(WriteOptions::default());
        assert_eq!(line(&mut w, &vals), b"1,\"a,b\",\"say \"\"hi\"\"\",,plain\n");
        let mut w = CsvRowWriter::new(WriteOptions { quote_style: QuoteStyle::Always, ..Default::default() });
        assert_eq!(line(&mut w, &vals), b"\"1\",\"a,b\",\"say \"\"hi\"\"\",,\"plain\"\n");
        let mut w = CsvRowWriter::new(WriteOptions {
            quote_style: QuoteStyle::NonNumeric,
            line_ending: LineEnding::Crlf,
            null_marker: "NULL".into(),
            ..Default::default()
        });
        assert_eq!(line(&mut w, &vals), b"1,\"a,b\",\"say \"\"hi\"\"\",NULL,\"plain\"\r\n");
        let mut w = CsvRowWriter::new(WriteOptions { delimiter: b'\t', ..Default::default() });
        assert_eq!(line(&mut w, &[Value::str("a,b"), Value::str("x\ty")]), b"a,b\t\"x\ty\"\n");
        // A lone null must not become an empty line.
        let mut w = CsvRowWriter::new(WriteOptions::default());
        assert_eq!(line(&mut w, &[Value::Null]), b"\"\"\n");
    }

    #[test]
    fn quote_detection_at_every_position() {
        let w = CsvRowWriter::new(WriteOptions { delimiter: b';', ..Default::default() });
        for len in 1..40 {
            let plain = vec![b'a'; len];
            assert!(!w.needs_quote(&plain), "{len}");
            for pos in 0..len {
                for special in [b';', b'"', b'\n', b'\r'] {
                    let mut v = plain.clone();
                    v[pos] = special;
                    assert!(w.needs_quote(&v), "{len} {pos} {special}");
                }
                let mut v = plain.clone();
                v[pos] = b',';
                assert!(!w.needs_quote(&v));
                // Bytes just below and above a special one must not trip the test.
                v[pos] = 0x80 | b';';
                assert!(!w.needs_quote(&v));
            }
        }
        assert!(!w.needs_quote("客户名称，很长的中文文本".as_bytes()));
    }

    #[test]
    fn datetimes_match_the_general_format() {
        for t in [
            "2024-01-01T00:00:30+08:00",
            "2024-03-05T07:22:31Z",
            "1999-12-31T23:59:59-05:30",
            "2024-03-05T07:22:31.250+08:00",
        ] {
            let v = parse_text_as(t, DataType::DateTime).unwrap();
            let Value::DateTime(dt) = &v else { panic!() };
            let mut out = Vec::new();
            write_datetime(&mut out, dt);
            assert_eq!(String::from_utf8(out).unwrap(), format_datetime(dt), "{t}");
        }
    }

    #[test]
    fn encodings() {
        let vals = [Value::str("张三"), Value::str("北京")];
        let mut w = CsvRowWriter::new(WriteOptions { encoding: WriteEncoding::Gbk, ..Default::default() });
        let out = line(&mut w, &vals);
        assert_eq!(out, encoding_rs::GBK.encode("张三,北京\n").0.to_vec());
        let mut out = Vec::new();
        let e = w.write_row([Value::str("ok"), Value::str("emoji 😀")].iter().map(Some), &mut out).unwrap_err();
        assert!(out.is_empty());
        assert_eq!(e.column, 1);
        assert_eq!(e.to_string(), "cannot be written in GBK: character '😀' (U+1F600)");
        let mut w = CsvRowWriter::new(WriteOptions { encoding: WriteEncoding::Gb18030, ..Default::default() });
        assert!(w.write_row([Value::str("emoji 😀")].iter().map(Some), &mut out).is_ok());

        let mut w = CsvRowWriter::new(WriteOptions { encoding: WriteEncoding::Utf16Le, ..Default::default() });
        assert_eq!(w.bom(), b"\xFF\xFE");
        assert_eq!(line(&mut w, &[Value::str("张")]), vec![0x20, 0x5F, b'\n', 0]);
        assert_eq!(w.line_ending(), vec![b'\n', 0]);
    }
}

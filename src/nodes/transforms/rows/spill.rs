//! Rows on disk, for nodes that hold more than their memory budget (`sort`'s runs, the
//! left rows `join` holds back while it reads its right input), and the row size estimate
//! those budgets are counted in.
//!
//! The encoding is private to one run — a file is written and read back by the same
//! process and removed when dropped — so it has no version header and no schema: each
//! record is a caller's tag (`sort` uses it for the schema a row came with), the number of
//! values, then each value as a type byte and its payload. Every [`Value`] round-trips
//! exactly: floats by their bits (NaN payloads and `-0.0` included), decimals with their
//! scale (`1.50` stays `1.50`), date-times with their offset, JSON with its key order and
//! its numbers as written.

use crate::value::{Row, Value};
use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone};
use compact_str::CompactString;
use rust_decimal::Decimal;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::Path;
use std::sync::Arc;
use tempfile::NamedTempFile;

/// A rough count of the bytes a row holds in memory: the row's own slots, plus the heap
/// text of strings too long to be stored inline, plus an estimate for JSON values. Used
/// for memory budgets, where being within a few tens of percent is enough.
pub fn approx_row_bytes(row: &Row) -> usize {
    let mut n = std::mem::size_of::<Row>() + row.capacity() * std::mem::size_of::<Value>();
    for v in row {
        match v {
            Value::String(s) if s.is_heap_allocated() => n += s.capacity(),
            Value::Json(j) => n += approx_json_bytes(j),
            _ => {}
        }
    }
    n
}

fn approx_json_bytes(j: &serde_json::Value) -> usize {
    use serde_json::Value as J;
    32 + match j {
        J::String(s) => s.len(),
        J::Array(a) => a.iter().map(approx_json_bytes).sum(),
        J::Object(m) => m.iter().map(|(k, v)| k.len() + 32 + approx_json_bytes(v)).sum(),
        _ => 0,
    }
}

// Type bytes of the encoding.
const T_NULL: u8 = 0;
const T_FALSE: u8 = 1;
const T_TRUE: u8 = 2;
const T_INT: u8 = 3;
const T_FLOAT: u8 = 4;
const T_DECIMAL: u8 = 5;
const T_STRING: u8 = 6;
const T_DATE: u8 = 7;
const T_DATETIME: u8 = 8;
const T_JSON: u8 = 9;

// JSON node bytes.
const J_NULL: u8 = 0;
const J_FALSE: u8 = 1;
const J_TRUE: u8 = 2;
const J_UINT: u8 = 3;
const J_STRING: u8 = 4;
const J_ARRAY: u8 = 5;
const J_OBJECT: u8 = 6;
const J_INT: u8 = 7;
const J_FLOAT: u8 = 8;

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_zigzag(out: &mut Vec<u8>, v: i64) {
    put_varint(out, ((v << 1) ^ (v >> 63)) as u64);
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// Appends one record (`tag`, then the row) to `out`.
pub fn encode_row(out: &mut Vec<u8>, tag: u32, row: &Row) {
    put_varint(out, tag as u64);
    put_varint(out, row.len() as u64);
    for v in row {
        encode_value(out, v);
    }
}

fn encode_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.push(T_NULL),
        Value::Bool(false) => out.push(T_FALSE),
        Value::Bool(true) => out.push(T_TRUE),
        Value::Int(i) => {
            out.push(T_INT);
            put_zigzag(out, *i);
        }
        Value::Float(f) => {
            out.push(T_FLOAT);
            out.extend_from_slice(&f.to_bits().to_le_bytes());
        }
        Value::Decimal(d) => {
            out.push(T_DECIMAL);
            out.extend_from_slice(&d.serialize());
        }
        Value::String(s) => {
            out.push(T_STRING);
            put_bytes(out, s.as_bytes());
        }
        Value::Date(d) => {
            out.push(T_DATE);
            put_zigzag(out, d.num_days_from_ce_i64());
        }
        Value::DateTime(dt) => {
            out.push(T_DATETIME);
            put_zigzag(out, dt.timestamp());
            put_varint(out, dt.timestamp_subsec_nanos() as u64);
            put_zigzag(out, dt.offset().local_minus_utc() as i64);
        }
        Value::Json(j) => {
            out.push(T_JSON);
            encode_json(out, j);
        }
    }
}

fn encode_json(out: &mut Vec<u8>, j: &serde_json::Value) {
    use serde_json::Value as J;
    match j {
        J::Null => out.push(J_NULL),
        J::Bool(false) => out.push(J_FALSE),
        J::Bool(true) => out.push(J_TRUE),
        // By variant, so `1` stays an integer and `1.0` a float, and floats keep their bits.
        J::Number(n) => {
            if let Some(u) = n.as_u64() {
                out.push(J_UINT);
                put_varint(out, u);
            } else if let Some(i) = n.as_i64() {
                out.push(J_INT);
                put_zigzag(out, i);
            } else {
                out.push(J_FLOAT);
                out.extend_from_slice(&n.as_f64().unwrap_or(0.0).to_bits().to_le_bytes());
            }
        }
        J::String(s) => {
            out.push(J_STRING);
            put_bytes(out, s.as_bytes());
        }
        J::Array(a) => {
            out.push(J_ARRAY);
            put_varint(out, a.len() as u64);
            a.iter().for_each(|x| encode_json(out, x));
        }
        J::Object(m) => {
            out.push(J_OBJECT);
            put_varint(out, m.len() as u64);
            for (k, v) in m {
                put_bytes(out, k.as_bytes());
                encode_json(out, v);
            }
        }
    }
}

/// `num_days_from_ce` as i64 (chrono gives i32).
trait DaysCe {
    fn num_days_from_ce_i64(&self) -> i64;
}
impl DaysCe for NaiveDate {
    fn num_days_from_ce_i64(&self) -> i64 {
        chrono::Datelike::num_days_from_ce(self) as i64
    }
}

fn corrupt(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("spill file is damaged ({what})"))
}

/// Reads values back from the bytes [`encode_row`] wrote.
struct Decoder<'a, R: Read> {
    r: &'a mut R,
}

impl<R: Read> Decoder<'_, R> {
    fn byte(&mut self) -> io::Result<u8> {
        let mut b = [0u8; 1];
        self.r.read_exact(&mut b)?;
        Ok(b[0])
    }

    fn varint(&mut self) -> io::Result<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= ((b & 0x7f) as u64) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(corrupt("varint too long"))
    }

    fn zigzag(&mut self) -> io::Result<i64> {
        let v = self.varint()?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }

    fn array<const N: usize>(&mut self) -> io::Result<[u8; N]> {
        let mut b = [0u8; N];
        self.r.read_exact(&mut b)?;
        Ok(b)
    }

    fn bytes(&mut self) -> io::Result<Vec<u8>> {
        let n = self.varint()? as usize;
        let mut b = vec![0u8; n];
        self.r.read_exact(&mut b)?;
        Ok(b)
    }

    fn text(&mut self) -> io::Result<String> {
        String::from_utf8(self.bytes()?).map_err(|_| corrupt("text is not UTF-8"))
    }

    fn value(&mut self) -> io::Result<Value> {
        Ok(match self.byte()? {
            T_NULL => Value::Null,
            T_FALSE => Value::Bool(false),
            T_TRUE => Value::Bool(true),
            T_INT => Value::Int(self.zigzag()?),
            T_FLOAT => Value::Float(f64::from_bits(u64::from_le_bytes(self.array()?))),
            T_DECIMAL => Value::Decimal(Decimal::deserialize(self.array()?)),
            T_STRING => Value::String(CompactString::from(self.text()?)),
            T_DATE => {
                let days = i32::try_from(self.zigzag()?).map_err(|_| corrupt("date"))?;
                Value::Date(NaiveDate::from_num_days_from_ce_opt(days).ok_or_else(|| corrupt("date"))?)
            }
            T_DATETIME => {
                let secs = self.zigzag()?;
                let nanos = u32::try_from(self.varint()?).map_err(|_| corrupt("date-time"))?;
                let offset = i32::try_from(self.zigzag()?).ok().and_then(FixedOffset::east_opt).ok_or_else(|| corrupt("offset"))?;
                let utc = DateTime::from_timestamp(secs, nanos).ok_or_else(|| corrupt("date-time"))?;
                Value::DateTime(offset.from_utc_datetime(&utc.naive_utc()))
            }
            T_JSON => Value::Json(Arc::new(self.json()?)),
            _ => return Err(corrupt("unknown type byte")),
        })
    }

    fn json(&mut self) -> io::Result<serde_json::Value> {
        use serde_json::Value as J;
        Ok(match self.byte()? {
            J_NULL => J::Null,
            J_FALSE => J::Bool(false),
            J_TRUE => J::Bool(true),
            J_UINT => J::Number(self.varint()?.into()),
            J_INT => J::Number(self.zigzag()?.into()),
            J_FLOAT => {
                let f = f64::from_bits(u64::from_le_bytes(self.array()?));
                J::Number(serde_json::Number::from_f64(f).ok_or_else(|| corrupt("JSON number"))?)
            }
            J_STRING => J::String(self.text()?),
            J_ARRAY => {
                let n = self.varint()? as usize;
                let mut a = Vec::with_capacity(n.min(1024));
                for _ in 0..n {
                    a.push(self.json()?);
                }
                J::Array(a)
            }
            J_OBJECT => {
                let n = self.varint()? as usize;
                let mut m = serde_json::Map::new();
                for _ in 0..n {
                    let k = self.text()?;
                    m.insert(k, self.json()?);
                }
                J::Object(m)
            }
            _ => return Err(corrupt("unknown JSON byte")),
        })
    }
}

/// Reads one record; `Ok(None)` at a clean end of the input.
pub fn decode_row<R: BufRead>(r: &mut R) -> io::Result<Option<(u32, Row)>> {
    if r.fill_buf()?.is_empty() {
        return Ok(None);
    }
    let mut d = Decoder { r };
    let tag = u32::try_from(d.varint()?).map_err(|_| corrupt("tag"))?;
    let n = d.varint()? as usize;
    let mut row = Vec::with_capacity(n.min(4096));
    for _ in 0..n {
        row.push(d.value()?);
    }
    Ok(Some((tag, row)))
}

/// A temporary file being filled with records. The file is removed when this (or the
/// [`SpillReader`] it becomes) is dropped, also when the run fails or panics.
pub struct SpillWriter {
    file: NamedTempFile,
    out: BufWriter<File>,
    buf: Vec<u8>,
    bytes: u64,
    rows: u64,
}

impl SpillWriter {
    /// Creates a spill file in `dir`, or in the system's temporary folder.
    pub fn create(dir: Option<&Path>, prefix: &str) -> io::Result<SpillWriter> {
        let mut b = tempfile::Builder::new();
        b.prefix(prefix).suffix(".spill");
        let file = match dir {
            Some(d) => b.tempfile_in(d)?,
            None => b.tempfile()?,
        };
        let out = BufWriter::with_capacity(256 * 1024, file.reopen()?);
        Ok(SpillWriter { file, out, buf: Vec::with_capacity(4096), bytes: 0, rows: 0 })
    }

    pub fn path(&self) -> &Path {
        self.file.path()
    }

    pub fn write(&mut self, tag: u32, row: &Row) -> io::Result<()> {
        self.buf.clear();
        encode_row(&mut self.buf, tag, row);
        self.out.write_all(&self.buf)?;
        self.bytes += self.buf.len() as u64;
        self.rows += 1;
        Ok(())
    }

    /// Bytes written so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Flushes and reopens the file for reading from its start.
    pub fn finish(mut self) -> io::Result<SpillReader> {
        self.out.flush()?;
        drop(self.out);
        let input = BufReader::with_capacity(256 * 1024, self.file.reopen()?);
        Ok(SpillReader { _file: self.file, input, rows_left: self.rows })
    }
}

/// Reads back the records of a finished [`SpillWriter`], in the order written.
pub struct SpillReader {
    /// Kept only so the file is removed when the reader is dropped.
    _file: NamedTempFile,
    input: BufReader<File>,
    rows_left: u64,
}

impl SpillReader {
    pub fn next_row(&mut self) -> io::Result<Option<(u32, Row)>> {
        if self.rows_left == 0 {
            return Ok(None);
        }
        match decode_row(&mut self.input)? {
            Some(r) => {
                self.rows_left -= 1;
                Ok(Some(r))
            }
            None => Err(corrupt("ends early")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn every_kind_of_value() -> Row {
        vec![
            Value::Null,
            Value::Bool(true),
            Value::Bool(false),
            Value::Int(0),
            Value::Int(i64::MIN),
            Value::Int(i64::MAX),
            Value::Int(-1),
            Value::Float(-0.0),
            Value::Float(f64::from_bits(0x7ff8_0000_dead_beef)),
            Value::Float(f64::INFINITY),
            Value::Float(0.1 + 0.2),
            Value::Decimal(Decimal::from_str("1.50").unwrap()),
            Value::Decimal(Decimal::from_str("-79228162514264337593543950335").unwrap()),
            Value::Decimal(Decimal::from_str("0.0000000000000000000000000001").unwrap()),
            Value::str(""),
            Value::str("王秀英, \"quoted\" and a rather long string that is stored on the heap"),
            Value::Date(NaiveDate::from_ymd_opt(2024, 2, 29).unwrap()),
            Value::Date(NaiveDate::from_ymd_opt(-300, 1, 1).unwrap()),
            Value::DateTime(DateTime::parse_from_rfc3339("2024-03-05T07:22:31.123456789+08:00").unwrap()),
            Value::DateTime(DateTime::parse_from_rfc3339("1900-01-01T00:00:00-05:30").unwrap()),
            Value::Json(Arc::new(serde_json::json!({"z": 1, "a": [1.5, null, true, "x", {"n": 12345678901234567890u64}], "m": -3}))),
        ]
    }

    /// Same variant and same bits, stricter than `==` (which says `-0.0 == 0.0`, NaN != NaN).
    fn assert_identical(a: &Row, b: &Row) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            match (x, y) {
                (Value::Float(p), Value::Float(q)) => assert_eq!(p.to_bits(), q.to_bits()),
                (Value::Decimal(p), Value::Decimal(q)) => assert_eq!(p.serialize(), q.serialize(), "{p} vs {q}"),
                (Value::DateTime(p), Value::DateTime(q)) => {
                    assert_eq!(p, q);
                    assert_eq!(p.offset(), q.offset());
                }
                (Value::Json(p), Value::Json(q)) => assert_eq!(p.to_string(), q.to_string(), "key order and numbers kept"),
                _ => assert_eq!(x, y),
            }
        }
    }

    #[test]
    fn every_value_round_trips_exactly() {
        let row = every_kind_of_value();
        let mut buf = Vec::new();
        encode_row(&mut buf, 7, &row);
        encode_row(&mut buf, 0, &vec![]);
        let mut r = std::io::Cursor::new(buf);
        let (tag, back) = decode_row(&mut r).unwrap().unwrap();
        assert_eq!(tag, 7);
        assert_identical(&row, &back);
        assert_eq!(decode_row(&mut r).unwrap(), Some((0, vec![])));
        assert_eq!(decode_row(&mut r).unwrap(), None);
    }

    #[test]
    fn spill_file_round_trips_and_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = SpillWriter::create(Some(dir.path()), "test-").unwrap();
        let row = every_kind_of_value();
        for i in 0..1000u32 {
            w.write(i, &row).unwrap();
        }
        assert!(w.bytes() > 0);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let mut r = w.finish().unwrap();
        for i in 0..1000u32 {
            let (tag, back) = r.next_row().unwrap().unwrap();
            assert_eq!(tag, i);
            assert_identical(&row, &back);
        }
        assert!(r.next_row().unwrap().is_none());
        drop(r);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "the spill file is removed on drop");
    }

    #[test]
    fn truncated_input_is_an_error_not_a_panic() {
        let mut buf = Vec::new();
        encode_row(&mut buf, 1, &every_kind_of_value());
        buf.truncate(buf.len() / 2);
        assert!(decode_row(&mut std::io::Cursor::new(buf)).is_err());
    }

    #[test]
    fn size_estimate_counts_long_strings() {
        let short = vec![Value::str("web")];
        let long = vec![Value::str(&"x".repeat(1000))];
        assert!(approx_row_bytes(&long) >= approx_row_bytes(&short) + 1000);
    }
}

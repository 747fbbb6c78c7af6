//! Reading a CSV file as typed rows: opening with the right decoder, the header, type
//! inference over a sample of the first records, and turning each record into a row or a
//! [`BadRecord`] (wrong field count, a value that does not fit its type, bytes that are
//! not valid in the encoding) with its line number.
//!
//! The sample read for inference is kept and handed out first, so the file is read once.
//! Design-time schema and a run use the same [`CsvReader::open`], so they agree.

use super::decode::{CountingRead, DecodeRead};
use super::records::{RawRecord, ReadFailure, RecordReader};
use super::{CsvError, ReadEncoding, DEFAULT_MAX_RECORD_BYTES};
use crate::value::{infer_type_of_text, parse_text_as, widen, DataType, Field, Row, Schema, SchemaRef, Value};
use compact_str::CompactString;
use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

/// How to read a CSV file.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    pub delimiter: u8,
    pub quote: u8,
    pub has_header: bool,
    /// A field exactly equal to this is null.
    pub null_marker: String,
    pub encoding: ReadEncoding,
    /// Physical lines skipped before the header.
    pub skip_rows: u64,
    pub infer_types: bool,
    /// Records sampled for inference.
    pub infer_rows: usize,
    /// Types by field name, over inference.
    pub types: BTreeMap<String, DataType>,
    pub max_record_bytes: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            delimiter: b',',
            quote: b'"',
            has_header: true,
            null_marker: String::new(),
            encoding: ReadEncoding::Utf8,
            skip_rows: 0,
            infer_types: true,
            infer_rows: 1000,
            types: BTreeMap::new(),
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
        }
    }
}

/// A record that could not become a row. It keeps what could be read: `row` holds every
/// value that fitted its type (null elsewhere), `raw` the record's text.
#[derive(Debug, Clone, PartialEq)]
pub struct BadRecord {
    pub message: String,
    pub field: Option<String>,
    pub line: u64,
    pub row: Row,
    pub raw: String,
}

/// What reading one more record gave.
#[derive(Debug)]
pub enum ReadStep {
    Row(Row),
    Bad(BadRecord),
    End,
}

struct Sampled {
    rec: RawRecord,
    raw: Vec<u8>,
}

/// A CSV file opened for reading typed rows.
pub struct CsvReader {
    path: PathBuf,
    records: RecordReader<Box<dyn Read + Send>>,
    schema: SchemaRef,
    converter: Converter,
    sample: VecDeque<Sampled>,
    rec: RawRecord,
    file_bytes: Arc<AtomicU64>,
    file_size: u64,
}

impl CsvReader {
    /// Opens `path`, reads the header and the inference sample, and works out the schema.
    pub fn open(path: &Path, opts: &ReadOptions) -> Result<CsvReader, CsvError> {
        let io_err = |what: &'static str, e| CsvError::Io { what, path: path.to_path_buf(), source: e };
        let mut file = File::open(path).map_err(|e| io_err("open", e))?;
        let meta = file.metadata().map_err(|e| io_err("read", e))?;
        if meta.is_dir() {
            return Err(CsvError::Invalid {
                message: format!("{} is a folder, not a file", path.display()),
                line: None,
            });
        }
        let file_size = meta.len();

        let encoding = match opts.encoding {
            ReadEncoding::Auto => {
                let mut head = [0u8; 3];
                let mut n = 0;
                while n < 3 {
                    match file.read(&mut head[n..]) {
                        Ok(0) => break,
                        Ok(k) => n += k,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(io_err("read", e)),
                    }
                }
                file.seek(SeekFrom::Start(0)).map_err(|e| io_err("read", e))?;
                match &head[..n] {
                    [0xFF, 0xFE, ..] => ReadEncoding::Utf16Le,
                    [0xFE, 0xFF, ..] => ReadEncoding::Utf16Be,
                    _ => ReadEncoding::Utf8,
                }
            }
            e => e,
        };

        let file_bytes = Arc::new(AtomicU64::new(0));
        let counted = CountingRead::new(file, file_bytes.clone());
        let malformed = Arc::new(AtomicU64::new(0));
        let (src, decoded): (Box<dyn Read + Send>, bool) = match encoding {
            ReadEncoding::Utf8 | ReadEncoding::Auto => (Box::new(counted), false),
            other => {
                let enc = match other {
                    ReadEncoding::Gbk => encoding_rs::GBK,
                    ReadEncoding::Gb18030 => encoding_rs::GB18030,
                    ReadEncoding::Utf16Le => encoding_rs::UTF_16LE,
                    _ => encoding_rs::UTF_16BE,
                };
                let dec = enc.new_decoder_with_bom_removal();
                (Box::new(DecodeRead::new(counted, dec, malformed.clone())), true)
            }
        };
        let mut records = RecordReader::new(src, opts.delimiter, opts.quote, opts.max_record_bytes, !decoded);
        let read_err = |f: ReadFailure| match f {
            ReadFailure::Io(e) => io_err("read", e),
            ReadFailure::Csv(c) => c,
        };
        if opts.skip_rows > 0 {
            records.skip_lines(opts.skip_rows)?;
        }

        let mut header: Option<Vec<String>> = None;
        let mut rec = RawRecord::new();
        if opts.has_header && records.read_record(&mut rec).map_err(read_err)? {
            let names = rec.fields().map(|f| String::from_utf8_lossy(f).into_owned());
            header = Some(Schema::unique_names(names));
        }

        // The sample: enough records to infer types (and, without a header, the width).
        let want = if opts.infer_types {
            opts.infer_rows.max(1)
        } else if header.is_none() {
            1
        } else {
            0
        };
        let mut sample = VecDeque::new();
        while sample.len() < want {
            let mut r = RawRecord::new();
            if !records.read_record(&mut r).map_err(read_err)? {
                break;
            }
            let raw = records.last_raw().to_vec();
            sample.push_back(Sampled { rec: r, raw });
        }

        let names = match header {
            Some(h) => h,
            None => {
                let n = sample.front().map(|s| s.rec.len()).unwrap_or(0);
                (1..=n).map(|i| format!("field_{i}")).collect()
            }
        };
        let null_marker = opts.null_marker.as_bytes();
        let mut types: Vec<Option<DataType>> = vec![None; names.len()];
        if opts.infer_types {
            for s in sample.iter().filter(|s| s.rec.len() == names.len()) {
                for (i, f) in s.rec.fields().enumerate() {
                    if types[i] == Some(DataType::String) || f == null_marker || f.is_empty() {
                        continue;
                    }
                    let Ok(text) = std::str::from_utf8(f) else { continue };
                    if decoded && text.contains('\u{FFFD}') {
                        continue;
                    }
                    if let Some(t) = infer_type_of_text(text) {
                        types[i] = Some(match types[i] {
                            Some(prev) => widen(prev, t),
                            None => t,
                        });
                    }
                }
            }
        }
        let fields: Vec<Field> = names
            .iter()
            .zip(types)
            .map(|(n, t)| {
                let ty = opts.types.get(n).copied().or(t).unwrap_or(DataType::String);
                Field::new(n.clone(), ty)
            })
            .collect();
        let schema = Arc::new(Schema::new(fields));
        let converter = Converter {
            names,
            types: schema.fields().iter().map(|f| f.data_type).collect(),
            null_marker: opts.null_marker.clone(),
            decoded: decoded.then_some((malformed, encoding.name())),
        };
        Ok(CsvReader {
            path: path.to_path_buf(),
            records,
            schema,
            converter,
            sample,
            rec: RawRecord::new(),
            file_bytes,
            file_size,
        })
    }

    /// Field names and types of the rows.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Size of the file in bytes.
    pub fn file_size(&self) -> u64 {
        self.file_size
    }

    /// Bytes of the file read so far (the reader reads ahead of the rows handed out).
    pub fn bytes_read(&self) -> u64 {
        self.file_bytes.load(Relaxed)
    }

    /// The next row, or the record that could not become one.
    pub fn next_step(&mut self) -> Result<ReadStep, CsvError> {
        if let Some(s) = self.sample.pop_front() {
            return Ok(self.converter.convert(&s.rec, &s.raw));
        }
        match self.records.read_record(&mut self.rec) {
            Ok(true) => Ok(self.converter.convert(&self.rec, self.records.last_raw())),
            Ok(false) => Ok(ReadStep::End),
            Err(ReadFailure::Io(e)) => Err(CsvError::Io { what: "read", path: self.path.clone(), source: e }),
            Err(ReadFailure::Csv(c)) => Err(c),
        }
    }
}

/// Reads only the header's field names (for appending to an existing file). `None` when
/// the file holds no record.
pub fn read_header(path: &Path, opts: &ReadOptions) -> Result<Option<Vec<String>>, CsvError> {
    let opts = ReadOptions { has_header: true, infer_types: false, types: BTreeMap::new(), ..opts.clone() };
    let r = CsvReader::open(path, &opts)?;
    let names: Vec<String> = r.schema.names().map(str::to_string).collect();
    Ok((!names.is_empty()).then_some(names))
}

/// Plain decimal integers of up to 18 digits (no sign but `-`, no spaces), the common case,
/// without the general parser's trimming; `None` sends anything else the general way.
#[inline]
fn fast_int(b: &[u8]) -> Option<i64> {
    let (neg, digits) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        _ => (false, b),
    };
    if digits.is_empty() || digits.len() > 18 {
        return None;
    }
    let mut n: i64 = 0;
    for &c in digits {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n = n * 10 + d as i64;
    }
    Some(if neg { -n } else { n })
}

/// Turns records into typed rows.
struct Converter {
    names: Vec<String>,
    types: Vec<DataType>,
    null_marker: String,
    /// For transcoded input: the count of replaced bad bytes, and the encoding's name.
    decoded: Option<(Arc<AtomicU64>, &'static str)>,
}

impl Converter {
    fn convert(&self, rec: &RawRecord, raw: &[u8]) -> ReadStep {
        let n = self.types.len();
        if rec.len() != n {
            return ReadStep::Bad(BadRecord {
                message: format!("expected {n} field{}, found {}", if n == 1 { "" } else { "s" }, rec.len()),
                field: None,
                line: rec.line,
                row: self.lenient_row(rec),
                raw: self.raw_text(raw),
            });
        }
        // One UTF-8 check for the whole record. Field boundaries are then checked as char
        // boundaries, which catches a character split across a delimiter or quote.
        let Ok(text) = std::str::from_utf8(rec.bytes()) else {
            return ReadStep::Bad(self.encoding_error(rec, raw));
        };
        if let Some((malformed, _)) = &self.decoded {
            if malformed.load(Relaxed) > 0 && text.contains('\u{FFFD}') {
                return ReadStep::Bad(self.encoding_error(rec, raw));
            }
        }
        let null = self.null_marker.as_str();
        let mut row: Row = Vec::with_capacity(n);
        let mut failure: Option<(String, usize)> = None;
        for (i, &ty) in self.types.iter().enumerate() {
            let (start, end) = rec.span(i);
            let Some(f) = text.get(start..end) else {
                return ReadStep::Bad(self.encoding_error(rec, raw));
            };
            if f == null {
                row.push(Value::Null);
                continue;
            }
            if ty == DataType::String {
                row.push(Value::String(CompactString::new(f)));
                continue;
            }
            // An empty field has nothing to parse: null for every type but text.
            if f.is_empty() {
                row.push(Value::Null);
                continue;
            }
            if ty == DataType::Int {
                if let Some(i) = fast_int(f.as_bytes()) {
                    row.push(Value::Int(i));
                    continue;
                }
            }
            match parse_text_as(f, ty) {
                Ok(v) => row.push(v),
                Err(e) => {
                    if failure.is_none() {
                        failure = Some((e.to_string(), i));
                    }
                    row.push(Value::Null);
                }
            }
        }
        match failure {
            None => ReadStep::Row(row),
            Some((message, i)) => ReadStep::Bad(BadRecord {
                message,
                field: Some(self.names[i].clone()),
                line: rec.line,
                row,
                raw: self.raw_text(raw),
            }),
        }
    }

    /// Values of a record that has the wrong width or bad bytes: each field that reads as
    /// its type, null otherwise.
    fn lenient_row(&self, rec: &RawRecord) -> Row {
        self.types
            .iter()
            .enumerate()
            .map(|(i, &ty)| {
                if i >= rec.len() {
                    return Value::Null;
                }
                match std::str::from_utf8(rec.field(i)) {
                    Ok(f) if f == self.null_marker || f.contains('\u{FFFD}') => Value::Null,
                    Ok("") if ty != DataType::String => Value::Null,
                    Ok(f) => parse_text_as(f, ty).unwrap_or(Value::Null),
                    Err(_) => Value::Null,
                }
            })
            .collect()
    }

    fn encoding_error(&self, rec: &RawRecord, raw: &[u8]) -> BadRecord {
        let name = self.decoded.as_ref().map(|d| d.1).unwrap_or("UTF-8");
        let field = (0..rec.len().min(self.names.len()))
            .find(|&i| match std::str::from_utf8(rec.field(i)) {
                Ok(s) => s.contains('\u{FFFD}') && self.decoded.is_some(),
                Err(_) => true,
            })
            .map(|i| self.names[i].clone());
        BadRecord {
            message: format!("the line holds bytes that are not valid {name}; check the file's encoding setting"),
            field,
            line: rec.line,
            row: self.lenient_row(rec),
            raw: self.raw_text(raw),
        }
    }

    fn raw_text(&self, raw: &[u8]) -> String {
        String::from_utf8_lossy(raw).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write_file(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
        let p = dir.path().join(name);
        std::fs::File::create(&p).unwrap().write_all(bytes).unwrap();
        p
    }

    fn read_all(path: &Path, opts: &ReadOptions) -> (SchemaRef, Vec<Row>, Vec<BadRecord>) {
        let mut r = CsvReader::open(path, opts).unwrap();
        let (mut rows, mut bad) = (Vec::new(), Vec::new());
        loop {
            match r.next_step().unwrap() {
                ReadStep::Row(row) => rows.push(row),
                ReadStep::Bad(b) => bad.push(b),
                ReadStep::End => break,
            }
        }
        (r.schema().clone(), rows, bad)
    }

    fn s(v: &str) -> Value {
        Value::str(v)
    }

    #[test]
    fn fast_int_agrees_with_the_parser() {
        for t in ["0", "7", "-42", "123456789012345678", "1234567890123456789", "+5", " 5", "5 ", "", "-", "1.0", "x"] {
            let general = parse_text_as(t, DataType::Int).ok();
            // `None` leaves the text to the general parser.
            if let Some(i) = fast_int(t.as_bytes()) {
                assert_eq!(Some(Value::Int(i)), general, "{t}");
            }
        }
        assert_eq!(fast_int(b"-42"), Some(-42));
        assert_eq!(fast_int(b"1234567890123456789"), None);
    }

    #[test]
    fn infers_types_and_nulls() {
        let dir = tempfile::tempdir().unwrap();
        let p = write_file(
            &dir,
            "t.csv",
            "id,phone,score,amount,day,note\n1,13812345678,4,12.50,2024-03-05,\"a, b\"\n2,13812345679,,3,2024-03-06,\n"
                .as_bytes(),
        );
        let (schema, rows, bad) = read_all(&p, &ReadOptions::default());
        let types: Vec<DataType> = schema.fields().iter().map(|f| f.data_type).collect();
        use DataType::*;
        assert_eq!(types, vec![Int, String, Int, Decimal, Date, String]);
        assert!(bad.is_empty());
        assert_eq!(rows[0][0], Value::Int(1));
        assert_eq!(rows[0][1], s("13812345678"));
        assert_eq!(rows[0][5], s("a, b"));
        assert_eq!(rows[1][2], Value::Null);
        assert_eq!(rows[1][5], Value::Null);
        assert_eq!(rows[1][3].to_text().unwrap(), "3");

        let opts = ReadOptions { infer_types: false, ..Default::default() };
        let (schema, rows, _) = read_all(&p, &opts);
        assert!(schema.fields().iter().all(|f| f.data_type == String));
        assert_eq!(rows[0][0], s("1"));
    }

    #[test]
    fn null_marker_and_quotes() {
        let dir = tempfile::tempdir().unwrap();
        let p = write_file(&dir, "t.csv", b"a;b\n\"say \"\"hi\"\"; ok\";NULL\n;x\n");
        let opts = ReadOptions { delimiter: b';', null_marker: "NULL".into(), ..Default::default() };
        let (_, rows, bad) = read_all(&p, &opts);
        assert!(bad.is_empty());
        assert_eq!(rows[0], vec![s("say \"hi\"; ok"), Value::Null]);
        // With a null marker set, empty text stays empty text.
        assert_eq!(rows[1], vec![s(""), s("x")]);
    }

    #[test]
    fn encodings_and_bom() {
        let dir = tempfile::tempdir().unwrap();
        let text = "客户,城市\n张三,北京\n李四,上海\n";
        let (gbk, _, _) = encoding_rs::GBK.encode(text);
        let p = write_file(&dir, "gbk.csv", &gbk);
        let opts = ReadOptions { encoding: ReadEncoding::Gbk, ..Default::default() };
        let (schema, rows, bad) = read_all(&p, &opts);
        assert_eq!(schema.names().collect::<Vec<_>>(), vec!["客户", "城市"]);
        assert_eq!(rows[1], vec![s("李四"), s("上海")]);
        assert!(bad.is_empty());

        let mut utf16 = vec![0xFF, 0xFE];
        for u in text.encode_utf16() {
            utf16.extend_from_slice(&u.to_le_bytes());
        }
        let p16 = write_file(&dir, "u16.csv", &utf16);
        for enc in [ReadEncoding::Utf16Le, ReadEncoding::Auto] {
            let (schema, rows, _) = read_all(&p16, &ReadOptions { encoding: enc, ..Default::default() });
            assert_eq!(schema.names().collect::<Vec<_>>(), vec!["客户", "城市"]);
            assert_eq!(rows[0], vec![s("张三"), s("北京")]);
        }

        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(text.as_bytes());
        let p8 = write_file(&dir, "bom.csv", &bom);
        for enc in [ReadEncoding::Utf8, ReadEncoding::Auto] {
            let (schema, _, _) = read_all(&p8, &ReadOptions { encoding: enc, ..Default::default() });
            assert_eq!(schema.fields()[0].name, "客户");
        }
    }

    #[test]
    fn bad_bytes_and_widths_become_bad_records() {
        let dir = tempfile::tempdir().unwrap();
        let mut data = b"a,b\n1,ok\n2,\xFF\xFE\n3\n4,\"x,y\"\n".to_vec();
        let p = write_file(&dir, "bad.csv", &data);
        let (_, rows, bad) = read_all(&p, &ReadOptions::default());
        assert_eq!(rows.len(), 2);
        assert_eq!(bad.len(), 2);
        assert_eq!(bad[0].line, 3);
        assert!(bad[0].message.contains("not valid UTF-8"), "{}", bad[0].message);
        assert_eq!(bad[0].field.as_deref(), Some("b"));
        assert_eq!(bad[0].row, vec![Value::Int(2), Value::Null]);
        assert_eq!(bad[1].line, 4);
        assert_eq!(bad[1].message, "expected 2 fields, found 1");
        assert_eq!(bad[1].raw, "3");
        assert_eq!(rows[1], vec![Value::Int(4), s("x,y")]);

        // GBK: a lone lead byte.
        let (mut gbk, _, _) = encoding_rs::GBK.encode("名字,数\n张三,1\n");
        let mut g = gbk.to_vec();
        g.extend_from_slice(b"\x81,2\n\xC0\xEE,3\n");
        gbk = g.into();
        let p = write_file(&dir, "bad_gbk.csv", &gbk);
        let (_, rows, bad) = read_all(&p, &ReadOptions { encoding: ReadEncoding::Gbk, ..Default::default() });
        assert_eq!(rows.len(), 2);
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].line, 3);
        assert!(bad[0].message.contains("not valid GBK"));
        data.clear();
    }

    #[test]
    fn type_overrides_and_bad_values() {
        let dir = tempfile::tempdir().unwrap();
        let p = write_file(&dir, "t.csv", b"phone,age\n13812345678,30\n138,abc\n");
        let mut types = BTreeMap::new();
        types.insert("phone".to_string(), DataType::String);
        types.insert("age".to_string(), DataType::Int);
        let (schema, rows, bad) = read_all(&p, &ReadOptions { types, ..Default::default() });
        assert_eq!(schema.field("age").unwrap().data_type, DataType::Int);
        assert_eq!(rows, vec![vec![s("13812345678"), Value::Int(30)]]);
        assert_eq!(bad[0].field.as_deref(), Some("age"));
        assert_eq!(bad[0].line, 3);
        assert_eq!(bad[0].row, vec![s("138"), Value::Null]);
        assert!(bad[0].message.contains("cannot read \"abc\" as int"), "{}", bad[0].message);
    }

    #[test]
    fn headers_empty_files_and_skip_rows() {
        let dir = tempfile::tempdir().unwrap();
        let p = write_file(&dir, "e.csv", b"");
        let (schema, rows, _) = read_all(&p, &ReadOptions::default());
        assert!(schema.is_empty() && rows.is_empty());

        let p = write_file(&dir, "h.csv", b"a,a,,b\n");
        let (schema, rows, _) = read_all(&p, &ReadOptions::default());
        assert_eq!(schema.names().collect::<Vec<_>>(), vec!["a", "a_2", "field_3", "b"]);
        assert!(schema.fields().iter().all(|f| f.data_type == DataType::String));
        assert!(rows.is_empty());

        let p = write_file(&dir, "n.csv", b"title line\n1,x\n2,y\n");
        let opts = ReadOptions { has_header: false, skip_rows: 1, ..Default::default() };
        let (schema, rows, _) = read_all(&p, &opts);
        assert_eq!(schema.names().collect::<Vec<_>>(), vec!["field_1", "field_2"]);
        assert_eq!(rows.len(), 2);

        let e = CsvReader::open(&dir.path().join("missing.csv"), &ReadOptions::default()).err().unwrap();
        assert!(e.to_string().contains("no such file or folder"), "{e}");
    }

    #[test]
    fn record_limit_names_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let mut data = String::from("a,b\n1,2\n2,\"never closed\n");
        for i in 0..20_000 {
            data.push_str(&format!("{i},filler filler filler\n"));
        }
        let p = write_file(&dir, "open.csv", data.as_bytes());
        let opts = ReadOptions { max_record_bytes: 100_000, infer_rows: 1, ..Default::default() };
        let mut r = CsvReader::open(&p, &opts).unwrap();
        assert!(matches!(r.next_step().unwrap(), ReadStep::Row(_)));
        let e = r.next_step().unwrap_err();
        assert_eq!(e.line(), Some(3));
        assert!(e.with_line_prefix().starts_with("line 3: a record is longer than max_record_bytes"), "{e}");
        // During the inference sample too.
        let e = CsvReader::open(&p, &ReadOptions { max_record_bytes: 100_000, ..Default::default() }).err().unwrap();
        assert_eq!(e.line(), Some(3));
    }
}

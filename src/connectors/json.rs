//! JSON and NDJSON: records read as a stream, values written as JSON text, and the
//! temp-file-then-rename discipline every file sink uses.
//!
//! Reading never holds a whole file. NDJSON is read line by line. A JSON array (at the top
//! level, or nested at a `records_path` such as `data.items`) is walked with serde's
//! `DeserializeSeed`: the path is followed key by key, everything else is skipped without
//! being built, and each array element is handed out as soon as it is parsed. Elements are
//! decoded straight into a [`Row`] of a known schema (no intermediate `serde_json::Map` per
//! record); the schema itself comes from a first, short pass over a sample of records.
//!
//! Left out on purpose: JSON Pointer or JSONPath queries (a dotted path covers the shapes
//! APIs and exports produce), and exact decimal digits of JSON numbers (serde_json parses
//! numbers as f64 here; a decimal typed field keeps the value, not trailing zeros — quote
//! the numbers in the file when digits matter).

use crate::value::{format_datetime, widen, DataType, Field, Row, Schema, SchemaRef, Value};
use compact_str::CompactString;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value as J;
use std::cell::Cell;
use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

// ---------------------------------------------------------------------------------------
// Layout detection
// ---------------------------------------------------------------------------------------

/// How records are laid out in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One JSON document holding an array of records (at the top, or at a records path).
    Array,
    /// One JSON value per line.
    Ndjson,
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Guesses the layout from the first byte that is not white space (after a UTF-8 BOM):
/// `[` means an array, anything else NDJSON. Reads only as far as that byte.
pub fn detect_layout(path: &Path) -> io::Result<Layout> {
    let mut r = BufReader::with_capacity(8192, File::open(path)?);
    let mut first_chunk = true;
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Ok(Layout::Ndjson);
        }
        let mut s = buf;
        if first_chunk && s.starts_with(BOM) {
            s = &s[BOM.len()..];
        }
        first_chunk = false;
        if let Some(b) = s.iter().find(|b| !b.is_ascii_whitespace()) {
            return Ok(if *b == b'[' { Layout::Array } else { Layout::Ndjson });
        }
        let n = buf.len();
        r.consume(n);
    }
}

/// Splits a dotted records path (`data.items`, `results.0.rows`) into its segments. A
/// segment of digits indexes an array when the value there is an array.
pub fn parse_records_path(p: &str) -> Result<Vec<String>, String> {
    let p = p.trim();
    if p.is_empty() {
        return Ok(Vec::new());
    }
    let segs: Vec<String> = p.split('.').map(|s| s.to_string()).collect();
    if segs.iter().any(|s| s.is_empty()) {
        return Err(format!("records_path {p:?} has an empty segment; write keys separated by single dots, e.g. data.items"));
    }
    Ok(segs)
}

// ---------------------------------------------------------------------------------------
// Records and decoding
// ---------------------------------------------------------------------------------------

/// One element read from the input.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// An object decoded into the decoder's schema. `errors` lists values that did not fit
    /// their field's type (those fields are null in `row`); `unknown` lists keys outside
    /// the schema (their values were skipped).
    Row { row: Row, errors: Vec<FieldError>, unknown: Vec<String> },
    /// An object as JSON (sampling mode).
    Object(serde_json::Map<String, J>),
    /// Something other than an object.
    NotObject(J),
}

/// A value that did not fit its field.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    /// Index of the field in the schema.
    pub field: usize,
    pub message: String,
}

/// Turns objects into rows of one schema.
pub struct RowDecoder {
    schema: SchemaRef,
}

impl RowDecoder {
    pub fn new(schema: SchemaRef) -> Self {
        RowDecoder { schema }
    }
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }
}

/// What to make of each record.
#[derive(Clone, Copy)]
pub enum Mode<'a> {
    /// Keep objects as JSON, to learn the fields.
    Sample,
    /// Decode objects into rows.
    Decode(&'a RowDecoder),
}

/// A JSON value as a value of field type `ty`. Text fields take anything (numbers and bools
/// as their text, objects and arrays as compact JSON); JSON fields keep the value as it is.
pub fn json_to_value(v: J, ty: DataType) -> Result<Value, crate::value::ParseValueError> {
    match (ty, v) {
        (_, J::Null) => Ok(Value::Null),
        (DataType::Json, v) => Ok(Value::Json(Arc::new(v))),
        (DataType::String, J::String(s)) => Ok(Value::String(CompactString::from(s))),
        (DataType::String, J::Number(n)) => Ok(Value::str(&n.to_string())),
        (DataType::String, J::Bool(b)) => Ok(Value::str(if b { "true" } else { "false" })),
        (DataType::String, other) => Ok(Value::String(CompactString::from(other.to_string()))),
        (DataType::Int, J::Number(n)) if n.is_i64() => Ok(Value::Int(n.as_i64().unwrap_or_default())),
        (DataType::Float, J::Number(n)) => Ok(Value::Float(n.as_f64().unwrap_or(f64::NAN))),
        (ty, v) => Value::from_json_as(&v, ty),
    }
}

/// The type a JSON value suggests for its field; `None` for null (it fits any type).
pub fn json_type(v: &J) -> Option<DataType> {
    match v {
        J::Null => None,
        J::Bool(_) => Some(DataType::Bool),
        J::Number(n) if n.is_i64() => Some(DataType::Int),
        J::Number(_) => Some(DataType::Float),
        J::String(_) => Some(DataType::String),
        J::Array(_) | J::Object(_) => Some(DataType::Json),
    }
}

/// A word for what a non-object record is, for messages.
pub fn json_kind(v: &J) -> &'static str {
    match v {
        J::Null => "null",
        J::Bool(_) => "a boolean",
        J::Number(_) => "a number",
        J::String(_) => "a string",
        J::Array(_) => "an array",
        J::Object(_) => "an object",
    }
}

/// Learns fields from sample objects: the union of their keys in first-seen order, each
/// typed from its values (mixed types widen; text mixed with numbers becomes text).
#[derive(Debug, Default)]
pub struct FieldInference {
    names: Vec<String>,
    types: Vec<Option<DataType>>,
    index: HashMap<String, usize>,
    records: usize,
}

impl FieldInference {
    pub fn observe(&mut self, obj: &serde_json::Map<String, J>) {
        self.records += 1;
        for (k, v) in obj {
            let i = match self.index.get(k) {
                Some(&i) => i,
                None => {
                    self.names.push(k.clone());
                    self.types.push(None);
                    self.index.insert(k.clone(), self.names.len() - 1);
                    self.names.len() - 1
                }
            };
            if let Some(t) = json_type(v) {
                self.types[i] = Some(match self.types[i] {
                    Some(prev) => widen(prev, t),
                    None => t,
                });
            }
        }
    }

    /// Objects seen so far.
    pub fn records(&self) -> usize {
        self.records
    }

    /// The schema: sampled fields (null-only ones as text) with `overrides` applied; an
    /// override naming a field the sample never saw adds it at the end.
    pub fn finish(self, overrides: &[(String, DataType)]) -> Schema {
        let mut fields: Vec<Field> = self
            .names
            .into_iter()
            .zip(self.types)
            .map(|(n, t)| Field::new(n, t.unwrap_or(DataType::String)))
            .collect();
        for (name, ty) in overrides {
            match fields.iter_mut().find(|f| &f.name == name) {
                Some(f) => f.data_type = *ty,
                None => fields.push(Field::new(name.clone(), *ty)),
            }
        }
        Schema::new(fields)
    }
}

struct RecordSeed<'a>(Mode<'a>);

impl<'de> DeserializeSeed<'de> for RecordSeed<'_> {
    type Value = Record;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Record, D::Error> {
        match self.0 {
            Mode::Sample => Ok(match J::deserialize(d)? {
                J::Object(m) => Record::Object(m),
                other => Record::NotObject(other),
            }),
            Mode::Decode(dec) => d.deserialize_any(RecordVisitor(dec)),
        }
    }
}

struct RecordVisitor<'a>(&'a RowDecoder);

impl<'de> Visitor<'de> for RecordVisitor<'_> {
    type Value = Record;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Record, A::Error> {
        let schema = &self.0.schema;
        let mut row: Row = vec![Value::Null; schema.len()];
        let mut errors = Vec::new();
        let mut unknown = Vec::new();
        while let Some(key) = map.next_key_seed(KeySeed(schema))? {
            match key {
                Key::Known(i) => {
                    let v: J = map.next_value()?;
                    let ty = schema.fields()[i].data_type;
                    match json_to_value(v, ty) {
                        Ok(val) => row[i] = val,
                        Err(e) => {
                            row[i] = Value::Null;
                            errors.push(FieldError { field: i, message: e.to_string() });
                        }
                    }
                }
                Key::Unknown(name) => {
                    map.next_value::<IgnoredAny>()?;
                    unknown.push(name);
                }
            }
        }
        Ok(Record::Row { row, errors, unknown })
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Record, E> {
        Ok(Record::NotObject(J::Bool(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Record, E> {
        Ok(Record::NotObject(J::from(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Record, E> {
        Ok(Record::NotObject(J::from(v)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Record, E> {
        Ok(Record::NotObject(J::from(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Record, E> {
        Ok(Record::NotObject(J::String(v.to_string())))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Record, E> {
        Ok(Record::NotObject(J::Null))
    }
    fn visit_none<E: de::Error>(self) -> Result<Record, E> {
        Ok(Record::NotObject(J::Null))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Record, A::Error> {
        let v = J::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
        Ok(Record::NotObject(v))
    }
}

enum Key {
    Known(usize),
    Unknown(String),
}

/// Looks a key up in the schema straight from the parser's buffer, without allocating.
struct KeySeed<'a>(&'a Schema);

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Key;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Key, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Key;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Key, E> {
        Ok(match self.0.index_of(s) {
            Some(i) => Key::Known(i),
            None => Key::Unknown(s.to_string()),
        })
    }
}

// ---------------------------------------------------------------------------------------
// NDJSON
// ---------------------------------------------------------------------------------------

/// Non-blank lines of an NDJSON input with their 1-based line numbers (blank lines count).
pub struct NdjsonLines<R> {
    inner: R,
    buf: Vec<u8>,
    line: u64,
    bytes: u64,
}

impl<R: BufRead> NdjsonLines<R> {
    pub fn new(inner: R) -> Self {
        NdjsonLines { inner, buf: Vec::with_capacity(4096), line: 0, bytes: 0 }
    }

    /// Bytes read so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The next non-blank line, without its line ending (and without a leading BOM).
    pub fn next_line(&mut self) -> io::Result<Option<(u64, &[u8])>> {
        loop {
            self.buf.clear();
            let n = self.inner.read_until(b'\n', &mut self.buf)?;
            if n == 0 {
                return Ok(None);
            }
            self.line += 1;
            self.bytes += n as u64;
            let mut end = self.buf.len();
            while end > 0 && matches!(self.buf[end - 1], b'\n' | b'\r') {
                end -= 1;
            }
            let start = if self.line == 1 && self.buf.starts_with(BOM) { BOM.len() } else { 0 };
            let s = &self.buf[start.min(end)..end];
            if s.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return Ok(Some((self.line, &self.buf[start.min(end)..end])));
        }
    }
}

/// Parses one NDJSON line as a record.
pub fn decode_line(line: &[u8], mode: Mode) -> Result<Record, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(line);
    let rec = RecordSeed(mode).deserialize(&mut de)?;
    de.end()?;
    Ok(rec)
}

/// Whether an NDJSON parse failure on the first line looks like a pretty-printed JSON
/// document (an object cut off at the end of its first line) rather than a bad record.
pub fn looks_like_one_document(line: &[u8], err: &serde_json::Error) -> bool {
    err.classify() == serde_json::error::Category::Eof && line.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

/// A serde_json error's message without serde's " at line L column C" suffix.
pub fn json_error_message(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

// ---------------------------------------------------------------------------------------
// Streaming arrays
// ---------------------------------------------------------------------------------------

/// Where the reader stands, shared between the byte counter and the parser's visitor.
#[derive(Debug)]
struct Position {
    bytes: Cell<u64>,
    line: Cell<u64>,
    marked: Cell<bool>,
    start_line: Cell<u64>,
}

/// Counts bytes and lines as serde_json pulls them (it reads byte by byte), and notes the
/// line where the next element starts once [`Position::marked`] is set.
struct CountingReader<R> {
    inner: R,
    pos: Rc<Position>,
}

impl<R: BufRead> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let avail = self.inner.fill_buf()?;
        let n = avail.len().min(buf.len());
        buf[..n].copy_from_slice(&avail[..n]);
        self.inner.consume(n);
        let pos = &self.pos;
        for &b in &buf[..n] {
            if b == b'\n' {
                pos.line.set(pos.line.get() + 1);
            } else if pos.marked.get() && !matches!(b, b' ' | b'\t' | b'\r' | b',') {
                pos.start_line.set(pos.line.get());
                pos.marked.set(false);
            }
        }
        pos.bytes.set(pos.bytes.get() + n as u64);
        Ok(n)
    }
}

/// Where a record was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct At {
    /// Line the record starts on (1-based).
    pub line: u64,
    /// Bytes of the input read so far.
    pub bytes: u64,
}

/// Whether to keep reading after a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Stop,
}

/// Why reading an array stopped early.
#[derive(Debug)]
pub enum ArrayReadError<E> {
    /// Malformed JSON, or the array is not where it should be; serde_json names line and
    /// column. Also read errors of the underlying file.
    Json(serde_json::Error),
    /// The records path does not lead to a value.
    Path(String),
    /// The record handler failed.
    Handler(E),
}

impl<E: fmt::Display> fmt::Display for ArrayReadError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArrayReadError::Json(e) if e.is_io() => write!(f, "read error: {e}"),
            ArrayReadError::Json(e) => {
                write!(f, "malformed JSON at line {}, column {}: {}", e.line(), e.column(), json_error_message(e))
            }
            ArrayReadError::Path(m) => f.write_str(m),
            ArrayReadError::Handler(e) => write!(f, "{e}"),
        }
    }
}

enum Stop<E> {
    Done,
    Failed(E),
    Path(String),
}

struct Ctx<'m, F, E> {
    mode: Mode<'m>,
    pos: Rc<Position>,
    on_record: F,
    stop: Option<Stop<E>>,
    full_path: String,
}

const STOPPED: &str = "reading stopped";

/// Reads the array of records at `path` (empty: the top-level value) from `reader`,
/// calling `on_record` with each element as soon as it is parsed. Nothing else of the
/// document is kept: values off the path are skipped as they stream by.
pub fn read_array<R, F, E>(reader: R, path: &[String], mode: Mode, on_record: F) -> Result<(), ArrayReadError<E>>
where
    R: BufRead,
    F: FnMut(Record, At) -> Result<Flow, E>,
{
    let mut reader = reader;
    // serde_json does not skip a byte order mark; editors on Windows write one.
    if reader.fill_buf().map_err(|e| ArrayReadError::Json(serde_json::Error::io(e)))?.starts_with(BOM) {
        reader.consume(BOM.len());
    }
    let pos = Rc::new(Position { bytes: Cell::new(0), line: Cell::new(1), marked: Cell::new(false), start_line: Cell::new(1) });
    let mut de = serde_json::Deserializer::from_reader(CountingReader { inner: reader, pos: pos.clone() });
    let mut ctx = Ctx { mode, pos, on_record, stop: None, full_path: path.join(".") };
    let result = PathSeed { ctx: &mut ctx, path }.deserialize(&mut de);
    match ctx.stop.take() {
        Some(Stop::Done) => return Ok(()),
        Some(Stop::Failed(e)) => return Err(ArrayReadError::Handler(e)),
        Some(Stop::Path(m)) => return Err(ArrayReadError::Path(m)),
        None => {}
    }
    result.map_err(ArrayReadError::Json)?;
    de.end().map_err(ArrayReadError::Json)?;
    Ok(())
}

struct PathSeed<'c, 'm, 'p, F, E> {
    ctx: &'c mut Ctx<'m, F, E>,
    path: &'p [String],
}

impl<'de, F, E> DeserializeSeed<'de> for PathSeed<'_, '_, '_, F, E>
where
    F: FnMut(Record, At) -> Result<Flow, E>,
{
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        if self.path.is_empty() {
            d.deserialize_seq(ArrayVisitor { ctx: self.ctx })
        } else {
            d.deserialize_any(self)
        }
    }
}

impl<'de, F, E> Visitor<'de> for PathSeed<'_, '_, '_, F, E>
where
    F: FnMut(Record, At) -> Result<Flow, E>,
{
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "an object with key '{}' (records_path '{}')", self.path[0], self.ctx.full_path)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut found = false;
        while let Some(key) = map.next_key::<String>()? {
            if !found && key == self.path[0] {
                found = true;
                map.next_value_seed(PathSeed { ctx: &mut *self.ctx, path: &self.path[1..] })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        if !found {
            return Err(self.missing("the object has no such key"));
        }
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Ok(idx) = self.path[0].parse::<usize>() else {
            return Err(self.missing("the value there is an array; use a number to pick one of its elements"));
        };
        for _ in 0..idx {
            if seq.next_element::<IgnoredAny>()?.is_none() {
                return Err(self.missing("the array is shorter"));
            }
        }
        if seq.next_element_seed(PathSeed { ctx: &mut *self.ctx, path: &self.path[1..] })?.is_none() {
            return Err(self.missing("the array is shorter"));
        }
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }
}

impl<F, E> PathSeed<'_, '_, '_, F, E> {
    fn missing<Er: de::Error>(self, why: &str) -> Er {
        self.ctx.stop = Some(Stop::Path(format!(
            "records_path '{}': '{}' not found ({why})",
            self.ctx.full_path, self.path[0]
        )));
        Er::custom(STOPPED)
    }
}

struct ArrayVisitor<'c, 'm, F, E> {
    ctx: &'c mut Ctx<'m, F, E>,
}

impl<'de, F, E> Visitor<'de> for ArrayVisitor<'_, '_, F, E>
where
    F: FnMut(Record, At) -> Result<Flow, E>,
{
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        if self.ctx.full_path.is_empty() {
            f.write_str("a JSON array of records")
        } else {
            write!(f, "an array of records at records_path '{}'", self.ctx.full_path)
        }
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let ctx = self.ctx;
        loop {
            ctx.pos.marked.set(true);
            let Some(rec) = seq.next_element_seed(RecordSeed(ctx.mode))? else { break };
            ctx.pos.marked.set(false);
            let at = At { line: ctx.pos.start_line.get(), bytes: ctx.pos.bytes.get() };
            match (ctx.on_record)(rec, at) {
                Ok(Flow::Continue) => {}
                Ok(Flow::Stop) => {
                    ctx.stop = Some(Stop::Done);
                    return Err(de::Error::custom(STOPPED));
                }
                Err(e) => {
                    ctx.stop = Some(Stop::Failed(e));
                    return Err(de::Error::custom(STOPPED));
                }
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------

/// Field names of a schema, each already written as a JSON string (`"name"`).
pub fn encoded_names(schema: &Schema) -> Vec<Vec<u8>> {
    schema
        .names()
        .map(|n| {
            let mut out = Vec::with_capacity(n.len() + 2);
            serde_json::to_writer(&mut out, n).expect("writing to a Vec does not fail");
            out
        })
        .collect()
}

/// Appends `v` as JSON. Decimals are number literals with their exact digits (`12.50`);
/// dates and date-times are strings (`"2024-03-05"`, RFC 3339); a float that is not finite
/// becomes null, since JSON has no NaN or infinity.
pub fn write_json_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Int(i) => out.extend_from_slice(itoa::Buffer::new().format(*i).as_bytes()),
        Value::Float(f) if f.is_finite() => out.extend_from_slice(ryu::Buffer::new().format_finite(*f).as_bytes()),
        Value::Float(_) => out.extend_from_slice(b"null"),
        Value::Decimal(d) => {
            let _ = write!(out, "{d}");
        }
        Value::String(s) => serde_json::to_writer(&mut *out, s.as_str()).expect("writing to a Vec does not fail"),
        Value::Date(d) => {
            let _ = write!(out, "\"{}\"", d.format("%Y-%m-%d"));
        }
        Value::DateTime(dt) => {
            out.push(b'"');
            out.extend_from_slice(format_datetime(dt).as_bytes());
            out.push(b'"');
        }
        Value::Json(j) => serde_json::to_writer(&mut *out, &**j).expect("writing to a Vec does not fail"),
    }
}

/// Appends one row as a JSON object on one line (`{"a":1,"b":"x"}`).
pub fn write_object(out: &mut Vec<u8>, names: &[Vec<u8>], row: &Row) {
    out.push(b'{');
    for (i, (name, v)) in names.iter().zip(row.iter()).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(name);
        out.push(b':');
        write_json_value(out, v);
    }
    out.push(b'}');
}

/// Appends one row as an indented object, as an element of an array indented by two spaces.
pub fn write_object_pretty(out: &mut Vec<u8>, names: &[Vec<u8>], row: &Row) {
    if names.is_empty() {
        out.extend_from_slice(b"  {}");
        return;
    }
    out.extend_from_slice(b"  {\n");
    for (i, (name, v)) in names.iter().zip(row.iter()).enumerate() {
        if i > 0 {
            out.extend_from_slice(b",\n");
        }
        out.extend_from_slice(b"    ");
        out.extend_from_slice(name);
        out.extend_from_slice(b": ");
        match v {
            Value::Json(j) if j.is_object() || j.is_array() => {
                let mut nested = Vec::new();
                let fmt = serde_json::ser::PrettyFormatter::with_indent(b"  ");
                let mut ser = serde_json::Serializer::with_formatter(&mut nested, fmt);
                serde::Serialize::serialize(&**j, &mut ser).expect("writing to a Vec does not fail");
                // Strings escape their newlines, so every raw newline is layout: indent it.
                for &b in &nested {
                    out.push(b);
                    if b == b'\n' {
                        out.extend_from_slice(b"    ");
                    }
                }
            }
            other => write_json_value(out, other),
        }
    }
    out.extend_from_slice(b"\n  }");
}

// ---------------------------------------------------------------------------------------
// Atomic output files (shared by the file sinks)
// ---------------------------------------------------------------------------------------

/// What a sink does when its output file already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExistingFile {
    /// Replace it (atomically, when the run succeeds).
    Overwrite,
    /// Refuse: the run fails and the existing file is kept.
    Fail,
    /// Add the new records after the existing ones (line-based formats only).
    Append,
}

/// A fresh temporary path beside `target` (same folder, so the final rename stays on one
/// file system and is atomic). Hidden, and named after the target so a leftover is
/// recognisable.
pub fn temp_path_for(target: &Path) -> PathBuf {
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "output".into());
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let tmp = format!(".{name}.sluice-{}-{:x}.tmp", std::process::id(), nanos & 0xffff_ffff_ffff);
    target.with_file_name(tmp)
}

/// Creates the folder `target` goes into, if missing.
pub fn ensure_parent(target: &Path) -> io::Result<()> {
    match target.parent() {
        Some(p) if !p.as_os_str().is_empty() && !p.exists() => std::fs::create_dir_all(p),
        _ => Ok(()),
    }
}

/// Moves a finished temp file into place.
pub fn commit_output(temp: &Path, target: &Path, mode: ExistingFile) -> Result<(), String> {
    let shown = target.display();
    let result = match mode {
        ExistingFile::Overwrite => std::fs::rename(temp, target).map_err(|e| format!("cannot move the finished output into place at {shown}: {e}")),
        ExistingFile::Fail => {
            // A hard link never replaces an existing file, so a file that appeared during
            // the run is kept; fall back to check-then-rename where links are unsupported.
            match std::fs::hard_link(temp, target) {
                Ok(()) => {
                    let _ = std::fs::remove_file(temp);
                    Ok(())
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    Err(format!("{shown} already exists (if_exists is 'fail'); it was left unchanged"))
                }
                Err(_) if target.exists() => Err(format!("{shown} already exists (if_exists is 'fail'); it was left unchanged")),
                Err(_) => std::fs::rename(temp, target).map_err(|e| format!("cannot move the finished output into place at {shown}: {e}")),
            }
        }
        ExistingFile::Append => append_file(temp, target).map_err(|e| format!("cannot append to {shown}: {e}")),
    };
    if result.is_err() {
        discard_output(temp);
    }
    result
}

fn append_file(temp: &Path, target: &Path) -> io::Result<()> {
    let mut out = std::fs::OpenOptions::new().create(true).read(true).append(true).open(target)?;
    let len = out.metadata()?.len();
    if len > 0 {
        // Keep one record per line if the existing file lacks a final newline.
        use std::io::{Seek, SeekFrom};
        let mut last = [0u8; 1];
        out.seek(SeekFrom::Start(len - 1))?;
        out.read_exact(&mut last)?;
        if last[0] != b'\n' {
            out.write_all(b"\n")?;
        }
    }
    let mut src = File::open(temp)?;
    io::copy(&mut src, &mut out)?;
    out.sync_all()?;
    drop(src);
    std::fs::remove_file(temp)
}

/// Removes a temp file that will not be used (run failed or stopped).
pub fn discard_output(temp: &Path) {
    let _ = std::fs::remove_file(temp);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema(fields: &[(&str, DataType)]) -> SchemaRef {
        Arc::new(Schema::new(fields.iter().map(|(n, t)| Field::new(*n, *t)).collect()))
    }

    fn read_all(text: &str, path: &[&str], mode: Mode) -> Result<Vec<(Record, At)>, ArrayReadError<String>> {
        let mut out = Vec::new();
        let path: Vec<String> = path.iter().map(|s| s.to_string()).collect();
        read_array(text.as_bytes(), &path, mode, |r, at| {
            out.push((r, at));
            Ok::<_, String>(Flow::Continue)
        })?;
        Ok(out)
    }

    #[test]
    fn array_elements_stream_with_start_lines() {
        let dec = RowDecoder::new(schema(&[("a", DataType::Int), ("b", DataType::String)]));
        let text = "\u{feff}[\n  {\"a\": 1, \"b\": \"x\"},\n  {\n    \"a\": 2,\n    \"zz\": [1, 2]\n  },\n  7\n]\n";
        let recs = read_all(text, &[], Mode::Decode(&dec)).unwrap();
        assert_eq!(recs.len(), 3);
        assert_eq!(recs[0].1.line, 2);
        assert_eq!(recs[0].0, Record::Row { row: vec![Value::Int(1), Value::str("x")], errors: vec![], unknown: vec![] });
        assert_eq!(recs[1].1.line, 3);
        assert_eq!(
            recs[1].0,
            Record::Row { row: vec![Value::Int(2), Value::Null], errors: vec![], unknown: vec!["zz".into()] }
        );
        assert_eq!(recs[2].1.line, 7);
        assert_eq!(recs[2].0, Record::NotObject(json!(7)));
    }

    #[test]
    fn malformed_array_names_line_and_column() {
        let err = read_all("[\n{\"a\": 1},\n{\"a\" 2}\n]", &[], Mode::Sample).unwrap_err();
        let ArrayReadError::Json(e) = &err else { panic!("{err}") };
        assert_eq!((e.line(), e.column()), (3, 6));
        assert!(err.to_string().starts_with("malformed JSON at line 3, column 6"), "{err}");
        let err = read_all("[{\"a\": 1}] x", &[], Mode::Sample).unwrap_err();
        assert!(err.to_string().contains("trailing characters"), "{err}");
    }

    #[test]
    fn records_path_streams_nested_arrays_and_reports_missing_keys() {
        let text = r#"{"meta": {"n": [1, {"deep": true}]}, "data": {"total": 2, "items": [{"id": 1}, {"id": 2}]}, "after": "x"}"#;
        let recs = read_all(text, &["data", "items"], Mode::Sample).unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[1].0, Record::Object(json!({"id": 2}).as_object().unwrap().clone()));
        let recs = read_all(r#"{"pages": [{"rows": []}, {"rows": [{"id": 9}]}]}"#, &["pages", "1", "rows"], Mode::Sample).unwrap();
        assert_eq!(recs.len(), 1);
        let err = read_all(text, &["data", "rows"], Mode::Sample).unwrap_err();
        assert_eq!(err.to_string(), "records_path 'data.rows': 'rows' not found (the object has no such key)");
        let err = read_all(text, &["data", "total"], Mode::Sample).unwrap_err();
        assert!(err.to_string().contains("expected an array of records at records_path 'data.total'"), "{err}");
    }

    #[test]
    fn handler_can_stop_early_and_fail() {
        let mut n = 0;
        read_array("[1,2,3,4]".as_bytes(), &[], Mode::Sample, |_, _| {
            n += 1;
            Ok::<_, ()>(if n == 2 { Flow::Stop } else { Flow::Continue })
        })
        .unwrap();
        assert_eq!(n, 2);
        let err = read_array("[1,2]".as_bytes(), &[], Mode::Sample, |_, _| Err::<Flow, _>("boom")).unwrap_err();
        assert!(matches!(err, ArrayReadError::Handler("boom")));
    }

    #[test]
    fn inference_widens_and_applies_overrides() {
        let mut inf = FieldInference::default();
        for v in [json!({"id": 1, "score": 1, "tag": "a"}), json!({"id": 2, "score": 2.5, "tag": 3, "meta": {"x": 1}}), json!({"id": null, "empty": null})] {
            inf.observe(v.as_object().unwrap());
        }
        let s = inf.finish(&[("when".into(), DataType::DateTime), ("id".into(), DataType::Decimal)]);
        let got: Vec<(String, DataType)> = s.fields().iter().map(|f| (f.name.clone(), f.data_type)).collect();
        assert_eq!(
            got,
            vec![
                ("id".into(), DataType::Decimal),
                ("score".into(), DataType::Float),
                ("tag".into(), DataType::String),
                ("meta".into(), DataType::Json),
                ("empty".into(), DataType::String),
                ("when".into(), DataType::DateTime),
            ]
        );
    }

    #[test]
    fn values_convert_to_field_types() {
        assert_eq!(json_to_value(json!({"a": 1}), DataType::String).unwrap(), Value::str(r#"{"a":1}"#));
        assert_eq!(json_to_value(json!("x"), DataType::Json).unwrap(), Value::Json(Arc::new(json!("x"))));
        assert_eq!(json_to_value(json!(3), DataType::Float).unwrap(), Value::Float(3.0));
        assert!(json_to_value(json!("abc"), DataType::Int).is_err());
        let dt = json_to_value(json!("2024-03-05T08:00:00+08:00"), DataType::DateTime).unwrap();
        assert_eq!(dt.to_json(), json!("2024-03-05T08:00:00+08:00"));
    }

    #[test]
    fn ndjson_lines_skip_blanks_and_count() {
        let text = "\u{feff}{\"a\":1}\r\n\n   \n{\"a\":2}";
        let mut lines = NdjsonLines::new(text.as_bytes());
        assert_eq!(lines.next_line().unwrap().map(|(n, l)| (n, l.to_vec())), Some((1, b"{\"a\":1}".to_vec())));
        assert_eq!(lines.next_line().unwrap().map(|(n, l)| (n, l.to_vec())), Some((4, b"{\"a\":2}".to_vec())));
        assert!(lines.next_line().unwrap().is_none());
        assert_eq!(lines.bytes(), text.len() as u64);
        let e = decode_line(b"{\"a\":", Mode::Sample).unwrap_err();
        assert!(looks_like_one_document(b"{\"a\":", &e));
    }

    #[test]
    fn writes_values_exactly() {
        let s = schema(&[("n", DataType::Decimal), ("f", DataType::Float), ("s", DataType::String), ("j", DataType::Json), ("d", DataType::Date)]);
        let row = vec![
            Value::Decimal("12.50".parse().unwrap()),
            Value::Float(f64::NAN),
            Value::str("引号\"\n"),
            Value::Json(Arc::new(json!({"k": [1, "二"]}))),
            Value::Date(chrono::NaiveDate::from_ymd_opt(2024, 3, 5).unwrap()),
        ];
        let names = encoded_names(&s);
        let mut out = Vec::new();
        write_object(&mut out, &names, &row);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"n":12.50,"f":null,"s":"引号\"\n","j":{"k":[1,"二"]},"d":"2024-03-05"}"#
        );
        let mut out = Vec::new();
        write_object_pretty(&mut out, &names, &row);
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("    \"j\": {\n      \"k\": [\n        1,"), "{text}");
        let back: J = serde_json::from_str(&text).unwrap();
        assert_eq!(back["j"], json!({"k": [1, "二"]}));
    }

    #[test]
    fn commit_modes() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.ndjson");
        std::fs::write(&target, "old").unwrap();
        let tmp = temp_path_for(&target);
        std::fs::write(&tmp, "new\n").unwrap();
        commit_output(&tmp, &target, ExistingFile::Append).unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "old\nnew\n");
        assert!(!tmp.exists());
        std::fs::write(&tmp, "x").unwrap();
        let e = commit_output(&tmp, &target, ExistingFile::Fail).unwrap_err();
        assert!(e.contains("already exists"), "{e}");
        assert!(!tmp.exists());
        std::fs::write(&tmp, "y").unwrap();
        commit_output(&tmp, &target, ExistingFile::Overwrite).unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "y");
    }
}

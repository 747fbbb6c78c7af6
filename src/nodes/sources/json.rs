//! `json_source`: records from a JSON array file or an NDJSON file, streamed.
//!
//! The fields are learnt from the first `infer_rows` records (a short first pass, also used
//! at design time), then the file is read once more from the start, record by record, into
//! batches. Neither pass holds the file: NDJSON goes line by line, arrays element by
//! element (see [`crate::connectors::json`]).
//!
//! Keys first seen after the sample are not fields: they are ignored, reported once as a
//! warning when first met and counted in a summary warning at the end. Listing them in
//! `types` (or raising `infer_rows`) makes them fields.

use crate::connectors::json::{
    self as cj, detect_layout, json_kind, looks_like_one_document, parse_records_path, read_array, ArrayReadError, At,
    FieldInference, Flow, Layout, Mode, NdjsonLines, Record, RowDecoder,
};
use crate::exec::{BlockingNode, LogLevel, NodeError, NodeIo, RowError};
use crate::nodes::{Category, ConfigProblem, NodeContext, NodeKind, NodeMeta, NodeTask, PortSchemas};
use crate::value::{Batch, DataType, Row, SchemaRef};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Reads records from a JSON file: an array of objects, or one object per line (NDJSON).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JsonSourceConfig {
    /// The file to read, relative to the flow file's folder (or absolute).
    #[schemars(extend("x-path" = "file"))]
    pub path: String,
    /// How records are laid out: `auto` looks at the first character (`[` means an array,
    /// anything else one JSON object per line); `array` for a JSON array of objects;
    /// `ndjson` for one object per line (JSON Lines).
    #[serde(default)]
    pub format: JsonInputFormat,
    /// Where the array of records sits when the file is one JSON object, as keys separated
    /// by dots: `data.items` reads `{"data": {"items": [...]}}`; a number picks an array
    /// element (`pages.0.rows`). The array is streamed: the rest of the document is skipped
    /// without being kept. Leave empty when the file itself is the array or is NDJSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records_path: Option<String>,
    /// How many records to look at to learn the fields: their keys, in first-seen order,
    /// become the fields; types come from the values (whole numbers → int, other numbers →
    /// float, true/false → bool, text → string, objects and arrays → json; mixed types
    /// widen, and text mixed with anything else becomes string). Keys first seen later are
    /// ignored with a warning.
    #[serde(default = "default_infer_rows")]
    #[schemars(range(min = 0))]
    pub infer_rows: usize,
    /// Types to use instead of the inferred ones, by field name (e.g. `{"created":
    /// "datetime", "amount": "decimal"}`). Text values are parsed as the given type; a
    /// field named here but absent from the sample is added after the sampled ones. A JSON
    /// number read as decimal keeps its value but not trailing zeros (`12.50` → `12.5`):
    /// quote the numbers in the file when every digit matters.
    #[serde(default)]
    #[schemars(with = "std::collections::BTreeMap<String, DataType>")]
    pub types: TypeOverrides,
}

fn default_infer_rows() -> usize {
    1000
}

/// Layout of the records in a JSON input file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum JsonInputFormat {
    /// Decide from the first character: `[` → array, otherwise NDJSON.
    #[default]
    Auto,
    /// One JSON array of objects (at the top, or at `records_path`).
    Array,
    /// One JSON object per line.
    Ndjson,
}

/// Field → type overrides, kept in the order written in the flow file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TypeOverrides(pub Vec<(String, DataType)>);

impl<'de> Deserialize<'de> for TypeOverrides {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = TypeOverrides;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of field name to type")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<TypeOverrides, A::Error> {
                let mut out: Vec<(String, DataType)> = Vec::new();
                while let Some((k, t)) = map.next_entry::<String, DataType>()? {
                    match out.iter_mut().find(|(n, _)| *n == k) {
                        Some(e) => e.1 = t,
                        None => out.push((k, t)),
                    }
                }
                Ok(TypeOverrides(out))
            }
        }
        d.deserialize_map(V)
    }
}

pub struct JsonSource;

/// Why the fields could not be learnt.
enum SampleError {
    Io(std::io::Error),
    Bad { message: String, line: Option<u64> },
}

impl SampleError {
    fn into_node_error(self, path: &Path) -> NodeError {
        match self {
            SampleError::Io(e) => NodeError::io("read JSON file", path, &e),
            SampleError::Bad { message, line: Some(l) } => NodeError::msg(message).with_line(l),
            SampleError::Bad { message, line: None } => NodeError::msg(message),
        }
    }
}

/// The resolved reading plan of one node.
#[derive(Debug, Clone)]
struct Reading {
    path: PathBuf,
    format: JsonInputFormat,
    records_path: Vec<String>,
    infer_rows: usize,
    types: Vec<(String, DataType)>,
}

impl Reading {
    fn new(config: &JsonSourceConfig, ctx: &NodeContext) -> Result<Self, ConfigProblem> {
        let records_path = parse_records_path(config.records_path.as_deref().unwrap_or(""))
            .map_err(|m| ConfigProblem::new("records_path", m))?;
        Ok(Reading {
            path: ctx.resolve_path(&config.path),
            format: config.format,
            records_path,
            infer_rows: config.infer_rows,
            types: config.types.0.clone(),
        })
    }

    fn layout(&self) -> std::io::Result<Layout> {
        match self.format {
            JsonInputFormat::Array => Ok(Layout::Array),
            JsonInputFormat::Ndjson => Ok(Layout::Ndjson),
            // A records path means one document holding the array.
            JsonInputFormat::Auto if !self.records_path.is_empty() => Ok(Layout::Array),
            JsonInputFormat::Auto => detect_layout(&self.path),
        }
    }

    fn open(&self) -> std::io::Result<BufReader<File>> {
        Ok(BufReader::with_capacity(256 * 1024, File::open(&self.path)?))
    }

    /// The fields, from the first `infer_rows` records. Lines or elements that are not
    /// objects are passed over here; the full read reports them.
    fn sample(&self, layout: Layout) -> Result<SchemaRef, SampleError> {
        let mut inf = FieldInference::default();
        if self.infer_rows > 0 {
            match layout {
                Layout::Ndjson => {
                    let mut lines = NdjsonLines::new(self.open().map_err(SampleError::Io)?);
                    while let Some((n, line)) = lines.next_line().map_err(SampleError::Io)? {
                        match cj::decode_line(line, Mode::Sample) {
                            Ok(Record::Object(obj)) => inf.observe(&obj),
                            Ok(_) => {}
                            Err(e) if n == 1 && self.format == JsonInputFormat::Auto && looks_like_one_document(line, &e) => {
                                return Err(SampleError::Bad { message: one_document_message(), line: Some(1) });
                            }
                            Err(_) => {}
                        }
                        if inf.records() >= self.infer_rows {
                            break;
                        }
                    }
                }
                Layout::Array => {
                    let limit = self.infer_rows;
                    let r = read_array(self.open().map_err(SampleError::Io)?, &self.records_path, Mode::Sample, |rec, _| {
                        if let Record::Object(obj) = rec {
                            inf.observe(&obj);
                        }
                        Ok::<_, std::convert::Infallible>(if inf.records() >= limit { Flow::Stop } else { Flow::Continue })
                    });
                    match r {
                        Ok(()) => {}
                        Err(ArrayReadError::Json(e)) if e.is_io() => {
                            return Err(SampleError::Io(std::io::Error::other(cj::json_error_message(&e))));
                        }
                        Err(e @ ArrayReadError::Json(_)) => {
                            let line = match &e {
                                ArrayReadError::Json(j) => Some(j.line() as u64),
                                _ => None,
                            };
                            return Err(SampleError::Bad { message: e.to_string(), line });
                        }
                        Err(e) => return Err(SampleError::Bad { message: e.to_string(), line: None }),
                    }
                }
            }
        }
        Ok(Arc::new(inf.finish(&self.types)))
    }
}

fn one_document_message() -> String {
    "line 1 is the start of a JSON object that does not end on that line: the file looks like one JSON document, \
     not one record per line; set records_path to the array of records inside it (e.g. data.items), \
     or set format: array if the file is an array"
        .to_string()
}

impl NodeKind for JsonSource {
    type Config = JsonSourceConfig;

    fn meta(&self) -> NodeMeta {
        NodeMeta {
            kind: "json_source",
            category: Category::Source,
            title: "Read JSON",
            description: "Reads records from a JSON file: an array of objects (also nested inside a document) or one object per line (NDJSON / JSON Lines). Streams any size of file.",
            keywords: &["json", "ndjson", "jsonl", "json lines", "api export", "file", "import"],
            icon: "braces",
        }
    }

    fn check(&self, config: &Self::Config, ctx: &NodeContext, _inputs: &PortSchemas) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if let Err(m) = parse_records_path(config.records_path.as_deref().unwrap_or("")) {
            problems.push(ConfigProblem::new("records_path", m));
        }
        if config.format == JsonInputFormat::Ndjson && config.records_path.as_deref().is_some_and(|p| !p.trim().is_empty()) {
            problems.push(
                ConfigProblem::new("records_path", "records_path reads an array inside one JSON document; it does not apply to NDJSON")
                    .hint("set format to auto or array, or remove records_path"),
            );
        }
        if !config.path.contains("${") {
            let path = ctx.resolve_path(&config.path);
            if !path.exists() {
                problems.push(
                    ConfigProblem::new("path", format!("file not found: {}", path.display()))
                        .hint("check the path; relative paths start at the flow file's folder"),
                );
            } else if path.is_dir() {
                problems.push(ConfigProblem::new("path", format!("{} is a folder, not a file", path.display())));
            }
        }
        problems
    }

    fn output_schemas(&self, config: &Self::Config, ctx: &NodeContext, _inputs: &PortSchemas) -> Result<PortSchemas, ConfigProblem> {
        let reading = Reading::new(config, ctx)?;
        // A missing or unreadable file is reported by `check`; fields are then unknown.
        let Ok(layout) = reading.layout() else { return Ok(PortSchemas::new()) };
        match reading.sample(layout) {
            Ok(schema) => Ok(PortSchemas::from([("out".to_string(), schema)])),
            Err(SampleError::Io(_)) => Ok(PortSchemas::new()),
            Err(SampleError::Bad { message, .. }) => {
                Err(ConfigProblem::new("path", format!("{}: {message}", reading.path.display())))
            }
        }
    }

    fn build(&self, config: Self::Config, ctx: &NodeContext) -> Result<NodeTask, ConfigProblem> {
        Ok(NodeTask::Blocking(Box::new(JsonSourceTask { reading: Reading::new(&config, ctx)? })))
    }
}

struct JsonSourceTask {
    reading: Reading,
}

impl BlockingNode for JsonSourceTask {
    fn run(self: Box<Self>, io: &mut NodeIo) -> Result<(), NodeError> {
        let r = &self.reading;
        let path = &r.path;
        let file = File::open(path).map_err(|e| NodeError::io("open JSON file", path, &e))?;
        let mut total = None;
        if let Ok(m) = file.metadata() {
            if m.is_dir() {
                return Err(NodeError::msg(format!("cannot read {}: it is a folder, not a file", path.display())));
            }
            io.set_total_bytes(m.len());
            total = Some(m.len());
        }
        let layout = r.layout().map_err(|e| NodeError::io("read JSON file", path, &e))?;
        let schema = r.sample(layout).map_err(|e| e.into_node_error(path))?;
        let decoder = RowDecoder::new(schema.clone());
        let mut out = Emitter::new(schema, io.batch_size(), r.infer_rows);
        let reader = BufReader::with_capacity(256 * 1024, file);

        match layout {
            Layout::Ndjson => {
                let mut lines = NdjsonLines::new(reader);
                while let Some((n, line)) = lines.next_line().map_err(|e| NodeError::io("read JSON file", path, &e))? {
                    match cj::decode_line(line, Mode::Decode(&decoder)) {
                        Ok(rec) => out.record(io, rec, n, Some(line))?,
                        Err(e) if n == 1 && r.format == JsonInputFormat::Auto && looks_like_one_document(line, &e) => {
                            return Err(NodeError::msg(one_document_message()).with_line(1));
                        }
                        Err(e) => {
                            let msg = format!("not valid JSON (column {}): {}", e.column(), cj::json_error_message(&e));
                            out.error(io, RowError::new(msg, Vec::new()).line(n).raw(String::from_utf8_lossy(line)))?;
                        }
                    }
                    out.bytes = lines.bytes();
                }
            }
            Layout::Array => {
                let res = read_array(reader, &r.records_path, Mode::Decode(&decoder), |rec, at: At| {
                    out.bytes = at.bytes;
                    out.record(io, rec, at.line, None).map(|_| Flow::Continue)
                });
                match res {
                    // The whole document was read, up to its last byte.
                    Ok(()) => out.bytes = out.bytes.max(total.unwrap_or(0)),
                    Err(ArrayReadError::Handler(e)) => return Err(e),
                    Err(ArrayReadError::Json(e)) if e.is_io() => {
                        return Err(NodeError::msg(format!("cannot read JSON file {}: {}", path.display(), cj::json_error_message(&e))));
                    }
                    Err(ArrayReadError::Json(e)) => {
                        let line = e.line() as u64;
                        return Err(NodeError::msg(format!("{}: {}", path.display(), ArrayReadError::<NodeError>::Json(e))).with_line(line));
                    }
                    Err(e @ ArrayReadError::Path(_)) => return Err(NodeError::msg(format!("{}: {e}", path.display()))),
                }
            }
        }
        out.finish(io)
    }
}

/// Collects rows and failed rows into batches, and keeps track of keys outside the fields.
struct Emitter {
    schema: SchemaRef,
    batch_size: usize,
    infer_rows: usize,
    rows: Vec<Row>,
    errors: Vec<RowError>,
    bytes: u64,
    bytes_reported: u64,
    unknown_records: u64,
    unknown_names: BTreeSet<String>,
}

impl Emitter {
    fn new(schema: SchemaRef, batch_size: usize, infer_rows: usize) -> Self {
        Emitter {
            schema,
            batch_size,
            infer_rows,
            rows: Vec::with_capacity(batch_size),
            errors: Vec::new(),
            bytes: 0,
            bytes_reported: 0,
            unknown_records: 0,
            unknown_names: BTreeSet::new(),
        }
    }

    fn record(&mut self, io: &mut NodeIo, rec: Record, line: u64, raw: Option<&[u8]>) -> Result<(), NodeError> {
        match rec {
            Record::Row { row, errors, unknown } => {
                if !unknown.is_empty() {
                    self.note_unknown(io, unknown, line);
                }
                if errors.is_empty() {
                    self.rows.push(row);
                    if self.rows.len() >= self.batch_size {
                        self.flush(io)?;
                    }
                } else {
                    let fields = self.schema.fields();
                    let message = errors
                        .iter()
                        .map(|e| format!("field '{}': {}", fields[e.field].name, e.message))
                        .collect::<Vec<_>>()
                        .join("; ");
                    let mut err = RowError::new(message, row).field(fields[errors[0].field].name.clone()).line(line);
                    if let Some(raw) = raw {
                        err = err.raw(String::from_utf8_lossy(raw));
                    }
                    self.error(io, err)?;
                }
            }
            Record::NotObject(v) => {
                let raw = match raw {
                    Some(r) => String::from_utf8_lossy(r).into_owned(),
                    None => v.to_string(),
                };
                let err = RowError::new(format!("the record is {}, not a JSON object", json_kind(&v)), Vec::new()).line(line).raw(raw);
                self.error(io, err)?;
            }
            Record::Object(_) => unreachable!("decoding mode yields rows, not objects"),
        }
        Ok(())
    }

    fn error(&mut self, io: &mut NodeIo, e: RowError) -> Result<(), NodeError> {
        self.errors.push(e);
        if self.errors.len() >= self.batch_size {
            self.flush(io)?;
        }
        Ok(())
    }

    fn note_unknown(&mut self, io: &NodeIo, keys: Vec<String>, line: u64) {
        self.unknown_records += 1;
        if self.unknown_records == 1 {
            io.log(
                LogLevel::Warn,
                format!(
                    "key '{}' (record at line {line}) is not one of the fields found in the first {} records; keys first seen later are ignored — list them in `types` or raise `infer_rows` to read them",
                    keys[0], self.infer_rows
                ),
            );
        }
        for k in keys {
            if self.unknown_names.len() >= 20 {
                break;
            }
            self.unknown_names.insert(k);
        }
    }

    fn flush(&mut self, io: &mut NodeIo) -> Result<(), NodeError> {
        io.check_cancelled()?;
        if self.bytes > self.bytes_reported {
            io.add_bytes(self.bytes - self.bytes_reported);
            self.bytes_reported = self.bytes;
        }
        if !self.rows.is_empty() {
            let rows = std::mem::replace(&mut self.rows, Vec::with_capacity(self.batch_size));
            io.send("out", Batch::new(self.schema.clone(), rows))?;
        }
        if !self.errors.is_empty() {
            let errors = std::mem::take(&mut self.errors);
            io.send_errors(&self.schema, errors)?;
        }
        Ok(())
    }

    fn finish(mut self, io: &mut NodeIo) -> Result<(), NodeError> {
        self.flush(io)?;
        if self.unknown_records > 0 {
            let names: Vec<&str> = self.unknown_names.iter().map(String::as_str).collect();
            io.log(
                LogLevel::Warn,
                format!(
                    "{} records had keys outside the fields learnt from the sample; their values were ignored: {}",
                    self.unknown_records,
                    names.join(", ")
                ),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::{FlowSettings, ParamValues};

    fn ctx(dir: &Path) -> NodeContext {
        NodeContext { node_id: "src".into(), base_dir: dir.to_path_buf(), params: ParamValues::default(), settings: FlowSettings::default(), ..Default::default() }
    }

    fn config(v: serde_json::Value) -> JsonSourceConfig {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn config_defaults_and_ordered_types() {
        let c = config(serde_json::json!({"path": "a.json", "types": {"z": "date", "a": "decimal"}}));
        assert_eq!(c.format, JsonInputFormat::Auto);
        assert_eq!(c.infer_rows, 1000);
        assert_eq!(c.types.0, vec![("z".to_string(), DataType::Date), ("a".to_string(), DataType::Decimal)]);
        assert!(serde_json::from_value::<JsonSourceConfig>(serde_json::json!({"path": "a", "nope": 1})).is_err());
    }

    #[test]
    fn design_time_schema_from_sample_only() {
        let dir = tempfile::tempdir().unwrap();
        // The second record is malformed, but only the first is sampled.
        std::fs::write(dir.path().join("a.json"), "[{\"id\": 1, \"when\": \"2024-03-05\"}, {oops}]").unwrap();
        let c = config(serde_json::json!({"path": "a.json", "infer_rows": 1, "types": {"when": "date"}}));
        let out = JsonSource.output_schemas(&c, &ctx(dir.path()), &PortSchemas::new()).unwrap();
        let s = &out["out"];
        assert_eq!(s.field("id").unwrap().data_type, DataType::Int);
        assert_eq!(s.field("when").unwrap().data_type, DataType::Date);
    }

    #[test]
    fn check_reports_missing_file_and_ndjson_records_path() {
        let dir = tempfile::tempdir().unwrap();
        let c = config(serde_json::json!({"path": "nope.json", "format": "ndjson", "records_path": "data.items"}));
        let problems = JsonSource.check(&c, &ctx(dir.path()), &PortSchemas::new());
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems.iter().any(|p| p.field == "path" && p.message.contains("nope.json")));
        assert!(problems.iter().any(|p| p.field == "records_path"));
    }

    #[test]
    fn pretty_document_read_as_ndjson_is_explained() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("doc.json"), "{\n  \"data\": [{\"a\": 1}]\n}\n").unwrap();
        let c = config(serde_json::json!({"path": "doc.json"}));
        let p = JsonSource.output_schemas(&c, &ctx(dir.path()), &PortSchemas::new()).unwrap_err();
        assert!(p.message.contains("set records_path"), "{}", p.message);
    }
}

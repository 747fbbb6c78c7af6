//! Records out of an API's answer, and records into typed rows.
//!
//! A JSON answer is parsed whole (one page is small) and the records are the array found
//! at the records path (`data.items`); an object there is one record; null or nothing
//! there is an empty page. A CSV answer's records are its lines under a header line.
//! Fields are either declared (name, type and an optional path inside the record, e.g.
//! `customer.id`) or learnt from the first page the way `json_source` learns them from its
//! sample: keys in first-seen order, types from the values (for CSV, from the text).

use crate::connectors::json::{json_kind, json_to_value, FieldInference};
use crate::value::{infer_type_of_text, parse_text_as, widen, DataType, Field, Row, Schema, SchemaRef, Value};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value as J;
use std::sync::Arc;

/// How the answer's body is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ResponseFormat {
    /// A JSON document; the records are the array at `records_path`.
    #[default]
    Json,
    /// CSV text with a header line (UTF-8, comma-separated).
    Csv,
}

/// One output field read from each record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordField {
    /// Name of the output field.
    pub name: String,
    /// Where the value sits in the record, as keys separated by dots (`customer.id`; a
    /// number picks an array element). Default: the field's name. For CSV: the column name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The field's type; a value that does not read as it sends its record to `error`.
    #[serde(rename = "type")]
    pub data_type: DataType,
}

/// Splits a dotted path into keys (empty text: the whole value).
pub fn split_path(path: &str) -> Result<Vec<String>, String> {
    crate::connectors::json::parse_records_path(path).map_err(|e| e.replace("records_path ", "path "))
}

/// The value at `path` inside `v` (digits index arrays).
pub fn pick<'a>(v: &'a J, path: &[String]) -> Option<&'a J> {
    let mut cur = v;
    for seg in path {
        cur = match cur {
            J::Object(m) => m.get(seg)?,
            J::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// A parsed answer: its records, and the document for cursors and next links.
pub enum Page {
    Json { doc: J, records: Vec<J> },
    Csv { headers: Vec<String>, rows: Vec<Vec<String>> },
}

impl Page {
    pub fn len(&self) -> usize {
        match self {
            Page::Json { records, .. } => records.len(),
            Page::Csv { rows, .. } => rows.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn doc(&self) -> Option<&J> {
        match self {
            Page::Json { doc, .. } => Some(doc),
            Page::Csv { .. } => None,
        }
    }
}

/// Why an answer could not be read.
#[derive(Debug, Clone, PartialEq)]
pub enum PageError {
    /// Not JSON / not CSV at all.
    Malformed(String),
    /// The records path leads nowhere; `keys` are the keys where it stopped.
    NoRecordsAt { path: String, keys: Vec<String> },
}

/// Reads one answer's body.
pub fn parse_page(body: &[u8], format: ResponseFormat, records_path: &[String]) -> Result<Page, PageError> {
    match format {
        ResponseFormat::Json => {
            let doc: J = serde_json::from_slice(body).map_err(|e| {
                PageError::Malformed(format!(
                    "the answer is not valid JSON ({}); it begins {:?}",
                    e,
                    super::body_excerpt(body, 80)
                ))
            })?;
            let records = match pick(&doc, records_path) {
                Some(J::Array(a)) => a.clone(),
                Some(J::Null) => Vec::new(),
                Some(obj @ J::Object(_)) if !records_path.is_empty() => vec![obj.clone()],
                Some(J::Object(m)) => {
                    // The whole answer is one object: most likely the records sit inside it.
                    return Err(PageError::NoRecordsAt { path: String::new(), keys: m.keys().cloned().collect() });
                }
                Some(other) => {
                    return Err(PageError::Malformed(format!(
                        "at records_path '{}' the answer holds {}, not an array of records",
                        records_path.join("."),
                        json_kind(other)
                    )))
                }
                None => {
                    let mut cur = &doc;
                    for seg in records_path {
                        match pick(cur, std::slice::from_ref(seg)) {
                            Some(next) => cur = next,
                            None => break,
                        }
                    }
                    let keys = cur.as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default();
                    return Err(PageError::NoRecordsAt { path: records_path.join("."), keys });
                }
            };
            Ok(Page::Json { doc, records })
        }
        ResponseFormat::Csv => {
            let text = std::str::from_utf8(body).map_err(|e| PageError::Malformed(format!("the CSV answer is not UTF-8 text ({e})")))?;
            let text = text.strip_prefix('\u{feff}').unwrap_or(text);
            let mut rdr = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(text.as_bytes());
            let headers: Vec<String> = rdr
                .headers()
                .map_err(|e| PageError::Malformed(format!("the CSV answer has no readable header line ({e})")))?
                .iter()
                .map(str::to_string)
                .collect();
            let mut rows = Vec::new();
            for rec in rdr.records() {
                let rec = rec.map_err(|e| PageError::Malformed(format!("the CSV answer is broken: {e}")))?;
                rows.push(rec.iter().map(str::to_string).collect());
            }
            Ok(Page::Csv { headers: Schema::unique_names(headers), rows })
        }
    }
}

/// A record that did not fit the fields: the partial row, the message and the field.
pub struct BadRecord {
    pub row: Row,
    pub message: String,
    pub field: Option<String>,
    /// The record as text, for `_error_raw`.
    pub raw: String,
}

/// Turns records of one source into rows of one schema.
pub struct RecordDecoder {
    schema: SchemaRef,
    paths: Vec<Vec<String>>,
}

impl RecordDecoder {
    /// From declared fields. Errors name `fields/N/path`.
    pub fn declared(fields: &[RecordField]) -> Result<Self, (String, String)> {
        let mut paths = Vec::new();
        for (i, f) in fields.iter().enumerate() {
            let p = split_path(f.path.as_deref().unwrap_or(&f.name)).map_err(|e| (format!("fields/{i}/path"), e))?;
            if p.is_empty() {
                return Err((format!("fields/{i}/name"), "a field needs a name".into()));
            }
            paths.push(p);
        }
        let schema = Arc::new(Schema::new(fields.iter().map(|f| Field::new(f.name.clone(), f.data_type)).collect()));
        Ok(RecordDecoder { schema, paths })
    }

    /// Learnt from a page's records (the first page of a run).
    pub fn inferred(page: &Page) -> Self {
        let schema = match page {
            Page::Json { records, .. } => {
                let mut inf = FieldInference::default();
                for r in records {
                    if let J::Object(m) = r {
                        inf.observe(m);
                    }
                }
                inf.finish(&[])
            }
            Page::Csv { headers, rows } => {
                let mut types: Vec<Option<DataType>> = vec![None; headers.len()];
                for row in rows {
                    for (i, text) in row.iter().enumerate().take(headers.len()) {
                        if let Some(t) = infer_type_of_text(text) {
                            types[i] = Some(types[i].map_or(t, |prev| widen(prev, t)));
                        }
                    }
                }
                Schema::new(headers.iter().zip(types).map(|(h, t)| Field::new(h.clone(), t.unwrap_or(DataType::String))).collect())
            }
        };
        let paths = schema.names().map(|n| vec![n.to_string()]).collect();
        RecordDecoder { schema: Arc::new(schema), paths }
    }

    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Every record of a page, in order, as a row or a bad record.
    pub fn decode_page(&self, page: &Page) -> Vec<Result<Row, BadRecord>> {
        match page {
            Page::Json { records, .. } => records.iter().map(|r| self.decode_json(r)).collect(),
            Page::Csv { headers, rows } => {
                let cols: Vec<Option<usize>> =
                    self.paths.iter().map(|p| if p.len() == 1 { headers.iter().position(|h| h == &p[0]) } else { None }).collect();
                rows.iter().map(|r| self.decode_csv(&cols, r)).collect()
            }
        }
    }

    fn decode_json(&self, rec: &J) -> Result<Row, BadRecord> {
        let fields = self.schema.fields();
        if !rec.is_object() {
            return Err(BadRecord {
                row: vec![Value::Null; fields.len()],
                message: format!("a record is {}, not an object", json_kind(rec)),
                field: None,
                raw: rec.to_string(),
            });
        }
        let mut row = Vec::with_capacity(fields.len());
        let mut bad: Option<(String, String)> = None;
        for (f, path) in fields.iter().zip(&self.paths) {
            let v = pick(rec, path).cloned().unwrap_or(J::Null);
            match json_to_value(v, f.data_type) {
                Ok(v) => row.push(v),
                Err(e) => {
                    row.push(Value::Null);
                    bad.get_or_insert((f.name.clone(), format!("field '{}': {e}", f.name)));
                }
            }
        }
        match bad {
            None => Ok(row),
            Some((field, message)) => Err(BadRecord { row, message, field: Some(field), raw: rec.to_string() }),
        }
    }

    fn decode_csv(&self, cols: &[Option<usize>], rec: &[String]) -> Result<Row, BadRecord> {
        let fields = self.schema.fields();
        let mut row = Vec::with_capacity(fields.len());
        let mut bad: Option<(String, String)> = None;
        for (f, col) in fields.iter().zip(cols) {
            let text = col.and_then(|c| rec.get(c)).map(String::as_str).unwrap_or("");
            if text.is_empty() {
                row.push(Value::Null);
                continue;
            }
            match parse_text_as(text, f.data_type) {
                Ok(v) => row.push(v),
                Err(e) => {
                    row.push(Value::Null);
                    bad.get_or_insert((f.name.clone(), format!("field '{}': {e}", f.name)));
                }
            }
        }
        match bad {
            None => Ok(row),
            Some((field, message)) => {
                let mut w = csv::WriterBuilder::new().has_headers(false).from_writer(Vec::new());
                let _ = w.write_record(rec);
                let raw = String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default();
                Err(BadRecord { row, message, field: Some(field), raw: raw.trim_end().to_string() })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> Vec<String> {
        split_path(p).unwrap()
    }

    #[test]
    fn json_records_come_from_the_path_and_decode_by_declared_paths() {
        let body = br#"{"data": {"items": [{"id": 1, "customer": {"name": "Li"}, "at": "2024-03-05T10:00:00Z"}, {"id": "x"}, 5]}}"#;
        let page = parse_page(body, ResponseFormat::Json, &path("data.items")).unwrap();
        assert_eq!(page.len(), 3);
        let dec = RecordDecoder::declared(&[
            RecordField { name: "id".into(), path: None, data_type: DataType::Int },
            RecordField { name: "customer_name".into(), path: Some("customer.name".into()), data_type: DataType::String },
            RecordField { name: "at".into(), path: None, data_type: DataType::DateTime },
        ])
        .unwrap();
        let rows = dec.decode_page(&page);
        let first = rows[0].as_ref().ok().unwrap();
        assert_eq!(first[0], Value::Int(1));
        assert_eq!(first[1], Value::str("Li"));
        assert!(matches!(first[2], Value::DateTime(_)));
        let second = rows[1].as_ref().err().unwrap();
        assert_eq!(second.field.as_deref(), Some("id"));
        assert!(rows[2].as_ref().err().unwrap().message.contains("a number, not an object"));
    }

    #[test]
    fn empty_missing_and_malformed_answers() {
        assert!(parse_page(br#"{"data": {"items": null}}"#, ResponseFormat::Json, &path("data.items")).unwrap().is_empty());
        match parse_page(br#"{"data": {"rows": []}}"#, ResponseFormat::Json, &path("data.items")) {
            Err(PageError::NoRecordsAt { path, keys }) => {
                assert_eq!(path, "data.items");
                assert_eq!(keys, vec!["rows"]);
            }
            _ => panic!("expected NoRecordsAt"),
        }
        assert!(matches!(parse_page(b"{\"a\": [1,", ResponseFormat::Json, &[]), Err(PageError::Malformed(_))));
        assert!(matches!(parse_page(br#"{"items": []}"#, ResponseFormat::Json, &[]), Err(PageError::NoRecordsAt { .. })));
    }

    #[test]
    fn fields_are_learnt_from_json_and_csv_pages() {
        let page = parse_page(br#"[{"id": 1, "tags": ["a"]}, {"id": 2, "note": "x"}]"#, ResponseFormat::Json, &[]).unwrap();
        let dec = RecordDecoder::inferred(&page);
        let names: Vec<_> = dec.schema().fields().iter().map(|f| (f.name.clone(), f.data_type)).collect();
        assert_eq!(names, vec![("id".into(), DataType::Int), ("tags".into(), DataType::Json), ("note".into(), DataType::String)]);
        let rows = dec.decode_page(&page);
        assert_eq!(rows[1].as_ref().ok().unwrap()[2], Value::str("x"));

        let page = parse_page("\u{feff}id,amount,phone\n1,12.50,13800138000\n2,,\n".as_bytes(), ResponseFormat::Csv, &[]).unwrap();
        let dec = RecordDecoder::inferred(&page);
        let types: Vec<_> = dec.schema().fields().iter().map(|f| f.data_type).collect();
        assert_eq!(types, vec![DataType::Int, DataType::Decimal, DataType::String]);
        let rows = dec.decode_page(&page);
        assert_eq!(rows[1].as_ref().ok().unwrap()[1], Value::Null);
    }
}

//! A received request as an event, and an event's records as rows.
//!
//! A body is checked when it arrives (so the sender hears about a broken body at once,
//! with a 400) and decoded again when its micro-batch runs: the queue keeps the raw body,
//! not rows, so events queued before a restart are read with the flow's fields as they are
//! then. A JSON body is one object or an array of objects (or holds them at
//! `records_path`); a form body (`application/x-www-form-urlencoded`) is one record of
//! text values. Values that do not fit a declared field's type are a run-time matter: the
//! record leaves by the node's `error` output, like any source's bad record.

use crate::connectors::http::records::{pick, split_path, BadRecord, Page, RecordDecoder, RecordField};
use crate::connectors::json::json_kind;
use crate::value::{DataType, Field, Row, Schema, SchemaRef, Value};
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value as J;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The field holding each event's id.
pub const EVENT_ID_FIELD: &str = "event_id";
/// The field holding the time each event was received (UTC).
pub const RECEIVED_AT_FIELD: &str = "received_at";
/// The whole record's field when no fields are declared.
pub const DEFAULT_BODY_FIELD: &str = "body";

/// How request bodies are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum BodyFormat {
    /// By the request's `Content-Type`: form-urlencoded bodies as forms, anything else as
    /// JSON.
    #[default]
    Auto,
    /// Always JSON.
    Json,
    /// Always `application/x-www-form-urlencoded`.
    Form,
}

/// What a stored body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoredFormat {
    Json,
    Form,
}

impl StoredFormat {
    pub fn name(self) -> &'static str {
        match self {
            StoredFormat::Json => "json",
            StoredFormat::Form => "form",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "json" => Some(StoredFormat::Json),
            "form" => Some(StoredFormat::Form),
            _ => None,
        }
    }
}

impl BodyFormat {
    /// The format of a request's body, given its `Content-Type`.
    pub fn of_request(self, content_type: Option<&str>) -> StoredFormat {
        match self {
            BodyFormat::Json => StoredFormat::Json,
            BodyFormat::Form => StoredFormat::Form,
            BodyFormat::Auto => {
                let is_form = content_type
                    .and_then(|ct| ct.split(';').next())
                    .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"));
                if is_form {
                    StoredFormat::Form
                } else {
                    StoredFormat::Json
                }
            }
        }
    }
}

/// A captured request header, as an output field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HeaderField {
    /// Name of the output field, e.g. `event_type`.
    pub name: String,
    /// The request header to read, e.g. `X-GitHub-Event`. A missing header gives null.
    pub header: String,
}

/// One accepted request, as the queue keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookEvent {
    /// Order of arrival in the queue (0 for samples).
    pub seq: i64,
    pub event_id: String,
    /// The `webhook_source` node the request arrived for.
    pub node_id: String,
    pub received_at: DateTime<Utc>,
    pub format: StoredFormat,
    pub body: Vec<u8>,
    /// The captured headers (only those the node declares), by output field name.
    pub headers: BTreeMap<String, String>,
}

/// A new event id: time-ordered, random enough to be unique.
pub fn new_event_id(at: DateTime<Utc>) -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 6];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("evt-{}-{}", at.format("%Y%m%dT%H%M%S%3fZ"), hex::encode(bytes))
}

/// The records of a body: objects, in order. The error is a message for the sender (it
/// never quotes the body).
pub fn parse_records(body: &[u8], format: StoredFormat, records_path: &[String]) -> Result<Vec<serde_json::Map<String, J>>, String> {
    match format {
        StoredFormat::Form => {
            let mut obj = serde_json::Map::new();
            for (k, v) in url::form_urlencoded::parse(body) {
                let v = J::String(v.into_owned());
                match obj.get_mut(k.as_ref()) {
                    // A repeated key (`tag=a&tag=b`) keeps every value.
                    Some(J::Array(list)) => list.push(v),
                    Some(first) => *first = J::Array(vec![first.take(), v]),
                    None => {
                        obj.insert(k.into_owned(), v);
                    }
                }
            }
            Ok(vec![obj])
        }
        StoredFormat::Json => {
            if body.iter().all(u8::is_ascii_whitespace) {
                return Err("the body is empty; send a JSON object or an array of objects".into());
            }
            let doc: J = serde_json::from_slice(body).map_err(|e| format!("the body is not valid JSON: {e}"))?;
            let at = pick(&doc, records_path).ok_or_else(|| format!("the body has nothing at records_path '{}'", records_path.join(".")))?;
            let list = match at {
                J::Object(m) => return Ok(vec![m.clone()]),
                J::Array(a) => a,
                other => {
                    let where_ = if records_path.is_empty() { "the body".to_string() } else { format!("records_path '{}'", records_path.join(".")) };
                    return Err(format!("{where_} holds {}, not an object or an array of objects", json_kind(other)));
                }
            };
            list.iter()
                .enumerate()
                .map(|(i, r)| match r {
                    J::Object(m) => Ok(m.clone()),
                    other => Err(format!("record {} of the body is {}, not an object", i + 1, json_kind(other))),
                })
                .collect()
        }
    }
}

/// What a node's output rows hold, from its config.
#[derive(Debug, Clone)]
pub struct EventFields {
    pub fields: Vec<RecordField>,
    pub body_field: Option<String>,
    pub headers: Vec<HeaderField>,
    pub records_path: Vec<String>,
}

impl EventFields {
    /// The whole record goes to `body_field`, or to `body` when no fields are declared.
    pub fn body_field(&self) -> Option<&str> {
        match &self.body_field {
            Some(b) => Some(b.as_str()),
            None if self.fields.is_empty() => Some(DEFAULT_BODY_FIELD),
            None => None,
        }
    }

    /// Output field names in order, with where each name was set (for duplicate checks).
    pub fn names(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> =
            self.fields.iter().enumerate().map(|(i, f)| (f.name.clone(), format!("fields/{i}/name"))).collect();
        if let Some(b) = self.body_field() {
            out.push((b.to_string(), "body_field".into()));
        }
        out.extend(self.headers.iter().enumerate().map(|(i, h)| (h.name.clone(), format!("headers/{i}/name"))));
        out.push((EVENT_ID_FIELD.into(), String::new()));
        out.push((RECEIVED_AT_FIELD.into(), String::new()));
        out
    }

    pub fn schema(&self) -> SchemaRef {
        let mut fields: Vec<Field> = self.fields.iter().map(|f| Field::new(f.name.clone(), f.data_type)).collect();
        if let Some(b) = self.body_field() {
            fields.push(Field::new(b, DataType::Json));
        }
        fields.extend(self.headers.iter().map(|h| Field::new(h.name.clone(), DataType::String)));
        fields.push(Field::new(EVENT_ID_FIELD, DataType::String));
        fields.push(Field::new(RECEIVED_AT_FIELD, DataType::DateTime));
        Arc::new(Schema::new(fields))
    }
}

/// Turns events into rows of one schema.
pub struct EventDecoder {
    spec: EventFields,
    declared: Option<RecordDecoder>,
    schema: SchemaRef,
}

impl EventDecoder {
    /// Errors name the config field (`fields/0/path`).
    pub fn new(spec: EventFields) -> Result<Self, (String, String)> {
        let declared = if spec.fields.is_empty() { None } else { Some(RecordDecoder::declared(&spec.fields)?) };
        let schema = spec.schema();
        Ok(EventDecoder { spec, declared, schema })
    }

    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// An event's records as rows (or bad records, with the message and the record as
    /// text). A body that no longer parses (it did when it arrived, so only a changed
    /// `records_path` does this) is one bad record.
    pub fn decode(&self, event: &WebhookEvent) -> Vec<Result<Row, BadRecord>> {
        let extra = |row: &mut Row, record: Option<&serde_json::Map<String, J>>| {
            if self.spec.body_field().is_some() {
                row.push(record.map(|r| Value::Json(Arc::new(J::Object(r.clone())))).unwrap_or(Value::Null));
            }
            for h in &self.spec.headers {
                row.push(event.headers.get(&h.name).map(|v| Value::str(v)).unwrap_or(Value::Null));
            }
            row.push(Value::str(&event.event_id));
            row.push(Value::DateTime(event.received_at.fixed_offset()));
        };
        let records = match parse_records(&event.body, event.format, &self.spec.records_path) {
            Ok(r) => r,
            Err(message) => {
                let mut row = vec![Value::Null; self.spec.fields.len()];
                extra(&mut row, None);
                return vec![Err(BadRecord {
                    row,
                    message: format!("event {}: {message}", event.event_id),
                    field: None,
                    raw: String::from_utf8_lossy(&event.body).into_owned(),
                })];
            }
        };
        let decoded: Vec<Result<Row, BadRecord>> = match &self.declared {
            Some(d) => {
                let page = Page::Json { doc: J::Null, records: records.iter().cloned().map(J::Object).collect() };
                d.decode_page(&page)
            }
            None => records.iter().map(|_| Ok(Vec::new())).collect(),
        };
        decoded
            .into_iter()
            .zip(&records)
            .enumerate()
            .map(|(i, (r, rec))| match r {
                Ok(mut row) => {
                    extra(&mut row, Some(rec));
                    Ok(row)
                }
                Err(mut bad) => {
                    extra(&mut bad.row, Some(rec));
                    bad.message = if records.len() > 1 {
                        format!("event {}, record {}: {}", event.event_id, i + 1, bad.message)
                    } else {
                        format!("event {}: {}", event.event_id, bad.message)
                    };
                    Err(bad)
                }
            })
            .collect()
    }
}

/// Splits a `records_path` setting into keys.
pub fn records_path(p: Option<&str>) -> Result<Vec<String>, String> {
    split_path(p.unwrap_or("")).map_err(|e| e.replace("path ", "records_path "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(body: &str, format: StoredFormat) -> WebhookEvent {
        WebhookEvent {
            seq: 1,
            event_id: "evt-1".into(),
            node_id: "hook".into(),
            received_at: DateTime::parse_from_rfc3339("2024-03-05T10:00:00Z").unwrap().to_utc(),
            format,
            body: body.as_bytes().to_vec(),
            headers: BTreeMap::from([("kind".to_string(), "ticket.updated".to_string())]),
        }
    }

    #[test]
    fn bodies_are_objects_arrays_or_forms() {
        assert_eq!(parse_records(br#"{"a": 1}"#, StoredFormat::Json, &[]).unwrap().len(), 1);
        assert_eq!(parse_records(br#"[{"a": 1}, {"a": 2}]"#, StoredFormat::Json, &[]).unwrap().len(), 2);
        let path = records_path(Some("data.items")).unwrap();
        assert_eq!(parse_records(br#"{"data": {"items": [{"a": 1}]}}"#, StoredFormat::Json, &path).unwrap().len(), 1);
        assert!(parse_records(br#"{"data": {}}"#, StoredFormat::Json, &path).unwrap_err().contains("nothing at records_path 'data.items'"));
        assert!(parse_records(b"{\"a\": ", StoredFormat::Json, &[]).unwrap_err().starts_with("the body is not valid JSON: EOF"));
        assert!(parse_records(b"  ", StoredFormat::Json, &[]).unwrap_err().contains("empty"));
        assert_eq!(parse_records(b"[{}, 5]", StoredFormat::Json, &[]).unwrap_err(), "record 2 of the body is a number, not an object");
        let form = parse_records(b"ticket_id=7&status=solved&tag=a&tag=b&note=%E5%B7%A5%E5%8D%95", StoredFormat::Form, &[]).unwrap();
        assert_eq!(J::Object(form[0].clone()), serde_json::json!({"ticket_id": "7", "status": "solved", "tag": ["a", "b"], "note": "工单"}));
        assert_eq!(BodyFormat::Auto.of_request(Some("application/x-www-form-urlencoded; charset=utf-8")), StoredFormat::Form);
        assert_eq!(BodyFormat::Auto.of_request(None), StoredFormat::Json);
    }

    #[test]
    fn records_become_rows_with_the_event_fields() {
        let spec = EventFields {
            fields: vec![
                RecordField { name: "ticket_id".into(), path: Some("ticket.id".into()), data_type: DataType::Int },
                RecordField { name: "status".into(), path: None, data_type: DataType::String },
            ],
            body_field: None,
            headers: vec![HeaderField { name: "kind".into(), header: "X-Event".into() }],
            records_path: vec![],
        };
        let dec = EventDecoder::new(spec).unwrap();
        let names: Vec<&str> = dec.schema().names().collect();
        assert_eq!(names, vec!["ticket_id", "status", "kind", "event_id", "received_at"]);
        let rows = dec.decode(&event(r#"[{"ticket": {"id": 7}, "status": "solved"}, {"ticket": {"id": "x"}}]"#, StoredFormat::Json));
        let first = rows[0].as_ref().ok().unwrap();
        assert_eq!(first[0], Value::Int(7));
        assert_eq!(first[2], Value::str("ticket.updated"));
        assert_eq!(first[3], Value::str("evt-1"));
        let bad = rows[1].as_ref().err().unwrap();
        assert!(bad.message.starts_with("event evt-1, record 2: field 'ticket_id'"), "{}", bad.message);
        assert_eq!(bad.row.len(), 5);

        // No fields: the whole record as JSON.
        let whole = EventDecoder::new(EventFields { fields: vec![], body_field: None, headers: vec![], records_path: vec![] }).unwrap();
        let rows = whole.decode(&event("a=1", StoredFormat::Form));
        assert_eq!(rows[0].as_ref().ok().unwrap()[0], Value::Json(Arc::new(serde_json::json!({"a": "1"}))));
    }
}

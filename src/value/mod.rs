//! Typed values, record schemas and batches: the data model rows travel in.
//!
//! Rows move between nodes in [`Batch`]es. A batch holds one [`Schema`] (field names and
//! types, shared by every row through an `Arc`) and a `Vec` of [`Row`]s, each a `Vec<Value>`
//! in schema order — Kettle's "row + row meta" rather than a string-keyed map per row, so a
//! field lookup is an index and a row costs one allocation plus its strings.
//!
//! What this module leaves out: columnar layouts and zero-copy buffers. Flows here are
//! dominated by string work on a handful of columns, where a row layout is simpler and
//! fast enough.

mod format;
mod parse;
mod schema;

pub use format::{format_datetime, write_value_text};
pub use parse::{infer_type_of_text, parse_text_as, ParseValueError};
pub use parse::widen;
#[allow(unused_imports)]
pub(crate) use parse::{parse_date, parse_datetime};
pub use schema::{DataType, Field, Schema, SchemaRef};

use chrono::{DateTime, FixedOffset, NaiveDate};
use compact_str::CompactString;
use rust_decimal::Decimal;
use std::sync::Arc;

/// One field value. Strings are `CompactString`s: short strings (≤ 24 bytes, most
/// customer-service fields) are stored inline without a heap allocation.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// Exact decimal, for money and scores that must not pick up binary rounding.
    Decimal(Decimal),
    String(CompactString),
    Date(NaiveDate),
    /// An instant with the UTC offset it was read or converted with.
    DateTime(DateTime<FixedOffset>),
    /// Nested objects and arrays (from APIs and JSON files), kept as they came.
    Json(Arc<serde_json::Value>),
}

impl Value {
    /// The type of this value, or `None` for null (which fits every type).
    pub fn data_type(&self) -> Option<DataType> {
        Some(match self {
            Value::Null => return None,
            Value::Bool(_) => DataType::Bool,
            Value::Int(_) => DataType::Int,
            Value::Float(_) => DataType::Float,
            Value::Decimal(_) => DataType::Decimal,
            Value::String(_) => DataType::String,
            Value::Date(_) => DataType::Date,
            Value::DateTime(_) => DataType::DateTime,
            Value::Json(_) => DataType::Json,
        })
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn str(s: &str) -> Value {
        Value::String(CompactString::new(s))
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s.as_str()),
            _ => None,
        }
    }

    /// The value as display text (what a CSV sink writes), `None` for null.
    pub fn to_text(&self) -> Option<String> {
        if self.is_null() {
            return None;
        }
        let mut out = Vec::new();
        write_value_text(&mut out, self);
        Some(String::from_utf8(out).expect("value text is UTF-8"))
    }

    /// Converts to JSON, the form values take in JSON files, previews and run events.
    /// Decimals become strings so no digit is lost; datetimes use RFC 3339.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map(J::Number).unwrap_or(J::Null),
            Value::Decimal(d) => J::String(d.to_string()),
            Value::String(s) => J::String(s.to_string()),
            Value::Date(d) => J::String(d.format("%Y-%m-%d").to_string()),
            Value::DateTime(dt) => J::String(format_datetime(dt)),
            Value::Json(v) => (**v).clone(),
        }
    }

    /// Converts a JSON value to a Sluice value without a type hint: numbers become int or
    /// float, strings stay strings, objects and arrays stay JSON.
    pub fn from_json(v: &serde_json::Value) -> Value {
        use serde_json::Value as J;
        match v {
            J::Null => Value::Null,
            J::Bool(b) => Value::Bool(*b),
            J::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Value::Int(i)
                } else {
                    Value::Float(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            J::String(s) => Value::str(s),
            other => Value::Json(Arc::new(other.clone())),
        }
    }

    /// Converts a JSON value to the given type: used where a config or file says the type
    /// (inline rows, JSON sources with a type override).
    pub fn from_json_as(v: &serde_json::Value, ty: DataType) -> Result<Value, ParseValueError> {
        use serde_json::Value as J;
        match (v, ty) {
            (J::Null, _) => Ok(Value::Null),
            (J::String(s), _) => parse_text_as(s, ty),
            (_, DataType::Json) => Ok(Value::Json(Arc::new(v.clone()))),
            (J::Number(_) | J::Bool(_), DataType::String) => Ok(Value::str(&v.to_string())),
            (J::Number(n), DataType::Float) => Ok(Value::Float(n.as_f64().unwrap_or(f64::NAN))),
            (J::Number(n), DataType::Int) if n.is_i64() => Ok(Value::Int(n.as_i64().unwrap())),
            (J::Number(n), _) => parse_text_as(&n.to_string(), ty),
            (J::Bool(b), DataType::Bool) => Ok(Value::Bool(*b)),
            _ => Err(ParseValueError::new(&v.to_string(), ty)),
        }
    }
}

/// One record: values in the order of its batch's schema.
pub type Row = Vec<Value>;

/// Rows sharing one schema. The unit that crosses a channel between two nodes.
#[derive(Debug, Clone)]
pub struct Batch {
    pub schema: SchemaRef,
    pub rows: Vec<Row>,
}

impl Batch {
    pub fn new(schema: SchemaRef, rows: Vec<Row>) -> Self {
        Batch { schema, rows }
    }

    pub fn empty(schema: SchemaRef) -> Self {
        Batch { schema, rows: Vec::new() }
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The value of `field` in row `row`, by name (slow path; nodes resolve indexes once).
    pub fn get(&self, row: usize, field: &str) -> Option<&Value> {
        let idx = self.schema.index_of(field)?;
        self.rows.get(row).and_then(|r| r.get(idx))
    }

    /// A row as a JSON object, for previews and error reports.
    pub fn row_to_json(schema: &Schema, row: &Row) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        for (f, v) in schema.fields().iter().zip(row.iter()) {
            map.insert(f.name.clone(), v.to_json());
        }
        serde_json::Value::Object(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_keeps_types() {
        let j = serde_json::json!({"a": [1, 2]});
        assert_eq!(Value::from_json(&j).data_type(), Some(DataType::Json));
        assert_eq!(Value::from_json(&serde_json::json!(3)), Value::Int(3));
        assert_eq!(Value::from_json(&serde_json::json!(3.5)), Value::Float(3.5));
        let d = Value::from_json_as(&serde_json::json!("12.50"), DataType::Decimal).unwrap();
        assert_eq!(d.to_json(), serde_json::json!("12.50"));
    }
}

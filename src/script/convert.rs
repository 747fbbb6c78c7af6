//! Sluice values ↔ Rhai values.
//!
//! Null is Rhai's `()`. Decimals stay exact (Rhai's `decimal` feature is rust_decimal).
//! Dates and date-times enter scripts as ISO text (`2024-03-05`, RFC 3339), which compares
//! and sorts correctly as text; JSON enters as Rhai maps and arrays.

use crate::value::{DataType, Value};
use rhai::Dynamic;
use std::sync::Arc;

pub fn value_to_dynamic(v: &Value) -> Dynamic {
    match v {
        Value::Null => Dynamic::UNIT,
        Value::Bool(b) => Dynamic::from_bool(*b),
        Value::Int(i) => Dynamic::from_int(*i),
        Value::Float(f) => Dynamic::from_float(*f),
        Value::Decimal(d) => Dynamic::from_decimal(*d),
        Value::String(s) => Dynamic::from(rhai::ImmutableString::from(s.as_str())),
        // The same text `Value::to_text` gives, without its intermediate buffer.
        Value::Date(d) => Dynamic::from(d.format("%Y-%m-%d").to_string()),
        Value::DateTime(dt) => Dynamic::from(crate::value::format_datetime(dt)),
        Value::Json(j) => rhai::serde::to_dynamic(&**j).unwrap_or(Dynamic::UNIT),
    }
}

/// Converts a script result back, to the field's type when one is expected.
pub fn dynamic_to_value(d: Dynamic, expected: Option<DataType>) -> Result<Value, String> {
    let v = if d.is_unit() {
        Value::Null
    } else if d.is_bool() {
        Value::Bool(d.as_bool().unwrap())
    } else if d.is_int() {
        Value::Int(d.as_int().unwrap())
    } else if d.is_float() {
        Value::Float(d.as_float().unwrap())
    } else if d.is_decimal() {
        Value::Decimal(d.as_decimal().unwrap())
    } else if d.is_string() {
        Value::str(d.into_immutable_string().unwrap().as_str())
    } else if d.is_map() || d.is_array() {
        let j: serde_json::Value = rhai::serde::from_dynamic(&d).map_err(|e| e.to_string())?;
        Value::Json(Arc::new(j))
    } else {
        return Err(format!("a script value of type {} cannot be stored in a row", d.type_name()));
    };
    match (expected, &v) {
        (None, _) | (_, Value::Null) => Ok(v),
        (Some(t), _) if v.data_type() == Some(t) => Ok(v),
        (Some(t), _) => crate::value::parse_text_as(&v.to_text().unwrap_or_default(), t).map_err(|e| e.to_string()),
    }
}

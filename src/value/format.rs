//! Value → text, as CSV and log sinks write it. Fast paths (itoa, ryu) because every field
//! of every row passes through here in a CSV → CSV flow.

use super::Value;
use chrono::{DateTime, FixedOffset, SecondsFormat};
use std::io::Write;

/// RFC 3339 with the value's own offset (`Z` for UTC), seconds, and sub-seconds only when set.
pub fn format_datetime(dt: &DateTime<FixedOffset>) -> String {
    dt.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Appends the text form of `v` to `out`; null appends nothing.
pub fn write_value_text(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => {}
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Int(i) => out.extend_from_slice(itoa::Buffer::new().format(*i).as_bytes()),
        Value::Float(f) => {
            if f.is_finite() {
                out.extend_from_slice(ryu::Buffer::new().format_finite(*f).as_bytes())
            } else {
                let _ = write!(out, "{f}");
            }
        }
        Value::Decimal(d) => {
            let _ = write!(out, "{d}");
        }
        Value::String(s) => out.extend_from_slice(s.as_bytes()),
        Value::Date(d) => {
            let _ = write!(out, "{}", d.format("%Y-%m-%d"));
        }
        Value::DateTime(dt) => out.extend_from_slice(format_datetime(dt).as_bytes()),
        Value::Json(j) => {
            let _ = serde_json::to_writer(&mut *out, &**j);
        }
    }
}

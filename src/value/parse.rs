//! Text → value: parsing a field to a requested type, and guessing a field's type from text
//! (CSV type inference).
//!
//! Inference is deliberately conservative for customer-service data: digit strings longer
//! than 10 digits (phone numbers, ID numbers, order numbers) and numbers with leading zeros
//! stay text, because they are identifiers, not quantities. A field's type can always be
//! overridden in the node's config.

use super::{DataType, Value};
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use compact_str::CompactString;
use rust_decimal::Decimal;
use std::str::FromStr;
use std::sync::Arc;

/// A text that does not parse as the requested type.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("cannot read {text:?} as {target}{hint}")]
pub struct ParseValueError {
    pub text: String,
    pub target: DataType,
    pub hint: String,
}

impl ParseValueError {
    pub fn new(text: &str, target: DataType) -> Self {
        let shown: String = text.chars().take(60).collect();
        let hint = match target {
            DataType::Date => " (expected a date such as 2024-03-05, 2024/3/5 or 2024年3月5日)".into(),
            DataType::DateTime => " (expected a date-time such as 2024-03-05T14:30:00+08:00 or 2024-03-05 14:30:00)".into(),
            DataType::Bool => " (expected true/false, yes/no or 1/0)".into(),
            _ => String::new(),
        };
        ParseValueError { text: shown, target, hint }
    }
}

/// Date formats accepted when text is read as a date.
const DATE_FORMATS: &[&str] = &["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日"];

/// Date-time formats without an offset; such text is read as UTC.
const NAIVE_DATETIME_FORMATS: &[&str] = &[
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S%.f",
    "%Y/%m/%d %H:%M",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
    "%Y年%m月%d日%H:%M:%S",
    "%Y年%m月%d日%H:%M",
];

/// Parses `text` as `ty`. Empty text is not special here: callers map their null marker
/// before calling.
pub fn parse_text_as(text: &str, ty: DataType) -> Result<Value, ParseValueError> {
    let err = || ParseValueError::new(text, ty);
    let t = text.trim();
    match ty {
        DataType::String => Ok(Value::String(CompactString::new(text))),
        DataType::Int => t.parse::<i64>().map(Value::Int).map_err(|_| err()),
        DataType::Float => t.parse::<f64>().map(Value::Float).map_err(|_| err()),
        DataType::Decimal => Decimal::from_str(t)
            .or_else(|_| Decimal::from_scientific(t))
            .map(Value::Decimal)
            .map_err(|_| err()),
        DataType::Bool => match t.to_ascii_lowercase().as_str() {
            "true" | "t" | "yes" | "y" | "1" => Ok(Value::Bool(true)),
            "false" | "f" | "no" | "n" | "0" => Ok(Value::Bool(false)),
            _ => match t {
                "是" => Ok(Value::Bool(true)),
                "否" => Ok(Value::Bool(false)),
                _ => Err(err()),
            },
        },
        DataType::Date => parse_date(t).map(Value::Date).ok_or_else(err),
        DataType::DateTime => parse_datetime(t).map(Value::DateTime).ok_or_else(err),
        DataType::Json => serde_json::from_str::<serde_json::Value>(t)
            .map(|v| Value::Json(Arc::new(v)))
            .map_err(|_| err()),
    }
}

pub(crate) fn parse_date(t: &str) -> Option<NaiveDate> {
    DATE_FORMATS.iter().find_map(|f| NaiveDate::parse_from_str(t, f).ok())
}

pub(crate) fn parse_datetime(t: &str) -> Option<DateTime<FixedOffset>> {
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Some(dt);
    }
    for f in ["%Y-%m-%d %H:%M:%S%.f%:z", "%Y-%m-%d %H:%M:%S%.f%z", "%Y-%m-%dT%H:%M:%S%.f%z"] {
        if let Ok(dt) = DateTime::parse_from_str(t, f) {
            return Some(dt);
        }
    }
    let naive = NAIVE_DATETIME_FORMATS
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(t, f).ok())
        .or_else(|| parse_date(t).and_then(|d| d.and_hms_opt(0, 0, 0)))?;
    Some(Utc.from_utc_datetime(&naive).fixed_offset())
}

/// Guesses the narrowest type that `text` reads as, for CSV inference. Returns `None` for
/// empty text (it says nothing about the type).
pub fn infer_type_of_text(text: &str) -> Option<DataType> {
    if text.is_empty() {
        return None;
    }
    let b = text.as_bytes();
    let digits = if b[0] == b'-' { &b[1..] } else { b };
    let leading_zero = digits.len() > 1 && digits[0] == b'0' && digits.get(1) != Some(&b'.');
    if !digits.is_empty() && digits.iter().all(u8::is_ascii_digit) {
        // Long digit strings are identifiers (phones, ID numbers), not numbers.
        return Some(if digits.len() <= 10 && !leading_zero { DataType::Int } else { DataType::String });
    }
    if let Some(dot) = digits.iter().position(|&c| c == b'.') {
        let (int_part, frac) = (&digits[..dot], &digits[dot + 1..]);
        if !int_part.is_empty()
            && !frac.is_empty()
            && int_part.iter().chain(frac.iter()).all(u8::is_ascii_digit)
            && !leading_zero
            && int_part.len() + frac.len() <= 28
        {
            return Some(DataType::Decimal);
        }
    }
    if (b.contains(&b'e') || b.contains(&b'E')) && text.parse::<f64>().map(|f| f.is_finite()).unwrap_or(false) {
        return Some(DataType::Float);
    }
    match text {
        "true" | "false" | "TRUE" | "FALSE" | "True" | "False" => return Some(DataType::Bool),
        _ => {}
    }
    // Dates and date-times only with an explicit shape; a date-time needs its offset,
    // because guessing a zone silently would move instants.
    if b.len() == 10 && b[4] == b'-' && b[7] == b'-' && NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok() {
        return Some(DataType::Date);
    }
    if b.len() >= 20 && b[4] == b'-' && (b[10] == b'T' || b[10] == b' ') && DateTime::parse_from_rfc3339(text).is_ok() {
        return Some(DataType::DateTime);
    }
    Some(DataType::String)
}

/// Combines the types seen so far for a field with one more observation.
pub fn widen(a: DataType, b: DataType) -> DataType {
    use DataType::*;
    match (a, b) {
        (x, y) if x == y => x,
        (Int, Decimal) | (Decimal, Int) => Decimal,
        (Int | Decimal, Float) | (Float, Int | Decimal) => Float,
        _ => String,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infers_identifiers_as_text() {
        assert_eq!(infer_type_of_text("13812345678"), Some(DataType::String));
        assert_eq!(infer_type_of_text("0123"), Some(DataType::String));
        assert_eq!(infer_type_of_text("10000001"), Some(DataType::Int));
        assert_eq!(infer_type_of_text("-42"), Some(DataType::Int));
        assert_eq!(infer_type_of_text("12.50"), Some(DataType::Decimal));
        assert_eq!(infer_type_of_text("0.5"), Some(DataType::Decimal));
        assert_eq!(infer_type_of_text("1.5e3"), Some(DataType::Float));
        assert_eq!(infer_type_of_text("2024-03-05"), Some(DataType::Date));
        assert_eq!(infer_type_of_text("2024-03-05T07:22:31+08:00"), Some(DataType::DateTime));
        assert_eq!(infer_type_of_text("2024-03-05 07:22:31"), Some(DataType::String));
        assert_eq!(infer_type_of_text(""), None);
        assert_eq!(widen(DataType::Int, DataType::Decimal), DataType::Decimal);
        assert_eq!(widen(DataType::Int, DataType::String), DataType::String);
    }

    #[test]
    fn parses_chinese_and_slash_dates() {
        let d = parse_text_as("2024年3月5日", DataType::Date).unwrap();
        assert_eq!(d, Value::Date(NaiveDate::from_ymd_opt(2024, 3, 5).unwrap()));
        let d = parse_text_as("2024/3/5", DataType::Date).unwrap();
        assert_eq!(d, Value::Date(NaiveDate::from_ymd_opt(2024, 3, 5).unwrap()));
        let e = parse_text_as("soon", DataType::Date).unwrap_err();
        assert!(e.to_string().contains("cannot read \"soon\" as date"), "{e}");
    }
}

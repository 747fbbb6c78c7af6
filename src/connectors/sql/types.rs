//! Database column types ↔ Sluice value types, for all three drivers.
//!
//! Reading: each column gets a [`ColKind`] from the driver's type information (or, for
//! SQLite tables, the declared type); a row decodes column by column into [`Value`]s.
//! Writing: an incoming value is converted to the target column's kind *before* it is bound
//! (or written into a COPY stream), so a wrong value is a row error naming the column and
//! the value rather than a failed batch.
//!
//! | database | Sluice |
//! |---|---|
//! | boolean, tinyint(1) | bool |
//! | smallint, integer, bigint | int (MySQL `BIGINT UNSIGNED`: decimal) |
//! | real, double | float |
//! | numeric, decimal | decimal (exact; 28 significant digits at most) |
//! | text, varchar, char, enum, set, citext | string |
//! | uuid | string (`8-4-4-4-12` hex) |
//! | bytea, blob, binary | string `\x` + hex (PostgreSQL's own text form) |
//! | date | date |
//! | timestamp with time zone | datetime (UTC) |
//! | timestamp without time zone, MySQL DATETIME | datetime, the wall time read as UTC |
//! | time, interval, others | string (others: cast in the query, e.g. `col::text`) |
//! | json, jsonb | json |
//!
//! SQLite stores few types; Sluice reads its declared types (`BOOLEAN`, `DATE`,
//! `TIMESTAMP`, `JSON`, `DECIMAL*`) to give the values back their type.
//!
//! Left out: arrays, ranges, geometry and other structured types as anything but text.

use super::connections::Driver;
use crate::value::{parse_text_as, DataType, Value};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use compact_str::CompactString;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use sqlx::{Column, Row, TypeInfo, ValueRef};
use std::borrow::Cow;
use std::sync::Arc;

/// How a column's values are read and written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColKind {
    Bool,
    Int16,
    Int32,
    Int64,
    /// MySQL unsigned integers (read exactly: as decimal when beyond i64).
    UInt64,
    Float32,
    Float64,
    Decimal,
    Text,
    Uuid,
    Bytes,
    Date,
    Time,
    /// Without a zone: the wall time is taken as UTC.
    Timestamp,
    TimestampTz,
    Json,
    /// A type Sluice cannot decode itself; read as text where the SQL can cast it.
    Other,
}

impl ColKind {
    /// The Sluice type a column of this kind gives.
    pub fn data_type(self) -> DataType {
        match self {
            ColKind::Bool => DataType::Bool,
            ColKind::Int16 | ColKind::Int32 | ColKind::Int64 => DataType::Int,
            ColKind::UInt64 | ColKind::Decimal => DataType::Decimal,
            ColKind::Float32 | ColKind::Float64 => DataType::Float,
            ColKind::Text | ColKind::Uuid | ColKind::Bytes | ColKind::Time | ColKind::Other => DataType::String,
            ColKind::Date => DataType::Date,
            ColKind::Timestamp | ColKind::TimestampTz => DataType::DateTime,
            ColKind::Json => DataType::Json,
        }
    }

    /// From a type name as the catalog spells it: PostgreSQL `format_type`, MySQL
    /// `information_schema.columns.data_type`/`column_type`, SQLite's declared type.
    pub fn from_type_name(driver: Driver, name: &str) -> ColKind {
        let n = name.trim().to_ascii_lowercase();
        let base = n.split('(').next().unwrap_or_default().trim();
        match driver {
            Driver::Postgres => match base {
                "boolean" | "bool" => ColKind::Bool,
                "smallint" | "int2" | "smallserial" => ColKind::Int16,
                "integer" | "int" | "int4" | "serial" => ColKind::Int32,
                "bigint" | "int8" | "bigserial" => ColKind::Int64,
                "real" | "float4" => ColKind::Float32,
                "double precision" | "float8" => ColKind::Float64,
                "numeric" | "decimal" => ColKind::Decimal,
                "text" | "character varying" | "varchar" | "character" | "char" | "bpchar" | "name" | "citext" => ColKind::Text,
                "uuid" => ColKind::Uuid,
                "bytea" => ColKind::Bytes,
                "date" => ColKind::Date,
                "time without time zone" | "time" => ColKind::Time,
                "timestamp without time zone" | "timestamp" => ColKind::Timestamp,
                "timestamp with time zone" | "timestamptz" => ColKind::TimestampTz,
                "json" | "jsonb" => ColKind::Json,
                _ => ColKind::Other,
            },
            Driver::Mysql => {
                let unsigned = n.contains("unsigned");
                match base.split_whitespace().next().unwrap_or_default() {
                    "tinyint" if n.starts_with("tinyint(1)") => ColKind::Bool,
                    "bool" | "boolean" => ColKind::Bool,
                    "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "year" => ColKind::Int64,
                    "bigint" if unsigned => ColKind::UInt64,
                    "bigint" => ColKind::Int64,
                    "float" => ColKind::Float32,
                    "double" | "real" => ColKind::Float64,
                    "decimal" | "numeric" | "dec" | "fixed" => ColKind::Decimal,
                    "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" | "enum" | "set" => ColKind::Text,
                    "uuid" => ColKind::Uuid,
                    "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" | "bit" => ColKind::Bytes,
                    "date" => ColKind::Date,
                    "time" => ColKind::Time,
                    "datetime" | "timestamp" => ColKind::Timestamp,
                    "json" => ColKind::Json,
                    _ => ColKind::Other,
                }
            }
            Driver::Sqlite => sqlite_declared_kind(&n),
        }
    }

    /// From the driver's own type information for a result column.
    pub fn from_pg(ty: &sqlx::postgres::PgTypeInfo) -> ColKind {
        use sqlx::postgres::PgTypeKind;
        match ty.kind() {
            PgTypeKind::Enum(_) => return ColKind::Text,
            PgTypeKind::Domain(base) => return ColKind::from_pg(base),
            _ => {}
        }
        match ty.name().to_ascii_uppercase().as_str() {
            "BOOL" => ColKind::Bool,
            "INT2" => ColKind::Int16,
            "INT4" => ColKind::Int32,
            "INT8" => ColKind::Int64,
            "FLOAT4" => ColKind::Float32,
            "FLOAT8" => ColKind::Float64,
            "NUMERIC" => ColKind::Decimal,
            "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "CITEXT" | "UNKNOWN" => ColKind::Text,
            "UUID" => ColKind::Uuid,
            "BYTEA" => ColKind::Bytes,
            "DATE" => ColKind::Date,
            "TIME" => ColKind::Time,
            "TIMESTAMP" => ColKind::Timestamp,
            "TIMESTAMPTZ" => ColKind::TimestampTz,
            "JSON" | "JSONB" => ColKind::Json,
            _ => ColKind::Other,
        }
    }

    pub fn from_mysql(ty: &sqlx::mysql::MySqlTypeInfo) -> ColKind {
        match ty.name() {
            "BOOLEAN" => ColKind::Bool,
            "BIGINT UNSIGNED" => ColKind::UInt64,
            "TINYINT" | "SMALLINT" | "INT" | "MEDIUMINT" | "BIGINT" | "YEAR" | "TINYINT UNSIGNED" | "SMALLINT UNSIGNED"
            | "MEDIUMINT UNSIGNED" | "INT UNSIGNED" => ColKind::Int64,
            "FLOAT" => ColKind::Float32,
            "DOUBLE" => ColKind::Float64,
            "DECIMAL" => ColKind::Decimal,
            "CHAR" | "VARCHAR" | "TINYTEXT" | "TEXT" | "MEDIUMTEXT" | "LONGTEXT" | "ENUM" | "SET" => ColKind::Text,
            "BINARY" | "VARBINARY" | "TINYBLOB" | "BLOB" | "MEDIUMBLOB" | "LONGBLOB" | "BIT" => ColKind::Bytes,
            "DATE" => ColKind::Date,
            "TIME" => ColKind::Time,
            "DATETIME" | "TIMESTAMP" => ColKind::Timestamp,
            "JSON" => ColKind::Json,
            "NULL" => ColKind::Text,
            _ => ColKind::Other,
        }
    }

    pub fn from_sqlite(ty: &sqlx::sqlite::SqliteTypeInfo) -> ColKind {
        match ty.name() {
            "BOOLEAN" => ColKind::Bool,
            "INTEGER" => ColKind::Int64,
            "REAL" => ColKind::Float64,
            "BLOB" => ColKind::Bytes,
            "DATE" => ColKind::Date,
            "DATETIME" => ColKind::TimestampTz,
            "TIME" => ColKind::Time,
            // TEXT, NUMERIC and NULL (an expression with no declared type)
            _ => ColKind::Text,
        }
    }
}

/// SQLite declared types: the affinity rules, plus the names Sluice gives its own columns.
fn sqlite_declared_kind(n: &str) -> ColKind {
    let n = n.trim();
    if n.starts_with("bool") {
        ColKind::Bool
    } else if n.starts_with("decimal") || n.starts_with("numeric") || n.starts_with("money") {
        ColKind::Decimal
    } else if n == "date" {
        ColKind::Date
    } else if n.starts_with("datetime") || n.starts_with("timestamp") {
        ColKind::TimestampTz
    } else if n == "time" {
        ColKind::Time
    } else if n.starts_with("json") {
        ColKind::Json
    } else if n.starts_with("uuid") {
        ColKind::Uuid
    } else if n.contains("int") {
        ColKind::Int64
    } else if n.contains("char") || n.contains("clob") || n.contains("text") {
        ColKind::Text
    } else if n.contains("blob") || n.is_empty() {
        ColKind::Bytes
    } else if n.contains("real") || n.contains("floa") || n.contains("doub") {
        ColKind::Float64
    } else {
        ColKind::Text
    }
}

// ---------------------------------------------------------------------------------------
// Reading

fn dec<'r, T: sqlx::Decode<'r, DB>, DB: sqlx::Database>(v: <DB as sqlx::Database>::ValueRef<'r>) -> Result<T, String> {
    T::decode(v).map_err(|e| e.to_string())
}

/// `\x` + lower-case hex, PostgreSQL's text form of bytes.
pub fn bytes_text(b: &[u8]) -> Value {
    let mut s = String::with_capacity(2 + b.len() * 2);
    s.push_str("\\x");
    s.push_str(&hex::encode(b));
    Value::String(CompactString::from(s))
}

fn naive_utc(n: NaiveDateTime) -> Value {
    Value::DateTime(n.and_utc().fixed_offset())
}

/// Decodes column `i` of a PostgreSQL row.
pub fn decode_pg(row: &sqlx::postgres::PgRow, i: usize, kind: ColKind) -> Result<Value, String> {
    use sqlx::Postgres as P;
    let v = row.try_get_raw(i).map_err(|e| e.to_string())?;
    if v.is_null() {
        return Ok(Value::Null);
    }
    Ok(match kind {
        ColKind::Bool => Value::Bool(dec::<bool, P>(v)?),
        ColKind::Int16 => Value::Int(dec::<i16, P>(v)? as i64),
        ColKind::Int32 => Value::Int(dec::<i32, P>(v)? as i64),
        ColKind::Int64 | ColKind::UInt64 => Value::Int(dec::<i64, P>(v)?),
        ColKind::Float32 => Value::Float(dec::<f32, P>(v)? as f64),
        ColKind::Float64 => Value::Float(dec::<f64, P>(v)?),
        ColKind::Decimal => Value::Decimal(pg_numeric(&v)?),
        ColKind::Text | ColKind::Other => Value::str(dec::<&str, P>(v)?),
        ColKind::Uuid => Value::str(&dec::<uuid::Uuid, P>(v)?.hyphenated().to_string()),
        ColKind::Bytes => bytes_text(dec::<&[u8], P>(v)?),
        ColKind::Date => Value::Date(dec::<NaiveDate, P>(v)?),
        ColKind::Time => Value::str(&dec::<NaiveTime, P>(v)?.to_string()),
        ColKind::Timestamp => naive_utc(dec::<NaiveDateTime, P>(v)?),
        ColKind::TimestampTz => Value::DateTime(dec::<DateTime<Utc>, P>(v)?.fixed_offset()),
        ColKind::Json => Value::Json(Arc::new(dec::<sqlx::types::Json<serde_json::Value>, P>(v)?.0)),
    })
}

/// PostgreSQL `numeric` to an exact decimal. Decoded here rather than by the driver, whose
/// conversion panics on numbers wider than 28 digits instead of failing.
fn pg_numeric(v: &sqlx::postgres::PgValueRef<'_>) -> Result<Decimal, String> {
    let text = match v.format() {
        sqlx::postgres::PgValueFormat::Text => v.as_str().map_err(|e| e.to_string())?.to_string(),
        sqlx::postgres::PgValueFormat::Binary => {
            let b = v.as_bytes().map_err(|e| e.to_string())?;
            let word = |i: usize| -> Result<i16, String> {
                b.get(i * 2..i * 2 + 2).map(|x| i16::from_be_bytes([x[0], x[1]])).ok_or_else(|| "truncated numeric".to_string())
            };
            let (ndigits, weight, sign, dscale) = (word(0)? as usize, word(1)? as i64, word(2)? as u16, word(3)? as u16 as usize);
            match sign {
                0x0000 | 0x4000 => {}
                0xC000 => return Err("NaN has no exact decimal value".into()),
                _ => return Err("infinity has no exact decimal value".into()),
            }
            let digit = |i: i64| -> Result<i16, String> {
                if i < 0 || i as usize >= ndigits {
                    Ok(0)
                } else {
                    word(4 + i as usize)
                }
            };
            let mut int_part = String::new();
            for i in 0..=weight.max(-1) {
                let d = digit(i)?;
                if int_part.is_empty() {
                    if d != 0 {
                        int_part.push_str(&d.to_string());
                    }
                } else {
                    int_part.push_str(&format!("{d:04}"));
                }
            }
            if int_part.is_empty() {
                int_part.push('0');
            }
            let mut frac = String::new();
            let mut i = weight + 1;
            while frac.len() < dscale {
                frac.push_str(&format!("{:04}", digit(i)?));
                i += 1;
            }
            frac.truncate(dscale);
            let minus = if sign == 0x4000 { "-" } else { "" };
            if frac.is_empty() {
                format!("{minus}{int_part}")
            } else {
                format!("{minus}{int_part}.{frac}")
            }
        }
    };
    Decimal::from_str_exact(&text).map_err(|_| {
        format!(
            "{} has more digits than Sluice's decimals hold (28 significant digits); cast it to text in the query",
            text.chars().take(60).collect::<String>()
        )
    })
}

/// Decodes column `i` of a MySQL row.
pub fn decode_mysql(row: &sqlx::mysql::MySqlRow, i: usize, kind: ColKind) -> Result<Value, String> {
    use sqlx::MySql as M;
    let v = row.try_get_raw(i).map_err(|e| e.to_string())?;
    if v.is_null() {
        return Ok(Value::Null);
    }
    let type_name = v.type_info().name().to_string();
    Ok(match kind {
        ColKind::Bool => Value::Bool(dec::<i64, M>(v)? != 0),
        ColKind::Int16 | ColKind::Int32 | ColKind::Int64 => {
            if type_name.ends_with("UNSIGNED") {
                let u = dec::<u64, M>(v)?;
                Value::Int(i64::try_from(u).map_err(|_| format!("{u} does not fit in an int"))?)
            } else {
                Value::Int(dec::<i64, M>(v)?)
            }
        }
        ColKind::UInt64 => {
            let u = dec::<u64, M>(v)?;
            match i64::try_from(u) {
                Ok(i) => Value::Decimal(Decimal::from(i)),
                Err(_) => Value::Decimal(Decimal::from(u)),
            }
        }
        ColKind::Float32 => Value::Float(dec::<f32, M>(v)? as f64),
        ColKind::Float64 => Value::Float(dec::<f64, M>(v)?),
        // DECIMAL arrives as text; the driver's own conversion rounds past 28 digits.
        ColKind::Decimal => {
            let t = dec::<&str, M>(v)?;
            Value::Decimal(Decimal::from_str_exact(t).map_err(|_| {
                format!("{t} has more digits than Sluice's decimals hold (28 significant digits); cast it to text in the query")
            })?)
        }
        ColKind::Text | ColKind::Other | ColKind::Uuid => {
            let b = dec::<&[u8], M>(v)?;
            match std::str::from_utf8(b) {
                Ok(s) => Value::str(s),
                Err(_) => bytes_text(b),
            }
        }
        ColKind::Json => {
            let s = dec::<&str, M>(v)?;
            Value::Json(Arc::new(serde_json::from_str(s).map_err(|e| format!("not valid JSON: {e}"))?))
        }
        ColKind::Bytes => bytes_text(dec::<&[u8], M>(v)?),
        ColKind::Date => Value::Date(dec::<NaiveDate, M>(v)?),
        ColKind::Time => Value::str(&dec::<NaiveTime, M>(v)?.to_string()),
        ColKind::Timestamp | ColKind::TimestampTz => naive_utc(dec::<NaiveDateTime, M>(v)?),
    })
}

/// Decodes column `i` of a SQLite row: the stored value's own class, given back the type
/// its column declares.
pub fn decode_sqlite(row: &sqlx::sqlite::SqliteRow, i: usize, kind: ColKind) -> Result<Value, String> {
    use sqlx::Sqlite as S;
    let v = row.try_get_raw(i).map_err(|e| e.to_string())?;
    if v.is_null() {
        return Ok(Value::Null);
    }
    let stored = v.type_info().name().to_string();
    let raw = match stored.as_str() {
        "INTEGER" | "BOOLEAN" => Value::Int(dec::<i64, S>(v)?),
        "REAL" => Value::Float(dec::<f64, S>(v)?),
        "BLOB" => {
            let b = dec::<&[u8], S>(v)?;
            match std::str::from_utf8(b) {
                Ok(s) if kind != ColKind::Bytes => Value::str(s),
                _ => return Ok(bytes_text(b)),
            }
        }
        _ => Value::str(dec::<&str, S>(v)?),
    };
    let target = match kind {
        ColKind::Bytes | ColKind::Other | ColKind::Time | ColKind::Uuid => return Ok(raw),
        // Text columns (and expressions of unknown type) give text, as their field says.
        ColKind::Text => {
            return Ok(match raw {
                Value::String(_) => raw,
                other => Value::str(&other.to_text().unwrap_or_default()),
            })
        }
        k => k.data_type(),
    };
    convert_value(raw, target).map_err(|e| format!("{e} (the column is declared as {})", declared_word(kind)))
}

fn declared_word(kind: ColKind) -> &'static str {
    match kind.data_type() {
        DataType::Bool => "a boolean",
        DataType::Int => "an integer",
        DataType::Float => "a real",
        DataType::Decimal => "a decimal",
        DataType::Date => "a date",
        DataType::DateTime => "a timestamp",
        DataType::Json => "JSON",
        DataType::String => "text",
    }
}

/// Converts a value to another Sluice type: numbers between each other where no digit is
/// lost, text parsed as the type, anything to text. Used for SQLite's loose storage, type
/// overrides and key matching.
pub fn convert_value(v: Value, to: DataType) -> Result<Value, String> {
    if v.is_null() || v.data_type() == Some(to) {
        return Ok(v);
    }
    let err = |v: &Value| format!("cannot use {} as {to}", show(v));
    Ok(match (&v, to) {
        (_, DataType::String) => Value::str(&v.to_text().unwrap_or_default()),
        (Value::String(s), _) => parse_text_as(s, to).map_err(|e| e.to_string())?,
        (Value::Int(i), DataType::Float) => Value::Float(*i as f64),
        (Value::Int(i), DataType::Decimal) => Value::Decimal(Decimal::from(*i)),
        (Value::Int(i), DataType::Bool) if *i == 0 || *i == 1 => Value::Bool(*i == 1),
        (Value::Bool(b), DataType::Int) => Value::Int(*b as i64),
        (Value::Float(f), DataType::Int) if f.fract() == 0.0 && f.abs() < 9.0e15 => Value::Int(*f as i64),
        (Value::Float(f), DataType::Decimal) => Value::Decimal(Decimal::try_from(*f).map_err(|_| err(&v))?),
        (Value::Decimal(d), DataType::Float) => Value::Float(d.to_f64().ok_or_else(|| err(&v))?),
        (Value::Decimal(d), DataType::Int) if d.fract().is_zero() => Value::Int(d.to_i64().ok_or_else(|| err(&v))?),
        (Value::Date(d), DataType::DateTime) => Value::DateTime(d.and_hms_opt(0, 0, 0).unwrap().and_utc().fixed_offset()),
        (Value::Int(i), DataType::DateTime) => {
            // Unix seconds, as some applications store times in SQLite.
            Value::DateTime(DateTime::from_timestamp(*i, 0).ok_or_else(|| err(&v))?.fixed_offset())
        }
        (Value::Float(f), DataType::DateTime) => {
            // SQLite's julianday().
            let secs = (f - 2440587.5) * 86400.0;
            Value::DateTime(DateTime::from_timestamp_millis((secs * 1000.0).round() as i64).ok_or_else(|| err(&v))?.fixed_offset())
        }
        (_, DataType::Json) => Value::Json(Arc::new(v.to_json())),
        _ => return Err(err(&v)),
    })
}

/// A value as shown in messages: quoted text, cut at 60 characters.
pub fn show(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::String(s) => format!("{:?}", s.chars().take(60).collect::<String>()),
        other => {
            let t = other.to_text().unwrap_or_default();
            format!("{} {}", other.data_type().map(|t| t.name()).unwrap_or("null"), t.chars().take(60).collect::<String>())
        }
    }
}

// ---------------------------------------------------------------------------------------
// Writing

/// A value converted for one target column, ready to bind or to write into COPY.
#[derive(Debug, Clone, PartialEq)]
pub enum Out<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Decimal(Decimal),
    Text(Cow<'a, str>),
    Uuid(uuid::Uuid),
    Bytes(Vec<u8>),
    Date(NaiveDate),
    /// UTC wall time, for columns without a zone.
    Naive(NaiveDateTime),
    Instant(DateTime<Utc>),
    Json(Cow<'a, serde_json::Value>),
}

/// Converts `v` for a column of `kind`. The error says what was wrong with the value; the
/// caller adds the column's name.
pub fn to_column<'a>(v: &'a Value, kind: ColKind) -> Result<Out<'a>, String> {
    let bad = |want: &str| format!("{} is not {want}", show(v));
    if v.is_null() {
        return Ok(Out::Null);
    }
    Ok(match kind {
        ColKind::Bool => match convert_value(v.clone(), DataType::Bool) {
            Ok(Value::Bool(b)) => Out::Bool(b),
            _ => return Err(bad("true/false")),
        },
        ColKind::Int16 | ColKind::Int32 | ColKind::Int64 => {
            let i = match v {
                Value::Int(i) => *i,
                other => match convert_value(other.clone(), DataType::Int) {
                    Ok(Value::Int(i)) => i,
                    _ => return Err(bad("a whole number")),
                },
            };
            let (lo, hi) = match kind {
                ColKind::Int16 => (i16::MIN as i64, i16::MAX as i64),
                ColKind::Int32 => (i32::MIN as i64, i32::MAX as i64),
                _ => (i64::MIN, i64::MAX),
            };
            if i < lo || i > hi {
                return Err(format!("{i} is out of range for the column ({lo} to {hi})"));
            }
            Out::Int(i)
        }
        ColKind::UInt64 | ColKind::Decimal => match v {
            Value::Decimal(d) => Out::Decimal(*d),
            other => match convert_value(other.clone(), DataType::Decimal) {
                Ok(Value::Decimal(d)) => Out::Decimal(d),
                _ => return Err(bad("a number")),
            },
        },
        ColKind::Float32 | ColKind::Float64 => match v {
            Value::Float(f) => Out::Float(*f),
            other => match convert_value(other.clone(), DataType::Float) {
                Ok(Value::Float(f)) => Out::Float(f),
                _ => return Err(bad("a number")),
            },
        },
        ColKind::Text | ColKind::Time | ColKind::Other => match v {
            Value::String(s) => Out::Text(Cow::Borrowed(s.as_str())),
            other => Out::Text(Cow::Owned(other.to_text().unwrap_or_default())),
        },
        ColKind::Uuid => {
            let t = v.to_text().unwrap_or_default();
            Out::Uuid(uuid::Uuid::parse_str(t.trim()).map_err(|_| bad("a UUID"))?)
        }
        ColKind::Bytes => match v {
            Value::String(s) => match s.strip_prefix("\\x").and_then(|h| hex::decode(h).ok()) {
                Some(b) => Out::Bytes(b),
                None => Out::Bytes(s.as_bytes().to_vec()),
            },
            other => Out::Bytes(other.to_text().unwrap_or_default().into_bytes()),
        },
        ColKind::Date => match v {
            Value::Date(d) => Out::Date(*d),
            Value::DateTime(dt) if dt.time() == NaiveTime::MIN => Out::Date(dt.date_naive()),
            other => match convert_value(other.clone(), DataType::Date) {
                Ok(Value::Date(d)) => Out::Date(d),
                _ => return Err(bad("a date")),
            },
        },
        ColKind::Timestamp | ColKind::TimestampTz => {
            let dt = match v {
                Value::DateTime(dt) => dt.with_timezone(&Utc),
                other => match convert_value(other.clone(), DataType::DateTime) {
                    Ok(Value::DateTime(dt)) => dt.with_timezone(&Utc),
                    _ => return Err(bad("a date-time")),
                },
            };
            if kind == ColKind::Timestamp {
                Out::Naive(dt.naive_utc())
            } else {
                Out::Instant(dt)
            }
        }
        ColKind::Json => match v {
            Value::Json(j) => Out::Json(Cow::Borrowed(&**j)),
            Value::String(s) => Out::Json(Cow::Owned(serde_json::from_str(s).map_err(|_| bad("JSON"))?)),
            other => Out::Json(Cow::Owned(other.to_json())),
        },
    })
}

/// Binds one converted value for PostgreSQL (the SQL casts it to the column's type).
pub fn bind_pg(args: &mut sqlx::postgres::PgArguments, v: Out<'_>) -> Result<(), String> {
    use sqlx::Arguments;
    let r = match v {
        Out::Null => args.add(Option::<String>::None),
        Out::Bool(b) => args.add(b),
        Out::Int(i) => args.add(i),
        Out::Float(f) => args.add(f),
        Out::Decimal(d) => args.add(d),
        Out::Text(s) => args.add(s.into_owned()),
        Out::Uuid(u) => args.add(u),
        Out::Bytes(b) => args.add(b),
        Out::Date(d) => args.add(d),
        Out::Naive(n) => args.add(n),
        Out::Instant(t) => args.add(t),
        Out::Json(j) => args.add(sqlx::types::Json(j.into_owned())),
    };
    r.map_err(|e| e.to_string())
}

/// Binds one converted value for MySQL/MariaDB.
pub fn bind_mysql(args: &mut sqlx::mysql::MySqlArguments, v: Out<'_>) -> Result<(), String> {
    use sqlx::Arguments;
    let r = match v {
        Out::Null => args.add(Option::<String>::None),
        Out::Bool(b) => args.add(b),
        Out::Int(i) => args.add(i),
        Out::Float(f) => args.add(f),
        Out::Decimal(d) => args.add(d),
        Out::Text(s) => args.add(s.into_owned()),
        Out::Uuid(u) => args.add(u.hyphenated().to_string()),
        Out::Bytes(b) => args.add(b),
        Out::Date(d) => args.add(d),
        Out::Naive(n) => args.add(n),
        Out::Instant(t) => args.add(t.naive_utc()),
        Out::Json(j) => args.add(j.to_string()),
    };
    r.map_err(|e| e.to_string())
}

/// Binds one converted value for SQLite: text for decimals, dates and times (ISO 8601, so
/// they sort and compare as text), 0/1 for booleans.
pub fn bind_sqlite(args: &mut sqlx::sqlite::SqliteArguments<'_>, v: Out<'_>) -> Result<(), String> {
    use sqlx::Arguments;
    let r = match v {
        Out::Null => args.add(Option::<String>::None),
        Out::Bool(b) => args.add(b),
        Out::Int(i) => args.add(i),
        Out::Float(f) => args.add(f),
        Out::Decimal(d) => args.add(d.to_string()),
        Out::Text(s) => args.add(s.into_owned()),
        Out::Uuid(u) => args.add(u.hyphenated().to_string()),
        Out::Bytes(b) => args.add(b),
        Out::Date(d) => args.add(d.format("%Y-%m-%d").to_string()),
        Out::Naive(n) => args.add(crate::value::format_datetime(&n.and_utc().fixed_offset())),
        Out::Instant(t) => args.add(crate::value::format_datetime(&t.fixed_offset())),
        Out::Json(j) => args.add(j.to_string()),
    };
    r.map_err(|e| e.to_string())
}

/// The kind to bind a value with when no column says otherwise (query parameters,
/// watermarks): its own type.
pub fn natural_kind(v: &Value) -> ColKind {
    match v {
        Value::Null | Value::String(_) => ColKind::Text,
        Value::Bool(_) => ColKind::Bool,
        Value::Int(_) => ColKind::Int64,
        Value::Float(_) => ColKind::Float64,
        Value::Decimal(_) => ColKind::Decimal,
        Value::Date(_) => ColKind::Date,
        Value::DateTime(_) => ColKind::TimestampTz,
        Value::Json(_) => ColKind::Json,
    }
}

/// Appends one value in PostgreSQL's COPY text format (tab-separated, `\N` for null).
pub fn write_copy_text(buf: &mut Vec<u8>, v: &Out<'_>) {
    use std::io::Write;
    match v {
        Out::Null => buf.extend_from_slice(b"\\N"),
        Out::Bool(b) => buf.push(if *b { b't' } else { b'f' }),
        Out::Int(i) => buf.extend_from_slice(itoa::Buffer::new().format(*i).as_bytes()),
        Out::Float(f) => {
            if f.is_finite() {
                buf.extend_from_slice(ryu::Buffer::new().format_finite(*f).as_bytes())
            } else if f.is_nan() {
                buf.extend_from_slice(b"NaN")
            } else if *f > 0.0 {
                buf.extend_from_slice(b"Infinity")
            } else {
                buf.extend_from_slice(b"-Infinity")
            }
        }
        Out::Decimal(d) => {
            let _ = write!(buf, "{d}");
        }
        Out::Text(s) => copy_escape(buf, s.as_bytes()),
        Out::Uuid(u) => {
            let _ = write!(buf, "{}", u.hyphenated());
        }
        Out::Bytes(b) => {
            buf.extend_from_slice(b"\\\\x");
            buf.extend_from_slice(hex::encode(b).as_bytes());
        }
        Out::Date(d) => {
            let _ = write!(buf, "{}", d.format("%Y-%m-%d"));
        }
        Out::Naive(n) => {
            let _ = write!(buf, "{}", n.format("%Y-%m-%d %H:%M:%S%.f"));
        }
        Out::Instant(t) => {
            let _ = write!(buf, "{}+00", t.naive_utc().format("%Y-%m-%d %H:%M:%S%.f"));
        }
        Out::Json(j) => {
            let text = serde_json::to_vec(&**j).unwrap_or_default();
            copy_escape(buf, &text);
        }
    }
}

/// Appends `v` for a column of `kind` in COPY text format, the common cases without any
/// intermediate value (the load path of a PostgreSQL insert goes through here for every
/// field). On error nothing useful is left in `buf` past its old length: the caller cuts
/// the row off.
pub fn write_copy_value(buf: &mut Vec<u8>, v: &Value, kind: ColKind) -> Result<(), String> {
    match (v, kind) {
        (Value::Null, _) => buf.extend_from_slice(b"\\N"),
        (Value::String(s), ColKind::Text | ColKind::Other | ColKind::Time) => copy_escape(buf, s.as_bytes()),
        (Value::Int(i), ColKind::Int64) => buf.extend_from_slice(itoa::Buffer::new().format(*i).as_bytes()),
        (Value::DateTime(dt), ColKind::TimestampTz) => {
            write_utc(buf, &dt.naive_utc());
            buf.extend_from_slice(b"+00");
        }
        (Value::DateTime(dt), ColKind::Timestamp) => write_utc(buf, &dt.naive_utc()),
        _ => write_copy_text(buf, &to_column(v, kind)?),
    }
    Ok(())
}

/// `YYYY-MM-DD HH:MM:SS[.fffffffff]`, written digit by digit (chrono's formatter parses
/// its pattern on every call, which shows at a million rows).
fn write_utc(buf: &mut Vec<u8>, n: &NaiveDateTime) {
    use chrono::{Datelike, Timelike};
    let two = |buf: &mut Vec<u8>, x: u32| {
        buf.push(b'0' + (x / 10) as u8);
        buf.push(b'0' + (x % 10) as u8);
    };
    let y = n.year();
    if (0..=9999).contains(&y) {
        let y = y as u32;
        two(buf, y / 100);
        two(buf, y % 100);
    } else {
        // Outside four digits PostgreSQL wants its own spelling: let chrono write it.
        use std::io::Write;
        let _ = write!(buf, "{}", n.format("%Y-%m-%d %H:%M:%S%.f"));
        return;
    }
    buf.push(b'-');
    two(buf, n.month());
    buf.push(b'-');
    two(buf, n.day());
    buf.push(b' ');
    two(buf, n.hour());
    buf.push(b':');
    two(buf, n.minute());
    buf.push(b':');
    two(buf, n.second());
    let mut nanos = n.nanosecond() % 1_000_000_000;
    if nanos > 0 {
        buf.push(b'.');
        let mut digits = 9;
        while nanos % 10 == 0 {
            nanos /= 10;
            digits -= 1;
        }
        let text = format!("{nanos:0digits$}");
        buf.extend_from_slice(text.as_bytes());
    }
}

fn copy_escape(buf: &mut Vec<u8>, s: &[u8]) {
    let mut start = 0;
    for (i, &c) in s.iter().enumerate() {
        let esc: &[u8] = match c {
            b'\\' => b"\\\\",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            _ => continue,
        };
        buf.extend_from_slice(&s[start..i]);
        buf.extend_from_slice(esc);
        start = i + 1;
    }
    buf.extend_from_slice(&s[start..]);
}

/// Names and kinds of a result's columns, from its first row or a prepared statement.
pub fn pg_columns(cols: &[sqlx::postgres::PgColumn]) -> Vec<(String, ColKind)> {
    cols.iter().map(|c| (c.name().to_string(), ColKind::from_pg(c.type_info()))).collect()
}
pub fn mysql_columns(cols: &[sqlx::mysql::MySqlColumn]) -> Vec<(String, ColKind)> {
    cols.iter().map(|c| (c.name().to_string(), ColKind::from_mysql(c.type_info()))).collect()
}
pub fn sqlite_columns(cols: &[sqlx::sqlite::SqliteColumn]) -> Vec<(String, ColKind)> {
    cols.iter().map(|c| (c.name().to_string(), ColKind::from_sqlite(c.type_info()))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_type_names_map_to_kinds() {
        assert_eq!(ColKind::from_type_name(Driver::Postgres, "timestamp with time zone"), ColKind::TimestampTz);
        assert_eq!(ColKind::from_type_name(Driver::Postgres, "character varying"), ColKind::Text);
        assert_eq!(ColKind::from_type_name(Driver::Mysql, "tinyint(1)"), ColKind::Bool);
        assert_eq!(ColKind::from_type_name(Driver::Mysql, "bigint(20) unsigned"), ColKind::UInt64);
        assert_eq!(ColKind::from_type_name(Driver::Mysql, "int(11)"), ColKind::Int64);
        assert_eq!(ColKind::from_type_name(Driver::Sqlite, "DECIMAL_TEXT"), ColKind::Decimal);
        assert_eq!(ColKind::from_type_name(Driver::Sqlite, "VARCHAR(20)"), ColKind::Text);
        assert_eq!(ColKind::from_type_name(Driver::Sqlite, "TIMESTAMP"), ColKind::TimestampTz);
    }

    #[test]
    fn values_convert_for_columns_or_say_why_not() {
        assert_eq!(to_column(&Value::str("42"), ColKind::Int32).unwrap(), Out::Int(42));
        let e = to_column(&Value::str("abc"), ColKind::Int64).unwrap_err();
        assert_eq!(e, "\"abc\" is not a whole number");
        let e = to_column(&Value::Int(70000), ColKind::Int16).unwrap_err();
        assert!(e.contains("out of range"), "{e}");
        assert_eq!(to_column(&Value::str("\\x6869"), ColKind::Bytes).unwrap(), Out::Bytes(b"hi".to_vec()));
        let mut buf = Vec::new();
        write_copy_text(&mut buf, &Out::Text(Cow::Borrowed("a\tb\\c\nd")));
        assert_eq!(buf, b"a\\tb\\\\c\\nd");
        let dt = crate::value::parse_text_as("2024-01-01T00:00:30.120+08:00", DataType::DateTime).unwrap();
        let mut a = Vec::new();
        write_copy_value(&mut a, &dt, ColKind::TimestampTz).unwrap();
        assert_eq!(String::from_utf8(a).unwrap(), "2023-12-31 16:00:30.12+00");
        let mut b = Vec::new();
        write_copy_text(&mut b, &to_column(&dt, ColKind::TimestampTz).unwrap());
        assert_eq!(String::from_utf8(b).unwrap(), "2023-12-31 16:00:30.120+00");
    }
}

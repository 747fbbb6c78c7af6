//! JSON helpers shared by the `json_*` nodes and by scripts: a small path syntax
//! (`customer.phone`, `messages[0].text`), flattening an object into (name, value) pairs,
//! reading a JSON value as a requested field type, and the natural JSON form of a row value
//! (exact decimals as numbers when they survive the trip). Rhai gets `json_parse(text)`,
//! `json_stringify(value)` and `json_get(value_or_text, path)`.
//!
//! What it leaves out: JSONPath / JMESPath queries (wildcards, filters, recursive descent) —
//! a path here names exactly one value, which is what a column needs. Numbers are read as
//! serde_json reads them (64-bit integers or doubles), not with arbitrary precision.

use crate::value::{DataType, ParseValueError, Value};
use rhai::{Dynamic, Engine, EvalAltResult};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value as J;
use std::fmt;
use std::str::FromStr;

/// One step of a [`JsonPath`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSegment {
    /// A key of an object.
    Key(String),
    /// A position in an array; negative counts from the end (`-1` is the last element).
    Index(i64),
}

/// A path to one value inside a JSON document: keys joined by dots, array positions in
/// brackets, a key holding a dot or a bracket quoted in brackets. `a.b[0].c`,
/// `tags[-1]`, `["order.no"]`. A leading `$` or `$.` is accepted and ignored; the empty
/// path names the whole document.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JsonPath {
    segments: Vec<PathSegment>,
}

/// A path that does not follow the syntax, with the reason in plain words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the JSON path {path:?} is not valid: {reason}")]
pub struct PathError {
    pub path: String,
    pub reason: String,
}

impl JsonPath {
    pub fn parse(text: &str) -> Result<Self, PathError> {
        let err = |reason: String| PathError { path: text.to_string(), reason };
        let mut s = text.trim();
        if let Some(rest) = s.strip_prefix('$') {
            s = rest.strip_prefix('.').unwrap_or(rest);
        }
        let mut segments = Vec::new();
        let mut chars = s.chars().peekable();
        // `after_dot`: a key must come next. `after_bracket`: a '.' or '[' must come next.
        let (mut after_dot, mut after_bracket) = (false, false);
        while let Some(&c) = chars.peek() {
            match c {
                '.' => {
                    if segments.is_empty() || after_dot {
                        return Err(err("a key is missing (a leading dot, or two dots in a row)".into()));
                    }
                    chars.next();
                    after_dot = true;
                    after_bracket = false;
                    continue;
                }
                '[' => {
                    if after_dot {
                        return Err(err("a '.' must be followed by a key, not '['".into()));
                    }
                    chars.next();
                    if let Some(&q @ ('"' | '\'')) = chars.peek() {
                        chars.next();
                        let mut key = String::new();
                        loop {
                            match chars.next() {
                                None => return Err(err(format!("the quoted key {q}{key} is not closed"))),
                                Some(ch) if ch == q => break,
                                Some(ch) => key.push(ch),
                            }
                        }
                        if chars.next() != Some(']') {
                            return Err(err(format!("expected ']' after the quoted key {q}{key}{q}")));
                        }
                        segments.push(PathSegment::Key(key));
                    } else {
                        let mut inner = String::new();
                        loop {
                            match chars.next() {
                                None => return Err(err("a '[' is not closed".into())),
                                Some(']') => break,
                                Some(ch) => inner.push(ch),
                            }
                        }
                        let n = inner.trim().parse::<i64>().map_err(|_| {
                            err(format!("[{inner}] is not an array position; write a whole number such as [0], or [\"{inner}\"] for a key"))
                        })?;
                        segments.push(PathSegment::Index(n));
                    }
                    after_bracket = true;
                }
                _ => {
                    if after_bracket {
                        return Err(err(format!("expected '.' or '[' after ']', found '{c}'")));
                    }
                    let mut key = String::new();
                    while let Some(&ch) = chars.peek() {
                        if ch == '.' || ch == '[' {
                            break;
                        }
                        key.push(ch);
                        chars.next();
                    }
                    segments.push(PathSegment::Key(key));
                }
            }
            after_dot = false;
        }
        if after_dot {
            return Err(err("the path ends with '.'".into()));
        }
        Ok(JsonPath { segments })
    }

    pub fn segments(&self) -> &[PathSegment] {
        &self.segments
    }

    /// The value at this path, or `None` when a key or position is missing or a step meets
    /// something that is not an object or array.
    pub fn get<'a>(&self, mut v: &'a J) -> Option<&'a J> {
        for seg in &self.segments {
            v = match (seg, v) {
                (PathSegment::Key(k), J::Object(m)) => m.get(k)?,
                (PathSegment::Index(i), J::Array(a)) => a.get(resolve_index(*i, a.len())?)?,
                _ => return None,
            };
        }
        Some(v)
    }

    /// A column name for this path: keys and positions joined by `separator`
    /// (`customer.phone` → `customer_phone`, `tags[0]` → `tags_0`).
    pub fn column_name(&self, separator: &str) -> String {
        let parts: Vec<String> = self
            .segments
            .iter()
            .map(|s| match s {
                PathSegment::Key(k) => k.clone(),
                PathSegment::Index(i) => i.to_string(),
            })
            .collect();
        parts.join(separator)
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.segments.iter().enumerate() {
            match s {
                PathSegment::Key(k) if k.is_empty() || k.contains(['.', '[', ']']) => write!(f, "[{k:?}]")?,
                PathSegment::Key(k) if i == 0 => f.write_str(k)?,
                PathSegment::Key(k) => write!(f, ".{k}")?,
                PathSegment::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

fn resolve_index(i: i64, len: usize) -> Option<usize> {
    let idx = if i < 0 { len as i64 + i } else { i };
    (idx >= 0).then_some(idx as usize)
}

/// What flattening does with arrays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ArrayMode {
    /// An array stays one JSON value (`tags` = `["vip","refund"]`).
    #[default]
    Keep,
    /// Each element gets a column of its own, named with its position (`tags_0`, `tags_1`).
    Index,
}

/// How [`flatten_with`] walks a document.
#[derive(Debug, Clone, Copy)]
pub struct FlattenOptions<'a> {
    /// Between the keys of a name (`customer` + `_` + `phone`).
    pub separator: &'a str,
    /// How many levels of objects to open; deeper objects stay JSON. `None`: all.
    pub max_depth: Option<usize>,
    pub arrays: ArrayMode,
}

/// Calls `emit(name, value)` for every leaf of `v`, depth first in document order. A name is
/// `prefix` followed by the keys on the way joined by the separator. Empty objects (and, with
/// [`ArrayMode::Index`], empty arrays) have no leaves and emit nothing. A `v` that is not an
/// object emits itself under `prefix`.
///
/// The name is built in one reused buffer, so a caller that looks names up in a map pays no
/// allocation per leaf.
pub fn flatten_with(v: &J, opts: &FlattenOptions, prefix: &str, emit: &mut dyn FnMut(&str, &J)) {
    let mut name = String::from(prefix);
    walk(v, opts, 0, &mut name, true, emit);
}

fn walk(v: &J, opts: &FlattenOptions, depth: usize, name: &mut String, at_root: bool, emit: &mut dyn FnMut(&str, &J)) {
    let open = opts.max_depth.is_none_or(|m| depth < m);
    let child = |name: &mut String, key: &str, x: &J, emit: &mut dyn FnMut(&str, &J)| {
        let len = name.len();
        if !at_root {
            name.push_str(opts.separator);
        }
        name.push_str(key);
        walk(x, opts, depth + 1, name, false, emit);
        name.truncate(len);
    };
    match v {
        J::Object(m) if open => {
            for (k, x) in m {
                child(name, k, x, emit);
            }
        }
        J::Array(a) if open && opts.arrays == ArrayMode::Index => {
            let mut digits = itoa::Buffer::new();
            for (i, x) in a.iter().enumerate() {
                child(name, digits.format(i), x, emit);
            }
        }
        _ => emit(name, v),
    }
}

/// [`flatten_with`] collected into owned pairs.
pub fn flatten(v: &J, opts: &FlattenOptions, prefix: &str) -> Vec<(String, J)> {
    let mut out = Vec::new();
    flatten_with(v, opts, prefix, &mut |n, x| out.push((n.to_string(), x.clone())));
    out
}

/// The field type a JSON value reads as without a hint: `None` for null.
pub fn json_type(v: &J) -> Option<DataType> {
    Some(match v {
        J::Null => return None,
        J::Bool(_) => DataType::Bool,
        J::Number(n) if n.is_i64() => DataType::Int,
        J::Number(_) => DataType::Float,
        J::String(_) => DataType::String,
        J::Array(_) | J::Object(_) => DataType::Json,
    })
}

/// Reads a JSON value as a field of type `ty`. More forgiving than
/// [`Value::from_json_as`] where the intent is plain: any value can be text (objects and
/// arrays as their JSON text), any value can be JSON (a JSON string stays a string), and a
/// whole float such as `3.0` is an int. Strings are parsed as the type (`"2024-03-05"` as a
/// date).
pub fn json_to_value_as(v: &J, ty: DataType) -> Result<Value, ParseValueError> {
    match (v, ty) {
        (J::Null, _) => Ok(Value::Null),
        (_, DataType::Json) => Ok(Value::Json(std::sync::Arc::new(v.clone()))),
        (J::Object(_) | J::Array(_), DataType::String) => Ok(Value::str(&v.to_string())),
        (J::Number(n), DataType::Int) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            if f.fract() == 0.0 && f.abs() < 9.0e18 {
                Ok(Value::Int(f as i64))
            } else {
                Err(ParseValueError::new(&n.to_string(), ty))
            }
        }
        _ => Value::from_json_as(v, ty),
    }
}

/// A decimal as a JSON number when the number reads back as the same value (`12.50` →
/// `12.5`; trailing zeros are not kept), else as a string so no digit is lost
/// (`12345678901234567.89` does not fit a double).
pub fn decimal_to_json(d: &Decimal) -> J {
    if let Ok(n) = serde_json::Number::from_str(&d.normalize().to_string()) {
        let back = n.to_string();
        let same = Decimal::from_str(&back).or_else(|_| Decimal::from_scientific(&back)).is_ok_and(|b| b == *d);
        if same {
            return J::Number(n);
        }
    }
    J::String(d.to_string())
}

/// The natural JSON form of a row value, for building documents: numbers as numbers
/// (decimals per [`decimal_to_json`]), dates as `2024-03-05`, date-times as RFC 3339, JSON as
/// it is. A float that is not finite becomes null (JSON has no NaN).
pub fn value_to_json_natural(v: &Value) -> J {
    match v {
        Value::Decimal(d) => decimal_to_json(d),
        other => other.to_json(),
    }
}

/// A script value as JSON. Rhai maps come out with their keys sorted (that is how Rhai
/// stores them).
pub fn dynamic_to_json(d: &Dynamic) -> Result<J, String> {
    if d.is_unit() {
        return Ok(J::Null);
    }
    if let Ok(b) = d.as_bool() {
        return Ok(J::Bool(b));
    }
    if let Ok(i) = d.as_int() {
        return Ok(J::from(i));
    }
    if let Ok(f) = d.as_float() {
        return Ok(serde_json::Number::from_f64(f).map(J::Number).unwrap_or(J::Null));
    }
    if let Ok(x) = d.as_decimal() {
        return Ok(decimal_to_json(&x));
    }
    if let Ok(c) = d.as_char() {
        return Ok(J::String(c.to_string()));
    }
    if d.is_string() {
        return Ok(J::String(d.clone().into_string().unwrap_or_default()));
    }
    if let Ok(a) = d.as_array_ref() {
        return a.iter().map(dynamic_to_json).collect::<Result<Vec<_>, _>>().map(J::Array);
    }
    if let Ok(m) = d.as_map_ref() {
        let mut out = serde_json::Map::new();
        for (k, x) in m.iter() {
            out.insert(k.to_string(), dynamic_to_json(x)?);
        }
        return Ok(J::Object(out));
    }
    Err(format!("a value of type {} has no JSON form", d.type_name()))
}

fn json_to_dynamic(v: &J) -> Result<Dynamic, Box<EvalAltResult>> {
    rhai::serde::to_dynamic(v)
}

/// `json_get` on a script value: maps by key, arrays by position; anything missing is `()`.
fn get_dynamic(v: &Dynamic, segs: &[PathSegment]) -> Dynamic {
    let Some((first, rest)) = segs.split_first() else {
        return v.clone();
    };
    match first {
        PathSegment::Key(k) => match v.as_map_ref() {
            Ok(m) => m.get(k.as_str()).map(|x| get_dynamic(x, rest)).unwrap_or(Dynamic::UNIT),
            Err(_) => Dynamic::UNIT,
        },
        PathSegment::Index(i) => match v.as_array_ref() {
            Ok(a) => resolve_index(*i, a.len()).and_then(|ix| a.get(ix)).map(|x| get_dynamic(x, rest)).unwrap_or(Dynamic::UNIT),
            Err(_) => Dynamic::UNIT,
        },
    }
}

fn parse_text(fn_name: &str, text: &str) -> Result<J, Box<EvalAltResult>> {
    serde_json::from_str(text).map_err(|e| format!("{fn_name}: the text is not valid JSON: {e}").into())
}

/// Registers `json_parse`, `json_stringify` and `json_get` with the script engine.
pub fn register(engine: &mut Engine) {
    // json_parse(text) → map / array / scalar. A null (`()`) stays null, and a value that is
    // already a map or an array passes through, so scripts need not know whether an upstream
    // node parsed the field already.
    engine.register_fn("json_parse", |v: Dynamic| -> Result<Dynamic, Box<EvalAltResult>> {
        if v.is_unit() || v.is_map() || v.is_array() {
            return Ok(v);
        }
        if v.is_string() {
            let text = v.into_string().unwrap_or_default();
            return json_to_dynamic(&parse_text("json_parse", &text)?);
        }
        Err(format!("json_parse: expected JSON text, got a value of type {}", v.type_name()).into())
    });
    // json_stringify(value) → compact JSON text, as JavaScript's JSON.stringify.
    engine.register_fn("json_stringify", |v: Dynamic| -> Result<String, Box<EvalAltResult>> {
        let j = dynamic_to_json(&v).map_err(|e| format!("json_stringify: {e}"))?;
        Ok(j.to_string())
    });
    // json_get(value_or_text, "a.b[0]") → the value at the path, `()` when missing.
    engine.register_fn("json_get", |v: Dynamic, path: &str| -> Result<Dynamic, Box<EvalAltResult>> {
        let p = JsonPath::parse(path).map_err(|e| format!("json_get: {e}"))?;
        if v.is_string() {
            let text = v.into_string().unwrap_or_default();
            let doc = parse_text("json_get", &text)?;
            return match p.get(&doc) {
                Some(x) => json_to_dynamic(x),
                None => Ok(Dynamic::UNIT),
            };
        }
        if v.is_unit() || v.is_map() || v.is_array() {
            return Ok(get_dynamic(&v, p.segments()));
        }
        Err(format!("json_get: expected JSON text, a map or an array, got a value of type {}", v.type_name()).into())
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ticket() -> J {
        json!({"id": 1, "customer": {"name": "王秀英", "phone": "13812345678"}, "tags": ["vip", "refund"],
               "messages": [{"from": "agent", "text": "您好"}, {"from": "customer", "text": "退款"}]})
    }

    #[test]
    fn paths_parse_and_get() {
        let t = ticket();
        let get = |p: &str| JsonPath::parse(p).unwrap().get(&t).cloned();
        assert_eq!(get("customer.name"), Some(json!("王秀英")));
        assert_eq!(get("messages[1].text"), Some(json!("退款")));
        assert_eq!(get("$.tags[-1]"), Some(json!("refund")));
        assert_eq!(get("tags[5]"), None);
        assert_eq!(get("tags[-3]"), None);
        assert_eq!(get("customer.name.first"), None, "a step into a string finds nothing");
        assert_eq!(get(""), Some(t.clone()), "the empty path is the document");
        let dotted = json!({"order.no": {"x": [10, 20]}});
        let p = JsonPath::parse(r#"["order.no"].x[1]"#).unwrap();
        assert_eq!(p.get(&dotted), Some(&json!(20)));
        assert_eq!(p.to_string(), r#"["order.no"].x[1]"#);
        assert_eq!(JsonPath::parse("messages[0].from").unwrap().column_name("_"), "messages_0_from");
    }

    #[test]
    fn bad_paths_say_why() {
        for (p, needle) in [
            ("a..b", "two dots"),
            (".a", "leading dot"),
            ("a.", "ends with"),
            ("a[x]", "not an array position"),
            ("a[0", "not closed"),
            ("a[0]b", "after ']'"),
            ("a[\"k]", "not closed"),
        ] {
            let e = JsonPath::parse(p).unwrap_err();
            assert!(e.to_string().contains(needle), "{p}: {e}");
        }
    }

    #[test]
    fn flatten_names_depth_and_arrays() {
        let t = ticket();
        let keep = FlattenOptions { separator: "_", max_depth: None, arrays: ArrayMode::Keep };
        let names: Vec<String> = flatten(&t, &keep, "").into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["id", "customer_name", "customer_phone", "tags", "messages"]);
        let pairs = flatten(&t, &keep, "t.");
        assert_eq!(pairs[2], ("t.customer_phone".to_string(), json!("13812345678")));
        assert_eq!(pairs[3], ("t.tags".to_string(), json!(["vip", "refund"])));

        let index = FlattenOptions { separator: ".", max_depth: None, arrays: ArrayMode::Index };
        let names: Vec<String> = flatten(&t, &index, "").into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            ["id", "customer.name", "customer.phone", "tags.0", "tags.1", "messages.0.from", "messages.0.text", "messages.1.from", "messages.1.text"]
        );

        let shallow = FlattenOptions { separator: "_", max_depth: Some(1), arrays: ArrayMode::Index };
        let pairs = flatten(&t, &shallow, "");
        assert_eq!(pairs[1], ("customer".to_string(), json!({"name": "王秀英", "phone": "13812345678"})));
        assert_eq!(pairs.len(), 4);
        assert!(flatten(&json!({"a": {}, "b": 1}), &keep, "").iter().all(|(n, _)| n == "b"), "empty objects have no leaves");
    }

    #[test]
    fn typed_reads_and_natural_values() {
        assert_eq!(json_to_value_as(&json!(3.0), DataType::Int).unwrap(), Value::Int(3));
        assert!(json_to_value_as(&json!(3.5), DataType::Int).is_err());
        assert_eq!(json_to_value_as(&json!(["a"]), DataType::String).unwrap(), Value::str(r#"["a"]"#));
        assert_eq!(json_to_value_as(&json!("vip"), DataType::Json).unwrap(), Value::Json(json!("vip").into()));
        assert_eq!(json_to_value_as(&json!(42), DataType::String).unwrap(), Value::str("42"));
        let d = json_to_value_as(&json!("2024-03-05"), DataType::Date).unwrap();
        assert_eq!(d.to_text().unwrap(), "2024-03-05");
        assert!(json_to_value_as(&json!({"a": 1}), DataType::Int).is_err());
        assert_eq!(json_type(&json!(1)), Some(DataType::Int));
        assert_eq!(json_type(&json!(1.5)), Some(DataType::Float));
        assert_eq!(json_type(&json!(null)), None);

        let dec = |s: &str| decimal_to_json(&Decimal::from_str(s).unwrap());
        assert_eq!(dec("12.50").to_string(), "12.5");
        assert_eq!(dec("100").to_string(), "100");
        assert_eq!(dec("-0.1").to_string(), "-0.1");
        assert_eq!(dec("12345678901234567.89"), json!("12345678901234567.89"), "too many digits for a double stay text");
    }

    fn eval(script: &str) -> Dynamic {
        let mut e = Engine::new();
        register(&mut e);
        e.eval::<Dynamic>(script).unwrap_or_else(|err| panic!("{script}: {err}"))
    }

    #[test]
    fn rhai_functions() {
        let text = ticket().to_string();
        let mut e = Engine::new();
        register(&mut e);
        let mut scope = rhai::Scope::new();
        scope.push("raw", text);
        let name: String = e.eval_with_scope(&mut scope, r#"json_get(raw, "customer.name")"#).unwrap();
        assert_eq!(name, "王秀英");
        let second: String = e.eval_with_scope(&mut scope, r#"json_get(json_parse(raw), "messages[-1].text")"#).unwrap();
        assert_eq!(second, "退款");
        let tag: String = e.eval_with_scope(&mut scope, "json_parse(raw).tags[0]").unwrap();
        assert_eq!(tag, "vip");
        assert!(eval(r#"json_get("{\"a\":1}", "b.c")"#).is_unit());
        assert!(eval("json_parse(())").is_unit());
        assert_eq!(eval(r#"json_stringify(#{b: [1, 2.5, "x", ()], a: true})"#).into_string().unwrap(), r#"{"a":true,"b":[1,2.5,"x",null]}"#);
        assert_eq!(eval(r#"json_stringify("say \"hi\"")"#).into_string().unwrap(), r#""say \"hi\"""#);
        let err = e.eval::<Dynamic>(r#"json_parse("{oops")"#).unwrap_err().to_string();
        assert!(err.contains("not valid JSON") && err.contains("column"), "{err}");
        let err = e.eval::<Dynamic>(r#"json_get(#{a: 1}, "a[")"#).unwrap_err().to_string();
        assert!(err.contains("not closed"), "{err}");
    }
}

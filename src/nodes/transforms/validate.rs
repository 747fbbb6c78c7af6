//! `validate`: checks each row against rules per field — required, type, pattern, range,
//! allowed values, length, Chinese ID number (GB 11643-1999 checksum), Chinese mobile
//! number — and splits the rows: valid ones to `out`, the others to `error` with *every*
//! broken rule in `_error_message` (separated by `; `) and the fields concerned in
//! `_error_field` (separated by `, `), so one pass tells the data owner all that is wrong.
//!
//! Rules on a null value: only `required` looks at it; every other rule passes a null
//! (say `required` to forbid it). `required` also fails on text that is empty or only
//! whitespace. `regex` must match the whole text. `min` / `max` are numbers for numeric
//! values (and for text that reads as a number) or dates / date-times written as text for
//! date values; a date bound against a date-time value means midnight UTC.
//!
//! Left out: rules across fields (`end >= start`: use `filter` or `script`), uniqueness
//! (`dedupe`), and lookups against reference data.

use super::cleanse::unknown_field;
use crate::exec::{BlockingNode, NodeError, NodeIo, RowError};
use crate::functions::dates::{self, DateTimeText, Zone};
use crate::functions::idcard::check_id_card;
use crate::functions::phone::is_mobile_cn;
use crate::functions::text::compile_regex;
use crate::nodes::{Category, ConfigProblem, NodeContext, NodeKind, NodeMeta, NodeTask, PortSchemas};
use crate::value::{parse_text_as, Batch, DataType, Row, SchemaRef, Value};
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime};
use regex::Regex;
use rust_decimal::prelude::ToPrimitive;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::sync::Arc;

/// Checks rows against rules; rows breaking any rule leave by `error` with every broken
/// rule listed.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidateConfig {
    /// The rules. Several rules may name the same field. Example:
    /// `[{"field": "phone", "required": true, "mobile_cn": true},
    ///   {"field": "satisfaction", "type": "int", "min": 1, "max": 5}]`.
    pub rules: Vec<ValidateRule>,
}

/// What one field must satisfy. Every option given must hold.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidateRule {
    /// The field to check.
    #[schemars(extend("x-field" = "in"))]
    pub field: String,
    /// The value must not be null, empty or only whitespace.
    #[serde(default, skip_serializing_if = "is_false")]
    pub required: bool,
    /// The value must be of this type, or text that reads as it (`"42"` is an int).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub data_type: Option<DataType>,
    /// A regular expression the whole text must match, e.g. `[A-Z]\d{4}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
    /// Smallest allowed value: a number, or a date / date-time as text (`"2024-01-01"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<Bound>,
    /// Largest allowed value: a number, or a date / date-time as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<Bound>,
    /// The allowed values; the value's text must equal one of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub one_of: Option<Vec<serde_json::Value>>,
    /// Fewest characters the text may have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<usize>,
    /// Most characters the text may have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<usize>,
    /// The value must be a valid 18-character Chinese ID number (GB 11643-1999: birth date
    /// and check character).
    #[serde(default, skip_serializing_if = "is_false")]
    pub id_card: bool,
    /// The value must be a Chinese mobile number as 11 digits (`1[3-9]` and 9 more); clean
    /// written forms such as `+86 138-…` first with a `cleanse` `phone_cn` step.
    #[serde(default, skip_serializing_if = "is_false")]
    pub mobile_cn: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A range bound: a number, or a date / date-time written as text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Bound {
    Number(f64),
    Text(String),
}

pub struct Validate;

impl NodeKind for Validate {
    type Config = ValidateConfig;

    fn meta(&self) -> NodeMeta {
        NodeMeta {
            kind: "validate",
            category: Category::Transform,
            title: "Validate rows",
            description: "Checks fields against rules (required, type, regex, range, allowed values, length, Chinese ID number, mobile number); invalid rows leave by `error` with every broken rule listed.",
            keywords: &["check", "quality", "rules", "required", "regex", "range", "id card", "身份证", "手机号", "校验"],
            icon: "check-circle",
        }
    }

    fn check(&self, config: &Self::Config, _ctx: &NodeContext, inputs: &PortSchemas) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        for (i, rule) in config.rules.iter().enumerate() {
            match CompiledRule::new(rule, i) {
                Ok(_) => {}
                Err(p) => problems.extend(p),
            }
            let Some(schema) = inputs.get("in") else { continue };
            let Some(f) = schema.field(&rule.field) else {
                problems.push(unknown_field(format!("rules/{i}/field"), &rule.field, schema));
                continue;
            };
            let numeric = matches!(f.data_type, DataType::Int | DataType::Float | DataType::Decimal);
            let temporal = matches!(f.data_type, DataType::Date | DataType::DateTime);
            for (name, b) in [("min", &rule.min), ("max", &rule.max)] {
                match b {
                    Some(Bound::Text(_)) if numeric => problems.push(
                        ConfigProblem::new(format!("rules/{i}/{name}"), format!("'{}' is a {} field, so {name} must be a number", rule.field, f.data_type))
                            .hint(format!("write {name} without quotes, e.g. \"{name}\": 1")),
                    ),
                    Some(Bound::Number(_)) if temporal => problems.push(
                        ConfigProblem::new(format!("rules/{i}/{name}"), format!("'{}' is a {} field, so {name} must be a date as text", rule.field, f.data_type))
                            .hint(format!("e.g. \"{name}\": \"2024-01-01\"")),
                    ),
                    _ => {}
                }
            }
        }
        problems
    }

    fn output_schemas(&self, _config: &Self::Config, _ctx: &NodeContext, inputs: &PortSchemas) -> Result<PortSchemas, ConfigProblem> {
        Ok(inputs.get("in").map(|s| PortSchemas::from([("out".to_string(), s.clone())])).unwrap_or_default())
    }

    fn build(&self, config: Self::Config, _ctx: &NodeContext) -> Result<NodeTask, ConfigProblem> {
        let rules = config
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| CompiledRule::new(r, i).map_err(|mut p| p.remove(0)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(NodeTask::Blocking(Box::new(ValidateTask { rules })))
    }
}

/// A bound ready to compare.
#[derive(Debug, Clone)]
enum CBound {
    Number(f64),
    /// A date, and its midnight UTC for date-time values.
    Date(NaiveDate, DateTime<FixedOffset>),
    DateTime(DateTime<FixedOffset>),
}

impl CBound {
    fn new(b: &Bound) -> Result<CBound, String> {
        match b {
            Bound::Number(n) => Ok(CBound::Number(*n)),
            Bound::Text(t) => match dates::read_text(t) {
                Ok(DateTimeText::Date(d)) => {
                    let midnight = Zone::utc().localize(&d.and_time(NaiveTime::MIN))?;
                    Ok(CBound::Date(d, midnight))
                }
                Ok(_) => Ok(CBound::DateTime(dates::parse_datetime(t, &Zone::utc())?)),
                Err(_) => Err(format!("{t:?} is neither a number nor a date; write a number without quotes, or a date such as \"2024-01-01\"")),
            },
        }
    }

    fn describe(&self) -> String {
        match self {
            CBound::Number(n) => n.to_string(),
            CBound::Date(d, _) => d.format("%Y-%m-%d").to_string(),
            CBound::DateTime(dt) => crate::value::format_datetime(dt),
        }
    }

    /// `value` compared with the bound (`Less`: the value is smaller), or why they cannot be
    /// compared.
    fn compare(&self, value: &Value, text: &str) -> Result<std::cmp::Ordering, String> {
        let num = |x: f64, b: f64| x.partial_cmp(&b).ok_or_else(|| "is not a number".to_string());
        match (self, value) {
            (CBound::Number(b), Value::Int(i)) => num(*i as f64, *b),
            (CBound::Number(b), Value::Float(f)) => num(*f, *b),
            (CBound::Number(b), Value::Decimal(d)) => num(d.to_f64().unwrap_or(f64::NAN), *b),
            (CBound::Number(b), Value::String(_)) => match text.trim().parse::<f64>() {
                Ok(x) => num(x, *b),
                Err(_) => Err("is not a number".into()),
            },
            (CBound::Date(b, _), Value::Date(d)) => Ok(d.cmp(b)),
            (CBound::Date(_, b) | CBound::DateTime(b), Value::DateTime(dt)) => Ok(dt.cmp(b)),
            (CBound::DateTime(b), Value::Date(d)) => {
                let v = Zone::utc().localize(&d.and_time(NaiveTime::MIN))?;
                Ok(v.cmp(b))
            }
            (CBound::Date(b, _), Value::String(_)) => dates::parse_date(text).map(|d| d.cmp(b)).map_err(|_| "is not a date".to_string()),
            (CBound::DateTime(b), Value::String(_)) => {
                dates::parse_datetime(text, &Zone::utc()).map(|d| d.cmp(b)).map_err(|_| "is not a date-time".to_string())
            }
            (CBound::Number(_), _) => Err("is not a number".into()),
            (_, _) => Err("is not a date".into()),
        }
    }
}

struct CompiledRule {
    field: String,
    required: bool,
    data_type: Option<DataType>,
    regex: Option<(Regex, String)>,
    min: Option<CBound>,
    max: Option<CBound>,
    one_of: Option<Vec<String>>,
    min_length: Option<usize>,
    max_length: Option<usize>,
    id_card: bool,
    mobile_cn: bool,
}

impl CompiledRule {
    /// Compiles a rule, or every problem it has.
    fn new(r: &ValidateRule, i: usize) -> Result<CompiledRule, Vec<ConfigProblem>> {
        let mut problems = Vec::new();
        let regex = match &r.regex {
            None => None,
            // Compiled bare first, so an error quotes the pattern as the user wrote it.
            Some(p) => match compile_regex(p).and_then(|_| compile_regex(&format!("^(?:{p})$"))) {
                Ok(re) => Some((re, p.clone())),
                Err(e) => {
                    problems.push(ConfigProblem::new(format!("rules/{i}/regex"), e));
                    None
                }
            },
        };
        let mut bound = |name: &str, b: &Option<Bound>| match b {
            None => None,
            Some(b) => CBound::new(b).map_err(|e| problems.push(ConfigProblem::new(format!("rules/{i}/{name}"), e))).ok(),
        };
        let min = bound("min", &r.min);
        let max = bound("max", &r.max);
        match (&min, &max) {
            (Some(CBound::Number(a)), Some(CBound::Number(b))) if a > b => {
                problems.push(ConfigProblem::new(format!("rules/{i}/min"), format!("min ({a}) is greater than max ({b}), so no value can pass")));
            }
            (Some(CBound::Number(_)), Some(CBound::Date(..) | CBound::DateTime(_))) | (Some(CBound::Date(..) | CBound::DateTime(_)), Some(CBound::Number(_))) => {
                problems.push(ConfigProblem::new(format!("rules/{i}/max"), "min and max must both be numbers or both be dates"));
            }
            _ => {}
        }
        if let (Some(a), Some(b)) = (r.min_length, r.max_length) {
            if a > b {
                problems.push(ConfigProblem::new(format!("rules/{i}/min_length"), format!("min_length ({a}) is greater than max_length ({b}), so no value can pass")));
            }
        }
        if r.one_of.as_ref().is_some_and(|v| v.is_empty()) {
            problems.push(ConfigProblem::new(format!("rules/{i}/one_of"), "one_of is empty, so no value can pass").hint("list the allowed values, or remove one_of"));
        }
        let checks_something = r.required
            || r.data_type.is_some()
            || r.regex.is_some()
            || r.min.is_some()
            || r.max.is_some()
            || r.one_of.is_some()
            || r.min_length.is_some()
            || r.max_length.is_some()
            || r.id_card
            || r.mobile_cn;
        if !checks_something {
            problems.push(
                ConfigProblem::new(format!("rules/{i}"), format!("the rule on '{}' checks nothing", r.field))
                    .hint("add required, type, regex, min, max, one_of, min_length, max_length, id_card or mobile_cn"),
            );
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(CompiledRule {
            field: r.field.clone(),
            required: r.required,
            data_type: r.data_type,
            regex,
            min,
            max,
            one_of: r.one_of.as_ref().map(|v| v.iter().map(json_text).collect()),
            min_length: r.min_length,
            max_length: r.max_length,
            id_card: r.id_card,
            mobile_cn: r.mobile_cn,
        })
    }

    /// Appends a message for every rule `value` breaks.
    fn check(&self, value: &Value, broken: &mut Vec<String>) {
        let f = &self.field;
        let text: Cow<'_, str> = match value {
            Value::Null => {
                if self.required {
                    broken.push(format!("{f} is required but empty"));
                }
                return;
            }
            Value::String(s) => Cow::Borrowed(s.as_str()),
            other => Cow::Owned(other.to_text().unwrap_or_default()),
        };
        let shown = Shown(&text, matches!(value, Value::String(_)));
        if self.required && text.trim().is_empty() {
            broken.push(format!("{f} is required but empty"));
            return;
        }
        if let Some(t) = self.data_type {
            if !fits_type(value, &text, t) {
                broken.push(format!("{f}: {shown} is not {} {t}", article(t)));
            }
        }
        if let Some((re, source)) = &self.regex {
            if !re.is_match(&text) {
                broken.push(format!("{f}: {shown} does not match the pattern {source}"));
            }
        }
        for (bound, is_min) in [(&self.min, true), (&self.max, false)] {
            let Some(b) = bound else { continue };
            match b.compare(value, &text) {
                Ok(std::cmp::Ordering::Less) if is_min => broken.push(format!("{f}: {shown} is less than the minimum {}", b.describe())),
                Ok(std::cmp::Ordering::Greater) if !is_min => broken.push(format!("{f}: {shown} is more than the maximum {}", b.describe())),
                Ok(_) => {}
                Err(why) => {
                    broken.push(format!("{f}: {shown} {why}, so it cannot be compared with {} {}", if is_min { "the minimum" } else { "the maximum" }, b.describe()));
                    // One message for both bounds is enough.
                    break;
                }
            }
        }
        if let Some(allowed) = &self.one_of {
            if !allowed.iter().any(|a| a == text.as_ref()) {
                broken.push(format!("{f}: {shown} is not one of {}", allowed.join(", ")));
            }
        }
        if self.min_length.is_some() || self.max_length.is_some() {
            let n = text.chars().count();
            if let Some(min) = self.min_length.filter(|m| n < *m) {
                broken.push(format!("{f}: {shown} has {n} characters, fewer than the minimum of {min}"));
            }
            if let Some(max) = self.max_length.filter(|m| n > *m) {
                broken.push(format!("{f}: {shown} has {n} characters, more than the maximum of {max}"));
            }
        }
        if self.id_card {
            if let Err(e) = check_id_card(&text) {
                broken.push(format!("{f}: {shown} is not a valid ID number: {e}"));
            }
        }
        if self.mobile_cn && !is_mobile_cn(&text) {
            broken.push(format!("{f}: {shown} is not an 11-digit mobile number (1, then 3 to 9, then 9 digits): write it as 11 digits, e.g. with a cleanse phone_cn step"));
        }
    }
}

/// A value in a message: text quoted, numbers and dates as they are; cut short when long.
struct Shown<'a>(&'a str, bool);

impl std::fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cut: Cow<'_, str> = if self.0.chars().count() > 60 { Cow::Owned(self.0.chars().take(60).collect()) } else { Cow::Borrowed(self.0) };
        let more = if cut.len() < self.0.len() { "…" } else { "" };
        if self.1 {
            write!(f, "{cut:?}{more}")
        } else {
            write!(f, "{cut}{more}")
        }
    }
}

fn article(t: DataType) -> &'static str {
    match t {
        DataType::Int => "an",
        _ => "a",
    }
}

/// Whether `value` is of type `t`, or text that reads as it; an int is also a valid float
/// or decimal.
fn fits_type(value: &Value, text: &str, t: DataType) -> bool {
    match (value, t) {
        (v, t) if v.data_type() == Some(t) && !matches!(v, Value::String(_)) => true,
        (Value::Int(_), DataType::Float | DataType::Decimal) => true,
        (Value::Float(_) | Value::Decimal(_), DataType::Float | DataType::Decimal) => true,
        (Value::String(_), DataType::String) => true,
        (Value::String(_), t) => parse_text_as(text, t).is_ok(),
        (Value::Date(_), DataType::DateTime) => true,
        (_, DataType::String) => true,
        _ => false,
    }
}

/// An allowed value of `one_of` as the text a field value is compared with.
fn json_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

struct ValidateTask {
    rules: Vec<CompiledRule>,
}

impl BlockingNode for ValidateTask {
    fn run(self: Box<Self>, io: &mut NodeIo) -> Result<(), NodeError> {
        let mut resolved: Option<(SchemaRef, Vec<usize>)> = None;
        let mut broken: Vec<String> = Vec::new();
        let mut fields: Vec<&str> = Vec::new();
        while let Some(batch) = io.recv("in")? {
            if !resolved.as_ref().is_some_and(|(s, _)| Arc::ptr_eq(s, &batch.schema)) {
                let mut idxs = Vec::with_capacity(self.rules.len());
                for (i, r) in self.rules.iter().enumerate() {
                    let idx = batch.schema.index_of(&r.field).ok_or_else(|| {
                        NodeError::msg(format!("the rows arriving have no field '{}' (named in rules/{i}/field)", r.field)).with_field(r.field.clone())
                    })?;
                    idxs.push(idx);
                }
                resolved = Some((batch.schema.clone(), idxs));
            }
            let (schema, idxs) = resolved.as_ref().expect("resolved above");
            let mut valid: Vec<Row> = Vec::with_capacity(batch.len());
            let mut errors = Vec::new();
            for row in batch.rows {
                broken.clear();
                fields.clear();
                for (rule, &idx) in self.rules.iter().zip(idxs) {
                    let before = broken.len();
                    rule.check(&row[idx], &mut broken);
                    if broken.len() > before && !fields.contains(&rule.field.as_str()) {
                        fields.push(&rule.field);
                    }
                }
                if broken.is_empty() {
                    valid.push(row);
                } else {
                    errors.push(RowError::new(broken.join("; "), row).field(fields.join(", ")));
                }
            }
            io.send("out", Batch::new(schema.clone(), valid))?;
            io.send_errors(schema, errors)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(j: serde_json::Value) -> CompiledRule {
        CompiledRule::new(&serde_json::from_value(j).unwrap(), 0).unwrap_or_else(|p| panic!("{p:?}"))
    }

    fn broken(r: &CompiledRule, v: Value) -> Vec<String> {
        let mut out = Vec::new();
        r.check(&v, &mut out);
        out
    }

    #[test]
    fn every_broken_rule_is_listed() {
        let r = rule(serde_json::json!({"field": "code", "type": "int", "regex": "\\d{4}", "max_length": 3}));
        let b = broken(&r, Value::str("12a45"));
        assert_eq!(b.len(), 3, "{b:?}");
        assert!(b[0].contains("is not an int"), "{b:?}");
        assert!(b[1].contains("does not match the pattern \\d{4}"), "{b:?}");
        assert!(b[2].contains("5 characters, more than the maximum of 3"), "{b:?}");
    }

    #[test]
    fn nulls_pass_unless_required() {
        let r = rule(serde_json::json!({"field": "x", "min": 1}));
        assert!(broken(&r, Value::Null).is_empty());
        let r = rule(serde_json::json!({"field": "x", "required": true, "min": 1}));
        assert_eq!(broken(&r, Value::str("  ")), vec!["x is required but empty"]);
    }

    #[test]
    fn ranges_of_numbers_and_dates() {
        let r = rule(serde_json::json!({"field": "s", "min": 1, "max": 5}));
        assert!(broken(&r, Value::Int(3)).is_empty());
        assert!(broken(&r, Value::Int(6))[0].contains("more than the maximum 5"));
        assert!(broken(&r, Value::str("0"))[0].contains("less than the minimum 1"));
        assert!(broken(&r, Value::str("n/a"))[0].contains("is not a number"));
        let r = rule(serde_json::json!({"field": "d", "min": "2024-01-01"}));
        assert!(broken(&r, Value::Date(NaiveDate::from_ymd_opt(2024, 1, 1).unwrap())).is_empty());
        assert!(broken(&r, Value::str("2023-12-31"))[0].contains("less than the minimum 2024-01-01"));
        let dt = chrono::DateTime::parse_from_rfc3339("2024-01-01T07:00:00+08:00").unwrap();
        assert!(broken(&r, Value::DateTime(dt))[0].contains("less than"), "23:00 UTC on Dec 31");
    }

    #[test]
    fn bad_rules_are_config_problems() {
        let bad = |j: serde_json::Value| CompiledRule::new(&serde_json::from_value(j).unwrap(), 2).err().unwrap();
        assert_eq!(bad(serde_json::json!({"field": "x"}))[0].field, "rules/2");
        assert_eq!(bad(serde_json::json!({"field": "x", "regex": "(a"}))[0].field, "rules/2/regex");
        assert_eq!(bad(serde_json::json!({"field": "x", "min": "soon"}))[0].field, "rules/2/min");
        assert_eq!(bad(serde_json::json!({"field": "x", "min": 5, "max": 1}))[0].field, "rules/2/min");
    }
}

//! `cleanse`: tidies text fields in place — trim, case, full-width → half-width, blank →
//! null, e-mail and Chinese mobile number normalising, regex replacement — as a list of
//! steps, each applying its operations in order to the fields it names.
//!
//! The operations are the functions of `crate::functions::text` and
//! `crate::functions::phone`, so a script gets the same results. A value that is not text
//! (a phone number read as an integer) is cleaned as its text, and every field a step names
//! leaves as `string`. A phone number that cannot be normalised goes, by default, to the
//! `error` output with the field and the value; a step can keep it or make it null instead.
//!
//! Left out: checks that reject rows for other reasons (that is `validate`), and masking
//! (`mask`).

use crate::exec::{BlockingNode, NodeError, NodeIo, RowError};
use crate::flow::did_you_mean;
use crate::functions::phone::{is_mobile_cn, mobile_e164, normalize_mobile_cn};
use crate::functions::text::{is_blank, normalize_email, title_case, to_halfwidth, RegexReplace};
use crate::nodes::{Category, ConfigProblem, NodeContext, NodeKind, NodeMeta, NodeTask, PortSchemas};
use crate::value::{Batch, DataType, Field, Row, Schema, SchemaRef, Value};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::sync::Arc;

/// Cleans text fields step by step. Each step applies its operations, in order, to each of
/// its fields; later steps see what earlier ones made.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CleanseConfig {
    /// The steps, applied in order. Example:
    /// `[{"fields": ["name", "email"], "ops": ["trim", "halfwidth", "empty_to_null"]},
    ///   {"fields": ["phone"], "ops": ["phone_cn"], "on_invalid": "null"}]`.
    pub steps: Vec<CleanseStep>,
}

/// Operations applied to some fields.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CleanseStep {
    /// The fields to clean. They leave the node as text (`string`).
    #[schemars(extend("x-field" = "in"))]
    pub fields: Vec<String>,
    /// The operations, applied in order to each field. A null stays null.
    pub ops: Vec<CleanseOp>,
    /// What to do with a phone number that `phone_cn` or `phone_e164` cannot normalise:
    /// `error` sends the row to the `error` output naming the field and the value; `keep`
    /// leaves the value as it is; `null` empties it.
    #[serde(default)]
    pub on_invalid: OnInvalid,
}

/// One cleaning operation.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CleanseOp {
    /// Removes whitespace at both ends.
    Trim,
    /// Lower case.
    Lower,
    /// Upper case.
    Upper,
    /// First letter of each word upper case, the rest lower (`mary-jane` → `Mary-Jane`).
    Title,
    /// Full-width letters, digits and punctuation (U+FF01–U+FF5E) and the ideographic space
    /// become ASCII (`１３８` → `138`); Chinese characters are untouched.
    Halfwidth,
    /// Empty or whitespace-only text becomes null.
    EmptyToNull,
    /// An e-mail address trimmed and lower-cased.
    Email,
    /// A Chinese mobile number as its 11 digits (`+86 138-1234-5678` → `13812345678`).
    PhoneCn,
    /// A Chinese mobile number in E.164 form (`138 1234 5678` → `+8613812345678`).
    PhoneE164,
    /// Replaces every match of a regular expression.
    RegexReplace(RegexReplaceOp),
}

/// A regex replacement.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegexReplaceOp {
    /// The regular expression (Rust `regex` syntax), e.g. `\s+`.
    pub pattern: String,
    /// What replaces each match; `$1` or `${name}` insert a group. Empty removes the match.
    #[serde(default)]
    pub replacement: String,
}

/// What happens to a value an operation cannot clean.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OnInvalid {
    /// The row goes to the `error` output.
    #[default]
    Error,
    /// The value stays as it was.
    Keep,
    /// The value becomes null.
    Null,
}

pub struct Cleanse;

impl NodeKind for Cleanse {
    type Config = CleanseConfig;

    fn meta(&self) -> NodeMeta {
        NodeMeta {
            kind: "cleanse",
            category: Category::Transform,
            title: "Cleanse text",
            description: "Tidies text fields: trim, case, full-width to half-width, blank to null, e-mail and Chinese mobile number normalising, regex replace.",
            keywords: &["clean", "trim", "normalize", "phone", "mobile", "halfwidth", "全角", "半角", "手机号", "清洗", "regex"],
            icon: "sparkles",
        }
    }

    fn check(&self, config: &Self::Config, _ctx: &NodeContext, inputs: &PortSchemas) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        for (i, step) in config.steps.iter().enumerate() {
            if step.fields.is_empty() {
                problems.push(ConfigProblem::new(format!("steps/{i}/fields"), "the step names no field").hint("list the fields to clean"));
            }
            if step.ops.is_empty() {
                problems.push(ConfigProblem::new(format!("steps/{i}/ops"), "the step has no operation").hint("add operations such as \"trim\""));
            }
            if let Some(schema) = inputs.get("in") {
                for (j, f) in step.fields.iter().enumerate() {
                    if schema.index_of(f).is_none() {
                        problems.push(unknown_field(format!("steps/{i}/fields/{j}"), f, schema));
                    }
                }
            }
            for (k, op) in step.ops.iter().enumerate() {
                if let CleanseOp::RegexReplace(r) = op {
                    if let Err(e) = RegexReplace::new(&r.pattern, &r.replacement) {
                        problems.push(ConfigProblem::new(format!("steps/{i}/ops/{k}/regex_replace/pattern"), e));
                    }
                }
            }
        }
        problems
    }

    fn output_schemas(&self, config: &Self::Config, _ctx: &NodeContext, inputs: &PortSchemas) -> Result<PortSchemas, ConfigProblem> {
        let Some(schema) = inputs.get("in") else { return Ok(PortSchemas::new()) };
        let named: Vec<usize> = config.steps.iter().flat_map(|s| s.fields.iter()).filter_map(|f| schema.index_of(f)).collect();
        Ok(PortSchemas::from([("out".to_string(), as_text(schema, &named))]))
    }

    fn build(&self, config: Self::Config, _ctx: &NodeContext) -> Result<NodeTask, ConfigProblem> {
        let mut steps = Vec::with_capacity(config.steps.len());
        for (i, step) in config.steps.into_iter().enumerate() {
            let mut ops = Vec::with_capacity(step.ops.len());
            for (k, op) in step.ops.into_iter().enumerate() {
                ops.push(match op {
                    CleanseOp::Trim => Op::Trim,
                    CleanseOp::Lower => Op::Lower,
                    CleanseOp::Upper => Op::Upper,
                    CleanseOp::Title => Op::Title,
                    CleanseOp::Halfwidth => Op::Halfwidth,
                    CleanseOp::EmptyToNull => Op::EmptyToNull,
                    CleanseOp::Email => Op::Email,
                    CleanseOp::PhoneCn => Op::PhoneCn,
                    CleanseOp::PhoneE164 => Op::PhoneE164,
                    CleanseOp::RegexReplace(r) => Op::Regex(
                        RegexReplace::new(&r.pattern, &r.replacement)
                            .map_err(|e| ConfigProblem::new(format!("steps/{i}/ops/{k}/regex_replace/pattern"), e))?,
                    ),
                });
            }
            steps.push(Step { fields: step.fields, ops, on_invalid: step.on_invalid });
        }
        Ok(NodeTask::Blocking(Box::new(CleanseTask { steps })))
    }
}

/// A problem for a field the input does not have, with a "did you mean" when one is close.
pub(super) fn unknown_field(path: String, name: &str, schema: &Schema) -> ConfigProblem {
    let p = ConfigProblem::new(path, format!("the input has no field '{name}'"));
    match did_you_mean(name, schema.names()) {
        Some(s) => p.hint(format!("did you mean '{s}'?")),
        None => p.hint(format!("the input's fields are: {}", schema.names().collect::<Vec<_>>().join(", "))),
    }
}

/// `schema` with the fields at `idxs` typed `string`; the same `Arc` when nothing changes.
pub(super) fn as_text(schema: &SchemaRef, idxs: &[usize]) -> SchemaRef {
    if idxs.iter().all(|&i| schema.fields()[i].data_type == DataType::String) {
        return schema.clone();
    }
    let fields = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| if idxs.contains(&i) { Field::new(f.name.clone(), DataType::String) } else { f.clone() })
        .collect();
    Arc::new(Schema::new(fields))
}

enum Op {
    Trim,
    Lower,
    Upper,
    Title,
    Halfwidth,
    EmptyToNull,
    Email,
    PhoneCn,
    PhoneE164,
    Regex(RegexReplace),
}

struct Step {
    fields: Vec<String>,
    ops: Vec<Op>,
    on_invalid: OnInvalid,
}

struct CleanseTask {
    steps: Vec<Step>,
}

/// Field indexes per step for one input schema, and the output schema.
struct Resolved {
    input: SchemaRef,
    output: SchemaRef,
    idxs: Vec<Vec<usize>>,
}

impl CleanseTask {
    fn resolve(&self, schema: &SchemaRef) -> Result<Resolved, NodeError> {
        let mut idxs = Vec::with_capacity(self.steps.len());
        for (i, step) in self.steps.iter().enumerate() {
            let mut v = Vec::with_capacity(step.fields.len());
            for (j, f) in step.fields.iter().enumerate() {
                let idx = schema.index_of(f).ok_or_else(|| {
                    NodeError::msg(format!("the rows arriving have no field '{f}' (named in steps/{i}/fields/{j})")).with_field(f.clone())
                })?;
                v.push(idx);
            }
            idxs.push(v);
        }
        let all: Vec<usize> = idxs.iter().flatten().copied().collect();
        Ok(Resolved { input: schema.clone(), output: as_text(schema, &all), idxs })
    }
}

impl BlockingNode for CleanseTask {
    fn run(self: Box<Self>, io: &mut NodeIo) -> Result<(), NodeError> {
        let mut resolved: Option<Resolved> = None;
        // Values replaced in the current row, to put back if the row fails.
        let mut undo: Vec<(usize, Value)> = Vec::new();
        let mut problems: Vec<(String, String)> = Vec::new();
        while let Some(batch) = io.recv("in")? {
            if !resolved.as_ref().is_some_and(|r| Arc::ptr_eq(&r.input, &batch.schema)) {
                resolved = Some(self.resolve(&batch.schema)?);
            }
            let r = resolved.as_ref().expect("resolved above");
            let mut kept = Vec::with_capacity(batch.len());
            let mut errors = Vec::new();
            for mut row in batch.rows {
                undo.clear();
                problems.clear();
                for (step, idxs) in self.steps.iter().zip(&r.idxs) {
                    for (&idx, name) in idxs.iter().zip(&step.fields) {
                        match clean(&step.ops, step.on_invalid, &row[idx]) {
                            Ok(None) => {}
                            Ok(Some(new)) => undo.push((idx, std::mem::replace(&mut row[idx], new))),
                            Err(msg) => problems.push((name.clone(), msg)),
                        }
                    }
                }
                if problems.is_empty() {
                    kept.push(row);
                } else {
                    restore(&mut row, &mut undo);
                    errors.push(row_error(&problems, row));
                }
            }
            io.send("out", Batch::new(r.output.clone(), kept))?;
            io.send_errors(&r.input, errors)?;
        }
        Ok(())
    }
}

fn restore(row: &mut Row, undo: &mut Vec<(usize, Value)>) {
    while let Some((idx, old)) = undo.pop() {
        row[idx] = old;
    }
}

fn row_error(problems: &[(String, String)], row: Row) -> RowError {
    let message = problems.iter().map(|(f, m)| format!("{f}: {m}")).collect::<Vec<_>>().join("; ");
    let fields = problems.iter().map(|(f, _)| f.as_str()).collect::<Vec<_>>().join(", ");
    RowError::new(message, row).field(fields)
}

/// Runs `ops` over one value: `Ok(None)` when nothing changed (the common case, no
/// allocation), `Ok(Some(new))` otherwise, `Err` with a message for a value the row fails on.
fn clean(ops: &[Op], on_invalid: OnInvalid, value: &Value) -> Result<Option<Value>, String> {
    // Not text: cleaned as its text, and the field leaves as text.
    let mut owned: Option<String> = match value {
        Value::Null => return Ok(None),
        Value::String(_) => None,
        other => Some(other.to_text().unwrap_or_default()),
    };
    let original: &str = value.as_str().unwrap_or("");
    let mut to_null = false;
    for op in ops {
        let cur: &str = owned.as_deref().unwrap_or(original);
        let next: Option<String> = match op {
            Op::Trim => (cur.trim().len() != cur.len()).then(|| cur.trim().to_string()),
            Op::Lower => cur.chars().any(char::is_uppercase).then(|| cur.to_lowercase()),
            Op::Upper => cur.chars().any(char::is_lowercase).then(|| cur.to_uppercase()),
            Op::Title => Some(title_case(cur)).filter(|t| t != cur),
            Op::Halfwidth => match to_halfwidth(cur) {
                Cow::Borrowed(_) => None,
                Cow::Owned(t) => Some(t),
            },
            Op::EmptyToNull => {
                if is_blank(cur) {
                    to_null = true;
                    break;
                }
                None
            }
            Op::Email => Some(normalize_email(cur)).filter(|t| t != cur),
            Op::PhoneCn | Op::PhoneE164 => {
                let done = match op {
                    Op::PhoneCn => is_mobile_cn(cur),
                    _ => cur.strip_prefix("+86").is_some_and(is_mobile_cn),
                };
                if done {
                    None
                } else {
                    let result = if matches!(op, Op::PhoneCn) { normalize_mobile_cn(cur) } else { mobile_e164(cur) };
                    match (result, on_invalid) {
                        (Ok(t), _) => Some(t),
                        (Err(_), OnInvalid::Keep) => None,
                        (Err(_), OnInvalid::Null) => {
                            to_null = true;
                            break;
                        }
                        (Err(e), OnInvalid::Error) => {
                            return Err(format!("{e} (clean it at the source, or set on_invalid to keep or null)"));
                        }
                    }
                }
            }
            Op::Regex(r) => match r.apply(cur) {
                Cow::Borrowed(_) => None,
                Cow::Owned(t) => Some(t),
            },
        };
        if let Some(t) = next {
            owned = Some(t);
        }
    }
    if to_null {
        return Ok(Some(Value::Null));
    }
    Ok(owned.map(|t| Value::String(t.into())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ops_chain_and_report_unchanged_values() {
        let v = Value::str("  ＺＨＡＮＧ@QQ.COM ");
        let out = clean(&[Op::Halfwidth, Op::Email], OnInvalid::Error, &v).unwrap();
        assert_eq!(out, Some(Value::str("zhang@qq.com")));
        assert_eq!(clean(&[Op::Trim, Op::Lower], OnInvalid::Error, &Value::str("ok")).unwrap(), None);
        assert_eq!(clean(&[Op::Trim, Op::EmptyToNull, Op::Upper], OnInvalid::Error, &Value::str("  ")).unwrap(), Some(Value::Null));
        assert_eq!(clean(&[Op::PhoneCn], OnInvalid::Error, &Value::Int(13812345678)).unwrap(), Some(Value::str("13812345678")));
    }

    #[test]
    fn invalid_phone_follows_on_invalid() {
        let v = Value::str("12345");
        assert_eq!(clean(&[Op::PhoneCn], OnInvalid::Keep, &v).unwrap(), None);
        assert_eq!(clean(&[Op::PhoneE164], OnInvalid::Null, &v).unwrap(), Some(Value::Null));
        let e = clean(&[Op::PhoneCn], OnInvalid::Error, &v).unwrap_err();
        assert!(e.contains("\"12345\"") && e.contains("on_invalid"), "{e}");
    }
}

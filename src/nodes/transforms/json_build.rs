//! `json_build`: builds a JSON object field from columns — the body of an API call, a
//! document for a JSON sink, a nested record for a CRM import. Dotted keys
//! (`customer.phone`) build nested objects; keys keep the order they are listed in.
//!
//! Values map naturally: numbers stay numbers (a decimal becomes a JSON number when the
//! number reads back as the same value, else text so no digit is lost), dates become
//! `2024-03-05`, date-times RFC 3339 text, JSON fields are embedded as they are.
//!
//! What it leaves out: arrays built from several rows (that is grouping, `aggregate`), and
//! templates with computed values (compute them first, or use a script).

use super::json_parse::{missing_field, require_field, Layout};
use crate::exec::{BlockingNode, NodeError, NodeIo};
use crate::functions::json::value_to_json_natural;
use crate::nodes::{Category, ConfigProblem, NodeContext, NodeKind, NodeMeta, NodeTask, PortSchemas};
use crate::value::{Batch, DataType, Field, Row, Schema, SchemaRef, Value};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as J};
use std::sync::Arc;

/// Builds a JSON object field from columns, added after the other fields.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JsonBuildConfig {
    /// Name of the new JSON field. An input field of that name is replaced.
    pub output_field: String,
    /// The columns to put in the object, in key order.
    pub fields: Vec<JsonBuildField>,
    /// Remove the source columns, keeping only the built object (and the fields not used).
    #[serde(default)]
    pub drop_sources: bool,
    /// Leave out keys whose value is null, instead of writing `"key": null`.
    #[serde(default)]
    pub omit_nulls: bool,
}

/// One key of the object and the column its value comes from.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JsonBuildField {
    /// The input field holding the value.
    #[schemars(extend("x-field" = "in"))]
    pub from: String,
    /// The key in the object. Default: the field's name. Dots make nested objects:
    /// `customer.phone` puts the value at `{"customer": {"phone": ...}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

pub struct JsonBuild;

impl JsonBuildField {
    fn key_path(&self) -> Vec<&str> {
        self.key.as_deref().filter(|k| !k.is_empty()).unwrap_or(&self.from).split('.').collect()
    }
}

impl JsonBuildConfig {
    /// Key problems: empty parts (`a..b`), a key given twice, a key that is both a value and
    /// an object (`customer` and `customer.phone`).
    fn key_problems(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if self.output_field.trim().is_empty() {
            problems.push(ConfigProblem::new("output_field", "name the field that receives the JSON object"));
        }
        if self.fields.is_empty() {
            problems.push(ConfigProblem::new("fields", "list at least one field to put in the object"));
        }
        let paths: Vec<Vec<&str>> = self.fields.iter().map(JsonBuildField::key_path).collect();
        for (i, p) in paths.iter().enumerate() {
            let at = format!("fields/{i}/key");
            if p.iter().any(|s| s.is_empty()) {
                problems.push(ConfigProblem::new(at, format!("the key '{}' has an empty part", p.join("."))).hint("write nested keys as customer.phone"));
                continue;
            }
            for (j, q) in paths[..i].iter().enumerate() {
                let clash = if p == q {
                    Some(format!("the key '{}' is also given by fields/{j}", p.join(".")))
                } else if p.starts_with(q) || q.starts_with(p) {
                    let (short, long) = if p.len() < q.len() { (p, q) } else { (q, p) };
                    Some(format!("'{}' cannot be a value and also hold '{}' (fields/{j})", short.join("."), long.join(".")))
                } else {
                    None
                };
                if let Some(msg) = clash {
                    problems.push(ConfigProblem::new(at.clone(), msg).hint("give each value its own key"));
                    break;
                }
            }
        }
        problems
    }

    fn layout(&self, input: &Schema, sources: &[usize]) -> Layout {
        let drop = if self.drop_sources { sources.to_vec() } else { vec![] };
        Layout::new(input, None, &drop, &[Field::new(&self.output_field, DataType::Json)])
    }
}

impl NodeKind for JsonBuild {
    type Config = JsonBuildConfig;

    fn meta(&self) -> NodeMeta {
        NodeMeta {
            kind: "json_build",
            category: Category::Transform,
            title: "Build JSON",
            description: "Builds a JSON object field from columns; dotted keys (customer.phone) make nested objects. For API bodies and JSON documents.",
            keywords: &["json", "build", "object", "nest", "encode", "api body", "document"],
            icon: "braces",
        }
    }

    fn check(&self, config: &Self::Config, _ctx: &NodeContext, inputs: &PortSchemas) -> Vec<ConfigProblem> {
        let mut problems = config.key_problems();
        if let Some(input) = inputs.get("in") {
            for (i, f) in config.fields.iter().enumerate() {
                if input.index_of(&f.from).is_none() {
                    problems.push(missing_field(&format!("fields/{i}/from"), &f.from, input));
                }
            }
        }
        problems
    }

    fn output_schemas(&self, config: &Self::Config, _ctx: &NodeContext, inputs: &PortSchemas) -> Result<PortSchemas, ConfigProblem> {
        let Some(input) = inputs.get("in") else { return Ok(PortSchemas::new()) };
        let sources: Vec<usize> = config.fields.iter().filter_map(|f| input.index_of(&f.from)).collect();
        Ok(PortSchemas::from([("out".to_string(), config.layout(input, &sources).schema)]))
    }

    fn build(&self, config: Self::Config, _ctx: &NodeContext) -> Result<NodeTask, ConfigProblem> {
        if let Some(p) = config.key_problems().into_iter().next() {
            return Err(p);
        }
        let keys = config.fields.iter().map(|f| f.key_path().into_iter().map(str::to_string).collect()).collect();
        Ok(NodeTask::Blocking(Box::new(JsonBuildTask { config, keys })))
    }
}

struct JsonBuildTask {
    config: JsonBuildConfig,
    /// Each field's key, split at the dots.
    keys: Vec<Vec<String>>,
}

impl BlockingNode for JsonBuildTask {
    fn run(self: Box<Self>, io: &mut NodeIo) -> Result<(), NodeError> {
        let c = &self.config;
        let mut resolved: Option<(SchemaRef, Vec<usize>, Layout)> = None;
        while let Some(batch) = io.recv("in")? {
            let (sources, layout) = match &resolved {
                Some((s, src, l)) if Arc::ptr_eq(s, &batch.schema) => (src, l),
                _ => {
                    let sources = c
                        .fields
                        .iter()
                        .enumerate()
                        .map(|(i, f)| require_field(&batch.schema, &f.from, &format!("fields/{i}/from")))
                        .collect::<Result<Vec<usize>, NodeError>>()?;
                    let layout = c.layout(&batch.schema, &sources);
                    resolved = Some((batch.schema.clone(), sources, layout));
                    let r = resolved.as_ref().unwrap();
                    (&r.1, &r.2)
                }
            };
            let rows: Vec<Row> = batch
                .rows
                .into_iter()
                .map(|row| {
                    let doc = build_object(&row, sources, &self.keys, c.omit_nulls);
                    layout.assemble(row, vec![Value::Json(Arc::new(doc))])
                })
                .collect();
            io.send("out", Batch::new(layout.schema.clone(), rows))?;
        }
        Ok(())
    }
}

/// One row's object. Keys were checked at build time, so a nested key always meets an
/// object (or nothing) on its way.
fn build_object(row: &Row, sources: &[usize], keys: &[Vec<String>], omit_nulls: bool) -> J {
    let mut root = Map::new();
    for (&i, key) in sources.iter().zip(keys) {
        let v = &row[i];
        if omit_nulls && v.is_null() {
            continue;
        }
        let (last, parents) = key.split_last().expect("keys have at least one part");
        let mut obj = &mut root;
        for p in parents {
            let slot = obj.entry(p.clone()).or_insert_with(|| J::Object(Map::new()));
            obj = match slot {
                J::Object(m) => m,
                _ => unreachable!("key clashes are rejected at build time"),
            };
        }
        obj.insert(last.clone(), value_to_json_natural(v));
    }
    J::Object(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(keys: &[(&str, Option<&str>)]) -> JsonBuildConfig {
        JsonBuildConfig {
            output_field: "body".into(),
            fields: keys.iter().map(|(f, k)| JsonBuildField { from: f.to_string(), key: k.map(str::to_string) }).collect(),
            drop_sources: false,
            omit_nulls: false,
        }
    }

    #[test]
    fn key_clashes_are_config_problems() {
        assert!(config(&[("name", Some("customer.name")), ("phone", Some("customer.phone"))]).key_problems().is_empty());
        let p = config(&[("c", Some("customer")), ("phone", Some("customer.phone"))]).key_problems();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].field, "fields/1/key");
        assert!(p[0].message.contains("'customer' cannot be a value and also hold 'customer.phone'"), "{}", p[0].message);
        let p = config(&[("a", None), ("b", Some("a"))]).key_problems();
        assert!(p[0].message.contains("also given by fields/0"), "{}", p[0].message);
        let p = config(&[("a", Some("x..y"))]).key_problems();
        assert!(p[0].message.contains("empty part"));
    }

    #[test]
    fn nulls_can_be_left_out() {
        let row = vec![Value::str("王秀英"), Value::Null];
        let keys = vec![vec!["customer".to_string(), "name".to_string()], vec!["customer".to_string(), "phone".to_string()]];
        assert_eq!(build_object(&row, &[0, 1], &keys, false).to_string(), r#"{"customer":{"name":"王秀英","phone":null}}"#);
        assert_eq!(build_object(&row, &[0, 1], &keys, true).to_string(), r#"{"customer":{"name":"王秀英"}}"#);
    }
}

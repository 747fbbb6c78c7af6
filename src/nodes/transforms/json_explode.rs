//! `json_explode`: one row per element of a JSON array field — a ticket's messages, an
//! order's lines — the other fields repeated on every row (SQL's `CROSS JOIN LATERAL
//! unnest`, or with `keep_empty` its `LEFT JOIN LATERAL`).
//!
//! Elements that are objects stay JSON (flatten them with `json_flatten` after); scalars
//! become typed values. Without `element_type`, the element field's type comes from the
//! elements of each batch (all text → string, all whole numbers → int, any object → json),
//! so at design time it shows as `json`; set `element_type` to fix it.
//!
//! What it leaves out: exploding several arrays in step (zip), and nested arrays in one go
//! (explode twice).

use super::json_parse::{check_json_field, read_json_cell, require_field, shape, Layout};
use crate::exec::{BlockingNode, LogLevel, NodeError, NodeIo, RowError};
use crate::functions::json::{json_to_value_as, json_type};
use crate::nodes::{Category, ConfigProblem, NodeContext, NodeKind, NodeMeta, NodeTask, PortSchemas};
use crate::value::{widen, Batch, DataType, Field, Row, Schema, SchemaRef, Value};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value as J;
use std::sync::Arc;

/// Makes one row per element of a JSON array field. Rows whose array is empty or null are
/// dropped (counted in the run log) unless `keep_empty` is on. A value that is not an array
/// sends its row to `error`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JsonExplodeConfig {
    /// The field holding the array (a json field, or text holding a JSON array).
    #[schemars(extend("x-field" = "in"))]
    pub field: String,
    /// Name of the field that receives each element. Default: `field` itself (the array
    /// is replaced by its element). Another name keeps the array field too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_field: Option<String>,
    /// Name of an extra int field for the element's position (0 for the first). None by
    /// default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index_field: Option<String>,
    /// Keep rows whose array is empty or null, as one row with a null element (and a null
    /// position). Off by default: such rows are dropped, like an inner join.
    #[serde(default)]
    pub keep_empty: bool,
    /// Type of the element field. Empty: taken from the elements of each batch (objects
    /// and arrays make it json); it shows as json at design time. Elements that do not read
    /// as the type send their row to `error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub element_type: Option<DataType>,
}

pub struct JsonExplode;

impl JsonExplodeConfig {
    fn output_name(&self) -> &str {
        self.output_field.as_deref().filter(|s| !s.is_empty()).unwrap_or(&self.field)
    }

    fn index_name(&self) -> Option<&str> {
        self.index_field.as_deref().filter(|s| !s.is_empty())
    }

    fn layout(&self, input: &Schema, at: usize, element: DataType) -> Layout {
        let mut new = vec![Field::new(self.output_name(), element)];
        if let Some(ix) = self.index_name() {
            new.push(Field::new(ix, DataType::Int));
        }
        let drop = if self.output_name() == self.field { vec![at] } else { vec![] };
        Layout::new(input, Some(at), &drop, &new)
    }
}

impl NodeKind for JsonExplode {
    type Config = JsonExplodeConfig;

    fn meta(&self) -> NodeMeta {
        NodeMeta {
            kind: "json_explode",
            category: Category::Transform,
            title: "Explode JSON array",
            description: "Makes one row per element of a JSON array field (a ticket's messages, an order's lines), repeating the other fields.",
            keywords: &["json", "explode", "unnest", "array", "lateral", "split rows", "normalize"],
            icon: "list-tree",
        }
    }

    fn check(&self, config: &Self::Config, _ctx: &NodeContext, inputs: &PortSchemas) -> Vec<ConfigProblem> {
        let mut problems = check_json_field("field", &config.field, inputs);
        if let Some(ix) = config.index_name() {
            if ix == config.output_name() {
                problems.push(ConfigProblem::new("index_field", format!("'{ix}' is already the element field")).hint("give the position its own name, e.g. position"));
            } else if ix == config.field {
                problems.push(ConfigProblem::new("index_field", format!("'{ix}' is the array field")).hint("give the position its own name, e.g. position"));
            }
        }
        problems
    }

    fn output_schemas(&self, config: &Self::Config, _ctx: &NodeContext, inputs: &PortSchemas) -> Result<PortSchemas, ConfigProblem> {
        let Some(input) = inputs.get("in") else { return Ok(PortSchemas::new()) };
        let Some(at) = input.index_of(&config.field) else { return Ok(PortSchemas::new()) };
        let ty = config.element_type.unwrap_or(DataType::Json);
        Ok(PortSchemas::from([("out".to_string(), config.layout(input, at, ty).schema)]))
    }

    fn build(&self, config: Self::Config, _ctx: &NodeContext) -> Result<NodeTask, ConfigProblem> {
        Ok(NodeTask::Blocking(Box::new(JsonExplodeTask { config })))
    }
}

struct JsonExplodeTask {
    config: JsonExplodeConfig,
}

impl BlockingNode for JsonExplodeTask {
    fn run(self: Box<Self>, io: &mut NodeIo) -> Result<(), NodeError> {
        let c = &self.config;
        let size = io.batch_size().max(1);
        let mut resolved: Option<(SchemaRef, DataType, usize, Layout)> = None;
        let mut dropped = 0u64;
        while let Some(batch) = io.recv("in")? {
            let at = match &resolved {
                Some((s, _, at, _)) if Arc::ptr_eq(s, &batch.schema) => *at,
                _ => require_field(&batch.schema, &c.field, "field")?,
            };
            let schema = batch.schema.clone();
            // Read every cell first: the element type (when not configured) depends on them all.
            let docs: Vec<Result<Option<Arc<J>>, String>> = batch.rows.iter().map(|r| read_json_cell(&c.field, &r[at])).collect();
            let ty = c.element_type.unwrap_or_else(|| batch_element_type(&docs));
            let layout = match &resolved {
                Some((s, t, _, l)) if Arc::ptr_eq(s, &schema) && *t == ty => l.clone(),
                _ => {
                    let l = c.layout(&schema, at, ty);
                    resolved = Some((schema.clone(), ty, at, l.clone()));
                    l
                }
            };
            let mut out: Vec<Row> = Vec::new();
            let mut errors = Vec::new();
            for (row, doc) in batch.rows.into_iter().zip(docs) {
                let doc = match doc {
                    Ok(d) => d,
                    Err(msg) => {
                        errors.push(RowError::new(msg, row).field(&c.field));
                        continue;
                    }
                };
                let elements: &[J] = match doc.as_deref() {
                    None => &[],
                    Some(J::Array(a)) => a,
                    Some(other) => {
                        let hint = if other.is_object() { "; use json_flatten for an object's keys" } else { "" };
                        errors.push(RowError::new(format!("field '{}' holds {}, not an array{hint}", c.field, shape(other)), row).field(&c.field));
                        continue;
                    }
                };
                if elements.is_empty() {
                    if c.keep_empty {
                        let mut new = vec![Value::Null];
                        if c.index_name().is_some() {
                            new.push(Value::Null);
                        }
                        out.push(layout.assemble(row, new));
                    } else {
                        dropped += 1;
                    }
                    continue;
                }
                // Convert every element before emitting any, so a bad element fails the
                // whole input row once instead of leaving half of it downstream.
                let values: Result<Vec<Value>, String> = elements
                    .iter()
                    .enumerate()
                    .map(|(i, e)| {
                        json_to_value_as(e, ty).map_err(|err| {
                            format!("field '{}': element {i} does not fit the element type: {err}; change element_type, or fix the data", c.field)
                        })
                    })
                    .collect();
                let values = match values {
                    Ok(v) => v,
                    Err(msg) => {
                        errors.push(RowError::new(msg, row).field(&c.field));
                        continue;
                    }
                };
                let last = values.len() - 1;
                let mut row = Some(row);
                for (i, v) in values.into_iter().enumerate() {
                    let base = if i == last { row.take().expect("row is moved once, at the last element") } else { row.clone().expect("row is still here") };
                    let mut new = vec![v];
                    if c.index_name().is_some() {
                        new.push(Value::Int(i as i64));
                    }
                    out.push(layout.assemble(base, new));
                    if out.len() >= size {
                        io.send("out", Batch::new(layout.schema.clone(), std::mem::take(&mut out)))?;
                    }
                }
            }
            io.send("out", Batch::new(layout.schema.clone(), out))?;
            io.send_errors(&schema, errors)?;
        }
        if dropped > 0 {
            io.log(LogLevel::Info, format!("{dropped} rows had an empty or null '{}' and were dropped (keep_empty keeps them)", c.field));
        }
        Ok(())
    }
}

/// The element type of a batch: the widened type of its scalar elements, json as soon as
/// any element is an object or array (so nothing nested turns into text), json for a batch
/// with no non-null element.
fn batch_element_type(docs: &[Result<Option<Arc<J>>, String>]) -> DataType {
    let mut ty: Option<DataType> = None;
    for d in docs.iter().flatten().flatten() {
        let J::Array(a) = &**d else { continue };
        for e in a {
            match json_type(e) {
                Some(DataType::Json) => return DataType::Json,
                Some(t) => ty = Some(ty.map_or(t, |old| widen(old, t))),
                None => {}
            }
        }
    }
    ty.unwrap_or(DataType::Json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn docs(vals: &[J]) -> Vec<Result<Option<Arc<J>>, String>> {
        vals.iter().map(|v| Ok(Some(Arc::new(v.clone())))).collect()
    }

    #[test]
    fn element_type_follows_the_batch() {
        assert_eq!(batch_element_type(&docs(&[json!(["vip"]), json!(["refund", null])])), DataType::String);
        assert_eq!(batch_element_type(&docs(&[json!([1, 2]), json!([3])])), DataType::Int);
        assert_eq!(batch_element_type(&docs(&[json!([1, 2.5])])), DataType::Float);
        assert_eq!(batch_element_type(&docs(&[json!(["a"]), json!([{"x": 1}])])), DataType::Json);
        assert_eq!(batch_element_type(&docs(&[json!([])])), DataType::Json);
    }
}

//! `union`: merges the rows of several upstreams (every edge into `in`) into one stream,
//! lining fields up by name.
//!
//! Output fields are every input's fields by name, in the order first seen; a row without
//! one of them gets null. When two inputs give one name different types, the field takes
//! the wider type ([`crate::value::widen`]: int and decimal → decimal, any number and float
//! → float, anything else → string) and values are converted. Rows keep their arrival
//! order per upstream; between upstreams they interleave as they come.
//!
//! Best effort, as the fields are learnt while rows arrive: an input whose first rows come
//! late can add fields or widen a type after rows have left with the narrower layout, and
//! at design time only the first upstream's fields are known (the planner passes one
//! schema per port), so the designer shows those. Set `fields` to fix the output fields and
//! types up front: then every row leaves with exactly those fields, the design-time
//! schema is exact, and a value that does not convert sends its row to `error`.

use crate::exec::{BlockingNode, NodeError, NodeIo, RowError};
use crate::nodes::{Category, ConfigProblem, NodeContext, NodeKind, NodeMeta, NodeTask, PortSchemas, PortSpec, Ports, ERROR_PORT};
use crate::value::{parse_text_as, widen, Batch, DataType, Field, Row, Schema, SchemaRef, Value};
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::sync::Arc;

/// Merges rows from every edge into `in`, lining fields up by name. Without `fields`, the
/// output fields are learnt as rows arrive, and the designer can show only the first
/// upstream's fields.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UnionConfig {
    /// The output fields and their types, to fix them up front. Empty (default): learnt
    /// from the inputs as rows arrive (every field of every input, types widened where the
    /// inputs disagree). When set, input fields not listed are dropped, listed fields an
    /// input lacks are null, and values are converted to the listed types.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<Field>,
}

pub struct Union;

impl NodeKind for Union {
    type Config = UnionConfig;

    fn meta(&self) -> NodeMeta {
        NodeMeta {
            kind: "union",
            category: Category::Transform,
            title: "Union (append)",
            description: "Merges rows from several inputs into one stream, lining fields up by name (missing ones are null, differing types are widened).",
            keywords: &["append", "concat", "concatenate", "merge", "stack", "combine", "union all"],
            icon: "combine",
        }
    }

    fn static_ports(&self) -> Ports {
        Ports {
            inputs: vec![PortSpec::input("in", "rows to merge; connect any number of edges")],
            outputs: vec![
                PortSpec::output("out", "rows of every input, with the fields of all"),
                PortSpec::output(ERROR_PORT, "rows with a value that does not convert to the type set in fields, with the error"),
            ],
        }
    }

    fn check(&self, config: &Self::Config, _ctx: &NodeContext, _inputs: &PortSchemas) -> Vec<ConfigProblem> {
        let mut seen = HashSet::new();
        let mut problems = Vec::new();
        for (i, f) in config.fields.iter().enumerate() {
            if f.name.trim().is_empty() {
                problems.push(ConfigProblem::new(format!("fields/{i}/name"), "the field name is empty"));
            } else if !seen.insert(f.name.as_str()) {
                problems.push(ConfigProblem::new(format!("fields/{i}/name"), format!("field '{}' is listed twice", f.name)));
            }
        }
        problems
    }

    fn output_schemas(&self, config: &Self::Config, _ctx: &NodeContext, inputs: &PortSchemas) -> Result<PortSchemas, ConfigProblem> {
        if !config.fields.is_empty() {
            return Ok(PortSchemas::from([("out".to_string(), Arc::new(Schema::new(config.fields.clone())))]));
        }
        // Only the first upstream's fields are known here; see the module docs.
        Ok(inputs.get("in").map(|s| PortSchemas::from([("out".into(), s.clone())])).unwrap_or_default())
    }

    fn build(&self, config: Self::Config, _ctx: &NodeContext) -> Result<NodeTask, ConfigProblem> {
        let fixed = (!config.fields.is_empty()).then(|| Arc::new(Schema::new(config.fields)));
        Ok(NodeTask::Blocking(Box::new(UnionTask { fixed })))
    }
}

/// Converts a value to `to` for the output: numbers widen, anything becomes text, text is
/// read as the type.
pub fn convert_value(v: Value, to: DataType) -> Result<Value, String> {
    let from = match v.data_type() {
        None => return Ok(Value::Null),
        Some(t) if t == to => return Ok(v),
        Some(t) => t,
    };
    let fail = |v: &Value| format!("{} ({from}) cannot be converted to {to}", v.to_text().map(|t| format!("{t:?}")).unwrap_or_default());
    Ok(match (&v, to) {
        (Value::Int(i), DataType::Decimal) => Value::Decimal(Decimal::from(*i)),
        (Value::Int(i), DataType::Float) => Value::Float(*i as f64),
        (Value::Decimal(d), DataType::Float) => Value::Float(d.to_f64().ok_or_else(|| fail(&v))?),
        (Value::Float(f), DataType::Decimal) => Value::Decimal(Decimal::from_f64(*f).ok_or_else(|| fail(&v))?),
        (Value::Bool(b), DataType::Int) => Value::Int(*b as i64),
        (_, DataType::String) => Value::str(&v.to_text().unwrap_or_default()),
        (_, DataType::Json) => Value::Json(Arc::new(v.to_json())),
        (Value::String(s), _) => parse_text_as(s, to).map_err(|e| e.to_string())?,
        (Value::Date(d), DataType::DateTime) => Value::DateTime(d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc().fixed_offset()),
        _ => parse_text_as(&v.to_text().unwrap_or_default(), to).map_err(|_| fail(&v))?,
    })
}

struct UnionTask {
    fixed: Option<SchemaRef>,
}

/// How rows of one input schema become output rows.
enum Mapping {
    /// Same fields, order and types: the rows pass untouched.
    Same,
    /// Per output field: the input position (None: null) and whether to convert.
    Map(Vec<(Option<usize>, bool)>),
}

fn mapping(input: &Schema, out: &Schema) -> Mapping {
    if input.fields() == out.fields() {
        return Mapping::Same;
    }
    Mapping::Map(
        out.fields()
            .iter()
            .map(|f| match input.index_of(&f.name) {
                Some(i) => (Some(i), input.fields()[i].data_type != f.data_type),
                None => (None, false),
            })
            .collect(),
    )
}

/// The output fields after seeing `input`: new names appended, clashing types widened.
fn merged(out: Option<&Schema>, input: &Schema) -> Schema {
    let mut fields: Vec<Field> = out.map(|s| s.fields().to_vec()).unwrap_or_default();
    for f in input.fields() {
        match fields.iter_mut().find(|o| o.name == f.name) {
            Some(o) => o.data_type = widen(o.data_type, f.data_type),
            None => fields.push(f.clone()),
        }
    }
    Schema::new(fields)
}

impl BlockingNode for UnionTask {
    fn run(self: Box<Self>, io: &mut NodeIo) -> Result<(), NodeError> {
        let mut out: Option<SchemaRef> = self.fixed.clone();
        // Mappings by input schema; cleared whenever the output fields change.
        let mut cache: Vec<(SchemaRef, Mapping)> = Vec::new();
        while let Some(batch) = io.recv("in")? {
            // Equal fields count as the same input layout even in a new `Arc`, so the cache
            // stays as small as the number of distinct layouts.
            let pos = match cache.iter().position(|(s, _)| Arc::ptr_eq(s, &batch.schema) || **s == *batch.schema) {
                Some(p) => p,
                None => {
                    if self.fixed.is_none() {
                        let m = merged(out.as_deref(), &batch.schema);
                        if out.as_deref() != Some(&m) {
                            out = Some(Arc::new(m));
                            cache.clear();
                        }
                    }
                    let m = mapping(&batch.schema, out.as_ref().unwrap());
                    cache.push((batch.schema.clone(), m));
                    cache.len() - 1
                }
            };
            let out_schema = out.clone().expect("set above");
            match &cache[pos].1 {
                Mapping::Same => io.send("out", Batch::new(out_schema, batch.rows))?,
                Mapping::Map(map) => {
                    let mut rows = Vec::with_capacity(batch.len());
                    let mut errors = Vec::new();
                    'rows: for row in batch.rows {
                        let mut new: Row = Vec::with_capacity(map.len());
                        for (j, (src, conv)) in map.iter().enumerate() {
                            let v = match src {
                                None => Value::Null,
                                Some(i) if !conv => row[*i].clone(),
                                Some(i) => {
                                    let to = out_schema.fields()[j].data_type;
                                    match convert_value(row[*i].clone(), to) {
                                        Ok(v) => v,
                                        Err(m) => {
                                            let name = out_schema.fields()[j].name.clone();
                                            let msg = format!("field '{name}': {m}; fix the value upstream or change the type in fields");
                                            errors.push(RowError::new(msg, row).field(name));
                                            continue 'rows;
                                        }
                                    }
                                }
                            };
                            new.push(v);
                        }
                        rows.push(new);
                    }
                    io.send("out", Batch::new(out_schema, rows))?;
                    io.send_errors(&batch.schema, errors)?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_fields_widen_and_append() {
        let a = Schema::new(vec![Field::new("id", DataType::Int), Field::new("amount", DataType::Int)]);
        let b = Schema::new(vec![Field::new("amount", DataType::Decimal), Field::new("note", DataType::String), Field::new("id", DataType::String)]);
        let m = merged(Some(&merged(None, &a)), &b);
        let got: Vec<(String, DataType)> = m.fields().iter().map(|f| (f.name.clone(), f.data_type)).collect();
        assert_eq!(
            got,
            vec![("id".into(), DataType::String), ("amount".into(), DataType::Decimal), ("note".into(), DataType::String)]
        );
        assert_eq!(convert_value(Value::Int(3), DataType::Decimal).unwrap().to_text().unwrap(), "3");
        assert_eq!(convert_value(Value::Int(3), DataType::String).unwrap(), Value::str("3"));
        assert_eq!(convert_value(Value::str("12.5"), DataType::Float).unwrap(), Value::Float(12.5));
        assert!(convert_value(Value::str("abc"), DataType::Int).unwrap_err().contains("cannot read \"abc\" as int"));
    }
}

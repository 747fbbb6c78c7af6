//! `map_fields`: shapes the record — picks fields, renames and reorders them, drops some,
//! and adds constants or fills empty values with defaults. The output fields are known at
//! design time from the input's, so the designer can show both side by side.
//!
//! Values are moved, never converted: a field keeps its type (use `convert` to change it),
//! and a default must fit the field's type. Left out: computed values (`compute`) and
//! nested JSON paths (`json_flatten`).

use crate::exec::{BlockingNode, LogLevel, NodeError, NodeIo};
use crate::flow::did_you_mean;
use crate::nodes::{Category, ConfigProblem, NodeContext, NodeKind, NodeMeta, NodeTask, PortSchemas, PortSpec, Ports};
use crate::value::{Batch, DataType, Field, Row, Schema, SchemaRef, Value};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Picks, renames, reorders and drops fields, and adds constants or defaults. The output
/// has the listed fields in the listed order, then (with `keep_unlisted`) the other input
/// fields in their input order.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MapFieldsConfig {
    /// The output fields, in output order.
    pub fields: Vec<FieldMapping>,
    /// Also output the input fields not used as a `from`, after the listed ones and in their
    /// input order (except those in `drop`). Off: only the listed fields are output.
    #[serde(default)]
    pub keep_unlisted: bool,
    /// Input fields left out when `keep_unlisted` is on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-field" = "in"))]
    pub drop: Vec<String>,
}

/// One output field.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldMapping {
    /// The input field to take the value from. Leave it out for a constant field whose value
    /// is `default`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-field" = "in"))]
    pub from: Option<String>,
    /// The output field's name.
    pub to: String,
    /// With `from`: the value used when the input value is null. Without `from`: the
    /// constant value of the field. Must fit the field's type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<serde_json::Value>,
    /// The type of a constant field (without `from`). Defaults to the type of `default`'s
    /// JSON value (text is `string`, whole numbers `int`). With `from`, the field keeps the
    /// input's type; use a `convert` node to change it.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub data_type: Option<DataType>,
}

pub struct MapFields;

impl NodeKind for MapFields {
    type Config = MapFieldsConfig;

    fn meta(&self) -> NodeMeta {
        NodeMeta {
            kind: "map_fields",
            category: Category::Transform,
            title: "Map fields",
            description: "Picks, renames, reorders and drops fields, and adds constants or fills empty values with defaults.",
            keywords: &["select", "rename", "reorder", "drop", "columns", "mapping", "constant", "default", "project"],
            icon: "columns",
        }
    }

    fn static_ports(&self) -> Ports {
        // Moving values cannot fail row by row, so there is no error output.
        Ports {
            inputs: vec![PortSpec::input("in", "rows to reshape")],
            outputs: vec![PortSpec::output("out", "rows with the mapped fields")],
        }
    }

    fn check(&self, config: &Self::Config, _ctx: &NodeContext, inputs: &PortSchemas) -> Vec<ConfigProblem> {
        let l = layout(config, inputs.get("in").map(|s| &**s));
        l.problems.into_iter().chain(l.shadowed.into_iter().map(|(_, p)| p)).collect()
    }

    fn output_schemas(&self, config: &Self::Config, _ctx: &NodeContext, inputs: &PortSchemas) -> Result<PortSchemas, ConfigProblem> {
        let l = layout(config, inputs.get("in").map(|s| &**s));
        Ok(match l.fields {
            Some(fields) => PortSchemas::from([("out".to_string(), Arc::new(Schema::new(fields)))]),
            None => PortSchemas::new(),
        })
    }

    fn build(&self, config: Self::Config, _ctx: &NodeContext) -> Result<NodeTask, ConfigProblem> {
        // Problems that need no input fields stop the build; the rest are found per schema.
        if let Some(p) = layout(&config, None).problems.into_iter().next() {
            return Err(p);
        }
        Ok(NodeTask::Blocking(Box::new(MapFieldsTask { config })))
    }
}

/// Where an output value comes from.
#[derive(Debug, Clone, PartialEq)]
enum Source {
    /// An input field; `take` on its last use (the value is moved, not copied).
    Input { index: usize, take: bool, default: Option<Value> },
    Constant(Value),
}

/// The output fields and their sources for one input schema (or none, at design time).
struct Layout {
    /// `None` when the output fields cannot be known (the input's are not).
    fields: Option<Vec<Field>>,
    sources: Vec<Source>,
    problems: Vec<ConfigProblem>,
    /// Unlisted input fields left out because a listed field has their name, with the
    /// problem that reports it at design time (at run time it only warns).
    shadowed: Vec<(String, ConfigProblem)>,
}

fn layout(config: &MapFieldsConfig, input: Option<&Schema>) -> Layout {
    let mut problems = Vec::new();
    let mut fields = Vec::new();
    let mut sources = Vec::new();
    let mut known = true;
    let mut names: HashMap<&str, usize> = HashMap::new();
    let input_names = || input.map(|s| s.names().collect::<Vec<_>>().join(", ")).unwrap_or_default();

    if config.fields.is_empty() && !config.keep_unlisted {
        problems.push(
            ConfigProblem::new("fields", "no fields are output")
                .hint("list the fields to output, or set keep_unlisted to pass the input fields through"),
        );
    }
    for (i, m) in config.fields.iter().enumerate() {
        let at = |k: &str| format!("fields/{i}/{k}");
        if m.to.trim().is_empty() {
            problems.push(ConfigProblem::new(at("to"), "the output name is empty").hint("name the output field"));
        } else if let Some(first) = names.insert(m.to.as_str(), i) {
            problems.push(
                ConfigProblem::new(at("to"), format!("'{}' is already the name of fields/{first}; output names must differ", m.to))
                    .hint("rename one of them"),
            );
        }
        let (ty, source) = match &m.from {
            Some(from) => match input.map(|s| (s.index_of(from), s)) {
                Some((Some(idx), s)) => {
                    let ty = s.fields()[idx].data_type;
                    if let Some(declared) = m.data_type.filter(|t| *t != ty) {
                        problems.push(
                            ConfigProblem::new(at("type"), format!("'{from}' is {ty} in the input, not {declared}; map_fields does not change types"))
                                .hint("remove type here and use a convert node to change it"),
                        );
                    }
                    (Some(ty), Some(idx))
                }
                Some((None, s)) => {
                    let mut p = ConfigProblem::new(at("from"), format!("there is no field '{from}' in the input"));
                    p = match did_you_mean(from, s.names()) {
                        Some(sug) => p.hint(format!("did you mean '{sug}'?")),
                        None => p.hint(format!("input fields: {}", input_names())),
                    };
                    problems.push(p);
                    known = false;
                    (None, None)
                }
                None => {
                    if m.data_type.is_none() {
                        known = false;
                    }
                    (m.data_type, None)
                }
            },
            None => {
                let ty = m
                    .data_type
                    .or_else(|| m.default.as_ref().and_then(|d| Value::from_json(d).data_type()))
                    .unwrap_or(DataType::String);
                (Some(ty), None)
            }
        };
        let default = match (&m.default, ty) {
            (Some(d), Some(t)) => match Value::from_json_as(d, t) {
                Ok(v) => Some(v),
                Err(e) => {
                    problems.push(
                        ConfigProblem::new(at("default"), format!("the default {d} does not fit the type {t}: {e}"))
                            .hint(format!("write a {t} value, e.g. {}", example_of(t))),
                    );
                    None
                }
            },
            _ => None,
        };
        fields.push(Field::new(m.to.clone(), ty.unwrap_or(DataType::String)));
        sources.push(match (&m.from, source) {
            (None, _) => Source::Constant(default.unwrap_or(Value::Null)),
            (Some(_), Some(index)) => Source::Input { index, take: false, default },
            (Some(_), None) => Source::Constant(Value::Null),
        });
    }

    let mut shadowed = Vec::new();
    match input {
        Some(s) => {
            for (j, d) in config.drop.iter().enumerate() {
                if s.index_of(d).is_none() {
                    let mut p = ConfigProblem::new(format!("drop/{j}"), format!("there is no field '{d}' in the input"));
                    p = match did_you_mean(d, s.names()) {
                        Some(sug) => p.hint(format!("did you mean '{sug}'?")),
                        None => p.hint(format!("input fields: {}", input_names())),
                    };
                    problems.push(p);
                }
            }
            if config.keep_unlisted {
                let used: HashSet<&str> = config.fields.iter().filter_map(|m| m.from.as_deref()).collect();
                let dropped: HashSet<&str> = config.drop.iter().map(String::as_str).collect();
                for (idx, f) in s.fields().iter().enumerate() {
                    if used.contains(f.name.as_str()) || dropped.contains(f.name.as_str()) {
                        continue;
                    }
                    if let Some(&i) = names.get(f.name.as_str()) {
                        let p = ConfigProblem::new(format!("fields/{i}/to"), format!("'{}' is also an input field that keep_unlisted passes through", f.name))
                            .hint(format!("add '{}' to drop, or map it to another name", f.name));
                        shadowed.push((f.name.clone(), p));
                        continue;
                    }
                    fields.push(f.clone());
                    sources.push(Source::Input { index: idx, take: false, default: None });
                }
            }
        }
        None if config.keep_unlisted => known = false,
        None => {}
    }

    // Move each input value on its last use; earlier uses (one field mapped twice) copy.
    let mut seen = HashSet::new();
    for s in sources.iter_mut().rev() {
        if let Source::Input { index, take, .. } = s {
            *take = seen.insert(*index);
        }
    }
    Layout { fields: known.then_some(fields), sources, problems, shadowed }
}

fn example_of(t: DataType) -> &'static str {
    match t {
        DataType::Bool => "true",
        DataType::Int => "0",
        DataType::Float => "0.5",
        DataType::Decimal => "\"0.00\"",
        DataType::String => "\"unknown\"",
        DataType::Date => "\"2024-03-05\"",
        DataType::DateTime => "\"2024-03-05T14:30:00+08:00\"",
        DataType::Json => "{}",
    }
}

struct MapFieldsTask {
    config: MapFieldsConfig,
}

struct Bound {
    input: SchemaRef,
    output: SchemaRef,
    sources: Vec<Source>,
}

impl MapFieldsTask {
    fn bind(&self, input: &SchemaRef, io: &mut NodeIo) -> Result<Bound, NodeError> {
        let l = layout(&self.config, Some(input));
        if let Some(p) = l.problems.first() {
            return Err(NodeError::msg(format!("{}{}", p.message, p.hint.as_deref().map(|h| format!(" ({h})")).unwrap_or_default())).with_field(p.field.clone()));
        }
        // Name clashes with pass-through fields only warn here (a schema that changed at run
        // time): the listed field wins.
        for (s, _) in &l.shadowed {
            io.log(LogLevel::Warn, format!("the input field '{s}' is left out: a listed output field has the same name"));
        }
        let fields = l.fields.expect("fields are known once the input is");
        Ok(Bound { input: input.clone(), output: Arc::new(Schema::new(fields)), sources: l.sources })
    }
}

impl BlockingNode for MapFieldsTask {
    fn run(self: Box<Self>, io: &mut NodeIo) -> Result<(), NodeError> {
        let mut bound: Option<Bound> = None;
        while let Some(batch) = io.recv("in")? {
            let same = bound.as_ref().is_some_and(|b| Arc::ptr_eq(&b.input, &batch.schema) || *b.input == *batch.schema);
            if !same {
                bound = Some(self.bind(&batch.schema, io)?);
            }
            let b = bound.as_ref().expect("bound above");
            let width = b.sources.len();
            let rows: Vec<Row> = batch
                .rows
                .into_iter()
                .map(|mut row| {
                    let mut out = Vec::with_capacity(width);
                    for s in &b.sources {
                        let v = match s {
                            Source::Constant(v) => v.clone(),
                            Source::Input { index, take, default } => {
                                let v = match row.get_mut(*index) {
                                    Some(v) if *take => std::mem::take(v),
                                    Some(v) => v.clone(),
                                    None => Value::Null,
                                };
                                match (v, default) {
                                    (Value::Null, Some(d)) => d.clone(),
                                    (v, _) => v,
                                }
                            }
                        };
                        out.push(v);
                    }
                    out
                })
                .collect();
            io.send("out", Batch::new(b.output.clone(), rows))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(v: serde_json::Value) -> MapFieldsConfig {
        serde_json::from_value(v).unwrap()
    }

    fn input() -> Schema {
        Schema::new(vec![Field::new("id", DataType::Int), Field::new("name", DataType::String), Field::new("phone", DataType::String)])
    }

    #[test]
    fn layout_moves_last_use_and_copies_earlier_ones() {
        let c = config(serde_json::json!({"fields": [{"from": "name", "to": "a"}, {"from": "name", "to": "b"}, {"to": "src", "default": "crm"}]}));
        let l = layout(&c, Some(&input()));
        assert!(l.problems.is_empty(), "{:?}", l.problems);
        assert_eq!(l.sources[0], Source::Input { index: 1, take: false, default: None });
        assert_eq!(l.sources[1], Source::Input { index: 1, take: true, default: None });
        assert_eq!(l.sources[2], Source::Constant(Value::str("crm")));
    }

    #[test]
    fn output_unknown_without_input_unless_all_constant() {
        let c = config(serde_json::json!({"fields": [{"from": "name", "to": "a"}]}));
        assert!(layout(&c, None).fields.is_none());
        let c = config(serde_json::json!({"fields": [{"to": "n", "default": 1}, {"to": "d", "type": "date", "default": "2024-03-05"}]}));
        let f = layout(&c, None).fields.unwrap();
        assert_eq!(f, vec![Field::new("n", DataType::Int), Field::new("d", DataType::Date)]);
    }

    #[test]
    fn a_listed_name_that_shadows_a_kept_field_is_a_problem() {
        let c = config(serde_json::json!({"fields": [{"from": "name", "to": "phone"}], "keep_unlisted": true}));
        let l = layout(&c, Some(&input()));
        assert!(l.problems.is_empty());
        assert_eq!(l.shadowed.len(), 1);
        assert_eq!((l.shadowed[0].0.as_str(), l.shadowed[0].1.field.as_str()), ("phone", "fields/0/to"));
    }
}

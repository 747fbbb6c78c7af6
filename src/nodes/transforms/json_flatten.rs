//! `json_flatten`: turns a JSON object field into columns, one per leaf
//! (`customer.phone` → `customer_phone`), so API payloads can go to CSV, Excel or SQL.
//!
//! Two ways to say which columns: list them in `fields` (typed, known at design time, the
//! way for production flows), or let the node discover them from the first `sample_rows`
//! rows. Discovery buffers those rows, takes the union of their paths in first-seen order,
//! widens each column's type across the sample, and then streams. A path first seen after
//! the sample is left out, with one warning in the run log and a count at the end — the
//! columns of a stream cannot grow halfway through a file.
//!
//! What it leaves out: one row per array element (that is `json_explode`), and schemas that
//! change per batch.

use super::json_parse::{check_json_field, check_path_fields, check_unique_names, read_json_cell, require_field, shape, JsonFieldSpec, Layout};
use crate::exec::{BlockingNode, LogLevel, NodeError, NodeIo, RowError};
use crate::functions::json::{flatten_with, json_to_value_as, json_type, ArrayMode, FlattenOptions, JsonPath};
use crate::nodes::{Category, ConfigProblem, NodeContext, NodeKind, NodeMeta, NodeTask, PortSchemas};
use crate::value::{widen, Batch, DataType, Field, Row, Schema, SchemaRef, Value};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value as J;
use std::collections::HashMap;
use std::sync::Arc;

/// Flattens a JSON object field into columns. Nested keys are joined with `separator`
/// (`_` by default, so the names work as SQL column names); the new columns take the JSON
/// field's place. Arrays stay JSON unless `arrays` is `index`. A value that is not an
/// object (an array, a number, text that is not JSON) sends its row to `error`; null gives
/// null columns.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JsonFlattenConfig {
    /// The field holding the JSON object (a json field, or text holding JSON).
    #[schemars(extend("x-field" = "in"))]
    pub field: String,
    /// Put between nested keys in column names. `_` (default) gives names that need no
    /// quoting in SQL; `.` mirrors the JSON paths.
    #[serde(default = "default_separator")]
    pub separator: String,
    /// Put before every column name. Default: the field's name and the separator
    /// (`payload_customer_phone`); empty for bare paths (`customer_phone`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// How many levels of objects to open when discovering columns; deeper objects stay
    /// one JSON column. Default: all levels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_depth: Option<usize>,
    /// When discovering columns: `keep` leaves arrays as one JSON column, `index` gives each
    /// element a column of its own (`tags_0`, `tags_1`, as many as the sample shows).
    #[serde(default)]
    pub arrays: ArrayMode,
    /// Keep the JSON field itself, before the new columns.
    #[serde(default)]
    pub keep_original: bool,
    /// The columns to produce, each a path with an optional name and type (default
    /// string): `{"path": "customer.phone", "type": "string"}`. When listed, only these are
    /// produced and the columns are known at design time; a name an input field already
    /// has replaces that field. When empty, columns are discovered from the first
    /// `sample_rows` rows: each takes the widest type its values show there (JSON text
    /// stays string — list a column with a type to read `"2024-03-05"` as a date), and a
    /// discovered name an input field already has gets a `_2` suffix.
    #[serde(default)]
    pub fields: Vec<JsonFieldSpec>,
    /// Rows looked at to discover columns and their types (when `fields` is empty). Paths
    /// first seen later are left out, with a warning in the run log.
    #[serde(default = "default_sample_rows")]
    #[schemars(range(min = 1))]
    pub sample_rows: usize,
}

fn default_separator() -> String {
    "_".into()
}

fn default_sample_rows() -> usize {
    1000
}

pub struct JsonFlatten;

impl JsonFlattenConfig {
    fn prefix(&self) -> String {
        self.prefix.clone().unwrap_or_else(|| format!("{}{}", self.field, self.separator))
    }

    fn listed_fields(&self) -> Vec<Field> {
        let prefix = self.prefix();
        self.fields.iter().map(|f| f.field(&prefix, &self.separator)).collect()
    }

    fn layout(&self, input: &Schema, at: usize, new: &[Field]) -> Layout {
        let drop = if self.keep_original { vec![] } else { vec![at] };
        Layout::new(input, Some(at), &drop, new)
    }
}

impl NodeKind for JsonFlatten {
    type Config = JsonFlattenConfig;

    fn meta(&self) -> NodeMeta {
        NodeMeta {
            kind: "json_flatten",
            category: Category::Transform,
            title: "Flatten JSON",
            description: "Turns a JSON object field into columns, one per nested key (customer.phone → customer_phone). List the columns for typed, design-time fields, or let the node discover them from the first rows.",
            keywords: &["json", "flatten", "unnest", "columns", "api", "nested", "object"],
            icon: "table-columns",
        }
    }

    fn check(&self, config: &Self::Config, _ctx: &NodeContext, inputs: &PortSchemas) -> Vec<ConfigProblem> {
        let mut problems = check_json_field("field", &config.field, inputs);
        if config.separator.is_empty() {
            problems.push(ConfigProblem::new("separator", "the separator is empty, so nested keys would run together").hint("use _ or ."));
        }
        if config.max_depth == Some(0) {
            problems.push(ConfigProblem::new("max_depth", "max_depth must be at least 1 (1 opens only the top-level object)"));
        }
        if config.sample_rows == 0 {
            problems.push(ConfigProblem::new("sample_rows", "sample_rows must be at least 1"));
        }
        problems.extend(check_path_fields("fields", &config.fields));
        let listed = config.listed_fields();
        problems.extend(check_unique_names("fields", listed.iter().map(|f| f.name.as_str()), 0));
        if config.keep_original {
            if let Some(i) = listed.iter().position(|f| f.name == config.field) {
                problems.push(
                    ConfigProblem::new(format!("fields/{i}/name"), format!("'{}' is the JSON field, which keep_original keeps", config.field))
                        .hint("give the column another name"),
                );
            }
        }
        problems
    }

    fn output_schemas(&self, config: &Self::Config, _ctx: &NodeContext, inputs: &PortSchemas) -> Result<PortSchemas, ConfigProblem> {
        // Discovered columns are only known once rows flow.
        if config.fields.is_empty() {
            return Ok(PortSchemas::new());
        }
        let Some(input) = inputs.get("in") else { return Ok(PortSchemas::new()) };
        let Some(at) = input.index_of(&config.field) else { return Ok(PortSchemas::new()) };
        Ok(PortSchemas::from([("out".to_string(), config.layout(input, at, &config.listed_fields()).schema)]))
    }

    fn build(&self, config: Self::Config, _ctx: &NodeContext) -> Result<NodeTask, ConfigProblem> {
        if let Some(p) = check_path_fields("fields", &config.fields).into_iter().next() {
            return Err(p);
        }
        let paths = config.fields.iter().map(|f| JsonPath::parse(&f.path).expect("checked above")).collect();
        Ok(NodeTask::Blocking(Box::new(JsonFlattenTask { config, paths })))
    }
}

struct JsonFlattenTask {
    config: JsonFlattenConfig,
    /// The listed paths (empty when discovering).
    paths: Vec<JsonPath>,
}

/// The columns the node produces, once known.
struct Columns {
    fields: Vec<Field>,
    /// Discovery: flattened name → column (a renamed column keeps its flattened name here).
    by_name: HashMap<String, usize>,
    /// Discovered names that clashed with input fields: (flattened name, column name).
    renamed: Vec<(String, String)>,
}

/// Counts of what discovery could not place, reported at the end.
#[derive(Default)]
struct Unplaced {
    rows: u64,
    first: Option<String>,
}

impl BlockingNode for JsonFlattenTask {
    fn run(self: Box<Self>, io: &mut NodeIo) -> Result<(), NodeError> {
        let c = &self.config;
        let prefix = c.prefix();
        let opts = FlattenOptions { separator: &c.separator, max_depth: c.max_depth, arrays: c.arrays };

        // Discovery: hold batches back until the sample is complete (or the input ends).
        let mut held: Vec<Batch> = Vec::new();
        let columns = if c.fields.is_empty() {
            let mut seen = 0usize;
            while seen < c.sample_rows {
                match io.recv("in")? {
                    Some(b) => {
                        seen += b.len();
                        held.push(b);
                    }
                    None => break,
                }
            }
            let Some(first) = held.first() else { return Ok(()) };
            let at = require_field(&first.schema, &c.field, "field")?;
            let cols = discover(&held, c, &prefix, &opts, &first.schema, at);
            io.log(
                LogLevel::Info,
                format!(
                    "{} columns found in the first {} rows of '{}': {}",
                    cols.fields.len(),
                    seen.min(c.sample_rows),
                    c.field,
                    cols.fields.iter().map(|f| format!("{} ({})", f.name, f.data_type)).collect::<Vec<_>>().join(", ")
                ),
            );
            for (from, to) in &cols.renamed {
                io.log(LogLevel::Warn, format!("column '{from}' is named '{to}' because the input already has a field '{from}' (set `prefix` to avoid this)"));
            }
            cols
        } else {
            Columns { fields: c.listed_fields(), by_name: HashMap::new(), renamed: vec![] }
        };
        let types: Vec<DataType> = columns.fields.iter().map(|f| f.data_type).collect();

        let mut resolved: Option<(SchemaRef, usize, Layout)> = None;
        let mut unplaced = Unplaced::default();
        let mut held = held.into_iter();
        loop {
            let batch = match held.next() {
                Some(b) => b,
                None => match io.recv("in")? {
                    Some(b) => b,
                    None => break,
                },
            };
            let (at, layout) = match &resolved {
                Some((s, at, l)) if Arc::ptr_eq(s, &batch.schema) => (*at, l),
                _ => {
                    let at = require_field(&batch.schema, &c.field, "field")?;
                    resolved = Some((batch.schema.clone(), at, c.layout(&batch.schema, at, &columns.fields)));
                    let r = resolved.as_ref().unwrap();
                    (r.1, &r.2)
                }
            };
            let schema = batch.schema.clone();
            let mut out: Vec<Row> = Vec::with_capacity(batch.len());
            let mut errors = Vec::new();
            for row in batch.rows {
                let doc = match read_json_cell(&c.field, &row[at]) {
                    Ok(d) => d,
                    Err(msg) => {
                        errors.push(RowError::new(msg, row).field(&c.field));
                        continue;
                    }
                };
                let values = match &doc {
                    None => Ok(vec![Value::Null; types.len()]),
                    Some(d) if !d.is_object() => Err(format!(
                        "field '{}' holds {}, not an object, so it has no keys to make columns of{}",
                        c.field,
                        shape(d),
                        if d.is_array() { "; use json_explode for one row per element" } else { "" }
                    )),
                    Some(d) if c.fields.is_empty() => self.discovered_values(d, &columns, &types, &prefix, &opts, &mut unplaced, io),
                    Some(d) => self.listed_values(d, &types),
                };
                match values {
                    Ok(v) => out.push(layout.assemble(row, v)),
                    Err(msg) => errors.push(RowError::new(msg, row).field(&c.field)),
                }
            }
            io.send("out", Batch::new(layout.schema.clone(), out))?;
            io.send_errors(&schema, errors)?;
        }
        if unplaced.rows > 0 {
            io.log(
                LogLevel::Warn,
                format!(
                    "{} rows had paths not found in the first {} rows (first: '{}'); those values were left out. List the columns in `fields`, or raise `sample_rows`",
                    unplaced.rows,
                    c.sample_rows,
                    unplaced.first.unwrap_or_default()
                ),
            );
        }
        Ok(())
    }
}

impl JsonFlattenTask {
    fn listed_values(&self, doc: &J, types: &[DataType]) -> Result<Vec<Value>, String> {
        self.paths
            .iter()
            .zip(types)
            .zip(&self.config.fields)
            .map(|((p, ty), spec)| {
                json_to_value_as(p.get(doc).unwrap_or(&J::Null), *ty).map_err(|e| {
                    format!("field '{}': the value at '{}' does not fit: {e}; change its type in `fields`, or fix the data", self.config.field, spec.path)
                })
            })
            .collect()
    }

    #[allow(clippy::too_many_arguments)]
    fn discovered_values(
        &self,
        doc: &J,
        columns: &Columns,
        types: &[DataType],
        prefix: &str,
        opts: &FlattenOptions,
        unplaced: &mut Unplaced,
        io: &NodeIo,
    ) -> Result<Vec<Value>, String> {
        let mut values = vec![Value::Null; types.len()];
        let mut error = None;
        let mut new_path: Option<String> = None;
        flatten_with(doc, opts, prefix, &mut |name, v| match columns.by_name.get(name) {
            Some(&i) => match json_to_value_as(v, types[i]) {
                Ok(x) => values[i] = x,
                Err(e) if error.is_none() => {
                    error = Some(format!(
                        "field '{}': column '{}' was {} in the first {} rows, but here {e}; list the column in `fields` with the type it needs, or raise `sample_rows`",
                        self.config.field, columns.fields[i].name, types[i], self.config.sample_rows
                    ))
                }
                Err(_) => {}
            },
            None => {
                if new_path.is_none() {
                    new_path = Some(name.to_string());
                }
            }
        });
        if let Some(path) = new_path {
            if unplaced.first.is_none() {
                io.log(
                    LogLevel::Warn,
                    format!("'{path}' was not in the first {} rows, so it has no column and is left out (this is said once; see the count at the end)", self.config.sample_rows),
                );
                unplaced.first = Some(path);
            }
            unplaced.rows += 1;
        }
        match error {
            Some(e) => Err(e),
            None => Ok(values),
        }
    }
}

/// The columns of the sample: the union of its paths in first-seen order, each typed by
/// widening what the sample holds (text when it holds nothing but nulls). A name that an
/// input field already has gets a `_2` suffix, so no input field is overwritten by a
/// column nobody named.
fn discover(held: &[Batch], c: &JsonFlattenConfig, prefix: &str, opts: &FlattenOptions, input: &Schema, at: usize) -> Columns {
    let mut names: Vec<String> = Vec::new();
    let mut types: Vec<Option<DataType>> = Vec::new();
    let mut by_name: HashMap<String, usize> = HashMap::new();
    let rows = held.iter().flat_map(|b| {
        let at = b.schema.index_of(&c.field);
        b.rows.iter().filter_map(move |r| at.map(|i| &r[i]))
    });
    for cell in rows.take(c.sample_rows) {
        let Ok(Some(doc)) = read_json_cell(&c.field, cell) else { continue };
        if !doc.is_object() {
            continue;
        }
        flatten_with(&doc, opts, prefix, &mut |name, v| {
            let i = match by_name.get(name) {
                Some(&i) => i,
                None => {
                    by_name.insert(name.to_string(), names.len());
                    names.push(name.to_string());
                    types.push(None);
                    names.len() - 1
                }
            };
            if let Some(t) = json_type(v) {
                types[i] = Some(types[i].map_or(t, |old| widen(old, t)));
            }
        });
    }
    let mut taken: Vec<String> =
        input.fields().iter().enumerate().filter(|(i, _)| c.keep_original || *i != at).map(|(_, f)| f.name.clone()).collect();
    let mut fields = Vec::with_capacity(names.len());
    let mut renamed = Vec::new();
    for (name, ty) in names.iter().zip(types) {
        let mut out = name.clone();
        let mut n = 1;
        while taken.contains(&out) {
            n += 1;
            out = format!("{name}_{n}");
        }
        if &out != name {
            renamed.push((name.clone(), out.clone()));
        }
        taken.push(out.clone());
        fields.push(Field::new(out, ty.unwrap_or(DataType::String)));
    }
    Columns { fields, by_name, renamed }
}

//! `json_parse`: reads a text field holding JSON (an API payload kept in a CSV column or a
//! database text column) into a JSON value, and can pull typed fields out of it at once.
//!
//! This file also holds what the four `json_*` nodes share: reading a cell as JSON, the
//! field checks, the typed path fields, and [`Layout`] (how an output row is put together
//! from the input row and the node's new values, the same at design time and at run time).
//!
//! What it leaves out: validating a document against a JSON Schema (use `validate`), and
//! turning every key into a column (use `json_flatten`, which finds them in the data).

use crate::exec::{BlockingNode, NodeError, NodeIo, RowError};
use crate::flow::did_you_mean;
use crate::functions::json::{json_to_value_as, JsonPath};
use crate::nodes::{Category, ConfigProblem, NodeContext, NodeKind, NodeMeta, NodeTask, PortSchemas};
use crate::value::{Batch, DataType, Field, Row, Schema, SchemaRef, Value};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value as J;
use std::sync::Arc;

/// Parses a field holding JSON text. Rows whose text is not valid JSON leave by `error`,
/// with the parser's message and the line and column in the text where it went wrong.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JsonParseConfig {
    /// The field holding JSON text. Blank text and null give null; a field that already
    /// holds JSON passes through unchanged.
    #[schemars(extend("x-field" = "in"))]
    pub field: String,
    /// Name of the field that receives the parsed JSON. Empty: `field` itself is replaced
    /// (same place, type json). A name: the text field stays and the JSON field follows it;
    /// an input field of that name is replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_field: Option<String>,
    /// Typed fields to pull out of the JSON at once, placed after the JSON field, e.g.
    /// `{"path": "customer.phone", "name": "phone", "type": "string"}`. A path missing in a
    /// row gives null; a value that does not read as the type sends the row to `error`. A
    /// name an input field already has replaces that field.
    #[serde(default)]
    pub schema_fields: Vec<JsonFieldSpec>,
    /// Keep the parsed JSON as a field. Turn off with `schema_fields` to keep only the
    /// pulled-out fields (parsing in place, the text field then goes too).
    #[serde(default = "yes")]
    pub keep_json: bool,
}

/// A typed field taken from a path inside a JSON value.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JsonFieldSpec {
    /// Where the value is: keys joined by dots, array positions in brackets
    /// (`customer.phone`, `messages[0].text`, `tags[-1]` for the last element,
    /// `["order.no"]` for a key that contains a dot).
    pub path: String,
    /// Name of the new field. Default: the path's keys and positions joined by `_`
    /// (`messages[0].text` → `messages_0_text`), after the node's prefix where it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Type of the new field. Default `string` (objects and arrays as JSON text). Text in
    /// the JSON is read as the type (`"2024-03-05"` as a date).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub data_type: Option<DataType>,
}

pub(super) fn yes() -> bool {
    true
}

pub struct JsonParse;

impl JsonParseConfig {
    fn json_name(&self) -> &str {
        self.output_field.as_deref().filter(|s| !s.is_empty()).unwrap_or(&self.field)
    }

    /// The new fields in output order: the JSON field (when kept), then the pulled-out ones.
    fn new_fields(&self) -> Vec<Field> {
        let mut out = Vec::new();
        if self.keep_json {
            out.push(Field::new(self.json_name(), DataType::Json));
        }
        for s in &self.schema_fields {
            out.push(s.field("", "_"));
        }
        out
    }

    fn layout(&self, input: &Schema, at: usize) -> Layout {
        let in_place = self.json_name() == self.field;
        let drop = if in_place { vec![at] } else { vec![] };
        Layout::new(input, Some(at), &drop, &self.new_fields())
    }
}

impl JsonFieldSpec {
    /// The output field: the given name and type, or the defaults.
    pub(super) fn field(&self, prefix: &str, separator: &str) -> Field {
        let name = match &self.name {
            Some(n) if !n.is_empty() => n.clone(),
            _ => format!("{prefix}{}", JsonPath::parse(&self.path).map(|p| p.column_name(separator)).unwrap_or_default()),
        };
        Field::new(name, self.data_type.unwrap_or(DataType::String))
    }
}

impl NodeKind for JsonParse {
    type Config = JsonParseConfig;

    fn meta(&self) -> NodeMeta {
        NodeMeta {
            kind: "json_parse",
            category: Category::Transform,
            title: "Parse JSON",
            description: "Reads a text field holding JSON into a JSON value, optionally pulling typed fields out of it. Invalid JSON goes to the error output with the parser's message and position.",
            keywords: &["json", "parse", "decode", "api", "payload", "extract"],
            icon: "braces",
        }
    }

    fn check(&self, config: &Self::Config, _ctx: &NodeContext, inputs: &PortSchemas) -> Vec<ConfigProblem> {
        let mut problems = check_json_field("field", &config.field, inputs);
        problems.extend(check_path_fields("schema_fields", &config.schema_fields));
        if !config.keep_json && config.schema_fields.is_empty() {
            problems.push(
                ConfigProblem::new("keep_json", "with keep_json off and no schema_fields, the node would produce nothing from the JSON")
                    .hint("list the values to keep in schema_fields, or turn keep_json on"),
            );
        }
        problems.extend(check_unique_names("schema_fields", config.new_fields().iter().map(|f| f.name.as_str()), usize::from(config.keep_json)));
        problems
    }

    fn output_schemas(&self, config: &Self::Config, _ctx: &NodeContext, inputs: &PortSchemas) -> Result<PortSchemas, ConfigProblem> {
        let Some(input) = inputs.get("in") else { return Ok(PortSchemas::new()) };
        let Some(at) = input.index_of(&config.field) else { return Ok(PortSchemas::new()) };
        Ok(PortSchemas::from([("out".to_string(), config.layout(input, at).schema)]))
    }

    fn build(&self, config: Self::Config, _ctx: &NodeContext) -> Result<NodeTask, ConfigProblem> {
        if let Some(p) = check_path_fields("schema_fields", &config.schema_fields).into_iter().next() {
            return Err(p);
        }
        let paths = config.schema_fields.iter().map(|s| JsonPath::parse(&s.path).expect("checked above")).collect();
        let types = config.new_fields().iter().skip(usize::from(config.keep_json)).map(|f| f.data_type).collect();
        Ok(NodeTask::Blocking(Box::new(JsonParseTask { config, paths, types })))
    }
}

struct JsonParseTask {
    config: JsonParseConfig,
    paths: Vec<JsonPath>,
    types: Vec<DataType>,
}

impl BlockingNode for JsonParseTask {
    fn run(self: Box<Self>, io: &mut NodeIo) -> Result<(), NodeError> {
        let c = &self.config;
        let mut resolved: Option<(SchemaRef, usize, Layout)> = None;
        while let Some(batch) = io.recv("in")? {
            let (at, layout) = match &resolved {
                Some((s, at, l)) if Arc::ptr_eq(s, &batch.schema) => (*at, l),
                _ => {
                    let at = require_field(&batch.schema, &c.field, "field")?;
                    resolved = Some((batch.schema.clone(), at, c.layout(&batch.schema, at)));
                    let r = resolved.as_ref().unwrap();
                    (r.1, &r.2)
                }
            };
            let schema = batch.schema.clone();
            let mut out = Vec::with_capacity(batch.len());
            let mut errors = Vec::new();
            for row in batch.rows {
                let doc = match read_json_cell(&c.field, &row[at]) {
                    Ok(d) => d,
                    Err(msg) => {
                        errors.push(RowError::new(msg, row).field(&c.field));
                        continue;
                    }
                };
                let mut new = Vec::with_capacity(self.paths.len() + 1);
                if c.keep_json {
                    new.push(doc.clone().map(Value::Json).unwrap_or(Value::Null));
                }
                let mut failed = None;
                for ((path, ty), spec) in self.paths.iter().zip(&self.types).zip(&c.schema_fields) {
                    let v = doc.as_deref().and_then(|d| path.get(d)).unwrap_or(&J::Null);
                    match json_to_value_as(v, *ty) {
                        Ok(x) => new.push(x),
                        Err(e) => {
                            failed = Some(format!("field '{}': the value at '{}' does not fit: {e}; change the type in schema_fields, or fix the data", c.field, spec.path));
                            break;
                        }
                    }
                }
                match failed {
                    Some(msg) => errors.push(RowError::new(msg, row).field(&c.field)),
                    None => out.push(layout.assemble(row, new)),
                }
            }
            io.send("out", Batch::new(layout.schema.clone(), out))?;
            io.send_errors(&schema, errors)?;
        }
        Ok(())
    }
}

// ---- Shared by the json_* nodes -------------------------------------------------------------

/// Where an output value comes from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Src {
    /// The input row's value at this index.
    Input(usize),
    /// The node's n-th new value.
    New(usize),
}

/// How an output row is put together: the input fields in order, with the node's new fields
/// at an anchor (after the anchor field, or in its place when it is dropped) or at the end.
/// An input field whose name a new field takes is left out — a configured name replaces.
#[derive(Debug, Clone)]
pub(super) struct Layout {
    pub schema: SchemaRef,
    pub cols: Vec<Src>,
}

impl Layout {
    pub fn new(input: &Schema, anchor: Option<usize>, drop: &[usize], new: &[Field]) -> Layout {
        let mut fields = Vec::with_capacity(input.len() + new.len());
        let mut cols = Vec::with_capacity(input.len() + new.len());
        let taken = |name: &str| new.iter().any(|f| f.name == name);
        let push_new = |fields: &mut Vec<Field>, cols: &mut Vec<Src>| {
            for (j, f) in new.iter().enumerate() {
                fields.push(f.clone());
                cols.push(Src::New(j));
            }
        };
        for (i, f) in input.fields().iter().enumerate() {
            if !drop.contains(&i) && !taken(&f.name) {
                fields.push(f.clone());
                cols.push(Src::Input(i));
            }
            if anchor == Some(i) {
                push_new(&mut fields, &mut cols);
            }
        }
        if anchor.is_none_or(|a| a >= input.len()) {
            push_new(&mut fields, &mut cols);
        }
        Layout { schema: Arc::new(Schema::new(fields)), cols }
    }

    /// The output row, moving values out of `row` and `new`.
    pub fn assemble(&self, mut row: Row, mut new: Vec<Value>) -> Row {
        self.cols
            .iter()
            .map(|c| match *c {
                Src::Input(i) => row.get_mut(i).map(std::mem::take).unwrap_or_default(),
                Src::New(j) => new.get_mut(j).map(std::mem::take).unwrap_or_default(),
            })
            .collect()
    }
}

/// A cell as JSON: JSON values as they are, text parsed (blank text is null), other values
/// in their JSON form. The error names the field, quotes the start of the text and carries
/// the parser's message with its line and column.
pub(super) fn read_json_cell(field: &str, v: &Value) -> Result<Option<Arc<J>>, String> {
    match v {
        Value::Null => Ok(None),
        Value::Json(j) => Ok(Some(j.clone())),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => serde_json::from_str::<J>(s).map(|j| Some(Arc::new(j))).map_err(|e| {
            let shown: String = s.chars().take(60).collect();
            let more = if s.chars().count() > 60 { "…" } else { "" };
            format!("field '{field}' is not valid JSON: {e} (the text starts {shown:?}{more}); fix the data upstream, or keep such rows by wiring the error output")
        }),
        other => Ok(Some(Arc::new(other.to_json()))),
    }
}

/// The word for a JSON value's shape in messages.
pub(super) fn shape(v: &J) -> &'static str {
    match v {
        J::Null => "null",
        J::Bool(_) => "a true/false value",
        J::Number(_) => "a number",
        J::String(_) => "a string",
        J::Array(_) => "an array",
        J::Object(_) => "an object",
    }
}

/// The index of a field that must be in the rows; a missing one stops the node (the flow
/// is wired to the wrong data), naming the config key and the fields that did arrive.
pub(super) fn require_field(schema: &Schema, name: &str, config_key: &str) -> Result<usize, NodeError> {
    schema.index_of(name).ok_or_else(|| {
        let names: Vec<&str> = schema.names().collect();
        let hint = match did_you_mean(name, names.iter().copied()) {
            Some(s) => format!("did you mean '{s}'?"),
            None => format!("the rows have: {}", names.join(", ")),
        };
        NodeError::msg(format!("{config_key}: the rows reaching this node have no field '{name}' ({hint})")).with_field(config_key)
    })
}

/// A field named in the config that the input does not have, with "did you mean".
pub(super) fn missing_field(config_key: &str, name: &str, input: &Schema) -> ConfigProblem {
    let p = ConfigProblem::new(config_key, format!("the input has no field '{name}'"));
    match did_you_mean(name, input.names()) {
        Some(s) => p.hint(format!("did you mean '{s}'?")),
        None => p.hint(format!("input fields: {}", input.names().collect::<Vec<_>>().join(", "))),
    }
}

/// The field a JSON node reads must exist and hold JSON or text, when the input is known.
pub(super) fn check_json_field(config_key: &str, name: &str, inputs: &PortSchemas) -> Vec<ConfigProblem> {
    if name.trim().is_empty() {
        return vec![ConfigProblem::new(config_key, "name the field that holds the JSON")];
    }
    let Some(input) = inputs.get("in") else { return vec![] };
    match input.field(name) {
        None => vec![missing_field(config_key, name, input)],
        Some(f) if !matches!(f.data_type, DataType::Json | DataType::String) => vec![ConfigProblem::new(
            config_key,
            format!("field '{name}' is {}, but this node reads JSON or text holding JSON", f.data_type),
        )],
        Some(_) => vec![],
    }
}

/// Every path of a list of path fields must parse.
pub(super) fn check_path_fields(list_key: &str, specs: &[JsonFieldSpec]) -> Vec<ConfigProblem> {
    specs
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            JsonPath::parse(&s.path).err().map(|e| {
                ConfigProblem::new(format!("{list_key}/{i}/path"), e.to_string())
                    .hint("keys joined by dots, array positions in brackets: customer.phone, messages[0].text")
            })
        })
        .collect()
}

/// New field names must differ from each other. `skip` leading names are not in the list
/// (the node's own JSON field) but still count as taken.
pub(super) fn check_unique_names<'a>(list_key: &str, names: impl Iterator<Item = &'a str>, skip: usize) -> Vec<ConfigProblem> {
    let names: Vec<&str> = names.collect();
    let mut problems = Vec::new();
    for (i, n) in names.iter().enumerate().skip(skip) {
        if n.is_empty() {
            problems.push(ConfigProblem::new(format!("{list_key}/{}/name", i - skip), "the field has no name").hint("give it a name, or a path to name it after"));
        } else if names[..i].contains(n) {
            problems.push(
                ConfigProblem::new(format!("{list_key}/{}/name", i - skip), format!("the name '{n}' is given to two new fields"))
                    .hint("give each new field its own name"),
            );
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(names: &[&str]) -> Schema {
        Schema::new(names.iter().map(|n| Field::new(*n, DataType::String)).collect())
    }

    #[test]
    fn layout_replaces_in_place_and_appends() {
        let input = schema(&["id", "raw", "note"]);
        let l = Layout::new(&input, Some(1), &[1], &[Field::new("raw", DataType::Json), Field::new("phone", DataType::String)]);
        assert_eq!(l.schema.names().collect::<Vec<_>>(), ["id", "raw", "phone", "note"]);
        let row = l.assemble(vec![Value::Int(1), Value::str("{}"), Value::str("n")], vec![Value::Null, Value::str("138")]);
        assert_eq!(row, vec![Value::Int(1), Value::Null, Value::str("138"), Value::str("n")]);
        // A new field named like an input field replaces it; no anchor appends at the end.
        let l = Layout::new(&input, None, &[], &[Field::new("note", DataType::Json)]);
        assert_eq!(l.schema.names().collect::<Vec<_>>(), ["id", "raw", "note"]);
        assert_eq!(l.cols, vec![Src::Input(0), Src::Input(1), Src::New(0)]);
    }

    #[test]
    fn cells_read_as_json_with_positions() {
        assert_eq!(read_json_cell("raw", &Value::str("  ")).unwrap(), None);
        assert_eq!(*read_json_cell("raw", &Value::str("[1]")).unwrap().unwrap(), serde_json::json!([1]));
        let e = read_json_cell("raw", &Value::str("{\"a\":1,}")).unwrap_err();
        assert!(e.contains("field 'raw' is not valid JSON") && e.contains("line 1 column 8"), "{e}");
    }
}

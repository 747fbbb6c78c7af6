//! `compute`: sets fields from Rhai expressions, one after another, so a later expression
//! can use what an earlier one computed.
//!
//! Types are decided at design time, never from the data: a replaced field keeps its type
//! unless the config gives another, and a new field must say its type (a guess from the
//! first row would change with the data and break downstream pickers and sinks). Results are
//! converted to that type; a value that does not fit sends the row to `error`.
//!
//! Rows are independent, so batches are evaluated on several threads (output order is input
//! order). Left out: anything that spans rows (running totals belong in `script` with
//! `init`, or in `aggregate`).

use crate::exec::{BlockingNode, NodeError, NodeIo, RowError};
use crate::flow::did_you_mean;
use crate::nodes::{Category, ConfigProblem, NodeContext, NodeKind, NodeMeta, NodeTask, PortSchemas, PortSpec, Ports, ERROR_PORT};
use crate::script::lint::ScriptText;
use crate::script::parallel::map_in_order;
use crate::script::{dynamic_to_value, CompiledExpr};
use crate::value::{Batch, DataType, Field, Row, Schema, SchemaRef, Value};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Sets fields from expressions, in order. A later expression sees the fields computed
/// before it; an existing field is replaced where it stands, a new one is added at the end.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ComputeConfig {
    /// The fields to compute, in order.
    pub fields: Vec<ComputedField>,
}

/// One field to compute.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ComputedField {
    /// Name of the field to set. An input field of that name is replaced in place; otherwise
    /// the field is added after the input's fields.
    pub field: String,
    /// A Rhai expression over the row's fields, e.g. `handle_seconds / 60` or
    /// `if satisfaction == () { "unrated" } else { "rated" }`. A null field is `()`; the whole
    /// row is also the map `row` (`row["first name"]` for names with spaces). In a flow file
    /// `${…}` means a flow param: write Rhai's string interpolation as `$${…}`.
    #[schemars(extend("x-editor" = "rhai-expression"))]
    pub expression: String,
    /// Type of the result; the value is converted to it (text "42" becomes int 42). Needed
    /// for a new field; a replaced field keeps its type when this is left out.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub data_type: Option<DataType>,
}

/// Where each computed value goes, for one input schema.
struct Layout {
    output: SchemaRef,
    /// Per computed field: its index in the output row and its type.
    targets: Vec<(usize, DataType)>,
}

/// The output fields for an input schema, or the index of a new field that has no type.
fn layout(config: &ComputeConfig, input: &Schema) -> Result<Layout, usize> {
    let mut fields: Vec<Field> = input.fields().to_vec();
    let mut targets = Vec::with_capacity(config.fields.len());
    for (i, c) in config.fields.iter().enumerate() {
        match fields.iter().position(|f| f.name == c.field) {
            Some(at) => {
                if let Some(t) = c.data_type {
                    fields[at].data_type = t;
                }
                targets.push((at, fields[at].data_type));
            }
            None => {
                let t = c.data_type.ok_or(i)?;
                fields.push(Field::new(c.field.clone(), t));
                targets.push((fields.len() - 1, t));
            }
        }
    }
    Ok(Layout { output: Arc::new(Schema::new(fields)), targets })
}

fn new_field_needs_type(config: &ComputeConfig, i: usize) -> ConfigProblem {
    ConfigProblem::new(
        format!("fields/{i}/type"),
        format!("'{}' is a new field, so its type must be given", config.fields[i].field),
    )
    .hint("pick a type (string, int, float, decimal, bool, date, datetime, json); the value is converted to it")
}

pub struct Compute;

impl NodeKind for Compute {
    type Config = ComputeConfig;

    fn meta(&self) -> NodeMeta {
        NodeMeta {
            kind: "compute",
            category: Category::Transform,
            title: "Compute fields",
            description: "Sets fields from Rhai expressions, in order (a later one sees earlier results): derive, replace or add fields.",
            keywords: &["calculate", "derive", "formula", "expression", "add field", "set", "rhai"],
            icon: "function",
        }
    }

    fn static_ports(&self) -> Ports {
        Ports {
            inputs: vec![PortSpec::input("in", "rows to compute on")],
            outputs: vec![
                PortSpec::output("out", "rows with the computed fields"),
                PortSpec::output(ERROR_PORT, "rows where an expression failed or its value did not fit the type, with the error"),
            ],
        }
    }

    fn check(&self, config: &Self::Config, _ctx: &NodeContext, inputs: &PortSchemas) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if config.fields.is_empty() {
            problems.push(ConfigProblem::new("fields", "no field to compute").hint("add a field name and an expression"));
        }
        let input = inputs.get("in");
        // Names known so far, for the `row.x` check: input fields, then each computed field.
        let mut known: Option<Vec<String>> = input.map(|s| s.names().map(str::to_string).collect());
        for (i, c) in config.fields.iter().enumerate() {
            if c.field.trim().is_empty() {
                problems.push(ConfigProblem::new(format!("fields/{i}/field"), "the field name is empty"));
            }
            if let Err(e) = CompiledExpr::check(&c.expression) {
                problems.push(
                    ConfigProblem::new(format!("fields/{i}/expression"), format!("the expression for '{}' does not compile: {e}", c.field))
                        .hint("write a Rhai expression that gives the value, e.g. handle_seconds / 60"),
                );
            }
            if let Some(names) = &mut known {
                for m in ScriptText::new(&c.expression).row_fields() {
                    if !names.contains(&m.name) {
                        let mut p = ConfigProblem::new(
                            format!("fields/{i}/expression"),
                            format!("the expression reads row.{}, but there is no field '{}' at this point{}", m.name, m.name, m.place()),
                        );
                        if let Some(s) = did_you_mean(&m.name, names.iter().map(String::as_str)) {
                            p = p.hint(format!("did you mean '{s}'?"));
                        }
                        problems.push(p);
                    }
                }
                if !names.contains(&c.field) {
                    if c.data_type.is_none() {
                        problems.push(new_field_needs_type(config, i));
                    }
                    names.push(c.field.clone());
                }
            }
        }
        problems
    }

    fn output_schemas(&self, config: &Self::Config, _ctx: &NodeContext, inputs: &PortSchemas) -> Result<PortSchemas, ConfigProblem> {
        // A new field without a type is reported by `check`; then the output is unknown.
        Ok(inputs
            .get("in")
            .and_then(|s| layout(config, s).ok())
            .map(|l| PortSchemas::from([("out".into(), l.output)]))
            .unwrap_or_default())
    }

    fn build(&self, config: Self::Config, _ctx: &NodeContext) -> Result<NodeTask, ConfigProblem> {
        for (i, c) in config.fields.iter().enumerate() {
            CompiledExpr::check(&c.expression).map_err(|e| ConfigProblem::new(format!("fields/{i}/expression"), e.to_string()))?;
        }
        Ok(NodeTask::Blocking(Box::new(ComputeTask { config })))
    }
}

struct ComputeTask {
    config: ComputeConfig,
}

/// Everything needed to compute rows of one input schema.
struct Prepared {
    input: SchemaRef,
    output: SchemaRef,
    /// Per computed field: the expression bound to the output schema, target index, type.
    steps: Vec<(CompiledExpr, usize, DataType)>,
}

impl ComputeTask {
    fn prepare(&self, input: &SchemaRef, before: Option<&Prepared>) -> Result<Prepared, NodeError> {
        let l = layout(&self.config, input).map_err(|i| {
            let p = new_field_needs_type(&self.config, i);
            NodeError::msg(format!("{} ({})", p.message, p.hint.unwrap_or_default())).with_field(p.field)
        })?;
        let mut steps = Vec::with_capacity(l.targets.len());
        for (i, (c, (at, ty))) in self.config.fields.iter().zip(l.targets).enumerate() {
            let expr = match before {
                Some(p) => p.steps[i].0.rebind(&l.output),
                None => CompiledExpr::compile(&c.expression, &l.output)
                    .map_err(|e| NodeError::msg(format!("the expression for '{}' does not compile: {e}", c.field)).with_field(format!("fields/{i}/expression")))?,
            };
            steps.push((expr, at, ty));
        }
        Ok(Prepared { input: input.clone(), output: l.output, steps })
    }

    /// Computes one row; on failure the row goes back as it came in.
    fn compute_row(&self, p: &Prepared, scope: &mut rhai::Scope<'static>, mut row: Row) -> Result<Row, RowError> {
        let width = row.len();
        row.resize(p.output.len(), Value::Null);
        // Input values that a step replaced, to restore the original row for the error port.
        let mut replaced: Vec<(usize, Value)> = Vec::new();
        for (i, (expr, at, ty)) in p.steps.iter().enumerate() {
            let name = &self.config.fields[i].field;
            let value = expr.eval(&p.output, &row, scope).map_err(|e| format!("compute '{name}': {e}")).and_then(|d| {
                dynamic_to_value(d, Some(*ty)).map_err(|e| {
                    format!("compute '{name}': the value does not fit the field's type {ty}: {e}; convert it in the expression or change the type")
                })
            });
            match value {
                Ok(v) => {
                    let old = std::mem::replace(&mut row[*at], v);
                    if *at < width && !replaced.iter().any(|(j, _)| j == at) {
                        replaced.push((*at, old));
                    }
                }
                Err(message) => {
                    for (j, v) in replaced {
                        row[j] = v;
                    }
                    row.truncate(width);
                    return Err(RowError::new(message, row).field(name.clone()));
                }
            }
        }
        Ok(row)
    }
}

impl BlockingNode for ComputeTask {
    fn run(self: Box<Self>, io: &mut NodeIo) -> Result<(), NodeError> {
        let mut prepared: Option<Prepared> = None;
        let mut scope = rhai::Scope::new();
        while let Some(batch) = io.recv("in")? {
            if !prepared.as_ref().is_some_and(|p| Arc::ptr_eq(&p.input, &batch.schema)) {
                prepared = Some(self.prepare(&batch.schema, prepared.as_ref())?);
            }
            let p = prepared.as_ref().expect("prepared above");
            let results = map_in_order(batch.rows, true, &mut scope, rhai::Scope::new, |scope, row| self.compute_row(p, scope, row));
            let mut rows = Vec::with_capacity(results.len());
            let mut errors = Vec::new();
            for r in results {
                match r {
                    Ok(row) => rows.push(row),
                    Err(e) => errors.push(e),
                }
            }
            io.send("out", Batch::new(p.output.clone(), rows))?;
            io.send_errors(&batch.schema, errors)?;
        }
        Ok(())
    }
}

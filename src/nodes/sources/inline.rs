//! `inline_rows`: rows typed into the flow itself, for demos, tests and small lookup lists.

use crate::exec::{BlockingNode, NodeError, NodeIo};
use crate::nodes::{Category, ConfigProblem, NodeContext, NodeKind, NodeMeta, NodeTask, PortSchemas};
use crate::value::{Batch, DataType, Field, Row, Schema, SchemaRef, Value};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Rows written in the flow file.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InlineRowsConfig {
    /// Fields in order, with their types. When empty, the fields are the keys of the rows in
    /// the order first seen, typed from their JSON values.
    #[serde(default)]
    pub fields: Vec<Field>,
    /// The rows, each an object of field name → value. Missing fields are null. Dates and
    /// date-times are written as text and read by the field's type.
    #[serde(default)]
    pub rows: Vec<serde_json::Map<String, serde_json::Value>>,
}

pub struct InlineRows;

impl InlineRowsConfig {
    fn schema(&self) -> SchemaRef {
        if !self.fields.is_empty() {
            return Arc::new(Schema::new(self.fields.clone()));
        }
        let mut fields: Vec<Field> = Vec::new();
        for row in &self.rows {
            for (k, v) in row {
                let ty = match Value::from_json(v).data_type() {
                    Some(t) => t,
                    None => continue,
                };
                match fields.iter_mut().find(|f| &f.name == k) {
                    Some(f) if f.data_type != ty => f.data_type = crate::value::widen(f.data_type, ty),
                    Some(_) => {}
                    None => fields.push(Field::new(k.clone(), ty)),
                }
            }
            for k in row.keys() {
                if !fields.iter().any(|f| &f.name == k) {
                    fields.push(Field::new(k.clone(), DataType::String));
                }
            }
        }
        Arc::new(Schema::new(fields))
    }

    /// Converts the rows, listing every value that does not fit its field's type.
    fn typed_rows(&self, schema: &Schema) -> Result<Vec<Row>, Vec<ConfigProblem>> {
        let mut problems = Vec::new();
        let mut rows = Vec::with_capacity(self.rows.len());
        for (i, obj) in self.rows.iter().enumerate() {
            for k in obj.keys() {
                if schema.index_of(k).is_none() {
                    problems.push(ConfigProblem::new(format!("rows/{i}/{k}"), format!("'{k}' is not one of the declared fields")));
                }
            }
            let row: Row = schema
                .fields()
                .iter()
                .map(|f| match obj.get(&f.name) {
                    None => Value::Null,
                    Some(v) => Value::from_json_as(v, f.data_type).unwrap_or_else(|e| {
                        problems.push(ConfigProblem::new(format!("rows/{i}/{}", f.name), e.to_string()));
                        Value::Null
                    }),
                })
                .collect();
            rows.push(row);
        }
        if problems.is_empty() {
            Ok(rows)
        } else {
            Err(problems)
        }
    }
}

impl NodeKind for InlineRows {
    type Config = InlineRowsConfig;

    fn meta(&self) -> NodeMeta {
        NodeMeta {
            kind: "inline_rows",
            category: Category::Source,
            title: "Inline rows",
            description: "Rows typed into the flow itself: for demos, tests and small fixed lists.",
            keywords: &["table", "constant", "manual", "test data"],
            icon: "table",
        }
    }

    fn check(&self, config: &Self::Config, _ctx: &NodeContext, _inputs: &PortSchemas) -> Vec<ConfigProblem> {
        config.typed_rows(&config.schema()).err().unwrap_or_default()
    }

    fn output_schemas(&self, config: &Self::Config, _ctx: &NodeContext, _inputs: &PortSchemas) -> Result<PortSchemas, ConfigProblem> {
        Ok(PortSchemas::from([("out".to_string(), config.schema())]))
    }

    fn build(&self, config: Self::Config, _ctx: &NodeContext) -> Result<NodeTask, ConfigProblem> {
        let schema = config.schema();
        let rows = config.typed_rows(&schema).map_err(|mut p| p.remove(0))?;
        Ok(NodeTask::Blocking(Box::new(InlineRowsTask { schema, rows })))
    }
}

struct InlineRowsTask {
    schema: SchemaRef,
    rows: Vec<Row>,
}

impl BlockingNode for InlineRowsTask {
    fn run(self: Box<Self>, io: &mut NodeIo) -> Result<(), NodeError> {
        let size = io.batch_size();
        let mut rows = self.rows.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<Row> = rows.by_ref().take(size).collect();
            io.send("out", Batch::new(self.schema.clone(), chunk))?;
        }
        Ok(())
    }
}

//! `filter`: keeps the rows for which a condition is true.

use crate::exec::{BlockingNode, NodeError, NodeIo, RowError};
use crate::nodes::{Category, ConfigProblem, NodeContext, NodeKind, NodeMeta, NodeTask, PortSchemas, PortSpec, Ports, ERROR_PORT};
use crate::script::CompiledExpr;
use crate::value::{Batch, Schema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Keeps rows whose condition is true. Rows where it is false or null leave by `rejected`
/// (when wired) or are dropped; rows where it fails leave by `error`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FilterConfig {
    /// A Rhai expression over the row's fields, e.g.
    /// `priority == "urgent" || (satisfaction != () && satisfaction <= 2)`.
    /// A null field is `()`. The whole row is also available as the map `row`
    /// (`row["first name"]` for names with spaces).
    #[schemars(extend("x-editor" = "rhai-expression"))]
    pub condition: String,
}

pub struct Filter;

impl NodeKind for Filter {
    type Config = FilterConfig;

    fn meta(&self) -> NodeMeta {
        NodeMeta {
            kind: "filter",
            category: Category::Transform,
            title: "Filter rows",
            description: "Keeps the rows for which a condition is true; the others can leave by the `rejected` output.",
            keywords: &["where", "condition", "keep", "drop", "if"],
            icon: "filter",
        }
    }

    fn static_ports(&self) -> Ports {
        Ports {
            inputs: vec![PortSpec::input("in", "rows to test")],
            outputs: vec![
                PortSpec::output("out", "rows for which the condition is true"),
                PortSpec::output("rejected", "rows for which it is false or null"),
                PortSpec::output(ERROR_PORT, "rows where the condition failed, with the error"),
            ],
        }
    }

    fn check(&self, config: &Self::Config, _ctx: &NodeContext, _inputs: &PortSchemas) -> Vec<ConfigProblem> {
        match CompiledExpr::check(&config.condition) {
            Ok(()) => vec![],
            Err(e) => vec![ConfigProblem::new("condition", format!("the condition does not compile: {e}"))
                .hint("write a Rhai expression that gives true or false, e.g. priority == \"urgent\"")],
        }
    }

    fn output_schemas(&self, _config: &Self::Config, _ctx: &NodeContext, inputs: &PortSchemas) -> Result<PortSchemas, ConfigProblem> {
        Ok(inputs.get("in").map(|s| PortSchemas::from([("out".into(), s.clone()), ("rejected".into(), s.clone())])).unwrap_or_default())
    }

    fn build(&self, config: Self::Config, _ctx: &NodeContext) -> Result<NodeTask, ConfigProblem> {
        CompiledExpr::check(&config.condition).map_err(|e| ConfigProblem::new("condition", e.to_string()))?;
        Ok(NodeTask::Blocking(Box::new(FilterTask { condition: config.condition })))
    }
}

struct FilterTask {
    condition: String,
}

impl BlockingNode for FilterTask {
    fn run(self: Box<Self>, io: &mut NodeIo) -> Result<(), NodeError> {
        let mut compiled: Option<(Arc<Schema>, CompiledExpr)> = None;
        let mut scope = rhai::Scope::new();
        let want_rejected = io.is_output_open("rejected");
        while let Some(batch) = io.recv("in")? {
            let expr = match &compiled {
                Some((s, e)) if Arc::ptr_eq(s, &batch.schema) => e,
                _ => {
                    let e = match &compiled {
                        Some((_, e)) => e.rebind(&batch.schema),
                        None => CompiledExpr::compile(&self.condition, &batch.schema).map_err(|e| NodeError::msg(e.to_string()).with_field("condition"))?,
                    };
                    compiled = Some((batch.schema.clone(), e));
                    &compiled.as_ref().unwrap().1
                }
            };
            let schema = batch.schema.clone();
            let mut kept = Vec::with_capacity(batch.len());
            let mut rejected = Vec::new();
            let mut errors = Vec::new();
            for row in batch.rows {
                match expr.eval_bool(&schema, &row, &mut scope) {
                    Ok(true) => kept.push(row),
                    Ok(false) => {
                        if want_rejected {
                            rejected.push(row)
                        }
                    }
                    Err(e) => errors.push(RowError::new(format!("condition: {e}"), row).field("condition")),
                }
            }
            io.send("out", Batch::new(schema.clone(), kept))?;
            if want_rejected {
                io.send("rejected", Batch::new(schema.clone(), rejected))?;
            }
            io.send_errors(&schema, errors)?;
        }
        Ok(())
    }
}

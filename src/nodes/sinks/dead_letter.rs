//! `dead_letter`: keeps failed rows durably in the local state file, with their error, the
//! node that failed them, the run and the time, so they can be replayed through that node
//! once its target is back (`sluice dlq replay`) — the "buffer while the CRM is down,
//! resend after" of integration work. Wire another node's `error` output into it.
//!
//! Rows are stored as they arrive, as pending rows of the run; they count as kept only when
//! the run succeeds (see [`crate::state`]'s dead-letter table for why), and that flip is
//! ordered with the run's other commits like a SQL sink's transaction, so a source's
//! watermark never moves past rows whose dead letters were not kept.

use crate::connectors::sql::finish::{self, RunToken};
use crate::exec::{AsyncNode, LogLevel, NodeError, NodeIo, ERROR_FIELDS};
use crate::nodes::{Category, ConfigProblem, NodeContext, NodeKind, NodeMeta, NodeTask, PortSchemas, PortSpec, Ports};
use crate::state::{NewDeadLetter, StateStore};
use crate::value::{Batch, Field, Value};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};

/// Keeps the failed rows it receives until they are replayed or purged.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeadLetterConfig {
    /// Refuse to keep more than this many rows in one run: the run fails instead, so a
    /// target that is down for good does not fill the disk unnoticed. Unlimited when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_rows_per_run: Option<u64>,
}

pub struct DeadLetterSink;

impl NodeKind for DeadLetterSink {
    type Config = DeadLetterConfig;

    fn meta(&self) -> NodeMeta {
        NodeMeta {
            kind: "dead_letter",
            category: Category::Sink,
            title: "Dead letters",
            description: "Keeps failed rows (wire an error output here) in the local state file with their error, node, run and time, to replay them through that node once its target is back: `sluice dlq list|show|replay|purge`.",
            keywords: &["dlq", "dead letter", "error", "failed rows", "retry", "replay", "quarantine"],
            icon: "inbox",
        }
    }

    fn static_ports(&self) -> Ports {
        Ports { inputs: vec![PortSpec::input("in", "failed rows, from a node's error output")], outputs: vec![] }
    }

    fn check(&self, _config: &Self::Config, _ctx: &NodeContext, inputs: &PortSchemas) -> Vec<ConfigProblem> {
        match inputs.get("in") {
            Some(schema) if schema.index_of("_error_node").is_none() || schema.index_of("_error_message").is_none() => {
                vec![ConfigProblem::new("", "the rows arriving here carry no error (no _error_node / _error_message fields)")
                    .hint("wire the error output of the node whose failed rows should be kept, not a normal output")]
            }
            _ => Vec::new(),
        }
    }

    fn build(&self, config: Self::Config, ctx: &NodeContext) -> Result<NodeTask, ConfigProblem> {
        Ok(NodeTask::Async(Box::new(DeadLetterTask { config, flow_key: crate::state::flow_key(&ctx.base_dir) })))
    }
}

struct DeadLetterTask {
    config: DeadLetterConfig,
    flow_key: String,
}

/// Where the error fields sit in an error row, and which fields are the original row's.
struct Layout {
    original: Vec<(usize, Field)>,
    node: usize,
    message: usize,
    field: Option<usize>,
    line: Option<usize>,
}

impl Layout {
    fn of(batch: &Batch) -> Result<Layout, NodeError> {
        let schema = &batch.schema;
        let find = |name: &str| schema.index_of(name);
        let (Some(node), Some(message)) = (find("_error_node"), find("_error_message")) else {
            return Err(NodeError::msg(
                "the rows arriving carry no error (no _error_node / _error_message fields): wire the error output of the node whose failed rows should be kept",
            ));
        };
        let error_names: Vec<&str> = ERROR_FIELDS.iter().map(|(n, _)| *n).collect();
        let original = schema.fields().iter().cloned().enumerate().filter(|(_, f)| !error_names.contains(&f.name.as_str())).collect();
        Ok(Layout { original, node, message, field: find("_error_field"), line: find("_error_line") })
    }
}

fn text(v: &Value) -> Option<String> {
    v.to_text().filter(|s| !s.is_empty())
}

#[async_trait::async_trait]
impl AsyncNode for DeadLetterTask {
    async fn run(self: Box<Self>, io: &mut NodeIo) -> Result<(), NodeError> {
        let store = StateStore::open_default().await.map_err(|e| NodeError::msg(format!("cannot open the state file for dead letters: {e}")))?;
        let run_id = io.run_id().to_string();
        // Registered before the first row is stored, so a failure anywhere removes them.
        let token = RunToken::of(io);
        finish::expect_commit(&token);
        let handle = tokio::runtime::Handle::current();
        let slot = Arc::new(Mutex::new(Some(store.clone())));
        {
            let (slot, token, handle, run_id) = (slot.clone(), token.clone(), handle.clone(), run_id.clone());
            io.on_success(move || {
                let Some(store) = slot.lock().unwrap_or_else(|p| p.into_inner()).take() else { return Ok(()) };
                let kept = handle.block_on(async {
                    let r = store.keep_dead_letters(&run_id).await;
                    store.close().await;
                    r
                });
                match kept {
                    Ok(_) => finish::commit_finished(&token, true),
                    Err(e) => {
                        let _ = finish::commit_finished(&token, false);
                        Err(format!("the dead letters of this run could not be kept: {e}"))
                    }
                }
            });
        }
        {
            let (slot, run_id) = (slot.clone(), run_id.clone());
            io.on_failure(move || {
                if let Some(store) = slot.lock().unwrap_or_else(|p| p.into_inner()).take() {
                    handle.block_on(async {
                        if let Err(e) = store.drop_pending_dead_letters(&run_id).await {
                            tracing::warn!(run_id = %run_id, error = %e, "pending dead letters of a failed run were not removed; `sluice dlq purge` removes them");
                        }
                        store.close().await;
                    });
                }
                finish::discard(&token);
            });
        }

        let mut total = 0u64;
        while let Some(batch) = io.recv_async("in").await? {
            if batch.is_empty() {
                continue;
            }
            let layout = Layout::of(&batch)?;
            total += batch.len() as u64;
            if let Some(max) = self.config.max_rows_per_run {
                if total > max {
                    return Err(NodeError::msg(format!(
                        "more than {max} failed rows reached this node in one run (max_rows_per_run); the run stops so the target's problem is looked at. Raise the limit or fix the target"
                    ))
                    .with_field("max_rows_per_run"));
                }
            }
            let fields: Vec<Field> = layout.original.iter().map(|(_, f)| f.clone()).collect();
            let rows: Vec<NewDeadLetter> = batch
                .rows
                .iter()
                .map(|row| NewDeadLetter {
                    failed_node: text(&row[layout.node]).unwrap_or_default(),
                    message: text(&row[layout.message]).unwrap_or_default(),
                    field: layout.field.and_then(|i| text(&row[i])),
                    line: layout.line.and_then(|i| match row[i] {
                        Value::Int(l) if l >= 0 => Some(l as u64),
                        _ => None,
                    }),
                    row: layout.original.iter().map(|(i, f)| (f.name.clone(), row[*i].to_json())).collect(),
                })
                .collect();
            store
                .add_dead_letters(&self.flow_key, io.node_id(), &run_id, &fields, &rows)
                .await
                .map_err(|e| NodeError::msg(format!("cannot store dead letters: {e}")))?;
        }
        io.log(LogLevel::Info, format!("{total} failed rows kept as dead letters; `sluice dlq show` lists them"));
        Ok(())
    }
}

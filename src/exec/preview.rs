//! Preview: the first rows leaving a node, without running the whole flow. Runs only the
//! node and what feeds it (no sinks, no other branches), and stops as soon as it has the
//! rows it needs — sources stop reading early.

use super::{start_run, RunOptions, RunStatus, RunSummary, Tap};
use crate::nodes::{Category, ERROR_PORT};
use crate::plan::Plan;
use crate::value::{Row, SchemaRef};

/// Rows captured from one node.
#[derive(Debug, Clone)]
pub struct PreviewResult {
    pub node_id: String,
    /// Port the rows were taken from (`out`, or `in` for a sink: what reaches it).
    pub port: String,
    pub schema: Option<SchemaRef>,
    pub rows: Vec<Row>,
    /// Failed rows seen on the way, with their error fields.
    pub error_schema: Option<SchemaRef>,
    pub error_rows: Vec<Row>,
    /// Whether more rows were available than were taken.
    pub truncated: bool,
    pub summary: RunSummary,
}

/// Previews `rows` rows of `node_id`. For a sink, previews what arrives at it.
pub async fn preview(plan: Plan, node_id: &str, rows: usize) -> Result<PreviewResult, String> {
    let Some(node) = plan.node(node_id) else {
        return Err(format!("the flow has no node '{node_id}'"));
    };
    // A sink writes; previewing it means looking at the rows that reach it.
    let (target, port) = if node.category == Category::Sink {
        let Some(e) = plan.edges.iter().find(|e| e.to == node_id) else {
            return Err(format!("node '{node_id}' has no input connected, so no rows reach it"));
        };
        (e.from.clone(), e.from_port.clone())
    } else {
        (node_id.to_string(), "out".to_string())
    };
    let has_error_port = plan.node(&target).is_some_and(|n| n.ports.output(ERROR_PORT).is_some());
    let mut plan = plan.upstream_of(&target);
    // Failed rows are shown, not fatal, in a preview.
    for n in plan.nodes.iter_mut() {
        n.error_policy.mode = crate::flow::ErrorMode::Continue;
        n.error_policy.max_errors = None;
        n.error_policy.max_error_percent = None;
    }
    let mut taps = vec![Tap { node_id: target.clone(), port: port.clone(), max_rows: rows, stop_when_full: true }];
    if has_error_port && port != ERROR_PORT {
        taps.push(Tap { node_id: target.clone(), port: ERROR_PORT.into(), max_rows: rows, stop_when_full: false });
    }
    // A preview never commits: no file moves into place, no watermark advances, even when
    // the input was small enough to be read to its end.
    let handle = start_run(plan, RunOptions { taps, commit: false, ..RunOptions::default() });
    let captures = handle.taps.clone();
    let summary = handle.wait().await;
    if summary.status == RunStatus::Failed {
        return Err(summary.error.clone().unwrap_or_else(|| "the preview run failed".into()));
    }
    let out = captures[0].lock().unwrap().clone();
    let err = captures.get(1).map(|c| c.lock().unwrap().clone()).unwrap_or_default();
    Ok(PreviewResult {
        node_id: node_id.to_string(),
        port,
        schema: out.schema,
        rows: out.rows,
        error_schema: err.schema,
        error_rows: err.rows,
        truncated: out.truncated,
        summary,
    })
}

//! Helpers shared by integration tests: run a flow given as JSON text and capture what
//! leaves a node's port.
#![allow(dead_code)]

use sluice::exec::{start_run, RunOptions, RunSummary, Tap};
use sluice::flow::parse_flow_text;
use sluice::plan::plan_flow;
use sluice::value::{Batch, Row, SchemaRef};
use std::collections::BTreeMap;
use std::path::Path;

/// Rows captured from one port.
#[derive(Debug, Clone, Default)]
pub struct Captured {
    pub schema: Option<SchemaRef>,
    pub rows: Vec<Row>,
}

impl Captured {
    /// Rows as JSON objects (field → value), easy to compare with `json!`.
    pub fn json(&self) -> Vec<serde_json::Value> {
        match &self.schema {
            Some(s) => self.rows.iter().map(|r| Batch::row_to_json(s, r)).collect(),
            None => vec![],
        }
    }
    pub fn field_names(&self) -> Vec<String> {
        self.schema.as_ref().map(|s| s.names().map(str::to_string).collect()).unwrap_or_default()
    }
}

/// Plans and runs `flow_json` (with relative paths resolved against `base`), capturing up
/// to 100,000 rows from each `(node, port)` in `taps`. Panics with the diagnostics if the
/// flow does not plan.
pub async fn run_capture(flow_json: &str, base: &Path, taps: &[(&str, &str)]) -> (RunSummary, Vec<Captured>) {
    run_capture_with(flow_json, base, taps, &BTreeMap::new()).await
}

pub async fn run_capture_with(
    flow_json: &str,
    base: &Path,
    taps: &[(&str, &str)],
    params: &BTreeMap<String, String>,
) -> (RunSummary, Vec<Captured>) {
    let flow = parse_flow_text(flow_json).unwrap_or_else(|d| panic!("flow does not parse:\n{d}"));
    let plan = plan_flow(&flow, base, params).unwrap_or_else(|d| panic!("flow does not plan:\n{d}"));
    let taps: Vec<Tap> = taps
        .iter()
        .map(|(n, p)| Tap { node_id: n.to_string(), port: p.to_string(), max_rows: 100_000, stop_when_full: false })
        .collect();
    let handle = start_run(plan, RunOptions { taps, ..RunOptions::default() });
    let captures = handle.taps.clone();
    let summary = handle.wait().await;
    let out = captures
        .iter()
        .map(|c| {
            let c = c.lock().unwrap();
            Captured { schema: c.schema.clone(), rows: c.rows.clone() }
        })
        .collect();
    (summary, out)
}

/// The diagnostics of a flow that must not plan, as one text.
pub fn plan_errors(flow_json: &str, base: &Path) -> String {
    let flow = match parse_flow_text(flow_json) {
        Ok(f) => f,
        Err(d) => return d.to_string(),
    };
    match plan_flow(&flow, base, &BTreeMap::new()) {
        Ok(_) => panic!("the flow planned, but errors were expected"),
        Err(d) => d.to_string(),
    }
}

/// A flow `src` (inline rows with `fields`) → `node` (the kind under test) → `sink` (log).
pub fn flow(fields: serde_json::Value, rows: serde_json::Value, kind: &str, config: serde_json::Value) -> String {
    serde_json::json!({
        "version": 1,
        "name": "test",
        "nodes": [
            {"id": "src", "kind": "inline_rows", "config": {"fields": fields, "rows": rows}},
            {"id": "node", "kind": kind, "config": config},
            {"id": "sink", "kind": "log", "config": {}}
        ],
        "edges": [
            {"from": "src", "from_port": "out", "to": "node", "to_port": "in"},
            {"from": "node", "from_port": "out", "to": "sink", "to_port": "in"}
        ]
    })
    .to_string()
}

/// Runs a [`flow`], asserts it succeeded, and returns what left `node` by each port.
pub async fn run(flow: &str, ports: &[&str]) -> Vec<Captured> {
    let taps: Vec<(&str, &str)> = ports.iter().map(|p| ("node", *p)).collect();
    let (summary, captured) = run_capture(flow, Path::new("."), &taps).await;
    assert_eq!(summary.status, sluice::exec::RunStatus::Succeeded, "{:?}", summary.error);
    captured
}

/// One field's values across the captured rows.
pub fn column(c: &Captured, field: &str) -> Vec<serde_json::Value> {
    c.json().iter().map(|r| r[field].clone()).collect()
}

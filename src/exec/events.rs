//! Run events: what a running flow tells the CLI now and the designer later. Serialised as
//! tagged JSON objects (`{"type": "metrics", ...}`) for `--events ndjson`.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum NodeState {
    Waiting,
    Running,
    Done,
    Failed,
    Stopped,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Succeeded,
    Failed,
    Cancelled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

/// Counters of one node at one moment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct NodeMetricsSnapshot {
    pub node_id: String,
    pub state: Option<NodeState>,
    #[ts(type = "number")]
    pub rows_in: u64,
    #[ts(type = "number")]
    pub rows_out: u64,
    #[ts(type = "number")]
    pub rows_error: u64,
    /// Failed rows that no wired `error` output took (dropped under the `continue` policy).
    #[ts(type = "number")]
    pub rows_error_unhandled: u64,
    #[ts(type = "number")]
    pub batches_in: u64,
    #[ts(type = "number")]
    pub batches_out: u64,
    /// Bytes read (sources) or written (sinks).
    #[ts(type = "number")]
    pub bytes: u64,
    /// Time spent working, not waiting on neighbours.
    #[ts(type = "number")]
    pub busy_ms: u64,
    /// Rows out (or in, for sinks) per second since the node started.
    pub rows_per_sec: f64,
    /// Bytes of the input known up front (file size), for a progress bar.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, as = "Option<f64>")]
    pub total_bytes: Option<u64>,
}

/// Rows that crossed one edge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct EdgeMetrics {
    pub from: String,
    pub from_port: String,
    pub to: String,
    pub to_port: String,
    #[ts(type = "number")]
    pub rows: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RunEvent {
    RunStarted {
        run_id: String,
        flow: String,
        started_at: String,
        nodes: Vec<String>,
    },
    NodeState {
        node_id: String,
        state: NodeState,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        error: Option<String>,
    },
    Metrics {
        elapsed_ms: u64,
        nodes: Vec<NodeMetricsSnapshot>,
        edges: Vec<EdgeMetrics>,
    },
    /// A failed row (only the first few per node are sent; all are counted).
    RowError {
        node_id: String,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        field: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional, as = "Option<f64>")]
        line: Option<u64>,
        /// Whether a wired `error` output took the row.
        handled: bool,
    },
    Log {
        level: LogLevel,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        node_id: Option<String>,
        message: String,
    },
    RunFinished {
        summary: RunSummary,
    },
}

/// The end-of-run report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct RunSummary {
    pub run_id: String,
    pub flow: String,
    pub status: RunStatus,
    pub started_at: String,
    pub finished_at: String,
    #[ts(type = "number")]
    pub duration_ms: u64,
    /// Why the run failed, naming the node (and line or field) where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub failed_node: Option<String>,
    pub nodes: Vec<NodeMetricsSnapshot>,
    pub edges: Vec<EdgeMetrics>,
}

impl RunSummary {
    pub fn node(&self, id: &str) -> Option<&NodeMetricsSnapshot> {
        self.nodes.iter().find(|n| n.node_id == id)
    }
}

//! The app-service boundary: every request the designer can make and every answer it gets,
//! as plain serialisable data. The Tauri commands and the HTTP API of `sluice serve` carry
//! these types unchanged; `ui/src/api/generated/` holds their TypeScript twins (ts-rs),
//! and a test fails when those files are stale.
//!
//! Each `Request` variant has a `Response` variant of the same name (`op` tag), so the
//! TypeScript client can type `call({op: "catalog"})` as returning `{op: "catalog", ...}`.

use crate::exec::{NodeMetricsSnapshot, NodeState, RunEvent, RunStatus, RunSummary};
use crate::flow::{Diagnostic, FlowFile};
use crate::nodes::{Category, Ports};
use crate::value::Field;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use ts_rs::TS;

/// A flow document as the designer holds it. Sent as loose JSON so that a half-edited flow
/// (a missing name, a config of the wrong shape) comes back as diagnostics, not as a
/// transport error; typed as `FlowFile` on the TypeScript side.
pub type FlowJson = serde_json::Value;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Version, working folder, home folder, platform.
    Info,
    /// Every node kind with its ports and config schema (the palette and the property forms).
    Catalog,
    /// Reads a flow file. Answers with the parsed flow, its exact text and its diagnostics.
    OpenFlow { path: String },
    /// Writes the flow in canonical form (byte-identical when nothing changed) and adds it to
    /// the recent files.
    SaveFlow {
        path: String,
        #[ts(as = "FlowFile")]
        flow: FlowJson,
    },
    /// The canonical text of a flow without writing it (dirty checks, "copy as JSON").
    FormatFlow {
        #[ts(as = "FlowFile")]
        flow: FlowJson,
    },
    /// Checks a flow as the planner would: diagnostics, and per node its ports (which may
    /// depend on its config) and the fields at each port (the forms' field pickers).
    /// `path` is where the flow is (or will be) saved; relative paths resolve against it.
    CheckFlow {
        #[ts(as = "FlowFile")]
        flow: FlowJson,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        path: Option<String>,
        #[serde(default)]
        #[ts(optional, as = "Option<BTreeMap<String, String>>")]
        params: BTreeMap<String, String>,
    },
    /// Starts a run; its events arrive on the event stream tagged with the run id.
    StartRun {
        #[ts(as = "FlowFile")]
        flow: FlowJson,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        path: Option<String>,
        #[serde(default)]
        #[ts(optional, as = "Option<BTreeMap<String, String>>")]
        params: BTreeMap<String, String>,
    },
    /// Asks a run to stop; targets are left untouched.
    StopRun { run_id: String },
    /// Runs in progress and the latest known state of each (a reloaded page reconnects).
    ActiveRuns,
    /// The first `rows` rows leaving a node, running only what feeds it; never commits.
    Preview {
        #[ts(as = "FlowFile")]
        flow: FlowJson,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        path: Option<String>,
        #[serde(default)]
        #[ts(optional, as = "Option<BTreeMap<String, String>>")]
        params: BTreeMap<String, String>,
        node_id: String,
        rows: u32,
    },
    /// Lists a folder for the browser-mode file dialog (the desktop uses native dialogs).
    /// Without `path`, the working folder. `extensions` filters files (`.flow.json`).
    ListDir {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        path: Option<String>,
        #[serde(default)]
        #[ts(optional, as = "Option<Vec<String>>")]
        extensions: Vec<String>,
    },
    /// Recently opened or saved flows, newest first.
    RecentFiles,
    /// Finished runs from the run history (the same as `sluice runs list`), newest first;
    /// only one flow file's runs when `flow_path` is given. `limit` defaults to 50, at most
    /// 1000 (what the history keeps).
    ListRuns {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        flow_path: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        limit: Option<u32>,
    },
    /// One run of the history: params, counts per node, the error. A unique prefix of the
    /// run id is enough, as with `sluice runs show`.
    GetRun { run_id: String },
    /// The failed rows a run kept (its dead letters), in the order they failed, with their
    /// errors; one node's when `node_id` is given. Pages of `limit` (default 1000, at most
    /// 10,000) from `offset`.
    RunErrorRows {
        run_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        node_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        limit: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        offset: Option<u32>,
    },
    /// Writes a run's kept failed rows (one node's when `node_id` is given) to a file, as
    /// `sluice runs errors --format csv|json` prints them. Replaces an existing file, as
    /// saving a flow does.
    ExportRunErrors {
        run_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        node_id: Option<String>,
        format: ExportFormat,
        path: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Response {
    Info {
        version: String,
        /// Folder relative paths resolve against (where `sluice serve` or the app started).
        work_dir: String,
        home_dir: String,
        /// `desktop` or `browser`.
        mode: String,
        platform: String,
        /// Path separator of the machine the engine runs on.
        separator: String,
        /// A flow named on the command line (`sluice serve FLOW`, `sluice-desktop FLOW`),
        /// which the designer opens at start.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        open_on_start: Option<String>,
    },
    Catalog { kinds: Vec<CatalogKind> },
    OpenFlow {
        path: String,
        text: String,
        flow: FlowFile,
        diagnostics: Vec<Diagnostic>,
    },
    SaveFlow { path: String, text: String },
    FormatFlow { text: String },
    CheckFlow {
        diagnostics: Vec<Diagnostic>,
        nodes: BTreeMap<String, NodeDesign>,
    },
    StartRun { run_id: String },
    StopRun { run_id: String },
    ActiveRuns { runs: Vec<ActiveRun> },
    Preview(PreviewRows),
    ListDir {
        path: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        parent: Option<String>,
        entries: Vec<DirEntry>,
    },
    RecentFiles { files: Vec<RecentFile> },
    ListRuns { runs: Vec<HistoryRun> },
    GetRun { run: HistoryRunDetail },
    RunErrorRows(FailedRowsPage),
    /// `path` is absolute; `rows` is how many failed rows the file holds.
    ExportRunErrors {
        path: String,
        #[ts(type = "number")]
        rows: u64,
    },
}

/// A node kind as the palette and the property form see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct CatalogKind {
    pub kind: String,
    pub category: Category,
    pub title: String,
    pub description: String,
    pub keywords: Vec<String>,
    pub icon: String,
    /// Ports every node of the kind has; some kinds add ports named in their config.
    pub ports: Ports,
    /// JSON Schema (draft 2020-12) of the config, with UI hints: `x-editor`
    /// (`rhai-expression`, `rhai-script`, `sql`), `x-field` (field picker on that input
    /// port), `x-secret` (masked; must be `${env:…}`), `x-path` (`file` or `dir`: a path
    /// picker).
    #[ts(type = "Record<string, unknown>")]
    pub config_schema: serde_json::Value,
}

/// What the planner knows about one node at design time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct NodeDesign {
    /// Ports of this node as configured (route rules add output ports).
    pub ports: Ports,
    /// Fields arriving at each input port, where known.
    pub inputs: BTreeMap<String, Vec<Field>>,
    /// Fields leaving each output port, where known.
    pub outputs: BTreeMap<String, Vec<Field>>,
}

/// A run in progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ActiveRun {
    pub run_id: String,
    pub flow_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub path: Option<String>,
    pub started_at: String,
    pub node_states: BTreeMap<String, NodeState>,
    /// The latest metrics event, if one was sent yet.
    pub metrics: Vec<NodeMetricsSnapshot>,
}

/// Rows of a preview. Values are JSON: numbers, strings, booleans, null; decimals, dates and
/// date-times as strings; nested JSON as is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct PreviewRows {
    pub node_id: String,
    pub port: String,
    pub fields: Vec<Field>,
    #[ts(type = "Array<Array<unknown>>")]
    pub rows: Vec<Vec<serde_json::Value>>,
    /// Failed rows met on the way, with `_error_*` fields.
    pub error_fields: Vec<Field>,
    #[ts(type = "Array<Array<unknown>>")]
    pub error_rows: Vec<Vec<serde_json::Value>>,
    /// More rows were available than were taken.
    pub truncated: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct DirEntry {
    pub name: String,
    pub path: String,
    pub is_dir: bool,
    #[ts(type = "number")]
    pub size: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct RecentFile {
    pub path: String,
    pub name: String,
    /// RFC 3339 time it was last opened or saved.
    pub opened_at: String,
}

/// One finished run in the history list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct HistoryRun {
    pub run_id: String,
    pub flow_name: String,
    /// The flow file the run was started from (absolute); absent for a flow never saved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub flow_path: Option<String>,
    pub status: RunStatus,
    /// RFC 3339 times.
    pub started_at: String,
    pub finished_at: String,
    #[ts(type = "number")]
    pub duration_ms: u64,
    /// Rows the flow's sources produced (nodes no edge leads into), failed ones included.
    #[ts(type = "number")]
    pub rows_in: u64,
    /// Rows that reached the flow's ends (nodes no edge leaves: its sinks) by their regular
    /// inputs; failed rows routed to a dead-letter sink are not counted here.
    #[ts(type = "number")]
    pub rows_out: u64,
    /// Failed rows over all nodes.
    #[ts(type = "number")]
    pub rows_error: u64,
    /// Why the run failed, naming the node where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub error: Option<String>,
}

/// A run of the history in full.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct HistoryRunDetail {
    #[serde(flatten)]
    pub run: HistoryRun,
    /// The param values the run was given on top of the flow's defaults.
    pub params: BTreeMap<String, String>,
    /// The node the run failed in, if one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub failed_node: Option<String>,
    /// Per node, upstream first (the order the run was planned in).
    pub nodes: Vec<HistoryNode>,
    /// Failed rows kept over all nodes (`run_error_rows` gives them).
    #[ts(type = "number")]
    pub kept_error_rows: u64,
}

/// One node's counts in a finished run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct HistoryNode {
    pub node_id: String,
    /// The state the node ended in; absent when it never started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub state: Option<NodeState>,
    #[ts(type = "number")]
    pub rows_in: u64,
    #[ts(type = "number")]
    pub rows_out: u64,
    #[ts(type = "number")]
    pub rows_error: u64,
    /// Failed rows no wired `error` output took (dropped under the `continue` policy).
    #[ts(type = "number")]
    pub rows_error_unhandled: u64,
    #[ts(type = "number")]
    pub busy_ms: u64,
    /// Failed rows of this node the history kept, and how many more were only counted
    /// (beyond 10,000 per node).
    #[ts(type = "number")]
    pub kept_error_rows: u64,
    #[ts(type = "number")]
    pub not_kept_error_rows: u64,
    /// The run's error, on the node it failed in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub error: Option<String>,
}

/// A page of a run's kept failed rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct FailedRowsPage {
    /// The full run id (the request may give a prefix).
    pub run_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub node_id: Option<String>,
    /// Every field any of the rows has (not only this page's), in the order first seen:
    /// the table's columns.
    pub fields: Vec<String>,
    pub rows: Vec<FailedRow>,
    #[ts(type = "number")]
    pub offset: u64,
    /// Kept rows in all (for the node, when one is given).
    #[ts(type = "number")]
    pub total: u64,
    /// Failed rows beyond the per-node limit: counted, not kept.
    #[ts(type = "number")]
    pub not_kept: u64,
}

/// One kept failed row with its error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct FailedRow {
    pub node_id: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, as = "Option<f64>")]
    pub line: Option<u64>,
    /// The raw text of a line that could not be split into fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub raw: Option<String>,
    /// Whether a wired `error` output took the row (else the error policy dropped it).
    pub handled: bool,
    /// The row's fields as they reached the node: JSON values (decimals and dates as
    /// strings), in field order.
    #[ts(type = "Record<string, unknown>")]
    pub row: serde_json::Map<String, serde_json::Value>,
}

/// File formats for exported failed rows: CSV has the error columns first
/// (`_error_node`, `_error_message`, `_error_field`, `_error_line`, `_error_raw`,
/// `_error_handled`), then the row's fields; JSON is an array of `FailedRow`s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    Csv,
    Json,
}

/// An error crossing the boundary, as data the UI can place: which node and field, and
/// every diagnostic when a flow could not be read or planned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, thiserror::Error)]
#[error("{message}")]
pub struct AppError {
    pub kind: AppErrorKind,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub node_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub field: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[ts(optional, as = "Option<Vec<Diagnostic>>")]
    pub diagnostics: Vec<Diagnostic>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum AppErrorKind {
    /// The request itself was malformed.
    BadRequest,
    /// A file, node or run that does not exist.
    NotFound,
    /// The flow could not be read or planned; see `diagnostics`.
    InvalidFlow,
    /// Reading or writing a file failed.
    Io,
    /// A run or preview failed.
    Run,
    /// Missing or wrong token (browser mode).
    Unauthorized,
    Internal,
}

/// One run event, tagged with its run: what the event stream (Tauri event `run-event`,
/// `GET /api/events` in browser mode) carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct AppEvent {
    pub run_id: String,
    pub event: RunEvent,
}

/// Kept so `RunSummary` is exported with the rest (the UI shows it when a run ends).
#[allow(dead_code)]
type ExportedSummary = RunSummary;

//! The typed shape of a flow document, version 1. Field order here is the order keys are
//! written in, so keep it reading top-down: what the flow is, its params and settings, its
//! nodes, its edges.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// The flow-file version this build writes. Older versions are migrated on load (see
/// `docs/flow-format.md`); newer ones are refused with a clear message.
pub const FLOW_VERSION: u32 = 1;

/// A Sluice flow: sources, transforms and sinks wired by edges.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Sluice flow file", extend("$id" = "https://sluice.dev/schema/flow-v1.json"))]
pub struct FlowFile {
    /// Format version of this file. Always 1 for now.
    pub version: u32,
    /// Short name of the flow, shown in run history and the designer.
    pub name: String,
    /// What the flow does, for colleagues reading it later.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[ts(optional, as = "Option<String>")]
    pub description: String,
    /// Values the flow takes at run time, used in any string config as `${name}`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[ts(optional, as = "Option<Vec<ParamSpec>>")]
    pub params: Vec<ParamSpec>,
    /// Run-wide settings: error policy, batch size.
    #[serde(default, skip_serializing_if = "FlowSettings::is_default")]
    #[ts(optional, as = "Option<FlowSettings>")]
    pub settings: FlowSettings,
    /// The steps of the flow.
    pub nodes: Vec<NodeSpec>,
    /// Connections from an output port of one node to an input port of another.
    #[serde(default)]
    pub edges: Vec<EdgeSpec>,
    /// Free-standing notes on the canvas.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[ts(optional, as = "Option<Vec<CanvasNote>>")]
    pub notes: Vec<CanvasNote>,
}

/// A run-time value of the flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct ParamSpec {
    /// Name used as `${name}` in configs. Letters, digits and `_`.
    pub name: String,
    /// Type the given value must have.
    #[serde(rename = "type", default)]
    pub param_type: ParamType,
    /// Value used when none is given at run time. Without a default the param is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub default: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[ts(optional, as = "Option<String>")]
    pub description: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "lowercase")]
pub enum ParamType {
    #[default]
    String,
    Int,
    Float,
    Bool,
    /// A file or folder path, resolved against the flow file's folder.
    Path,
    /// A date (`2024-03-05`).
    Date,
}

/// Run-wide settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct FlowSettings {
    /// What happens to failed rows whose node has no wired `error` output.
    #[serde(default, skip_serializing_if = "ErrorPolicy::is_default")]
    #[ts(optional, as = "Option<ErrorPolicy>")]
    pub error_policy: ErrorPolicy,
    /// Rows per batch between nodes. Memory in flight is about batch_size × channel_capacity
    /// rows per edge.
    #[serde(default = "default_batch_size", skip_serializing_if = "is_default_batch_size")]
    #[schemars(range(min = 1, max = 1000000))]
    #[ts(optional, as = "Option<f64>")]
    pub batch_size: usize,
    /// Batches buffered on each edge before the sender waits (back-pressure).
    #[serde(default = "default_channel_capacity", skip_serializing_if = "is_default_channel_capacity")]
    #[schemars(range(min = 1, max = 1024))]
    #[ts(optional, as = "Option<f64>")]
    pub channel_capacity: usize,
}

fn default_batch_size() -> usize {
    1024
}
fn is_default_batch_size(v: &usize) -> bool {
    *v == default_batch_size()
}
fn default_channel_capacity() -> usize {
    4
}
fn is_default_channel_capacity(v: &usize) -> bool {
    *v == default_channel_capacity()
}

impl Default for FlowSettings {
    fn default() -> Self {
        FlowSettings {
            error_policy: ErrorPolicy::default(),
            batch_size: default_batch_size(),
            channel_capacity: default_channel_capacity(),
        }
    }
}

impl FlowSettings {
    pub fn is_default(&self) -> bool {
        *self == FlowSettings::default()
    }
}

/// What to do with a row that fails in a node whose `error` output is not wired.
/// Failed rows are always counted and reported, whatever the mode.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct ErrorPolicy {
    /// `fail` stops the run at the first such row; `continue` drops it, counts it and goes on.
    #[serde(default)]
    pub mode: ErrorMode,
    /// With `continue`: fail anyway once a node has more failed rows than this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, as = "Option<f64>")]
    pub max_errors: Option<u64>,
    /// With `continue`: fail anyway once more than this percentage of a node's rows failed
    /// (checked when the node ends, and along the way once it has seen 1000 rows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 100.0))]
    #[ts(optional)]
    pub max_error_percent: Option<f64>,
}

impl ErrorPolicy {
    pub fn is_default(&self) -> bool {
        *self == ErrorPolicy::default()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "lowercase")]
pub enum ErrorMode {
    #[default]
    Fail,
    Continue,
}

/// One step of the flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct NodeSpec {
    /// Stable, human-readable id, unique in the flow (`read_tickets`). Edges refer to it;
    /// renaming the title never breaks them. Letters, digits, `_` and `-`.
    pub id: String,
    /// Node kind from the catalog (`csv_source`, `filter`, ...). See `sluice nodes`.
    pub kind: String,
    /// Display title on the canvas. Free text; defaults to the kind's title.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[ts(optional, as = "Option<String>")]
    pub title: String,
    /// Settings of this node, shaped by its kind's schema.
    #[serde(default = "empty_object")]
    #[ts(type = "Record<string, unknown>")]
    pub config: serde_json::Value,
    /// Error policy for this node, overriding the flow's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub error_policy: Option<ErrorPolicy>,
    /// A comment shown with the node.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[ts(optional, as = "Option<String>")]
    pub note: String,
    /// Where the node sits on the canvas. Kept apart from `config` so moving a node changes
    /// only these lines in a diff.
    #[serde(default)]
    pub position: Position,
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(Default::default())
}

#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize, JsonSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct Position {
    pub x: f64,
    pub y: f64,
}

/// A connection from `from`'s output port `from_port` to `to`'s input port `to_port`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct EdgeSpec {
    /// Id of the node the rows come from.
    pub from: String,
    /// Output port they leave by: `out`, `error`, or a port the node names (route rules).
    #[serde(default = "default_out_port")]
    pub from_port: String,
    /// Id of the node the rows go to.
    pub to: String,
    /// Input port they arrive at: usually `in`; joins have `left` and `right`.
    #[serde(default = "default_in_port")]
    pub to_port: String,
}

fn default_out_port() -> String {
    "out".into()
}
fn default_in_port() -> String {
    "in".into()
}

/// A sticky note on the canvas, not attached to a node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct CanvasNote {
    pub id: String,
    pub text: String,
    #[serde(default)]
    pub position: Position,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub width: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub height: Option<f64>,
}

impl FlowFile {
    pub fn node(&self, id: &str) -> Option<&NodeSpec> {
        self.nodes.iter().find(|n| n.id == id)
    }

    /// An empty flow with the current version.
    pub fn new(name: impl Into<String>) -> Self {
        FlowFile {
            version: FLOW_VERSION,
            name: name.into(),
            description: String::new(),
            params: Vec::new(),
            settings: FlowSettings::default(),
            nodes: Vec::new(),
            edges: Vec::new(),
            notes: Vec::new(),
        }
    }
}

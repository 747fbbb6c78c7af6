//! Node kinds: the catalog of sources, transforms and sinks.
//!
//! A node kind is a typed config struct (serde + JSON Schema; its doc comments are the user
//! docs) plus a [`NodeKind`] impl that says its ports, its output fields at design time, and
//! builds the running task. One file per kind under `sources/`, `transforms/`, `sinks/`,
//! listed once in [`registry`]. Nothing here knows about the executor's channels beyond
//! [`NodeIo`](crate::exec::NodeIo).

mod registry;
pub mod sinks;
pub mod sources;
pub mod transforms;

pub use registry::{erase, registry, DynNodeKind, NodeCatalogEntry, Registry};

use crate::exec::{AsyncNode, BlockingNode};
use crate::flow::{FlowSettings, ParamValues};
use crate::value::SchemaRef;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    Source,
    Transform,
    Sink,
}

/// What the catalog says about a kind, besides its config schema.
#[derive(Debug, Clone, Serialize)]
pub struct NodeMeta {
    pub kind: &'static str,
    pub category: Category,
    /// Default title on the canvas.
    pub title: &'static str,
    /// One or two sentences: what the node does and when to use it.
    pub description: &'static str,
    /// Extra words the palette search matches.
    pub keywords: &'static [&'static str],
    /// Icon name for the designer's palette.
    pub icon: &'static str,
}

/// A named port. Inputs may be required and may accept several edges (fan-in).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, ts_rs::TS)]
pub struct PortSpec {
    pub name: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    #[ts(optional, as = "Option<bool>")]
    pub required: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    #[ts(optional, as = "Option<bool>")]
    pub multiple: bool,
    pub description: String,
}

impl PortSpec {
    pub fn input(name: &str, description: &str) -> Self {
        PortSpec { name: name.into(), required: true, multiple: true, description: description.into() }
    }
    pub fn output(name: &str, description: &str) -> Self {
        PortSpec { name: name.into(), required: false, multiple: true, description: description.into() }
    }
}

/// The ports of one node (they may depend on its config, e.g. route rules).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, ts_rs::TS)]
pub struct Ports {
    pub inputs: Vec<PortSpec>,
    pub outputs: Vec<PortSpec>,
}

/// Name of the output port failed rows leave by.
pub const ERROR_PORT: &str = "error";

impl Ports {
    /// A source: `out` and `error`.
    pub fn source() -> Self {
        Ports {
            inputs: vec![],
            outputs: vec![
                PortSpec::output("out", "rows read"),
                PortSpec::output(ERROR_PORT, "rows that could not be read, with the error and line"),
            ],
        }
    }
    /// A transform: `in` → `out`, `error`.
    pub fn transform() -> Self {
        Ports {
            inputs: vec![PortSpec::input("in", "rows to process")],
            outputs: vec![
                PortSpec::output("out", "processed rows"),
                PortSpec::output(ERROR_PORT, "rows that failed, with the error"),
            ],
        }
    }
    /// A sink: `in` → `error`.
    pub fn sink() -> Self {
        Ports {
            inputs: vec![PortSpec::input("in", "rows to write")],
            outputs: vec![PortSpec::output(ERROR_PORT, "rows that could not be written, with the error")],
        }
    }
    pub fn input(&self, name: &str) -> Option<&PortSpec> {
        self.inputs.iter().find(|p| p.name == name)
    }
    pub fn output(&self, name: &str) -> Option<&PortSpec> {
        self.outputs.iter().find(|p| p.name == name)
    }
}

/// What a node sees of its flow when it is checked or built.
#[derive(Debug, Clone, Default)]
pub struct NodeContext {
    pub node_id: String,
    /// Folder of the flow file; relative paths in configs resolve against it.
    pub base_dir: PathBuf,
    pub params: ParamValues,
    pub settings: FlowSettings,
    /// Fields arriving at each input port as known at design time (filled in by the planner
    /// before `build`), so a node that receives no rows still knows its output fields.
    pub input_schemas: PortSchemas,
}

impl NodeContext {
    /// Resolves a config path against the flow file's folder.
    pub fn resolve_path(&self, p: &str) -> PathBuf {
        let path = Path::new(p);
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.base_dir.join(path)
        }
    }
}

/// Schemas by port name: what arrives at a node's inputs, or leaves its outputs. A port
/// missing from the map has fields unknown at design time.
pub type PortSchemas = BTreeMap<String, SchemaRef>;

/// A problem in a node's config found by the kind's own checks (beyond the JSON Schema).
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigProblem {
    /// Path inside the config (`fields/0/name`), empty for the node as a whole.
    pub field: String,
    pub message: String,
    pub hint: Option<String>,
}

impl ConfigProblem {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigProblem { field: field.into(), message: message.into(), hint: None }
    }
    pub fn hint(mut self, h: impl Into<String>) -> Self {
        self.hint = Some(h.into());
        self
    }
}

/// A node ready to run: blocking nodes (file I/O, CPU work) get a thread of their own,
/// async nodes (network I/O) a tokio task.
pub enum NodeTask {
    Blocking(Box<dyn BlockingNode>),
    Async(Box<dyn AsyncNode>),
}

/// One kind of node. See the module docs.
pub trait NodeKind: Send + Sync + 'static {
    type Config: DeserializeOwned + JsonSchema + Send + 'static;

    fn meta(&self) -> NodeMeta;

    /// Ports every node of this kind has, shown in the catalog. Defaults by category.
    fn static_ports(&self) -> Ports {
        match self.meta().category {
            Category::Source => Ports::source(),
            Category::Transform => Ports::transform(),
            Category::Sink => Ports::sink(),
        }
    }

    /// Ports for this config (route rules add named outputs). Defaults to the static ports.
    fn ports(&self, _config: &Self::Config) -> Ports {
        self.static_ports()
    }

    /// Checks beyond the schema that need no data: referenced fields exist upstream,
    /// patterns compile, files exist.
    fn check(&self, _config: &Self::Config, _ctx: &NodeContext, _inputs: &PortSchemas) -> Vec<ConfigProblem> {
        Vec::new()
    }

    /// Output fields per output port, when they can be known without running. The `error`
    /// port's fields are derived by the planner and need not be given.
    fn output_schemas(
        &self,
        _config: &Self::Config,
        _ctx: &NodeContext,
        _inputs: &PortSchemas,
    ) -> Result<PortSchemas, ConfigProblem> {
        Ok(PortSchemas::new())
    }

    /// Builds the running node.
    fn build(&self, config: Self::Config, ctx: &NodeContext) -> Result<NodeTask, ConfigProblem>;
}

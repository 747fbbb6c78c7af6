//! The flow file (`*.flow.json`): the product's public contract, and how it is read and
//! written.
//!
//! A flow is nodes (stable ids, a kind, a free title, a config object, a canvas position kept
//! apart from the config) and edges between named ports. This module owns the document
//! shape, canonical saving, version migration, and `${param}` / `${env:NAME}` substitution.
//! It does not know node kinds: checking configs against node schemas is the planner's job.

mod diagnostics;
mod document;
mod load;
mod params;
mod replay;

pub use diagnostics::{did_you_mean, Diagnostic, Diagnostics, Severity};
pub use document::{
    EdgeSpec, ErrorMode, ErrorPolicy, FlowFile, FlowSettings, NodeSpec, ParamSpec, ParamType, Position, CanvasNote,
    FLOW_VERSION,
};
pub use load::{load_flow_file, parse_flow_text, to_canonical_json};
pub(crate) use load::describe_schema_error as describe_schema_error_pub;
pub use replay::{replay_flow, REPLAY_SOURCE_ID};
pub use params::{resolve_params, resolve_params_lenient, substitute_config, ParamValues};

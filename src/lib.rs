//! Sluice engine: flow files, planning, the streaming executor and the node catalog.
//!
//! How a row travels: a flow file ([`flow`]) is checked and planned ([`plan`]) into nodes
//! in topological order; the executor ([`exec`]) runs each node ([`nodes`]) as a task and
//! moves rows between them in batches ([`value`]) over bounded channels. File formats live
//! in [`connectors`]; the CLI in [`cli`] and the designer's app service in [`app`] are
//! clients of this library among others.

pub mod app;
pub mod cli;
pub mod connectors;
pub mod exec;
pub mod flow;
pub mod functions;
pub mod nodes;
pub mod plan;
pub mod script;
pub mod state;
pub mod value;
#[cfg(feature = "http")]
pub mod webhook;

//! `limit`: passes the first N rows (after skipping `offset` rows) and then finishes.
//!
//! Finishing early is the point: once the node has its rows it returns, its input closes,
//! and the upstream nodes' next sends find nobody listening, so a source reading a huge
//! file stops after a few batches instead of reading to the end (see
//! [`NodeError::DownstreamClosed`]). Which rows are "first" is arrival order; with several
//! upstreams (fan-in) that order is not fixed — put a `sort` in front for a stable top N.

use crate::exec::{BlockingNode, NodeError, NodeIo};
use crate::nodes::{Category, ConfigProblem, NodeContext, NodeKind, NodeMeta, NodeTask, PortSchemas, PortSpec, Ports};
use crate::value::Batch;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Keeps the first `rows` rows, after skipping `offset`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitConfig {
    /// How many rows to pass on. Once they have passed, the node finishes and the nodes
    /// upstream stop early.
    #[schemars(range(min = 0))]
    pub rows: u64,
    /// How many rows to skip before the first one passed on.
    #[serde(default)]
    #[schemars(range(min = 0))]
    pub offset: u64,
}

pub struct Limit;

impl NodeKind for Limit {
    type Config = LimitConfig;

    fn meta(&self) -> NodeMeta {
        NodeMeta {
            kind: "limit",
            category: Category::Transform,
            title: "Limit rows",
            description: "Passes the first N rows (optionally after skipping some) and stops the nodes upstream early.",
            keywords: &["top", "head", "first", "offset", "skip", "take"],
            icon: "list-end",
        }
    }

    fn static_ports(&self) -> Ports {
        Ports { inputs: vec![PortSpec::input("in", "rows to take from")], outputs: vec![PortSpec::output("out", "the first rows")] }
    }

    fn output_schemas(&self, _config: &Self::Config, _ctx: &NodeContext, inputs: &PortSchemas) -> Result<PortSchemas, ConfigProblem> {
        Ok(inputs.get("in").map(|s| PortSchemas::from([("out".into(), s.clone())])).unwrap_or_default())
    }

    fn build(&self, config: Self::Config, _ctx: &NodeContext) -> Result<NodeTask, ConfigProblem> {
        Ok(NodeTask::Blocking(Box::new(LimitTask { config })))
    }
}

struct LimitTask {
    config: LimitConfig,
}

impl BlockingNode for LimitTask {
    fn run(self: Box<Self>, io: &mut NodeIo) -> Result<(), NodeError> {
        let mut to_skip = self.config.offset;
        let mut to_pass = self.config.rows;
        while to_pass > 0 {
            let Some(batch) = io.recv("in")? else { break };
            let Batch { schema, mut rows } = batch;
            let skip = to_skip.min(rows.len() as u64) as usize;
            to_skip -= skip as u64;
            rows.drain(..skip);
            rows.truncate(to_pass.min(rows.len() as u64) as usize);
            to_pass -= rows.len() as u64;
            io.send("out", Batch::new(schema, rows))?;
        }
        // Returning drops the input: upstream sends now fail and the sources stop.
        Ok(())
    }
}

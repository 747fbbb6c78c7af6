//! `log`: shows rows in the run log — the quickest way to see what reaches a point of the
//! flow. Keeps nothing.

use crate::exec::{BlockingNode, LogLevel, NodeError, NodeIo};
use crate::nodes::{Category, ConfigProblem, NodeContext, NodeKind, NodeMeta, NodeTask, Ports, PortSpec};
use crate::value::Batch;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Prints the first rows reaching it to the run log, and counts the rest.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LogSinkConfig {
    /// How many rows to show; the rest are counted only.
    #[serde(default = "default_max_rows")]
    #[schemars(range(min = 0))]
    pub max_rows: usize,
    /// Show each row as JSON (`json`) or as `field=value` pairs (`text`).
    #[serde(default)]
    pub format: LogFormat,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

fn default_max_rows() -> usize {
    20
}

pub struct LogSink;

impl NodeKind for LogSink {
    type Config = LogSinkConfig;

    fn meta(&self) -> NodeMeta {
        NodeMeta {
            kind: "log",
            category: Category::Sink,
            title: "Log rows",
            description: "Shows the first rows that reach it in the run log, and counts the rest. Writes nothing.",
            keywords: &["print", "debug", "preview", "console"],
            icon: "terminal",
        }
    }

    fn static_ports(&self) -> Ports {
        Ports { inputs: vec![PortSpec::input("in", "rows to show")], outputs: vec![] }
    }

    fn build(&self, config: Self::Config, _ctx: &NodeContext) -> Result<NodeTask, ConfigProblem> {
        Ok(NodeTask::Blocking(Box::new(LogTask { config })))
    }
}

struct LogTask {
    config: LogSinkConfig,
}

impl BlockingNode for LogTask {
    fn run(self: Box<Self>, io: &mut NodeIo) -> Result<(), NodeError> {
        let mut shown = 0usize;
        let mut total = 0u64;
        while let Some(batch) = io.recv("in")? {
            total += batch.len() as u64;
            for row in batch.rows.iter().take(self.config.max_rows.saturating_sub(shown)) {
                io.log(LogLevel::Info, format_row(&batch, row, self.config.format));
                shown += 1;
            }
        }
        io.log(LogLevel::Info, format!("{total} rows"));
        Ok(())
    }
}

fn format_row(batch: &Batch, row: &crate::value::Row, format: LogFormat) -> String {
    match format {
        LogFormat::Json => Batch::row_to_json(&batch.schema, row).to_string(),
        LogFormat::Text => batch
            .schema
            .fields()
            .iter()
            .zip(row)
            .map(|(f, v)| format!("{}={}", f.name, v.to_text().unwrap_or_else(|| "null".into())))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

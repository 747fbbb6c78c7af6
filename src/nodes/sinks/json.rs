//! `json_sink`: writes rows as NDJSON or as a JSON array.
//!
//! Output is atomic: rows go to a hidden temp file beside the target, which replaces the
//! target only once the whole run has succeeded. A failed or stopped run leaves the target
//! as it was and removes the temp file. Values are written directly (itoa, ryu, serde_json
//! string escaping), not through an intermediate `serde_json::Value`.

use crate::connectors::json::{
    commit_output, discard_output, encoded_names, ensure_parent, temp_path_for, write_object, write_object_pretty,
    ExistingFile,
};
use crate::exec::{BlockingNode, LogLevel, NodeError, NodeIo};
use crate::nodes::{Category, ConfigProblem, NodeContext, NodeKind, NodeMeta, NodeTask, PortSchemas};
use crate::value::SchemaRef;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;

/// Writes rows to a JSON file.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JsonSinkConfig {
    /// The file to write, relative to the flow file's folder (or absolute). A missing
    /// folder is created. The file appears (or is replaced) only when the whole run
    /// succeeds.
    #[schemars(extend("x-path" = "file"))]
    pub path: String,
    /// `ndjson`: one object per line (JSON Lines), easy to stream and to append to;
    /// `array`: one JSON array of objects.
    #[serde(default)]
    pub format: JsonOutputFormat,
    /// With `array`: indent the output for people to read (2 spaces). Otherwise each
    /// record takes one line.
    #[serde(default)]
    pub pretty: bool,
    /// When the file already exists: `overwrite` replaces it, `fail` stops the run and
    /// keeps it, `append` adds the new records after the existing ones (ndjson only).
    #[serde(default)]
    pub if_exists: IfExists,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum JsonOutputFormat {
    /// One JSON object per line.
    #[default]
    Ndjson,
    /// A JSON array of objects.
    Array,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum IfExists {
    /// Replace the existing file.
    #[default]
    Overwrite,
    /// Stop the run; the existing file is kept.
    Fail,
    /// Add records after the existing ones (ndjson only).
    Append,
}

impl IfExists {
    fn mode(self) -> ExistingFile {
        match self {
            IfExists::Overwrite => ExistingFile::Overwrite,
            IfExists::Fail => ExistingFile::Fail,
            IfExists::Append => ExistingFile::Append,
        }
    }
}

pub struct JsonSink;

impl NodeKind for JsonSink {
    type Config = JsonSinkConfig;

    fn meta(&self) -> NodeMeta {
        NodeMeta {
            kind: "json_sink",
            category: Category::Sink,
            title: "Write JSON",
            description: "Writes rows to a JSON file, one object per line (NDJSON) or as an array. The file is replaced only when the whole run succeeds.",
            keywords: &["json", "ndjson", "jsonl", "json lines", "export", "file", "save"],
            icon: "braces",
        }
    }

    fn check(&self, config: &Self::Config, _ctx: &NodeContext, _inputs: &PortSchemas) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if config.if_exists == IfExists::Append && config.format == JsonOutputFormat::Array {
            problems.push(
                ConfigProblem::new("if_exists", "append works with format ndjson only: an array cannot be extended by adding text at its end")
                    .hint("use format: ndjson, or if_exists: overwrite"),
            );
        }
        if config.pretty && config.format == JsonOutputFormat::Ndjson {
            problems.push(
                ConfigProblem::new("pretty", "pretty applies to format array; NDJSON keeps each record on one line")
                    .hint("set format: array, or remove pretty"),
            );
        }
        if config.path.trim().is_empty() {
            problems.push(ConfigProblem::new("path", "the output path is empty"));
        }
        problems
    }

    fn build(&self, config: Self::Config, ctx: &NodeContext) -> Result<NodeTask, ConfigProblem> {
        let path = ctx.resolve_path(&config.path);
        if path.is_dir() {
            return Err(ConfigProblem::new("path", format!("{} is a folder; give a file name", path.display())));
        }
        if config.if_exists == IfExists::Fail && path.exists() {
            return Err(ConfigProblem::new("path", format!("{} already exists (if_exists is 'fail')", path.display()))
                .hint("remove the file, or set if_exists to overwrite or append"));
        }
        Ok(NodeTask::Blocking(Box::new(JsonSinkTask { path, config })))
    }
}

struct JsonSinkTask {
    path: PathBuf,
    config: JsonSinkConfig,
}

impl BlockingNode for JsonSinkTask {
    fn run(self: Box<Self>, io: &mut NodeIo) -> Result<(), NodeError> {
        let path = self.path;
        let array = self.config.format == JsonOutputFormat::Array;
        let pretty = self.config.pretty && array;
        ensure_parent(&path).map_err(|e| NodeError::io("create the folder of", &path, &e))?;
        let temp = temp_path_for(&path);
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
            .map_err(|e| NodeError::io("create a temporary file beside", &path, &e))?;
        {
            let t = temp.clone();
            io.on_failure(move || discard_output(&t));
        }
        let mut w = BufWriter::with_capacity(256 * 1024, file);
        let write_err = |e: std::io::Error| NodeError::io("write", &path, &e);
        let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
        let mut names: Option<(SchemaRef, Vec<Vec<u8>>)> = None;
        let mut first = true;
        if array {
            buf.push(b'[');
        }
        loop {
            let batch = match io.recv("in") {
                Ok(Some(b)) => b,
                Ok(None) => break,
                Err(NodeError::Cancelled) => {
                    io.log(LogLevel::Warn, format!("run did not finish: {} left unchanged", path.display()));
                    return Err(NodeError::Cancelled);
                }
                Err(e) => return Err(e),
            };
            let fresh = matches!(&names, Some((s, _)) if Arc::ptr_eq(s, &batch.schema) || **s == *batch.schema);
            if !fresh {
                names = Some((batch.schema.clone(), encoded_names(&batch.schema)));
            }
            let encoded = &names.as_ref().expect("set just above").1;
            for row in &batch.rows {
                if array {
                    buf.extend_from_slice(if first { b"\n" } else { b",\n" });
                    if pretty {
                        write_object_pretty(&mut buf, encoded, row);
                    } else {
                        write_object(&mut buf, encoded, row);
                    }
                } else {
                    write_object(&mut buf, encoded, row);
                    buf.push(b'\n');
                }
                first = false;
            }
            w.write_all(&buf).map_err(write_err)?;
            io.add_bytes(buf.len() as u64);
            buf.clear();
        }
        if array {
            buf.extend_from_slice(if first { b"]\n" } else { b"\n]\n" });
        }
        w.write_all(&buf).map_err(write_err)?;
        io.add_bytes(buf.len() as u64);
        let file = w.into_inner().map_err(|e| write_err(e.into_error()))?;
        file.sync_all().map_err(write_err)?;
        drop(file);
        let mode = self.config.if_exists.mode();
        io.on_success(move || commit_output(&temp, &path, mode));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_checks() {
        let c: JsonSinkConfig = serde_json::from_value(serde_json::json!({"path": "o.json", "format": "array", "if_exists": "append"})).unwrap();
        let ctx = NodeContext {
            node_id: "s".into(),
            base_dir: ".".into(),
            params: Default::default(),
            settings: Default::default(),
            ..Default::default()
        };
        let p = JsonSink.check(&c, &ctx, &PortSchemas::new());
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].field, "if_exists");
        let c: JsonSinkConfig = serde_json::from_value(serde_json::json!({"path": "o.json"})).unwrap();
        assert_eq!((c.format, c.pretty, c.if_exists), (JsonOutputFormat::Ndjson, false, IfExists::Overwrite));
        assert!(JsonSink.check(&c, &ctx, &PortSchemas::new()).is_empty());
    }
}

//! `csv_source`: reads a CSV (or TSV) file as typed rows, streaming, in any common
//! encoding. The reading itself lives in [`crate::connectors::csv`]; this file is the
//! config, the design-time checks and schema, and the run loop (batches, progress, broken
//! rows to the `error` output).

use crate::connectors::csv::{
    parse_separator, CsvError, CsvReader, ReadEncoding, ReadOptions, ReadStep, DEFAULT_MAX_RECORD_BYTES,
};
use crate::exec::{BlockingNode, NodeError, NodeIo, RowError};
use crate::flow::did_you_mean;
use crate::nodes::{Category, ConfigProblem, NodeContext, NodeKind, NodeMeta, NodeTask, PortSchemas, ERROR_PORT};
use crate::value::{Batch, DataType};
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Reads rows from a CSV file.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CsvSourceConfig {
    /// The file to read. A relative path is taken from the flow file's folder.
    #[schemars(extend("x-path" = "file"))]
    pub path: String,
    /// The character between fields: `,` (default), `;`, `|`, or `\t` for tab-separated
    /// files. One ASCII character.
    #[serde(default = "default_delimiter")]
    pub delimiter: String,
    /// The character around fields that contain the delimiter or line breaks; inside such a
    /// field it is written twice (`"say ""hi"""`).
    #[serde(default = "default_quote")]
    pub quote: String,
    /// Whether the first line (after `skip_rows`) holds the field names. Without a header
    /// the fields are named `field_1`, `field_2`, ...
    #[serde(default = "default_true")]
    pub has_header: bool,
    /// A field with exactly this text is null. The default (empty) makes empty fields
    /// null. Empty fields of non-text types are always null.
    #[serde(default)]
    pub null_marker: String,
    /// Text encoding of the file. `auto` looks for a byte-order mark and falls back to
    /// UTF-8; files from Chinese Excel are often `gbk`.
    #[serde(default)]
    pub encoding: ReadEncoding,
    /// Lines to skip before the header (titles or notes above the table).
    #[serde(default)]
    #[schemars(range(min = 0))]
    pub skip_rows: u64,
    /// Work out each field's type (int, decimal, date, ...) from the first `infer_rows`
    /// records. Off: every field is text. Long digit strings (phone and ID numbers) and
    /// numbers with leading zeros stay text.
    #[serde(default = "default_true")]
    pub infer_types: bool,
    /// How many records type inference looks at.
    #[serde(default = "default_infer_rows")]
    #[schemars(range(min = 1, max = 1000000))]
    pub infer_rows: usize,
    /// Types for named fields, over inference: `{"phone": "string", "amount": "decimal"}`.
    /// A value that does not read as its type sends its row to the `error` output.
    #[serde(default)]
    pub types: BTreeMap<String, DataType>,
    /// Longest record allowed, in bytes (default 16 MiB). A longer one stops the run with
    /// its line number; it is nearly always a quote that was never closed.
    #[serde(default = "default_max_record_bytes")]
    #[schemars(range(min = 1))]
    pub max_record_bytes: usize,
}

fn default_delimiter() -> String {
    ",".into()
}
fn default_quote() -> String {
    "\"".into()
}
fn default_true() -> bool {
    true
}
fn default_infer_rows() -> usize {
    1000
}
fn default_max_record_bytes() -> usize {
    DEFAULT_MAX_RECORD_BYTES
}

impl CsvSourceConfig {
    /// Reading options, or every problem with the separators.
    fn read_options(&self) -> Result<ReadOptions, Vec<ConfigProblem>> {
        let mut problems = Vec::new();
        let delimiter = parse_separator(&self.delimiter, "delimiter")
            .map_err(|m| problems.push(ConfigProblem::new("delimiter", m)));
        let quote = parse_separator(&self.quote, "quote").map_err(|m| problems.push(ConfigProblem::new("quote", m)));
        let (Ok(delimiter), Ok(quote)) = (delimiter, quote) else { return Err(problems) };
        if delimiter == quote {
            return Err(vec![ConfigProblem::new("quote", "the quote character is the same as the delimiter")]);
        }
        Ok(ReadOptions {
            delimiter,
            quote,
            has_header: self.has_header,
            null_marker: self.null_marker.clone(),
            encoding: self.encoding,
            skip_rows: self.skip_rows,
            infer_types: self.infer_types,
            infer_rows: self.infer_rows.max(1),
            types: self.types.clone(),
            max_record_bytes: self.max_record_bytes,
        })
    }
}

/// A reading failure as a config problem (design time): on `path`, line in the message.
fn design_problem(e: &CsvError) -> ConfigProblem {
    let p = ConfigProblem::new("path", e.with_line_prefix());
    match e {
        CsvError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            p.hint("check the path; a relative path is taken from the flow file's folder")
        }
        CsvError::RecordTooLong { .. } => p.hint("fix the quote on that line, or raise max_record_bytes"),
        _ => p,
    }
}

/// A reading failure during a run.
fn run_error(e: CsvError) -> NodeError {
    match &e {
        CsvError::Io { what, path, source } => NodeError::io(what, path, source),
        _ => match e.line() {
            Some(l) => NodeError::msg(e.to_string()).with_line(l),
            None => NodeError::msg(e.to_string()),
        },
    }
}

pub struct CsvSource;

impl NodeKind for CsvSource {
    type Config = CsvSourceConfig;

    fn meta(&self) -> NodeMeta {
        NodeMeta {
            kind: "csv_source",
            category: Category::Source,
            title: "Read CSV",
            description: "Reads a CSV or TSV file as typed rows, streaming: any size, UTF-8, GBK or UTF-16. \
                          Broken lines go to the error output with their line number.",
            keywords: &["csv", "tsv", "text", "file", "comma", "excel export", "import", "gbk"],
            icon: "file-text",
        }
    }

    fn check(&self, config: &Self::Config, ctx: &NodeContext, _inputs: &PortSchemas) -> Vec<ConfigProblem> {
        let opts = match config.read_options() {
            Ok(o) => o,
            Err(p) => return p,
        };
        let path = ctx.resolve_path(&config.path);
        // Open with only the header: the types need the names, not the sample.
        let header_only = ReadOptions { infer_types: false, types: BTreeMap::new(), ..opts };
        let reader = match CsvReader::open(&path, &header_only) {
            Ok(r) => r,
            Err(e) => return vec![design_problem(&e)],
        };
        let names: Vec<&str> = reader.schema().names().collect();
        let mut problems = Vec::new();
        for name in config.types.keys() {
            if !names.contains(&name.as_str()) && !names.is_empty() {
                let mut p = ConfigProblem::new(format!("types/{name}"), format!("the file has no field '{name}'"));
                p = match did_you_mean(name, names.iter().copied()) {
                    Some(s) => p.hint(format!("did you mean '{s}'?")),
                    None => p.hint(format!("fields: {}", names.join(", "))),
                };
                problems.push(p);
            }
        }
        problems
    }

    fn output_schemas(
        &self,
        config: &Self::Config,
        ctx: &NodeContext,
        _inputs: &PortSchemas,
    ) -> Result<PortSchemas, ConfigProblem> {
        let Ok(opts) = config.read_options() else {
            // Reported by `check`.
            return Ok(PortSchemas::new());
        };
        match CsvReader::open(&ctx.resolve_path(&config.path), &opts) {
            Ok(r) => Ok(PortSchemas::from([("out".to_string(), r.schema().clone())])),
            // Reported by `check` already; the fields stay unknown.
            Err(CsvError::Io { .. }) => Ok(PortSchemas::new()),
            Err(e) => Err(design_problem(&e)),
        }
    }

    fn build(&self, config: Self::Config, ctx: &NodeContext) -> Result<NodeTask, ConfigProblem> {
        let opts = config.read_options().map_err(|mut p| p.remove(0))?;
        let path = ctx.resolve_path(&config.path);
        // Fail before any row moves if the file cannot be opened.
        if let Err(e) = std::fs::File::open(&path) {
            return Err(ConfigProblem::new("path", NodeError::io("open", &path, &e).to_string()));
        }
        Ok(NodeTask::Blocking(Box::new(CsvSourceTask { path, opts })))
    }
}

struct CsvSourceTask {
    path: PathBuf,
    opts: ReadOptions,
}

impl BlockingNode for CsvSourceTask {
    fn run(self: Box<Self>, io: &mut NodeIo) -> Result<(), NodeError> {
        let mut reader = CsvReader::open(&self.path, &self.opts).map_err(run_error)?;
        let schema = reader.schema().clone();
        io.set_total_bytes(reader.file_size());
        let batch_size = io.batch_size();
        // Without a wired error output, failed rows go to the policy one by one, so `fail`
        // stops at the first one; with one, they travel in batches.
        let errors_wired = io.is_output_open(ERROR_PORT);
        let mut rows = Vec::with_capacity(batch_size);
        let mut errors: Vec<RowError> = Vec::new();
        let mut reported = 0u64;
        let mut since_check = 0usize;
        loop {
            // Sends notice a stop; a stretch of only failed rows must too.
            since_check += 1;
            if since_check >= batch_size {
                since_check = 0;
                io.check_cancelled()?;
            }
            let step = reader.next_step().map_err(run_error)?;
            match step {
                ReadStep::Row(row) => rows.push(row),
                ReadStep::Bad(b) => {
                    let mut e = RowError::new(b.message, b.row).line(b.line).raw(b.raw);
                    if let Some(f) = b.field {
                        e = e.field(f);
                    }
                    errors.push(e);
                    if !errors_wired || errors.len() >= batch_size {
                        io.send_errors(&schema, std::mem::take(&mut errors))?;
                    }
                }
                ReadStep::End => break,
            }
            if rows.len() >= batch_size {
                let read = reader.bytes_read();
                io.add_bytes(read - reported);
                reported = read;
                io.send_errors(&schema, std::mem::take(&mut errors))?;
                io.send(
                    "out",
                    Batch::new(schema.clone(), std::mem::replace(&mut rows, Vec::with_capacity(batch_size))),
                )?;
            }
        }
        io.add_bytes(reader.bytes_read() - reported);
        io.send_errors(&schema, errors)?;
        io.send("out", Batch::new(schema, rows))?;
        Ok(())
    }
}

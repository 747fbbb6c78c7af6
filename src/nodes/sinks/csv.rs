//! `csv_sink`: writes rows to a CSV file, all or nothing. Rows go to a temp file beside
//! the target, which is moved into place (or appended) only when the whole run succeeded;
//! a failed or stopped run leaves the target as it was. The formatting lives in
//! [`crate::connectors::csv`].

use crate::connectors::csv::{
    parse_separator, read_header, AtomicOutput, CsvRowWriter, IfExists, LineEnding, QuoteStyle, ReadOptions,
    WriteEncoding, WriteOptions,
};
use crate::exec::{BlockingNode, LogLevel, NodeError, NodeIo, RowError};
use crate::nodes::{Category, ConfigProblem, NodeContext, NodeKind, NodeMeta, NodeTask, PortSchemas};
use crate::value::{Batch, SchemaRef};
use schemars::JsonSchema;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Writes rows to a CSV file.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CsvSinkConfig {
    /// The file to write. A relative path is taken from the flow file's folder. The folder
    /// must exist.
    #[schemars(extend("x-path" = "file"))]
    pub path: String,
    /// The character between fields: `,` (default), `;`, `|`, or `\t` for tab-separated
    /// output. One ASCII character.
    #[serde(default = "default_delimiter")]
    pub delimiter: String,
    /// The character put around values that need it (see `quote_style`); inside a value
    /// it is written twice.
    #[serde(default = "default_quote")]
    pub quote: String,
    /// Write the field names as the first line.
    #[serde(default = "default_true")]
    pub header: bool,
    /// Text written for null values (default: nothing).
    #[serde(default)]
    pub null_marker: String,
    /// Text encoding of the file. `utf-8-bom` lets Excel open Chinese text correctly; with
    /// `gbk`, a row holding a character GBK does not have goes to the `error` output.
    #[serde(default)]
    pub encoding: WriteEncoding,
    /// Line ending after each row.
    #[serde(default)]
    pub line_ending: LineEnding,
    /// Which values are quoted: only where needed (default), all, or all but numbers.
    #[serde(default)]
    pub quote_style: QuoteStyle,
    /// When the file exists: replace it (default), stop with an error (`fail`), or add the
    /// rows at its end (`append`; no second header, and the columns follow the existing
    /// header). The file changes only when the whole run succeeded.
    #[serde(default)]
    pub if_exists: IfExists,
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

impl CsvSinkConfig {
    fn write_options(&self) -> Result<WriteOptions, Vec<ConfigProblem>> {
        let mut problems = Vec::new();
        let delimiter = parse_separator(&self.delimiter, "delimiter")
            .map_err(|m| problems.push(ConfigProblem::new("delimiter", m)));
        let quote = parse_separator(&self.quote, "quote").map_err(|m| problems.push(ConfigProblem::new("quote", m)));
        let (Ok(delimiter), Ok(quote)) = (delimiter, quote) else { return Err(problems) };
        if delimiter == quote {
            problems.push(ConfigProblem::new("quote", "the quote character is the same as the delimiter"));
        }
        let bad = |b: u8| b == delimiter || b == quote || b == b'\n' || b == b'\r';
        if self.null_marker.bytes().any(bad) {
            problems.push(ConfigProblem::new(
                "null_marker",
                "the null marker contains the delimiter, the quote or a line break, so it could not be read back",
            ));
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(WriteOptions {
            delimiter,
            quote,
            null_marker: self.null_marker.clone(),
            encoding: self.encoding,
            line_ending: self.line_ending,
            quote_style: self.quote_style,
        })
    }
}

/// Problems with the target path that need no data.
fn check_target(path: &Path, if_exists: IfExists) -> Vec<ConfigProblem> {
    let mut problems = Vec::new();
    if path.is_dir() {
        problems.push(ConfigProblem::new("path", format!("{} is a folder; give a file name", path.display())));
        return problems;
    }
    // A missing folder is created when the run writes (as the JSON and Excel sinks do);
    // only a path that can never be a folder is refused.
    if let Some(blocker) = path.ancestors().skip(1).find(|a| a.is_file()) {
        problems.push(
            ConfigProblem::new("path", format!("cannot write {}: {} is a file, not a folder", path.display(), blocker.display()))
                .hint("fix the path"),
        );
    }
    if if_exists == IfExists::Fail && path.exists() {
        problems.push(
            ConfigProblem::new("if_exists", format!("{} already exists and if_exists is \"fail\"", path.display()))
                .hint("remove the file, or set if_exists to \"overwrite\" or \"append\""),
        );
    }
    problems
}

pub struct CsvSink;

impl NodeKind for CsvSink {
    type Config = CsvSinkConfig;

    fn meta(&self) -> NodeMeta {
        NodeMeta {
            kind: "csv_sink",
            category: Category::Sink,
            title: "Write CSV",
            description: "Writes rows to a CSV or TSV file (UTF-8, GBK or UTF-16). The file is replaced or \
                          appended to only when the whole run succeeded.",
            keywords: &["csv", "tsv", "text", "file", "export", "save", "excel", "gbk"],
            icon: "file-text",
        }
    }

    fn check(&self, config: &Self::Config, ctx: &NodeContext, _inputs: &PortSchemas) -> Vec<ConfigProblem> {
        let mut problems = config.write_options().err().unwrap_or_default();
        problems.extend(check_target(&ctx.resolve_path(&config.path), config.if_exists));
        problems
    }

    fn build(&self, config: Self::Config, ctx: &NodeContext) -> Result<NodeTask, ConfigProblem> {
        let opts = config.write_options().map_err(|mut p| p.remove(0))?;
        let path = ctx.resolve_path(&config.path);
        if let Some(p) = check_target(&path, config.if_exists).into_iter().next() {
            return Err(p);
        }
        let planned_fields = ctx.input_schemas.get("in").cloned();
        Ok(NodeTask::Blocking(Box::new(CsvSinkTask { path, opts, header: config.header, if_exists: config.if_exists, planned_fields })))
    }
}

struct CsvSinkTask {
    path: PathBuf,
    opts: WriteOptions,
    header: bool,
    if_exists: IfExists,
    /// The input's fields known at design time: the header of a file that gets no rows.
    planned_fields: Option<SchemaRef>,
}

/// Output buffer size: written to the file each time it fills.
const FLUSH_AT: usize = 1 << 20;

/// Columns of the output, and how each batch schema maps onto them.
struct Columns {
    names: Vec<String>,
    /// The last batch schema seen and, per column, its index in that schema.
    mapping: Option<(SchemaRef, Vec<Option<usize>>)>,
    warned: bool,
}

impl Columns {
    fn map_for(&mut self, schema: &SchemaRef, io: &NodeIo) -> &[Option<usize>] {
        let stale = match &self.mapping {
            Some((s, _)) => !Arc::ptr_eq(s, schema) && **s != **schema,
            None => true,
        };
        if stale {
            let map: Vec<Option<usize>> = self.names.iter().map(|n| schema.index_of(n)).collect();
            if !self.warned {
                let dropped: Vec<&str> = schema.names().filter(|n| !self.names.iter().any(|c| c == n)).collect();
                let missing: Vec<&str> =
                    self.names.iter().zip(&map).filter(|(_, m)| m.is_none()).map(|(n, _)| n.as_str()).collect();
                if !dropped.is_empty() || !missing.is_empty() {
                    self.warned = true;
                    io.log(
                        LogLevel::Warn,
                        format!(
                            "rows arrived with other fields than the file's columns: not written: [{}]; left empty: [{}]",
                            dropped.join(", "),
                            missing.join(", ")
                        ),
                    );
                }
            }
            self.mapping = Some((schema.clone(), map));
        }
        &self.mapping.as_ref().expect("set above").1
    }

    fn is_identity(map: &[Option<usize>], width: usize) -> bool {
        map.len() == width && map.iter().enumerate().all(|(i, m)| *m == Some(i))
    }
}

impl BlockingNode for CsvSinkTask {
    fn run(self: Box<Self>, io: &mut NodeIo) -> Result<(), NodeError> {
        let mut out = AtomicOutput::create(&self.path, self.if_exists).map_err(NodeError::msg)?;
        io.on_failure(out.discard_action());
        let mut writer = CsvRowWriter::new(self.opts.clone());
        let line_ending = writer.line_ending();
        let mut buf: Vec<u8> = Vec::with_capacity(FLUSH_AT + 64 * 1024);
        let appending = out.appends_to_content();
        let mut columns: Option<Columns> = None;

        loop {
            let batch = match io.recv("in") {
                Ok(Some(b)) => b,
                Ok(None) => break,
                Err(NodeError::Cancelled) => {
                    io.log(LogLevel::Warn, format!("run did not finish: {} left unchanged", self.path.display()));
                    return Err(NodeError::Cancelled);
                }
                Err(e) => return Err(e),
            };
            let Batch { schema, rows } = batch;
            if columns.is_none() {
                // A file written without a header has no names to follow.
                let names = if appending && self.header {
                    existing_columns(&self.path, &self.opts, &schema)?
                } else {
                    schema.names().map(str::to_string).collect()
                };
                if !appending {
                    buf.extend_from_slice(writer.bom());
                    if self.header {
                        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
                        writer.write_header(&refs, &mut buf).map_err(|e| {
                            NodeError::msg(format!("the header {e}")).with_field(names[e.column].clone())
                        })?;
                    }
                }
                columns = Some(Columns { names, mapping: None, warned: false });
            }
            let cols = columns.as_mut().expect("set above");
            let map = cols.map_for(&schema, io).to_vec();
            let identity = Columns::is_identity(&map, schema.len());
            let mut errors = Vec::new();
            for row in rows {
                let r = if identity {
                    writer.write_row(row.iter().map(Some), &mut buf)
                } else {
                    writer.write_row(map.iter().map(|m| m.map(|i| &row[i])), &mut buf)
                };
                if let Err(e) = r {
                    let field = map[e.column].map(|i| schema.fields()[i].name.clone()).unwrap_or_default();
                    errors.push(RowError::new(e.to_string(), row).field(field));
                }
            }
            if buf.len() >= FLUSH_AT {
                out.write_all(&buf).map_err(NodeError::msg)?;
                io.add_bytes(buf.len() as u64);
                buf.clear();
            }
            io.send_errors(&schema, errors)?;
        }
        if columns.is_none() && self.header && !appending {
            // No rows came, but the fields were known: still write the header, so the file
            // says what it would hold.
            if let Some(schema) = self.planned_fields.as_ref().filter(|s| !s.is_empty()) {
                buf.extend_from_slice(writer.bom());
                let names: Vec<&str> = schema.names().collect();
                writer.write_header(&names, &mut buf).map_err(|e| NodeError::msg(format!("the header {e}")))?;
            }
        }
        out.write_all(&buf).map_err(NodeError::msg)?;
        io.add_bytes(buf.len() as u64);
        let pending = out.into_pending(line_ending);
        io.on_success(move || pending.commit());
        Ok(())
    }
}

/// The columns of the file being appended to, from its header. Rows must not carry fields
/// the file has no column for: they would be lost without a word.
fn existing_columns(path: &Path, opts: &WriteOptions, schema: &SchemaRef) -> Result<Vec<String>, NodeError> {
    let read = ReadOptions {
        delimiter: opts.delimiter,
        quote: opts.quote,
        encoding: opts.encoding.read_encoding(),
        ..ReadOptions::default()
    };
    let header = read_header(path, &read)
        .map_err(|e| NodeError::msg(format!("cannot read the header of the file to append to: {e}")))?;
    let Some(names) = header else {
        return Ok(schema.names().map(str::to_string).collect());
    };
    let extra: Vec<&str> = schema.names().filter(|n| !names.iter().any(|c| c == n)).collect();
    if !extra.is_empty() {
        return Err(NodeError::msg(format!(
            "{} has no column for the fields [{}] (its columns: {}); nothing was appended",
            path.display(),
            extra.join(", "),
            names.join(", ")
        )));
    }
    Ok(names)
}

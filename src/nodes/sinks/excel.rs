//! `excel_sink`: writes rows to one sheet of a new .xlsx workbook, in constant memory.
//!
//! Like every file sink the output is atomic: the workbook is assembled in a hidden temp
//! file beside the target and moved into place only when the whole run succeeded.
//!
//! How values become cells: ints, floats and decimals are numbers (decimals shown with
//! their own number of decimal places, `12.50` stays `12.50`); a value an Excel number
//! (f64) cannot hold exactly — integers beyond ±2^53, decimals with more than about 15
//! significant digits — is written as text with its exact digits, so nothing is lost, and
//! a warning counts them. Dates and date-times are date cells (`yyyy-mm-dd`,
//! `yyyy-mm-dd hh:mm:ss`); Excel has no time zones, so a date-time is written as the
//! wall-clock time in its own offset. JSON is written as its text. Rows beyond Excel's
//! 1,048,576-row limit leave by the `error` output.

use crate::connectors::excel::{check_sheet_name, RowWriteError, SheetWriter, MAX_COLS, MAX_ROWS};
use crate::connectors::json::{commit_output, discard_output, ensure_parent, temp_path_for, ExistingFile};
use crate::exec::{BlockingNode, LogLevel, NodeError, NodeIo, RowError};
use crate::nodes::{Category, ConfigProblem, NodeContext, NodeKind, NodeMeta, NodeTask, PortSchemas};
use crate::value::{SchemaRef, Value};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;

/// Writes rows to a sheet of a new Excel workbook (.xlsx).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExcelSinkConfig {
    /// The workbook to write (.xlsx), relative to the flow file's folder (or absolute). A
    /// missing folder is created. The file appears (or is replaced) only when the whole run
    /// succeeds.
    #[schemars(extend("x-path" = "file"))]
    pub path: String,
    /// Name of the sheet (at most 31 characters, none of `[ ] : * ? / \`).
    #[serde(default = "default_sheet")]
    pub sheet: String,
    /// Write the field names as a bold first row (frozen, so it stays visible).
    #[serde(default = "default_true")]
    pub header: bool,
    /// When the file already exists: `overwrite` replaces it, `fail` stops the run and
    /// keeps it.
    #[serde(default)]
    pub if_exists: ExcelIfExists,
}

fn default_sheet() -> String {
    "Sheet1".into()
}
fn default_true() -> bool {
    true
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExcelIfExists {
    /// Replace the existing file.
    #[default]
    Overwrite,
    /// Stop the run; the existing file is kept.
    Fail,
}

pub struct ExcelSink;

impl NodeKind for ExcelSink {
    type Config = ExcelSinkConfig;

    fn meta(&self) -> NodeMeta {
        NodeMeta {
            kind: "excel_sink",
            category: Category::Sink,
            title: "Write Excel",
            description: "Writes rows to a sheet of a new Excel workbook (.xlsx), with typed number, date and text cells. Handles large outputs in constant memory.",
            keywords: &["excel", "xlsx", "spreadsheet", "workbook", "sheet", "表格", "export", "report"],
            icon: "sheet",
        }
    }

    fn check(&self, config: &Self::Config, ctx: &NodeContext, _inputs: &PortSchemas) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if let Err(m) = check_sheet_name(&config.sheet) {
            problems.push(ConfigProblem::new("sheet", m));
        }
        if !config.path.contains("${") {
            let path = ctx.resolve_path(&config.path);
            let ext = path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase());
            if ext.as_deref() != Some("xlsx") {
                problems.push(
                    ConfigProblem::new("path", format!("{} should end in .xlsx", path.display()))
                        .hint("Excel refuses to open a workbook whose extension does not match its format"),
                );
            }
        }
        problems
    }

    fn build(&self, config: Self::Config, ctx: &NodeContext) -> Result<NodeTask, ConfigProblem> {
        let path = ctx.resolve_path(&config.path);
        check_sheet_name(&config.sheet).map_err(|m| ConfigProblem::new("sheet", m))?;
        if path.is_dir() {
            return Err(ConfigProblem::new("path", format!("{} is a folder; give a file name", path.display())));
        }
        if config.if_exists == ExcelIfExists::Fail && path.exists() {
            return Err(ConfigProblem::new("path", format!("{} already exists (if_exists is 'fail')", path.display()))
                .hint("remove the file, or set if_exists to overwrite"));
        }
        Ok(NodeTask::Blocking(Box::new(ExcelSinkTask { path, config })))
    }
}

struct ExcelSinkTask {
    path: PathBuf,
    config: ExcelSinkConfig,
}

static NULL: Value = Value::Null;

/// How the fields of incoming batches map onto the sheet's columns (fixed by the first
/// batch): for each column, the batch field it takes its value from.
struct Columns {
    names: Vec<String>,
    schema: SchemaRef,
    from: Vec<Option<usize>>,
}

impl Columns {
    fn adapt(&mut self, schema: &SchemaRef, io: &NodeIo, warned: &mut bool) {
        if Arc::ptr_eq(&self.schema, schema) {
            return;
        }
        self.from = self.names.iter().map(|n| schema.index_of(n)).collect();
        let extra: Vec<&str> = schema.names().filter(|n| !self.names.iter().any(|c| c == n)).collect();
        if !extra.is_empty() && !*warned {
            *warned = true;
            io.log(
                LogLevel::Warn,
                format!("fields not among the sheet's columns (set by the first rows) are not written: {}", extra.join(", ")),
            );
        }
        self.schema = schema.clone();
    }
}

impl BlockingNode for ExcelSinkTask {
    fn run(self: Box<Self>, io: &mut NodeIo) -> Result<(), NodeError> {
        let path = self.path;
        let sheet = self.config.sheet.clone();
        ensure_parent(&path).map_err(|e| NodeError::io("create the folder of", &path, &e))?;
        let temp = temp_path_for(&path);
        {
            let t = temp.clone();
            io.on_failure(move || discard_output(&t));
        }
        let mut w = SheetWriter::new(&sheet).map_err(|m| NodeError::msg(m).with_field("sheet"))?;
        let mut cols: Option<Columns> = None;
        let mut warned_fields = false;
        let mut warned_limit = false;
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
            let cols = match &mut cols {
                Some(c) => {
                    c.adapt(&batch.schema, io, &mut warned_fields);
                    c
                }
                None => {
                    let names: Vec<String> = batch.schema.names().map(str::to_string).collect();
                    if names.len() > MAX_COLS {
                        return Err(NodeError::msg(format!(
                            "Excel sheets hold at most {MAX_COLS} columns; the rows have {} fields (select fewer fields first)",
                            names.len()
                        )));
                    }
                    let types: Vec<_> = batch.schema.fields().iter().map(|f| f.data_type).collect();
                    w.set_column_types(&types).map_err(NodeError::msg)?;
                    if self.config.header {
                        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
                        w.write_header(&refs).map_err(NodeError::msg)?;
                    }
                    let from = (0..names.len()).map(Some).collect();
                    cols.insert(Columns { names, schema: batch.schema.clone(), from })
                }
            };
            let mut errors = Vec::new();
            for row in &batch.rows {
                let values: Vec<&Value> = cols.from.iter().map(|i| i.and_then(|i| row.get(i)).unwrap_or(&NULL)).collect();
                match w.write_row(&values) {
                    Ok(()) => {}
                    Err(RowWriteError::RowLimit { row: n }) => {
                        if !warned_limit {
                            warned_limit = true;
                            io.log(
                                LogLevel::Warn,
                                format!("sheet '{sheet}' is full ({MAX_ROWS} rows); further rows go to the error output"),
                            );
                        }
                        errors.push(RowError::new(
                            format!(
                                "Excel sheets hold at most {MAX_ROWS} rows (header included); this row would be row {n} of sheet '{sheet}' — split the output over several files, or write CSV"
                            ),
                            row.clone(),
                        ));
                    }
                    Err(RowWriteError::Cell { col, message }) => {
                        errors.push(RowError::new(message, row.clone()).field(cols.names[col].clone()));
                    }
                    Err(RowWriteError::Fatal(m)) => return Err(NodeError::msg(format!("cannot write {}: {m}", path.display()))),
                }
            }
            io.send_errors(&batch.schema, errors)?;
        }
        let notes = w.notes.clone();
        w.save(&temp).map_err(|m| NodeError::msg(format!("cannot write {}: {m}", path.display())))?;
        if let Ok(m) = std::fs::metadata(&temp) {
            io.add_bytes(m.len());
        }
        if !notes.is_empty() {
            io.log(LogLevel::Warn, format!("{}: {notes}", path.display()));
        }
        let mode = match self.config.if_exists {
            ExcelIfExists::Overwrite => ExistingFile::Overwrite,
            ExcelIfExists::Fail => ExistingFile::Fail,
        };
        io.on_success(move || commit_output(&temp, &path, mode));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_defaults_and_checks() {
        let c: ExcelSinkConfig = serde_json::from_value(serde_json::json!({"path": "o.xlsx"})).unwrap();
        assert_eq!((c.sheet.as_str(), c.header, c.if_exists), ("Sheet1", true, ExcelIfExists::Overwrite));
        let ctx = NodeContext { node_id: "s".into(), base_dir: ".".into(), params: Default::default(), settings: Default::default(), ..Default::default() };
        assert!(ExcelSink.check(&c, &ctx, &PortSchemas::new()).is_empty());
        let c: ExcelSinkConfig = serde_json::from_value(serde_json::json!({"path": "o.csv", "sheet": "a:b"})).unwrap();
        let p = ExcelSink.check(&c, &ctx, &PortSchemas::new());
        assert_eq!(p.iter().map(|p| p.field.as_str()).collect::<Vec<_>>(), vec!["sheet", "path"]);
        assert!(serde_json::from_value::<ExcelSinkConfig>(serde_json::json!({"path": "o.xlsx", "if_exists": "append"})).is_err());
    }
}

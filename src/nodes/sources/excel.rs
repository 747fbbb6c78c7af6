//! `excel_source`: rows of one sheet of an .xlsx workbook, streamed.
//!
//! The sheet is read cell by cell from its XML stream (see [`crate::connectors::excel`]),
//! never loaded whole. The first `infer_rows` data rows are kept while the column types
//! are learnt, then sent, and the rest of the sheet follows in the same pass. At design
//! time the same sample gives the fields.
//!
//! Row numbers in errors are the sheet's own (1-based, as Excel shows them), and cell
//! errors name the cell (`C7`). Rows with no value in any cell are skipped.

use super::json::TypeOverrides;
use crate::connectors::excel::{
    cell_ref, cell_value, coerce, column_name, header_text, is_xlsx_path, open_workbook, resolve_sheet, widen_cell,
    CellValue, MissingSheet, OpenError, RowReader, Zone,
};
use crate::exec::{BlockingNode, LogLevel, NodeError, NodeIo, RowError};
use crate::nodes::{Category, ConfigProblem, NodeContext, NodeKind, NodeMeta, NodeTask, PortSchemas};
use crate::value::{Batch, DataType, Field, Row, Schema, SchemaRef, Value};
use schemars::JsonSchema;
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::Arc;

/// Reads the rows of one sheet of an Excel workbook (.xlsx).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExcelSourceConfig {
    /// The workbook to read (.xlsx or .xlsm), relative to the flow file's folder (or
    /// absolute). Legacy .xls files must be saved as .xlsx first.
    #[schemars(extend("x-path" = "file"))]
    pub path: String,
    /// Name of the sheet to read. Default: the first worksheet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
    /// Row holding the field names, as numbered in Excel (1 = the first row). Rows above it
    /// are skipped (titles, notes). With `has_header` off, the first row of data.
    #[serde(default = "default_header_row")]
    #[schemars(range(min = 1, max = 1048576))]
    pub header_row: u32,
    /// Whether `header_row` holds field names. When off, the fields are named after the
    /// columns: `A`, `B`, `C`, ...
    #[serde(default = "default_true")]
    pub has_header: bool,
    /// How many data rows to look at to learn each column's type: whole numbers → int,
    /// other numbers → float, TRUE/FALSE → bool, dates → date (or datetime when a time of
    /// day is set), text → string; mixed columns widen (text with anything else → string).
    #[serde(default = "default_infer_rows")]
    #[schemars(range(min = 0))]
    pub infer_rows: usize,
    /// Types to use instead of the inferred ones, by field name (e.g. `{"订单号": "string",
    /// "金额": "decimal"}`). Cells are converted: numbers to text, text parsed as the type,
    /// numbers in a date field read as Excel serial dates.
    #[serde(default)]
    #[schemars(with = "std::collections::BTreeMap<String, DataType>")]
    pub types: TypeOverrides,
    /// Time zone of the date-times in the sheet (Excel stores wall-clock times without a
    /// zone), as an IANA name such as `Asia/Shanghai`. Default: UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
}

fn default_header_row() -> u32 {
    1
}
fn default_true() -> bool {
    true
}
fn default_infer_rows() -> usize {
    1000
}

pub struct ExcelSource;

/// Why a sheet could not be read.
enum ReadError {
    Io(std::io::Error),
    Format(String),
    Sheet(MissingSheet),
    Config { field: &'static str, message: String },
}

impl ReadError {
    fn into_node_error(self, r: &Reading) -> NodeError {
        match self {
            ReadError::Io(e) => NodeError::io("open Excel file", &r.path, &e),
            ReadError::Format(m) => NodeError::msg(format!("cannot read {}: {m}", r.path.display())),
            ReadError::Sheet(m) => NodeError::msg(format!("{}: {m}", r.path.display())).with_field("sheet"),
            ReadError::Config { field, message } => NodeError::msg(message).with_field(field),
        }
    }
}

/// The resolved reading plan of one node.
#[derive(Debug, Clone)]
struct Reading {
    path: PathBuf,
    sheet: Option<String>,
    /// 0-based.
    header_row: u32,
    has_header: bool,
    infer_rows: usize,
    types: Vec<(String, DataType)>,
    zone: Zone,
}

/// What the sample found: the fields, and the rows read on the way (kept to be sent).
struct Sampled {
    schema: SchemaRef,
    rows: Vec<(u32, Vec<CellValue>)>,
}

impl Reading {
    fn new(config: &ExcelSourceConfig, ctx: &NodeContext) -> Result<Self, ConfigProblem> {
        Ok(Reading {
            path: ctx.resolve_path(&config.path),
            sheet: config.sheet.clone().filter(|s| !s.is_empty()),
            header_row: config.header_row.max(1) - 1,
            has_header: config.has_header,
            infer_rows: config.infer_rows,
            types: config.types.0.clone(),
            zone: Zone::parse(config.timezone.as_deref()).map_err(|m| ConfigProblem::new("timezone", m))?,
        })
    }

    fn xlsx_error(&self, sheet: &str, e: calamine::XlsxError) -> ReadError {
        ReadError::Format(format!("sheet '{sheet}': {e}"))
    }

    /// Reads the header and up to `infer_rows` data rows from `rows`, and works out the
    /// fields.
    fn sample(&self, sheet: &str, rows: &mut RowReader) -> Result<Sampled, ReadError> {
        let mut header: Vec<String> = Vec::new();
        let mut types: Vec<Option<DataType>> = Vec::new();
        let mut width = 0usize;
        let mut kept = Vec::new();
        let first_data = if self.has_header { self.header_row + 1 } else { self.header_row };
        while kept.len() < self.infer_rows || (self.has_header && header.is_empty() && kept.is_empty()) {
            let Some((r, cells)) = rows.next_row().map_err(|e| self.xlsx_error(sheet, e))? else { break };
            if self.has_header && r == self.header_row {
                header = cells.iter().map(header_text).collect();
                while header.last().is_some_and(|h| h.trim().is_empty()) {
                    header.pop();
                }
                continue;
            }
            if r < first_data {
                continue;
            }
            let values: Vec<CellValue> = cells.iter().map(|c| cell_value(c, self.zone)).collect();
            if values.iter().all(|v| *v == CellValue::Empty) {
                continue;
            }
            for (c, v) in values.iter().enumerate() {
                if *v == CellValue::Empty {
                    continue;
                }
                width = width.max(c + 1);
                if types.len() < width {
                    types.resize(width, None);
                }
                if let CellValue::Value(v) = v {
                    if let Some(t) = v.data_type() {
                        types[c] = Some(types[c].map_or(t, |prev| widen_cell(prev, t)));
                    }
                }
            }
            kept.push((r, values));
            if self.infer_rows == 0 {
                break;
            }
        }
        let width = width.max(header.len());
        let names: Vec<String> = if self.has_header {
            header.resize(width, String::new());
            Schema::unique_names(header)
        } else {
            (0..width as u32).map(column_name).collect()
        };
        types.resize(width, None);
        let mut fields: Vec<Field> =
            names.into_iter().zip(types).map(|(n, t)| Field::new(n, t.unwrap_or(DataType::String))).collect();
        for (name, ty) in &self.types {
            match fields.iter_mut().find(|f| &f.name == name) {
                Some(f) => f.data_type = *ty,
                None => {
                    let known: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
                    return Err(ReadError::Config {
                        field: "types",
                        message: format!(
                            "types names the field '{name}', but sheet '{sheet}' has no such column; its fields are: {}",
                            known.join(", ")
                        ),
                    });
                }
            }
        }
        // With infer_rows 0 the one row read is still data; otherwise all kept rows are.
        Ok(Sampled { schema: Arc::new(Schema::new(fields)), rows: kept })
    }
}

fn open(r: &Reading) -> Result<(crate::connectors::excel::Workbook, String), ReadError> {
    let wb = open_workbook(&r.path).map_err(|e| match e {
        OpenError::Io(e) => ReadError::Io(e),
        OpenError::Format(m) => ReadError::Format(m),
    })?;
    let sheet = resolve_sheet(&wb, r.sheet.as_deref()).map_err(ReadError::Sheet)?;
    Ok((wb, sheet))
}

impl NodeKind for ExcelSource {
    type Config = ExcelSourceConfig;

    fn meta(&self) -> NodeMeta {
        NodeMeta {
            kind: "excel_source",
            category: Category::Source,
            title: "Read Excel",
            description: "Reads the rows of one sheet of an Excel workbook (.xlsx), with the field names from a header row. Streams large sheets.",
            keywords: &["excel", "xlsx", "spreadsheet", "workbook", "sheet", "表格", "file", "import"],
            icon: "sheet",
        }
    }

    fn check(&self, config: &Self::Config, ctx: &NodeContext, _inputs: &PortSchemas) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if let Err(m) = Zone::parse(config.timezone.as_deref()) {
            problems.push(ConfigProblem::new("timezone", m));
        }
        if !config.path.contains("${") {
            let path = ctx.resolve_path(&config.path);
            if !is_xlsx_path(&path) {
                problems.push(
                    ConfigProblem::new("path", format!("{} is not an .xlsx workbook", path.display()))
                        .hint("open it in Excel or LibreOffice and save it as .xlsx"),
                );
            } else if !path.is_file() {
                problems.push(
                    ConfigProblem::new("path", format!("file not found: {}", path.display()))
                        .hint("check the path; relative paths start at the flow file's folder"),
                );
            }
        }
        problems
    }

    fn output_schemas(&self, config: &Self::Config, ctx: &NodeContext, _inputs: &PortSchemas) -> Result<PortSchemas, ConfigProblem> {
        let Ok(reading) = Reading::new(config, ctx) else { return Ok(PortSchemas::new()) };
        if !is_xlsx_path(&reading.path) {
            return Ok(PortSchemas::new());
        }
        let sampled = open(&reading).and_then(|(mut wb, sheet)| {
            let mut rows = RowReader::new(&mut wb, &sheet).map_err(|e| reading.xlsx_error(&sheet, e))?;
            reading.sample(&sheet, &mut rows)
        });
        match sampled {
            Ok(s) => Ok(PortSchemas::from([("out".to_string(), s.schema)])),
            // A missing file is reported by `check`; fields are then unknown.
            Err(ReadError::Io(_)) => Ok(PortSchemas::new()),
            Err(ReadError::Format(m)) => Err(ConfigProblem::new("path", format!("cannot read {}: {m}", reading.path.display()))),
            Err(ReadError::Sheet(m)) => {
                let mut p = ConfigProblem::new("sheet", format!("{}: {m}", reading.path.display()));
                if let Some(s) = m.wanted.as_deref().and_then(|w| crate::flow::did_you_mean(w, m.available.iter().map(String::as_str))) {
                    p = p.hint(format!("did you mean '{s}'?"));
                }
                Err(p)
            }
            Err(ReadError::Config { field, message }) => Err(ConfigProblem::new(field, message)),
        }
    }

    fn build(&self, config: Self::Config, ctx: &NodeContext) -> Result<NodeTask, ConfigProblem> {
        Ok(NodeTask::Blocking(Box::new(ExcelSourceTask { reading: Reading::new(&config, ctx)? })))
    }
}

struct ExcelSourceTask {
    reading: Reading,
}

impl BlockingNode for ExcelSourceTask {
    fn run(self: Box<Self>, io: &mut NodeIo) -> Result<(), NodeError> {
        let r = &self.reading;
        let file_len = std::fs::metadata(&r.path).map_err(|e| NodeError::io("open Excel file", &r.path, &e))?.len();
        io.set_total_bytes(file_len);
        let (mut wb, sheet) = open(r).map_err(|e| e.into_node_error(r))?;
        let mut rows = RowReader::new(&mut wb, &sheet).map_err(|e| r.xlsx_error(&sheet, e).into_node_error(r))?;
        let sampled = r.sample(&sheet, &mut rows).map_err(|e| e.into_node_error(r))?;
        let last_row = rows.last_row().max(1) as u64;
        let mut out = RowOut {
            schema: sampled.schema.clone(),
            first_data: if r.has_header { r.header_row + 1 } else { r.header_row },
            zone: r.zone,
            batch: Vec::with_capacity(io.batch_size()),
            errors: Vec::new(),
            batch_size: io.batch_size(),
            extra_cells: 0,
            progress: Progress { file_len, last_row, reported: 0 },
        };
        for (row, cells) in sampled.rows {
            out.row(io, row, cells)?;
        }
        let mut values: Vec<CellValue> = Vec::new();
        while let Some((row, cells)) = rows.next_row().map_err(|e| r.xlsx_error(&sheet, e).into_node_error(r))? {
            values.clear();
            values.extend(cells.iter().map(|c| cell_value(c, r.zone)));
            out.row(io, row, std::mem::take(&mut values))?;
        }
        out.flush(io)?;
        io.add_bytes(file_len.saturating_sub(out.progress.reported));
        if out.extra_cells > 0 {
            io.log(
                LogLevel::Warn,
                format!("{} cells right of the last column with a field name were ignored", out.extra_cells),
            );
        }
        Ok(())
    }
}

struct Progress {
    file_len: u64,
    last_row: u64,
    reported: u64,
}

struct RowOut {
    schema: SchemaRef,
    /// 0-based index of the first row that can hold data.
    first_data: u32,
    zone: Zone,
    batch: Vec<Row>,
    errors: Vec<RowError>,
    batch_size: usize,
    extra_cells: u64,
    progress: Progress,
}

impl RowOut {
    /// Converts one sheet row (0-based index `r`) and queues it or its error.
    fn row(&mut self, io: &mut NodeIo, r: u32, cells: Vec<CellValue>) -> Result<(), NodeError> {
        if r < self.first_data || cells.iter().all(|c| *c == CellValue::Empty) {
            return Ok(());
        }
        let fields = self.schema.fields();
        let mut row: Row = Vec::with_capacity(fields.len());
        let mut problems: Vec<(usize, String)> = Vec::new();
        let mut cells = cells.into_iter();
        for (c, f) in fields.iter().enumerate() {
            let v = match cells.next().unwrap_or(CellValue::Empty) {
                CellValue::Empty => Value::Null,
                CellValue::Value(v) => coerce(v, f.data_type, self.zone).unwrap_or_else(|m| {
                    problems.push((c, format!("{}: {m}", cell_ref(r, c as u32))));
                    Value::Null
                }),
                CellValue::Error(e) => {
                    problems.push((c, format!("{}: the cell holds the error {e}", cell_ref(r, c as u32))));
                    Value::Null
                }
            };
            row.push(v);
        }
        self.extra_cells += cells.filter(|c| *c != CellValue::Empty).count() as u64;
        if problems.is_empty() {
            self.batch.push(row);
            if self.batch.len() >= self.batch_size {
                self.progress_to(io, r);
                self.flush(io)?;
            }
        } else {
            let message = problems.iter().map(|(_, m)| m.as_str()).collect::<Vec<_>>().join("; ");
            let field = fields[problems[0].0].name.clone();
            self.errors.push(RowError::new(message, row).field(field).line(r as u64 + 1));
            if self.errors.len() >= self.batch_size {
                self.flush(io)?;
            }
        }
        Ok(())
    }

    /// Progress in bytes, estimated from how far down the sheet the reader is (the sheet
    /// is compressed inside the file, so bytes read say little).
    fn progress_to(&mut self, io: &NodeIo, r: u32) {
        let p = &mut self.progress;
        let est = (p.file_len as u128 * (r as u128 + 1) / (p.last_row as u128 + 1)).min(p.file_len as u128) as u64;
        if est > p.reported {
            io.add_bytes(est - p.reported);
            p.reported = est;
        }
    }

    fn flush(&mut self, io: &mut NodeIo) -> Result<(), NodeError> {
        io.check_cancelled()?;
        if !self.batch.is_empty() {
            let rows = std::mem::replace(&mut self.batch, Vec::with_capacity(self.batch_size));
            io.send("out", Batch::new(self.schema.clone(), rows))?;
        }
        if !self.errors.is_empty() {
            let errors = std::mem::take(&mut self.errors);
            io.send_errors(&self.schema, errors)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_xlsxwriter::Workbook;

    fn ctx(dir: &std::path::Path) -> NodeContext {
        NodeContext { node_id: "x".into(), base_dir: dir.to_path_buf(), params: Default::default(), settings: Default::default(), ..Default::default() }
    }

    #[test]
    fn header_row_blank_names_and_type_overrides() {
        let dir = tempfile::tempdir().unwrap();
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet().set_name("数据").unwrap();
        ws.write_string(0, 0, "Report title").unwrap();
        ws.write_string(2, 0, "id").unwrap();
        ws.write_string(2, 2, "id").unwrap();
        ws.write_number(3, 0, 1).unwrap();
        ws.write_number(3, 1, 2.5).unwrap();
        ws.write_string(3, 2, "x").unwrap();
        ws.write_number(3, 3, 9).unwrap();
        wb.save(dir.path().join("b.xlsx")).unwrap();
        let c: ExcelSourceConfig =
            serde_json::from_value(serde_json::json!({"path": "b.xlsx", "header_row": 3, "types": {"id": "string"}})).unwrap();
        let out = ExcelSource.output_schemas(&c, &ctx(dir.path()), &PortSchemas::new()).unwrap();
        let got: Vec<(String, DataType)> = out["out"].fields().iter().map(|f| (f.name.clone(), f.data_type)).collect();
        assert_eq!(
            got,
            vec![
                ("id".into(), DataType::String),
                ("field_2".into(), DataType::Float),
                ("id_2".into(), DataType::String),
                ("field_4".into(), DataType::Int),
            ]
        );
        let c: ExcelSourceConfig = serde_json::from_value(serde_json::json!({"path": "b.xlsx", "has_header": false, "header_row": 4})).unwrap();
        let out = ExcelSource.output_schemas(&c, &ctx(dir.path()), &PortSchemas::new()).unwrap();
        assert_eq!(out["out"].names().collect::<Vec<_>>(), vec!["A", "B", "C", "D"]);
        let c: ExcelSourceConfig = serde_json::from_value(serde_json::json!({"path": "b.xlsx", "types": {"nope": "int"}})).unwrap();
        let p = ExcelSource.output_schemas(&c, &ctx(dir.path()), &PortSchemas::new()).unwrap_err();
        assert_eq!(p.field, "types");
    }

    #[test]
    fn check_rejects_legacy_formats_and_bad_zones() {
        let dir = tempfile::tempdir().unwrap();
        let c: ExcelSourceConfig = serde_json::from_value(serde_json::json!({"path": "old.xls", "timezone": "Nowhere/City"})).unwrap();
        let p = ExcelSource.check(&c, &ctx(dir.path()), &PortSchemas::new());
        assert_eq!(p.len(), 2, "{p:?}");
    }
}

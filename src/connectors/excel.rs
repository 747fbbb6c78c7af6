//! Excel .xlsx: reading a sheet row by row (calamine's streaming cell reader) and writing
//! one sheet in constant memory (rust_xlsxwriter), with cell ↔ value conversion.
//!
//! Reading keeps the workbook's shared-string table and styles in memory (as Excel
//! itself does) but never the sheet: cells are pulled from the XML stream and grouped into
//! rows as they come. Writing streams each row to a temporary file of rust_xlsxwriter's,
//! so memory stays flat however many rows are written.
//!
//! Left out on purpose: legacy .xls, .xlsb and .ods (no streaming reader; save them as
//! .xlsx), formulas (the cached value is read, a formula is never written), merged cells
//! and rich text formatting.

use crate::value::{parse_date, parse_text_as, widen, DataType, Value};
use calamine::{DataRef, Reader, SheetType, Xlsx, XlsxCellReader, XlsxError};
use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};
use rust_decimal::Decimal;
use rust_xlsxwriter::{ExcelDateTime as XDateTime, Format, Workbook as XWorkbook};
use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader};
use std::path::Path;
use std::str::FromStr;

/// Rows per sheet, header included.
pub const MAX_ROWS: u32 = 1_048_576;
/// Columns per sheet.
pub const MAX_COLS: usize = 16_384;
/// Characters per cell.
pub const MAX_CELL_CHARS: usize = 32_767;
/// Integers beyond ±2^53 do not survive Excel's f64 numbers.
const MAX_EXACT_INT: i64 = 1 << 53;

// ---------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------

pub type Workbook = Xlsx<BufReader<File>>;

/// Why a workbook could not be opened.
#[derive(Debug)]
pub enum OpenError {
    Io(io::Error),
    /// The file is not a readable .xlsx workbook.
    Format(String),
}

/// Whether the path names a workbook format this module reads.
pub fn is_xlsx_path(path: &Path) -> bool {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .is_some_and(|e| e == "xlsx" || e == "xlsm")
}

/// Opens an .xlsx workbook: reads its sheet list, shared strings and styles (not its sheets).
pub fn open_workbook(path: &Path) -> Result<Workbook, OpenError> {
    let file = File::open(path).map_err(OpenError::Io)?;
    Xlsx::new(BufReader::with_capacity(256 * 1024, file)).map_err(|e| match e {
        XlsxError::Io(e) => OpenError::Io(e),
        XlsxError::Password => OpenError::Format("the workbook is password protected; save a copy without a password".into()),
        XlsxError::Zip(z) => OpenError::Format(format!("not an .xlsx workbook ({z}); legacy .xls and .ods files must be saved as .xlsx first")),
        other => OpenError::Format(format!("not a readable .xlsx workbook: {other}")),
    })
}

/// A sheet that could not be found.
#[derive(Debug, Clone, PartialEq)]
pub struct MissingSheet {
    pub wanted: Option<String>,
    pub available: Vec<String>,
}

impl std::fmt::Display for MissingSheet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list = self.available.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", ");
        match &self.wanted {
            Some(w) if self.available.is_empty() => write!(f, "no sheet named '{w}': the workbook has no worksheets"),
            Some(w) => write!(f, "no sheet named '{w}'; the workbook's sheets are: {list}"),
            None => write!(f, "the workbook has no worksheets"),
        }
    }
}

/// The worksheet to read: the one named, or the first worksheet. Chart sheets are not
/// worksheets and are not candidates.
pub fn resolve_sheet(wb: &Workbook, wanted: Option<&str>) -> Result<String, MissingSheet> {
    let available: Vec<String> =
        wb.sheets_metadata().iter().filter(|s| s.typ == SheetType::WorkSheet).map(|s| s.name.clone()).collect();
    let found = match wanted {
        Some(w) => available.iter().find(|s| s.as_str() == w).or_else(|| available.iter().find(|s| s.trim() == w.trim())),
        None => available.first(),
    };
    found.cloned().ok_or(MissingSheet { wanted: wanted.map(str::to_string), available })
}

/// Rows of one sheet, each a slice of cells indexed by 0-based column (gaps are empty).
/// Rows Excel has no cells for are not returned.
pub struct RowReader<'a> {
    cells: XlsxCellReader<'a, BufReader<File>>,
    pending: Option<calamine::Cell<DataRef<'a>>>,
    row: Vec<DataRef<'a>>,
    last_row: u32,
    /// The reader said the sheet ended; asking it again would read past the sheet data.
    done: bool,
}

impl<'a> RowReader<'a> {
    pub fn new(wb: &'a mut Workbook, sheet: &str) -> Result<Self, XlsxError> {
        let cells = wb.worksheet_cells_reader(sheet)?;
        let last_row = cells.dimensions().end.0;
        Ok(RowReader { cells, pending: None, row: Vec::new(), last_row, done: false })
    }

    /// The 0-based index of the last row the sheet declares (for progress).
    pub fn last_row(&self) -> u32 {
        self.last_row
    }

    /// The next row with any cell: its 0-based row index and its cells.
    pub fn next_row(&mut self) -> Result<Option<(u32, &[DataRef<'a>])>, XlsxError> {
        self.row.clear();
        let first = match self.pending.take() {
            Some(c) => c,
            None if self.done => return Ok(None),
            None => match self.cells.next_cell()? {
                Some(c) => c,
                None => {
                    self.done = true;
                    return Ok(None);
                }
            },
        };
        let r = first.get_position().0;
        self.place(&first);
        loop {
            match self.cells.next_cell()? {
                Some(c) if c.get_position().0 == r => self.place(&c),
                Some(c) => {
                    self.pending = Some(c);
                    break;
                }
                None => {
                    self.done = true;
                    break;
                }
            }
        }
        Ok(Some((r, &self.row)))
    }

    fn place(&mut self, c: &calamine::Cell<DataRef<'a>>) {
        let col = c.get_position().1 as usize;
        if col >= MAX_COLS {
            return;
        }
        if col >= self.row.len() {
            self.row.resize(col + 1, DataRef::Empty);
        }
        self.row[col] = c.get_value().clone();
    }
}

/// Column letters of a 0-based column index (0 → A, 26 → AA).
pub fn column_name(col: u32) -> String {
    let mut n = col as u64 + 1;
    let mut out = Vec::new();
    while n > 0 {
        let rem = ((n - 1) % 26) as u8;
        out.push(b'A' + rem);
        n = (n - 1) / 26;
    }
    out.reverse();
    String::from_utf8(out).expect("ASCII letters")
}

/// A cell reference (`C7`) from 0-based row and column.
pub fn cell_ref(row: u32, col: u32) -> String {
    format!("{}{}", column_name(col), row as u64 + 1)
}

/// The time zone date-times without one are read in (Excel stores wall-clock times).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Zone {
    #[default]
    Utc,
    Tz(chrono_tz::Tz),
}

impl Zone {
    pub fn parse(name: Option<&str>) -> Result<Zone, String> {
        match name.map(str::trim) {
            None | Some("") | Some("UTC") | Some("utc") => Ok(Zone::Utc),
            Some(n) => n
                .parse::<chrono_tz::Tz>()
                .map(Zone::Tz)
                .map_err(|_| format!("unknown time zone '{n}'; use an IANA name such as Asia/Shanghai or UTC")),
        }
    }

    /// The instant a wall-clock time means in this zone (the earlier one when clocks go
    /// back; `None` for a time skipped when clocks go forward).
    pub fn localize(self, t: NaiveDateTime) -> Option<DateTime<FixedOffset>> {
        match self {
            Zone::Utc => Some(Utc.from_utc_datetime(&t).fixed_offset()),
            Zone::Tz(tz) => tz.from_local_datetime(&t).earliest().map(|d| d.fixed_offset()),
        }
    }
}

/// What a cell holds, as a value.
#[derive(Debug, Clone, PartialEq)]
pub enum CellValue {
    Empty,
    Value(Value),
    /// An error cell (`#DIV/0!`) or a date Excel cannot mean; the text says which.
    Error(String),
}

/// A number as Excel means it: whole numbers that fit exactly become ints.
fn number_value(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < MAX_EXACT_INT as f64 {
        Value::Int(f as i64)
    } else {
        Value::Float(f)
    }
}

fn hms_text(total_ms: i64) -> String {
    let sign = if total_ms < 0 { "-" } else { "" };
    let secs = (total_ms.abs() + 500) / 1000;
    format!("{sign}{}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

/// An Excel serial date-time (days since 1899-12-30, 1900 date system) as a naive time.
fn serial_to_naive(serial: f64) -> Option<NaiveDateTime> {
    let dt = calamine::ExcelDateTime::new(serial, calamine::ExcelDateTimeType::DateTime, false);
    ymd_to_naive(dt.to_ymd_hms_milli())
}

fn ymd_to_naive((y, mo, d, h, mi, s, ms): (u16, u8, u8, u8, u8, u8, u16)) -> Option<NaiveDateTime> {
    NaiveDate::from_ymd_opt(y as i32, mo as u32, d as u32)?.and_hms_milli_opt(h as u32, mi as u32, s as u32, ms as u32)
}

fn date_or_datetime(t: NaiveDateTime, zone: Zone) -> CellValue {
    if t.time() == chrono::NaiveTime::MIN {
        return CellValue::Value(Value::Date(t.date()));
    }
    match zone.localize(t) {
        Some(dt) => CellValue::Value(Value::DateTime(dt)),
        None => CellValue::Error(format!("{t} does not exist in the time zone (clocks went forward)")),
    }
}

/// Converts a cell. Dates without a time of day become dates, others date-times in
/// `zone`; a time of day alone (a serial below 1) and durations become text such as
/// `14:30:00`; empty text is empty.
pub fn cell_value(c: &DataRef, zone: Zone) -> CellValue {
    match c {
        DataRef::Empty => CellValue::Empty,
        DataRef::Int(i) => CellValue::Value(Value::Int(*i)),
        DataRef::Float(f) => CellValue::Value(number_value(*f)),
        DataRef::Bool(b) => CellValue::Value(Value::Bool(*b)),
        DataRef::String(s) if s.is_empty() => CellValue::Empty,
        DataRef::SharedString("") => CellValue::Empty,
        DataRef::String(s) => CellValue::Value(Value::str(s)),
        DataRef::SharedString(s) => CellValue::Value(Value::str(s)),
        DataRef::DurationIso(s) => CellValue::Value(Value::str(s)),
        DataRef::Error(e) => CellValue::Error(e.to_string()),
        DataRef::DateTime(dt) => {
            let serial = dt.as_f64();
            if dt.is_duration() {
                return CellValue::Value(Value::str(&hms_text((serial * 86_400_000.0).round() as i64)));
            }
            if (0.0..1.0).contains(&serial) {
                return CellValue::Value(Value::str(&hms_text((serial * 86_400_000.0).round() as i64)));
            }
            let parts = dt.to_ymd_hms_milli();
            match ymd_to_naive(parts) {
                Some(t) => date_or_datetime(t, zone),
                None => CellValue::Error(format!("{}-{:02}-{:02} is not a real date", parts.0, parts.1, parts.2)),
            }
        }
        DataRef::DateTimeIso(s) => {
            if let Some(d) = parse_date(s) {
                return CellValue::Value(Value::Date(d));
            }
            let naive = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"].iter().find_map(|f| NaiveDateTime::parse_from_str(s, f).ok());
            match naive {
                Some(t) => date_or_datetime(t, zone),
                None => match crate::value::parse_datetime(s) {
                    Some(dt) => CellValue::Value(Value::DateTime(dt)),
                    None => CellValue::Value(Value::str(s)),
                },
            }
        }
    }
}

/// Header text of a cell.
pub fn header_text(c: &DataRef) -> String {
    match cell_value(c, Zone::Utc) {
        CellValue::Empty => String::new(),
        CellValue::Value(v) => v.to_text().unwrap_or_default(),
        CellValue::Error(e) => e,
    }
}

/// Combines the types seen in a column: dates with date-times are date-times, otherwise
/// as [`widen`].
pub fn widen_cell(a: DataType, b: DataType) -> DataType {
    match (a, b) {
        (DataType::Date, DataType::DateTime) | (DataType::DateTime, DataType::Date) => DataType::DateTime,
        _ => widen(a, b),
    }
}

/// Brings a cell's value to its field's type, or says why it does not fit.
pub fn coerce(v: Value, ty: DataType, zone: Zone) -> Result<Value, String> {
    if v.data_type() == Some(ty) || v.is_null() {
        return Ok(v);
    }
    match (v, ty) {
        (Value::Int(i), DataType::Float) => Ok(Value::Float(i as f64)),
        (Value::Int(i), DataType::Decimal) => Ok(Value::Decimal(Decimal::from(i))),
        (Value::Float(f), DataType::Decimal) => {
            parse_text_as(ryu::Buffer::new().format(f), DataType::Decimal).map_err(|e| e.to_string())
        }
        (Value::Float(f), DataType::Int) => Err(format!("{f} is not a whole number (the field is int)")),
        (v @ (Value::Int(_) | Value::Float(_)), DataType::Date | DataType::DateTime) => {
            // A number in a date field is an Excel serial date that lost its date format.
            let serial = match v {
                Value::Int(i) => i as f64,
                Value::Float(f) => f,
                _ => unreachable!("matched as a number"),
            };
            let t = (1.0..2_958_466.0)
                .contains(&serial)
                .then(|| serial_to_naive(serial))
                .flatten()
                .ok_or_else(|| format!("the number {serial} is not a date (the field is {ty})"))?;
            if ty == DataType::Date {
                if t.time() != chrono::NaiveTime::MIN {
                    return Err(format!("{t} has a time of day, but the field is a date (set its type to datetime)"));
                }
                return Ok(Value::Date(t.date()));
            }
            zone.localize(t).map(Value::DateTime).ok_or_else(|| format!("{t} does not exist in the time zone"))
        }
        (Value::Date(d), DataType::DateTime) => zone
            .localize(d.and_time(chrono::NaiveTime::MIN))
            .map(Value::DateTime)
            .ok_or_else(|| format!("{d} 00:00 does not exist in the time zone")),
        (Value::DateTime(dt), DataType::Date) => {
            Err(format!("{} has a time of day, but the field is a date (set its type to datetime)", crate::value::format_datetime(&dt)))
        }
        (v, DataType::String) => Ok(Value::str(&v.to_text().unwrap_or_default())),
        (v, ty) => parse_text_as(&v.to_text().unwrap_or_default(), ty).map_err(|e| e.to_string()),
    }
}

// ---------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------

/// Checks a sheet name against Excel's rules.
pub fn check_sheet_name(name: &str) -> Result<(), String> {
    let n = name.chars().count();
    if n == 0 || n > 31 {
        return Err(format!("sheet name '{name}' must be 1 to 31 characters long"));
    }
    if let Some(c) = name.chars().find(|c| "[]:*?/\\".contains(*c)) {
        return Err(format!("sheet name '{name}' contains '{c}', which Excel does not allow in sheet names ([ ] : * ? / \\)"));
    }
    if name.starts_with('\'') || name.ends_with('\'') {
        return Err(format!("sheet name '{name}' must not start or end with an apostrophe"));
    }
    if name.eq_ignore_ascii_case("history") {
        return Err("'History' is reserved by Excel".into());
    }
    Ok(())
}

/// Values written as text because Excel's cells could not hold them exactly.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WriteNotes {
    /// Integers beyond ±2^53 (Excel numbers are f64).
    pub ints_as_text: u64,
    /// Decimals with more digits than an f64 keeps.
    pub decimals_as_text: u64,
    /// NaN and infinities.
    pub non_finite_as_text: u64,
    /// Dates outside Excel's 1900–9999 range.
    pub dates_as_text: u64,
}

impl WriteNotes {
    pub fn is_empty(&self) -> bool {
        *self == WriteNotes::default()
    }
}

impl std::fmt::Display for WriteNotes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        if self.ints_as_text > 0 {
            parts.push(format!("{} integers beyond ±2^53", self.ints_as_text));
        }
        if self.decimals_as_text > 0 {
            parts.push(format!("{} decimals with more digits than Excel keeps", self.decimals_as_text));
        }
        if self.non_finite_as_text > 0 {
            parts.push(format!("{} NaN or infinite floats", self.non_finite_as_text));
        }
        if self.dates_as_text > 0 {
            parts.push(format!("{} dates outside 1900–9999", self.dates_as_text));
        }
        write!(f, "written as text so that nothing is lost: {}", parts.join(", "))
    }
}

/// Why a row was not written.
#[derive(Debug, Clone, PartialEq)]
pub enum RowWriteError {
    /// The sheet is full; `row` is the 1-based row it would have taken.
    RowLimit { row: u64 },
    /// A value no cell can hold (text longer than 32,767 characters).
    Cell { col: usize, message: String },
    /// The writer failed; the output cannot be trusted.
    Fatal(String),
}

enum Planned<'v> {
    Blank,
    Number(f64),
    Decimal(f64, u32),
    Text(Cow<'v, str>),
    Bool(bool),
    Date(XDateTime),
    DateTime(XDateTime),
}

/// An f64 that reads back as exactly this decimal, if there is one.
fn decimal_as_f64(d: &Decimal) -> Option<f64> {
    let f: f64 = d.to_string().parse().ok()?;
    if !f.is_finite() {
        return None;
    }
    let text = ryu::Buffer::new().format_finite(f).to_string();
    let back = Decimal::from_str(&text).or_else(|_| Decimal::from_scientific(&text)).ok()?;
    (back == *d).then_some(f)
}

fn text_cell(s: Cow<'_, str>) -> Result<Planned<'_>, String> {
    // Cheap byte test first: a string of at most 32,767 bytes has at most as many chars.
    if s.len() > MAX_CELL_CHARS && s.chars().count() > MAX_CELL_CHARS {
        return Err(format!(
            "text of {} characters does not fit an Excel cell (at most {MAX_CELL_CHARS})",
            s.chars().count()
        ));
    }
    Ok(Planned::Text(s))
}

fn plan_cell<'v>(v: &'v Value, notes: &mut WriteNotes) -> Result<Planned<'v>, String> {
    Ok(match v {
        Value::Null => Planned::Blank,
        Value::Bool(b) => Planned::Bool(*b),
        Value::Int(i) if i.unsigned_abs() <= MAX_EXACT_INT as u64 => Planned::Number(*i as f64),
        Value::Int(i) => {
            notes.ints_as_text += 1;
            Planned::Text(Cow::Owned(i.to_string()))
        }
        Value::Float(f) if f.is_finite() => Planned::Number(*f),
        Value::Float(f) => {
            notes.non_finite_as_text += 1;
            Planned::Text(Cow::Owned(f.to_string()))
        }
        Value::Decimal(d) => match decimal_as_f64(d) {
            Some(f) => Planned::Decimal(f, d.scale()),
            None => {
                notes.decimals_as_text += 1;
                Planned::Text(Cow::Owned(d.to_string()))
            }
        },
        Value::String(s) => return text_cell(Cow::Borrowed(s.as_str())),
        Value::Date(d) => match excel_date(*d) {
            Some(x) => Planned::Date(x),
            None => {
                notes.dates_as_text += 1;
                Planned::Text(Cow::Owned(d.format("%Y-%m-%d").to_string()))
            }
        },
        Value::DateTime(dt) => {
            // Excel has no time zones: write the wall-clock time in the value's own offset.
            let t = dt.naive_local();
            match excel_date(t.date()).and_then(|x| {
                x.and_hms_milli(t.hour() as u16, t.minute() as u8, t.second() as u8, (t.nanosecond() / 1_000_000).min(999) as u16)
                    .ok()
            }) {
                Some(x) => Planned::DateTime(x),
                None => {
                    notes.dates_as_text += 1;
                    Planned::Text(Cow::Owned(crate::value::format_datetime(dt)))
                }
            }
        }
        Value::Json(j) => return text_cell(Cow::Owned(j.to_string())),
    })
}

fn excel_date(d: NaiveDate) -> Option<XDateTime> {
    if !(1900..=9999).contains(&d.year()) {
        return None;
    }
    XDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8).ok()
}

/// One sheet being written in constant memory, row after row.
pub struct SheetWriter {
    wb: XWorkbook,
    header_fmt: Format,
    date_fmt: Format,
    datetime_fmt: Format,
    decimal_fmts: HashMap<u32, Format>,
    next_row: u32,
    max_rows: u32,
    pub notes: WriteNotes,
}

fn xerr(e: rust_xlsxwriter::XlsxError) -> String {
    e.to_string()
}

impl SheetWriter {
    pub fn new(sheet: &str) -> Result<Self, String> {
        check_sheet_name(sheet)?;
        let mut wb = XWorkbook::new();
        let ws = wb.add_worksheet_with_constant_memory().map_err(xerr)?;
        ws.set_name(sheet).map_err(xerr)?;
        Ok(SheetWriter {
            wb,
            header_fmt: Format::new().set_bold(),
            date_fmt: Format::new().set_num_format("yyyy-mm-dd"),
            datetime_fmt: Format::new().set_num_format("yyyy-mm-dd hh:mm:ss"),
            decimal_fmts: HashMap::new(),
            next_row: 0,
            max_rows: MAX_ROWS,
            notes: WriteNotes::default(),
        })
    }

    /// A smaller row limit, so the limit's handling can be tested without a million rows.
    #[doc(hidden)]
    pub fn with_max_rows(mut self, n: u32) -> Self {
        self.max_rows = n.min(MAX_ROWS);
        self
    }

    /// Rows written so far.
    pub fn rows_written(&self) -> u32 {
        self.next_row
    }

    /// Widens date columns so dates show instead of `#####`.
    pub fn set_column_types(&mut self, types: &[DataType]) -> Result<(), String> {
        let ws = self.wb.worksheet_from_index(0).map_err(xerr)?;
        for (i, t) in types.iter().enumerate().take(MAX_COLS) {
            let width = match t {
                DataType::Date => 11.0,
                DataType::DateTime => 19.0,
                _ => continue,
            };
            ws.set_column_width(i as u16, width).map_err(xerr)?;
        }
        Ok(())
    }

    /// Writes a bold header row and freezes it.
    pub fn write_header(&mut self, names: &[&str]) -> Result<(), String> {
        let ws = self.wb.worksheet_from_index(0).map_err(xerr)?;
        for (i, n) in names.iter().enumerate().take(MAX_COLS) {
            ws.write_string_with_format(self.next_row, i as u16, *n, &self.header_fmt).map_err(xerr)?;
        }
        ws.set_freeze_panes(self.next_row + 1, 0).map_err(xerr)?;
        self.next_row += 1;
        Ok(())
    }

    /// Writes one row, or leaves the sheet untouched and says why not.
    pub fn write_row(&mut self, values: &[&Value]) -> Result<(), RowWriteError> {
        if self.next_row >= self.max_rows {
            return Err(RowWriteError::RowLimit { row: self.next_row as u64 + 1 });
        }
        let mut planned = Vec::with_capacity(values.len());
        for (i, v) in values.iter().enumerate().take(MAX_COLS) {
            planned.push(plan_cell(v, &mut self.notes).map_err(|message| RowWriteError::Cell { col: i, message })?);
        }
        let r = self.next_row;
        let ws = self.wb.worksheet_from_index(0).map_err(|e| RowWriteError::Fatal(xerr(e)))?;
        for (i, p) in planned.into_iter().enumerate() {
            let c = i as u16;
            let res = match p {
                Planned::Blank => continue,
                Planned::Number(f) => ws.write_number(r, c, f),
                Planned::Decimal(f, 0) => ws.write_number(r, c, f),
                Planned::Decimal(f, scale) => {
                    let fmt = self
                        .decimal_fmts
                        .entry(scale)
                        .or_insert_with(|| Format::new().set_num_format(format!("0.{}", "0".repeat(scale as usize))));
                    ws.write_number_with_format(r, c, f, fmt)
                }
                Planned::Text(s) => ws.write_string(r, c, s),
                Planned::Bool(b) => ws.write_boolean(r, c, b),
                Planned::Date(d) => ws.write_datetime_with_format(r, c, &d, &self.date_fmt),
                Planned::DateTime(d) => ws.write_datetime_with_format(r, c, &d, &self.datetime_fmt),
            };
            res.map_err(|e| RowWriteError::Fatal(xerr(e)))?;
        }
        self.next_row += 1;
        Ok(())
    }

    /// Assembles the workbook at `path`.
    pub fn save(mut self, path: &Path) -> Result<(), String> {
        self.wb.save(path).map_err(xerr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_names_and_refs() {
        assert_eq!(column_name(0), "A");
        assert_eq!(column_name(25), "Z");
        assert_eq!(column_name(26), "AA");
        assert_eq!(column_name(16_383), "XFD");
        assert_eq!(cell_ref(6, 2), "C7");
    }

    #[test]
    fn cells_become_values() {
        assert_eq!(cell_value(&DataRef::Float(3.0), Zone::Utc), CellValue::Value(Value::Int(3)));
        assert_eq!(cell_value(&DataRef::Float(3.5), Zone::Utc), CellValue::Value(Value::Float(3.5)));
        assert_eq!(cell_value(&DataRef::SharedString(""), Zone::Utc), CellValue::Empty);
        let date = calamine::ExcelDateTime::new(45356.0, calamine::ExcelDateTimeType::DateTime, false);
        assert_eq!(
            cell_value(&DataRef::DateTime(date), Zone::Utc),
            CellValue::Value(Value::Date(NaiveDate::from_ymd_opt(2024, 3, 5).unwrap()))
        );
        let dt = calamine::ExcelDateTime::new(45356.5, calamine::ExcelDateTimeType::DateTime, false);
        let CellValue::Value(Value::DateTime(v)) = cell_value(&DataRef::DateTime(dt), Zone::parse(Some("Asia/Shanghai")).unwrap()) else {
            panic!()
        };
        assert_eq!(crate::value::format_datetime(&v), "2024-03-05T12:00:00+08:00");
        let t = calamine::ExcelDateTime::new(0.5, calamine::ExcelDateTimeType::DateTime, false);
        assert_eq!(cell_value(&DataRef::DateTime(t), Zone::Utc), CellValue::Value(Value::str("12:00:00")));
        assert_eq!(cell_value(&DataRef::Error(calamine::CellErrorType::Div0), Zone::Utc), CellValue::Error("#DIV/0!".into()));
        assert!(Zone::parse(Some("Mars/Base")).is_err());
    }

    #[test]
    fn coercion_rules() {
        assert_eq!(coerce(Value::Int(2), DataType::Float, Zone::Utc), Ok(Value::Float(2.0)));
        assert!(coerce(Value::Float(2.5), DataType::Int, Zone::Utc).is_err());
        assert_eq!(coerce(Value::Int(7), DataType::String, Zone::Utc), Ok(Value::str("7")));
        assert_eq!(
            coerce(Value::str("2024-03-05"), DataType::Date, Zone::Utc),
            Ok(Value::Date(NaiveDate::from_ymd_opt(2024, 3, 5).unwrap()))
        );
        assert_eq!(
            coerce(Value::Int(45356), DataType::Date, Zone::Utc),
            Ok(Value::Date(NaiveDate::from_ymd_opt(2024, 3, 5).unwrap()))
        );
        assert_eq!(coerce(Value::Float(12.5), DataType::Decimal, Zone::Utc), Ok(Value::Decimal("12.5".parse().unwrap())));
        assert_eq!(widen_cell(DataType::Date, DataType::DateTime), DataType::DateTime);
    }

    #[test]
    fn decimals_write_exactly_or_as_text() {
        assert_eq!(decimal_as_f64(&"12.50".parse().unwrap()), Some(12.5));
        assert_eq!(decimal_as_f64(&"0.1".parse().unwrap()), Some(0.1));
        assert_eq!(decimal_as_f64(&"12345678901234567.89".parse().unwrap()), None);
    }

    #[test]
    fn sheet_names_follow_excel_rules() {
        assert!(check_sheet_name("客户 2024").is_ok());
        assert!(check_sheet_name("a/b").is_err());
        assert!(check_sheet_name(&"x".repeat(32)).is_err());
    }

    #[test]
    fn writer_stops_at_the_row_limit_and_checks_cells() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = SheetWriter::new("S").unwrap().with_max_rows(3);
        w.write_header(&["a"]).unwrap();
        let long = Value::str(&"长".repeat(MAX_CELL_CHARS + 1));
        assert!(matches!(w.write_row(&[&long]), Err(RowWriteError::Cell { col: 0, .. })));
        w.write_row(&[&Value::Int(1)]).unwrap();
        w.write_row(&[&Value::Int(i64::MAX)]).unwrap();
        assert_eq!(w.write_row(&[&Value::Int(3)]), Err(RowWriteError::RowLimit { row: 4 }));
        assert_eq!(w.notes.ints_as_text, 1);
        let path = dir.path().join("o.xlsx");
        w.save(&path).unwrap();
        let mut wb = open_workbook(&path).unwrap();
        let mut rows = RowReader::new(&mut wb, "S").unwrap();
        let mut got = Vec::new();
        while let Some((r, cells)) = rows.next_row().unwrap() {
            got.push((r, cells.iter().map(|c| cell_value(c, Zone::Utc)).collect::<Vec<_>>()));
        }
        assert_eq!(
            got,
            vec![
                (0, vec![CellValue::Value(Value::str("a"))]),
                (1, vec![CellValue::Value(Value::Int(1))]),
                (2, vec![CellValue::Value(Value::str(&i64::MAX.to_string()))]),
            ]
        );
    }
}

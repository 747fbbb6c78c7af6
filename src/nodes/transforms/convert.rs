//! `convert`: changes field types — text to dates and numbers, dates between time zones and
//! into formatted text, numbers and flags between their forms.
//!
//! Each conversion reads one field and writes the result in place (or to a new field). A
//! value that cannot be converted sends the row, unchanged, to the `error` output with the
//! field, the value and the form that was expected; or, with `on_error: "null"`, empties that
//! field and keeps the row. Time zones and formats are read once when the node starts, and
//! the common case (a date-time formatted as `%Y-%m-%d %H:%M:%S` in UTC) costs no allocation
//! beyond the short output text.
//!
//! Left out: arithmetic and text clean-up (`compute`, `cleanse`), locale-aware number
//! parsing (`1.234,5`), and guessing a format from the data.

use crate::exec::{BlockingNode, NodeError, NodeIo, RowError};
use crate::flow::did_you_mean;
use crate::functions::dates::{self, DateFormat, DateTimeText, Zone};
use crate::nodes::{Category, ConfigProblem, NodeContext, NodeKind, NodeMeta, NodeTask, PortSchemas};
use crate::value::{format_datetime, Batch, DataType, Field, Row, Schema, SchemaRef, Value};
use chrono::{DateTime, FixedOffset, NaiveTime};
use compact_str::CompactString;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::str::FromStr;
use std::sync::Arc;

/// Converts fields to other types: text to dates, numbers or flags; dates to another time
/// zone or to formatted text. Conversions run in order, so a later one can use the new field
/// of an earlier one.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConvertConfig {
    /// The conversions, applied in this order to every row.
    pub conversions: Vec<Conversion>,
}

/// One field to convert.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Conversion {
    /// The field to read.
    #[schemars(extend("x-field" = "in"))]
    pub field: String,
    /// The type to convert to. Text becomes `int` only when it is a whole number (`12abc`
    /// and `12.5` are errors), a float becomes `int` only when whole, and `bool` accepts
    /// true/false, yes/no, 1/0 and 是/否.
    pub to: DataType,
    /// A chrono format such as `%Y-%m-%d %H:%M:%S` or `%Y年%m月%d日`, or `epoch_seconds` /
    /// `epoch_millis`. Converting to `date` or `datetime`, it is how the text is written
    /// (without it, the common forms are recognised: 2024-03-05 14:30:00, 2024/3/5,
    /// 2024年3月5日 14:30, 20240305, RFC 3339, epoch numbers). Converting to `string`, it is
    /// how dates and date-times are written. Converting a date-time to `int`, it says
    /// `epoch_seconds` or `epoch_millis`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// The IANA time zone (e.g. `Asia/Shanghai`) of date-times written without an offset.
    /// Defaults to UTC. A time that occurs twice when clocks go back means the earlier one;
    /// a time skipped when clocks jump forward is an error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// The IANA time zone (or `UTC`) to move the instant to before it is stored or
    /// formatted. Without it, a date-time keeps the offset it was read with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_timezone: Option<String>,
    /// Write the result to this field (added at the end when new) and keep the original.
    /// Without it, the field is replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_field: Option<String>,
    /// What a value that cannot be converted does: `error` (default) sends the row to the
    /// `error` output naming the field, the value and the expected form; `null` empties the
    /// field and keeps the row.
    #[serde(default)]
    pub on_error: OnError,
}

/// What to do with a value that cannot be converted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OnError {
    /// Send the row to the `error` output.
    #[default]
    Error,
    /// Set the field to null and keep the row.
    Null,
}

pub struct Convert;

impl NodeKind for Convert {
    type Config = ConvertConfig;

    fn meta(&self) -> NodeMeta {
        NodeMeta {
            kind: "convert",
            category: Category::Transform,
            title: "Convert types",
            description: "Converts fields to other types: text to dates, numbers or flags; date-times to another time zone or to formatted text.",
            keywords: &["cast", "type", "date", "time zone", "timezone", "format", "parse", "epoch", "utc"],
            icon: "arrow-right-left",
        }
    }

    fn check(&self, config: &Self::Config, _ctx: &NodeContext, inputs: &PortSchemas) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if config.conversions.is_empty() {
            problems.push(ConfigProblem::new("conversions", "there are no conversions").hint("add one: the field to read and the type to convert to"));
        }
        for (i, c) in config.conversions.iter().enumerate() {
            if let Err(p) = Compiled::new(i, c) {
                problems.push(p);
            }
        }
        if let Some(input) = inputs.get("in") {
            let (_, steps) = fold_schema(input, &config.conversions);
            let mut fields: Vec<Field> = input.fields().to_vec();
            for (i, (c, step)) in config.conversions.iter().zip(&steps).enumerate() {
                match step {
                    None => {
                        let mut p = ConfigProblem::new(format!("conversions/{i}/field"), format!("there is no field '{}' in the input", c.field));
                        p = match did_you_mean(&c.field, fields.iter().map(|f| f.name.as_str())) {
                            Some(s) => p.hint(format!("did you mean '{s}'?")),
                            None => p.hint(format!("input fields: {}", names(&fields))),
                        };
                        problems.push(p);
                    }
                    Some((src, dst)) => {
                        let from = fields[*src].data_type;
                        if matches!(from, DataType::Date | DataType::DateTime) && c.to == DataType::Int && !is_epoch(c.format.as_deref()) {
                            problems.push(
                                ConfigProblem::new(format!("conversions/{i}/format"), format!("'{}' is a {from}; to make a number of it, say which", c.field))
                                    .hint("set format to epoch_seconds or epoch_millis"),
                            );
                        }
                        if cannot_become(from, c.to) {
                            problems.push(
                                ConfigProblem::new(format!("conversions/{i}/to"), format!("'{}' is a {from}; it cannot become a {}", c.field, c.to))
                                    .hint("pick another type, or another field"),
                            );
                        }
                        if *dst == fields.len() {
                            fields.push(Field::new(c.output_field.clone().unwrap_or_default(), c.to));
                        } else {
                            fields[*dst].data_type = c.to;
                        }
                    }
                }
            }
        }
        problems
    }

    fn output_schemas(&self, config: &Self::Config, _ctx: &NodeContext, inputs: &PortSchemas) -> Result<PortSchemas, ConfigProblem> {
        Ok(inputs
            .get("in")
            .map(|s| PortSchemas::from([("out".to_string(), Arc::new(Schema::new(fold_schema(s, &config.conversions).0)))]))
            .unwrap_or_default())
    }

    fn build(&self, config: Self::Config, _ctx: &NodeContext) -> Result<NodeTask, ConfigProblem> {
        let convs = config.conversions.iter().enumerate().map(|(i, c)| Compiled::new(i, c)).collect::<Result<Vec<_>, _>>()?;
        Ok(NodeTask::Blocking(Box::new(ConvertTask { config, convs })))
    }
}

fn names(fields: &[Field]) -> String {
    fields.iter().map(|f| f.name.as_str()).collect::<Vec<_>>().join(", ")
}

/// Pairs of types no value can be converted between (every row would fail).
fn cannot_become(from: DataType, to: DataType) -> bool {
    use DataType::*;
    matches!((from, to), (Bool | Float | Decimal, Date | DateTime) | (Date | DateTime, Bool | Float | Decimal))
}

fn is_epoch(format: Option<&str>) -> bool {
    format.and_then(|f| DateFormat::compile(f).ok()).and_then(|f| f.epoch_unit()).is_some()
}

/// The fields after the conversions, and for each conversion (source index, target index)
/// in that growing field list, or `None` when its field does not exist.
fn fold_schema(input: &Schema, convs: &[Conversion]) -> (Vec<Field>, Vec<Option<(usize, usize)>>) {
    let mut fields: Vec<Field> = input.fields().to_vec();
    let mut steps = Vec::with_capacity(convs.len());
    for c in convs {
        let Some(src) = fields.iter().position(|f| f.name == c.field) else {
            steps.push(None);
            continue;
        };
        let target = c.output_field.as_deref().unwrap_or(&c.field);
        let dst = match fields.iter().position(|f| f.name == target) {
            Some(d) => {
                fields[d].data_type = c.to;
                d
            }
            None => {
                fields.push(Field::new(target, c.to));
                fields.len() - 1
            }
        };
        steps.push(Some((src, dst)));
    }
    (fields, steps)
}

/// A conversion with its format and zones read, ready for rows.
struct Compiled {
    field: String,
    to: DataType,
    format: Option<DateFormat>,
    zone: Zone,
    out_zone: Option<Zone>,
    on_error: OnError,
}

impl Compiled {
    fn new(i: usize, c: &Conversion) -> Result<Compiled, ConfigProblem> {
        let at = |k: &str| format!("conversions/{i}/{k}");
        if c.field.trim().is_empty() {
            return Err(ConfigProblem::new(at("field"), "the field to convert is empty").hint("pick a field of the input"));
        }
        if c.output_field.as_deref().is_some_and(|f| f.trim().is_empty()) {
            return Err(ConfigProblem::new(at("output_field"), "the output field name is empty").hint("give a name, or remove output_field to replace the field"));
        }
        let format = match &c.format {
            None => None,
            Some(f) => Some(DateFormat::compile(f).map_err(|e| ConfigProblem::new(at("format"), e))?),
        };
        if let Some(f) = &format {
            match c.to {
                DataType::Bool | DataType::Float | DataType::Decimal | DataType::Json => {
                    return Err(ConfigProblem::new(at("format"), format!("a format is not used when converting to {}", c.to))
                        .hint("remove format; it is for dates, date-times and epoch numbers"));
                }
                DataType::Int if f.epoch_unit().is_none() => {
                    return Err(ConfigProblem::new(at("format"), format!("converting to int, the format can only be epoch_seconds or epoch_millis, not {:?}", f.source()))
                        .hint("use epoch_seconds or epoch_millis, or remove format"));
                }
                _ => {}
            }
        }
        let zone = match &c.timezone {
            None => Zone::utc(),
            Some(z) => Zone::parse(z).map_err(|e| ConfigProblem::new(at("timezone"), e))?,
        };
        let out_zone = match &c.output_timezone {
            None => None,
            Some(z) => Some(Zone::parse(z).map_err(|e| ConfigProblem::new(at("output_timezone"), e))?),
        };
        if out_zone.is_some() && !matches!(c.to, DataType::DateTime | DataType::Date | DataType::String) {
            return Err(ConfigProblem::new(at("output_timezone"), format!("output_timezone is not used when converting to {}", c.to))
                .hint("remove it; it applies to datetime, date and formatted string results"));
        }
        Ok(Compiled { field: c.field.clone(), to: c.to, format, zone, out_zone, on_error: c.on_error })
    }

    /// Converts one value. `buf` is scratch space for formatting, reused row after row.
    fn apply(&self, v: &Value, buf: &mut String) -> Result<Value, String> {
        if v.is_null() {
            return Ok(Value::Null);
        }
        match self.to {
            DataType::String => self.to_string(v, buf),
            DataType::Int => self.to_int(v),
            DataType::Float => to_float(v),
            DataType::Decimal => to_decimal(v),
            DataType::Bool => to_bool(v),
            DataType::Date => self.to_date(v),
            DataType::DateTime => {
                let dt = self.instant(v, self.format.as_ref())?;
                Ok(Value::DateTime(self.shift(dt)))
            }
            DataType::Json => to_json(v),
        }
    }

    #[inline]
    fn shift(&self, dt: DateTime<FixedOffset>) -> DateTime<FixedOffset> {
        match &self.out_zone {
            Some(z) => z.convert(&dt),
            None => dt,
        }
    }

    /// The instant a value stands for; text is read with `format` when given.
    fn instant(&self, v: &Value, format: Option<&DateFormat>) -> Result<DateTime<FixedOffset>, String> {
        match v {
            Value::DateTime(dt) => Ok(*dt),
            Value::Date(d) => self.zone.localize(&d.and_time(NaiveTime::MIN)),
            Value::String(s) => self.instant_of_text(s, format),
            Value::Int(n) => dates::epoch_to_datetime(*n, format.and_then(|f| f.epoch_unit())),
            Value::Json(j) if j.is_string() => self.instant_of_text(j.as_str().unwrap_or_default(), format),
            other => Err(format!("{} is a {}, not a date, a date-time or an epoch number", shown(other), type_of(other))),
        }
    }

    fn instant_of_text(&self, s: &str, format: Option<&DateFormat>) -> Result<DateTime<FixedOffset>, String> {
        match format {
            Some(f) => f.parse_datetime(s, &self.zone),
            None => dates::parse_datetime(s, &self.zone),
        }
    }

    fn to_string(&self, v: &Value, buf: &mut String) -> Result<Value, String> {
        let Some(f) = &self.format else {
            return Ok(match v {
                // With an output zone, text and epoch numbers are read as instants and moved.
                Value::String(_) | Value::Int(_) if self.out_zone.is_some() => {
                    Value::str(&format_datetime(&self.shift(self.instant(v, None)?)))
                }
                Value::String(_) => v.clone(),
                Value::DateTime(dt) => Value::str(&format_datetime(&self.shift(*dt))),
                Value::Json(j) if j.is_string() => Value::str(j.as_str().unwrap_or_default()),
                _ => Value::String(v.to_text().unwrap_or_default().into()),
            });
        };
        // A calendar date has no instant to move: it is formatted as its own midnight.
        let dt = match v {
            Value::Date(d) => Zone::utc().localize(&d.and_time(NaiveTime::MIN))?,
            _ => self.shift(self.instant(v, None)?),
        };
        buf.clear();
        f.write(&dt, buf)?;
        Ok(Value::String(CompactString::new(buf.as_str())))
    }

    fn to_int(&self, v: &Value) -> Result<Value, String> {
        if let Some(unit) = self.format.as_ref().and_then(|f| f.epoch_unit()) {
            let dt = match v {
                // An epoch number in, by its magnitude; out in the unit asked for.
                Value::Int(n) => dates::epoch_to_datetime(*n, None)?,
                _ => self.instant(v, None)?,
            };
            return Ok(Value::Int(dates::to_epoch(&dt, unit)));
        }
        let whole = |d: Decimal, v: &Value| -> Result<Value, String> {
            if d.fract().is_zero() {
                d.to_i64().map(Value::Int).ok_or_else(|| format!("{} is too large for an int", shown(v)))
            } else {
                Err(format!("{} is not a whole number", shown(v)))
            }
        };
        match v {
            Value::Int(_) => Ok(v.clone()),
            Value::Bool(b) => Ok(Value::Int(*b as i64)),
            Value::Float(f) => {
                if f.fract() == 0.0 && f.is_finite() && *f >= i64::MIN as f64 && *f < i64::MAX as f64 {
                    Ok(Value::Int(*f as i64))
                } else {
                    Err(format!("{} is not a whole number", shown(v)))
                }
            }
            Value::Decimal(d) => whole(*d, v),
            Value::String(s) => text_to_int(s, v),
            Value::Json(j) => match &**j {
                serde_json::Value::Number(n) if n.is_i64() => Ok(Value::Int(n.as_i64().unwrap_or_default())),
                serde_json::Value::String(s) => text_to_int(s, v),
                _ => Err(format!("{} is not a whole number", shown(v))),
            },
            Value::Date(_) | Value::DateTime(_) => {
                Err(format!("{} is a {}; set format to epoch_seconds or epoch_millis to make a number of it", shown(v), type_of(v)))
            }
            Value::Null => Ok(Value::Null),
        }
    }

    fn to_date(&self, v: &Value) -> Result<Value, String> {
        match v {
            Value::Date(_) => Ok(v.clone()),
            Value::String(s) => {
                match &self.format {
                    Some(f) if f.epoch_unit().is_none() => return f.parse_date(s).map(Value::Date),
                    None => {
                        // A date alone has no zone to move it through.
                        if let Ok(DateTimeText::Date(d)) = dates::read_text(s) {
                            return Ok(Value::Date(d));
                        }
                    }
                    _ => {}
                }
                Ok(Value::Date(self.shift(self.instant(v, self.format.as_ref())?).date_naive()))
            }
            _ => Ok(Value::Date(self.shift(self.instant(v, self.format.as_ref())?).date_naive())),
        }
    }
}

fn text_to_int(s: &str, v: &Value) -> Result<Value, String> {
    let t = s.trim();
    if let Ok(n) = t.parse::<i64>() {
        return Ok(Value::Int(n));
    }
    // `12.0` is a whole number written with a fraction; `12.5` and `12abc` are not.
    match Decimal::from_str(t) {
        Ok(d) if d.fract().is_zero() => d.to_i64().map(Value::Int).ok_or_else(|| format!("{} is too large for an int", shown(v))),
        Ok(_) => Err(format!("{} is not a whole number", shown(v))),
        Err(_) if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit() || b == b'-' || b == b'+') => {
            Err(format!("{} is too large for an int", shown(v)))
        }
        Err(_) => Err(format!("cannot read {} as int; expected a whole number such as 42", shown(v))),
    }
}

fn to_float(v: &Value) -> Result<Value, String> {
    match v {
        Value::Float(_) => Ok(v.clone()),
        Value::Int(n) => Ok(Value::Float(*n as f64)),
        Value::Decimal(d) => d.to_f64().map(Value::Float).ok_or_else(|| format!("{} does not fit a float", shown(v))),
        Value::Bool(b) => Ok(Value::Float(if *b { 1.0 } else { 0.0 })),
        Value::String(s) => text_to_float(s, v),
        Value::Json(j) => match &**j {
            serde_json::Value::Number(n) => n.as_f64().map(Value::Float).ok_or_else(|| format!("{} does not fit a float", shown(v))),
            serde_json::Value::String(s) => text_to_float(s, v),
            _ => Err(format!("{} is not a number", shown(v))),
        },
        _ => Err(format!("{} is a {}, not a number", shown(v), type_of(v))),
    }
}

fn text_to_float(s: &str, v: &Value) -> Result<Value, String> {
    match s.trim().parse::<f64>() {
        Ok(f) if f.is_finite() => Ok(Value::Float(f)),
        _ => Err(format!("cannot read {} as float; expected a number such as 3.14", shown(v))),
    }
}

fn to_decimal(v: &Value) -> Result<Value, String> {
    let text = |s: &str| {
        let t = s.trim();
        Decimal::from_str(t)
            .or_else(|_| Decimal::from_scientific(t))
            .map(Value::Decimal)
            .map_err(|_| format!("cannot read {} as decimal; expected a number such as 12.50", shown(v)))
    };
    match v {
        Value::Decimal(_) => Ok(v.clone()),
        Value::Int(n) => Ok(Value::Decimal(Decimal::from(*n))),
        // Through the shortest text, so 0.1 becomes 0.1 and not 0.1000000000000000055.
        Value::Float(f) if f.is_finite() => text(ryu::Buffer::new().format_finite(*f)),
        Value::Bool(b) => Ok(Value::Decimal(Decimal::from(*b as i64))),
        Value::String(s) => text(s),
        Value::Json(j) => match &**j {
            serde_json::Value::Number(n) => text(&n.to_string()),
            serde_json::Value::String(s) => text(s),
            _ => Err(format!("{} is not a number", shown(v))),
        },
        _ => Err(format!("{} is a {}, not a number", shown(v), type_of(v))),
    }
}

fn to_bool(v: &Value) -> Result<Value, String> {
    let text = |s: &str| -> Result<Value, String> {
        let t = s.trim();
        let b = if ["true", "yes", "1"].iter().any(|w| t.eq_ignore_ascii_case(w)) || t == "是" {
            true
        } else if ["false", "no", "0"].iter().any(|w| t.eq_ignore_ascii_case(w)) || t == "否" {
            false
        } else {
            return Err(format!("cannot read {} as bool; expected true/false, yes/no, 1/0 or 是/否", shown(v)));
        };
        Ok(Value::Bool(b))
    };
    match v {
        Value::Bool(_) => Ok(v.clone()),
        Value::Int(0) => Ok(Value::Bool(false)),
        Value::Int(1) => Ok(Value::Bool(true)),
        Value::String(s) => text(s),
        Value::Json(j) => match &**j {
            serde_json::Value::Bool(b) => Ok(Value::Bool(*b)),
            serde_json::Value::String(s) => text(s),
            _ => Err(format!("cannot read {} as bool; expected true/false, yes/no, 1/0 or 是/否", shown(v))),
        },
        _ => Err(format!("cannot read {} as bool; expected true/false, yes/no, 1/0 or 是/否", shown(v))),
    }
}

fn to_json(v: &Value) -> Result<Value, String> {
    match v {
        Value::Json(_) => Ok(v.clone()),
        Value::String(s) => serde_json::from_str::<serde_json::Value>(s)
            .map(|j| Value::Json(Arc::new(j)))
            .map_err(|e| format!("cannot read {} as JSON: {e}", shown(v))),
        other => Ok(Value::Json(Arc::new(other.to_json()))),
    }
}

/// A value for a message: quoted text, at most 60 characters.
fn shown(v: &Value) -> String {
    let t = v.to_text().unwrap_or_else(|| "null".into());
    let cut: String = t.chars().take(60).collect();
    if cut.len() < t.len() {
        format!("{cut:?}...")
    } else {
        format!("{cut:?}")
    }
}

fn type_of(v: &Value) -> &'static str {
    v.data_type().map(|t| t.name()).unwrap_or("null")
}

struct ConvertTask {
    config: ConvertConfig,
    convs: Vec<Compiled>,
}

/// The conversions resolved against one input schema.
struct Bound {
    input: SchemaRef,
    output: SchemaRef,
    /// (conversion, source index, target index), in order.
    steps: Vec<(usize, usize, usize)>,
}

impl ConvertTask {
    fn bind(&self, input: &SchemaRef) -> Result<Bound, NodeError> {
        let (fields, steps) = fold_schema(input, &self.config.conversions);
        let steps = steps
            .into_iter()
            .enumerate()
            .map(|(i, s)| {
                s.map(|(src, dst)| (i, src, dst)).ok_or_else(|| {
                    NodeError::msg(format!(
                        "conversion {} reads the field '{}', which is not in the input (fields: {})",
                        i + 1,
                        self.config.conversions[i].field,
                        names(input.fields())
                    ))
                    .with_field(format!("conversions/{i}/field"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Bound { input: input.clone(), output: Arc::new(Schema::new(fields)), steps })
    }
}

impl BlockingNode for ConvertTask {
    fn run(self: Box<Self>, io: &mut NodeIo) -> Result<(), NodeError> {
        let mut bound: Option<Bound> = None;
        let mut buf = String::new();
        // Values a failing row had before its earlier conversions, to give it back intact.
        let mut undo: Vec<(usize, Value)> = Vec::new();
        while let Some(batch) = io.recv("in")? {
            let same = bound.as_ref().is_some_and(|b| Arc::ptr_eq(&b.input, &batch.schema) || *b.input == *batch.schema);
            if !same {
                bound = Some(self.bind(&batch.schema)?);
            }
            let b = bound.as_ref().expect("bound above");
            let width = b.input.len();
            let mut out: Vec<Row> = Vec::with_capacity(batch.rows.len());
            let mut errors = Vec::new();
            for mut row in batch.rows {
                row.resize(width, Value::Null);
                undo.clear();
                let mut failed = None;
                for &(ci, src, dst) in &b.steps {
                    let c = &self.convs[ci];
                    let new = match c.apply(&row[src], &mut buf) {
                        Ok(v) => v,
                        Err(_) if c.on_error == OnError::Null => Value::Null,
                        Err(e) => {
                            failed = Some((ci, e));
                            break;
                        }
                    };
                    if dst < row.len() {
                        undo.push((dst, std::mem::replace(&mut row[dst], new)));
                    } else {
                        row.push(new);
                    }
                }
                match failed {
                    None => out.push(row),
                    Some((ci, e)) => {
                        for (i, old) in undo.drain(..).rev() {
                            row[i] = old;
                        }
                        row.truncate(width);
                        let c = &self.convs[ci];
                        let msg = format!(
                            "field '{}': {e} (fix the value, or set on_error to \"null\" to keep such rows with the field empty)",
                            c.field
                        );
                        errors.push(RowError::new(msg, row).field(c.field.clone()));
                    }
                }
            }
            io.send("out", Batch::new(b.output.clone(), out))?;
            let input = b.input.clone();
            io.send_errors(&input, errors)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(field: &str, to: DataType) -> Conversion {
        Conversion { field: field.into(), to, format: None, timezone: None, output_timezone: None, output_field: None, on_error: OnError::Error }
    }

    fn apply(c: &Conversion, v: Value) -> Result<Value, String> {
        Compiled::new(0, c).unwrap().apply(&v, &mut String::new())
    }

    #[test]
    fn numbers_and_flags() {
        let c = conv("x", DataType::Int);
        assert_eq!(apply(&c, Value::str(" 12 ")), Ok(Value::Int(12)));
        assert_eq!(apply(&c, Value::str("12.0")), Ok(Value::Int(12)));
        assert!(apply(&c, Value::str("12abc")).unwrap_err().contains("\"12abc\""));
        assert!(apply(&c, Value::str("12.5")).unwrap_err().contains("not a whole number"));
        assert!(apply(&c, Value::str("99999999999999999999")).unwrap_err().contains("too large"));
        assert_eq!(apply(&c, Value::Float(3.0)), Ok(Value::Int(3)));
        assert!(apply(&c, Value::Float(3.5)).is_err());
        assert_eq!(apply(&c, Value::Null), Ok(Value::Null));
        let b = conv("x", DataType::Bool);
        for (t, want) in [("true", true), ("No", false), ("1", true), ("0", false), ("是", true), ("否", false), ("YES", true)] {
            assert_eq!(apply(&b, Value::str(t)), Ok(Value::Bool(want)), "{t}");
        }
        assert!(apply(&b, Value::str("maybe")).unwrap_err().contains("是/否"));
        let d = conv("x", DataType::Decimal);
        assert_eq!(apply(&d, Value::Float(0.1)).unwrap().to_text().unwrap(), "0.1");
        assert_eq!(apply(&d, Value::str("12.50")).unwrap().to_text().unwrap(), "12.50");
        let f = conv("x", DataType::Float);
        assert_eq!(apply(&f, Value::str("2.5")), Ok(Value::Float(2.5)));
        assert!(apply(&f, Value::str("NaN")).is_err());
    }

    #[test]
    fn w1_created_at_to_utc_text() {
        let mut c = conv("created_at", DataType::String);
        c.output_timezone = Some("UTC".into());
        c.format = Some("%Y-%m-%d %H:%M:%S".into());
        let dt = chrono::DateTime::parse_from_rfc3339("2024-01-01T05:00:30+08:00").unwrap();
        assert_eq!(apply(&c, Value::DateTime(dt)), Ok(Value::str("2023-12-31 21:00:30")));
        assert_eq!(apply(&c, Value::str("2024-01-01T05:00:30+08:00")), Ok(Value::str("2023-12-31 21:00:30")));
    }

    #[test]
    fn config_mistakes_are_named() {
        let mut c = conv("x", DataType::Bool);
        c.format = Some("%Y".into());
        assert_eq!(Compiled::new(2, &c).err().unwrap().field, "conversions/2/format");
        let mut c = conv("x", DataType::DateTime);
        c.timezone = Some("Asia/Shangai".into());
        let p = Compiled::new(0, &c).err().unwrap();
        assert_eq!(p.field, "conversions/0/timezone");
        assert!(p.message.contains("Asia/Shanghai"), "{}", p.message);
        let mut c = conv("x", DataType::Int);
        c.format = Some("%Y".into());
        assert!(Compiled::new(0, &c).is_err());
    }
}

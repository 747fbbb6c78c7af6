//! `aggregate`: group by and summarise — counts, sums, averages, minimums and maximums,
//! first and last values, distinct counts, percentiles and standard deviations per group.
//! The daily service report in one node: tickets per channel, average handling time,
//! CSAT (average satisfaction, empty answers ignored), first-contact resolution rate (the
//! average of a yes/no field is the share of yes).
//!
//! Rules, as in SQL: every figure but `count` ignores nulls; a figure over no values is
//! null (`count` is 0). The average of ints or bools is a float (of bools: the share of
//! `true`); sums and averages of decimals stay exact decimals. Percentiles are exact and
//! interpolate linearly between the two nearest values (like `quantile_cont` / numpy's
//! default). Output rows are sorted by the group key (nulls last), so the output is the
//! same on every run. With no `group_by` the output is one row, also for an empty input.
//!
//! Memory: per group, its key and one small accumulator per figure — except `percentile`
//! and `median`, which keep every non-null value of their field (about 32 bytes a value),
//! and `count_distinct`, which keeps each distinct value once. Nothing leaves until the
//! input ends. Left out: rolling windows and running totals.

use super::rows::{check_field, check_fields, compare_nulls, compare_values, describe_fields, HashedValue, KeyHasher, KeyIndex, NullOrder, RowSender};
use crate::exec::{BlockingNode, NodeError, NodeIo, RowError};
use crate::nodes::{Category, ConfigProblem, NodeContext, NodeKind, NodeMeta, NodeTask, PortSchemas, PortSpec, Ports, ERROR_PORT};
use crate::value::{DataType, Field, Row, Schema, SchemaRef, Value};
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::hash::BuildHasherDefault;
use std::sync::Arc;

/// Groups rows and computes figures per group.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AggregateConfig {
    /// The fields whose values make a group, e.g. `["channel", "priority"]`. Empty: the
    /// whole input is one group (one output row).
    #[serde(default)]
    #[schemars(extend("x-field" = "in"))]
    pub group_by: Vec<String>,
    /// The figures to compute for each group. Each becomes an output field after the
    /// group fields.
    #[serde(default)]
    pub aggregates: Vec<AggregateSpec>,
}

/// One figure computed per group.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AggregateSpec {
    /// What to compute: `count` (rows, or non-null values of `field`), `count_distinct`,
    /// `sum`, `avg`, `min`, `max`, `first` and `last` (first/last non-null value in input
    /// order), `percentile` (with `percentile`), `median`, `stddev` (sample standard
    /// deviation).
    pub op: AggOp,
    /// The field to summarise. Every op but `count` needs one; `count` without a field
    /// counts rows, with one it counts the rows where the field is not null.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-field" = "in"))]
    pub field: Option<String>,
    /// Name of the output field. Default: `count`, or the op and the field, e.g.
    /// `avg_handle_seconds` (`p90_handle_seconds` for the 0.9 percentile).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// For `percentile`: which one, from 0 to 1 (`0.9` is the 90th percentile).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub percentile: Option<f64>,
}

/// The figure an aggregate computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AggOp {
    Count,
    CountDistinct,
    Sum,
    Avg,
    Min,
    Max,
    First,
    Last,
    Percentile,
    Median,
    Stddev,
}

impl AggOp {
    fn name(self) -> &'static str {
        match self {
            AggOp::Count => "count",
            AggOp::CountDistinct => "count_distinct",
            AggOp::Sum => "sum",
            AggOp::Avg => "avg",
            AggOp::Min => "min",
            AggOp::Max => "max",
            AggOp::First => "first",
            AggOp::Last => "last",
            AggOp::Percentile => "percentile",
            AggOp::Median => "median",
            AggOp::Stddev => "stddev",
        }
    }
}

impl AggregateSpec {
    fn output_name(&self) -> String {
        if let Some(o) = &self.output {
            return o.clone();
        }
        match (&self.field, self.op) {
            (None, _) => self.op.name().to_string(),
            (Some(f), AggOp::Percentile) => {
                let p = self.percentile.unwrap_or(0.5) * 100.0;
                format!("p{}_{f}", format!("{p:.4}").trim_end_matches('0').trim_end_matches('.'))
            }
            (Some(f), op) => format!("{}_{f}", op.name()),
        }
    }
}

/// How one figure accumulates, chosen from its op and its field's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    CountRows,
    CountValues,
    Distinct,
    /// Exact integer sum (ints and bools), in an i128 that cannot overflow.
    SumInt,
    SumFloat,
    SumDecimal,
    Min,
    Max,
    First,
    Last,
    /// Every value kept, for percentiles.
    Values,
    /// Count, mean and squared deviations (Welford), for the standard deviation.
    Moments,
}

/// What the figure is finally: the sum or the average of a sum.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Finish {
    Plain,
    Sum,
    Avg,
    Percentile(f64),
}

fn is_number(t: DataType) -> bool {
    matches!(t, DataType::Int | DataType::Float | DataType::Decimal)
}

/// The accumulator kind and output type of a figure over a field of type `ty` (None for
/// `count` without a field), or why the type does not fit.
fn plan_figure(spec: &AggregateSpec, ty: Option<DataType>) -> Result<(Kind, Finish, DataType), String> {
    let needs = |what: &str| {
        let ty = ty.map(|t| t.name()).unwrap_or("unknown");
        Err(format!("{} needs {what}, but '{}' is {ty}", spec.op.name(), spec.field.as_deref().unwrap_or("")))
    };
    let Some(ty) = ty else {
        return match spec.op {
            AggOp::Count => Ok((Kind::CountRows, Finish::Plain, DataType::Int)),
            _ => Err(format!("{} needs a field", spec.op.name())),
        };
    };
    Ok(match spec.op {
        AggOp::Count => (Kind::CountValues, Finish::Plain, DataType::Int),
        AggOp::CountDistinct => (Kind::Distinct, Finish::Plain, DataType::Int),
        AggOp::Sum | AggOp::Avg => {
            let finish = if spec.op == AggOp::Sum { Finish::Sum } else { Finish::Avg };
            match (ty, finish) {
                (DataType::Int | DataType::Bool, Finish::Sum) => (Kind::SumInt, finish, DataType::Int),
                (DataType::Int | DataType::Bool, _) => (Kind::SumInt, finish, DataType::Float),
                (DataType::Float, _) => (Kind::SumFloat, finish, DataType::Float),
                (DataType::Decimal, _) => (Kind::SumDecimal, finish, DataType::Decimal),
                _ => return needs("a number or yes/no field"),
            }
        }
        AggOp::Min => (Kind::Min, Finish::Plain, ty),
        AggOp::Max => (Kind::Max, Finish::Plain, ty),
        AggOp::First => (Kind::First, Finish::Plain, ty),
        AggOp::Last => (Kind::Last, Finish::Plain, ty),
        AggOp::Percentile | AggOp::Median => {
            let p = if spec.op == AggOp::Median { 0.5 } else { spec.percentile.unwrap_or(0.5) };
            match ty {
                DataType::Int | DataType::Float => (Kind::Values, Finish::Percentile(p), DataType::Float),
                DataType::Decimal => (Kind::Values, Finish::Percentile(p), DataType::Decimal),
                _ => return needs("a number field"),
            }
        }
        AggOp::Stddev if is_number(ty) || ty == DataType::Bool => (Kind::Moments, Finish::Plain, DataType::Float),
        AggOp::Stddev => return needs("a number field"),
    })
}

/// The output schema for an input schema, or the first problem.
fn output_schema(config: &AggregateConfig, input: &Schema) -> Result<Schema, ConfigProblem> {
    let mut fields = Vec::new();
    for (i, g) in config.group_by.iter().enumerate() {
        let f = input.field(g).ok_or_else(|| ConfigProblem::new(format!("group_by/{i}"), format!("'{g}' is not a field of the input")))?;
        fields.push(f.clone());
    }
    for (i, spec) in config.aggregates.iter().enumerate() {
        let ty = match &spec.field {
            Some(f) => Some(
                input
                    .field(f)
                    .ok_or_else(|| ConfigProblem::new(format!("aggregates/{i}/field"), format!("'{f}' is not a field of the input")))?
                    .data_type,
            ),
            None => None,
        };
        let (_, _, out) = plan_figure(spec, ty).map_err(|m| ConfigProblem::new(format!("aggregates/{i}/field"), m))?;
        fields.push(Field::new(spec.output_name(), out));
    }
    Ok(Schema::new(fields))
}

pub struct Aggregate;

impl NodeKind for Aggregate {
    type Config = AggregateConfig;

    fn meta(&self) -> NodeMeta {
        NodeMeta {
            kind: "aggregate",
            category: Category::Transform,
            title: "Aggregate (group by)",
            description: "Groups rows by fields and computes counts, sums, averages, min/max, percentiles and more per group.",
            keywords: &["group by", "summarize", "summary", "report", "count", "sum", "average", "avg", "percentile", "median", "pivot"],
            icon: "sigma",
        }
    }

    fn static_ports(&self) -> Ports {
        Ports {
            inputs: vec![PortSpec::input("in", "rows to summarise")],
            outputs: vec![
                PortSpec::output("out", "one row per group: the group fields, then the figures"),
                PortSpec::output(ERROR_PORT, "rows with a value a figure cannot use (e.g. text in a sum), with the error"),
            ],
        }
    }

    fn check(&self, config: &Self::Config, _ctx: &NodeContext, inputs: &PortSchemas) -> Vec<ConfigProblem> {
        let input = inputs.get("in");
        let mut problems = check_fields(input, &config.group_by, "group_by", "the input");
        if config.group_by.is_empty() && config.aggregates.is_empty() {
            problems.push(ConfigProblem::new("aggregates", "nothing to compute").hint("add a figure, e.g. {\"op\": \"count\"}, or fields to group by"));
        }
        let mut names: Vec<String> = Vec::new();
        for (i, g) in config.group_by.iter().enumerate() {
            if names.contains(g) {
                problems.push(ConfigProblem::new(format!("group_by/{i}"), format!("'{g}' is listed twice")));
            }
            names.push(g.clone());
        }
        for (i, spec) in config.aggregates.iter().enumerate() {
            let path = |f: &str| format!("aggregates/{i}/{f}");
            match (&spec.field, spec.op) {
                (None, AggOp::Count) => {}
                (None, op) => problems.push(
                    ConfigProblem::new(path("field"), format!("{} needs a field", op.name())).hint("name the field to summarise"),
                ),
                (Some(f), _) => match check_field(input, f, &path("field"), "the input") {
                    Some(p) => problems.push(p),
                    None => {
                        if let Some(ty) = input.and_then(|s| s.field(f)).map(|x| x.data_type) {
                            if let Err(m) = plan_figure(spec, Some(ty)) {
                                problems.push(ConfigProblem::new(path("field"), m).hint(
                                    "convert the field first (convert node), or use count, count_distinct, min, max, first or last",
                                ));
                            }
                        }
                    }
                },
            }
            match (spec.op, spec.percentile) {
                (AggOp::Percentile, None) => problems.push(
                    ConfigProblem::new(path("percentile"), "say which percentile, from 0 to 1").hint("0.9 is the 90th percentile; 0.5 the median"),
                ),
                (AggOp::Percentile, Some(p)) if !(0.0..=1.0).contains(&p) => {
                    problems.push(ConfigProblem::new(path("percentile"), format!("percentile {p} is not between 0 and 1")).hint("0.9 is the 90th percentile"))
                }
                (op, Some(_)) if op != AggOp::Percentile => problems.push(ConfigProblem::new(
                    path("percentile"),
                    format!("percentile is only used with op percentile, not {}", op.name()),
                )),
                _ => {}
            }
            let name = spec.output_name();
            if name.trim().is_empty() {
                problems.push(ConfigProblem::new(path("output"), "the output name is empty"));
            } else if names.contains(&name) {
                problems.push(
                    ConfigProblem::new(path("output"), format!("output field '{name}' is named twice (by a group field or another figure)"))
                        .hint("give each figure its own output name"),
                );
            }
            names.push(name);
        }
        problems
    }

    fn output_schemas(&self, config: &Self::Config, _ctx: &NodeContext, inputs: &PortSchemas) -> Result<PortSchemas, ConfigProblem> {
        // Problems are reported by `check`; here an unusable config just means unknown fields.
        Ok(match inputs.get("in").map(|s| output_schema(config, s)) {
            Some(Ok(s)) => PortSchemas::from([("out".to_string(), Arc::new(s))]),
            _ => PortSchemas::new(),
        })
    }

    fn build(&self, config: Self::Config, ctx: &NodeContext) -> Result<NodeTask, ConfigProblem> {
        if let Some(p) = self.check(&config, ctx, &PortSchemas::new()).into_iter().next() {
            return Err(p);
        }
        Ok(NodeTask::Blocking(Box::new(AggregateTask { config })))
    }
}

/// One figure as the run computes it.
#[derive(Debug, Clone)]
struct Figure {
    kind: Kind,
    finish: Finish,
    out_type: DataType,
    /// Index of the field in the current schema.
    field: Option<usize>,
    /// For messages: the figure (`avg of 'handle_seconds'`) and its field's name.
    label: String,
    field_name: String,
}

/// Running state of one figure in one group.
enum Acc {
    Count(i64),
    Distinct(HashSet<HashedValue, BuildHasherDefault<KeyHasher>>),
    SumInt(i128, u64),
    SumFloat(f64, u64),
    SumDecimal(Decimal, u64),
    Pick(Option<Value>),
    Values(Vec<Value>),
    Moments { n: u64, mean: f64, m2: f64 },
}

impl Acc {
    fn new(kind: Kind) -> Acc {
        match kind {
            Kind::CountRows | Kind::CountValues => Acc::Count(0),
            Kind::Distinct => Acc::Distinct(HashSet::default()),
            Kind::SumInt => Acc::SumInt(0, 0),
            Kind::SumFloat => Acc::SumFloat(0.0, 0),
            Kind::SumDecimal => Acc::SumDecimal(Decimal::ZERO, 0),
            Kind::Min | Kind::Max | Kind::First | Kind::Last => Acc::Pick(None),
            Kind::Values => Acc::Values(Vec::new()),
            Kind::Moments => Acc::Moments { n: 0, mean: 0.0, m2: 0.0 },
        }
    }
}

/// Whether a figure of `kind` can take `v` (nulls always can: they are skipped).
fn accepts(kind: Kind, v: &Value) -> bool {
    use Value::*;
    match kind {
        Kind::SumInt => matches!(v, Null | Int(_) | Bool(_)),
        Kind::SumFloat | Kind::Moments => matches!(v, Null | Int(_) | Float(_) | Decimal(_) | Bool(_)),
        Kind::SumDecimal => matches!(v, Null | Int(_) | Decimal(_)),
        Kind::Values => matches!(v, Null | Int(_) | Float(_) | Decimal(_)),
        _ => true,
    }
}

fn as_f64(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        Value::Decimal(d) => d.to_f64().unwrap_or(f64::NAN),
        Value::Bool(b) => *b as u8 as f64,
        _ => f64::NAN,
    }
}

/// Adds one value; fails only when an exact decimal sum no longer fits.
#[inline]
fn update(acc: &mut Acc, kind: Kind, v: &Value) -> Result<(), String> {
    if v.is_null() {
        if kind == Kind::CountRows {
            if let Acc::Count(n) = acc {
                *n += 1;
            }
        }
        return Ok(());
    }
    match acc {
        Acc::Count(n) => *n += 1,
        Acc::Distinct(set) => {
            set.insert(HashedValue(v.clone()));
        }
        Acc::SumInt(sum, n) => {
            *sum += match v {
                Value::Int(i) => *i as i128,
                Value::Bool(b) => *b as i128,
                _ => 0,
            };
            *n += 1;
        }
        Acc::SumFloat(sum, n) => {
            *sum += as_f64(v);
            *n += 1;
        }
        Acc::SumDecimal(sum, n) => {
            let d = match v {
                Value::Decimal(d) => *d,
                Value::Int(i) => Decimal::from(*i),
                _ => Decimal::ZERO,
            };
            *sum = sum.checked_add(d).ok_or_else(|| "the exact decimal sum grew past about 7.9e28".to_string())?;
            *n += 1;
        }
        Acc::Pick(cur) => {
            let replace = match (kind, &cur) {
                (_, None) => true,
                (Kind::Min, Some(c)) => compare_values(v, c).is_lt(),
                (Kind::Max, Some(c)) => compare_values(v, c).is_gt(),
                (Kind::Last, Some(_)) => true,
                _ => false,
            };
            if replace {
                *cur = Some(v.clone());
            }
        }
        Acc::Values(vals) => vals.push(v.clone()),
        Acc::Moments { n, mean, m2 } => {
            let x = as_f64(v);
            *n += 1;
            let d = x - *mean;
            *mean += d / *n as f64;
            *m2 += d * (x - *mean);
        }
    }
    Ok(())
}

/// The figure's final value.
fn finish(acc: Acc, fig: &Figure) -> Result<Value, String> {
    Ok(match acc {
        Acc::Count(n) => Value::Int(n),
        Acc::Distinct(set) => Value::Int(set.len() as i64),
        Acc::SumInt(_, 0) | Acc::SumFloat(_, 0) | Acc::SumDecimal(_, 0) => Value::Null,
        Acc::SumInt(sum, n) => match fig.finish {
            Finish::Avg => Value::Float(sum as f64 / n as f64),
            _ => Value::Int(i64::try_from(sum).map_err(|_| format!("the sum {sum} does not fit an int; convert the field to decimal first"))?),
        },
        Acc::SumFloat(sum, n) => match fig.finish {
            Finish::Avg => Value::Float(sum / n as f64),
            _ => Value::Float(sum),
        },
        Acc::SumDecimal(sum, n) => match fig.finish {
            Finish::Avg => Value::Decimal(sum.checked_div(Decimal::from(n)).ok_or("the decimal average cannot be computed")?),
            _ => Value::Decimal(sum),
        },
        Acc::Pick(v) => v.unwrap_or(Value::Null),
        Acc::Values(mut vals) => {
            let Finish::Percentile(p) = fig.finish else { unreachable!("values are kept for percentiles only") };
            percentile(&mut vals, p, fig.out_type)
        }
        Acc::Moments { n, m2, .. } if n >= 2 => Value::Float((m2 / (n - 1) as f64).sqrt()),
        Acc::Moments { .. } => Value::Null,
    })
}

/// The `p` percentile (0..=1) with linear interpolation between the closest ranks.
fn percentile(vals: &mut [Value], p: f64, out: DataType) -> Value {
    if vals.is_empty() {
        return Value::Null;
    }
    vals.sort_unstable_by(compare_values);
    let pos = p.clamp(0.0, 1.0) * (vals.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    if out == DataType::Decimal {
        let dec = |v: &Value| match v {
            Value::Decimal(d) => *d,
            Value::Int(i) => Decimal::from(*i),
            other => Decimal::from_f64(as_f64(other)).unwrap_or_default(),
        };
        let (a, b) = (dec(&vals[lo]), dec(&vals[hi]));
        let frac = Decimal::from_f64(pos - lo as f64).unwrap_or_default();
        return Value::Decimal(a + (b - a) * frac);
    }
    let (a, b) = (as_f64(&vals[lo]), as_f64(&vals[hi]));
    Value::Float(if lo == hi { a } else { a + (b - a) * (pos - lo as f64) })
}

struct AggregateTask {
    config: AggregateConfig,
}

/// The figures and field positions for the current schema, fixed by the first schema seen.
struct Layout {
    schema: SchemaRef,
    first_input: SchemaRef,
    out: SchemaRef,
    group_idx: Vec<Option<usize>>,
    figures: Vec<Figure>,
}

impl AggregateTask {
    fn layout(&self, schema: &SchemaRef, prev: Option<&Layout>) -> Result<Layout, NodeError> {
        let out = output_schema(&self.config, schema).map_err(|p| {
            NodeError::msg(format!("{} (fields arriving: {})", p.message, describe_fields(schema))).with_field(p.field)
        })?;
        if let Some(prev) = prev {
            // Output types are fixed by the first rows; a later type change would mix types
            // in one output field.
            if out != *prev.out {
                let changed = out
                    .fields()
                    .iter()
                    .zip(prev.out.fields())
                    .find(|(a, b)| a != b)
                    .map(|(a, b)| format!("'{}' is now {} (was {})", a.name, a.data_type, b.data_type))
                    .unwrap_or_default();
                return Err(NodeError::msg(format!(
                    "the rows reaching aggregate changed types mid-way: {changed}; put a convert node in front to give the field one type"
                )));
            }
        }
        let group_idx = self.config.group_by.iter().map(|g| schema.index_of(g)).collect();
        let figures = self
            .config
            .aggregates
            .iter()
            .map(|spec| {
                let idx = spec.field.as_ref().and_then(|f| schema.index_of(f));
                let ty = idx.map(|i| schema.fields()[i].data_type);
                let (kind, finish, out_type) = plan_figure(spec, ty).expect("checked by output_schema");
                let label = match &spec.field {
                    Some(f) => format!("{} of '{f}'", spec.op.name()),
                    None => spec.op.name().to_string(),
                };
                Figure { kind, finish, out_type, field: idx, label, field_name: spec.field.clone().unwrap_or_default() }
            })
            .collect();
        Ok(Layout {
            schema: schema.clone(),
            first_input: prev.map(|p| p.first_input.clone()).unwrap_or_else(|| schema.clone()),
            out: prev.map(|p| p.out.clone()).unwrap_or_else(|| Arc::new(out)),
            group_idx,
            figures,
        })
    }
}

impl BlockingNode for AggregateTask {
    fn run(self: Box<Self>, io: &mut NodeIo) -> Result<(), NodeError> {
        let mut layout: Option<Layout> = None;
        let mut groups = KeyIndex::new();
        let mut accs: Vec<Acc> = Vec::new();
        let n_figs = self.config.aggregates.len();
        while let Some(batch) = io.recv("in")? {
            if !layout.as_ref().is_some_and(|l| Arc::ptr_eq(&l.schema, &batch.schema)) {
                layout = Some(self.layout(&batch.schema, layout.as_ref())?);
            }
            let l = layout.as_ref().unwrap();
            let mut errors = Vec::new();
            'rows: for row in batch.rows {
                for fig in &l.figures {
                    if let Some(i) = fig.field {
                        if !accepts(fig.kind, &row[i]) {
                            let v = &row[i];
                            let msg = format!(
                                "{} cannot use {} ({}); convert the field first or send such rows elsewhere",
                                fig.label,
                                v.to_text().map(|t| format!("{t:?}")).unwrap_or_default(),
                                v.data_type().map(|t| t.name()).unwrap_or("null")
                            );
                            errors.push(RowError::new(msg, row).field(fig.field_name.clone()));
                            continue 'rows;
                        }
                    }
                }
                let (g, new) = groups.find_or_insert(&row, &l.group_idx);
                if new {
                    accs.extend(l.figures.iter().map(|f| Acc::new(f.kind)));
                }
                let base = g * n_figs;
                for (k, fig) in l.figures.iter().enumerate() {
                    const NULL: Value = Value::Null;
                    let v = match fig.field {
                        Some(i) => &row[i],
                        None => &NULL,
                    };
                    update(&mut accs[base + k], fig.kind, v).map_err(|m| NodeError::msg(format!("{}: {m}", fig.label)))?;
                }
            }
            io.send_errors(&batch.schema, errors)?;
        }

        // Output types come from the first rows; with no rows at all, from the config alone.
        let (out, figures) = match &layout {
            Some(l) => (l.out.clone(), l.figures.clone()),
            None => {
                let figures: Vec<Figure> = self
                    .config
                    .aggregates
                    .iter()
                    .map(|s| {
                        let kind = match (s.op, &s.field) {
                            (AggOp::Count, None) => Kind::CountRows,
                            (AggOp::Count, Some(_)) => Kind::CountValues,
                            (AggOp::CountDistinct, _) => Kind::Distinct,
                            // Over no rows every other figure is null.
                            _ => Kind::First,
                        };
                        let out_type = if s.op == AggOp::Count || s.op == AggOp::CountDistinct { DataType::Int } else { DataType::Float };
                        Figure { kind, finish: Finish::Plain, out_type, field: None, label: String::new(), field_name: String::new() }
                    })
                    .collect();
                let mut fields: Vec<Field> = self.config.group_by.iter().map(|g| Field::new(g.clone(), DataType::String)).collect();
                fields.extend(self.config.aggregates.iter().zip(&figures).map(|(s, f)| Field::new(s.output_name(), f.out_type)));
                (Arc::new(Schema::new(fields)), figures)
            }
        };
        // No group_by: one row even for an empty input, as SQL does.
        if self.config.group_by.is_empty() && groups.is_empty() {
            groups.find_or_insert(&Vec::new(), &[]);
            accs.extend(figures.iter().map(|f| {
                // Figures over no rows: counts are 0, everything else is null.
                match f.kind {
                    Kind::CountRows | Kind::CountValues | Kind::Distinct => Acc::Count(0),
                    _ => Acc::Pick(None),
                }
            }));
        }

        let mut order: Vec<usize> = (0..groups.len()).collect();
        order.sort_by(|a, b| {
            let (ka, kb) = (groups.key(*a), groups.key(*b));
            ka.iter().zip(kb).map(|(x, y)| compare_nulls(x, y, NullOrder::Last)).find(|o| o.is_ne()).unwrap_or(std::cmp::Ordering::Equal)
        });
        let mut accs: Vec<Option<Acc>> = accs.into_iter().map(Some).collect();
        let mut sender = RowSender::new(io, "out");
        for g in order {
            let mut row: Row = groups.key(g).to_vec();
            for (k, fig) in figures.iter().enumerate() {
                let acc = accs[g * n_figs + k].take().expect("each figure is finished once");
                let v = finish(acc, fig).map_err(|m| NodeError::msg(format!("{}: {m}", fig.label)))?;
                row.push(v);
            }
            sender.push(io, &out, row)?;
        }
        sender.flush(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(op: AggOp, field: Option<&str>) -> AggregateSpec {
        AggregateSpec { op, field: field.map(str::to_string), output: None, percentile: None }
    }

    #[test]
    fn output_names_and_types_follow_the_field() {
        let input = Schema::new(vec![
            Field::new("channel", DataType::String),
            Field::new("secs", DataType::Int),
            Field::new("amount", DataType::Decimal),
            Field::new("resolved", DataType::Bool),
        ]);
        let config = AggregateConfig {
            group_by: vec!["channel".into()],
            aggregates: vec![
                spec(AggOp::Count, None),
                spec(AggOp::Avg, Some("secs")),
                spec(AggOp::Sum, Some("amount")),
                spec(AggOp::Avg, Some("resolved")),
                AggregateSpec { percentile: Some(0.9), ..spec(AggOp::Percentile, Some("secs")) },
                spec(AggOp::Max, Some("channel")),
            ],
        };
        let out = output_schema(&config, &input).unwrap();
        let got: Vec<(String, DataType)> = out.fields().iter().map(|f| (f.name.clone(), f.data_type)).collect();
        assert_eq!(
            got,
            vec![
                ("channel".into(), DataType::String),
                ("count".into(), DataType::Int),
                ("avg_secs".into(), DataType::Float),
                ("sum_amount".into(), DataType::Decimal),
                ("avg_resolved".into(), DataType::Float),
                ("p90_secs".into(), DataType::Float),
                ("max_channel".into(), DataType::String),
            ]
        );
        let bad = AggregateConfig { group_by: vec![], aggregates: vec![spec(AggOp::Sum, Some("channel"))] };
        let p = output_schema(&bad, &input).unwrap_err();
        assert_eq!(p.field, "aggregates/0/field");
        assert!(p.message.contains("sum needs a number or yes/no field, but 'channel' is string"), "{}", p.message);
    }

    #[test]
    fn percentile_interpolates() {
        let mut v: Vec<Value> = [4, 1, 3, 2].iter().map(|i| Value::Int(*i)).collect();
        assert_eq!(percentile(&mut v, 0.5, DataType::Float), Value::Float(2.5));
        assert_eq!(percentile(&mut v, 0.0, DataType::Float), Value::Float(1.0));
        assert_eq!(percentile(&mut v, 1.0, DataType::Float), Value::Float(4.0));
        let Value::Float(p90) = percentile(&mut v, 0.9, DataType::Float) else { panic!() };
        assert!((p90 - 3.7).abs() < 1e-12, "{p90}");
        let mut d: Vec<Value> = ["1.10", "2.20"].iter().map(|s| Value::Decimal(s.parse().unwrap())).collect();
        assert_eq!(percentile(&mut d, 0.5, DataType::Decimal).to_text().unwrap(), "1.650");
    }
}

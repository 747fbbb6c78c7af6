//! `sql_source`: reads a table or a query from SQLite, PostgreSQL or MySQL/MariaDB,
//! streaming, optionally only the rows that are new since the last successful run
//! (incremental sync by a watermark column) and optionally in parallel key ranges.
//!
//! The database work (connections, types, streaming) lives in [`crate::connectors::sql`];
//! this file is the config, the design-time checks and fields, and the run loop. The
//! watermark is read from the local state store ([`crate::state`]) at the start and written
//! only once the whole run has succeeded, after the run's SQL sinks committed.
//!
//! Left out: change data capture from database logs, and resuming a failed run half-way
//! (a failed run leaves the watermark where it was, so the next run reads its rows again).

use crate::connectors::sql::db::{Access, Db};
use crate::connectors::sql::design::{self, DesignError, TableAnswer};
use crate::connectors::sql::dialect::bind_named_params;
use crate::connectors::sql::finish;
use crate::connectors::sql::read::{fetch, fetch_all, Decoded};
use crate::connectors::sql::types::{convert_value, ColKind};
use crate::connectors::sql::{ConnectionSpec, Driver};
use crate::exec::{AsyncNode, LogLevel, NodeError, NodeIo, RowError};
use crate::nodes::{Category, ConfigProblem, NodeContext, NodeKind, NodeMeta, NodeTask, PortSchemas};
use crate::state::{StateStore, Watermark};
use crate::value::{Batch, DataType, Field, Row, Schema, SchemaRef, Value};
use futures::future::BoxFuture;
use futures::StreamExt;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// Reads rows from a database table or query.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SqlSourceConfig {
    /// Name of a connection defined in `sluice.connections.json` (in the flow's folder or a
    /// parent folder) or in your own `~/.config/sluice/connections.json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<String>,
    /// A connection URL instead of a name: `sqlite:data/app.db`,
    /// `postgres://user@host:5432/db`, `mysql://user@host/db`. A URL with a password is
    /// accepted only as `${env:NAME}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The table to read (`schema.table` allowed). Give `table` or `query`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    /// Columns of the table to read, in this order. Empty: every column.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<String>,
    /// A SELECT query instead of a table. Mark parameters as `:name` and give their values
    /// in `params`; never paste values into the query text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-editor" = "sql"))]
    pub query: Option<String>,
    /// Values of the query's `:name` parameters, bound as real query parameters. A flow
    /// param goes here (`"since": "${since}"`), not into the query text.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, serde_json::Value>,
    /// Read only rows that are new since the last successful run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incremental: Option<IncrementalConfig>,
    /// Read a large table in parallel, in ranges of an integer key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<PartitionConfig>,
    /// Types for named fields, over the database's: `{"payload": "json"}` for JSON kept in
    /// a text column. A value that does not read as its type sends its row to `error`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub types: BTreeMap<String, DataType>,
}

/// Incremental sync by a watermark column.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IncrementalConfig {
    /// A column whose value only grows: an update time (`updated_at`) or an increasing id.
    /// After a successful run its newest value is stored; the next run reads only rows
    /// with a newer value. `sluice state show FLOW` shows it, `sluice state reset FLOW`
    /// starts over.
    pub column: String,
    /// Also read rows *equal* to the stored value (`>=` instead of `>`). Catches rows
    /// written in the same instant as the last run's newest; pair it with an upsert sink,
    /// since those rows are read twice.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub inclusive: bool,
    /// Where to start when nothing is stored yet (`"2024-01-01T00:00:00Z"`, `1000`).
    /// Without it the first run reads every row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<serde_json::Value>,
}

/// Parallel read in key ranges.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PartitionConfig {
    /// An integer column to split on, usually the primary key. Rows where it is null are
    /// read with the first range.
    pub column: String,
    /// How many ranges are read at the same time, each on its own connection. Rows arrive
    /// in no particular order.
    #[serde(default = "default_partitions")]
    #[schemars(range(min = 2, max = 32))]
    pub count: u32,
}

fn default_partitions() -> u32 {
    4
}

pub struct SqlSource;

/// The output columns as the database describes them, or why not.
fn described(config: &SqlSourceConfig, ctx: &NodeContext) -> Result<Option<Vec<(String, ColKind)>>, ConfigProblem> {
    let spec = match design::resolve(&ctx.base_dir, config.connection.as_deref(), config.url.as_deref()) {
        Ok(s) => s,
        Err(e) => return Err(design_problem(e).unwrap_or_else(|| ConfigProblem::new("connection", "cannot resolve the connection"))),
    };
    let cols = if let Some(table) = &config.table {
        match design::table(&spec, Access::Read, table) {
            Ok(TableAnswer::Columns(cols)) => {
                let all: Vec<(String, ColKind)> = cols.iter().map(|c| (c.name.clone(), read_kind(spec.driver, c.kind))).collect();
                if config.columns.is_empty() {
                    all
                } else {
                    let mut out = Vec::new();
                    for (i, want) in config.columns.iter().enumerate() {
                        match all.iter().find(|(n, _)| n == want) {
                            Some(c) => out.push(c.clone()),
                            None => {
                                let names: Vec<String> = all.iter().map(|(n, _)| n.clone()).collect();
                                let mut p = ConfigProblem::new(format!("columns/{i}"), format!("table '{table}' has no column '{want}'"));
                                if let Some(h) = design::suggest(want, &names) {
                                    p = p.hint(h);
                                }
                                return Err(p);
                            }
                        }
                    }
                    out
                }
            }
            Ok(TableAnswer::Missing { names }) => {
                let mut p = ConfigProblem::new("table", format!("{spec} has no table '{table}'"));
                if let Some(h) = design::suggest(table, &names) {
                    p = p.hint(h);
                }
                return Err(p);
            }
            Err(e) => return design_problem(e).map(Err).unwrap_or(Ok(None)),
        }
    } else if let Some(q) = &config.query {
        match design::query(&spec, q) {
            Ok(cols) => {
                if let Some(msg) = unreadable_columns(spec.driver, &cols) {
                    return Err(ConfigProblem::new("query", msg));
                }
                cols
            }
            Err(e) => return design_problem(e).map(Err).unwrap_or(Ok(None)),
        }
    } else {
        return Ok(None);
    };
    Ok(Some(cols))
}

/// A design-time answer as a config problem; `None` when the database could not be asked.
fn design_problem(e: DesignError) -> Option<ConfigProblem> {
    match e {
        DesignError::Unreachable(_) => None,
        DesignError::Config { field, message, hint } => {
            let p = ConfigProblem::new(field, message);
            Some(match hint {
                Some(h) => p.hint(h),
                None => p,
            })
        }
    }
}

/// A query's columns of PostgreSQL types Sluice cannot decode (intervals, arrays, ranges,
/// geometry...): they come in the server's binary form, so they must be cast in the query.
fn unreadable_columns(driver: Driver, cols: &[(String, ColKind)]) -> Option<String> {
    if driver != Driver::Postgres {
        return None;
    }
    let bad: Vec<&str> = cols.iter().filter(|(_, k)| *k == ColKind::Other).map(|(n, _)| n.as_str()).collect();
    (!bad.is_empty()).then(|| {
        format!(
            "the query returns {} of a type Sluice cannot read: {}; cast it to text in the query, e.g. {}::text AS {}",
            if bad.len() == 1 { "a column" } else { "columns" },
            bad.join(", "),
            bad[0],
            bad[0]
        )
    })
}

/// PostgreSQL types Sluice cannot decode are selected as text (table mode).
fn read_kind(driver: Driver, k: ColKind) -> ColKind {
    if driver == Driver::Postgres && k == ColKind::Other {
        ColKind::Text
    } else {
        k
    }
}

fn schema_of(cols: &[(String, ColKind)], types: &BTreeMap<String, DataType>) -> SchemaRef {
    let names = Schema::unique_names(cols.iter().map(|(n, _)| n.clone()));
    Arc::new(Schema::new(
        names.into_iter().zip(cols).map(|(n, (orig, k))| Field::new(n, types.get(orig).copied().unwrap_or(k.data_type()))).collect(),
    ))
}

impl NodeKind for SqlSource {
    type Config = SqlSourceConfig;

    fn meta(&self) -> NodeMeta {
        NodeMeta {
            kind: "sql_source",
            category: Category::Source,
            title: "Read from a database",
            description: "Reads a table or a query from SQLite, PostgreSQL or MySQL/MariaDB, streaming; can read only rows new since the last run (watermark) and split a large table into parallel ranges.",
            keywords: &["database", "sql", "select", "postgres", "mysql", "mariadb", "sqlite", "incremental", "watermark", "table"],
            icon: "database",
        }
    }

    fn check(&self, config: &Self::Config, ctx: &NodeContext, _inputs: &PortSchemas) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        match (&config.table, &config.query) {
            (Some(_), Some(_)) => problems.push(ConfigProblem::new("query", "give either a table or a query, not both")),
            (None, None) => problems.push(
                ConfigProblem::new("table", "no table or query given").hint("set \"table\" to the table to read, or \"query\" to a SELECT"),
            ),
            _ => {}
        }
        if config.query.is_some() && !config.columns.is_empty() {
            problems.push(ConfigProblem::new("columns", "columns apply to a table; with a query, list the columns in the SELECT"));
        }
        if let Some(q) = &config.query {
            let used = bind_named_params(q, Driver::Postgres, 1).params;
            for p in &used {
                if !config.params.contains_key(p) {
                    problems.push(
                        ConfigProblem::new("params", format!("the query's parameter :{p} has no value"))
                            .hint(format!("add \"{p}\": … to params")),
                    );
                }
            }
            for k in config.params.keys() {
                if !used.contains(k) {
                    problems.push(ConfigProblem::new(format!("params/{k}"), format!("the query has no parameter :{k}")));
                }
            }
            for (k, v) in &config.params {
                if v.is_object() || v.is_array() {
                    problems.push(ConfigProblem::new(format!("params/{k}"), "a parameter value is text, a number, true/false or null"));
                }
            }
        } else if !config.params.is_empty() {
            problems.push(ConfigProblem::new("params", "params apply to a query"));
        }
        if let Some(p) = &config.partition {
            if !(2..=32).contains(&p.count) {
                problems.push(ConfigProblem::new("partition/count", "between 2 and 32 ranges"));
            }
        }
        if !problems.is_empty() {
            return problems;
        }
        let cols = match described(config, ctx) {
            Ok(Some(c)) => c,
            Ok(None) => return problems,
            Err(p) => return vec![p],
        };
        let names: Vec<String> = cols.iter().map(|(n, _)| n.clone()).collect();
        let find = |field: &str, col: &str| -> Result<ColKind, ConfigProblem> {
            cols.iter().find(|(n, _)| n == col).map(|(_, k)| *k).ok_or_else(|| {
                let mut p = ConfigProblem::new(field, format!("'{col}' is not among the columns read ({})", names.join(", ")));
                if let Some(h) = design::suggest(col, &names) {
                    p = p.hint(h);
                }
                p
            })
        };
        if let Some(inc) = &config.incremental {
            match find("incremental/column", &inc.column) {
                Ok(k) if matches!(k.data_type(), DataType::Bool | DataType::Json) => problems.push(ConfigProblem::new(
                    "incremental/column",
                    format!("'{}' is {}; a watermark needs a time, a date, a number or text that grows", inc.column, k.data_type()),
                )),
                Ok(k) => {
                    if let Some(s) = &inc.start {
                        if let Err(e) = Value::from_json_as(s, k.data_type()) {
                            problems.push(ConfigProblem::new("incremental/start", e.to_string()));
                        }
                    }
                }
                Err(p) => problems.push(p),
            }
        }
        if let Some(part) = &config.partition {
            match find("partition/column", &part.column) {
                Ok(k) if k.data_type() != DataType::Int => problems.push(ConfigProblem::new(
                    "partition/column",
                    format!("'{}' is {}; ranges need an integer column", part.column, k.data_type()),
                )),
                Ok(_) => {}
                Err(p) => problems.push(p),
            }
        }
        for name in config.types.keys() {
            if !names.contains(name) {
                let mut p = ConfigProblem::new(format!("types/{name}"), format!("'{name}' is not among the columns read"));
                if let Some(h) = design::suggest(name, &names) {
                    p = p.hint(h);
                }
                problems.push(p);
            }
        }
        problems
    }

    fn output_schemas(&self, config: &Self::Config, ctx: &NodeContext, _inputs: &PortSchemas) -> Result<PortSchemas, ConfigProblem> {
        Ok(match described(config, ctx) {
            Ok(Some(cols)) => PortSchemas::from([("out".to_string(), schema_of(&cols, &config.types))]),
            _ => PortSchemas::new(),
        })
    }

    fn build(&self, config: Self::Config, ctx: &NodeContext) -> Result<NodeTask, ConfigProblem> {
        let spec = ConnectionSpec::for_node(config.connection.as_deref(), config.url.as_deref(), &ctx.base_dir).map_err(|e| {
            let p = ConfigProblem::new(if config.url.is_some() { "url" } else { "connection" }, e.message);
            match e.hint {
                Some(h) => p.hint(h),
                None => p,
            }
        })?;
        if config.table.is_none() == config.query.is_none() {
            return Err(ConfigProblem::new("table", "give either a table or a query"));
        }
        Ok(NodeTask::Async(Box::new(SqlSourceTask { config, spec, base_dir: ctx.base_dir.clone(), node_id: ctx.node_id.clone() })))
    }
}

struct SqlSourceTask {
    config: SqlSourceConfig,
    spec: ConnectionSpec,
    base_dir: PathBuf,
    node_id: String,
}

/// The SELECT to run, before watermark and range conditions.
struct Select {
    /// `SELECT … FROM table` or the user's query.
    sql: String,
    params: Vec<Value>,
    /// A query is wrapped (`SELECT * FROM (…) q`) before conditions are added.
    is_query: bool,
    /// What follows FROM: the quoted table, or the query as `(…) q`.
    from: String,
    kinds: Vec<ColKind>,
    names: Vec<String>,
}

impl Select {
    fn column_ref(&self, driver: Driver, col: &str) -> String {
        if self.is_query {
            format!("q.{}", driver.quote_ident(col))
        } else {
            driver.quote_ident(col)
        }
    }

    /// The SQL with `conds` (each with its values) added.
    fn with_conditions(&self, conds: &[String]) -> String {
        if conds.is_empty() {
            return self.sql.clone();
        }
        let from = if self.is_query { format!("SELECT * FROM ({}) q", self.sql) } else { self.sql.clone() };
        format!("{from} WHERE {}", conds.join(" AND "))
    }
}

fn fail(e: impl std::fmt::Display) -> NodeError {
    NodeError::msg(e.to_string())
}

/// Orders two watermark values of one column.
fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    use rust_decimal::prelude::ToPrimitive;
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::Decimal(x), Value::Decimal(y)) => Some(x.cmp(y)),
        (Value::Float(x), Value::Float(y)) => x.partial_cmp(y),
        (Value::Int(x), Value::Decimal(y)) => Some(rust_decimal::Decimal::from(*x).cmp(y)),
        (Value::Decimal(x), Value::Int(y)) => Some(x.cmp(&rust_decimal::Decimal::from(*y))),
        (Value::Decimal(x), Value::Float(y)) => x.to_f64().and_then(|x| x.partial_cmp(y)),
        (Value::Date(x), Value::Date(y)) => Some(x.cmp(y)),
        (Value::DateTime(x), Value::DateTime(y)) => Some(x.cmp(y)),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

impl SqlSourceTask {
    fn select<'a>(&'a self, db: &'a Db) -> BoxFuture<'a, Result<Select, NodeError>> {
        Box::pin(async move {
            let driver = db.driver();
            if let Some(table) = &self.config.table {
                let cols = match db.table_columns(table).await.map_err(fail)? {
                    Some(c) => c,
                    None => return Err(fail(db.missing_table(table).await)),
                };
                let chosen: Vec<_> = if self.config.columns.is_empty() {
                    cols.iter().collect()
                } else {
                    let mut out = Vec::new();
                    for want in &self.config.columns {
                        match cols.iter().find(|c| &c.name == want) {
                            Some(c) => out.push(c),
                            None => {
                                let hint = crate::flow::did_you_mean(want, cols.iter().map(|c| c.name.as_str()))
                                    .map(|s| format!(" (did you mean '{s}'?)"))
                                    .unwrap_or_default();
                                return Err(
                                    fail(format!("{}: table '{table}' has no column '{want}'{hint}", db.spec)).with_field("columns")
                                );
                            }
                        }
                    }
                    out
                };
                let list: Vec<String> = chosen
                    .iter()
                    .map(|c| {
                        let q = driver.quote_ident(&c.name);
                        if driver == Driver::Postgres && c.kind == ColKind::Other {
                            format!("CAST({q} AS text) AS {q}")
                        } else {
                            q
                        }
                    })
                    .collect();
                Ok(Select {
                    sql: format!("SELECT {} FROM {}", list.join(", "), driver.quote_table(table)),
                    params: Vec::new(),
                    is_query: false,
                    from: driver.quote_table(table),
                    kinds: chosen.iter().map(|c| read_kind(driver, c.kind)).collect(),
                    names: chosen.iter().map(|c| c.name.clone()).collect(),
                })
            } else {
                let q = self.config.query.as_deref().unwrap_or_default();
                let bound = bind_named_params(q, driver, 1);
                let mut params = Vec::new();
                for name in &bound.params {
                    let v = self
                        .config
                        .params
                        .get(name)
                        .ok_or_else(|| fail(format!("the query's parameter :{name} has no value in params")).with_field("params"))?;
                    params.push(Value::from_json(v));
                }
                let described = db.describe(q).await.map_err(|e| fail(format!("the query: {}", e.message)).with_field("query"))?;
                if let Some(msg) = unreadable_columns(driver, &described) {
                    return Err(fail(msg).with_field("query"));
                }
                Ok(Select {
                    from: format!("({}) q", bound.sql),
                    sql: bound.sql,
                    params,
                    is_query: true,
                    kinds: described.iter().map(|(_, k)| *k).collect(),
                    names: described.into_iter().map(|(n, _)| n).collect(),
                })
            }
        })
    }

    /// `col > ?` for the watermark, in the dialect's terms.
    fn watermark_condition(&self, driver: Driver, select: &Select, col: &str, kind: ColKind, n: usize) -> String {
        let op = if self.config.incremental.as_ref().is_some_and(|i| i.inclusive) { ">=" } else { ">" };
        let c = select.column_ref(driver, col);
        let p = driver.placeholder(n);
        match (driver, kind.data_type()) {
            // SQLite keeps times as text in any ISO shape and offset: compare instants.
            (Driver::Sqlite, DataType::DateTime) => format!("julianday({c}) {op} julianday({p})"),
            (Driver::Sqlite, DataType::Decimal) => format!("CAST({c} AS REAL) {op} CAST({p} AS REAL)"),
            _ => format!("{c} {op} {p}"),
        }
    }
}

#[async_trait::async_trait]
impl AsyncNode for SqlSourceTask {
    async fn run(self: Box<Self>, io: &mut NodeIo) -> Result<(), NodeError> {
        let partitions = self.config.partition.as_ref().map(|p| p.count.clamp(2, 32)).unwrap_or(1);
        let db = Db::connect(&self.spec, Access::Read, partitions, std::time::Duration::from_secs(30)).await.map_err(fail)?;
        let driver = db.driver();
        let select = self.select(&db).await?;
        let schema = schema_of(&select.names.iter().cloned().zip(select.kinds.iter().copied()).collect::<Vec<_>>(), &self.config.types);
        let overrides: Vec<Option<DataType>> = select.names.iter().map(|n| self.config.types.get(n).copied()).collect();

        // Incremental: where the last successful run stopped.
        let mut conditions = Vec::new();
        let mut cond_params = Vec::new();
        let mut watermark: Option<(usize, String, Option<Value>, StateStore, String)> = None;
        if let Some(inc) = &self.config.incremental {
            let idx = select.names.iter().position(|n| n == &inc.column).ok_or_else(|| {
                fail(format!("the watermark column '{}' is not among the columns read ({})", inc.column, select.names.join(", ")))
                    .with_field("incremental/column")
            })?;
            let kind = select.kinds[idx];
            let store = StateStore::open_default().await.map_err(fail)?;
            let key = crate::state::flow_key(&self.base_dir);
            let stored = store.watermark(&key, &self.node_id).await.map_err(fail)?;
            let from = match stored {
                Some(w) if w.column == inc.column => Some(convert_value(w.value, kind.data_type()).map_err(|e| {
                    fail(format!("the stored watermark does not fit column '{}' ({e}); run `sluice state reset` for this flow", inc.column))
                })?),
                Some(w) => {
                    io.log(
                        LogLevel::Warn,
                        format!("the stored watermark is for column '{}', not '{}': reading every row", w.column, inc.column),
                    );
                    None
                }
                None => match &inc.start {
                    Some(s) => Some(Value::from_json_as(s, kind.data_type()).map_err(|e| fail(e).with_field("incremental/start"))?),
                    None => None,
                },
            };
            if let Some(v) = &from {
                conditions.push(self.watermark_condition(driver, &select, &inc.column, kind, select.params.len() + cond_params.len() + 1));
                cond_params.push(v.clone());
                io.log(
                    LogLevel::Info,
                    format!(
                        "reading rows with {} {} {}",
                        inc.column,
                        if inc.inclusive { ">=" } else { ">" },
                        v.to_text().unwrap_or_default()
                    ),
                );
            } else {
                io.log(LogLevel::Info, "no watermark stored yet: reading every row");
            }
            watermark = Some((idx, inc.column.clone(), from, store, key));
        }

        // One query, or one per key range.
        let mut queries: Vec<(String, Vec<Value>)> = Vec::new();
        let base_params: Vec<Value> = select.params.iter().cloned().chain(cond_params.iter().cloned()).collect();
        match &self.config.partition {
            None => queries.push((select.with_conditions(&conditions), base_params.clone())),
            Some(part) => {
                let c = select.column_ref(driver, &part.column);
                let cast = match driver {
                    Driver::Mysql => "SIGNED",
                    _ => "BIGINT",
                };
                let from = &select.from;
                let wh = if conditions.is_empty() { String::new() } else { format!(" WHERE {}", conditions.join(" AND ")) };
                let bounds_sql = format!("SELECT CAST(MIN({c}) AS {cast}), CAST(MAX({c}) AS {cast}) FROM {from}{wh}");
                let bounds = fetch_all(&db, &bounds_sql, &base_params, &[ColKind::Int64, ColKind::Int64]).await.map_err(fail)?;
                match bounds.first().map(|r| (r[0].clone(), r[1].clone())) {
                    Some((Value::Int(lo), Value::Int(hi))) => {
                        let n = partitions as i64;
                        let span = hi as i128 - lo as i128 + 1;
                        let step = ((span + n as i128 - 1) / n as i128).max(1);
                        for i in 0..n {
                            let a = lo as i128 + step * i as i128;
                            if a > hi as i128 {
                                break;
                            }
                            let b = (a + step).min(hi as i128 + 1);
                            let k = base_params.len();
                            let mut range = format!("({c} >= {} AND {c} < {})", driver.placeholder(k + 1), driver.placeholder(k + 2));
                            if i == 0 {
                                range = format!("({range} OR {c} IS NULL)");
                            }
                            let mut conds = conditions.clone();
                            conds.push(range);
                            let mut params = base_params.clone();
                            params.push(Value::Int(a as i64));
                            params.push(Value::Int(b.min(i64::MAX as i128) as i64));
                            queries.push((select.with_conditions(&conds), params));
                        }
                        io.log(LogLevel::Info, format!("reading {} ranges of {} from {lo} to {hi}", queries.len(), part.column));
                    }
                    // Nothing but nulls (or nothing): one plain query.
                    _ => queries.push((select.with_conditions(&conditions), base_params.clone())),
                }
            }
        }

        let streams: Vec<_> = queries.iter().map(|(sql, params)| fetch(&db, sql, params, &select.kinds)).collect();
        let mut rows_in = futures::stream::select_all(streams);
        let size = io.batch_size();
        let mut rows: Vec<Row> = Vec::with_capacity(size);
        let mut errors: Vec<RowError> = Vec::new();
        let mut newest: Option<Value> = watermark.as_ref().and_then(|w| w.2.clone());
        let mut moved = false;
        let cancel = io.shared.cancel.clone();
        loop {
            let next = tokio::select! {
                r = rows_in.next() => r,
                _ = cancel.cancelled() => return Err(NodeError::Cancelled),
            };
            let Some(item) = next else { break };
            let decoded =
                item.map_err(|e| fail(format!("{} (reading {})", e.message, self.config.table.as_deref().unwrap_or("the query"))))?;
            let (mut row, bad) = match decoded {
                Decoded::Row(r) => (r, None),
                Decoded::Bad { row, column, message } => (row, Some((column, message))),
            };
            let mut bad = bad.map(|(c, m)| (select.names[c].clone(), format!("column '{}': {m}", select.names[c])));
            if bad.is_none() {
                for (i, o) in overrides.iter().enumerate() {
                    if let Some(t) = o {
                        match convert_value(std::mem::take(&mut row[i]), *t) {
                            Ok(v) => row[i] = v,
                            Err(e) => {
                                bad = Some((
                                    select.names[i].clone(),
                                    format!("column '{}': {e} (types/{} says {t})", select.names[i], select.names[i]),
                                ));
                                break;
                            }
                        }
                    }
                }
            }
            if let Some((idx, ..)) = &watermark {
                let v = &row[*idx];
                if !v.is_null() && newest.as_ref().is_none_or(|n| compare(v, n) == Some(Ordering::Greater)) {
                    newest = Some(v.clone());
                    moved = true;
                }
            }
            match bad {
                Some((field, msg)) => errors.push(RowError::new(msg, row).field(field)),
                None => rows.push(row),
            }
            if rows.len() >= size {
                io.send_async("out", Batch::new(schema.clone(), std::mem::replace(&mut rows, Vec::with_capacity(size)))).await?;
            }
            if !errors.is_empty() && (errors.len() >= 100 || rows.is_empty()) {
                let errs = std::mem::take(&mut errors);
                tokio::task::block_in_place(|| io.send_errors(&schema, errs))?;
            }
        }
        drop(rows_in);
        io.send_async("out", Batch::new(schema.clone(), rows)).await?;
        if !errors.is_empty() {
            tokio::task::block_in_place(|| io.send_errors(&schema, errors))?;
        }
        db.close().await;

        // The new watermark is stored once the whole run succeeded, after the commits.
        if let (Some((_, column, _, store, key)), true, Some(value)) = (watermark, moved, newest) {
            finish::store_watermark_on_success(io, store, key, Watermark { column, value });
        }
        Ok(())
    }
}

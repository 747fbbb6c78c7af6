//! `lookup`: enriches each row with columns of the matching row of a database table
//! (the customer's profile for a ticket, the agent's team for a call), keeping a bounded
//! cache of recent keys so repeated keys cost no query.
//!
//! Keys not in the cache are fetched a batch at a time with one `IN (…)` query per few
//! hundred keys, so a batch of 1,000 tickets with 300 distinct customers costs one or two
//! round trips rather than 1,000. Keys match after conversion to the column's type
//! (`"42"` finds the integer 42; date-times compare as instants). A null key never matches.
//! When several table rows share a key, the first one returned is used.
//!
//! Left out: lookups that return several rows per key (use a `join` with a `sql_source`),
//! and caching across runs.

use crate::connectors::sql::db::{Access, Db, DbError, TableColumn};
use crate::connectors::sql::design::{self, TableAnswer};
use crate::connectors::sql::read::fetch_all;
use crate::connectors::sql::types::{convert_value, show, ColKind};
use crate::connectors::sql::{ConnectionSpec, Driver};
use crate::exec::{AsyncNode, LogLevel, NodeError, NodeIo, RowError};
use crate::nodes::{Category, ConfigProblem, NodeContext, NodeKind, NodeMeta, NodeTask, PortSchemas};
use crate::value::{Batch, Field, Row, Schema, SchemaRef, Value};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Adds columns of the matching row of a database table to each row.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupConfig {
    /// Name of a connection defined in `sluice.connections.json` (in the flow's folder or a
    /// parent folder) or in your own `~/.config/sluice/connections.json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<String>,
    /// A connection URL instead of a name (no password in it unless it is `${env:NAME}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The table to look rows up in (`schema.table` allowed).
    pub table: String,
    /// How a row finds its match: pairs of an incoming field and a table column that must
    /// be equal, e.g. `[{"field": "customer_id", "column": "id"}]`.
    pub key: Vec<LookupKey>,
    /// The table's columns to add to each row. Empty: every column but the key columns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<String>,
    /// Put before the names of the added fields (e.g. `customer_`), so they cannot clash
    /// with the row's own fields.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub prefix: String,
    /// How many keys (found or not) are remembered; the least recently used are
    /// forgotten first.
    #[serde(default = "default_cache_rows")]
    #[schemars(range(min = 0, max = 10000000))]
    pub cache_rows: usize,
    /// A row whose key matches nothing: `null` adds empty fields, `default` adds the
    /// values in `defaults`, `error` sends the row to the `error` output.
    #[serde(default)]
    pub on_miss: OnMiss,
    /// With `on_miss: default`: the value of each added column (by column name) when
    /// nothing matches; columns not named here stay empty.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub defaults: BTreeMap<String, serde_json::Value>,
}

/// One pair of the lookup key.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupKey {
    /// The incoming field.
    #[schemars(extend("x-field" = "in"))]
    pub field: String,
    /// The table column it must equal.
    pub column: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OnMiss {
    #[default]
    Null,
    Default,
    Error,
}

fn default_cache_rows() -> usize {
    10_000
}

/// Keys fetched per query.
const KEYS_PER_QUERY: usize = 500;

pub struct Lookup;

/// The added columns (name in the table, field name, kind), from the table's columns.
fn added(config: &LookupConfig, cols: &[TableColumn]) -> Result<Vec<(String, String, ColKind)>, ConfigProblem> {
    let names: Vec<String> = cols.iter().map(|c| c.name.clone()).collect();
    let mut out = Vec::new();
    if config.columns.is_empty() {
        for c in cols {
            if !config.key.iter().any(|k| k.column == c.name) {
                out.push((c.name.clone(), format!("{}{}", config.prefix, c.name), c.kind));
            }
        }
    } else {
        for (i, want) in config.columns.iter().enumerate() {
            match cols.iter().find(|c| &c.name == want) {
                Some(c) => out.push((c.name.clone(), format!("{}{}", config.prefix, c.name), c.kind)),
                None => {
                    let mut p = ConfigProblem::new(format!("columns/{i}"), format!("table '{}' has no column '{want}'", config.table));
                    if let Some(h) = design::suggest(want, &names) {
                        p = p.hint(h);
                    }
                    return Err(p);
                }
            }
        }
    }
    for (i, k) in config.key.iter().enumerate() {
        if !cols.iter().any(|c| c.name == k.column) {
            let mut p = ConfigProblem::new(format!("key/{i}/column"), format!("table '{}' has no column '{}'", config.table, k.column));
            if let Some(h) = design::suggest(&k.column, &names) {
                p = p.hint(h);
            }
            return Err(p);
        }
    }
    Ok(out)
}

fn output_schema(input: &Schema, added: &[(String, String, ColKind)]) -> SchemaRef {
    let mut fields = input.fields().to_vec();
    fields.extend(added.iter().map(|(_, name, k)| Field::new(name.clone(), k.data_type())));
    Arc::new(Schema::new(fields))
}

fn table_columns(config: &LookupConfig, ctx: &NodeContext) -> Result<Option<Vec<TableColumn>>, ConfigProblem> {
    let spec = match design::resolve(&ctx.base_dir, config.connection.as_deref(), config.url.as_deref()) {
        Ok(s) => s,
        Err(design::DesignError::Config { field, message, hint }) => {
            let p = ConfigProblem::new(field, message);
            return Err(match hint {
                Some(h) => p.hint(h),
                None => p,
            });
        }
        Err(_) => return Ok(None),
    };
    match design::table(&spec, Access::Read, &config.table) {
        Ok(TableAnswer::Columns(c)) => Ok(Some(c)),
        Ok(TableAnswer::Missing { names }) => {
            let mut p = ConfigProblem::new("table", format!("{spec} has no table '{}'", config.table));
            if let Some(h) = design::suggest(&config.table, &names) {
                p = p.hint(h);
            }
            Err(p)
        }
        Err(design::DesignError::Config { field, message, hint }) => {
            let p = ConfigProblem::new(field, message);
            Err(match hint {
                Some(h) => p.hint(h),
                None => p,
            })
        }
        Err(_) => Ok(None),
    }
}

impl NodeKind for Lookup {
    type Config = LookupConfig;

    fn meta(&self) -> NodeMeta {
        NodeMeta {
            kind: "lookup",
            category: Category::Transform,
            title: "Look up in a database",
            description: "Adds columns of the matching row of a database table to each row (e.g. the customer's profile for a ticket), with a bounded cache; rows without a match get empty fields, defaults, or leave by the error output.",
            keywords: &["enrich", "lookup", "database", "sql", "join", "dimension", "reference", "customer"],
            icon: "search",
        }
    }

    fn check(&self, config: &Self::Config, ctx: &NodeContext, inputs: &PortSchemas) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if config.key.is_empty() {
            problems.push(ConfigProblem::new("key", "no key given").hint("e.g. [{\"field\": \"customer_id\", \"column\": \"id\"}]"));
        }
        if config.on_miss != OnMiss::Default && !config.defaults.is_empty() {
            problems.push(ConfigProblem::new("defaults", "defaults are used only with on_miss: default"));
        }
        let input = inputs.get("in");
        if let Some(schema) = input {
            let names: Vec<String> = schema.names().map(str::to_string).collect();
            for (i, k) in config.key.iter().enumerate() {
                if schema.index_of(&k.field).is_none() {
                    let mut p = ConfigProblem::new(format!("key/{i}/field"), format!("the input has no field '{}'", k.field));
                    if let Some(h) = design::suggest(&k.field, &names) {
                        p = p.hint(h);
                    }
                    problems.push(p);
                }
            }
        }
        if !problems.is_empty() {
            return problems;
        }
        let cols = match table_columns(config, ctx) {
            Ok(Some(c)) => c,
            Ok(None) => return problems,
            Err(p) => return vec![p],
        };
        match added(config, &cols) {
            Ok(add) => {
                for name in config.defaults.keys() {
                    match add.iter().find(|(c, _, _)| c == name) {
                        None => problems
                            .push(ConfigProblem::new(format!("defaults/{name}"), format!("'{name}' is not one of the added columns"))),
                        Some((_, _, k)) => {
                            if let Err(e) = Value::from_json_as(&config.defaults[name], k.data_type()) {
                                problems.push(ConfigProblem::new(format!("defaults/{name}"), e.to_string()));
                            }
                        }
                    }
                }
                if let Some(schema) = input {
                    for (_, f, _) in &add {
                        if schema.index_of(f).is_some() {
                            problems.push(
                                ConfigProblem::new("prefix", format!("the added field '{f}' has the name of an incoming field"))
                                    .hint("set a prefix (e.g. \"customer_\"), or list the columns to add"),
                            );
                        }
                    }
                }
            }
            Err(p) => problems.push(p),
        }
        problems
    }

    fn output_schemas(&self, config: &Self::Config, ctx: &NodeContext, inputs: &PortSchemas) -> Result<PortSchemas, ConfigProblem> {
        let Some(input) = inputs.get("in") else { return Ok(PortSchemas::new()) };
        match table_columns(config, ctx) {
            Ok(Some(cols)) => match added(config, &cols) {
                Ok(add) => Ok(PortSchemas::from([("out".to_string(), output_schema(input, &add))])),
                Err(_) => Ok(PortSchemas::new()),
            },
            _ => Ok(PortSchemas::new()),
        }
    }

    fn build(&self, config: Self::Config, ctx: &NodeContext) -> Result<NodeTask, ConfigProblem> {
        let spec = ConnectionSpec::for_node(config.connection.as_deref(), config.url.as_deref(), &ctx.base_dir).map_err(|e| {
            let p = ConfigProblem::new(if config.url.is_some() { "url" } else { "connection" }, e.message);
            match e.hint {
                Some(h) => p.hint(h),
                None => p,
            }
        })?;
        if config.key.is_empty() {
            return Err(ConfigProblem::new("key", "no key given"));
        }
        Ok(NodeTask::Async(Box::new(LookupTask { config, spec })))
    }
}

/// Keys to matches, bounded: two generations; a key found in the old one moves to the
/// new one, and when the new one fills, the old one is dropped. Least-recently-used in
/// effect, at hash-map cost.
struct Cache {
    capacity: usize,
    current: HashMap<String, Option<Arc<Row>>>,
    previous: HashMap<String, Option<Arc<Row>>>,
}

impl Cache {
    fn new(capacity: usize) -> Self {
        Cache { capacity, current: HashMap::new(), previous: HashMap::new() }
    }

    fn get(&mut self, key: &str) -> Option<Option<Arc<Row>>> {
        if let Some(v) = self.current.get(key) {
            return Some(v.clone());
        }
        let v = self.previous.remove(key)?;
        self.insert(key.to_string(), v.clone());
        Some(v)
    }

    fn insert(&mut self, key: String, v: Option<Arc<Row>>) {
        if self.capacity == 0 {
            return;
        }
        if self.current.len() >= self.capacity.div_ceil(2) {
            self.previous = std::mem::take(&mut self.current);
        }
        self.current.insert(key, v);
    }
}

/// The text a key value is matched by, after conversion to the column's type.
fn canon(v: &Value, kind: ColKind) -> Option<String> {
    if v.is_null() {
        return None;
    }
    let v = convert_value(v.clone(), kind.data_type()).ok()?;
    Some(match v {
        Value::Decimal(d) => d.normalize().to_string(),
        Value::DateTime(dt) => crate::value::format_datetime(&dt.with_timezone(&chrono::Utc).fixed_offset()),
        other => other.to_text()?,
    })
}

struct LookupTask {
    config: LookupConfig,
    spec: ConnectionSpec,
}

fn fail(e: DbError) -> NodeError {
    NodeError::msg(e.message)
}

#[async_trait::async_trait]
impl AsyncNode for LookupTask {
    async fn run(self: Box<Self>, io: &mut NodeIo) -> Result<(), NodeError> {
        let c = &self.config;
        let db = Db::connect(&self.spec, Access::Read, 1, std::time::Duration::from_secs(30)).await.map_err(fail)?;
        let driver = db.driver();
        let cols = match db.table_columns(&c.table).await.map_err(fail)? {
            Some(cols) => cols,
            None => return Err(fail(db.missing_table(&c.table).await).with_field("table")),
        };
        let add = added(c, &cols).map_err(|p| NodeError::msg(format!("{}: {}", db.spec, p.message)).with_field(p.field))?;
        let key_cols: Vec<&TableColumn> =
            c.key.iter().map(|k| cols.iter().find(|col| col.name == k.column).expect("checked by added()")).collect();
        let key_kinds: Vec<ColKind> = key_cols.iter().map(|k| k.kind).collect();
        let read_kinds: Vec<ColKind> = key_kinds.iter().copied().chain(add.iter().map(|a| a.2)).collect();
        let select_list: Vec<String> =
            key_cols.iter().map(|k| driver.quote_ident(&k.name)).chain(add.iter().map(|a| driver.quote_ident(&a.0))).collect();
        let placeholder = |n: usize, col: &TableColumn| {
            let p = driver.placeholder(n);
            if driver == Driver::Postgres {
                format!("CAST({p} AS {})", col.cast)
            } else {
                p
            }
        };
        let defaults: Vec<Value> = add
            .iter()
            .map(|(col, _, k)| match (c.on_miss, c.defaults.get(col)) {
                (OnMiss::Default, Some(v)) => Value::from_json_as(v, k.data_type()).unwrap_or(Value::Null),
                _ => Value::Null,
            })
            .collect();

        let mut cache = Cache::new(c.cache_rows);
        let mut resolved: Option<(SchemaRef, SchemaRef, Vec<usize>)> = None;
        let (mut hits, mut queries, mut misses) = (0u64, 0u64, 0u64);
        while let Some(batch) = io.recv_async("in").await? {
            let (out_schema, idx) = match &resolved {
                Some((s, o, idx)) if Arc::ptr_eq(s, &batch.schema) => (o.clone(), idx.clone()),
                _ => {
                    let mut idx = Vec::new();
                    for (i, k) in c.key.iter().enumerate() {
                        let Some(ix) = batch.schema.index_of(&k.field) else {
                            let hint = crate::flow::did_you_mean(&k.field, batch.schema.names())
                                .map(|s| format!(" (did you mean '{s}'?)"))
                                .unwrap_or_default();
                            return Err(
                                NodeError::msg(format!("the rows have no field '{}'{hint}", k.field)).with_field(format!("key/{i}/field"))
                            );
                        };
                        idx.push(ix);
                    }
                    for (_, f, _) in &add {
                        if batch.schema.index_of(f).is_some() {
                            return Err(NodeError::msg(format!("the added field '{f}' has the name of an incoming field; set a prefix"))
                                .with_field("prefix"));
                        }
                    }
                    let out = output_schema(&batch.schema, &add);
                    resolved = Some((batch.schema.clone(), out.clone(), idx.clone()));
                    (out, idx)
                }
            };

            // Keys of this batch, and those the cache does not know.
            let keys: Vec<Option<(String, Vec<Value>)>> = batch
                .rows
                .iter()
                .map(|row| {
                    let mut text = String::new();
                    let mut values = Vec::with_capacity(idx.len());
                    for (j, &ix) in idx.iter().enumerate() {
                        let v = convert_value(row[ix].clone(), key_kinds[j].data_type()).ok()?;
                        text.push_str(&canon(&v, key_kinds[j])?);
                        text.push('\u{1f}');
                        values.push(v);
                    }
                    Some((text, values))
                })
                .collect();
            // This batch's matches: from the cache, else fetched below. (Kept apart from the
            // cache, which may be smaller than one batch's distinct keys.)
            let mut resolved: HashMap<&String, Option<Arc<Row>>> = HashMap::new();
            let mut wanted: Vec<(&String, &Vec<Value>)> = Vec::new();
            for (text, values) in keys.iter().flatten() {
                if resolved.contains_key(text) {
                    continue;
                }
                match cache.get(text) {
                    Some(m) => {
                        resolved.insert(text, m);
                    }
                    None => {
                        resolved.insert(text, None);
                        wanted.push((text, values));
                    }
                }
            }
            for chunk in wanted.chunks(KEYS_PER_QUERY) {
                let mut n = 0;
                let tuples: Vec<String> = chunk
                    .iter()
                    .map(|_| {
                        let parts: Vec<String> = key_cols
                            .iter()
                            .map(|col| {
                                n += 1;
                                placeholder(n, col)
                            })
                            .collect();
                        if parts.len() == 1 {
                            parts[0].clone()
                        } else {
                            format!("({})", parts.join(", "))
                        }
                    })
                    .collect();
                let lhs = if key_cols.len() == 1 {
                    driver.quote_ident(&key_cols[0].name)
                } else {
                    format!("({})", key_cols.iter().map(|k| driver.quote_ident(&k.name)).collect::<Vec<_>>().join(", "))
                };
                let sql = format!(
                    "SELECT {} FROM {} WHERE {lhs} IN ({})",
                    select_list.join(", "),
                    driver.quote_table(&c.table),
                    tuples.join(", ")
                );
                let params: Vec<Value> = chunk.iter().flat_map(|(_, v)| v.iter().cloned()).collect();
                let rows = fetch_all(&db, &sql, &params, &read_kinds)
                    .await
                    .map_err(|e| fail(DbError { message: format!("looking up in '{}': {}", c.table, e.message), ..e }))?;
                queries += 1;
                let mut found: HashMap<String, Arc<Row>> = HashMap::new();
                for r in rows {
                    let mut text = String::new();
                    for (j, k) in key_kinds.iter().enumerate() {
                        text.push_str(&canon(&r[j], *k).unwrap_or_default());
                        text.push('\u{1f}');
                    }
                    found.entry(text).or_insert_with(|| Arc::new(r[key_kinds.len()..].to_vec()));
                }
                for (text, _) in chunk {
                    let m = found.remove(*text);
                    cache.insert((*text).clone(), m.clone());
                    resolved.insert(text, m);
                }
            }

            let schema = batch.schema.clone();
            let mut out = Vec::with_capacity(batch.rows.len());
            let mut errors = Vec::new();
            for (row, key) in batch.rows.into_iter().zip(keys.iter()) {
                let matched = key.as_ref().and_then(|(text, _)| resolved.get(text).cloned().flatten());
                match matched {
                    Some(m) => {
                        hits += 1;
                        let mut r = row;
                        r.extend(m.iter().cloned());
                        out.push(r);
                    }
                    None if c.on_miss == OnMiss::Error => {
                        misses += 1;
                        let shown: Vec<String> =
                            c.key.iter().zip(&idx).map(|(k, &ix)| format!("{} = {}", k.column, show(&row[ix]))).collect();
                        errors.push(
                            RowError::new(format!("no row of table '{}' has {}", c.table, shown.join(", ")), row)
                                .field(c.key[0].field.clone()),
                        );
                    }
                    None => {
                        misses += 1;
                        let mut r = row;
                        r.extend(defaults.iter().cloned());
                        out.push(r);
                    }
                }
            }
            io.send_async("out", Batch::new(out_schema, out)).await?;
            if !errors.is_empty() {
                tokio::task::block_in_place(|| io.send_errors(&schema, errors))?;
            }
        }
        db.close().await;
        io.log(LogLevel::Info, format!("{hits} rows matched, {misses} did not; {queries} queries to '{}'", c.table));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_is_bounded_and_keeps_recent_keys() {
        let mut c = Cache::new(4);
        for i in 0..10 {
            c.insert(i.to_string(), None);
        }
        assert!(c.current.len() + c.previous.len() <= 4);
        assert!(c.get("9").is_some());
        assert!(c.get("0").is_none());
        assert_eq!(canon(&Value::str("42"), ColKind::Int64), Some("42".into()));
        assert_eq!(canon(&Value::Decimal("1.50".parse().unwrap()), ColKind::Decimal), Some("1.5".into()));
    }
}

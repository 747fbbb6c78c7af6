//! `sql_sink`: writes rows into a table of SQLite, PostgreSQL or MySQL/MariaDB: insert,
//! upsert, update or delete by key; optionally creating the table from the incoming fields,
//! emptying it first, and running SQL before and after.
//!
//! Rows are written in batches of `batch_rows`, each in a transaction of its own or all in
//! one transaction for the whole run (`transaction: run`), committed only once every node
//! of the run has succeeded, so a failed run leaves the table as it was. A batch the
//! database refuses is retried row by row, so only the bad rows leave by `error`, each with
//! the database's message. The statements themselves live in
//! [`crate::connectors::sql::write`].
//!
//! Left out: schema evolution of an existing table (adding columns), and keeping a run's
//! transaction open across a MySQL `CREATE TABLE` (MySQL commits on DDL, so a missing
//! table is created on a separate connection there).

use crate::connectors::sql::db::{Access, Db, DbError, ErrorClass};
use crate::connectors::sql::design::{self, TableAnswer};
use crate::connectors::sql::finish::{self, RunToken};
use crate::connectors::sql::types::ColKind;
use crate::connectors::sql::write::{
    create_table_sql, created_columns, plan_write, prepare_rows, rejected_row, write_bulk, write_row_by_row, Tx, WriteMode, WritePlan,
    Written,
};
use crate::connectors::sql::{ConnectionSpec, Driver};
use crate::exec::{AsyncNode, LogLevel, NodeError, NodeIo, RowError};
use crate::nodes::{Category, ConfigProblem, NodeContext, NodeKind, NodeMeta, NodeTask, PortSchemas};
use crate::value::{Batch, DataType, Row, SchemaRef};
use futures::future::BoxFuture;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};

/// Writes rows into a database table.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SqlSinkConfig {
    /// Name of a connection defined in `sluice.connections.json` (in the flow's folder or a
    /// parent folder) or in your own `~/.config/sluice/connections.json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<String>,
    /// A connection URL instead of a name: `sqlite:out/crm.db`,
    /// `postgres://user@host:5432/db`, `mysql://user@host/db`. A URL with a password is
    /// accepted only as `${env:NAME}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The table to write (`schema.table` allowed). Each field goes to the column of the
    /// same name.
    pub table: String,
    /// `insert` adds rows; `upsert` inserts or updates the row with the same key;
    /// `update` changes the row with the same key; `delete` removes it.
    #[serde(default)]
    pub mode: WriteMode,
    /// The field(s) that identify a row, for upsert, update and delete. Upsert needs a
    /// primary key or unique index on these columns (`create_table` makes one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-field" = "in"))]
    pub key: Vec<String>,
    /// The fields to write. Empty: every field; each must have a column of its name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-field" = "in"))]
    pub fields: Vec<String>,
    /// Create the table when it does not exist, with a column per field (types mapped per
    /// database: text, bigint, numeric, timestamptz, jsonb, ...) and the key as primary key.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub create_table: bool,
    /// Empty the table before writing (with `transaction: run`, inside the transaction).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncate: bool,
    /// SQL statements run before the first row (e.g. `CREATE INDEX IF NOT EXISTS …`).
    /// Flow params work here; values from outside belong in a query's parameters instead.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-editor" = "sql"))]
    pub pre_sql: Vec<String>,
    /// SQL statements run after the last row, before the final commit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-editor" = "sql"))]
    pub post_sql: Vec<String>,
    /// Rows written per batch (one COPY, a few multi-row INSERTs, or that many prepared
    /// statements). A refused batch is retried row by row.
    #[serde(default = "default_batch_rows")]
    #[schemars(range(min = 1, max = 1000000))]
    pub batch_rows: usize,
    /// `batch`: each batch commits on its own (a failed run leaves the batches before it).
    /// `run`: one transaction for the whole run, committed only when every node succeeded:
    /// all or nothing.
    #[serde(default)]
    pub transaction: TransactionMode,
    /// For update and delete: what a row whose key matches nothing does. `ignore` counts
    /// it; `error` sends it to the `error` output.
    #[serde(default)]
    pub unmatched: Unmatched,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TransactionMode {
    /// A transaction per batch.
    #[default]
    Batch,
    /// One transaction for the whole run (all or nothing).
    Run,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Unmatched {
    #[default]
    Ignore,
    Error,
}

fn default_batch_rows() -> usize {
    10_000
}

pub struct SqlSink;

/// Whether a field of type `ty` can be written to a column of `kind` at all (text is
/// parsed, so it can go anywhere).
fn compatible(ty: DataType, kind: ColKind) -> bool {
    use DataType as D;
    match (ty, kind.data_type()) {
        (D::String, _) | (_, D::String) | (_, D::Json) => true,
        (D::Json, _) => false,
        (D::Int | D::Float | D::Decimal | D::Bool, D::Int | D::Float | D::Decimal | D::Bool) => true,
        (D::Date | D::DateTime, D::Date | D::DateTime) => true,
        (a, b) => a == b,
    }
}

impl NodeKind for SqlSink {
    type Config = SqlSinkConfig;

    fn meta(&self) -> NodeMeta {
        NodeMeta {
            kind: "sql_sink",
            category: Category::Sink,
            title: "Write to a database",
            description: "Writes rows into a table of SQLite, PostgreSQL or MySQL/MariaDB: insert (COPY on PostgreSQL), upsert, update or delete by key, in batches or as one all-or-nothing transaction; refused rows leave by the error output with the database's message.",
            keywords: &["database", "sql", "insert", "upsert", "merge", "update", "delete", "postgres", "mysql", "mariadb", "sqlite", "load", "copy"],
            icon: "database",
        }
    }

    fn check(&self, config: &Self::Config, ctx: &NodeContext, inputs: &PortSchemas) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if config.table.trim().is_empty() {
            problems.push(ConfigProblem::new("table", "no table given"));
        }
        if config.mode != WriteMode::Insert && config.key.is_empty() {
            problems.push(
                ConfigProblem::new("key", format!("mode {:?} needs a key", config.mode).to_lowercase())
                    .hint("set key to the field(s) that identify a row, e.g. [\"ticket_id\"]"),
            );
        }
        if config.batch_rows == 0 {
            problems.push(ConfigProblem::new("batch_rows", "at least 1 row per batch"));
        }
        let input = inputs.get("in");
        if let Some(schema) = input {
            let names: Vec<String> = schema.names().map(str::to_string).collect();
            for (what, list) in [("key", &config.key), ("fields", &config.fields)] {
                for (i, f) in list.iter().enumerate() {
                    if schema.index_of(f).is_none() {
                        let mut p = ConfigProblem::new(format!("{what}/{i}"), format!("the input has no field '{f}'"));
                        if let Some(h) = design::suggest(f, &names) {
                            p = p.hint(h);
                        }
                        problems.push(p);
                    }
                }
            }
            if !config.fields.is_empty() {
                for (i, k) in config.key.iter().enumerate() {
                    if !config.fields.contains(k) {
                        problems.push(ConfigProblem::new(format!("key/{i}"), format!("key field '{k}' is not among the fields written")));
                    }
                }
            }
        }
        if !problems.is_empty() {
            return problems;
        }
        let spec = match design::resolve(&ctx.base_dir, config.connection.as_deref(), config.url.as_deref()) {
            Ok(s) => s,
            Err(design::DesignError::Config { field, message, hint }) => {
                let p = ConfigProblem::new(field, message);
                return vec![match hint {
                    Some(h) => p.hint(h),
                    None => p,
                }];
            }
            Err(_) => return problems,
        };
        if !config.pre_sql.is_empty() {
            // pre_sql may create or change the table: what it is now says nothing.
            return problems;
        }
        match design::table(&spec, Access::Write, &config.table) {
            Ok(TableAnswer::Missing { names }) if !config.create_table => {
                let mut p = ConfigProblem::new("table", format!("{spec} has no table '{}'", config.table));
                p = match design::suggest(&config.table, &names) {
                    Some(h) => p.hint(format!("{h} Or set create_table to create it")),
                    None => p.hint("set create_table to create it from the incoming fields"),
                };
                problems.push(p);
            }
            Ok(TableAnswer::Columns(cols)) => {
                if let Some(schema) = input {
                    let col_names: Vec<String> = cols.iter().map(|c| c.name.clone()).collect();
                    for f in schema.fields() {
                        if !config.fields.is_empty() && !config.fields.contains(&f.name) {
                            continue;
                        }
                        let at = config
                            .fields
                            .iter()
                            .position(|x| x == &f.name)
                            .map(|i| format!("fields/{i}"))
                            .unwrap_or_else(|| "table".into());
                        match cols.iter().find(|c| c.name == f.name || c.name.eq_ignore_ascii_case(&f.name)) {
                            None => {
                                let mut p = ConfigProblem::new(
                                    at,
                                    format!("table '{}' has no column '{}' for the field of that name", config.table, f.name),
                                );
                                p = match design::suggest(&f.name, &col_names) {
                                    Some(h) => p.hint(format!("{h} Rename the field upstream, or list the fields to write in `fields`")),
                                    None => p.hint("rename or drop the field upstream, or list the fields to write in `fields`"),
                                };
                                problems.push(p);
                            }
                            Some(c) if !compatible(f.data_type, c.kind) => problems.push(ConfigProblem::new(
                                at,
                                format!(
                                    "field '{}' is {} but column '{}' of '{}' is {}",
                                    f.name, f.data_type, c.name, config.table, c.db_type
                                ),
                            )),
                            Some(_) => {}
                        }
                    }
                }
            }
            _ => {}
        }
        problems
    }

    fn build(&self, config: Self::Config, ctx: &NodeContext) -> Result<NodeTask, ConfigProblem> {
        let spec = ConnectionSpec::for_node(config.connection.as_deref(), config.url.as_deref(), &ctx.base_dir).map_err(|e| {
            let p = ConfigProblem::new(if config.url.is_some() { "url" } else { "connection" }, e.message);
            match e.hint {
                Some(h) => p.hint(h),
                None => p,
            }
        })?;
        if config.mode != WriteMode::Insert && config.key.is_empty() {
            return Err(ConfigProblem::new("key", "this mode needs a key"));
        }
        Ok(NodeTask::Async(Box::new(SqlSinkTask { config, spec })))
    }
}

struct SqlSinkTask {
    config: SqlSinkConfig,
    spec: ConnectionSpec,
}

fn fail(e: DbError) -> NodeError {
    let f = e.column.clone();
    let err = NodeError::msg(e.message);
    match f {
        Some(c) => err.with_field(c),
        None => err,
    }
}

/// Running totals for the closing log line.
#[derive(Default)]
struct Totals {
    written: u64,
    rejected: u64,
    unmatched: u64,
}

impl SqlSinkTask {
    fn is_run_tx(&self) -> bool {
        self.config.transaction == TransactionMode::Run
    }

    /// Makes sure the table exists (creating it from `schema` when asked) and plans the
    /// write of batches of this schema.
    fn plan<'a>(
        &'a self,
        db: &'a Db,
        tx: Option<&'a mut Tx>,
        schema: &'a SchemaRef,
        created: &'a mut bool,
    ) -> BoxFuture<'a, Result<WritePlan, NodeError>> {
        Box::pin(async move {
            let c = &self.config;
            let mut tx = tx;
            let cols = match tx.as_mut() {
                Some(t) => t.table_columns(db, &c.table).await,
                None => db.table_columns(&c.table).await,
            }
            .map_err(fail)?;
            let cols = match cols {
                Some(cols) => cols,
                None if c.create_table => {
                    let sql = create_table_sql(db.driver(), &c.table, schema, &c.fields, &c.key);
                    match tx.as_mut() {
                        // MySQL commits an open transaction on DDL: create it beside it.
                        Some(t) if db.driver() != Driver::Mysql => t.exec(db, &sql).await,
                        _ => db.execute_script(&sql).await,
                    }
                    .map_err(|e| fail(DbError { message: format!("creating table '{}': {}", c.table, e.message), ..e }))?;
                    *created = true;
                    match tx.as_mut() {
                        Some(t) => t.table_columns(db, &c.table).await,
                        None => db.table_columns(&c.table).await,
                    }
                    .map_err(fail)?
                    .unwrap_or_else(|| created_columns(db.driver(), schema, &c.fields, &c.key))
                }
                None => {
                    let names = match tx.as_mut() {
                        Some(t) => t.table_names(db).await,
                        None => db.table_names().await,
                    }
                    .unwrap_or_default();
                    return Err(fail(db.missing_table_among(&c.table, &names)).with_field("table"));
                }
            };
            plan_write(db.driver(), &c.table, c.mode, schema, &cols, &c.fields, &c.key)
                .map_err(|e| fail(DbError { message: format!("{}: {}", db.spec, e.message), ..e }))
        })
    }

    /// Turns a written batch's outcome into row errors, and counts.
    fn settle(&self, plan: &WritePlan, rows: &[Row], w: Written, errors: &mut Vec<RowError>, totals: &mut Totals) {
        totals.written += w.rows;
        totals.unmatched += w.unmatched.len() as u64;
        totals.rejected += w.rejected.len() as u64;
        for (i, msg, col) in w.rejected {
            errors.push(rejected_row(plan, rows[i].clone(), &msg, col));
        }
        if self.config.unmatched == Unmatched::Error {
            for i in w.unmatched {
                errors.push(RowError::new(format!("no row of table '{}' has {}", plan.table, plan.key_text(&rows[i])), rows[i].clone()));
            }
        }
    }

    /// Writes `rows` (one schema) inside `tx`: the whole batch, or row by row when the
    /// database refused it. `savepoint`: the batch runs inside the run's transaction.
    #[allow(clippy::type_complexity)]
    fn write_rows<'a>(
        &'a self,
        db: &'a Db,
        tx: &'a mut Tx,
        plan: &'a WritePlan,
        rows: &'a [Row],
        savepoint: bool,
    ) -> BoxFuture<'a, Result<(Written, Vec<(usize, String, String)>, bool), DbError>> {
        Box::pin(async move {
            let (prepared, bad) = prepare_rows(plan, rows);
            if savepoint {
                tx.exec(db, "SAVEPOINT sluice_batch").await?;
            }
            match write_bulk(tx, db, plan, &prepared).await {
                Ok(w) => {
                    if savepoint {
                        tx.exec(db, "RELEASE SAVEPOINT sluice_batch").await?;
                    }
                    Ok((w, bad, false))
                }
                Err(e) if e.class == ErrorClass::Row => Ok((Written::default(), bad, true)),
                Err(e) => Err(e),
            }
        })
    }
}

#[async_trait::async_trait]
impl AsyncNode for SqlSinkTask {
    async fn run(self: Box<Self>, io: &mut NodeIo) -> Result<(), NodeError> {
        let c = &self.config;
        let run_tx = self.is_run_tx();
        let conns = if self.spec.driver == Driver::Sqlite { 1 } else { 2 };
        let db = Db::connect(&self.spec, Access::Write, conns, std::time::Duration::from_secs(30)).await.map_err(fail)?;
        let driver = db.driver();
        let mut tx: Option<Tx> = if run_tx { Some(Tx::begin(&db).await.map_err(fail)?) } else { None };

        // Before the first row: pre_sql, then emptying the table if it exists.
        for (i, sql) in c.pre_sql.iter().enumerate() {
            match tx.as_mut() {
                Some(t) => t.exec(&db, sql).await,
                None => db.execute_script(sql).await,
            }
            .map_err(|e| NodeError::msg(format!("pre_sql {}: {}", i + 1, e.message)).with_field(format!("pre_sql/{i}")))?;
        }
        if c.truncate {
            let exists = match tx.as_mut() {
                Some(t) => t.table_columns(&db, &c.table).await,
                None => db.table_columns(&c.table).await,
            }
            .map_err(fail)?
            .is_some();
            if exists {
                let sql = driver.truncate_sql(&driver.quote_table(&c.table), run_tx);
                match tx.as_mut() {
                    Some(t) => t.exec(&db, &sql).await,
                    None => db.execute_script(&sql).await,
                }
                .map_err(fail)?;
            }
        }

        let copy_path = driver == Driver::Postgres && c.mode == WriteMode::Insert;
        let mut plan: Option<(SchemaRef, WritePlan)> = None;
        let mut created = false;
        let mut carry: Option<Batch> = None;
        let mut totals = Totals::default();
        let mut input_done = false;
        while !input_done {
            // The first batch of the next write batch.
            let first = match carry.take() {
                Some(b) => b,
                None => match io.recv_async("in").await? {
                    Some(b) if b.is_empty() => continue,
                    Some(b) => b,
                    None => break,
                },
            };
            let schema = first.schema.clone();
            if !plan.as_ref().is_some_and(|(s, _)| Arc::ptr_eq(s, &schema)) {
                let p = self.plan(&db, tx.as_mut(), &schema, &mut created).await?;
                plan = Some((schema.clone(), p));
            }
            let wp = &plan.as_ref().expect("planned above").1;

            let mut batch_tx = if run_tx { None } else { Some(Tx::begin(&db).await.map_err(fail)?) };
            let t: &mut Tx = match (tx.as_mut(), batch_tx.as_mut()) {
                (Some(t), _) | (None, Some(t)) => t,
                (None, None) => unreachable!("one transaction is always open"),
            };

            let mut rows: Vec<Row> = Vec::new();
            let mut errors: Vec<RowError> = Vec::new();
            let mut next = Some(first);
            let outcome: Result<(Written, bool), DbError> = if copy_path {
                // Stream into one COPY while batches keep arriving, so the server works on
                // rows while the next ones are read and converted.
                let mut r: Result<(), DbError> = Ok(());
                if run_tx {
                    r = t.exec(&db, "SAVEPOINT sluice_batch").await;
                }
                if r.is_ok() {
                    let conn = t.pg().expect("the COPY path is PostgreSQL");
                    match conn.copy_in_raw(&wp.copy_sql()).await {
                        Err(e) => r = Err(db.error(&e)),
                        Ok(mut copy) => {
                            let mut buf: Vec<u8> = Vec::with_capacity(1 << 20);
                            while let Some(batch) = next.take() {
                                for row in batch.rows {
                                    match wp.copy_row(&mut buf, &row) {
                                        Ok(()) => rows.push(row),
                                        Err((col, msg)) => errors.push(RowError::new(msg, row).field(col)),
                                    }
                                }
                                if buf.len() >= 1 << 19 {
                                    if let Err(e) = copy.send(std::mem::take(&mut buf)).await {
                                        r = Err(db.error(&e));
                                        break;
                                    }
                                }
                                if rows.len() + errors.len() >= c.batch_rows {
                                    break;
                                }
                                match io.recv_async("in").await? {
                                    Some(b) if Arc::ptr_eq(&b.schema, &schema) => next = Some(b),
                                    Some(b) => carry = Some(b),
                                    None => input_done = true,
                                }
                            }
                            if r.is_ok() && !buf.is_empty() {
                                if let Err(e) = copy.send(buf).await {
                                    r = Err(db.error(&e));
                                }
                            }
                            r = match r {
                                Ok(()) => copy.finish().await.map(|_| ()).map_err(|e| db.error(&e)),
                                Err(e) => {
                                    let _ = copy.abort("sluice stopped the load").await;
                                    Err(e)
                                }
                            };
                        }
                    }
                }
                match r {
                    Ok(()) => {
                        if run_tx {
                            t.exec(&db, "RELEASE SAVEPOINT sluice_batch").await.map_err(fail)?;
                        }
                        Ok((Written { rows: rows.len() as u64, ..Written::default() }, false))
                    }
                    Err(e) if e.class == ErrorClass::Row => Ok((Written::default(), true)),
                    Err(e) => Err(e),
                }
            } else {
                while let Some(batch) = next.take() {
                    rows.extend(batch.rows);
                    if rows.len() >= c.batch_rows {
                        break;
                    }
                    match io.recv_async("in").await? {
                        Some(b) if Arc::ptr_eq(&b.schema, &schema) => next = Some(b),
                        Some(b) => carry = Some(b),
                        None => input_done = true,
                    }
                }
                match self.write_rows(&db, t, wp, &rows, run_tx).await {
                    Ok((w, bad, retry)) => {
                        // Rows that do not fit their columns never reach the database.
                        for (i, col, msg) in bad {
                            errors.push(RowError::new(msg, rows[i].clone()).field(col));
                        }
                        Ok((w, retry))
                    }
                    Err(e) => Err(e),
                }
            };

            let (written, retry) = outcome.map_err(fail)?;
            let written = if retry {
                // The database refused the batch because of some row: undo it and write the
                // rows one at a time so only the bad ones are rejected.
                let t = if run_tx {
                    let t = tx.as_mut().expect("run transaction");
                    t.exec(&db, "ROLLBACK TO SAVEPOINT sluice_batch").await.map_err(fail)?;
                    t
                } else {
                    batch_tx.take().expect("batch transaction").rollback().await;
                    batch_tx = Some(Tx::begin(&db).await.map_err(fail)?);
                    batch_tx.as_mut().expect("just begun")
                };
                // Rows that did not convert were reported with the batch already.
                let (prepared, _) = prepare_rows(wp, &rows);
                let w = write_row_by_row(t, &db, wp, &prepared).await.map_err(fail)?;
                if run_tx {
                    t.exec(&db, "RELEASE SAVEPOINT sluice_batch").await.map_err(fail)?;
                }
                w
            } else {
                written
            };
            if let Some(t) = batch_tx.take() {
                t.commit(&db).await.map_err(fail)?;
            }
            self.settle(wp, &rows, written, &mut errors, &mut totals);
            if !errors.is_empty() {
                let s = schema.clone();
                tokio::task::block_in_place(|| io.send_errors(&s, errors))?;
            }
        }

        for (i, sql) in c.post_sql.iter().enumerate() {
            match tx.as_mut() {
                Some(t) => t.exec(&db, sql).await,
                None => db.execute_script(sql).await,
            }
            .map_err(|e| NodeError::msg(format!("post_sql {}: {}", i + 1, e.message)).with_field(format!("post_sql/{i}")))?;
        }
        let mut summary = format!("{} rows written to '{}'", totals.written, c.table);
        if created {
            summary.push_str(" (table created)");
        }
        if totals.rejected > 0 {
            summary.push_str(&format!(", {} refused", totals.rejected));
        }
        if totals.unmatched > 0 {
            summary.push_str(&format!(", {} matched no row", totals.unmatched));
        }
        if let Some(t) = tx {
            summary.push_str("; committed when the run succeeds");
            // The run's transaction commits after every node succeeded; watermarks of the
            // run's sources wait for it.
            let token = RunToken::of(io);
            finish::expect_commit(&token);
            let handle = tokio::runtime::Handle::current();
            let slot = Arc::new(Mutex::new(Some((t, db.clone()))));
            let (slot2, token2, handle2) = (slot.clone(), token.clone(), handle.clone());
            io.on_success(move || {
                let Some((t, db)) = slot.lock().unwrap_or_else(|p| p.into_inner()).take() else { return Ok(()) };
                let committed = handle.block_on(async {
                    let r = t.commit(&db).await;
                    db.close().await;
                    r
                });
                match committed {
                    Ok(()) => finish::commit_finished(&token, true),
                    Err(e) => {
                        let _ = finish::commit_finished(&token, false);
                        Err(format!("committing the run's rows failed, nothing was written: {}", e.message))
                    }
                }
            });
            io.on_failure(move || {
                if let Some((t, db)) = slot2.lock().unwrap_or_else(|p| p.into_inner()).take() {
                    handle2.block_on(async {
                        t.rollback().await;
                        db.close().await;
                    });
                }
                finish::discard(&token2);
            });
        } else {
            db.close().await;
        }
        io.log(LogLevel::Info, summary);
        Ok(())
    }
}

//! The sink's side of SQL: which columns an incoming batch maps to, the statements for
//! each write mode and dialect, transactions and savepoints, and the retry that isolates a
//! bad row.
//!
//! Fast paths: PostgreSQL inserts stream through `COPY ... FROM STDIN` (text format);
//! MySQL gets multi-row `INSERT`s (upserts too, with `ON DUPLICATE KEY UPDATE`); SQLite
//! runs one prepared statement per row inside the transaction, which is what SQLite is
//! fastest at. Updates and deletes are one prepared statement per row everywhere.
//!
//! A batch is written inside a savepoint (or its own transaction). When it fails because
//! of a row (a constraint, a refused value), it is rolled back and written again row by
//! row, each in its own savepoint, so only the bad rows are rejected, each with the
//! database's own message. A connection-level failure is never retried.
//!
//! Left out: staging tables and `MERGE`; upserts through COPY.

use super::connections::Driver;
use super::db::{columns_on, ConnRef, Db, DbError, ErrorClass, Pool, TableColumn};
use super::types::{bind_mysql, bind_pg, bind_sqlite, show, to_column, ColKind, Out};
use crate::exec::RowError;
use crate::value::{DataType, Row, Schema, Value};
use futures::future::BoxFuture;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sqlx::{MySql, Postgres, Sqlite, Transaction};

/// How incoming rows change the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum WriteMode {
    /// Add every row.
    #[default]
    Insert,
    /// Insert, or update the row with the same key (the key needs a unique index or primary key).
    Upsert,
    /// Update the row with the same key; rows whose key is not in the table change nothing.
    Update,
    /// Delete the row with the same key.
    Delete,
}

/// One column written: where its value comes from and how it is typed.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetColumn {
    /// Index of the field in the incoming batch.
    pub field: usize,
    pub name: String,
    pub kind: ColKind,
    /// PostgreSQL: the type bound values are cast to.
    pub cast: String,
}

/// What one batch schema writes to the table.
#[derive(Debug, Clone)]
pub struct WritePlan {
    pub driver: Driver,
    pub table: String,
    pub quoted_table: String,
    pub mode: WriteMode,
    pub columns: Vec<TargetColumn>,
    /// Positions in `columns` of the key columns.
    pub keys: Vec<usize>,
}

/// Maps incoming fields to table columns. Every field must have a column (same name, or
/// the same name in another case) unless it is left out by `fields`; a key must be among
/// the fields.
pub fn plan_write(
    driver: Driver,
    table: &str,
    mode: WriteMode,
    schema: &Schema,
    table_columns: &[TableColumn],
    fields: &[String],
    key: &[String],
) -> Result<WritePlan, DbError> {
    let chosen: Vec<&str> = if fields.is_empty() { schema.names().collect() } else { fields.iter().map(String::as_str).collect() };
    let mut columns = Vec::new();
    for f in &chosen {
        let Some(idx) = schema.index_of(f) else {
            let hint = crate::flow::did_you_mean(f, schema.names()).map(|s| format!(" (did you mean '{s}'?)")).unwrap_or_default();
            return Err(DbError::fatal(format!("the rows have no field '{f}'{hint}")).with_column(f));
        };
        let col = table_columns.iter().find(|c| c.name == *f).or_else(|| table_columns.iter().find(|c| c.name.eq_ignore_ascii_case(f)));
        let Some(col) = col else {
            let hint = crate::flow::did_you_mean(f, table_columns.iter().map(|c| c.name.as_str()))
                .map(|s| format!("; did you mean '{s}'?"))
                .unwrap_or_else(|| "; map or drop the field upstream, or list the fields to write in `fields`".into());
            return Err(DbError::fatal(format!("table '{table}' has no column '{f}'{hint}")).with_column(f));
        };
        columns.push(TargetColumn { field: idx, name: col.name.clone(), kind: col.kind, cast: col.cast.clone() });
    }
    let mut keys = Vec::new();
    for k in key {
        match columns.iter().position(|c| c.name == *k || c.name.eq_ignore_ascii_case(k)) {
            Some(i) => keys.push(i),
            None => {
                return Err(DbError::fatal(format!("key field '{k}' is not among the fields written to '{table}'")).with_column(k));
            }
        }
    }
    if mode != WriteMode::Insert && keys.is_empty() {
        return Err(DbError::fatal(format!("mode {mode:?} needs a key: set `key` to the field(s) that identify a row")));
    }
    Ok(WritePlan { driver, table: table.to_string(), quoted_table: driver.quote_table(table), mode, columns, keys })
}

impl DbError {
    pub fn with_column(mut self, c: &str) -> Self {
        self.column = Some(c.to_string());
        self
    }
}

/// `CREATE TABLE` for a schema: Sluice types mapped per dialect, the key as primary key.
pub fn create_table_sql(driver: Driver, table: &str, schema: &Schema, fields: &[String], key: &[String]) -> String {
    let chosen: Vec<&crate::value::Field> =
        schema.fields().iter().filter(|f| fields.is_empty() || fields.iter().any(|x| x == &f.name)).collect();
    let mut cols: Vec<String> = chosen
        .iter()
        .map(|f| {
            let is_key = key.iter().any(|k| k == &f.name);
            let not_null = if is_key { " NOT NULL" } else { "" };
            format!("{} {}{not_null}", driver.quote_ident(&f.name), driver.ddl_type(f.data_type, is_key))
        })
        .collect();
    if !key.is_empty() {
        cols.push(format!("PRIMARY KEY ({})", key.iter().map(|k| driver.quote_ident(k)).collect::<Vec<_>>().join(", ")));
    }
    format!("CREATE TABLE IF NOT EXISTS {} ({})", driver.quote_table(table), cols.join(", "))
}

/// Table columns as they will be after `create_table_sql`, without asking the database.
pub fn created_columns(driver: Driver, schema: &Schema, fields: &[String], key: &[String]) -> Vec<TableColumn> {
    schema
        .fields()
        .iter()
        .filter(|f| fields.is_empty() || fields.iter().any(|x| x == &f.name))
        .map(|f| {
            let ty = driver.ddl_type(f.data_type, key.iter().any(|k| k == &f.name)).to_string();
            let kind = match (driver, f.data_type) {
                (Driver::Postgres, DataType::Int) | (Driver::Mysql, DataType::Int) | (Driver::Sqlite, DataType::Int) => ColKind::Int64,
                _ => ColKind::from_type_name(driver, &ty),
            };
            TableColumn { name: f.name.clone(), db_type: ty.clone(), cast: ty, kind, nullable: true }
        })
        .collect()
}

impl WritePlan {
    fn value_sql(&self, n: &mut usize, c: &TargetColumn) -> String {
        *n += 1;
        let p = self.driver.placeholder(*n);
        if self.driver == Driver::Postgres {
            format!("CAST({p} AS {})", c.cast)
        } else {
            p
        }
    }

    fn column_list(&self) -> String {
        self.columns.iter().map(|c| self.driver.quote_ident(&c.name)).collect::<Vec<_>>().join(", ")
    }

    /// `INSERT` (or upsert) of `rows` rows in one statement.
    pub fn insert_sql(&self, rows: usize) -> String {
        let mut n = 0;
        let values: Vec<String> = (0..rows)
            .map(|_| format!("({})", self.columns.iter().map(|c| self.value_sql(&mut n, c)).collect::<Vec<_>>().join(", ")))
            .collect();
        let verb = if self.driver == Driver::Mysql && self.mode == WriteMode::Upsert && self.non_keys().next().is_none() {
            "INSERT IGNORE"
        } else {
            "INSERT"
        };
        let mut sql = format!("{verb} INTO {} ({}) VALUES {}", self.quoted_table, self.column_list(), values.join(", "));
        if self.mode == WriteMode::Upsert {
            let q = |c: &TargetColumn| self.driver.quote_ident(&c.name);
            let sets: Vec<String> = match self.driver {
                Driver::Mysql => self.non_keys().map(|c| format!("{} = VALUES({})", q(c), q(c))).collect(),
                _ => self.non_keys().map(|c| format!("{} = excluded.{}", q(c), q(c))).collect(),
            };
            let keys = self.keys.iter().map(|&k| q(&self.columns[k])).collect::<Vec<_>>().join(", ");
            match (self.driver, sets.is_empty()) {
                (Driver::Mysql, true) => {}
                (Driver::Mysql, false) => sql.push_str(&format!(" ON DUPLICATE KEY UPDATE {}", sets.join(", "))),
                (_, true) => sql.push_str(&format!(" ON CONFLICT ({keys}) DO NOTHING")),
                (_, false) => sql.push_str(&format!(" ON CONFLICT ({keys}) DO UPDATE SET {}", sets.join(", "))),
            }
        }
        sql
    }

    fn non_keys(&self) -> impl Iterator<Item = &TargetColumn> {
        self.columns.iter().enumerate().filter(|(i, _)| !self.keys.contains(i)).map(|(_, c)| c)
    }

    /// The order values are bound in for one row: all columns (insert, upsert), set
    /// columns then keys (update), keys (delete).
    pub fn bind_order(&self) -> Vec<usize> {
        match self.mode {
            WriteMode::Insert | WriteMode::Upsert => (0..self.columns.len()).collect(),
            WriteMode::Update => (0..self.columns.len()).filter(|i| !self.keys.contains(i)).chain(self.keys.iter().copied()).collect(),
            WriteMode::Delete => self.keys.clone(),
        }
    }

    /// The one-row statement of this plan.
    pub fn row_sql(&self) -> String {
        let mut n = 0;
        let q = |c: &TargetColumn| self.driver.quote_ident(&c.name);
        match self.mode {
            WriteMode::Insert | WriteMode::Upsert => self.insert_sql(1),
            WriteMode::Update => {
                let sets: Vec<String> = self.non_keys().map(|c| format!("{} = {}", q(c), self.value_sql(&mut n, c))).collect();
                let wh: Vec<String> =
                    self.keys.iter().map(|&k| format!("{} = {}", q(&self.columns[k]), self.value_sql(&mut n, &self.columns[k]))).collect();
                format!("UPDATE {} SET {} WHERE {}", self.quoted_table, sets.join(", "), wh.join(" AND "))
            }
            WriteMode::Delete => {
                let wh: Vec<String> =
                    self.keys.iter().map(|&k| format!("{} = {}", q(&self.columns[k]), self.value_sql(&mut n, &self.columns[k]))).collect();
                format!("DELETE FROM {} WHERE {}", self.quoted_table, wh.join(" AND "))
            }
        }
    }

    /// `COPY` statement (PostgreSQL inserts).
    pub fn copy_sql(&self) -> String {
        format!("COPY {} ({}) FROM STDIN", self.quoted_table, self.column_list())
    }

    /// Whether batches go through one multi-row statement.
    pub fn multi_row(&self) -> bool {
        matches!(self.mode, WriteMode::Insert | WriteMode::Upsert) && self.driver != Driver::Sqlite
    }

    /// Rows per multi-row statement: at most 65,535 bound values.
    pub fn rows_per_statement(&self) -> usize {
        (65_535 / self.columns.len().max(1)).clamp(1, 1000)
    }

    /// Converts one row for the table; the error names the column and the value.
    pub fn convert<'r>(&self, row: &'r Row) -> Result<Vec<Out<'r>>, (String, String)> {
        let mut out = Vec::with_capacity(self.columns.len());
        for c in &self.columns {
            let v = row.get(c.field).unwrap_or(&Value::Null);
            match to_column(v, c.kind) {
                Ok(o) => out.push(o),
                Err(e) => return Err((c.name.clone(), format!("column '{}' of '{}': {e}", c.name, self.table))),
            }
        }
        Ok(out)
    }

    /// Appends one row to a COPY stream; on a value that does not fit its column, leaves
    /// `buf` as it was and says which column and why.
    pub fn copy_row(&self, buf: &mut Vec<u8>, row: &Row) -> Result<(), (String, String)> {
        let start = buf.len();
        for (i, c) in self.columns.iter().enumerate() {
            if i > 0 {
                buf.push(b'\t');
            }
            if let Err(e) = super::types::write_copy_value(buf, row.get(c.field).unwrap_or(&Value::Null), c.kind) {
                buf.truncate(start);
                return Err((c.name.clone(), format!("column '{}' of '{}': {e}", c.name, self.table)));
            }
        }
        buf.push(b'\n');
        Ok(())
    }

    /// The key of a row, for messages (`id = 42`).
    pub fn key_text(&self, row: &Row) -> String {
        self.keys
            .iter()
            .map(|&k| format!("{} = {}", self.columns[k].name, show(row.get(self.columns[k].field).unwrap_or(&Value::Null))))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// An open transaction of one of the three kinds.
pub enum Tx {
    Pg(Transaction<'static, Postgres>),
    My(Transaction<'static, MySql>),
    Lite(Transaction<'static, Sqlite>),
}

impl Tx {
    pub fn begin(db: &Db) -> BoxFuture<'_, Result<Tx, DbError>> {
        Box::pin(async move {
            let r = match &db.pool {
                Pool::Postgres(p) => p.begin().await.map(Tx::Pg),
                Pool::Mysql(p) => p.begin().await.map(Tx::My),
                // IMMEDIATE takes the write lock at once: two writers then wait their turn
                // instead of SQLite refusing one of them to avoid a deadlock.
                Pool::Sqlite(p) => p.begin_with("BEGIN IMMEDIATE").await.map(Tx::Lite),
            };
            r.map_err(|e| db.error(&e))
        })
    }

    /// Runs statements as they are (pre/post SQL, DDL, savepoints).
    pub fn exec<'a>(&'a mut self, db: &'a Db, sql: &'a str) -> BoxFuture<'a, Result<(), DbError>> {
        Box::pin(async move {
            let r = match self {
                Tx::Pg(t) => super::db::pg_script(t, sql).await,
                Tx::My(t) => super::db::mysql_script(t, sql).await,
                Tx::Lite(t) => super::db::sqlite_script(t, sql).await,
            };
            r.map_err(|e| db.error(&e))
        })
    }

    /// The table's columns as this transaction sees them.
    pub fn table_columns<'a>(&'a mut self, db: &'a Db, table: &'a str) -> BoxFuture<'a, Result<Option<Vec<TableColumn>>, DbError>> {
        Box::pin(async move {
            let conn = match self {
                Tx::Pg(t) => ConnRef::Pg(t),
                Tx::My(t) => ConnRef::My(t),
                Tx::Lite(t) => ConnRef::Lite(t),
            };
            columns_on(conn, table).await.map_err(|e| db.error(&e))
        })
    }

    /// Tables and views as this transaction sees them.
    pub fn table_names<'a>(&'a mut self, db: &'a Db) -> BoxFuture<'a, Result<Vec<String>, DbError>> {
        Box::pin(async move {
            let conn = match self {
                Tx::Pg(t) => ConnRef::Pg(t),
                Tx::My(t) => ConnRef::My(t),
                Tx::Lite(t) => ConnRef::Lite(t),
            };
            super::db::table_names_on(conn).await.map_err(|e| db.error(&e))
        })
    }

    pub fn commit(self, db: &Db) -> BoxFuture<'_, Result<(), DbError>> {
        Box::pin(async move {
            let r = match self {
                Tx::Pg(t) => t.commit().await,
                Tx::My(t) => t.commit().await,
                Tx::Lite(t) => t.commit().await,
            };
            r.map_err(|e| db.error(&e))
        })
    }

    pub fn rollback(self) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            let _ = match self {
                Tx::Pg(t) => t.rollback().await,
                Tx::My(t) => t.rollback().await,
                Tx::Lite(t) => t.rollback().await,
            };
        })
    }

    /// Runs one statement with bound values; returns the rows it affected.
    fn run<'a>(&'a mut self, db: &'a Db, sql: &'a str, values: Vec<Out<'a>>) -> BoxFuture<'a, Result<u64, DbError>> {
        Box::pin(async move {
            let r = match self {
                Tx::Pg(t) => {
                    let mut args = sqlx::postgres::PgArguments::default();
                    for v in values {
                        bind_pg(&mut args, v).map_err(DbError::fatal)?;
                    }
                    sqlx::query_with(sql, args).execute(&mut **t).await.map(|r| r.rows_affected())
                }
                Tx::My(t) => {
                    let mut args = sqlx::mysql::MySqlArguments::default();
                    for v in values {
                        bind_mysql(&mut args, v).map_err(DbError::fatal)?;
                    }
                    sqlx::query_with(sql, args).execute(&mut **t).await.map(|r| r.rows_affected())
                }
                Tx::Lite(t) => {
                    let mut args = sqlx::sqlite::SqliteArguments::default();
                    for v in values {
                        bind_sqlite(&mut args, v).map_err(DbError::fatal)?;
                    }
                    super::db::sqlite_execute(t, sqlx::query_with(sql, args)).await
                }
            };
            r.map_err(|e| db.error(&e))
        })
    }

    /// The PostgreSQL connection of the transaction (for COPY).
    pub fn pg(&mut self) -> Option<&mut sqlx::PgConnection> {
        match self {
            Tx::Pg(t) => Some(&mut **t),
            _ => None,
        }
    }
}

/// A row converted for the table, with its place in the batch.
pub struct Prepared<'r> {
    pub index: usize,
    pub values: Vec<Out<'r>>,
}

/// What writing a batch did.
#[derive(Debug, Default)]
pub struct Written {
    pub rows: u64,
    /// Update/delete rows whose key matched nothing (batch indexes).
    pub unmatched: Vec<usize>,
    /// Rows the database refused: (batch index, message, column).
    pub rejected: Vec<(usize, String, Option<String>)>,
}

/// Converts a batch; rows that do not fit their columns come back as errors at once.
pub fn prepare_rows<'r>(plan: &WritePlan, rows: &'r [Row]) -> (Vec<Prepared<'r>>, Vec<(usize, String, String)>) {
    let mut ok = Vec::with_capacity(rows.len());
    let mut bad = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        match plan.convert(r) {
            Ok(values) => ok.push(Prepared { index: i, values }),
            Err((col, msg)) => bad.push((i, col, msg)),
        }
    }
    (ok, bad)
}

fn ordered<'r>(plan: &WritePlan, values: &[Out<'r>]) -> Vec<Out<'r>> {
    plan.bind_order().into_iter().map(|i| values[i].clone()).collect()
}

/// Writes prepared rows with the plan's bulk statement (not COPY), inside the current
/// transaction. Stops at the first error.
pub fn write_bulk<'a>(
    tx: &'a mut Tx,
    db: &'a Db,
    plan: &'a WritePlan,
    rows: &'a [Prepared<'a>],
) -> BoxFuture<'a, Result<Written, DbError>> {
    Box::pin(async move {
        let mut w = Written::default();
        if plan.multi_row() {
            for chunk in rows.chunks(plan.rows_per_statement()) {
                let sql = plan.insert_sql(chunk.len());
                let values: Vec<Out> = chunk.iter().flat_map(|p| p.values.iter().cloned()).collect();
                tx.run(db, &sql, values).await?;
                w.rows += chunk.len() as u64;
            }
        } else {
            let sql = plan.row_sql();
            for p in rows {
                let n = tx.run(db, &sql, ordered(plan, &p.values)).await?;
                if n == 0 && matches!(plan.mode, WriteMode::Update | WriteMode::Delete) {
                    w.unmatched.push(p.index);
                } else {
                    w.rows += 1;
                }
            }
        }
        Ok(w)
    })
}

/// Writes rows one by one, each in its own savepoint, after their batch failed: the rows
/// the database refuses are reported with its message; a connection failure ends it.
pub fn write_row_by_row<'a>(
    tx: &'a mut Tx,
    db: &'a Db,
    plan: &'a WritePlan,
    rows: &'a [Prepared<'a>],
) -> BoxFuture<'a, Result<Written, DbError>> {
    Box::pin(async move {
        let mut w = Written::default();
        let sql = plan.row_sql();
        for p in rows {
            tx.exec(db, "SAVEPOINT sluice_row").await?;
            match tx.run(db, &sql, ordered(plan, &p.values)).await {
                Ok(n) => {
                    tx.exec(db, "RELEASE SAVEPOINT sluice_row").await?;
                    if n == 0 && matches!(plan.mode, WriteMode::Update | WriteMode::Delete) {
                        w.unmatched.push(p.index);
                    } else {
                        w.rows += 1;
                    }
                }
                Err(e) if e.class == ErrorClass::Row => {
                    tx.exec(db, "ROLLBACK TO SAVEPOINT sluice_row").await?;
                    w.rejected.push((p.index, e.message, e.column));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(w)
    })
}

/// A row error for a refused row: the database's message, the table and the key.
pub fn rejected_row(plan: &WritePlan, row: Row, message: &str, column: Option<String>) -> RowError {
    let key = if plan.keys.is_empty() { String::new() } else { format!(" (row {})", plan.key_text(&row)) };
    let e = RowError::new(format!("table '{}' refused the row{key}: {message}", plan.table), row);
    match column {
        Some(c) => e.field(c),
        None => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Field;

    fn cols(driver: Driver) -> Vec<TableColumn> {
        ["id", "name", "score"]
            .iter()
            .zip([ColKind::Int64, ColKind::Text, ColKind::Decimal])
            .map(|(n, k)| TableColumn {
                name: n.to_string(),
                db_type: "x".into(),
                cast: if driver == Driver::Postgres { "bigint".into() } else { "x".into() },
                kind: k,
                nullable: true,
            })
            .collect()
    }

    #[test]
    fn statements_per_mode_and_dialect() {
        let schema = Schema::new(vec![
            Field::new("id", DataType::Int),
            Field::new("name", DataType::String),
            Field::new("score", DataType::Decimal),
        ]);
        let p = plan_write(Driver::Sqlite, "t", WriteMode::Upsert, &schema, &cols(Driver::Sqlite), &[], &["id".into()]).unwrap();
        assert_eq!(p.insert_sql(1), "INSERT INTO \"t\" (\"id\", \"name\", \"score\") VALUES (?, ?, ?) ON CONFLICT (\"id\") DO UPDATE SET \"name\" = excluded.\"name\", \"score\" = excluded.\"score\"");
        let p = plan_write(Driver::Mysql, "t", WriteMode::Upsert, &schema, &cols(Driver::Mysql), &[], &["id".into()]).unwrap();
        assert_eq!(p.insert_sql(2), "INSERT INTO `t` (`id`, `name`, `score`) VALUES (?, ?, ?), (?, ?, ?) ON DUPLICATE KEY UPDATE `name` = VALUES(`name`), `score` = VALUES(`score`)");
        let p = plan_write(Driver::Postgres, "s.t", WriteMode::Update, &schema, &cols(Driver::Postgres), &[], &["id".into()]).unwrap();
        assert_eq!(
            p.row_sql(),
            "UPDATE \"s\".\"t\" SET \"name\" = CAST($1 AS bigint), \"score\" = CAST($2 AS bigint) WHERE \"id\" = CAST($3 AS bigint)"
        );
        assert_eq!(p.bind_order(), vec![1, 2, 0]);
        let e = plan_write(
            Driver::Postgres,
            "t",
            WriteMode::Insert,
            &Schema::new(vec![Field::new("nmae", DataType::String)]),
            &cols(Driver::Postgres),
            &[],
            &[],
        )
        .unwrap_err();
        assert_eq!(e.message, "table 't' has no column 'nmae'; did you mean 'name'?");
        assert_eq!(e.column.as_deref(), Some("nmae"));
    }

    #[test]
    fn create_table_maps_types_per_dialect() {
        let schema = Schema::new(vec![Field::new("id", DataType::String), Field::new("at", DataType::DateTime)]);
        assert_eq!(
            create_table_sql(Driver::Mysql, "t", &schema, &[], &["id".into()]),
            "CREATE TABLE IF NOT EXISTS `t` (`id` VARCHAR(255) NOT NULL, `at` DATETIME(6), PRIMARY KEY (`id`))"
        );
        assert_eq!(
            create_table_sql(Driver::Postgres, "t", &schema, &[], &[]),
            "CREATE TABLE IF NOT EXISTS \"t\" (\"id\" text, \"at\" timestamptz)"
        );
    }
}

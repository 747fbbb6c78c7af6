//! Running a SELECT and decoding its rows as they stream in: nothing is held beyond the
//! row being decoded, so a result of any size passes in constant memory (the driver reads
//! from the socket only as fast as rows are taken).
//!
//! Left out: server-side cursors with explicit fetch sizes; the drivers' streaming already
//! gives back-pressure.

use super::db::{Db, DbError, Pool};
use super::types::{bind_mysql, bind_pg, bind_sqlite, decode_mysql, decode_pg, decode_sqlite, natural_kind, to_column, ColKind};
use crate::value::{Row, Value};
use futures::future::BoxFuture;
use futures::stream::{BoxStream, StreamExt};

/// One row read: decoded, or the column that could not be.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    Row(Row),
    /// The row as far as it decoded (the failed column null), the column and the reason.
    Bad {
        row: Row,
        column: usize,
        message: String,
    },
}

/// Binds `params` (each by its own type) and streams the decoded rows of `sql`, reading
/// each column as `kinds` says.
pub fn fetch<'a>(db: &'a Db, sql: &'a str, params: &'a [Value], kinds: &'a [ColKind]) -> BoxStream<'a, Result<Decoded, DbError>> {
    macro_rules! decode_with {
        ($row:expr, $decode:ident) => {{
            let row = $row;
            let mut out = Vec::with_capacity(kinds.len());
            let mut bad = None;
            for (i, k) in kinds.iter().enumerate() {
                match $decode(&row, i, *k) {
                    Ok(v) => out.push(v),
                    Err(m) => {
                        if bad.is_none() {
                            bad = Some((i, m));
                        }
                        out.push(Value::Null)
                    }
                }
            }
            match bad {
                None => Decoded::Row(out),
                Some((column, message)) => Decoded::Bad { row: out, column, message },
            }
        }};
    }
    match &db.pool {
        Pool::Postgres(p) => {
            let mut args = sqlx::postgres::PgArguments::default();
            for v in params {
                if let Err(e) = to_column(v, natural_kind(v)).and_then(|o| bind_pg(&mut args, o)) {
                    return futures::stream::once(async move { Err(DbError::fatal(e)) }).boxed();
                }
            }
            sqlx::query_with(sql, args).fetch(p).map(move |r| r.map(|row| decode_with!(row, decode_pg)).map_err(|e| db.error(&e))).boxed()
        }
        Pool::Mysql(p) => {
            let mut args = sqlx::mysql::MySqlArguments::default();
            for v in params {
                if let Err(e) = to_column(v, natural_kind(v)).and_then(|o| bind_mysql(&mut args, o)) {
                    return futures::stream::once(async move { Err(DbError::fatal(e)) }).boxed();
                }
            }
            sqlx::query_with(sql, args)
                .fetch(p)
                .map(move |r| r.map(|row| decode_with!(row, decode_mysql)).map_err(|e| db.error(&e)))
                .boxed()
        }
        Pool::Sqlite(p) => {
            let mut args = sqlx::sqlite::SqliteArguments::default();
            for v in params {
                if let Err(e) = to_column(v, natural_kind(v)).and_then(|o| bind_sqlite(&mut args, o)) {
                    return futures::stream::once(async move { Err(DbError::fatal(e)) }).boxed();
                }
            }
            sqlx::query_with(sql, args)
                .fetch(p)
                .map(move |r| r.map(|row| decode_with!(row, decode_sqlite)).map_err(|e| db.error(&e)))
                .boxed()
        }
    }
}

/// Reads a whole (small) result, failing on the first undecodable row.
pub fn fetch_all<'a>(db: &'a Db, sql: &'a str, params: &'a [Value], kinds: &'a [ColKind]) -> BoxFuture<'a, Result<Vec<Row>, DbError>> {
    Box::pin(async move {
        let mut s = fetch(db, sql, params, kinds);
        let mut out = Vec::new();
        while let Some(r) = s.next().await {
            match r? {
                Decoded::Row(row) => out.push(row),
                Decoded::Bad { column, message, .. } => return Err(DbError::fatal(format!("column {}: {message}", column + 1))),
            }
        }
        Ok(out)
    })
}

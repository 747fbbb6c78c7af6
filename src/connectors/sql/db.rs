//! An open database: one pool per node, errors turned into plain words (naming the
//! connection, never its password), and what the catalog says about tables.
//!
//! Errors come in two classes. A *row* error (a constraint, a value the column refuses) is
//! the row's fault: the sink sends that row to its `error` output and goes on. Anything
//! else (the server went away, a login failed, the table is missing) is *fatal*: the node
//! fails and, in the all-or-nothing mode, nothing is committed.
//!
//! Left out: pools shared between nodes or runs (each node opens its own, sized to its
//! needs), and reconnecting in the middle of a run.

use super::connections::{ConnectionError, ConnectionSpec, Driver, Target};
use super::dialect::split_table;
use super::types::ColKind;
use futures::future::BoxFuture;
use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions, MySqlSslMode};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgSslMode};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use sqlx::{Column, Connection, Executor, Row, Statement};
use std::str::FromStr;
use std::time::Duration;

/// An open pool of one of the three kinds.
#[derive(Clone)]
pub enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
    Mysql(MySqlPool),
}

/// Whether a node reads or writes: a SQLite file is created only for writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

/// Why a database call failed, and whether the row or the run is to blame.
#[derive(Debug, Clone, PartialEq)]
pub struct DbError {
    pub message: String,
    pub class: ErrorClass,
    /// The column the database named, when it did.
    pub column: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// The row's values broke a rule of the table: only that row fails.
    Row,
    /// The connection, the login, the SQL or the table: the node fails.
    Fatal,
}

impl DbError {
    pub fn fatal(message: impl Into<String>) -> Self {
        DbError { message: message.into(), class: ErrorClass::Fatal, column: None }
    }
    pub fn is_row(&self) -> bool {
        self.class == ErrorClass::Row
    }
}

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<ConnectionError> for DbError {
    fn from(e: ConnectionError) -> Self {
        let msg = match e.hint {
            Some(h) => format!("{} ({h})", e.message),
            None => e.message,
        };
        DbError::fatal(msg)
    }
}

/// A column of an existing table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableColumn {
    pub name: String,
    /// The type as the database names it (`character varying(20)`, `bigint(20) unsigned`).
    pub db_type: String,
    /// The type to cast a bound value to (PostgreSQL; the base name without length).
    pub cast: String,
    pub kind: ColKind,
    pub nullable: bool,
}

/// An open database for one node.
#[derive(Clone)]
pub struct Db {
    pub spec: ConnectionSpec,
    pub pool: Pool,
    /// Kept only to scrub it from error messages.
    secret: Option<String>,
}

impl Db {
    /// Opens a pool of up to `max_conns` connections and checks that one connects, so a
    /// wrong host or password fails before any row moves.
    pub fn connect<'a>(
        spec: &'a ConnectionSpec,
        access: Access,
        max_conns: u32,
        connect_timeout: Duration,
    ) -> BoxFuture<'a, Result<Db, DbError>> {
        Box::pin(async move {
            let password = {
                let spec = spec.clone();
                // The keychain may block on D-Bus: keep it off the async threads.
                tokio::task::spawn_blocking(move || spec.password()).await.map_err(|e| DbError::fatal(e.to_string()))??
            };
            let scrub = |e: sqlx::Error, password: &Option<String>| classify(spec, &e, password.as_deref(), true);
            let max = max_conns.max(1);
            let pool = match (&spec.target, spec.driver) {
                (Target::Sqlite { path }, _) => {
                    if access == Access::Read && !path.is_file() {
                        return Err(DbError::fatal(format!("{spec}: the database file {} does not exist", path.display())));
                    }
                    if access == Access::Write {
                        if let Some(dir) = path.parent() {
                            std::fs::create_dir_all(dir)
                                .map_err(|e| DbError::fatal(format!("{spec}: cannot create the folder {}: {e}", dir.display())))?;
                        }
                    }
                    let opts = SqliteConnectOptions::new()
                        .filename(path)
                        .create_if_missing(access == Access::Write)
                        .busy_timeout(Duration::from_secs(30))
                        .foreign_keys(true);
                    let pool = SqlitePoolOptions::new()
                        .max_connections(max)
                        .acquire_timeout(connect_timeout)
                        .connect_with(opts)
                        .await
                        .map_err(|e| scrub(e, &password))?;
                    Pool::Sqlite(pool)
                }
                (Target::Server { host, port, database, user, options }, Driver::Postgres) => {
                    let mut opts = PgConnectOptions::new().host(host).port(*port);
                    if let Some(u) = user {
                        opts = opts.username(u);
                    }
                    if let Some(p) = &password {
                        opts = opts.password(p);
                    }
                    if let Some(d) = database {
                        opts = opts.database(d);
                    }
                    let mut app = "sluice".to_string();
                    for (k, v) in options {
                        match k.as_str() {
                            "sslmode" => {
                                opts = opts.ssl_mode(PgSslMode::from_str(v).map_err(|_| {
                                    DbError::fatal(format!(
                                        "{spec}: sslmode '{v}' is not one of disable, allow, prefer, require, verify-ca, verify-full"
                                    ))
                                })?)
                            }
                            "sslrootcert" => opts = opts.ssl_root_cert(v),
                            "application_name" => app = v.clone(),
                            other => {
                                return Err(DbError::fatal(format!(
                                    "{spec}: unknown option '{other}' (PostgreSQL connections take sslmode, sslrootcert, application_name)"
                                )))
                            }
                        }
                    }
                    // Times without a zone are read and written as UTC: the session says so.
                    opts = opts.application_name(&app).options([("TimeZone", "UTC")]);
                    let pool = PgPoolOptions::new()
                        .max_connections(max)
                        .acquire_timeout(connect_timeout)
                        .connect_with(opts)
                        .await
                        .map_err(|e| scrub(e, &password))?;
                    Pool::Postgres(pool)
                }
                (Target::Server { host, port, database, user, options }, _) => {
                    let mut opts = MySqlConnectOptions::new().host(host).port(*port);
                    if let Some(u) = user {
                        opts = opts.username(u);
                    }
                    if let Some(p) = &password {
                        opts = opts.password(p);
                    }
                    if let Some(d) = database {
                        opts = opts.database(d);
                    }
                    for (k, v) in options {
                        match k.as_str() {
                            "sslmode" | "ssl-mode" => {
                                opts = opts.ssl_mode(MySqlSslMode::from_str(v).map_err(|_| {
                                    DbError::fatal(format!(
                                        "{spec}: ssl-mode '{v}' is not one of disabled, preferred, required, verify_ca, verify_identity"
                                    ))
                                })?)
                            }
                            "sslca" | "ssl-ca" => opts = opts.ssl_ca(v),
                            "charset" => opts = opts.charset(v),
                            "timezone" => opts = opts.timezone(Some(v.clone())),
                            other => {
                                return Err(DbError::fatal(format!(
                                    "{spec}: unknown option '{other}' (MySQL connections take sslmode, sslca, charset, timezone)"
                                )))
                            }
                        }
                    }
                    let pool = MySqlPoolOptions::new()
                        .max_connections(max)
                        .acquire_timeout(connect_timeout)
                        .connect_with(opts)
                        .await
                        .map_err(|e| scrub(e, &password))?;
                    Pool::Mysql(pool)
                }
            };
            Ok(Db { spec: spec.clone(), pool, secret: password })
        })
    }

    pub fn driver(&self) -> Driver {
        self.spec.driver
    }

    /// Classifies and words a driver error (no password in it).
    pub fn error(&self, e: &sqlx::Error) -> DbError {
        classify(&self.spec, e, self.secret.as_deref(), false)
    }

    /// Runs one or more `;`-separated statements (pre/post SQL) outside any transaction.
    pub fn execute_script<'a>(&'a self, sql: &'a str) -> BoxFuture<'a, Result<(), DbError>> {
        Box::pin(async move {
            let r = match &self.pool {
                Pool::Sqlite(p) => sqlx::raw_sql(sql).execute(p).await.map(|_| ()),
                Pool::Postgres(p) => sqlx::raw_sql(sql).execute(p).await.map(|_| ()),
                Pool::Mysql(p) => sqlx::raw_sql(sql).execute(p).await.map(|_| ()),
            };
            r.map_err(|e| self.error(&e))
        })
    }

    /// The columns of `table`, or `None` when there is no such table.
    pub fn table_columns<'a>(&'a self, table: &'a str) -> BoxFuture<'a, Result<Option<Vec<TableColumn>>, DbError>> {
        Box::pin(async move {
            let r = match &self.pool {
                Pool::Postgres(p) => match p.acquire().await {
                    Ok(mut c) => columns_on(ConnRef::Pg(&mut c), table).await,
                    Err(e) => Err(e),
                },
                Pool::Mysql(p) => match p.acquire().await {
                    Ok(mut c) => columns_on(ConnRef::My(&mut c), table).await,
                    Err(e) => Err(e),
                },
                Pool::Sqlite(p) => match p.acquire().await {
                    Ok(mut c) => columns_on(ConnRef::Lite(&mut c), table).await,
                    Err(e) => Err(e),
                },
            };
            r.map_err(|e| self.error(&e))
        })
    }

    /// Tables and views the connection can see (for "did you mean").
    pub fn table_names(&self) -> BoxFuture<'_, Result<Vec<String>, DbError>> {
        Box::pin(async move {
            let r = match &self.pool {
                Pool::Postgres(p) => match p.acquire().await {
                    Ok(mut c) => table_names_on(ConnRef::Pg(&mut c)).await,
                    Err(e) => Err(e),
                },
                Pool::Mysql(p) => match p.acquire().await {
                    Ok(mut c) => table_names_on(ConnRef::My(&mut c)).await,
                    Err(e) => Err(e),
                },
                Pool::Sqlite(p) => match p.acquire().await {
                    Ok(mut c) => table_names_on(ConnRef::Lite(&mut c)).await,
                    Err(e) => Err(e),
                },
            };
            r.map_err(|e| self.error(&e))
        })
    }

    /// A "no such table" error with the close names the connection does have.
    pub fn missing_table<'a>(&'a self, table: &'a str) -> BoxFuture<'a, DbError> {
        Box::pin(async move {
            let names = self.table_names().await.unwrap_or_default();
            self.missing_table_among(table, &names)
        })
    }

    /// A "no such table" error, given the names the connection has. A caller inside a
    /// transaction reads them on the transaction's connection: on SQLite the pool has only
    /// that one, and asking the pool would wait for it until the acquire timeout.
    pub fn missing_table_among(&self, table: &str, names: &[String]) -> DbError {
        let hint = match crate::flow::did_you_mean(table, names.iter().map(String::as_str)) {
            Some(s) => format!(" (did you mean '{s}'?)"),
            None if names.is_empty() => " (the database has no tables)".into(),
            None if names.len() <= 12 => format!(" (its tables: {})", names.join(", ")),
            None => String::new(),
        };
        DbError::fatal(format!("{}: there is no table '{table}'{hint}", self.spec))
    }

    /// The names and kinds of the columns a query returns, without running it. `query`
    /// is the user's text, with `:name` parameters.
    pub fn describe<'a>(&'a self, query: &'a str) -> BoxFuture<'a, Result<Vec<(String, ColKind)>, DbError>> {
        Box::pin(async move {
            let sql = super::dialect::bind_named_params(query, self.driver(), 1).sql;
            let r = match &self.pool {
                Pool::Postgres(p) => {
                    let mut c = p.acquire().await.map_err(|e| self.error(&e))?;
                    let r = c.prepare(&sql).await.map(|s| super::types::pg_columns(s.columns()));
                    // The statement was prepared with parameter types the server guessed; the
                    // real run binds its own, so it must not find this one in the cache.
                    let _ = c.clear_cached_statements().await;
                    r
                }
                Pool::Mysql(p) => {
                    let mut c = p.acquire().await.map_err(|e| self.error(&e))?;
                    let r = c.prepare(&sql).await.map(|s| super::types::mysql_columns(s.columns()));
                    let _ = c.clear_cached_statements().await;
                    r
                }
                Pool::Sqlite(p) => {
                    let mut c = p.acquire().await.map_err(|e| self.error(&e))?;
                    match c.prepare(&sql).await.map(|s| super::types::sqlite_columns(s.columns())) {
                        Ok(mut cols) => {
                            // A temporary view carries the declared types of the columns it
                            // selects (DECIMAL, JSON, TIMESTAMP...), which the driver drops.
                            let view = format!(
                                "CREATE TEMP VIEW sluice_describe AS {}",
                                super::dialect::named_params_as_null(query, Driver::Sqlite).trim_end().trim_end_matches(';')
                            );
                            if sqlite_script(&mut c, &view).await.is_ok() {
                                let declared =
                                    sqlite_fetch_all(&mut c, sqlx::query("SELECT name, type FROM pragma_table_info('sluice_describe')"))
                                        .await;
                                let _ = sqlite_script(&mut c, "DROP VIEW IF EXISTS temp.sluice_describe").await;
                                if let Ok(rows) = declared {
                                    for (col, r) in cols.iter_mut().zip(rows.iter()) {
                                        let ty: String = r.get(1);
                                        if !ty.trim().is_empty() {
                                            col.1 = ColKind::from_type_name(Driver::Sqlite, &ty);
                                        }
                                    }
                                }
                            }
                            Ok(cols)
                        }
                        Err(e) => Err(e),
                    }
                }
            };
            r.map_err(|e| self.error(&e))
        })
    }

    /// Checks the connection answers a trivial query.
    pub fn ping(&self) -> BoxFuture<'_, Result<String, DbError>> {
        Box::pin(async move {
            let r = match &self.pool {
                Pool::Postgres(p) => sqlx::query_scalar::<_, String>("SELECT version()").fetch_one(p).await,
                Pool::Mysql(p) => sqlx::query_scalar::<_, String>("SELECT CAST(version() AS CHAR)").fetch_one(p).await,
                Pool::Sqlite(p) => sqlx::query_scalar::<_, String>("SELECT 'SQLite ' || sqlite_version()").fetch_one(p).await,
            };
            r.map_err(|e| self.error(&e))
        })
    }

    pub async fn close(&self) {
        match &self.pool {
            Pool::Postgres(p) => p.close().await,
            Pool::Mysql(p) => p.close().await,
            Pool::Sqlite(p) => p.close().await,
        }
    }
}

/// Row-level SQLSTATE classes and codes: the row's values are at fault.
fn is_row_level(driver: Driver, db: &dyn sqlx::error::DatabaseError) -> bool {
    let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
    match driver {
        // 22 data exception, 23 integrity constraint, P0 raised by a trigger
        // 21 cardinality (an upsert batch naming one key twice)
        Driver::Postgres => code.starts_with("21") || code.starts_with("22") || code.starts_with("23") || code.starts_with("P0"),
        Driver::Mysql => {
            let number = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>().map(|e| e.number()).unwrap_or(0);
            code.starts_with("22")
                || code.starts_with("23")
                || matches!(number, 1048 | 1062 | 1264 | 1265 | 1292 | 1366 | 1406 | 1451 | 1452 | 1690 | 3140 | 3819 | 4025)
        }
        Driver::Sqlite => {
            // Primary result codes: 19 constraint, 20 datatype mismatch, 18 too big.
            let n: i64 = code.parse().unwrap_or(0);
            matches!(n & 0xff, 18..=20)
        }
    }
}

/// Words a driver error for people, decides its class, and scrubs the password.
pub fn classify(spec: &ConnectionSpec, e: &sqlx::Error, secret: Option<&str>, connecting: bool) -> DbError {
    let target = spec.target_text();
    let (message, class, column) = match e {
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            let mut msg = db.message().to_string();
            let mut column = None;
            if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                if let Some(d) = pg.detail() {
                    msg = format!("{msg} ({d})");
                }
                column = pg.column().map(str::to_string);
            }
            let login = matches!(code.as_str(), "28P01" | "28000")
                || db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>().is_some_and(|m| m.number() == 1045);
            let gone = code.starts_with("57")
                || code.starts_with("08")
                || db
                    .try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
                    .is_some_and(|m| matches!(m.number(), 1927 | 2006 | 2013 | 1053));
            if login {
                (
                    format!("{spec}: the server refused the login: {msg} (check the user and the password from {})", password_origin(spec)),
                    ErrorClass::Fatal,
                    None,
                )
            } else if gone {
                (format!("{spec}: the database ended the connection: {msg}"), ErrorClass::Fatal, None)
            } else if spec.driver == Driver::Sqlite && matches!(code.parse::<i64>().map(|c| c & 0xff), Ok(5) | Ok(6)) {
                (
                    format!(
                        "{spec}: {msg} (SQLite lets one connection write at a time: another sink of this run or another program is writing this file; \
                         a sink with transaction: run holds it until the run ends, so give the other sinks of the same file transaction: batch)"
                    ),
                    ErrorClass::Fatal,
                    None,
                )
            } else if connecting {
                (format!("{spec}: {msg}"), ErrorClass::Fatal, None)
            } else if is_row_level(spec.driver, db.as_ref()) {
                (msg, ErrorClass::Row, column)
            } else {
                (format!("{spec}: {msg}"), ErrorClass::Fatal, column)
            }
        }
        sqlx::Error::Io(io) => {
            let m = match io.kind() {
                std::io::ErrorKind::ConnectionRefused => format!("cannot reach {target}: connection refused (is the server running?)"),
                std::io::ErrorKind::UnexpectedEof
                | std::io::ErrorKind::ConnectionReset
                | std::io::ErrorKind::BrokenPipe
                | std::io::ErrorKind::ConnectionAborted => "the connection to the server was lost".to_string(),
                _ if connecting => format!("cannot reach {target}: {io}"),
                _ => format!("the connection to the server failed: {io}"),
            };
            (format!("{spec}: {m}"), ErrorClass::Fatal, None)
        }
        sqlx::Error::PoolTimedOut => (format!("{spec}: timed out waiting for a connection to {target}"), ErrorClass::Fatal, None),
        sqlx::Error::PoolClosed => (format!("{spec}: the connection was closed"), ErrorClass::Fatal, None),
        sqlx::Error::Tls(t) => (format!("{spec}: TLS failed: {t}"), ErrorClass::Fatal, None),
        sqlx::Error::ColumnDecode { index, source } => (format!("column {index}: {source}"), ErrorClass::Row, None),
        other => (format!("{spec}: {other}"), ErrorClass::Fatal, None),
    };
    let message = match secret.filter(|s| s.len() >= 3) {
        Some(s) => message.replace(s, "***"),
        None => message,
    };
    DbError { message, class, column }
}

fn password_origin(spec: &ConnectionSpec) -> String {
    use super::connections::PasswordSource as P;
    match &spec.password {
        P::None => "nowhere: the connection sets neither password_env nor password_keyring".into(),
        P::Env(v) => format!("the environment variable {v}"),
        P::Keyring => format!("the OS keychain (service sluice, account {})", spec.name),
        P::EnvOrKeyring(v) => format!("the environment variable {v} or the OS keychain"),
        P::Inline(_) => "the URL".into(),
    }
}

/// Resolves and opens a node's connection, in one step, on the current runtime.
pub async fn open(
    base_dir: &std::path::Path,
    connection: Option<&str>,
    url: Option<&str>,
    access: Access,
    max_conns: u32,
) -> Result<Db, DbError> {
    let spec = ConnectionSpec::for_node(connection, url, base_dir)?;
    Db::connect(&spec, access, max_conns, Duration::from_secs(30)).await
}

/// Runs an async job to completion from synchronous code that may itself be on an async
/// thread (design-time checks): on a thread of its own with a small runtime.
pub fn run_blocking<T: Send + 'static>(f: impl std::future::Future<Output = T> + Send + 'static) -> T {
    std::thread::spawn(move || tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime starts").block_on(f))
        .join()
        .expect("the design-time database task does not panic")
}

/// Column names of a row (first row of a result), for messages.
pub fn column_names<C: Column>(cols: &[C]) -> Vec<String> {
    cols.iter().map(|c| c.name().to_string()).collect()
}

/// Runs a statement on a SQLite connection. A named lifetime here (rather than a reborrow
/// inside a bigger async block) lets the compiler prove the future `Send`; sqlx's SQLite
/// executor otherwise trips a higher-ranked lifetime limitation.
pub fn sqlite_execute<'a>(
    conn: &'a mut sqlx::SqliteConnection,
    query: sqlx::query::Query<'a, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'a>>,
) -> BoxFuture<'a, Result<u64, sqlx::Error>> {
    Box::pin(async move { query.execute(conn).await.map(|r| r.rows_affected()) })
}

/// Runs `;`-separated statements on a SQLite connection (see [`sqlite_execute`]).
pub fn sqlite_script<'a>(conn: &'a mut sqlx::SqliteConnection, sql: &'a str) -> BoxFuture<'a, Result<(), sqlx::Error>> {
    // SQLite runs every statement of an unbound query.
    Box::pin(async move { sqlx::query(sql).execute(conn).await.map(|_| ()) })
}

/// One optional scalar from a SQLite connection (see [`sqlite_execute`]).
pub fn sqlite_scalar<'a>(conn: &'a mut sqlx::SqliteConnection, sql: &'a str) -> BoxFuture<'a, Result<Option<i64>, sqlx::Error>> {
    Box::pin(async move { sqlx::query_scalar::<_, i64>(sql).fetch_optional(conn).await })
}

/// One connection of any of the three kinds (from a pool or inside a transaction).
pub enum ConnRef<'a> {
    Pg(&'a mut sqlx::PgConnection),
    My(&'a mut sqlx::MySqlConnection),
    Lite(&'a mut sqlx::SqliteConnection),
}

/// Tables and views seen on this connection, sorted.
pub fn table_names_on(conn: ConnRef<'_>) -> BoxFuture<'_, Result<Vec<String>, sqlx::Error>> {
    Box::pin(async move {
        match conn {
            ConnRef::Pg(c) => {
                sqlx::query_scalar::<_, String>(
                    "SELECT CASE WHEN table_schema = current_schema() THEN table_name::text ELSE table_schema || '.' || table_name END \
                     FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
                )
                .fetch_all(&mut *c)
                .await
            }
            ConnRef::My(c) => {
                sqlx::query_scalar::<_, String>("SELECT CAST(table_name AS CHAR) FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY 1")
                    .fetch_all(&mut *c)
                    .await
            }
            ConnRef::Lite(c) => {
                sqlx::query_scalar::<_, String>("SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' ORDER BY 1")
                    .fetch_all(&mut *c)
                    .await
            }
        }
    })
}

/// The columns of `table` as seen on this connection (inside a transaction, a table
/// created by it is visible), or `None` when there is no such table.
pub fn columns_on<'a>(conn: ConnRef<'a>, table: &'a str) -> BoxFuture<'a, Result<Option<Vec<TableColumn>>, sqlx::Error>> {
    Box::pin(async move {
        let (schema, name) = split_table(table);
        let cols: Vec<TableColumn> = match conn {
            ConnRef::Pg(c) => {
                let reg = Driver::Postgres.quote_table(table);
                let rows = sqlx::query(
                    "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), format_type(a.atttypid, NULL), \
                     format_type(CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE a.atttypid END, NULL), \
                     t.typtype::text, NOT a.attnotnull \
                     FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid \
                     WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
                )
                .bind(reg)
                .fetch_all(&mut *c)
                .await?;
                rows.iter()
                    .map(|r| {
                        let typtype: String = r.get(4);
                        let base: String = r.get(3);
                        let kind = if typtype == "e" { ColKind::Text } else { ColKind::from_type_name(Driver::Postgres, &base) };
                        TableColumn { name: r.get(0), db_type: r.get(1), cast: r.get(2), kind, nullable: r.get(5) }
                    })
                    .collect()
            }
            ConnRef::My(c) => {
                let rows = sqlx::query(
                    "SELECT CAST(column_name AS CHAR), CAST(column_type AS CHAR), CAST(is_nullable AS CHAR) FROM information_schema.columns \
                     WHERE table_schema = COALESCE(?, DATABASE()) AND table_name = ? ORDER BY ordinal_position",
                )
                .bind(schema)
                .bind(name)
                .fetch_all(&mut *c)
                .await?;
                // MariaDB's JSON is LONGTEXT with a json_valid() check: find those.
                let checks: Vec<String> = sqlx::query_scalar(
                    "SELECT CAST(check_clause AS CHAR) FROM information_schema.check_constraints \
                     WHERE constraint_schema = COALESCE(?, DATABASE()) AND table_name = ?",
                )
                .bind(schema)
                .bind(name)
                .fetch_all(&mut *c)
                .await
                .unwrap_or_default();
                rows.iter()
                    .map(|r| {
                        let name: String = r.get(0);
                        let ty: String = r.get(1);
                        let nullable: String = r.get(2);
                        let pattern = format!("json_valid(`{}`)", name.to_lowercase());
                        let is_json = checks.iter().any(|c| c.replace(' ', "").to_lowercase().contains(&pattern));
                        let kind = if is_json { ColKind::Json } else { ColKind::from_type_name(Driver::Mysql, &ty) };
                        TableColumn { cast: ty.clone(), db_type: ty, kind, nullable: nullable == "YES", name }
                    })
                    .collect()
            }
            ConnRef::Lite(c) => {
                let rows = sqlite_fetch_all(
                    c,
                    sqlx::query("SELECT name, type, \"notnull\" FROM pragma_table_info(?1, ?2)").bind(name).bind(schema.unwrap_or("main")),
                )
                .await?;
                rows.iter()
                    .map(|r| {
                        let ty: String = r.get(1);
                        let notnull: i64 = r.get(2);
                        let kind = ColKind::from_type_name(Driver::Sqlite, &ty);
                        TableColumn { name: r.get(0), kind, cast: ty.clone(), db_type: ty, nullable: notnull == 0 }
                    })
                    .collect()
            }
        };
        Ok(if cols.is_empty() { None } else { Some(cols) })
    })
}

/// All rows of a query on a SQLite connection (see [`sqlite_execute`]).
pub fn sqlite_fetch_all<'a>(
    conn: &'a mut sqlx::SqliteConnection,
    query: sqlx::query::Query<'a, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'a>>,
) -> BoxFuture<'a, Result<Vec<sqlx::sqlite::SqliteRow>, sqlx::Error>> {
    Box::pin(async move { query.fetch_all(conn).await })
}

/// Runs `;`-separated statements on a PostgreSQL connection (simple query protocol).
pub fn pg_script<'a>(conn: &'a mut sqlx::PgConnection, sql: &'a str) -> BoxFuture<'a, Result<(), sqlx::Error>> {
    Box::pin(async move { conn.execute(sql).await.map(|_| ()) })
}

/// Runs `;`-separated statements on a MySQL connection (text protocol).
pub fn mysql_script<'a>(conn: &'a mut sqlx::MySqlConnection, sql: &'a str) -> BoxFuture<'a, Result<(), sqlx::Error>> {
    Box::pin(async move { conn.execute(sql).await.map(|_| ()) })
}

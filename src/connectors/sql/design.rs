//! Design-time questions to the database: which columns a table or a query has, so a
//! SQL node can name its output fields and check a config before anything runs.
//!
//! Checks are synchronous and may be called from inside the async runtime, so each
//! question runs on a thread of its own with a small runtime, with a short connect timeout.
//! Answers are cached for a few seconds (a flow check asks both for problems and for
//! schemas). A database that cannot be reached is *not* a config problem: the run reports
//! it with the real cause; only answers the database did give (no such table, no such
//! column) become problems.
//!
//! Left out: caching across processes, and asking about anything but columns.

use super::connections::ConnectionSpec;
use super::db::{run_blocking, Access, Db, TableColumn};
use super::types::ColKind;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Why a design-time question has no answer.
#[derive(Debug, Clone, PartialEq)]
pub enum DesignError {
    /// The database could not be asked (down, no password here): say nothing.
    Unreachable(String),
    /// The config is wrong: a problem on `field`.
    Config { field: &'static str, message: String, hint: Option<String> },
}

/// A table's columns, or the tables there are when it does not exist.
#[derive(Debug, Clone, PartialEq)]
pub enum TableAnswer {
    Columns(Vec<TableColumn>),
    Missing { names: Vec<String> },
}

const TTL: Duration = Duration::from_secs(3);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

type Cache<T> = Mutex<HashMap<String, (Instant, Result<T, DesignError>)>>;

fn cached<T: Clone + Send + 'static>(
    cache: &'static Cache<T>,
    key: String,
    ask: impl FnOnce() -> Result<T, DesignError>,
) -> Result<T, DesignError> {
    if let Some((at, v)) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
        if at.elapsed() < TTL {
            return v.clone();
        }
    }
    let v = ask();
    cache.lock().unwrap_or_else(|p| p.into_inner()).insert(key, (Instant::now(), v.clone()));
    v
}

/// Resolves the node's connection, as a config problem when it cannot be.
pub fn resolve(base_dir: &Path, connection: Option<&str>, url: Option<&str>) -> Result<ConnectionSpec, DesignError> {
    ConnectionSpec::for_node(connection, url, base_dir).map_err(|e| DesignError::Config {
        field: if url.is_some() && connection.is_none() { "url" } else { "connection" },
        message: e.message,
        hint: e.hint,
    })
}

async fn open(spec: &ConnectionSpec, access: Access) -> Result<Db, DesignError> {
    if let super::connections::Target::Sqlite { path } = &spec.target {
        if access == Access::Read && !path.is_file() {
            return Err(DesignError::Config {
                field: "connection",
                message: format!("{spec}: the database file {} does not exist", path.display()),
                hint: Some("check the connection's path; a source does not create databases".into()),
            });
        }
        if access == Access::Write && !path.is_file() {
            return Err(DesignError::Unreachable("the database file will be created".into()));
        }
    }
    Db::connect(spec, Access::Read, 1, CONNECT_TIMEOUT).await.map_err(|e| DesignError::Unreachable(e.message))
}

/// The columns of `table`, asked at design time.
pub fn table(spec: &ConnectionSpec, access: Access, table: &str) -> Result<TableAnswer, DesignError> {
    static CACHE: std::sync::LazyLock<Cache<TableAnswer>> = std::sync::LazyLock::new(|| Mutex::new(HashMap::new()));
    let key = format!("{spec}|{access:?}|{table}");
    let (spec, table) = (spec.clone(), table.to_string());
    cached(&CACHE, key, move || {
        run_blocking(async move {
            let db = open(&spec, access).await?;
            let r = match db.table_columns(&table).await {
                Ok(Some(c)) => Ok(TableAnswer::Columns(c)),
                Ok(None) => Ok(TableAnswer::Missing { names: db.table_names().await.unwrap_or_default() }),
                Err(e) => Err(DesignError::Unreachable(e.message)),
            };
            db.close().await;
            r
        })
    })
}

/// The columns a query returns, asked at design time (the query is prepared, not run).
pub fn query(spec: &ConnectionSpec, sql: &str) -> Result<Vec<(String, ColKind)>, DesignError> {
    static CACHE: std::sync::LazyLock<Cache<Vec<(String, ColKind)>>> = std::sync::LazyLock::new(|| Mutex::new(HashMap::new()));
    let key = format!("{spec}|{sql}");
    let (spec, sql) = (spec.clone(), sql.to_string());
    cached(&CACHE, key, move || {
        run_blocking(async move {
            let db = open(&spec, Access::Read).await?;
            // It connected, so a failure here is the query's.
            let r = db.describe(&sql).await.map_err(|e| DesignError::Config {
                field: "query",
                message: format!("the database does not accept the query: {}", e.message),
                hint: None,
            });
            db.close().await;
            r
        })
    })
}

/// "did you mean" over names, as a hint.
pub fn suggest(word: &str, names: &[String]) -> Option<String> {
    crate::flow::did_you_mean(word, names.iter().map(String::as_str)).map(|s| format!("did you mean '{s}'?"))
}

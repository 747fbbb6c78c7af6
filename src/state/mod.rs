//! Sluice's local state: what one run leaves for the next, kept in a SQLite file on this
//! machine (`$SLUICE_STATE_DIR/state.db`, else `$XDG_DATA_HOME/sluice/state.db`, else
//! `~/.local/share/sluice/state.db`).
//!
//! It holds the watermarks of incremental sources (per flow and node, the newest value of
//! the watermark column read by the last *successful* run) and the run history with each
//! run's kept failed rows ([`runs`]). A flow is identified
//! by its folder (the canonical path), a node by its id; see [`flow_key`]. The schema is
//! versioned: [`MIGRATIONS`] lists every step, each applied once in order, so later
//! features (run history) add tables by appending a migration.
//!
//! Left out: sharing state between machines (it is a local file by design) and locking a
//! flow against two simultaneous runs (the last to finish writes its watermark).
#![cfg(feature = "sql")]

mod dead_letters;
mod runs;

pub use dead_letters::{DeadLetter, DeadLetterGroup, NewDeadLetter, DEAD_LETTER_KEPT, DEAD_LETTER_PENDING};
pub use runs::{error_rows_to_csv, RunListEntry, RunRecord, RUNS_KEPT};

use crate::value::{parse_text_as, DataType, Value};
use futures::future::BoxFuture;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use sqlx::Row;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Every schema step, in order. Never edit a released step; append a new one.
pub const MIGRATIONS: &[&str] = &[
    // 1: watermarks of incremental sources.
    "CREATE TABLE watermarks (
        flow_key    TEXT NOT NULL,
        node_id     TEXT NOT NULL,
        column_name TEXT NOT NULL,
        value_type  TEXT NOT NULL,
        value       TEXT NOT NULL,
        updated_at  TEXT NOT NULL,
        PRIMARY KEY (flow_key, node_id)
    )",
    // 2: run history (see runs.rs).
    "CREATE TABLE runs (
        run_id      TEXT PRIMARY KEY,
        flow_name   TEXT NOT NULL,
        flow_path   TEXT,
        status      TEXT NOT NULL,
        started_at  TEXT NOT NULL,
        finished_at TEXT NOT NULL,
        duration_ms INTEGER NOT NULL,
        params      TEXT NOT NULL,
        error       TEXT,
        failed_node TEXT,
        rows_error  INTEGER NOT NULL,
        summary     TEXT NOT NULL
    );
    CREATE INDEX runs_by_start ON runs (started_at);",
    // 3: the failed rows each run kept (its dead letters).
    "CREATE TABLE run_error_rows (
        run_id   TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
        seq      INTEGER NOT NULL,
        node_id  TEXT NOT NULL,
        message  TEXT NOT NULL,
        field    TEXT,
        line     INTEGER,
        raw      TEXT,
        handled  INTEGER NOT NULL,
        row_json TEXT NOT NULL,
        PRIMARY KEY (run_id, seq)
    )",
    // 4: durable dead letters kept by `dead_letter` nodes (see dead_letters.rs).
    "CREATE TABLE dead_letters (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        flow_key    TEXT NOT NULL,
        dlq_node    TEXT NOT NULL,
        failed_node TEXT NOT NULL,
        run_id      TEXT NOT NULL,
        state       TEXT NOT NULL,
        message     TEXT NOT NULL,
        field       TEXT,
        line        INTEGER,
        fields_json TEXT NOT NULL,
        row_json    TEXT NOT NULL,
        created_at  TEXT NOT NULL
    );
    CREATE INDEX dead_letters_by_node ON dead_letters (flow_key, dlq_node, state);
    CREATE INDEX dead_letters_by_run ON dead_letters (run_id);",
];

/// A state-store problem, in plain words (names the file).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct StateError(pub String);

/// The newest value read from a watermark column.
#[derive(Debug, Clone, PartialEq)]
pub struct Watermark {
    pub column: String,
    pub value: Value,
}

/// One stored watermark, for `sluice state show`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct WatermarkEntry {
    pub flow_key: String,
    pub node_id: String,
    pub column: String,
    #[serde(rename = "type")]
    pub value_type: String,
    pub value: String,
    pub updated_at: String,
}

/// The key a flow's state is stored under: its folder, canonicalised, so the same flow
/// run from another working directory finds its state.
pub fn flow_key(base_dir: &Path) -> String {
    base_dir.canonicalize().unwrap_or_else(|_| base_dir.to_path_buf()).to_string_lossy().into_owned()
}

/// Where the state file lives.
pub fn default_state_path() -> PathBuf {
    let dir = std::env::var_os("SLUICE_STATE_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()).map(|d| PathBuf::from(d).join("sluice")))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share/sluice")))
        .unwrap_or_else(|| PathBuf::from(".sluice"));
    dir.join("state.db")
}

/// The open state file.
#[derive(Clone)]
pub struct StateStore {
    pool: SqlitePool,
    path: PathBuf,
}

impl StateStore {
    /// Opens the default state file, creating it (and its folder) on first use.
    pub fn open_default() -> BoxFuture<'static, Result<Self, StateError>> {
        Box::pin(async move { Self::open(&default_state_path()).await })
    }

    /// Opens (or creates) a state file and brings its schema up to date.
    pub fn open(path: &Path) -> BoxFuture<'static, Result<Self, StateError>> {
        let path = path.to_path_buf();
        Box::pin(async move {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| StateError(format!("cannot create the state folder {}: {e}", dir.display())))?;
            }
            let opts = SqliteConnectOptions::new().filename(&path).create_if_missing(true).busy_timeout(Duration::from_secs(15));
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(opts)
                .await
                .map_err(|e| StateError(format!("cannot open the state file {}: {e}", path.display())))?;
            let store = StateStore { pool, path };
            store.migrate().await?;
            Ok(store)
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, e: sqlx::Error) -> StateError {
        StateError(format!("state file {}: {e}", self.path.display()))
    }

    /// The schema version: the number of migrations applied.
    pub fn schema_version(&self) -> BoxFuture<'_, Result<usize, StateError>> {
        Box::pin(async move {
            let v: i64 = sqlx::query_scalar("SELECT version FROM schema_version").fetch_one(&self.pool).await.map_err(|e| self.err(e))?;
            Ok(v as usize)
        })
    }

    fn migrate(&self) -> BoxFuture<'_, Result<(), StateError>> {
        Box::pin(async move {
            use crate::connectors::sql::db::{sqlite_execute, sqlite_scalar, sqlite_script};
            // Up to date (the usual case): nothing to lock.
            let now: Result<Option<i64>, _> = sqlx::query_scalar("SELECT version FROM schema_version").fetch_optional(&self.pool).await;
            if matches!(now, Ok(Some(v)) if v as usize == MIGRATIONS.len()) {
                return Ok(());
            }
            // IMMEDIATE: the write lock first, so two processes opening a new state file take
            // turns (busy timeout) instead of one failing on a lock upgrade.
            let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(|e| self.err(e))?;
            sqlite_script(&mut tx, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
                .await
                .map_err(|e| self.err(e))?;
            let current = match sqlite_scalar(&mut tx, "SELECT version FROM schema_version").await.map_err(|e| self.err(e))? {
                Some(v) => v as usize,
                None => {
                    sqlite_script(&mut tx, "INSERT INTO schema_version (version) VALUES (0)").await.map_err(|e| self.err(e))?;
                    0
                }
            };
            if current > MIGRATIONS.len() {
                return Err(StateError(format!(
                    "the state file {} was written by a newer Sluice (schema {current}, this one knows {}); upgrade Sluice",
                    self.path.display(),
                    MIGRATIONS.len()
                )));
            }
            for step in &MIGRATIONS[current..] {
                sqlite_script(&mut tx, step).await.map_err(|e| self.err(e))?;
            }
            sqlite_execute(&mut tx, sqlx::query("UPDATE schema_version SET version = ?").bind(MIGRATIONS.len() as i64))
                .await
                .map_err(|e| self.err(e))?;
            tx.commit().await.map_err(|e| self.err(e))
        })
    }

    /// The stored watermark of a node, if any.
    pub fn watermark<'a>(&'a self, flow_key: &'a str, node_id: &'a str) -> BoxFuture<'a, Result<Option<Watermark>, StateError>> {
        Box::pin(async move {
            let row = sqlx::query("SELECT column_name, value_type, value FROM watermarks WHERE flow_key = ? AND node_id = ?")
                .bind(flow_key)
                .bind(node_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| self.err(e))?;
            let Some(row) = row else { return Ok(None) };
            let column: String = row.get(0);
            let ty: String = row.get(1);
            let text: String = row.get(2);
            let ty = DataType::ALL.into_iter().find(|t| t.name() == ty).ok_or_else(|| {
                StateError(format!("the watermark of node '{node_id}' has an unknown type '{ty}'; reset it with `sluice state reset`"))
            })?;
            let value = parse_text_as(&text, ty).map_err(|e| {
                StateError(format!("the watermark of node '{node_id}' is unreadable ({e}); reset it with `sluice state reset`"))
            })?;
            Ok(Some(Watermark { column, value }))
        })
    }

    /// Stores a node's watermark, replacing the previous one.
    pub fn set_watermark<'a>(&'a self, flow_key: &'a str, node_id: &'a str, w: &'a Watermark) -> BoxFuture<'a, Result<(), StateError>> {
        Box::pin(async move {
            let Some(ty) = w.value.data_type() else {
                return Err(StateError("a watermark cannot be null".into()));
            };
            sqlx::query(
                "INSERT INTO watermarks (flow_key, node_id, column_name, value_type, value, updated_at) VALUES (?, ?, ?, ?, ?, ?) \
             ON CONFLICT (flow_key, node_id) DO UPDATE SET column_name = excluded.column_name, value_type = excluded.value_type, \
             value = excluded.value, updated_at = excluded.updated_at",
            )
            .bind(flow_key)
            .bind(node_id)
            .bind(&w.column)
            .bind(ty.name())
            .bind(w.value.to_text().unwrap_or_default())
            .bind(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .execute(&self.pool)
            .await
            .map_err(|e| self.err(e))?;
            Ok(())
        })
    }

    /// Stored watermarks, all or one flow's.
    pub fn watermarks<'a>(&'a self, flow_key: Option<&'a str>) -> BoxFuture<'a, Result<Vec<WatermarkEntry>, StateError>> {
        Box::pin(async move {
            let rows = sqlx::query(
                "SELECT flow_key, node_id, column_name, value_type, value, updated_at FROM watermarks \
             WHERE ?1 IS NULL OR flow_key = ?1 ORDER BY flow_key, node_id",
            )
            .bind(flow_key)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.err(e))?;
            Ok(rows
                .iter()
                .map(|r| WatermarkEntry {
                    flow_key: r.get(0),
                    node_id: r.get(1),
                    column: r.get(2),
                    value_type: r.get(3),
                    value: r.get(4),
                    updated_at: r.get(5),
                })
                .collect())
        })
    }

    /// Forgets a flow's watermarks (or one node's); returns how many were removed.
    pub fn reset<'a>(&'a self, flow_key: &'a str, node_id: Option<&'a str>) -> BoxFuture<'a, Result<u64, StateError>> {
        Box::pin(async move {
            let r = sqlx::query("DELETE FROM watermarks WHERE flow_key = ?1 AND (?2 IS NULL OR node_id = ?2)")
                .bind(flow_key)
                .bind(node_id)
                .execute(&self.pool)
                .await
                .map_err(|e| self.err(e))?;
            Ok(r.rows_affected())
        })
    }

    pub async fn close(&self) {
        self.pool.close().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn watermarks_round_trip_and_reset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s/state.db");
        let store = StateStore::open(&path).await.unwrap();
        assert_eq!(store.schema_version().await.unwrap(), MIGRATIONS.len());
        let v = crate::value::parse_text_as("2024-03-05T10:00:00+08:00", DataType::DateTime).unwrap();
        store.set_watermark("/f", "src", &Watermark { column: "updated_at".into(), value: v.clone() }).await.unwrap();
        store.set_watermark("/f", "ids", &Watermark { column: "id".into(), value: Value::Int(7) }).await.unwrap();
        assert_eq!(store.watermark("/f", "src").await.unwrap().unwrap().value, v);
        assert_eq!(store.watermarks(Some("/f")).await.unwrap().len(), 2);
        assert_eq!(store.reset("/f", Some("ids")).await.unwrap(), 1);
        assert!(store.watermark("/f", "ids").await.unwrap().is_none());
        store.close().await;
        // Reopening keeps the data and does not re-run migrations.
        let store = StateStore::open(&path).await.unwrap();
        assert_eq!(store.watermark("/f", "src").await.unwrap().unwrap().column, "updated_at");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn many_openers_of_a_new_state_file_take_turns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let path = path.clone();
                tokio::spawn(async move {
                    let store = StateStore::open(&path).await.unwrap();
                    store.set_watermark("/f", &format!("n{i}"), &Watermark { column: "id".into(), value: Value::Int(i) }).await.unwrap();
                    store.close().await;
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let store = StateStore::open(&path).await.unwrap();
        assert_eq!(store.watermarks(Some("/f")).await.unwrap().len(), 8);
    }
}

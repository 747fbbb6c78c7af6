//! Durable dead letters: rows a `dead_letter` node received (usually from another node's
//! `error` output), kept in the state file with their error, the node that failed them,
//! the run and the time, until they are replayed (`sluice dlq replay`) or purged.
//!
//! Rows are written as they arrive, marked `pending` with their run id, and become `kept`
//! only when the run succeeds; a failed or stopped run deletes its pending rows, because its
//! input will be read again (sinks roll back, watermarks stay). Pending rows left by a
//! process that died mid-run are listed apart and removed by `purge`.

use super::{StateError, StateStore};
use crate::value::Field;
use futures::future::BoxFuture;
use serde::Serialize;
use sqlx::Row;

/// State of a row whose run has not finished (or died).
pub const DEAD_LETTER_PENDING: &str = "pending";
/// State of a row whose run succeeded: it waits for a replay.
pub const DEAD_LETTER_KEPT: &str = "kept";

/// A row to keep.
#[derive(Debug, Clone)]
pub struct NewDeadLetter {
    pub failed_node: String,
    pub message: String,
    pub field: Option<String>,
    pub line: Option<u64>,
    /// The row as it was before it failed (error fields removed), field name → JSON value.
    pub row: serde_json::Map<String, serde_json::Value>,
}

/// A kept row as `sluice dlq show` lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeadLetter {
    pub id: i64,
    pub dlq_node: String,
    pub failed_node: String,
    pub run_id: String,
    pub state: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    pub created_at: String,
    /// The original fields with their types (what a replay feeds back).
    pub fields: Vec<Field>,
    pub row: serde_json::Map<String, serde_json::Value>,
}

/// Counts per flow folder, dead-letter node and failing node (`sluice dlq list`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeadLetterGroup {
    pub flow_key: String,
    pub dlq_node: String,
    pub failed_node: String,
    pub kept: u64,
    /// Rows of runs that never finished (the process died); `purge` removes them.
    pub pending: u64,
    pub oldest: String,
    pub newest: String,
}

impl StateStore {
    /// Adds rows as `pending` under `run_id` (one transaction).
    pub fn add_dead_letters<'a>(
        &'a self,
        flow_key: &'a str,
        dlq_node: &'a str,
        run_id: &'a str,
        fields: &'a [Field],
        rows: &'a [NewDeadLetter],
    ) -> BoxFuture<'a, Result<(), StateError>> {
        Box::pin(async move {
            let fields_json = serde_json::to_string(fields).map_err(|e| StateError(format!("cannot store the fields of dead letters: {e}")))?;
            let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            let mut tx = self.pool.begin().await.map_err(|e| self.err(e))?;
            for r in rows {
                let row_json = serde_json::to_string(&r.row).map_err(|e| StateError(format!("cannot store a dead letter: {e}")))?;
                sqlx::query(
                    "INSERT INTO dead_letters (flow_key, dlq_node, failed_node, run_id, state, message, field, line, fields_json, row_json, created_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                )
                .bind(flow_key)
                .bind(dlq_node)
                .bind(&r.failed_node)
                .bind(run_id)
                .bind(DEAD_LETTER_PENDING)
                .bind(&r.message)
                .bind(&r.field)
                .bind(r.line.map(|l| l as i64))
                .bind(&fields_json)
                .bind(row_json)
                .bind(&now)
                .execute(&mut *tx)
                .await
                .map_err(|e| self.err(e))?;
            }
            tx.commit().await.map_err(|e| self.err(e))?;
            Ok(())
        })
    }

    /// The run succeeded: its pending rows become kept. Answers how many.
    pub fn keep_dead_letters<'a>(&'a self, run_id: &'a str) -> BoxFuture<'a, Result<u64, StateError>> {
        Box::pin(async move {
            let r = sqlx::query("UPDATE dead_letters SET state = ?1 WHERE run_id = ?2 AND state = ?3")
                .bind(DEAD_LETTER_KEPT)
                .bind(run_id)
                .bind(DEAD_LETTER_PENDING)
                .execute(&self.pool)
                .await
                .map_err(|e| self.err(e))?;
            Ok(r.rows_affected())
        })
    }

    /// The run failed or stopped: its pending rows go (its input will be read again).
    pub fn drop_pending_dead_letters<'a>(&'a self, run_id: &'a str) -> BoxFuture<'a, Result<u64, StateError>> {
        Box::pin(async move {
            let r = sqlx::query("DELETE FROM dead_letters WHERE run_id = ?1 AND state = ?2")
                .bind(run_id)
                .bind(DEAD_LETTER_PENDING)
                .execute(&self.pool)
                .await
                .map_err(|e| self.err(e))?;
            Ok(r.rows_affected())
        })
    }

    /// Counts per flow folder, dead-letter node and failing node; one folder's when given.
    pub fn dead_letter_groups<'a>(&'a self, flow_key: Option<&'a str>) -> BoxFuture<'a, Result<Vec<DeadLetterGroup>, StateError>> {
        Box::pin(async move {
            let rows = sqlx::query(
                "SELECT flow_key, dlq_node, failed_node, \
                        SUM(CASE WHEN state = ?2 THEN 1 ELSE 0 END), SUM(CASE WHEN state = ?3 THEN 1 ELSE 0 END), \
                        MIN(created_at), MAX(created_at) \
                 FROM dead_letters WHERE (?1 IS NULL OR flow_key = ?1) \
                 GROUP BY flow_key, dlq_node, failed_node ORDER BY flow_key, dlq_node, failed_node",
            )
            .bind(flow_key)
            .bind(DEAD_LETTER_KEPT)
            .bind(DEAD_LETTER_PENDING)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.err(e))?;
            Ok(rows
                .iter()
                .map(|r| DeadLetterGroup {
                    flow_key: r.get(0),
                    dlq_node: r.get(1),
                    failed_node: r.get(2),
                    kept: r.get::<i64, _>(3) as u64,
                    pending: r.get::<i64, _>(4) as u64,
                    oldest: r.get(5),
                    newest: r.get(6),
                })
                .collect())
        })
    }

    /// Kept rows of one flow folder, oldest first; one dead-letter node's when given.
    /// `after_id` pages through them (rows with a greater id).
    pub fn dead_letters<'a>(
        &'a self,
        flow_key: &'a str,
        dlq_node: Option<&'a str>,
        after_id: i64,
        limit: u32,
    ) -> BoxFuture<'a, Result<Vec<DeadLetter>, StateError>> {
        Box::pin(async move {
            let rows = sqlx::query(
                "SELECT id, dlq_node, failed_node, run_id, state, message, field, line, created_at, fields_json, row_json \
                 FROM dead_letters WHERE flow_key = ?1 AND (?2 IS NULL OR dlq_node = ?2) AND state = ?3 AND id > ?4 \
                 ORDER BY id LIMIT ?5",
            )
            .bind(flow_key)
            .bind(dlq_node)
            .bind(DEAD_LETTER_KEPT)
            .bind(after_id)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.err(e))?;
            rows.iter()
                .map(|r| {
                    let id: i64 = r.get(0);
                    let unreadable = |what: &str, e: serde_json::Error| StateError(format!("dead letter {id}: its {what} is unreadable ({e})"));
                    Ok(DeadLetter {
                        id,
                        dlq_node: r.get(1),
                        failed_node: r.get(2),
                        run_id: r.get(3),
                        state: r.get(4),
                        message: r.get(5),
                        field: r.get(6),
                        line: r.get::<Option<i64>, _>(7).map(|l| l as u64),
                        created_at: r.get(8),
                        fields: serde_json::from_str(&r.get::<String, _>(9)).map_err(|e| unreadable("field list", e))?,
                        row: serde_json::from_str(&r.get::<String, _>(10)).map_err(|e| unreadable("row", e))?,
                    })
                })
                .collect()
        })
    }

    /// The highest id of the kept rows of a flow folder (one dead-letter node's when given).
    pub fn last_dead_letter_id<'a>(&'a self, flow_key: &'a str, dlq_node: Option<&'a str>) -> BoxFuture<'a, Result<Option<i64>, StateError>> {
        Box::pin(async move {
            sqlx::query_scalar("SELECT MAX(id) FROM dead_letters WHERE flow_key = ?1 AND (?2 IS NULL OR dlq_node = ?2) AND state = ?3")
                .bind(flow_key)
                .bind(dlq_node)
                .bind(DEAD_LETTER_KEPT)
                .fetch_one(&self.pool)
                .await
                .map_err(|e| self.err(e))
        })
    }

    /// Deletes kept rows by id (after a replay delivered them). Answers how many went.
    pub fn delete_dead_letters<'a>(&'a self, ids: &'a [i64]) -> BoxFuture<'a, Result<u64, StateError>> {
        Box::pin(async move {
            let mut tx = self.pool.begin().await.map_err(|e| self.err(e))?;
            let mut n = 0;
            for id in ids {
                n += sqlx::query("DELETE FROM dead_letters WHERE id = ?1").bind(id).execute(&mut *tx).await.map_err(|e| self.err(e))?.rows_affected();
            }
            tx.commit().await.map_err(|e| self.err(e))?;
            Ok(n)
        })
    }

    /// Deletes every row of a flow folder (one dead-letter node's when given), kept and
    /// pending alike. Answers how many went.
    pub fn purge_dead_letters<'a>(&'a self, flow_key: &'a str, dlq_node: Option<&'a str>) -> BoxFuture<'a, Result<u64, StateError>> {
        Box::pin(async move {
            let r = sqlx::query("DELETE FROM dead_letters WHERE flow_key = ?1 AND (?2 IS NULL OR dlq_node = ?2)")
                .bind(flow_key)
                .bind(dlq_node)
                .execute(&self.pool)
                .await
                .map_err(|e| self.err(e))?;
            Ok(r.rows_affected())
        })
    }
}

//! Run history: one row per finished run (status, times, params, counts per node, the
//! first error) plus the failed rows the run kept. Written by `sluice run` and the
//! designer after every run; read by `sluice runs` and the designer's history list.
//! The newest [`RUNS_KEPT`] runs are kept; older ones are pruned with their rows.

use super::{StateError, StateStore};
use crate::exec::{KeptErrorRow, KeptErrors, RunStatus, RunSummary};
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use std::collections::BTreeMap;

/// How many runs the history keeps.
pub const RUNS_KEPT: i64 = 1000;

/// One line of the history list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunListEntry {
    pub run_id: String,
    pub flow_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow_path: Option<String>,
    pub status: RunStatus,
    pub started_at: String,
    pub finished_at: String,
    pub duration_ms: u64,
    /// Failed rows over all nodes.
    pub rows_error: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A run as the history keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    #[serde(flatten)]
    pub entry: RunListEntry,
    pub params: BTreeMap<String, String>,
    pub summary: RunSummary,
    /// Failed rows kept, and per node how many more were only counted.
    pub kept_error_rows: u64,
    pub not_kept_error_rows: BTreeMap<String, u64>,
}

fn status_name(s: RunStatus) -> &'static str {
    match s {
        RunStatus::Succeeded => "succeeded",
        RunStatus::Failed => "failed",
        RunStatus::Cancelled => "cancelled",
    }
}

fn parse_status(s: &str) -> RunStatus {
    match s {
        "succeeded" => RunStatus::Succeeded,
        "cancelled" => RunStatus::Cancelled,
        _ => RunStatus::Failed,
    }
}

/// What is stored in the `summary` column besides the run summary itself.
#[derive(Serialize, Deserialize)]
struct StoredSummary {
    summary: RunSummary,
    #[serde(default)]
    not_kept_error_rows: BTreeMap<String, u64>,
}

impl StateStore {
    /// Records a finished run and the failed rows it kept, in one transaction, then prunes
    /// the history to the newest [`RUNS_KEPT`] runs.
    pub fn record_run<'a>(
        &'a self,
        summary: &'a RunSummary,
        flow_path: Option<&'a str>,
        params: &'a BTreeMap<String, String>,
        errors: &'a KeptErrors,
    ) -> BoxFuture<'a, Result<(), StateError>> {
        Box::pin(async move {
            let rows_error: u64 = summary.nodes.iter().map(|n| n.rows_error).sum();
            let stored = StoredSummary { summary: summary.clone(), not_kept_error_rows: errors.not_kept.clone() };
            let mut tx = self.pool.begin().await.map_err(|e| self.err(e))?;
            sqlx::query(
                "INSERT INTO runs (run_id, flow_name, flow_path, status, started_at, finished_at, duration_ms, params, error, \
                 failed_node, rows_error, summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&summary.run_id)
            .bind(&summary.flow)
            .bind(flow_path)
            .bind(status_name(summary.status))
            .bind(&summary.started_at)
            .bind(&summary.finished_at)
            .bind(summary.duration_ms as i64)
            .bind(serde_json::to_string(params).expect("params serialise"))
            .bind(&summary.error)
            .bind(&summary.failed_node)
            .bind(rows_error as i64)
            .bind(serde_json::to_string(&stored).expect("summaries serialise"))
            .execute(&mut *tx)
            .await
            .map_err(|e| self.err(e))?;
            for (seq, r) in errors.rows.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO run_error_rows (run_id, seq, node_id, message, field, line, raw, handled, row_json) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(&summary.run_id)
                .bind(seq as i64)
                .bind(&r.node_id)
                .bind(&r.message)
                .bind(&r.field)
                .bind(r.line.map(|l| l as i64))
                .bind(&r.raw)
                .bind(r.handled)
                .bind(serde_json::to_string(&r.row).expect("rows serialise"))
                .execute(&mut *tx)
                .await
                .map_err(|e| self.err(e))?;
            }
            // Oldest first beyond the newest RUNS_KEPT; their rows go with them.
            sqlx::query(
                "DELETE FROM run_error_rows WHERE run_id IN \
                 (SELECT run_id FROM runs ORDER BY started_at DESC, run_id DESC LIMIT -1 OFFSET ?)",
            )
            .bind(RUNS_KEPT)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.err(e))?;
            sqlx::query("DELETE FROM runs WHERE run_id IN (SELECT run_id FROM runs ORDER BY started_at DESC, run_id DESC LIMIT -1 OFFSET ?)")
                .bind(RUNS_KEPT)
                .execute(&mut *tx)
                .await
                .map_err(|e| self.err(e))?;
            tx.commit().await.map_err(|e| self.err(e))
        })
    }

    /// The newest runs first; only one flow's when `flow_path` is given.
    pub fn list_runs<'a>(&'a self, flow_path: Option<&'a str>, limit: u32) -> BoxFuture<'a, Result<Vec<RunListEntry>, StateError>> {
        Box::pin(async move {
            let rows = sqlx::query(
                "SELECT run_id, flow_name, flow_path, status, started_at, finished_at, duration_ms, rows_error, error FROM runs \
                 WHERE ?1 IS NULL OR flow_path = ?1 ORDER BY started_at DESC, run_id DESC LIMIT ?2",
            )
            .bind(flow_path)
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.err(e))?;
            Ok(rows.iter().map(entry_of).collect())
        })
    }

    /// One run, by id (a unique prefix of the id is enough, as with git hashes).
    pub fn get_run<'a>(&'a self, run_id: &'a str) -> BoxFuture<'a, Result<Option<RunRecord>, StateError>> {
        Box::pin(async move {
            let rows = sqlx::query(
                "SELECT run_id, flow_name, flow_path, status, started_at, finished_at, duration_ms, rows_error, error, params, summary \
                 FROM runs WHERE run_id = ?1 OR run_id LIKE ?1 || '%' ORDER BY run_id = ?1 DESC LIMIT 2",
            )
            .bind(run_id)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.err(e))?;
            let row = match rows.as_slice() {
                [] => return Ok(None),
                [one] => one,
                [first, _] if first.get::<String, _>(0) == run_id => first,
                _ => return Err(StateError(format!("more than one run starts with '{run_id}'; give more of the id"))),
            };
            let id: String = row.get(0);
            let params: String = row.get(9);
            let stored: String = row.get(10);
            let stored: StoredSummary = serde_json::from_str(&stored)
                .map_err(|e| StateError(format!("the history entry of run {id} is unreadable ({e})")))?;
            let kept: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM run_error_rows WHERE run_id = ?")
                .bind(&id)
                .fetch_one(&self.pool)
                .await
                .map_err(|e| self.err(e))?;
            Ok(Some(RunRecord {
                entry: entry_of(row),
                params: serde_json::from_str(&params).unwrap_or_default(),
                summary: stored.summary,
                kept_error_rows: kept as u64,
                not_kept_error_rows: stored.not_kept_error_rows,
            }))
        })
    }

    /// The failed rows a run kept, in the order they failed; one node's when given.
    pub fn run_error_rows<'a>(
        &'a self,
        run_id: &'a str,
        node_id: Option<&'a str>,
        limit: Option<u32>,
    ) -> BoxFuture<'a, Result<Vec<KeptErrorRow>, StateError>> {
        Box::pin(async move {
            let rows = sqlx::query(
                "SELECT node_id, message, field, line, raw, handled, row_json FROM run_error_rows \
                 WHERE run_id = ?1 AND (?2 IS NULL OR node_id = ?2) ORDER BY seq LIMIT ?3",
            )
            .bind(run_id)
            .bind(node_id)
            .bind(limit.map(i64::from).unwrap_or(-1))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.err(e))?;
            rows.iter()
                .map(|r| {
                    let row_json: String = r.get(6);
                    Ok(KeptErrorRow {
                        node_id: r.get(0),
                        message: r.get(1),
                        field: r.get(2),
                        line: r.get::<Option<i64>, _>(3).map(|l| l as u64),
                        raw: r.get(4),
                        handled: r.get(5),
                        row: serde_json::from_str(&row_json)
                            .map_err(|e| StateError(format!("a kept row of run {run_id} is unreadable ({e})")))?,
                    })
                })
                .collect()
        })
    }
}

fn entry_of(r: &sqlx::sqlite::SqliteRow) -> RunListEntry {
    RunListEntry {
        run_id: r.get(0),
        flow_name: r.get(1),
        flow_path: r.get(2),
        status: parse_status(&r.get::<String, _>(3)),
        started_at: r.get(4),
        finished_at: r.get(5),
        duration_ms: r.get::<i64, _>(6) as u64,
        rows_error: r.get::<i64, _>(7) as u64,
        error: r.get(8),
    }
}

/// Kept failed rows as CSV: the error columns first, then every field any row has, in the
/// order first seen. Nested JSON values are written as JSON text.
pub fn error_rows_to_csv(rows: &[KeptErrorRow]) -> Result<String, csv::Error> {
    let mut fields: Vec<String> = Vec::new();
    for r in rows {
        for k in r.row.keys() {
            if !fields.contains(k) {
                fields.push(k.clone());
            }
        }
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<&str> = crate::exec::ERROR_FIELDS.iter().map(|(name, _)| *name).collect();
    header.push("_error_handled");
    header.extend(fields.iter().map(String::as_str));
    w.write_record(&header)?;
    for r in rows {
        let mut rec = vec![
            r.node_id.clone(),
            r.message.clone(),
            r.field.clone().unwrap_or_default(),
            r.line.map(|l| l.to_string()).unwrap_or_default(),
            r.raw.clone().unwrap_or_default(),
            r.handled.to_string(),
        ];
        for f in &fields {
            rec.push(match r.row.get(f) {
                None | Some(serde_json::Value::Null) => String::new(),
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(v) => v.to_string(),
            });
        }
        w.write_record(&rec)?;
    }
    Ok(String::from_utf8(w.into_inner().map_err(|e| csv::Error::from(e.into_error()))?).expect("CSV of UTF-8 strings is UTF-8"))
}

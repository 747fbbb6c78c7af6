//! The run history as the designer sees it: the list of finished runs, one run's summary,
//! the failed rows it kept and their export to a file. It reads the same state file
//! (`state.db` in the state folder) that `sluice run` and the designer's own runs write and
//! that `sluice runs` reads, so the CLI and the designer always show the same history.
//!
//! Left out: deleting runs (the history prunes itself to the newest 1000) and failed rows
//! beyond the 10,000 per node a run keeps (they are counted, not stored).

use super::api::AppError;
#[cfg(not(feature = "sql"))]
use super::api::{ExportFormat, Response};
#[cfg(not(feature = "sql"))]
use super::service::AppService;

/// Runs listed when the request names no limit.
pub const DEFAULT_RUNS_LISTED: u32 = 50;
/// Failed rows in one page when the request names no limit, and the most one page holds.
pub const DEFAULT_FAILED_ROWS_PAGE: u32 = 1000;
pub const MAX_FAILED_ROWS_PAGE: u32 = 10_000;

fn require_run_id(run_id: &str) -> Result<&str, AppError> {
    let id = run_id.trim();
    if id.is_empty() {
        return Err(AppError::bad_request("give a run id (or the start of one); list_runs shows the recorded runs"));
    }
    Ok(id)
}

#[cfg(feature = "sql")]
mod store {
    use super::*;
    use crate::app::api::{AppErrorKind, ExportFormat, FailedRow, FailedRowsPage, HistoryNode, HistoryRun, HistoryRunDetail, Response};
    use crate::app::service::AppService;
    use crate::exec::{KeptErrorRow, RunSummary};
    use crate::state::{error_rows_to_csv, RunListEntry, RunRecord, StateError, StateStore, RUNS_KEPT};
    use std::collections::{BTreeMap, BTreeSet};

    /// A history entry with the totals the list shows, from its summary.
    fn history_run(entry: &RunListEntry, summary: &RunSummary) -> HistoryRun {
        let (rows_in, rows_out) = flow_totals(summary);
        HistoryRun {
            run_id: entry.run_id.clone(),
            flow_name: entry.flow_name.clone(),
            flow_path: entry.flow_path.clone(),
            status: entry.status,
            started_at: entry.started_at.clone(),
            finished_at: entry.finished_at.clone(),
            duration_ms: entry.duration_ms,
            rows_in,
            rows_out,
            rows_error: entry.rows_error,
            error: entry.error.clone(),
        }
    }

    /// Rows into and out of the flow as a whole: what its sources produced (failed rows
    /// included: they were read) and what reached its ends by regular edges. Summing every
    /// node's counts instead would count a row once per node it passes.
    pub(super) fn flow_totals(summary: &RunSummary) -> (u64, u64) {
        let has_input: BTreeSet<&str> = summary.edges.iter().map(|e| e.to.as_str()).collect();
        let has_output: BTreeSet<&str> = summary.edges.iter().map(|e| e.from.as_str()).collect();
        let rows_in = summary.nodes.iter().filter(|n| !has_input.contains(n.node_id.as_str())).map(|n| n.rows_out + n.rows_error).sum();
        let rows_out = summary
            .edges
            .iter()
            .filter(|e| !has_output.contains(e.to.as_str()) && e.from_port != crate::nodes::ERROR_PORT)
            .map(|e| e.rows)
            .sum();
        (rows_in, rows_out)
    }

    fn failed_row(r: KeptErrorRow) -> FailedRow {
        FailedRow { node_id: r.node_id, message: r.message, field: r.field, line: r.line, raw: r.raw, handled: r.handled, row: r.row }
    }

    /// Every field any row has, in the order first seen.
    fn fields_of(rows: &[KeptErrorRow]) -> Vec<String> {
        let mut seen = BTreeSet::new();
        let mut fields = Vec::new();
        for r in rows {
            for k in r.row.keys() {
                if seen.insert(k.as_str()) {
                    fields.push(k.clone());
                }
            }
        }
        fields
    }

    fn no_such_run(run_id: &str) -> AppError {
        AppError::not_found(format!(
            "no run '{run_id}' in the run history; list_runs (or `sluice runs list`) shows the recorded runs"
        ))
    }


    fn history_error(e: StateError) -> AppError {
        // The store words an ambiguous prefix for the user already; the rest is a problem
        // with the state file itself.
        if e.0.starts_with("more than one run") {
            AppError::bad_request(e.0)
        } else {
            AppError::new(AppErrorKind::Io, format!("cannot read the run history: {e}"))
        }
    }

    impl AppService {
        async fn history(&self) -> Result<StateStore, AppError> {
            let file = self.state_dir().join("state.db");
            StateStore::open(&file).await.map_err(|e| AppError::new(AppErrorKind::Io, format!("cannot open the run history: {e}")))
        }

        async fn record(&self, store: &StateStore, run_id: &str) -> Result<RunRecord, AppError> {
            let id = require_run_id(run_id)?;
            store.get_run(id).await.map_err(history_error)?.ok_or_else(|| no_such_run(id))
        }

        pub(in crate::app) async fn list_runs(&self, flow_path: Option<String>, limit: Option<u32>) -> Result<Response, AppError> {
            let limit = limit.unwrap_or(DEFAULT_RUNS_LISTED);
            if limit == 0 || i64::from(limit) > RUNS_KEPT {
                return Err(AppError::bad_request(format!("list_runs lists 1 to {RUNS_KEPT} runs, not {limit}")));
            }
            // Stored as the canonical absolute path of the flow file; resolve the same way.
            let flow_path = flow_path.filter(|p| !p.trim().is_empty()).map(|p| crate::app::service::display(&self.resolve(&p)));
            let store = self.history().await?;
            let result = async {
                let entries = store.list_runs(flow_path.as_deref(), limit).await.map_err(history_error)?;
                let mut runs = Vec::with_capacity(entries.len());
                for entry in entries {
                    // The list entry has no per-node counts; the summary has. A run pruned
                    // between the two reads is simply left out.
                    if let Some(rec) = store.get_run(&entry.run_id).await.map_err(history_error)? {
                        runs.push(history_run(&entry, &rec.summary));
                    }
                }
                Ok(Response::ListRuns { runs })
            }
            .await;
            store.close().await;
            result
        }

        pub(in crate::app) async fn get_run(&self, run_id: &str) -> Result<Response, AppError> {
            let store = self.history().await?;
            let result = async {
                let rec = self.record(&store, run_id).await?;
                let kept = kept_per_node(&store, &rec).await?;
                let failed_node = rec.summary.failed_node.clone();
                let nodes = rec
                    .summary
                    .nodes
                    .iter()
                    .map(|n| HistoryNode {
                        node_id: n.node_id.clone(),
                        state: n.state,
                        rows_in: n.rows_in,
                        rows_out: n.rows_out,
                        rows_error: n.rows_error,
                        rows_error_unhandled: n.rows_error_unhandled,
                        busy_ms: n.busy_ms,
                        kept_error_rows: kept.get(&n.node_id).copied().unwrap_or(0),
                        not_kept_error_rows: rec.not_kept_error_rows.get(&n.node_id).copied().unwrap_or(0),
                        error: if failed_node.as_deref() == Some(n.node_id.as_str()) { rec.summary.error.clone() } else { None },
                    })
                    .collect();
                Ok(Response::GetRun {
                    run: HistoryRunDetail {
                        run: history_run(&rec.entry, &rec.summary),
                        params: rec.params.clone(),
                        failed_node,
                        nodes,
                        kept_error_rows: rec.kept_error_rows,
                    },
                })
            }
            .await;
            store.close().await;
            result
        }

        pub(in crate::app) async fn run_error_rows(
            &self,
            run_id: &str,
            node_id: Option<String>,
            limit: Option<u32>,
            offset: Option<u32>,
        ) -> Result<Response, AppError> {
            let limit = limit.unwrap_or(DEFAULT_FAILED_ROWS_PAGE);
            if limit == 0 || limit > MAX_FAILED_ROWS_PAGE {
                return Err(AppError::bad_request(format!("run_error_rows gives 1 to {MAX_FAILED_ROWS_PAGE} rows at a time, not {limit}")));
            }
            let offset = offset.unwrap_or(0) as usize;
            let store = self.history().await?;
            let result = async {
                let (rec, rows) = self.kept_rows(&store, run_id, node_id.as_deref()).await?;
                let not_kept = match &node_id {
                    Some(n) => rec.not_kept_error_rows.get(n).copied().unwrap_or(0),
                    None => rec.not_kept_error_rows.values().sum(),
                };
                let fields = fields_of(&rows);
                let total = rows.len() as u64;
                let page = rows.into_iter().skip(offset).take(limit as usize).map(failed_row).collect();
                Ok(Response::RunErrorRows(FailedRowsPage {
                    run_id: rec.entry.run_id,
                    node_id,
                    fields,
                    rows: page,
                    offset: offset as u64,
                    total,
                    not_kept,
                }))
            }
            .await;
            store.close().await;
            result
        }

        pub(in crate::app) async fn export_run_errors(
            &self,
            run_id: &str,
            node_id: Option<String>,
            format: ExportFormat,
            path: &str,
        ) -> Result<Response, AppError> {
            if path.trim().is_empty() {
                return Err(AppError::bad_request("give the path of the file to export the failed rows to"));
            }
            let target = self.resolve(path.trim());
            if target.is_dir() {
                return Err(AppError::bad_request(format!("{} is a folder; give a file name to export the failed rows to", target.display())));
            }
            let store = self.history().await?;
            let result = self.kept_rows(&store, run_id, node_id.as_deref()).await;
            store.close().await;
            let (_, rows) = result?;
            let count = rows.len() as u64;
            // The same text `sluice runs errors` prints, so either export reads the same.
            let text = match format {
                ExportFormat::Csv => error_rows_to_csv(&rows)
                    .map_err(|e| AppError::internal(format!("cannot write the failed rows as CSV: {e}")))?,
                ExportFormat::Json => serde_json::to_string_pretty(&rows).expect("kept rows serialise") + "\n",
            };
            let written = target.clone();
            tokio::task::spawn_blocking(move || crate::app::flows::write_atomically(&written, text.as_bytes()))
                .await
                .map_err(|e| AppError::internal(format!("exporting the failed rows failed inside Sluice ({e}); please report it")))??;
            let path = target.canonicalize().unwrap_or(target);
            Ok(Response::ExportRunErrors { path: crate::app::service::display(&path), rows: count })
        }

        /// A run's record and its kept failed rows, one node's when given (a node the run
        /// does not have is `not_found`, with the nearest id).
        async fn kept_rows(&self, store: &StateStore, run_id: &str, node_id: Option<&str>) -> Result<(RunRecord, Vec<KeptErrorRow>), AppError> {
            let rec = self.record(store, run_id).await?;
            if let Some(node) = node_id {
                if rec.summary.node(node).is_none() {
                    let ids = rec.summary.nodes.iter().map(|n| n.node_id.as_str());
                    let hint = crate::flow::did_you_mean(node, ids).map(|s| format!(" (did you mean '{s}'?)")).unwrap_or_default();
                    return Err(AppError::not_found(format!("run {} has no node '{node}'{hint}", rec.entry.run_id)).node(node));
                }
            }
            let rows = store.run_error_rows(&rec.entry.run_id, node_id, None).await.map_err(history_error)?;
            Ok((rec, rows))
        }
    }

    /// Kept rows per node. Every failed row is either kept or counted as not kept, so the
    /// counts follow from the summary; should they not add up to what is stored (a history
    /// written with other limits), the rows themselves are counted.
    async fn kept_per_node(store: &StateStore, rec: &RunRecord) -> Result<BTreeMap<String, u64>, AppError> {
        let derived: BTreeMap<String, u64> = rec
            .summary
            .nodes
            .iter()
            .map(|n| (n.node_id.clone(), n.rows_error.saturating_sub(rec.not_kept_error_rows.get(&n.node_id).copied().unwrap_or(0))))
            .collect();
        if derived.values().sum::<u64>() == rec.kept_error_rows {
            return Ok(derived);
        }
        let rows = store.run_error_rows(&rec.entry.run_id, None, None).await.map_err(history_error)?;
        let mut counted = BTreeMap::new();
        for r in rows {
            *counted.entry(r.node_id).or_insert(0) += 1;
        }
        Ok(counted)
    }
}

#[cfg(not(feature = "sql"))]
impl AppService {
    fn no_history() -> AppError {
        AppError::bad_request("this build of Sluice keeps no run history (it was built without the `sql` feature)")
    }

    pub(in crate::app) async fn list_runs(&self, _flow_path: Option<String>, _limit: Option<u32>) -> Result<Response, AppError> {
        Err(Self::no_history())
    }

    pub(in crate::app) async fn get_run(&self, run_id: &str) -> Result<Response, AppError> {
        require_run_id(run_id)?;
        Err(Self::no_history())
    }

    pub(in crate::app) async fn run_error_rows(
        &self,
        run_id: &str,
        _node_id: Option<String>,
        _limit: Option<u32>,
        _offset: Option<u32>,
    ) -> Result<Response, AppError> {
        require_run_id(run_id)?;
        Err(Self::no_history())
    }

    pub(in crate::app) async fn export_run_errors(
        &self,
        run_id: &str,
        _node_id: Option<String>,
        _format: ExportFormat,
        _path: &str,
    ) -> Result<Response, AppError> {
        require_run_id(run_id)?;
        Err(Self::no_history())
    }
}

#[cfg(all(test, feature = "sql"))]
mod tests {
    use super::store::flow_totals;
    use crate::exec::RunSummary;
    use crate::exec::{EdgeMetrics, NodeMetricsSnapshot, RunStatus};

    fn node(id: &str, rows_in: u64, rows_out: u64, rows_error: u64) -> NodeMetricsSnapshot {
        NodeMetricsSnapshot { node_id: id.into(), rows_in, rows_out, rows_error, ..Default::default() }
    }

    fn edge(from: &str, from_port: &str, to: &str, rows: u64) -> EdgeMetrics {
        EdgeMetrics { from: from.into(), from_port: from_port.into(), to: to.into(), to_port: "in".into(), rows }
    }

    #[test]
    fn flow_totals_count_source_rows_in_and_sink_rows_out_once() {
        // read (10, 2 failed at parsing) -> check (8 in, 5 out, 3 failed) -> write;
        // check's error port -> dead letters.
        let summary = RunSummary {
            run_id: "r".into(),
            flow: "f".into(),
            status: RunStatus::Succeeded,
            started_at: String::new(),
            finished_at: String::new(),
            duration_ms: 0,
            error: None,
            failed_node: None,
            nodes: vec![node("read", 0, 8, 2), node("check", 8, 5, 3), node("write", 5, 0, 0), node("dead", 3, 0, 0)],
            edges: vec![edge("read", "out", "check", 8), edge("check", "out", "write", 5), edge("check", "error", "dead", 3)],
        };
        assert_eq!(flow_totals(&summary), (10, 5));
    }
}

//! Runs started from the designer, and previews. A run belongs to the service, not to the
//! request that started it: it goes on when the page is closed or reloaded, and
//! `active_runs` tells a reconnecting page what is in progress and how far it got.

use super::api::{ActiveRun, AppError, AppEvent, FlowJson, PreviewRows, Response};
use super::service::AppService;
use crate::exec::{self, ErrorKeeper, NodeState, RunEvent, RunOptions, RunSummary};
use crate::value::{Field, Row, SchemaRef};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Mutex;

/// The most rows one preview may ask for: they travel as JSON in one answer.
pub const MAX_PREVIEW_ROWS: u32 = 10_000;

type Stopper = Box<dyn Fn() + Send + Sync>;

/// Runs in progress, by run id.
#[derive(Default)]
pub(super) struct RunRegistry {
    runs: Mutex<HashMap<String, (ActiveRun, Stopper)>>,
}

impl RunRegistry {
    pub fn active(&self) -> Vec<ActiveRun> {
        let mut runs: Vec<ActiveRun> = self.runs.lock().unwrap().values().map(|(r, _)| r.clone()).collect();
        runs.sort_by(|a, b| (&a.started_at, &a.run_id).cmp(&(&b.started_at, &b.run_id)));
        runs
    }

    fn insert(&self, run: ActiveRun, stop: Stopper) {
        self.runs.lock().unwrap().insert(run.run_id.clone(), (run, stop));
    }

    fn remove(&self, run_id: &str) {
        self.runs.lock().unwrap().remove(run_id);
    }

    /// Keeps the run's latest state: node states and the last metrics sample.
    fn observe(&self, run_id: &str, event: &RunEvent) {
        let mut runs = self.runs.lock().unwrap();
        let Some((run, _)) = runs.get_mut(run_id) else { return };
        match event {
            RunEvent::RunStarted { started_at, .. } => run.started_at = started_at.clone(),
            RunEvent::NodeState { node_id, state, .. } => {
                run.node_states.insert(node_id.clone(), *state);
            }
            RunEvent::Metrics { nodes, .. } => run.metrics = nodes.clone(),
            _ => {}
        }
    }

    fn stop_all(&self) {
        for (_, stop) in self.runs.lock().unwrap().values() {
            stop();
        }
    }

    /// Asks a run to stop; false when no such run is in progress.
    fn stop(&self, run_id: &str) -> bool {
        match self.runs.lock().unwrap().get(run_id) {
            Some((_, stop)) => {
                stop();
                true
            }
            None => false,
        }
    }
}

impl AppService {
    pub(super) async fn start_run(
        &self,
        flow: FlowJson,
        path: Option<String>,
        params: BTreeMap<String, String>,
    ) -> Result<Response, AppError> {
        let this = self.clone();
        let (plan, path, params) = tokio::task::spawn_blocking(move || {
            let plan = this.plan(&flow, path.as_deref(), &params)?;
            Ok::<_, AppError>((plan, path.map(|p| this.resolve(&p)), params))
        })
        .await
        .map_err(|e| AppError::internal(format!("planning the run failed inside Sluice ({e}); please report it")))??;

        let run = ActiveRun {
            run_id: String::new(),
            flow_name: plan.flow_name.clone(),
            path: path.as_deref().map(super::service::display),
            started_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            node_states: plan.nodes.iter().map(|n| (n.id.clone(), NodeState::Waiting)).collect(),
            metrics: Vec::new(),
        };
        let mut handle = exec::start_run(plan, RunOptions { keep_error_rows: exec::HISTORY_ERROR_ROWS_PER_NODE, ..RunOptions::default() });
        let run_id = handle.run_id.clone();
        self.inner.runs.insert(ActiveRun { run_id: run_id.clone(), ..run }, Box::new(handle.stopper()));

        let this = self.clone();
        let id = run_id.clone();
        self.inner.run_tasks.spawn(async move {
            let kept = handle.kept_errors.clone();
            let mut finished = None;
            while let Some(event) = handle.events.recv().await {
                this.inner.runs.observe(&id, &event);
                if let RunEvent::RunFinished { summary } = event {
                    finished = Some(summary);
                    break;
                }
                this.emit(AppEvent { run_id: id.clone(), event });
            }
            let summary = match finished {
                Some(s) => s,
                None => handle.wait().await,
            };
            // In the history before anyone hears the run finished, so a designer that
            // refreshes its history list on `run_finished` finds the run there.
            if let Err(e) = record_history(&this.inner.state_dir, path.as_deref(), &params, &summary, &kept).await {
                tracing::warn!(run_id = %id, "the run was not added to the history: {e}");
            }
            // Gone from `active_runs` before anyone hears it finished.
            this.inner.runs.remove(&id);
            this.emit(AppEvent { run_id: id.clone(), event: RunEvent::RunFinished { summary } });
        });
        Ok(Response::StartRun { run_id })
    }

    /// Stops every run in progress and waits until each has ended and been recorded
    /// (sinks discard partial output, as on Ctrl-C in `sluice run`). For a transport that
    /// is shutting down; the service takes no new runs' tasks afterwards.
    pub async fn shutdown(&self) {
        self.inner.runs.stop_all();
        self.inner.run_tasks.close();
        self.inner.run_tasks.wait().await;
    }

    pub(super) fn stop_run(&self, run_id: &str) -> Result<Response, AppError> {
        if self.inner.runs.stop(run_id) {
            Ok(Response::StopRun { run_id: run_id.to_string() })
        } else {
            Err(AppError::not_found(format!("no run '{run_id}' is in progress; it may have finished already")))
        }
    }

    pub(super) async fn preview(
        &self,
        flow: FlowJson,
        path: Option<String>,
        params: BTreeMap<String, String>,
        node_id: String,
        rows: u32,
    ) -> Result<Response, AppError> {
        if rows == 0 || rows > MAX_PREVIEW_ROWS {
            return Err(AppError::bad_request(format!("a preview shows 1 to {MAX_PREVIEW_ROWS} rows, not {rows}")).node(node_id));
        }
        let this = self.clone();
        let plan = tokio::task::spawn_blocking(move || this.plan(&flow, path.as_deref(), &params))
            .await
            .map_err(|e| AppError::internal(format!("planning the preview failed inside Sluice ({e}); please report it")))??;
        if plan.node(&node_id).is_none() {
            let ids: Vec<&str> = plan.nodes.iter().map(|n| n.id.as_str()).collect();
            let hint = crate::flow::did_you_mean(&node_id, ids.iter().copied()).map(|s| format!(" (did you mean '{s}'?)")).unwrap_or_default();
            return Err(AppError::not_found(format!("the flow has no node '{node_id}'{hint}")).node(node_id));
        }
        let result = exec::preview(plan, &node_id, rows as usize)
            .await
            .map_err(|e| AppError::new(super::api::AppErrorKind::Run, e).node(node_id.clone()))?;
        Ok(Response::Preview(PreviewRows {
            node_id: result.node_id,
            port: result.port,
            fields: fields_of(&result.schema),
            rows: rows_as_json(&result.rows),
            error_fields: fields_of(&result.error_schema),
            error_rows: rows_as_json(&result.error_rows),
            truncated: result.truncated,
        }))
    }
}

fn fields_of(schema: &Option<SchemaRef>) -> Vec<Field> {
    schema.as_ref().map(|s| s.fields().to_vec()).unwrap_or_default()
}

fn rows_as_json(rows: &[Row]) -> Vec<Vec<serde_json::Value>> {
    rows.iter().map(|r| r.iter().map(|v| v.to_json()).collect()).collect()
}

/// Adds a finished run to the history (`sluice runs`), with its params and kept failed
/// rows. History is a convenience: callers warn when it fails and the run's outcome stands.
pub async fn record_history(
    state_dir: &Path,
    flow_path: Option<&Path>,
    params: &BTreeMap<String, String>,
    summary: &RunSummary,
    kept: &ErrorKeeper,
) -> Result<(), String> {
    #[cfg(feature = "sql")]
    {
        let flow_path = flow_path.map(|p| p.canonicalize().unwrap_or_else(|_| p.to_path_buf()).to_string_lossy().into_owned());
        let store = crate::state::StateStore::open(&state_dir.join("state.db")).await.map_err(|e| e.to_string())?;
        let result = store.record_run(summary, flow_path.as_deref(), params, &kept.snapshot()).await;
        store.close().await;
        result.map_err(|e| e.to_string())
    }
    #[cfg(not(feature = "sql"))]
    {
        let _ = (state_dir, flow_path, params, summary, kept);
        Ok(())
    }
}

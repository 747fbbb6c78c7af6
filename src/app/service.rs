//! [`AppService`]: one value per designer session holding what outlives a request (the
//! working folder, runs in progress, the event stream), and [`AppService::handle`], which
//! answers each [`Request`] by calling the engine. Handlers live beside this file by
//! concern: flows (open, save, check), runs (start, stop, preview), history (past runs
//! and their failed rows), files (folders, recent files).
//!
//! Blocking work (reading files, planning, which may read a CSV header) runs on tokio's
//! blocking pool so one slow disk never stalls the event stream.

use super::api::{AppError, AppEvent, Request, Response};
use super::runs::RunRegistry;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::broadcast;

/// How the designer reaches the engine; the UI adapts (native dialogs on the desktop, the
/// folder browser in a browser).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppMode {
    Desktop,
    Browser,
}

impl AppMode {
    pub fn as_str(self) -> &'static str {
        match self {
            AppMode::Desktop => "desktop",
            AppMode::Browser => "browser",
        }
    }
}

#[derive(Debug, Clone)]
pub struct AppConfig {
    /// Relative paths in requests resolve against this folder.
    pub work_dir: PathBuf,
    pub mode: AppMode,
    /// Where `recent.json` and, with SQL support, the run history (`state.db`) are kept.
    /// Defaults to the state store's folder (`$SLUICE_STATE_DIR`, else `~/.local/share/sluice`).
    pub state_dir: Option<PathBuf>,
    /// A flow named on the command line, opened by the designer at start.
    pub open_on_start: Option<PathBuf>,
}

/// Events a slow subscriber may fall behind by before it misses some (it is told, and
/// `active_runs` gives it the current state back).
const EVENT_BUFFER: usize = 4096;

/// The app service. Cheap to clone: every clone shares the same runs and event stream.
#[derive(Clone)]
pub struct AppService {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub work_dir: PathBuf,
    pub mode: AppMode,
    pub state_dir: PathBuf,
    pub open_on_start: Option<PathBuf>,
    pub events: broadcast::Sender<AppEvent>,
    pub runs: RunRegistry,
    /// Serialises read-modify-write of `recent.json`.
    pub recent_lock: std::sync::Mutex<()>,
    /// The tasks that follow runs to their end (events, history), so shutting down can
    /// wait for them.
    pub run_tasks: tokio_util::task::TaskTracker,
}

impl AppService {
    pub fn new(config: AppConfig) -> Self {
        let work_dir = absolute(&config.work_dir, &std::env::current_dir().unwrap_or_default());
        let state_dir = config.state_dir.map(|d| absolute(&d, &work_dir)).unwrap_or_else(default_state_dir);
        let open_on_start = config.open_on_start.map(|p| absolute(&p, &work_dir));
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        AppService {
            inner: Arc::new(Inner {
                work_dir,
                mode: config.mode,
                state_dir,
                open_on_start,
                events,
                runs: RunRegistry::default(),
                recent_lock: std::sync::Mutex::new(()),
                run_tasks: tokio_util::task::TaskTracker::new(),
            }),
        }
    }

    /// Answers one request. Runs started here go on after the caller has gone; their
    /// events arrive on [`AppService::subscribe`].
    pub async fn handle(&self, req: Request) -> Result<Response, AppError> {
        match req {
            Request::Info => Ok(self.info()),
            Request::Catalog => Ok(Response::Catalog { kinds: super::catalog() }),
            Request::OpenFlow { path } => self.blocking(move |s| s.open_flow(&path)).await,
            Request::SaveFlow { path, flow } => self.blocking(move |s| s.save_flow(&path, flow)).await,
            Request::FormatFlow { flow } => self.blocking(move |s| s.format_flow(flow)).await,
            Request::CheckFlow { flow, path, params } => {
                self.blocking(move |s| Ok(s.check_flow(flow, path.as_deref(), &params))).await
            }
            Request::StartRun { flow, path, params } => self.start_run(flow, path, params).await,
            Request::StopRun { run_id } => self.stop_run(&run_id),
            Request::ActiveRuns => Ok(Response::ActiveRuns { runs: self.inner.runs.active() }),
            Request::Preview { flow, path, params, node_id, rows } => self.preview(flow, path, params, node_id, rows).await,
            Request::ListDir { path, extensions } => self.blocking(move |s| s.list_dir(path.as_deref(), &extensions)).await,
            Request::RecentFiles => self.blocking(|s| Ok(Response::RecentFiles { files: s.recent_files() })).await,
            Request::ListRuns { flow_path, limit } => self.list_runs(flow_path, limit).await,
            Request::GetRun { run_id } => self.get_run(&run_id).await,
            Request::RunErrorRows { run_id, node_id, limit, offset } => self.run_error_rows(&run_id, node_id, limit, offset).await,
            Request::ExportRunErrors { run_id, node_id, format, path } => self.export_run_errors(&run_id, node_id, format, &path).await,
        }
    }

    /// Every run event of every run, tagged with its run id, from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<AppEvent> {
        self.inner.events.subscribe()
    }

    pub fn work_dir(&self) -> &Path {
        &self.inner.work_dir
    }

    pub fn state_dir(&self) -> &Path {
        &self.inner.state_dir
    }

    fn info(&self) -> Response {
        let home = std::env::var_os("HOME").or_else(|| std::env::var_os("USERPROFILE")).map(PathBuf::from).unwrap_or_default();
        Response::Info {
            version: env!("CARGO_PKG_VERSION").to_string(),
            work_dir: display(&self.inner.work_dir),
            home_dir: display(&home),
            mode: self.inner.mode.as_str().to_string(),
            platform: std::env::consts::OS.to_string(),
            separator: std::path::MAIN_SEPARATOR_STR.to_string(),
            open_on_start: self.inner.open_on_start.as_deref().map(display),
        }
    }

    /// Runs `f` on the blocking pool. A panic in a handler (a bug) becomes an internal
    /// error for this request instead of taking the service down.
    async fn blocking<F>(&self, f: F) -> Result<Response, AppError>
    where
        F: FnOnce(&AppService) -> Result<Response, AppError> + Send + 'static,
    {
        let this = self.clone();
        tokio::task::spawn_blocking(move || f(&this))
            .await
            .unwrap_or_else(|e| Err(AppError::internal(format!("the request failed inside Sluice ({e}); please report it"))))
    }

    /// A request path made absolute: relative paths are taken from the working folder.
    pub(super) fn resolve(&self, path: &str) -> PathBuf {
        absolute(Path::new(path), &self.inner.work_dir)
    }

    pub(super) fn emit(&self, event: AppEvent) {
        // No subscriber is fine: runs do not depend on anyone watching.
        let _ = self.inner.events.send(event);
    }
}

fn absolute(path: &Path, base: &Path) -> PathBuf {
    let joined = if path.is_absolute() { path.to_path_buf() } else { base.join(path) };
    // Tidy `..` and symlinks where the path exists; keep it as given where it does not yet
    // (a flow about to be saved).
    joined.canonicalize().unwrap_or(joined)
}

pub(super) fn display(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// The state store's folder (`$SLUICE_STATE_DIR`, else `$XDG_DATA_HOME/sluice`, else
/// `~/.local/share/sluice`); the designer's own small files live beside the state file.
pub fn default_state_dir() -> PathBuf {
    #[cfg(feature = "sql")]
    {
        let db = crate::state::default_state_path();
        db.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from(".sluice"))
    }
    // Without SQL support there is no state file; the same rule picks the folder.
    #[cfg(not(feature = "sql"))]
    {
        std::env::var_os("SLUICE_STATE_DIR")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()).map(|d| PathBuf::from(d).join("sluice")))
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share/sluice")))
            .unwrap_or_else(|| PathBuf::from(".sluice"))
    }
}

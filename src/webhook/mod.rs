//! Webhook listening: a flow whose `webhook_source` nodes receive HTTP requests, run on
//! micro-batches of the events received (`sluice listen`).
//!
//! - [`auth`]: shared tokens and HMAC signatures (with timestamps against replays).
//! - [`event`]: a request as a stored event; an event's records as rows.
//! - [`queue`]: the durable SQLite queue between "answered 202" and "the flow ran".
//! - [`receive`]: the axum routes: check, store, answer.
//! - [`worker`]: drains the queue, one flow run per micro-batch, retrying failures.
//! - [`delivery`]: hands a batch's events to the planned flow's webhook nodes.
//!
//! The promise: a request answered 2xx is on disk, and its event leaves the queue only
//! after a run that read it succeeded, so neither a failing sink nor a crash loses it.
//! A crash between a run's success and the queue's update runs those events again (at
//! least once); a sink keyed on `event_id` makes that exactly once.
//!
//! Left out: TLS (a reverse proxy in front does it), several listener processes sharing a
//! flow's queue (the queue file is held exclusively), and dead letters for events that fail
//! every run.

pub mod auth;
mod delivery;
pub mod event;
pub mod queue;
mod receive;
mod worker;

use crate::exec::RunStatus;
use crate::flow::{load_flow_file, Diagnostics};
use crate::nodes::sources::webhook::WebhookSourceConfig;
use crate::plan::plan_flow;
use receive::{Endpoint, Receiver};
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, Notify};
use tokio_util::sync::CancellationToken;

pub use queue::{queue_path, EventQueue, NodeBacklog, QueueError};

/// The port `sluice listen` uses unless told otherwise.
pub const DEFAULT_PORT: u16 = 8787;

/// How long a clean stop waits for requests still being answered.
const SERVER_STOP_GRACE: Duration = Duration::from_secs(10);

/// How events are grouped into runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    /// Most events in one run.
    pub max_events: usize,
    /// How long to wait for more events after the first one arrives.
    pub max_wait: Duration,
}

impl Default for BatchLimits {
    fn default() -> Self {
        BatchLimits { max_events: 500, max_wait: Duration::from_millis(100) }
    }
}

/// Delays between attempts of a batch whose run failed: `first`, doubling up to `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryDelays {
    pub first: Duration,
    pub max: Duration,
}

impl Default for RetryDelays {
    fn default() -> Self {
        RetryDelays { first: Duration::from_secs(1), max: Duration::from_secs(60) }
    }
}

/// Which batch runs go into the run history (`sluice runs`). A busy listener runs often;
/// keeping only failures keeps the history for other flows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum HistoryMode {
    All,
    #[default]
    Failed,
    None,
}

/// What to listen for and where.
#[derive(Debug, Clone)]
pub struct ListenerOptions {
    pub flow_path: PathBuf,
    /// Flow params (NAME → text), as `--param` gives them.
    pub params: BTreeMap<String, String>,
    /// Address to listen on; port 0 picks a free one.
    pub bind: SocketAddr,
    /// Folder of the state store; the queue file goes under its `webhooks/`.
    pub state_dir: PathBuf,
    pub batch: BatchLimits,
    pub retry: RetryDelays,
    pub history: HistoryMode,
}

impl ListenerOptions {
    pub fn new(flow_path: impl Into<PathBuf>, state_dir: impl Into<PathBuf>) -> Self {
        ListenerOptions {
            flow_path: flow_path.into(),
            params: BTreeMap::new(),
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, DEFAULT_PORT)),
            state_dir: state_dir.into(),
            batch: BatchLimits::default(),
            retry: RetryDelays::default(),
            history: HistoryMode::default(),
        }
    }
}

/// Why a listener did not start.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    /// The flow has problems (every one, each naming its node).
    #[error("{0}")]
    InvalidFlow(Diagnostics),
    /// The flow is fine but cannot be listened for (no webhook node, a secret not set…).
    #[error("{0}")]
    Unusable(String),
    /// The queue file or the port cannot be had.
    #[error("{0}")]
    Unavailable(String),
}

/// Running totals of a listener.
#[derive(Debug, Default)]
pub struct Counters {
    pub accepted: AtomicU64,
    pub duplicates: AtomicU64,
    pub rejected_auth: AtomicU64,
    pub rejected_too_large: AtomicU64,
    pub rejected_body: AtomicU64,
    pub rejected_method: AtomicU64,
    pub not_stored: AtomicU64,
    pub batches_succeeded: AtomicU64,
    pub batches_failed: AtomicU64,
    pub events_delivered: AtomicU64,
}

/// The counters at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct ListenerStats {
    /// Requests stored in the queue (answered 202).
    pub accepted: u64,
    /// The same signed request again within its timestamp's tolerance (answered 202, not stored twice).
    pub duplicates: u64,
    /// Answered 401: missing or wrong token or signature, or an old timestamp.
    pub rejected_auth: u64,
    /// Answered 413.
    pub rejected_too_large: u64,
    /// Answered 400: a body that is not JSON, not objects, or unreadable.
    pub rejected_body: u64,
    /// Answered 405.
    pub rejected_method: u64,
    /// Answered 503: the queue could not store the event.
    pub not_stored: u64,
    pub batches_succeeded: u64,
    pub batches_failed: u64,
    /// Events whose run succeeded (and that left the queue).
    pub events_delivered: u64,
}

impl Counters {
    pub fn snapshot(&self) -> ListenerStats {
        ListenerStats {
            accepted: self.accepted.load(Relaxed),
            duplicates: self.duplicates.load(Relaxed),
            rejected_auth: self.rejected_auth.load(Relaxed),
            rejected_too_large: self.rejected_too_large.load(Relaxed),
            rejected_body: self.rejected_body.load(Relaxed),
            rejected_method: self.rejected_method.load(Relaxed),
            not_stored: self.not_stored.load(Relaxed),
            batches_succeeded: self.batches_succeeded.load(Relaxed),
            batches_failed: self.batches_failed.load(Relaxed),
            events_delivered: self.events_delivered.load(Relaxed),
        }
    }
}

/// What a listener reports as it goes (for the CLI's lines; the same is logged).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ListenerEvent {
    Accepted { node_id: String, event_id: String, records: usize, duplicate: bool },
    Rejected { node_id: String, status: u16, reason: String, remote: Option<SocketAddr> },
    BatchStarted { run_id: String, events: usize },
    BatchFinished { run_id: String, events: usize, status: RunStatus, error: Option<String> },
    RetryScheduled { events: usize, delay_ms: u64 },
}

/// How a listener ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Stopped {
    pub stats: ListenerStats,
    /// Events left in the queue for the next start (unknown if the queue could not say).
    pub still_queued: Option<u64>,
}

/// One address requests can be sent to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndpointInfo {
    pub node_id: String,
    pub url: String,
    pub methods: Vec<String>,
    /// `token` or `hmac`.
    pub auth: String,
}

/// A running listener. Dropping it stops everything at once, like a crash (queued events
/// stay for the next start); [`Listener::shutdown`] stops it cleanly.
pub struct Listener {
    addr: SocketAddr,
    endpoints: Vec<EndpointInfo>,
    queue: EventQueue,
    counters: Arc<Counters>,
    events: broadcast::Sender<ListenerEvent>,
    backlog: Vec<NodeBacklog>,
    stop_server: CancellationToken,
    stop_worker: CancellationToken,
    current_run: worker::RunStopper,
    server: Option<tokio::task::JoinHandle<()>>,
    worker: Option<tokio::task::JoinHandle<()>>,
}

impl Listener {
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn endpoints(&self) -> &[EndpointInfo] {
        &self.endpoints
    }

    pub fn queue_path(&self) -> &Path {
        self.queue.path()
    }

    /// Events that were queued when the listener started, per node (they run first).
    pub fn backlog_at_start(&self) -> &[NodeBacklog] {
        &self.backlog
    }

    pub fn stats(&self) -> ListenerStats {
        self.counters.snapshot()
    }

    /// Events as they happen, from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<ListenerEvent> {
        self.events.subscribe()
    }

    /// Events still queued, per node (including nodes the flow no longer has).
    pub async fn queued(&self) -> Result<Vec<NodeBacklog>, QueueError> {
        self.queue.backlog().await
    }

    /// Stops cleanly: no new requests (those being answered finish), the running batch
    /// finishes, queued events stay for the next start.
    pub async fn shutdown(mut self) -> Stopped {
        self.stop_server.cancel();
        if let Some(mut s) = self.server.take() {
            // Requests being answered finish; one that stalls is not waited for long.
            if tokio::time::timeout(SERVER_STOP_GRACE, &mut s).await.is_err() {
                s.abort();
            }
        }
        self.stop_worker.cancel();
        if let Some(w) = self.worker.take() {
            let _ = w.await;
        }
        let still_queued = self.queue.backlog().await.ok().map(|b| b.iter().map(|n| n.events).sum());
        self.queue.close().await;
        Stopped { stats: self.counters.snapshot(), still_queued }
    }

    /// Stops at once without finishing anything, as a crash would (the run in progress is
    /// stopped and its outputs discarded); waits until the queue file is let go, so a new
    /// listener can open it.
    pub async fn abandon(mut self) {
        self.halt();
        for t in [self.server.take(), self.worker.take()].into_iter().flatten() {
            let _ = t.await;
        }
        self.queue.close().await;
    }

    fn halt(&mut self) {
        if let Some(stop) = self.current_run.lock().unwrap().as_ref() {
            stop();
        }
        for t in [&self.server, &self.worker].into_iter().flatten() {
            t.abort();
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.halt();
    }
}

/// Loads and checks the flow, opens its queue, starts the HTTP server and the worker.
/// Events left queued by an earlier listener run first. Call inside a multi-threaded tokio
/// runtime.
pub async fn start_listener(options: ListenerOptions) -> Result<Listener, ListenError> {
    let (flow, base_dir) = load_flow_file(&options.flow_path).map_err(ListenError::InvalidFlow)?;
    let planned = {
        let (flow, base, params) = (flow.clone(), base_dir.clone(), options.params.clone());
        tokio::task::spawn_blocking(move || plan_flow(&flow, &base, &params)).await.expect("planning does not panic")
    };
    let plan = planned.map_err(ListenError::InvalidFlow)?;

    // The endpoints, from the planned (substituted) configs.
    let mut endpoints = Vec::new();
    let mut problems = Vec::new();
    let mut paths: BTreeMap<String, String> = BTreeMap::new();
    for node in plan.nodes.iter().filter(|n| n.kind_name == "webhook_source") {
        let config: WebhookSourceConfig = match serde_json::from_value(node.config.clone()) {
            Ok(c) => c,
            Err(e) => {
                problems.push(format!("node '{}': {e}", node.id));
                continue;
            }
        };
        if let Some(other) = paths.insert(config.path.clone(), node.id.clone()) {
            problems.push(format!("nodes '{other}' and '{}' both listen on {}; give each its own path", node.id, config.path));
        }
        let verifier = match auth::Verifier::new(&config.auth) {
            Ok(v) => v,
            Err(e) => {
                problems.push(format!("node '{}': {e}", node.id));
                continue;
            }
        };
        let records_path = match event::records_path(config.records_path.as_deref()) {
            Ok(p) => p,
            Err(e) => {
                problems.push(format!("node '{}': {e}", node.id));
                continue;
            }
        };
        endpoints.push(Arc::new(Endpoint { node_id: node.id.clone(), config, verifier, records_path }));
    }
    if plan.nodes.iter().all(|n| n.kind_name != "webhook_source") {
        problems.push(format!(
            "{} has no webhook_source node, so there is nothing to listen for; `sluice run` runs it once",
            options.flow_path.display()
        ));
    }
    if !problems.is_empty() {
        return Err(ListenError::Unusable(problems.join("\n")));
    }
    drop(plan);

    let queue_file = queue_path(&options.state_dir, &options.flow_path);
    let queue = EventQueue::open(&queue_file).await.map_err(|e| ListenError::Unavailable(e.0))?;
    let backlog = queue.backlog().await.map_err(|e| ListenError::Unavailable(e.0))?;
    let node_ids: Vec<String> = endpoints.iter().map(|e| e.node_id.clone()).collect();
    for b in backlog.iter().filter(|b| !node_ids.contains(&b.node_id)) {
        tracing::warn!(
            target: "sluice::webhook",
            node = %b.node_id,
            events = b.events,
            "queued events belong to a node the flow no longer has; they stay in {}",
            queue.path().display()
        );
    }

    let tcp = tokio::net::TcpListener::bind(options.bind)
        .await
        .map_err(|e| ListenError::Unavailable(format!("cannot listen on {}: {e} (try another --port, or 0 for any free port)", options.bind)))?;
    let addr = tcp.local_addr().map_err(|e| ListenError::Unavailable(e.to_string()))?;

    let counters = Arc::new(Counters::default());
    let (events, _) = broadcast::channel(1024);
    let wake = Arc::new(Notify::new());
    let arrived = Arc::new(AtomicUsize::new(0));
    let infos = endpoints
        .iter()
        .map(|e| EndpointInfo {
            node_id: e.node_id.clone(),
            url: format!("http://{addr}{}", e.config.path),
            methods: e.config.methods.iter().map(|m| m.as_str().to_string()).collect(),
            auth: match e.verifier.kind() {
                auth::WebhookAuthKind::Token => "token".into(),
                auth::WebhookAuthKind::Hmac => "hmac".into(),
            },
        })
        .collect();
    let receiver = Arc::new(Receiver {
        endpoints,
        queue: queue.clone(),
        counters: counters.clone(),
        wake: wake.clone(),
        arrived: arrived.clone(),
        events: events.clone(),
    });
    let stop_server = CancellationToken::new();
    let stop_worker = CancellationToken::new();
    let current_run = worker::RunStopper::default();

    let app = receiver.router().into_make_service_with_connect_info::<SocketAddr>();
    let stopped = stop_server.clone();
    let server = tokio::spawn(async move {
        if let Err(e) = axum::serve(tcp, app).with_graceful_shutdown(stopped.cancelled_owned()).await {
            tracing::error!(target: "sluice::webhook", "the server stopped: {e}");
        }
    });
    let worker = worker::Worker {
        flow,
        flow_path: options.flow_path.clone(),
        base_dir,
        params: options.params.clone(),
        node_ids,
        queue: queue.clone(),
        delivery: delivery::Delivery::new(),
        batch: options.batch,
        retry: options.retry,
        history: options.history,
        state_dir: options.state_dir.clone(),
        counters: counters.clone(),
        wake,
        arrived,
        events: events.clone(),
        current_run: current_run.clone(),
        stop: stop_worker.clone(),
    };
    let worker = tokio::spawn(worker.run());
    Ok(Listener {
        addr,
        endpoints: infos,
        queue,
        counters,
        events,
        backlog,
        stop_server,
        stop_worker,
        current_run,
        server: Some(server),
        worker: Some(worker),
    })
}

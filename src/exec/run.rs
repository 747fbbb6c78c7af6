//! Starting a run: wiring channels along the plan's edges, spawning every node, sampling
//! metrics, and deciding the outcome.

use super::io::{EdgeSender, InputPort, NodeIo, OutputPort};
use super::kept_errors::ErrorKeeper;
use super::{EdgeMetrics, NodeError, NodeMetrics, NodeState, RunEvent, RunStatus, RunSummary};
use crate::nodes::{Category, NodeTask};
use crate::plan::Plan;
use crate::value::{Batch, SchemaRef};
use futures::FutureExt;
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Why a run is stopping before its inputs ran out.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum StopReason {
    /// Ctrl-C or the designer's stop button.
    User,
    /// A node failed; the first failure is kept.
    Failure { node_id: String, error: NodeError },
    /// A preview has the rows it asked for.
    PreviewComplete,
}

/// State every node of one run shares.
pub(crate) struct RunShared {
    pub cancel: CancellationToken,
    events: mpsc::UnboundedSender<RunEvent>,
    stop: Mutex<Option<StopReason>>,
    /// Failed rows kept with the run (its dead letters).
    pub kept_errors: Arc<ErrorKeeper>,
    /// The run's id, for nodes that store things under it (dead letters).
    pub run_id: String,
}

impl RunShared {
    pub fn emit(&self, ev: RunEvent) {
        // Nobody listening is fine: a run does not depend on its audience.
        let _ = self.events.send(ev);
    }

    /// Records why the run stops (the first reason wins) and cancels every node.
    pub fn stop(&self, reason: StopReason) {
        let mut s = self.stop.lock().unwrap();
        if s.is_none() {
            *s = Some(reason);
        }
        drop(s);
        self.cancel.cancel();
    }
}

/// Rows captured from a port (for preview).
#[derive(Debug, Clone, Default)]
pub struct TapCapture {
    pub schema: Option<SchemaRef>,
    pub rows: Vec<crate::value::Row>,
    /// The port had more rows than were kept.
    pub truncated: bool,
}

/// Asks the run to copy up to `max_rows` rows leaving `node_id`'s `port`.
#[derive(Debug, Clone)]
pub struct Tap {
    pub node_id: String,
    pub port: String,
    pub max_rows: usize,
    /// Stop the whole run once this tap is full (a preview has what it needs).
    pub stop_when_full: bool,
}

pub struct RunOptions {
    pub run_id: String,
    /// How often metrics events are sent.
    pub metrics_interval: Duration,
    pub taps: Vec<Tap>,
    /// Whether a successful run makes its effects final (moves files into place, stores
    /// watermarks, commits run-long transactions). A preview looks and never commits.
    pub commit: bool,
    /// Failed rows to keep per node for the run's history (0: count them only).
    pub keep_error_rows: usize,
}

/// Failed rows kept per node by runs that record history (`sluice run`, the designer).
pub const HISTORY_ERROR_ROWS_PER_NODE: usize = 10_000;

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            run_id: new_run_id(),
            metrics_interval: Duration::from_millis(250),
            taps: Vec::new(),
            commit: true,
            keep_error_rows: 0,
        }
    }
}

/// A new run id: time-ordered and unique enough for one machine's history.
pub fn new_run_id() -> String {
    let now = chrono::Utc::now();
    format!("{}-{:04x}", now.format("%Y%m%dT%H%M%S%.3fZ"), rand_u16())
}

fn rand_u16() -> u16 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
    h.finish() as u16
}

/// A run in progress.
pub struct RunHandle {
    pub run_id: String,
    pub events: mpsc::UnboundedReceiver<RunEvent>,
    pub taps: Vec<Arc<Mutex<TapCapture>>>,
    /// Failed rows the run keeps (see [`RunOptions::keep_error_rows`]); complete once the
    /// run has finished.
    pub kept_errors: Arc<ErrorKeeper>,
    shared: Arc<RunShared>,
    join: tokio::task::JoinHandle<RunSummary>,
}

impl RunHandle {
    /// Stops the run: every node ends, sinks discard partial outputs, status `cancelled`.
    pub fn stop(&self) {
        self.shared.stop(StopReason::User);
    }

    /// A handle that can stop the run from elsewhere (a signal handler).
    pub fn stopper(&self) -> impl Fn() + Send + Sync + 'static {
        let shared = self.shared.clone();
        move || shared.stop(StopReason::User)
    }

    /// Waits for the end of the run.
    pub async fn wait(self) -> RunSummary {
        self.join.await.expect("the run task does not panic")
    }
}

/// Starts running a plan. Must be called inside a multi-threaded tokio runtime.
pub fn start_run(plan: Plan, options: RunOptions) -> RunHandle {
    let (tx, rx) = mpsc::unbounded_channel();
    let kept_errors = Arc::new(ErrorKeeper::new(options.keep_error_rows));
    let shared =
        Arc::new(RunShared {
            cancel: CancellationToken::new(),
            events: tx,
            stop: Mutex::new(None),
            kept_errors: kept_errors.clone(),
            run_id: options.run_id.clone(),
        });
    let taps: Vec<_> = options.taps.iter().map(|_| Arc::new(Mutex::new(TapCapture::default()))).collect();
    let run_id = options.run_id.clone();
    let join = tokio::spawn(execute(plan, options, shared.clone(), taps.clone()));
    RunHandle { run_id, events: rx, taps, kept_errors, shared, join }
}

type SuccessAction = Box<dyn FnOnce() -> Result<(), String> + Send>;
type FailureAction = Box<dyn FnOnce() + Send>;

struct NodeOutcome {
    node_id: String,
    on_success: Vec<SuccessAction>,
    on_failure: Vec<FailureAction>,
}

async fn execute(plan: Plan, options: RunOptions, shared: Arc<RunShared>, taps: Vec<Arc<Mutex<TapCapture>>>) -> RunSummary {
    let started_at = chrono::Utc::now();
    let t0 = Instant::now();
    shared.emit(RunEvent::RunStarted {
        run_id: options.run_id.clone(),
        flow: plan.flow_name.clone(),
        started_at: started_at.to_rfc3339(),
        nodes: plan.nodes.iter().map(|n| n.id.clone()).collect(),
    });

    // One channel per input port; every edge into the port holds a clone of its sender,
    // so the port closes when the last upstream finishes (fan-in).
    let capacity = plan.settings.channel_capacity.max(1);
    let mut senders: HashMap<(usize, String), mpsc::Sender<Batch>> = HashMap::new();
    let mut receivers: HashMap<usize, Vec<InputPort>> = HashMap::new();
    let index: HashMap<&str, usize> = plan.nodes.iter().enumerate().map(|(i, n)| (n.id.as_str(), i)).collect();
    for (i, node) in plan.nodes.iter().enumerate() {
        for port in &node.ports.inputs {
            let (tx, rx) = mpsc::channel(capacity);
            senders.insert((i, port.name.clone()), tx);
            receivers.entry(i).or_default().push(InputPort { name: port.name.clone(), rx });
        }
    }
    let mut outputs: HashMap<usize, HashMap<String, Vec<EdgeSender>>> = HashMap::new();
    let mut edge_counters = Vec::new();
    for e in &plan.edges {
        let (from, to) = (index[e.from.as_str()], index[e.to.as_str()]);
        let rows = Arc::new(AtomicU64::new(0));
        edge_counters.push((e.clone(), rows.clone()));
        let tx = senders[&(to, e.to_port.clone())].clone();
        outputs.entry(from).or_default().entry(e.from_port.clone()).or_default().push(EdgeSender { tx, rows });
    }
    drop(senders);

    let mut tap_tasks = Vec::new();
    for (tap, capture) in options.taps.iter().zip(taps.iter()) {
        let Some(&i) = index.get(tap.node_id.as_str()) else { continue };
        let (tx, rx) = mpsc::channel(capacity);
        outputs.entry(i).or_default().entry(tap.port.clone()).or_default().push(EdgeSender { tx, rows: Arc::new(AtomicU64::new(0)) });
        tap_tasks.push(tokio::spawn(collect_tap(rx, tap.clone(), capture.clone(), shared.clone())));
    }

    // Build every node before starting any, so a node that cannot start fails the run
    // before a single row moves.
    let metrics: Vec<Arc<NodeMetrics>> = plan.nodes.iter().map(|_| Arc::new(NodeMetrics::default())).collect();
    let mut tasks = Vec::new();
    let mut build_error = None;
    for (i, node) in plan.nodes.iter().enumerate() {
        match node.kind.build(&node.config, &node.ctx) {
            Ok(t) => tasks.push(t),
            Err(p) => {
                let field = (!p.field.is_empty()).then(|| p.field.clone());
                build_error = Some((i, NodeError::Failed { message: p.message, field, line: None }));
                break;
            }
        }
    }

    let mut handles = Vec::new();
    if let Some((i, err)) = build_error {
        metrics[i].set_state(NodeState::Failed);
        shared.emit(RunEvent::NodeState { node_id: plan.nodes[i].id.clone(), state: NodeState::Failed, error: Some(err.to_string()) });
        shared.stop(StopReason::Failure { node_id: plan.nodes[i].id.clone(), error: err });
    } else {
        for (i, (node, task)) in plan.nodes.iter().zip(tasks).enumerate() {
            let mut node_outputs = outputs.remove(&i).unwrap_or_default();
            let io = NodeIo {
                node_id: Arc::from(node.id.as_str()),
                inputs: receivers.remove(&i).unwrap_or_default(),
                outputs: node
                    .ports
                    .outputs
                    .iter()
                    .map(|p| {
                        let targets = node_outputs.remove(&p.name).unwrap_or_default();
                        OutputPort { name: p.name.clone(), wired: !targets.is_empty(), targets }
                    })
                    .collect(),
                shared: shared.clone(),
                metrics: metrics[i].clone(),
                policy: node.error_policy.clone(),
                is_source: node.category == Category::Source,
                waited: Duration::ZERO,
                error_events: 0,
                error_schema_cache: None,
                on_success: Vec::new(),
                on_failure: Vec::new(),
                batch_size: plan.settings.batch_size.max(1),
            };
            handles.push(spawn_node(task, io));
        }
    }
    drop(receivers);
    drop(outputs);

    // Sample metrics until every node is done.
    let sampler_stop = CancellationToken::new();
    let sampler = {
        let (shared, plan_ids, metrics, edges, stop) =
            (shared.clone(), node_ids(&plan), metrics.clone(), edge_counters.clone(), sampler_stop.clone());
        let interval = options.metrics_interval;
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stop.cancelled() => break,
                }
                shared.emit(metrics_event(t0, &plan_ids, &metrics, &edges));
            }
        })
    };

    let mut outcomes = Vec::new();
    for h in handles {
        outcomes.push(h.await.expect("node wrappers catch panics"));
    }
    for t in tap_tasks {
        let _ = t.await;
    }
    sampler_stop.cancel();
    let _ = sampler.await;

    let reason = shared.stop.lock().unwrap().clone();
    let (mut status, mut error, mut failed_node) = match reason {
        Some(StopReason::Failure { node_id, error }) => {
            (RunStatus::Failed, Some(describe_failure(&node_id, &error)), Some(node_id))
        }
        Some(StopReason::User) => (RunStatus::Cancelled, Some("the run was stopped before it finished".to_string()), None),
        Some(StopReason::PreviewComplete) | None => (RunStatus::Succeeded, None, None),
    };

    // Outputs become final only when the whole run succeeded.
    let mut failure_actions = Vec::new();
    let mut success_actions = Vec::new();
    for o in outcomes {
        failure_actions.extend(o.on_failure);
        success_actions.extend(o.on_success.into_iter().map(|a| (o.node_id.clone(), a)));
    }
    if status == RunStatus::Succeeded && options.commit {
        let result = tokio::task::spawn_blocking(move || {
            for (node_id, action) in success_actions {
                if let Err(e) = action() {
                    return Err((node_id, e));
                }
            }
            Ok(())
        })
        .await
        .expect("finishing actions do not panic");
        if let Err((node_id, e)) = result {
            status = RunStatus::Failed;
            error = Some(format!("node '{node_id}': {e}"));
            failed_node = Some(node_id);
        }
    } else {
        let _ = tokio::task::spawn_blocking(move || failure_actions.into_iter().for_each(|a| a())).await;
    }

    let plan_ids = node_ids(&plan);
    let RunEvent::Metrics { nodes, edges, .. } = metrics_event(t0, &plan_ids, &metrics, &edge_counters) else { unreachable!() };
    shared.emit(RunEvent::Metrics { elapsed_ms: t0.elapsed().as_millis() as u64, nodes: nodes.clone(), edges: edges.clone() });
    let summary = RunSummary {
        run_id: options.run_id,
        flow: plan.flow_name.clone(),
        status,
        started_at: started_at.to_rfc3339(),
        finished_at: chrono::Utc::now().to_rfc3339(),
        duration_ms: t0.elapsed().as_millis() as u64,
        error,
        failed_node,
        nodes,
        edges,
    };
    shared.emit(RunEvent::RunFinished { summary: summary.clone() });
    summary
}

fn node_ids(plan: &Plan) -> Vec<(String, bool)> {
    plan.nodes.iter().map(|n| (n.id.clone(), n.category == Category::Sink)).collect()
}

fn metrics_event(
    t0: Instant,
    ids: &[(String, bool)],
    metrics: &[Arc<NodeMetrics>],
    edges: &[(crate::flow::EdgeSpec, Arc<AtomicU64>)],
) -> RunEvent {
    RunEvent::Metrics {
        elapsed_ms: t0.elapsed().as_millis() as u64,
        nodes: ids.iter().zip(metrics).map(|((id, sink), m)| m.snapshot(id, *sink)).collect(),
        edges: edges
            .iter()
            .map(|(e, n)| EdgeMetrics {
                from: e.from.clone(),
                from_port: e.from_port.clone(),
                to: e.to.clone(),
                to_port: e.to_port.clone(),
                rows: n.load(Relaxed),
            })
            .collect(),
    }
}

fn describe_failure(node_id: &str, error: &NodeError) -> String {
    match error {
        NodeError::Failed { message, field, line } => {
            let mut s = format!("node '{node_id}' failed");
            if let Some(l) = line {
                s.push_str(&format!(" at line {l}"));
            }
            if let Some(f) = field {
                s.push_str(&format!(" (field '{f}')"));
            }
            s.push_str(": ");
            s.push_str(message);
            s
        }
        other => format!("node '{node_id}': {other}"),
    }
}

fn spawn_node(task: NodeTask, mut io: NodeIo) -> tokio::task::JoinHandle<NodeOutcome> {
    io.metrics.set_state(NodeState::Running);
    io.shared.emit(RunEvent::NodeState { node_id: io.node_id.to_string(), state: NodeState::Running, error: None });
    match task {
        NodeTask::Blocking(node) => {
            let handle = tokio::task::spawn_blocking(move || {
                let t = Instant::now();
                let result = std::panic::catch_unwind(AssertUnwindSafe(|| node.run(&mut io))).unwrap_or_else(|p| Err(panic_error(p)));
                finish_node(io, result, t)
            });
            handle
        }
        NodeTask::Async(node) => tokio::spawn(async move {
            let t = Instant::now();
            let result = AssertUnwindSafe(node.run(&mut io)).catch_unwind().await.unwrap_or_else(|p| Err(panic_error(p)));
            finish_node(io, result, t)
        }),
    }
}

fn panic_error(p: Box<dyn std::any::Any + Send>) -> NodeError {
    let msg = p
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into());
    NodeError::msg(format!("internal error (please report it): {msg}"))
}

/// Settles one node's end. Stops the run *before* the node's senders are dropped, so
/// downstream nodes see a failure as a stop and never as the end of their input.
fn finish_node(mut io: NodeIo, mut result: Result<(), NodeError>, started: Instant) -> NodeOutcome {
    if matches!(result, Err(NodeError::DownstreamClosed)) {
        result = Ok(());
    }
    if result.is_ok() {
        result = io.check_error_limits(None);
    }
    let busy = started.elapsed().saturating_sub(io.waited);
    io.metrics.busy_ns.store(busy.as_nanos() as u64, Relaxed);
    let state = match &result {
        Ok(()) => NodeState::Done,
        Err(NodeError::Failed { .. }) => NodeState::Failed,
        Err(_) => NodeState::Stopped,
    };
    if let Err(e @ NodeError::Failed { .. }) = &result {
        tracing::error!(node = %io.node_id, "{e}");
        io.shared.stop(StopReason::Failure { node_id: io.node_id.to_string(), error: e.clone() });
    }
    io.metrics.set_state(state);
    io.shared.emit(RunEvent::NodeState {
        node_id: io.node_id.to_string(),
        state,
        error: match &result {
            Err(e @ NodeError::Failed { .. }) => Some(e.to_string()),
            _ => None,
        },
    });
    NodeOutcome {
        node_id: io.node_id.to_string(),
        on_success: std::mem::take(&mut io.on_success),
        on_failure: std::mem::take(&mut io.on_failure),
    }
}

async fn collect_tap(mut rx: mpsc::Receiver<Batch>, tap: Tap, capture: Arc<Mutex<TapCapture>>, shared: Arc<RunShared>) {
    while let Some(batch) = rx.recv().await {
        let mut c = capture.lock().unwrap();
        if c.schema.is_none() {
            c.schema = Some(batch.schema.clone());
        }
        let room = tap.max_rows.saturating_sub(c.rows.len());
        if batch.len() > room {
            c.truncated = true;
        }
        c.rows.extend(batch.rows.into_iter().take(room));
        if c.rows.len() >= tap.max_rows {
            drop(c);
            if tap.stop_when_full {
                shared.stop(StopReason::PreviewComplete);
            }
            break;
        }
    }
}

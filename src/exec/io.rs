//! What a running node holds: its input receivers, output senders, metrics, the run's
//! cancellation, and the error policy for rows that fail.

use super::run::RunShared;
use super::{LogLevel, NodeMetrics, RunEvent};
use crate::flow::{ErrorMode, ErrorPolicy};
use crate::value::{Batch, DataType, Field, Row, Schema, SchemaRef, Value};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Fields appended to a row on its way out of an `error` port.
pub const ERROR_FIELDS: [(&str, DataType); 5] = [
    ("_error_node", DataType::String),
    ("_error_message", DataType::String),
    ("_error_field", DataType::String),
    ("_error_line", DataType::Int),
    ("_error_raw", DataType::String),
];

/// Failed row events sent per node; further ones are counted only.
const ROW_ERROR_EVENTS_PER_NODE: u64 = 20;

/// A node that runs on a thread of its own (file I/O, CPU-heavy work).
pub trait BlockingNode: Send {
    fn run(self: Box<Self>, io: &mut NodeIo) -> Result<(), NodeError>;
}

/// A node that runs on the async runtime (network I/O).
#[async_trait::async_trait]
pub trait AsyncNode: Send {
    async fn run(self: Box<Self>, io: &mut NodeIo) -> Result<(), NodeError>;
}

/// Why a node stopped early.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NodeError {
    /// The run was stopped (Ctrl-C, another node failed, a preview had enough rows).
    #[error("stopped")]
    Cancelled,
    /// Every node downstream has finished and wants no more rows (e.g. a limit). Not a failure.
    #[error("downstream finished")]
    DownstreamClosed,
    #[error("{message}")]
    Failed {
        message: String,
        field: Option<String>,
        line: Option<u64>,
    },
}

impl NodeError {
    pub fn msg(message: impl Into<String>) -> Self {
        NodeError::Failed { message: message.into(), field: None, line: None }
    }
    pub fn with_line(self, l: u64) -> Self {
        match self {
            NodeError::Failed { message, field, .. } => NodeError::Failed { message, field, line: Some(l) },
            other => other,
        }
    }
    pub fn with_field(self, f: impl Into<String>) -> Self {
        match self {
            NodeError::Failed { message, line, .. } => NodeError::Failed { message, field: Some(f.into()), line },
            other => other,
        }
    }
    /// An I/O error on a named file, in plain words.
    pub fn io(what: &str, path: &std::path::Path, e: &std::io::Error) -> Self {
        let reason = match e.kind() {
            std::io::ErrorKind::NotFound => "no such file or folder".to_string(),
            std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
            _ => e.to_string(),
        };
        NodeError::msg(format!("cannot {what} {}: {reason}", path.display()))
    }
}

/// A row that failed in a node, on its way to the `error` output or the error policy.
#[derive(Debug, Clone, PartialEq)]
pub struct RowError {
    pub message: String,
    pub field: Option<String>,
    /// Line in the input file, for sources.
    pub line: Option<u64>,
    /// The row as it came in (may be shorter than the schema for a broken line).
    pub row: Row,
    /// The raw text of a line that could not be split into fields.
    pub raw: Option<String>,
}

impl RowError {
    pub fn new(message: impl Into<String>, row: Row) -> Self {
        RowError { message: message.into(), field: None, line: None, row, raw: None }
    }
    pub fn field(mut self, f: impl Into<String>) -> Self {
        self.field = Some(f.into());
        self
    }
    pub fn line(mut self, l: u64) -> Self {
        self.line = Some(l);
        self
    }
    pub fn raw(mut self, r: impl Into<String>) -> Self {
        self.raw = Some(r.into());
        self
    }
}

/// One edge's sending end, with its row counter.
pub(crate) struct EdgeSender {
    pub tx: mpsc::Sender<Batch>,
    pub rows: Arc<AtomicU64>,
}

pub(crate) struct OutputPort {
    pub name: String,
    pub targets: Vec<EdgeSender>,
    /// Whether this port had any edge when the run started.
    pub wired: bool,
}

pub(crate) struct InputPort {
    pub name: String,
    pub rx: mpsc::Receiver<Batch>,
}

/// A running node's connection to the rest of the run.
pub struct NodeIo {
    pub(crate) node_id: Arc<str>,
    pub(crate) inputs: Vec<InputPort>,
    pub(crate) outputs: Vec<OutputPort>,
    pub(crate) shared: Arc<RunShared>,
    pub(crate) metrics: Arc<NodeMetrics>,
    pub(crate) policy: ErrorPolicy,
    pub(crate) is_source: bool,
    pub(crate) waited: Duration,
    pub(crate) error_events: u64,
    pub(crate) error_schema_cache: Option<(SchemaRef, SchemaRef)>,
    pub(crate) on_success: Vec<Box<dyn FnOnce() -> Result<(), String> + Send>>,
    pub(crate) on_failure: Vec<Box<dyn FnOnce() + Send>>,
    pub(crate) batch_size: usize,
}

impl NodeIo {
    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    /// Rows per batch this run uses.
    /// The id of the run this node is part of.
    pub fn run_id(&self) -> &str {
        &self.shared.run_id
    }

    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    pub fn is_cancelled(&self) -> bool {
        self.shared.cancel.is_cancelled()
    }

    /// Fails with [`NodeError::Cancelled`] once the run is stopping. Long loops call it.
    pub fn check_cancelled(&self) -> Result<(), NodeError> {
        if self.is_cancelled() {
            Err(NodeError::Cancelled)
        } else {
            Ok(())
        }
    }

    fn input_index(&self, port: &str) -> usize {
        self.inputs
            .iter()
            .position(|p| p.name == port)
            .unwrap_or_else(|| panic!("node {} has no input port {port}", self.node_id))
    }

    fn after_recv(&mut self, got: Option<Batch>) -> Result<Option<Batch>, NodeError> {
        match got {
            Some(b) => {
                self.metrics.rows_in.fetch_add(b.len() as u64, Relaxed);
                self.metrics.batches_in.fetch_add(1, Relaxed);
                Ok(Some(b))
            }
            // Every sender is gone: either the upstream finished, or the run is stopping
            // because something failed. Only the first is the end of the input.
            None if self.is_cancelled() => Err(NodeError::Cancelled),
            None => Ok(None),
        }
    }

    /// The next batch on an input port; `Ok(None)` when every upstream finished cleanly.
    /// Blocking: for [`BlockingNode`]s.
    pub fn recv(&mut self, port: &str) -> Result<Option<Batch>, NodeError> {
        let i = self.input_index(port);
        let t = Instant::now();
        let got = self.inputs[i].rx.blocking_recv();
        self.waited += t.elapsed();
        self.after_recv(got)
    }

    /// The next batch on an input port, for [`AsyncNode`]s.
    pub async fn recv_async(&mut self, port: &str) -> Result<Option<Batch>, NodeError> {
        let i = self.input_index(port);
        let t = Instant::now();
        let cancel = self.shared.cancel.clone();
        let got = tokio::select! {
            b = self.inputs[i].rx.recv() => b,
            _ = cancel.cancelled() => return Err(NodeError::Cancelled),
        };
        self.waited += t.elapsed();
        self.after_recv(got)
    }

    /// The next batch from whichever of `ports` has one first (earlier ports win ties), for
    /// nodes that must read several inputs at once (a join whose two sides share a source
    /// would otherwise wait on each other). Returns the index into `ports` and the batch;
    /// `None` means that port has ended — leave it out of later calls. Blocking.
    pub fn recv_any(&mut self, ports: &[&str]) -> Result<(usize, Option<Batch>), NodeError> {
        assert!(!ports.is_empty(), "recv_any needs at least one port");
        let cancel = self.shared.cancel.clone();
        let t = Instant::now();
        let got = {
            let mut futures = Vec::with_capacity(ports.len());
            let mut which = Vec::with_capacity(ports.len());
            for input in self.inputs.iter_mut() {
                if let Some(i) = ports.iter().position(|p| *p == input.name) {
                    which.push(i);
                    futures.push(Box::pin(input.rx.recv()));
                }
            }
            assert_eq!(futures.len(), ports.len(), "node {} has no input among {ports:?}", self.node_id);
            tokio::runtime::Handle::current().block_on(async {
                tokio::select! {
                    biased;
                    _ = cancel.cancelled() => None,
                    (batch, idx, _) = futures::future::select_all(futures) => Some((which[idx], batch)),
                }
            })
        };
        self.waited += t.elapsed();
        let (i, batch) = got.ok_or(NodeError::Cancelled)?;
        Ok((i, self.after_recv(batch)?))
    }

    fn output_index(&self, port: &str) -> Option<usize> {
        self.outputs.iter().position(|p| p.name == port)
    }

    /// Whether anything is still listening on `port`.
    pub fn is_output_open(&self, port: &str) -> bool {
        self.output_index(port).is_some_and(|i| !self.outputs[i].targets.is_empty())
    }

    /// Sends a batch out of `port` to every edge leaving it (blocking while a channel is
    /// full). Fails with [`NodeError::DownstreamClosed`] once no output has a listener left.
    pub fn send(&mut self, port: &str, batch: Batch) -> Result<(), NodeError> {
        self.send_inner(port, batch, |tx, b| tx.blocking_send(b).is_ok())
    }

    /// [`NodeIo::send`] for async nodes.
    pub async fn send_async(&mut self, port: &str, batch: Batch) -> Result<(), NodeError> {
        if batch.is_empty() {
            return Ok(());
        }
        let Some(i) = self.output_index(port) else {
            panic!("node {} has no output port {port}", self.node_id)
        };
        self.count_out(port, &batch);
        let t = Instant::now();
        let cancel = self.shared.cancel.clone();
        let n = batch.len() as u64;
        let mut targets = std::mem::take(&mut self.outputs[i].targets);
        let mut keep = Vec::with_capacity(targets.len());
        let last = targets.len().saturating_sub(1);
        let mut batch = Some(batch);
        for (j, t) in targets.drain(..).enumerate() {
            let b = if j == last { batch.take().unwrap() } else { batch.clone().unwrap() };
            let ok = tokio::select! {
                r = t.tx.send(b) => r.is_ok(),
                _ = cancel.cancelled() => { self.outputs[i].targets = keep; return Err(NodeError::Cancelled) }
            };
            if ok {
                t.rows.fetch_add(n, Relaxed);
                keep.push(t);
            }
        }
        self.outputs[i].targets = keep;
        self.waited += t.elapsed();
        self.after_send()
    }

    fn count_out(&self, port: &str, batch: &Batch) {
        if port != crate::nodes::ERROR_PORT {
            self.metrics.rows_out.fetch_add(batch.len() as u64, Relaxed);
            self.metrics.batches_out.fetch_add(1, Relaxed);
        }
    }

    fn send_inner(
        &mut self,
        port: &str,
        batch: Batch,
        send: impl Fn(&mpsc::Sender<Batch>, Batch) -> bool,
    ) -> Result<(), NodeError> {
        if batch.is_empty() {
            return Ok(());
        }
        let Some(i) = self.output_index(port) else {
            panic!("node {} has no output port {port}", self.node_id)
        };
        self.count_out(port, &batch);
        let t = Instant::now();
        let n = batch.len() as u64;
        let targets = &mut self.outputs[i].targets;
        let last = targets.len().saturating_sub(1);
        let mut batch = Some(batch);
        let mut closed = Vec::new();
        for (j, target) in targets.iter().enumerate() {
            // Fan-out: every edge but the last gets a copy.
            let b = if j == last { batch.take().unwrap() } else { batch.clone().unwrap() };
            if send(&target.tx, b) {
                target.rows.fetch_add(n, Relaxed);
            } else {
                closed.push(j);
            }
        }
        for j in closed.into_iter().rev() {
            targets.remove(j);
        }
        self.waited += t.elapsed();
        self.after_send()
    }

    fn after_send(&self) -> Result<(), NodeError> {
        if self.is_cancelled() {
            return Err(NodeError::Cancelled);
        }
        let had_listeners = self.outputs.iter().any(|p| p.wired && p.name != crate::nodes::ERROR_PORT);
        let has_listeners = self.outputs.iter().any(|p| !p.targets.is_empty() && p.name != crate::nodes::ERROR_PORT);
        if had_listeners && !has_listeners {
            return Err(NodeError::DownstreamClosed);
        }
        Ok(())
    }

    /// Sends rows that failed. With a wired `error` output they leave by it, carrying the
    /// node, the message, the field, the line and the original row. Without one, the error
    /// policy decides: stop the run, or count the rows and go on (up to its limits).
    pub fn send_errors(&mut self, schema: &SchemaRef, errors: Vec<RowError>) -> Result<(), NodeError> {
        if errors.is_empty() {
            return Ok(());
        }
        let n = errors.len() as u64;
        self.metrics.rows_error.fetch_add(n, Relaxed);
        let handled = self.is_output_open(crate::nodes::ERROR_PORT);
        self.shared.kept_errors.keep(&self.node_id, schema, &errors, handled);
        for e in errors.iter() {
            if self.error_events >= ROW_ERROR_EVENTS_PER_NODE {
                break;
            }
            self.error_events += 1;
            self.shared.emit(RunEvent::RowError {
                node_id: self.node_id.to_string(),
                message: e.message.clone(),
                field: e.field.clone(),
                line: e.line,
                handled,
            });
        }
        if handled {
            let batch = self.error_batch(schema, errors);
            return self.send(crate::nodes::ERROR_PORT, batch);
        }
        self.metrics.rows_error_unhandled.fetch_add(n, Relaxed);
        let first = &errors[0];
        match self.policy.mode {
            ErrorMode::Fail => Err(NodeError::Failed {
                message: format!(
                    "a row failed: {}{}",
                    first.message,
                    " (wire the node's error output to keep failed rows, or set the error policy to continue)"
                ),
                field: first.field.clone(),
                line: first.line,
            }),
            ErrorMode::Continue => self.check_error_limits(Some(first)),
        }
    }

    /// Applies the `continue` policy's limits to the counts so far.
    pub(crate) fn check_error_limits(&self, last: Option<&RowError>) -> Result<(), NodeError> {
        if self.policy.mode != ErrorMode::Continue {
            return Ok(());
        }
        let unhandled = self.metrics.rows_error_unhandled.load(Relaxed);
        let last_msg = last.map(|e| format!(" (last: {})", e.message)).unwrap_or_default();
        if let Some(max) = self.policy.max_errors {
            if unhandled > max {
                return Err(NodeError::msg(format!("{unhandled} rows failed, more than the error policy's max_errors of {max}{last_msg}")));
            }
        }
        if let Some(pct) = self.policy.max_error_percent {
            let seen = if self.is_source {
                self.metrics.rows_out.load(Relaxed) + self.metrics.rows_error.load(Relaxed)
            } else {
                self.metrics.rows_in.load(Relaxed)
            };
            // Along the way, judge the share only once there is enough to judge by.
            if seen > 0 && (seen >= 1000 || last.is_none()) {
                let share = unhandled as f64 * 100.0 / seen as f64;
                if share > pct {
                    return Err(NodeError::msg(format!(
                        "{share:.1}% of rows failed ({unhandled} of {seen}), more than the error policy's max_error_percent of {pct}%{last_msg}"
                    )));
                }
            }
        }
        Ok(())
    }

    fn error_batch(&mut self, schema: &SchemaRef, errors: Vec<RowError>) -> Batch {
        let err_schema = match &self.error_schema_cache {
            Some((src, out)) if Arc::ptr_eq(src, schema) => out.clone(),
            _ => {
                let out = error_schema(schema);
                self.error_schema_cache = Some((schema.clone(), out.clone()));
                out
            }
        };
        let width = schema.len();
        let rows = errors
            .into_iter()
            .map(|e| {
                let mut row = e.row;
                row.resize(width, Value::Null);
                row.push(Value::str(&self.node_id));
                row.push(Value::str(&e.message));
                row.push(e.field.map(|f| Value::str(&f)).unwrap_or(Value::Null));
                row.push(e.line.map(|l| Value::Int(l as i64)).unwrap_or(Value::Null));
                row.push(e.raw.map(|r| Value::str(&r)).unwrap_or(Value::Null));
                row
            })
            .collect();
        Batch::new(err_schema, rows)
    }

    /// Adds to the bytes read or written.
    pub fn add_bytes(&self, n: u64) {
        self.metrics.bytes.fetch_add(n, Relaxed);
    }

    /// Sets the input's known size, for progress.
    pub fn set_total_bytes(&self, n: u64) {
        self.metrics.total_bytes.store(n, Relaxed);
    }

    /// A log line in the run's event stream, tagged with this node.
    pub fn log(&self, level: LogLevel, message: impl Into<String>) {
        let message = message.into();
        match level {
            LogLevel::Error => tracing::error!(node = %self.node_id, "{message}"),
            LogLevel::Warn => tracing::warn!(node = %self.node_id, "{message}"),
            LogLevel::Info => tracing::info!(node = %self.node_id, "{message}"),
            LogLevel::Debug => tracing::debug!(node = %self.node_id, "{message}"),
        }
        self.shared.emit(RunEvent::Log { level, node_id: Some(self.node_id.to_string()), message });
    }

    /// Runs `f` once the whole run has succeeded (e.g. move a finished file into place).
    /// If it fails, the run fails with its message.
    pub fn on_success(&mut self, f: impl FnOnce() -> Result<(), String> + Send + 'static) {
        self.on_success.push(Box::new(f));
    }

    /// Runs `f` if the run fails or is stopped (e.g. remove a partial file).
    pub fn on_failure(&mut self, f: impl FnOnce() + Send + 'static) {
        self.on_failure.push(Box::new(f));
    }
}

/// The schema of rows leaving an `error` port: the row's own fields, then the error fields.
pub fn error_schema(schema: &Schema) -> SchemaRef {
    let mut fields: Vec<Field> = schema.fields().to_vec();
    fields.extend(ERROR_FIELDS.iter().map(|(n, t)| Field::new(*n, *t)));
    Arc::new(Schema::new(fields))
}

/// Sugar for rows in a batch of a known schema.
pub fn row_of(values: impl IntoIterator<Item = Value>) -> Row {
    values.into_iter().collect()
}

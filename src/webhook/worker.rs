//! The listener's worker: drains the queue in micro-batches, one flow run per batch.
//!
//! A batch is the oldest queued events, up to `max_events`; after the first event arrives
//! the worker waits up to `max_wait` for more, so a burst becomes one run rather than
//! many. Each batch is planned afresh from the flow loaded at start (params and
//! `${env:…}` are read again, a table that appeared is seen) and run with the webhook
//! nodes emitting the batch's events. Only a succeeded run removes its events; a failed
//! one (or a flow that no longer plans) leaves them, counts the attempt with its error,
//! and the same events are tried again after a delay that doubles up to `retry.max`.
//! Stopping lets a running batch finish; a batch not yet started waits for the next start.

use super::delivery::Delivery;
use super::event::WebhookEvent;
use super::queue::EventQueue;
use super::{BatchLimits, Counters, HistoryMode, ListenerEvent, RetryDelays};
use crate::exec::{start_run, RunOptions, RunStatus, RunSummary, HISTORY_ERROR_ROWS_PER_NODE};
use crate::flow::FlowFile;
use crate::plan::plan_flow;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{broadcast, Notify};
use tokio_util::sync::CancellationToken;

/// A way to stop the run in progress (when the listener is dropped without draining).
pub type RunStopper = Arc<Mutex<Option<Box<dyn Fn() + Send + Sync>>>>;

pub struct Worker {
    pub flow: FlowFile,
    pub flow_path: PathBuf,
    pub base_dir: PathBuf,
    pub params: BTreeMap<String, String>,
    pub node_ids: Vec<String>,
    pub queue: EventQueue,
    pub delivery: Delivery,
    pub batch: BatchLimits,
    pub retry: RetryDelays,
    pub history: HistoryMode,
    pub state_dir: PathBuf,
    pub counters: Arc<Counters>,
    pub wake: Arc<Notify>,
    pub arrived: Arc<AtomicUsize>,
    pub events: broadcast::Sender<ListenerEvent>,
    pub current_run: RunStopper,
    /// Cancelled on shutdown: no new batch starts.
    pub stop: CancellationToken,
}

/// How a batch ended.
enum Outcome {
    Delivered,
    Failed(String),
}

impl Worker {
    pub async fn run(self) {
        let mut delay = self.retry.first;
        let mut retrying = false;
        loop {
            if self.stop.is_cancelled() {
                break;
            }
            if !retrying && !self.gather().await {
                break;
            }
            self.arrived.store(0, Relaxed);
            let batch = match self.queue.next_batch(&self.node_ids, self.batch.max_events.max(1)).await {
                Ok(b) => b,
                Err(e) => {
                    tracing::error!(target: "sluice::webhook", "{e}");
                    if !self.pause(delay).await {
                        break;
                    }
                    delay = (delay * 2).min(self.retry.max);
                    continue;
                }
            };
            if batch.is_empty() {
                retrying = false;
                continue;
            }
            match self.run_batch(&batch).await {
                Outcome::Delivered => {
                    delay = self.retry.first;
                    retrying = false;
                }
                Outcome::Failed(error) => {
                    let seqs: Vec<i64> = batch.iter().map(|e| e.seq).collect();
                    if let Err(e) = self.queue.mark_failed(&seqs, &error).await {
                        tracing::error!(target: "sluice::webhook", "{e}");
                    }
                    let _ = self.events.send(ListenerEvent::RetryScheduled { events: batch.len(), delay_ms: delay.as_millis() as u64 });
                    if !self.pause(delay).await {
                        break;
                    }
                    delay = (delay * 2).min(self.retry.max);
                    retrying = true;
                }
            }
        }
    }

    /// Waits until events are queued, then a little longer for more of them (up to
    /// `max_wait`, or until `max_events` are there). False when stopping.
    async fn gather(&self) -> bool {
        // Events left from before (or that arrived during the last run) need no waiting.
        match self.queue.next_batch(&self.node_ids, 1).await {
            Ok(b) if !b.is_empty() => {}
            _ => {
                tokio::select! {
                    _ = self.wake.notified() => {}
                    _ = self.stop.cancelled() => return false,
                }
            }
        }
        let deadline = tokio::time::Instant::now() + self.batch.max_wait;
        while self.arrived.load(Relaxed) < self.batch.max_events {
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep_until(deadline) => break,
                _ = self.stop.cancelled() => return false,
            }
        }
        true
    }

    /// Sleeps before a retry; false when stopping.
    async fn pause(&self, delay: Duration) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(delay) => true,
            _ = self.stop.cancelled() => false,
        }
    }

    async fn run_batch(&self, batch: &[WebhookEvent]) -> Outcome {
        let run_id = crate::exec::new_run_id();
        let _ = self.events.send(ListenerEvent::BatchStarted { run_id: run_id.clone(), events: batch.len() });
        let (flow, base, params) = (self.flow.clone(), self.base_dir.clone(), self.params.clone());
        let planned = tokio::task::spawn_blocking(move || plan_flow(&flow, &base, &params)).await.expect("planning does not panic");
        let mut plan = match planned {
            Ok(p) => p,
            Err(diags) => {
                let error = format!("the flow does not plan: {}", diags.to_string().trim());
                self.finished(&run_id, batch.len(), RunStatus::Failed, Some(error.clone()));
                return Outcome::Failed(error);
            }
        };
        self.delivery.load(&mut plan, batch);
        let handle = start_run(plan, RunOptions { run_id: run_id.clone(), keep_error_rows: HISTORY_ERROR_ROWS_PER_NODE, ..RunOptions::default() });
        *self.current_run.lock().unwrap() = Some(Box::new(handle.stopper()));
        let kept = handle.kept_errors.clone();
        let summary = handle.wait().await;
        *self.current_run.lock().unwrap() = None;
        self.delivery.clear();
        self.record(&summary, &kept).await;
        if summary.status == RunStatus::Succeeded {
            let seqs: Vec<i64> = batch.iter().map(|e| e.seq).collect();
            // The run's effects are final; were this removal lost (a crash right here),
            // the events would run again: delivery is at least once, exactly once with a
            // sink keyed on event_id.
            if let Err(e) = self.queue.remove(&seqs).await {
                tracing::error!(target: "sluice::webhook", "delivered events stay queued and will run again: {e}");
            }
            self.counters.batches_succeeded.fetch_add(1, Relaxed);
            self.counters.events_delivered.fetch_add(batch.len() as u64, Relaxed);
            self.finished(&run_id, batch.len(), RunStatus::Succeeded, None);
            Outcome::Delivered
        } else {
            let error = summary.error.clone().unwrap_or_else(|| "the run did not finish".into());
            self.finished(&run_id, batch.len(), summary.status, Some(error.clone()));
            Outcome::Failed(error)
        }
    }

    fn finished(&self, run_id: &str, events: usize, status: RunStatus, error: Option<String>) {
        if status != RunStatus::Succeeded {
            self.counters.batches_failed.fetch_add(1, Relaxed);
        }
        match &error {
            None => tracing::info!(target: "sluice::webhook", run_id, events, "batch delivered"),
            Some(e) => tracing::warn!(target: "sluice::webhook", run_id, events, "batch failed, its events stay queued: {e}"),
        }
        let _ = self.events.send(ListenerEvent::BatchFinished { run_id: run_id.to_string(), events, status, error });
    }

    async fn record(&self, summary: &RunSummary, kept: &crate::exec::ErrorKeeper) {
        let wanted = match self.history {
            HistoryMode::All => true,
            HistoryMode::Failed => summary.status != RunStatus::Succeeded,
            HistoryMode::None => false,
        };
        if wanted {
            if let Err(e) = crate::app::record_history(&self.state_dir, Some(&self.flow_path), &self.params, summary, kept).await {
                tracing::warn!(target: "sluice::webhook", "the batch run was not added to the history: {e}");
            }
        }
    }
}

//! Per-node counters, updated by the node's own thread and read by the sampler.

use super::{NodeMetricsSnapshot, NodeState};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Default)]
pub struct NodeMetrics {
    pub rows_in: AtomicU64,
    pub rows_out: AtomicU64,
    pub rows_error: AtomicU64,
    pub rows_error_unhandled: AtomicU64,
    pub batches_in: AtomicU64,
    pub batches_out: AtomicU64,
    pub bytes: AtomicU64,
    pub busy_ns: AtomicU64,
    /// 0 = unknown.
    pub total_bytes: AtomicU64,
    state: AtomicU8,
    /// When the node started and (once done) how long it ran.
    timing: Mutex<(Option<Instant>, Option<Duration>)>,
}

impl NodeMetrics {
    pub fn set_state(&self, s: NodeState) {
        self.state.store(s as u8, Relaxed);
        let mut t = self.timing.lock().unwrap();
        match s {
            NodeState::Running => t.0 = Some(Instant::now()),
            NodeState::Done | NodeState::Failed | NodeState::Stopped => t.1 = t.0.map(|s| s.elapsed()),
            NodeState::Waiting => {}
        }
    }

    pub fn state(&self) -> NodeState {
        match self.state.load(Relaxed) {
            1 => NodeState::Running,
            2 => NodeState::Done,
            3 => NodeState::Failed,
            4 => NodeState::Stopped,
            _ => NodeState::Waiting,
        }
    }

    pub fn snapshot(&self, node_id: &str, is_sink: bool) -> NodeMetricsSnapshot {
        let (start, ran) = *self.timing.lock().unwrap();
        let elapsed = ran.or_else(|| start.map(|s| s.elapsed())).unwrap_or_default().as_secs_f64();
        let rows_in = self.rows_in.load(Relaxed);
        let rows_out = self.rows_out.load(Relaxed);
        let counted = if is_sink { rows_in } else { rows_out };
        let total = self.total_bytes.load(Relaxed);
        NodeMetricsSnapshot {
            node_id: node_id.to_string(),
            state: Some(self.state()),
            rows_in,
            rows_out,
            rows_error: self.rows_error.load(Relaxed),
            rows_error_unhandled: self.rows_error_unhandled.load(Relaxed),
            batches_in: self.batches_in.load(Relaxed),
            batches_out: self.batches_out.load(Relaxed),
            bytes: self.bytes.load(Relaxed),
            busy_ms: self.busy_ns.load(Relaxed) / 1_000_000,
            rows_per_sec: if elapsed > 0.0 { (counted as f64 / elapsed * 10.0).round() / 10.0 } else { 0.0 },
            total_bytes: (total > 0).then_some(total),
        }
    }
}

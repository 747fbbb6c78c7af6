//! The streaming executor: every node a task, joined by bounded channels of batches.
//!
//! Memory in flight is bounded by `channel_capacity × batch_size` rows per edge whatever
//! the input size, because a sender waits when its channel is full (back-pressure).
//! Blocking nodes (file I/O, CPU-heavy transforms) run on threads of their own; async nodes
//! (network) run on the tokio runtime. A failed node cancels the run; sinks hear that as a
//! stop, not as the end of their input, so a partial output is never taken for a complete
//! one. Per-node metrics are sampled into a stream of [`RunEvent`]s.
//!
//! Left out on purpose: distributing work across machines, and checkpoint/restart of a
//! run halfway through (sources that need resumption use watermarks instead).

mod events;
mod io;
mod kept_errors;
mod metrics;
mod preview;
mod run;

pub use events::{EdgeMetrics, LogLevel, NodeMetricsSnapshot, NodeState, RunEvent, RunStatus, RunSummary};
pub use io::{error_schema, row_of, AsyncNode, BlockingNode, NodeError, NodeIo, RowError, ERROR_FIELDS};
pub use kept_errors::{ErrorKeeper, KeptErrorRow, KeptErrors};
pub use metrics::NodeMetrics;
pub use preview::{preview, PreviewResult};
pub use run::{new_run_id, start_run, RunHandle, RunOptions, Tap, TapCapture, HISTORY_ERROR_ROWS_PER_NODE};

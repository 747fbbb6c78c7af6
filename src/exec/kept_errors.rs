//! Failed rows kept with their run — the run's dead letters — so the designer and
//! `sluice runs errors` can show and export them after the run, whether or not the node's
//! `error` output was wired. Bounded per node: a run that fails a million rows keeps the
//! first N of each node and counts the rest, so history never grows without limit.

use super::RowError;
use crate::value::SchemaRef;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// One failed row with its error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeptErrorRow {
    pub node_id: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// The raw text of a line that could not be split into fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
    /// Whether a wired `error` output took the row (else the error policy dropped it).
    pub handled: bool,
    /// The row's fields as they reached the node (JSON values, in field order).
    pub row: serde_json::Map<String, serde_json::Value>,
}

/// What a run kept, and how many more it only counted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KeptErrors {
    pub rows: Vec<KeptErrorRow>,
    /// Per node, failed rows beyond the limit (counted, not kept).
    pub not_kept: BTreeMap<String, u64>,
}

/// Collects failed rows during a run, up to `per_node_limit` per node.
#[derive(Debug, Default)]
pub struct ErrorKeeper {
    per_node_limit: usize,
    inner: Mutex<(KeptErrors, BTreeMap<String, usize>)>,
}

impl ErrorKeeper {
    pub fn new(per_node_limit: usize) -> Self {
        ErrorKeeper { per_node_limit, inner: Mutex::default() }
    }

    pub(crate) fn is_on(&self) -> bool {
        self.per_node_limit > 0
    }

    /// Keeps copies of `errors` (rows shaped by `schema`) failed in `node_id`.
    pub(crate) fn keep(&self, node_id: &str, schema: &SchemaRef, errors: &[RowError], handled: bool) {
        if !self.is_on() || errors.is_empty() {
            return;
        }
        let mut guard = self.inner.lock().unwrap();
        let (kept, counts) = &mut *guard;
        let n = counts.entry(node_id.to_string()).or_default();
        let room = self.per_node_limit.saturating_sub(*n);
        for e in errors.iter().take(room) {
            let row = schema
                .fields()
                .iter()
                .zip(e.row.iter())
                .map(|(f, v)| (f.name.clone(), v.to_json()))
                .collect();
            kept.rows.push(KeptErrorRow {
                node_id: node_id.to_string(),
                message: e.message.clone(),
                field: e.field.clone(),
                line: e.line,
                raw: e.raw.clone(),
                handled,
                row,
            });
        }
        let taken = room.min(errors.len());
        *n += taken;
        if errors.len() > taken {
            *kept.not_kept.entry(node_id.to_string()).or_default() += (errors.len() - taken) as u64;
        }
    }

    /// Everything kept so far.
    pub fn snapshot(&self) -> KeptErrors {
        self.inner.lock().unwrap().0.clone()
    }
}

//! `dedupe`: keeps one row per key — the first one seen (streaming) or the last one (held
//! until the input ends). The dropped rows can leave by `duplicates`.
//!
//! Keys compare as in `aggregate` and `join` (see [`super::rows`]): `1`, `1.0` and `1.00`
//! are one key, text compares exactly (case and spaces count — put a `cleanse` in front to
//! trim or lower-case first), and null equals null.
//!
//! Memory grows with the number of distinct keys, not rows: `keep: first` holds each
//! distinct key once (its values plus about 50 bytes); `keep: last` also holds one whole
//! row per distinct key. Left out: fuzzy matching (similar names, typos).

use super::rows::{check_fields, KeyIndex, RowSender};
use crate::exec::{BlockingNode, NodeError, NodeIo};
use crate::nodes::{Category, ConfigProblem, NodeContext, NodeKind, NodeMeta, NodeTask, PortSchemas, PortSpec, Ports};
use crate::value::{Batch, Row, SchemaRef};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Keeps one row per key.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DedupeConfig {
    /// The fields that together make a row's key, e.g. `["customer_id"]` or
    /// `["email", "channel"]`. Empty: the whole row (rows equal in every field).
    #[serde(default)]
    #[schemars(extend("x-field" = "in"))]
    pub fields: Vec<String>,
    /// Which row of each key to keep: the `first` one to arrive (streams, in input order)
    /// or the `last` one (held until the input ends, then sent in the order of the kept
    /// rows' positions).
    #[serde(default)]
    pub keep: Keep,
}

/// Which row of a key survives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Keep {
    #[default]
    First,
    Last,
}

pub struct Dedupe;

impl NodeKind for Dedupe {
    type Config = DedupeConfig;

    fn meta(&self) -> NodeMeta {
        NodeMeta {
            kind: "dedupe",
            category: Category::Transform,
            title: "Remove duplicates",
            description: "Keeps one row per key (the first or the last seen); the duplicates can leave by their own output.",
            keywords: &["distinct", "unique", "duplicate", "dedup", "deduplicate"],
            icon: "copy-minus",
        }
    }

    fn static_ports(&self) -> Ports {
        Ports {
            inputs: vec![PortSpec::input("in", "rows to deduplicate")],
            outputs: vec![
                PortSpec::output("out", "one row per key"),
                PortSpec::output("duplicates", "the rows that were dropped because an earlier (or later) row had the same key"),
            ],
        }
    }

    fn check(&self, config: &Self::Config, _ctx: &NodeContext, inputs: &PortSchemas) -> Vec<ConfigProblem> {
        check_fields(inputs.get("in"), &config.fields, "fields", "the input")
    }

    fn output_schemas(&self, _config: &Self::Config, _ctx: &NodeContext, inputs: &PortSchemas) -> Result<PortSchemas, ConfigProblem> {
        Ok(inputs.get("in").map(|s| PortSchemas::from([("out".into(), s.clone()), ("duplicates".into(), s.clone())])).unwrap_or_default())
    }

    fn build(&self, config: Self::Config, _ctx: &NodeContext) -> Result<NodeTask, ConfigProblem> {
        Ok(NodeTask::Blocking(Box::new(DedupeTask { config })))
    }
}

struct DedupeTask {
    config: DedupeConfig,
}

/// Key field indexes for one schema. With no fields configured, the key is the whole row
/// by the field names of the first schema seen, so rows from a later schema with the same
/// fields in another order still match.
struct KeyFields {
    names: Vec<String>,
    whole_row: bool,
    schema: Option<SchemaRef>,
    idx: Vec<Option<usize>>,
}

impl KeyFields {
    fn resolve(&mut self, schema: &SchemaRef) -> Result<&[Option<usize>], NodeError> {
        if !self.schema.as_ref().is_some_and(|s| Arc::ptr_eq(s, schema)) {
            if self.whole_row && self.names.is_empty() {
                self.names = schema.names().map(str::to_string).collect();
            }
            self.idx = if self.whole_row {
                self.names.iter().map(|n| schema.index_of(n)).collect()
            } else {
                super::rows::resolve_fields(schema, &self.names, |i| format!("fields/{i}"), "dedupe")?.into_iter().map(Some).collect()
            };
            self.schema = Some(schema.clone());
        }
        Ok(&self.idx)
    }
}

impl BlockingNode for DedupeTask {
    fn run(self: Box<Self>, io: &mut NodeIo) -> Result<(), NodeError> {
        let whole_row = self.config.fields.is_empty();
        let mut keys = KeyFields { names: self.config.fields, whole_row, schema: None, idx: vec![] };
        let mut index = KeyIndex::new();
        let want_dups = io.is_output_open("duplicates");
        match self.config.keep {
            Keep::First => {
                while let Some(batch) = io.recv("in")? {
                    let idx = keys.resolve(&batch.schema)?;
                    let mut kept = Vec::with_capacity(batch.len());
                    let mut dups = Vec::new();
                    for row in batch.rows {
                        if index.find_or_insert(&row, idx).1 {
                            kept.push(row);
                        } else if want_dups {
                            dups.push(row);
                        }
                    }
                    io.send("out", Batch::new(batch.schema.clone(), kept))?;
                    if want_dups {
                        io.send("duplicates", Batch::new(batch.schema, dups))?;
                    }
                }
            }
            Keep::Last => {
                // Per key id: (position in the input, schema, row) of the latest row.
                let mut latest: Vec<(u64, SchemaRef, Row)> = Vec::new();
                let mut pos = 0u64;
                while let Some(batch) = io.recv("in")? {
                    let idx = keys.resolve(&batch.schema)?;
                    let mut dups = Vec::new();
                    for row in batch.rows {
                        let (id, new) = index.find_or_insert(&row, idx);
                        if new {
                            latest.push((pos, batch.schema.clone(), row));
                        } else {
                            let old = std::mem::replace(&mut latest[id], (pos, batch.schema.clone(), row));
                            if want_dups {
                                dups.push(old);
                            }
                        }
                        pos += 1;
                    }
                    send_held(io, "duplicates", dups)?;
                }
                latest.sort_unstable_by_key(|(p, _, _)| *p);
                send_held(io, "out", latest)?;
            }
        }
        Ok(())
    }
}

fn send_held(io: &mut NodeIo, port: &'static str, rows: Vec<(u64, SchemaRef, Row)>) -> Result<(), NodeError> {
    let mut out = RowSender::new(io, port);
    for (_, schema, row) in rows {
        out.push(io, &schema, row)?;
    }
    out.flush(io)
}

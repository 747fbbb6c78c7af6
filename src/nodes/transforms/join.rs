//! `join`: matches rows of two inputs on equal key fields — inner, left, right, full outer
//! and anti (left rows without a match).
//!
//! A hash join: the `right` input is read completely into memory and indexed by its key,
//! then the `left` input streams past it. So put the smaller input (the lookup table: agents,
//! customers, a channel list) on the right. The right side is held up to
//! `memory_budget_mb`, counted with a per-row estimate; past it the run fails with a clear
//! message rather than the machine running out of memory.
//!
//! While the right input is still arriving, left rows that come in are held back (in
//! memory up to [`LEFT_HOLD_BYTES`], then in a temporary file): without that, a flow where
//! both inputs come from one source (rows joined with their own group totals) would stall,
//! the source waiting for the left input to take rows and the join waiting for the right
//! input to end.
//!
//! Keys match as in `dedupe` and `aggregate` (numbers across int/float/decimal, date-times
//! by instant), except that a null key never matches anything, as in SQL. Output fields:
//! the left fields, then the right fields, a right field whose name is taken getting
//! `right_prefix` (`anti` gives the left fields only). Each left row leaves with its
//! matches in right-input order; unmatched right rows (`right`, `full`) come last.
//!
//! Left out: range and fuzzy joins, and joins larger than memory on both sides (sort both
//! and merge in a later version).

use super::rows::{
    approx_row_bytes, check_field, describe_fields, keys_have_null, resolve_fields, KeyIndex, RowSender, SpillReader, SpillWriter,
};
use crate::exec::{BlockingNode, LogLevel, NodeError, NodeIo};
use crate::nodes::{Category, ConfigProblem, NodeContext, NodeKind, NodeMeta, NodeTask, PortSchemas, PortSpec, Ports};
use crate::value::{Batch, DataType, Field, Row, Schema, SchemaRef, Value};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::{HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;

/// Matches rows of the `left` and `right` inputs on equal key fields.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JoinConfig {
    /// The key: pairs of a left field and a right field that must be equal, e.g.
    /// `[{"left": "agent_id", "right": "id"}]`. With several pairs, all must be equal.
    pub on: Vec<JoinKey>,
    /// `inner`: matched pairs only. `left`: every left row, with its matches or with empty
    /// right fields. `right`: every right row, likewise. `full`: both. `anti`: the left rows
    /// that have no match (e.g. tickets whose agent is missing from the agent list).
    #[serde(rename = "type", default)]
    pub join_type: JoinType,
    /// Memory for the right input, in MB (fractions allowed). Past it the run fails: put
    /// the smaller input on the right, or raise this.
    #[serde(default = "default_budget_mb")]
    #[schemars(range(min = 0.0))]
    pub memory_budget_mb: f64,
    /// Put before the name of a right field that has the same name as a left field.
    #[serde(default = "default_prefix")]
    pub right_prefix: String,
    /// Folder for left rows held back in a temporary file while the right input is read;
    /// default: the system's temporary folder. A relative path is taken from the flow
    /// file's folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spill_dir: Option<String>,
}

/// One pair of key fields.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JoinKey {
    /// A field of the left input.
    #[schemars(extend("x-field" = "left"))]
    pub left: String,
    /// The field of the right input that must equal it.
    #[schemars(extend("x-field" = "right"))]
    pub right: String,
}

/// Which rows a join keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum JoinType {
    #[default]
    Inner,
    Left,
    Right,
    Full,
    Anti,
}

fn default_budget_mb() -> f64 {
    512.0
}

fn default_prefix() -> String {
    "right_".into()
}

/// Left rows held in memory while the right input is read; more go to a temporary file.
pub const LEFT_HOLD_BYTES: usize = 16 * 1024 * 1024;

/// The output fields: left fields, then right fields renamed where the name is taken.
fn joined_schema(left: &Schema, right: &Schema, prefix: &str) -> Schema {
    let mut fields: Vec<Field> = left.fields().to_vec();
    let mut used: HashSet<String> = left.names().map(str::to_string).collect();
    for f in right.fields() {
        let mut name = f.name.clone();
        if used.contains(&name) {
            name = format!("{prefix}{}", f.name);
            let mut n = 2;
            while used.contains(&name) {
                name = format!("{prefix}{}_{n}", f.name);
                n += 1;
            }
        }
        used.insert(name.clone());
        fields.push(Field::new(name, f.data_type));
    }
    Schema::new(fields)
}

/// Whether values of two field types can ever be equal keys.
fn comparable(a: DataType, b: DataType) -> bool {
    use DataType::*;
    let number = |t| matches!(t, Int | Float | Decimal);
    a == b || (number(a) && number(b)) || matches!((a, b), (Date, DateTime) | (DateTime, Date))
}

pub struct Join;

impl NodeKind for Join {
    type Config = JoinConfig;

    fn meta(&self) -> NodeMeta {
        NodeMeta {
            kind: "join",
            category: Category::Transform,
            title: "Join",
            description: "Matches rows of two inputs on equal key fields (inner, left, right, full, or anti for rows without a match). The right input is held in memory.",
            keywords: &["lookup", "merge", "match", "enrich", "vlookup", "left join", "anti join", "combine"],
            icon: "merge",
        }
    }

    fn static_ports(&self) -> Ports {
        Ports {
            inputs: vec![
                PortSpec::input("left", "rows to enrich; streamed"),
                PortSpec::input("right", "rows to match against; held in memory, so the smaller input"),
            ],
            outputs: vec![PortSpec::output("out", "joined rows: the left fields, then the right fields")],
        }
    }

    fn check(&self, config: &Self::Config, _ctx: &NodeContext, inputs: &PortSchemas) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if config.on.is_empty() {
            problems.push(ConfigProblem::new("on", "no key to join on").hint("add a pair of fields, e.g. {\"left\": \"agent_id\", \"right\": \"agent_id\"}"));
        }
        let (left, right) = (inputs.get("left"), inputs.get("right"));
        for (i, k) in config.on.iter().enumerate() {
            let l = check_field(left, &k.left, &format!("on/{i}/left"), "the left input");
            let r = check_field(right, &k.right, &format!("on/{i}/right"), "the right input");
            if l.is_none() && r.is_none() {
                let lt = left.and_then(|s| s.field(&k.left)).map(|f| f.data_type);
                let rt = right.and_then(|s| s.field(&k.right)).map(|f| f.data_type);
                if let (Some(lt), Some(rt)) = (lt, rt) {
                    if !comparable(lt, rt) {
                        problems.push(
                            ConfigProblem::new(
                                format!("on/{i}/right"),
                                format!("left field '{}' is {lt} but right field '{}' is {rt}: their values never match", k.left, k.right),
                            )
                            .hint("convert one of them first (convert node) so both have the same type"),
                        );
                    }
                }
            }
            problems.extend(l);
            problems.extend(r);
        }
        if config.memory_budget_mb.is_nan() || config.memory_budget_mb <= 0.0 {
            problems.push(ConfigProblem::new("memory_budget_mb", "the memory budget must be more than 0 MB").hint("the default is 512"));
        }
        problems
    }

    fn output_schemas(&self, config: &Self::Config, _ctx: &NodeContext, inputs: &PortSchemas) -> Result<PortSchemas, ConfigProblem> {
        let out = match (config.join_type, inputs.get("left"), inputs.get("right")) {
            (JoinType::Anti, Some(l), _) => Some(l.clone()),
            (_, Some(l), Some(r)) => Some(Arc::new(joined_schema(l, r, &config.right_prefix))),
            _ => None,
        };
        Ok(out.map(|s| PortSchemas::from([("out".to_string(), s)])).unwrap_or_default())
    }

    fn build(&self, config: Self::Config, ctx: &NodeContext) -> Result<NodeTask, ConfigProblem> {
        if let Some(p) = self.check(&config, ctx, &PortSchemas::new()).into_iter().next() {
            return Err(p);
        }
        let spill_dir = config.spill_dir.as_deref().map(|d| ctx.resolve_path(d));
        Ok(NodeTask::Blocking(Box::new(JoinTask { config, spill_dir })))
    }
}

struct JoinTask {
    config: JoinConfig,
    spill_dir: Option<PathBuf>,
}

/// A batch from one of the two inputs, or the end of it.
enum Got {
    Right(Option<Batch>),
    Left(Option<Batch>),
}

/// Waits for whichever input has a batch first, the right one preferred; the left one only
/// while `left_open`.
fn recv_right_or_left(io: &mut NodeIo, left_open: bool) -> Result<Got, NodeError> {
    let ports: &[&str] = if left_open { &["right", "left"] } else { &["right"] };
    // The right side is listed first so it wins ties: it has to be read to the end anyway.
    Ok(match io.recv_any(ports)? {
        (0, b) => Got::Right(b),
        (_, b) => Got::Left(b),
    })
}

/// The right input, indexed by key.
struct RightSide {
    schema: Option<SchemaRef>,
    /// For each schema seen, where its fields sit in `schema` (None: same layout).
    align: Option<(SchemaRef, Vec<Option<usize>>)>,
    key_idx: Vec<Option<usize>>,
    rows: Vec<Row>,
    index: KeyIndex,
    /// Per key id, the first and last row with that key; per row, the next one (chains
    /// in input order). `NONE` ends a chain.
    head: Vec<u32>,
    tail: Vec<u32>,
    next: Vec<u32>,
    matched: Vec<bool>,
    bytes: usize,
}

const NONE: u32 = u32::MAX;

impl RightSide {
    fn add(&mut self, batch: Batch, names: &[String], node: &str, budget_mb: f64, budget: usize) -> Result<(), NodeError> {
        let first = match &self.schema {
            None => {
                self.key_idx = resolve_fields(&batch.schema, names, |i| format!("on/{i}/right"), &format!("the right input of join '{node}'"))?
                    .into_iter()
                    .map(Some)
                    .collect();
                self.schema = Some(batch.schema.clone());
                batch.schema.clone()
            }
            Some(s) => s.clone(),
        };
        // Rows with another layout are brought to the first one by field name.
        let map = if Arc::ptr_eq(&first, &batch.schema) || *first == *batch.schema {
            None
        } else {
            match &self.align {
                Some((s, m)) if Arc::ptr_eq(s, &batch.schema) => Some(m.clone()),
                _ => {
                    let m: Vec<Option<usize>> = first.names().map(|n| batch.schema.index_of(n)).collect();
                    self.align = Some((batch.schema.clone(), m.clone()));
                    Some(m)
                }
            }
        };
        for row in batch.rows {
            let row = match &map {
                None => row,
                Some(m) => m.iter().map(|i| i.map(|i| row[i].clone()).unwrap_or(Value::Null)).collect(),
            };
            let r = self.rows.len() as u32;
            self.bytes += approx_row_bytes(&row) + 9;
            if !keys_have_null(&row, &self.key_idx) {
                let (id, new) = self.index.find_or_insert(&row, &self.key_idx);
                if new {
                    self.head.push(r);
                    self.tail.push(r);
                    self.bytes += 48 + self.key_idx.len() * std::mem::size_of::<Value>();
                } else {
                    let t = self.tail[id];
                    self.next[t as usize] = r;
                    self.tail[id] = r;
                }
            }
            self.next.push(NONE);
            self.matched.push(false);
            self.rows.push(row);
            if self.bytes > budget {
                return Err(NodeError::msg(format!(
                    "the right input of join '{node}' holds more than {budget_mb} MB; put the smaller input on the right or raise memory_budget_mb"
                ))
                .with_field("memory_budget_mb"));
            }
        }
        Ok(())
    }
}

/// Left batches that arrived before the right input ended: in memory, then in a file.
struct HeldLeft {
    batches: VecDeque<Batch>,
    bytes: usize,
    file: Option<SpillWriter>,
    schemas: Vec<SchemaRef>,
}

impl HeldLeft {
    fn hold(&mut self, batch: Batch, dir: Option<&std::path::Path>) -> Result<(), NodeError> {
        self.bytes += batch.rows.iter().map(approx_row_bytes).sum::<usize>();
        self.batches.push_back(batch);
        if self.bytes > LEFT_HOLD_BYTES || self.file.is_some() {
            let err = |e: std::io::Error| {
                NodeError::msg(format!("cannot write the join's temporary file for held-back left rows: {e}; set spill_dir to a folder with room"))
                    .with_field("spill_dir")
            };
            if self.file.is_none() {
                self.file = Some(SpillWriter::create(dir, "sluice-join-").map_err(err)?);
            }
            let w = self.file.as_mut().unwrap();
            for b in self.batches.drain(..) {
                let tag = match self.schemas.iter().position(|s| Arc::ptr_eq(s, &b.schema) || **s == *b.schema) {
                    Some(t) => t,
                    None => {
                        self.schemas.push(b.schema.clone());
                        self.schemas.len() - 1
                    }
                } as u32;
                for row in &b.rows {
                    w.write(tag, row).map_err(err)?;
                }
            }
            self.bytes = 0;
        }
        Ok(())
    }
}

/// Left rows as they come: held ones first (file, then memory), then the live input.
struct LeftStream {
    file: Option<HeldFile>,
    held: VecDeque<Batch>,
    live: bool,
}

/// Left rows read back from the temporary file, in batches of one schema each.
struct HeldFile {
    reader: SpillReader,
    schemas: Vec<SchemaRef>,
    /// The first row of the next batch, read while ending the previous one.
    pending: Option<(u32, Row)>,
}

impl LeftStream {
    fn next(&mut self, io: &mut NodeIo) -> Result<Option<Batch>, NodeError> {
        if let Some(f) = &mut self.file {
            let mut rows = Vec::new();
            let mut tag: Option<u32> = None;
            if let Some((t, row)) = f.pending.take() {
                tag = Some(t);
                rows.push(row);
            }
            while rows.len() < io.batch_size() {
                match f.reader.next_row().map_err(|e| NodeError::msg(format!("cannot read back the join's held-back left rows: {e}")))? {
                    Some((t, row)) if tag.is_some_and(|x| x != t) => {
                        f.pending = Some((t, row));
                        break;
                    }
                    Some((t, row)) => {
                        tag = Some(t);
                        rows.push(row);
                    }
                    None => break,
                }
            }
            match tag {
                Some(t) => return Ok(Some(Batch::new(f.schemas[t as usize].clone(), rows))),
                None => self.file = None,
            }
        }
        if let Some(b) = self.held.pop_front() {
            return Ok(Some(b));
        }
        if self.live {
            return io.recv("left");
        }
        Ok(None)
    }
}

impl BlockingNode for JoinTask {
    fn run(self: Box<Self>, io: &mut NodeIo) -> Result<(), NodeError> {
        let cfg = &self.config;
        let node = io.node_id().to_string();
        let budget = ((cfg.memory_budget_mb * 1024.0 * 1024.0) as usize).max(1);
        let right_names: Vec<String> = cfg.on.iter().map(|k| k.right.clone()).collect();
        let left_names: Vec<String> = cfg.on.iter().map(|k| k.left.clone()).collect();

        // 1. The whole right input, holding back left rows that arrive meanwhile.
        let mut right = RightSide {
            schema: None,
            align: None,
            key_idx: vec![],
            rows: vec![],
            index: KeyIndex::new(),
            head: vec![],
            tail: vec![],
            next: vec![],
            matched: vec![],
            bytes: 0,
        };
        let mut held = HeldLeft { batches: VecDeque::new(), bytes: 0, file: None, schemas: vec![] };
        let mut left_open = true;
        loop {
            match recv_right_or_left(io, left_open)? {
                Got::Right(Some(b)) => right.add(b, &right_names, &node, cfg.memory_budget_mb, budget)?,
                Got::Right(None) => break,
                Got::Left(Some(b)) => held.hold(b, self.spill_dir.as_deref())?,
                Got::Left(None) => left_open = false,
            }
        }
        let mut left = LeftStream { file: None, held: held.batches, live: left_open };
        if let Some(w) = held.file {
            io.add_bytes(w.bytes());
            io.log(
                LogLevel::Info,
                format!("held back {} left rows in a temporary file while the right input was read", w.rows()),
            );
            let r = w.finish().map_err(|e| NodeError::msg(format!("cannot read back the join's held-back left rows: {e}")))?;
            left.file = Some(HeldFile { reader: r, schemas: held.schemas, pending: None });
        }

        // 2. Stream the left input past the index.
        let right_schema = right.schema.clone().unwrap_or_else(|| Arc::new(Schema::default()));
        let right_width = right_schema.len();
        let mut out = RowSender::new(io, "out");
        // (left schema, output schema, left key indexes) for the current left batches.
        let mut current: Option<(SchemaRef, SchemaRef, Vec<Option<usize>>)> = None;
        let track = matches!(cfg.join_type, JoinType::Right | JoinType::Full);
        while let Some(batch) = left.next(io)? {
            if !current.as_ref().is_some_and(|(s, _, _)| Arc::ptr_eq(s, &batch.schema)) {
                let idx = resolve_fields(&batch.schema, &left_names, |i| format!("on/{i}/left"), &format!("the left input of join '{node}'"))?;
                let out_schema = match cfg.join_type {
                    JoinType::Anti => batch.schema.clone(),
                    _ => Arc::new(joined_schema(&batch.schema, &right_schema, &cfg.right_prefix)),
                };
                current = Some((batch.schema.clone(), out_schema, idx.into_iter().map(Some).collect()));
            }
            let (_, out_schema, idx) = current.as_ref().unwrap();
            for row in batch.rows {
                let found = if keys_have_null(&row, idx) { None } else { right.index.find(&row, idx) };
                match (found, cfg.join_type) {
                    (None, JoinType::Anti) => out.push(io, out_schema, row)?,
                    (Some(_), JoinType::Anti) => {}
                    (Some(id), _) => {
                        let mut r = right.head[id];
                        while r != NONE {
                            let mut joined = Vec::with_capacity(row.len() + right_width);
                            joined.extend(row.iter().cloned());
                            joined.extend(right.rows[r as usize].iter().cloned());
                            out.push(io, out_schema, joined)?;
                            if track {
                                right.matched[r as usize] = true;
                            }
                            r = right.next[r as usize];
                        }
                    }
                    (None, JoinType::Left | JoinType::Full) => {
                        let mut joined = row;
                        joined.resize(joined.len() + right_width, Value::Null);
                        out.push(io, out_schema, joined)?;
                    }
                    (None, _) => {}
                }
            }
        }

        // 3. Right rows nothing matched.
        if track {
            let (left_width, out_schema) = match &current {
                Some((l, o, _)) => (l.len(), o.clone()),
                // No left row arrived, so its fields are unknown here: the right fields only.
                None => (0, right_schema.clone()),
            };
            for (r, row) in right.rows.into_iter().enumerate() {
                if !right.matched[r] {
                    let mut joined = vec![Value::Null; left_width];
                    joined.extend(row);
                    out.push(io, &out_schema, joined)?;
                }
            }
        }
        if right.schema.is_none() && !matches!(cfg.join_type, JoinType::Anti) {
            io.log(LogLevel::Warn, format!("the right input of join '{node}' had no rows (fields: {})", describe_fields(&right_schema)));
        }
        out.flush(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clashing_right_names_get_the_prefix() {
        let l = Schema::new(vec![Field::new("id", DataType::Int), Field::new("name", DataType::String), Field::new("right_name", DataType::String)]);
        let r = Schema::new(vec![Field::new("id", DataType::Int), Field::new("name", DataType::String), Field::new("team", DataType::String)]);
        let s = joined_schema(&l, &r, "right_");
        let names: Vec<&str> = s.names().collect();
        assert_eq!(names, vec!["id", "name", "right_name", "right_id", "right_name_2", "team"]);
        assert!(comparable(DataType::Int, DataType::Decimal));
        assert!(!comparable(DataType::Int, DataType::String));
    }
}

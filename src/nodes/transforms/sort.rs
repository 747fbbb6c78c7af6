//! `sort`: orders all rows by one or more fields, each ascending or descending with nulls
//! first or last. Stable: rows with equal keys keep their input order.
//!
//! Rows are held in memory up to `memory_budget_mb` (counted with a per-row estimate, see
//! [`approx_row_bytes`]). Past the budget the held rows are sorted and written to a
//! temporary file (a "run", in the compact encoding of [`super::rows`]); at the end of the
//! input every run and the rows still in memory are merged (k-way, smallest head first,
//! ties to the earlier run so the sort stays stable). More than [`MAX_OPEN_RUNS`] runs are
//! first merged into one, so open files stay few. Spill files are removed as soon as they
//! are read, and also when the run fails or is stopped. The bytes spilled show in the
//! node's `bytes` metric.
//!
//! Order of values: see [`super::rows`] (numbers numerically across int/float/decimal,
//! text by bytes — no locale collation —, dates by instant). Left out: top-N shortcuts
//! (use `sort` + `limit`; the sort still reads everything).

use super::rows::{approx_row_bytes, check_field, compare_values, resolve_fields, NullOrder, RowSender, SpillReader, SpillWriter};
use crate::exec::{BlockingNode, LogLevel, NodeError, NodeIo};
use crate::nodes::{Category, ConfigProblem, NodeContext, NodeKind, NodeMeta, NodeTask, PortSchemas, PortSpec, Ports};
use crate::value::{Row, SchemaRef, Value};
use rayon::slice::ParallelSliceMut;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::path::PathBuf;
use std::sync::Arc;

/// Orders rows by one or more fields.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SortConfig {
    /// The fields to sort by, most significant first: rows are ordered by the first field,
    /// rows equal in it by the second, and so on.
    pub fields: Vec<SortField>,
    /// Memory for held rows, in MB (fractions allowed). Past it, sorted runs are written to
    /// temporary files and merged at the end, so any input size sorts in bounded memory.
    #[serde(default = "default_budget_mb")]
    #[schemars(range(min = 0.0))]
    pub memory_budget_mb: f64,
    /// Folder for the temporary files; default: the system's temporary folder. A relative
    /// path is taken from the flow file's folder. Needs free space about the size of the
    /// input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spill_dir: Option<String>,
}

/// One sort key.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SortField {
    /// The field to sort by.
    #[schemars(extend("x-field" = "in"))]
    pub field: String,
    /// `asc` (smallest first, A before Z, oldest first) or `desc`.
    #[serde(default)]
    pub order: SortOrder,
    /// Where rows with a null in this field go: `last` (default) or `first`, in either
    /// order.
    #[serde(default)]
    pub nulls: NullOrder,
}

/// Direction of a sort key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SortOrder {
    #[default]
    Asc,
    Desc,
}

fn default_budget_mb() -> f64 {
    256.0
}

/// Runs merged in one pass; beyond this, runs are first merged into one.
pub const MAX_OPEN_RUNS: usize = 64;

pub struct Sort;

impl NodeKind for Sort {
    type Config = SortConfig;

    fn meta(&self) -> NodeMeta {
        NodeMeta {
            kind: "sort",
            category: Category::Transform,
            title: "Sort rows",
            description: "Orders all rows by one or more fields; spills to temporary files past its memory budget, so any size sorts.",
            keywords: &["order by", "order", "arrange", "rank", "ascending", "descending"],
            icon: "arrow-down-wide-narrow",
        }
    }

    fn static_ports(&self) -> Ports {
        Ports { inputs: vec![PortSpec::input("in", "rows to sort")], outputs: vec![PortSpec::output("out", "the rows in order")] }
    }

    fn check(&self, config: &Self::Config, _ctx: &NodeContext, inputs: &PortSchemas) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if config.fields.is_empty() {
            problems.push(ConfigProblem::new("fields", "no field to sort by").hint("add at least one field, e.g. {\"field\": \"created_at\"}"));
        }
        for (i, f) in config.fields.iter().enumerate() {
            problems.extend(check_field(inputs.get("in"), &f.field, &format!("fields/{i}/field"), "the input"));
        }
        if config.memory_budget_mb.is_nan() || config.memory_budget_mb <= 0.0 {
            problems.push(ConfigProblem::new("memory_budget_mb", "the memory budget must be more than 0 MB").hint("the default is 256"));
        }
        problems
    }

    fn output_schemas(&self, _config: &Self::Config, _ctx: &NodeContext, inputs: &PortSchemas) -> Result<PortSchemas, ConfigProblem> {
        Ok(inputs.get("in").map(|s| PortSchemas::from([("out".into(), s.clone())])).unwrap_or_default())
    }

    fn build(&self, config: Self::Config, ctx: &NodeContext) -> Result<NodeTask, ConfigProblem> {
        if let Some(p) = self.check(&config, ctx, &PortSchemas::new()).into_iter().next() {
            return Err(p);
        }
        let spill_dir = config.spill_dir.as_deref().map(|d| ctx.resolve_path(d));
        Ok(NodeTask::Blocking(Box::new(SortTask { config, spill_dir })))
    }
}

struct SortTask {
    config: SortConfig,
    spill_dir: Option<PathBuf>,
}

/// A held row and the index of the schema it came with.
struct Entry {
    schema: u32,
    row: Row,
}

/// The sort keys and, per schema seen, where each key field sits in its rows.
struct Keys {
    specs: Vec<(SortOrder, NullOrder)>,
    names: Vec<String>,
    schemas: Vec<SchemaRef>,
    idx: Vec<Vec<usize>>,
}

impl Keys {
    /// The index of `schema` in the list, adding it (and resolving its key fields) if new.
    fn schema_id(&mut self, schema: &SchemaRef) -> Result<u32, NodeError> {
        if let Some(i) = self.schemas.iter().rposition(|s| Arc::ptr_eq(s, schema) || **s == **schema) {
            return Ok(i as u32);
        }
        self.idx.push(resolve_fields(schema, &self.names, |i| format!("fields/{i}/field"), "sort")?);
        self.schemas.push(schema.clone());
        Ok((self.schemas.len() - 1) as u32)
    }

    fn cmp(&self, a: &Entry, b: &Entry) -> Ordering {
        let (ia, ib) = (&self.idx[a.schema as usize], &self.idx[b.schema as usize]);
        for (k, (order, nulls)) in self.specs.iter().enumerate() {
            let o = compare_key(&a.row[ia[k]], &b.row[ib[k]], *order, *nulls);
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    }
}

/// Nulls go where `nulls` says whatever the direction; only the values' order flips.
fn compare_key(a: &Value, b: &Value, order: SortOrder, nulls: NullOrder) -> Ordering {
    match (a.is_null(), b.is_null()) {
        (false, false) => {
            let o = compare_values(a, b);
            if order == SortOrder::Desc {
                o.reverse()
            } else {
                o
            }
        }
        (true, true) => Ordering::Equal,
        (a_null, _) => {
            let null_first = if nulls == NullOrder::First { Ordering::Less } else { Ordering::Greater };
            if a_null {
                null_first
            } else {
                null_first.reverse()
            }
        }
    }
}

/// Sorts held rows; stable, in parallel when there are many.
fn sort_entries(keys: &Keys, entries: &mut [Entry]) {
    if entries.len() > 20_000 {
        entries.par_sort_by(|a, b| keys.cmp(a, b));
    } else {
        entries.sort_by(|a, b| keys.cmp(a, b));
    }
}

/// Where the merge takes rows from: a spilled run, or the rows still in memory.
enum Source {
    Run(SpillReader),
    Memory(std::vec::IntoIter<Entry>),
}

impl Source {
    fn next(&mut self) -> Result<Option<Entry>, NodeError> {
        match self {
            Source::Run(r) => r
                .next_row()
                .map(|o| o.map(|(schema, row)| Entry { schema, row }))
                .map_err(|e| NodeError::msg(format!("cannot read back a sort spill file: {e}"))),
            Source::Memory(it) => Ok(it.next()),
        }
    }
}

/// K-way merge of sorted sources into `emit`, smallest first; on equal keys the source
/// listed first wins, which keeps the sort stable when sources are in input order.
fn merge(keys: &Keys, mut sources: Vec<Source>, mut emit: impl FnMut(Entry) -> Result<(), NodeError>) -> Result<(), NodeError> {
    let mut heads: Vec<Option<Entry>> = Vec::with_capacity(sources.len());
    for s in sources.iter_mut() {
        heads.push(s.next()?);
    }
    let less = |heads: &[Option<Entry>], a: usize, b: usize| {
        let (x, y) = (heads[a].as_ref().unwrap(), heads[b].as_ref().unwrap());
        keys.cmp(x, y).then(a.cmp(&b)) == Ordering::Less
    };
    // A binary min-heap of source indexes, ordered by their head rows.
    let sift_down = |heap: &mut [usize], heads: &[Option<Entry>], mut i: usize| loop {
        let (l, r) = (2 * i + 1, 2 * i + 2);
        let mut m = i;
        if l < heap.len() && less(heads, heap[l], heap[m]) {
            m = l;
        }
        if r < heap.len() && less(heads, heap[r], heap[m]) {
            m = r;
        }
        if m == i {
            break;
        }
        heap.swap(i, m);
        i = m;
    };
    let mut heap: Vec<usize> = (0..sources.len()).filter(|&i| heads[i].is_some()).collect();
    for i in (0..heap.len() / 2).rev() {
        sift_down(&mut heap, &heads, i);
    }
    while let Some(&top) = heap.first() {
        emit(heads[top].take().unwrap())?;
        match sources[top].next()? {
            Some(e) => heads[top] = Some(e),
            None => {
                heap.swap_remove(0);
            }
        }
        sift_down(&mut heap, &heads, 0);
    }
    Ok(())
}

struct Sorter<'a> {
    keys: Keys,
    held: Vec<Entry>,
    held_bytes: usize,
    budget: usize,
    runs: Vec<SpillReader>,
    spill_dir: Option<&'a std::path::Path>,
    spilled_bytes: u64,
    spill_count: u64,
}

impl Sorter<'_> {
    fn spill_error(&self, e: std::io::Error) -> NodeError {
        let place = self.spill_dir.map(|d| d.display().to_string()).unwrap_or_else(|| std::env::temp_dir().display().to_string());
        NodeError::msg(format!(
            "cannot write sort spill file in {place}: {e}; free some disk space, set spill_dir to a folder with room, or raise memory_budget_mb"
        ))
        .with_field("spill_dir")
    }

    fn new_run(&self) -> Result<SpillWriter, NodeError> {
        SpillWriter::create(self.spill_dir, "sluice-sort-").map_err(|e| self.spill_error(e))
    }

    /// Sorts the held rows and writes them out as one run.
    fn spill(&mut self, io: &mut NodeIo) -> Result<(), NodeError> {
        let mut held = std::mem::take(&mut self.held);
        sort_entries(&self.keys, &mut held);
        let mut w = self.new_run()?;
        for e in &held {
            w.write(e.schema, &e.row).map_err(|e| self.spill_error(e))?;
        }
        self.finish_run(io, w)?;
        self.held_bytes = 0;
        self.spill_count += 1;
        if self.runs.len() >= MAX_OPEN_RUNS {
            self.merge_runs(io)?;
        }
        Ok(())
    }

    fn finish_run(&mut self, io: &mut NodeIo, w: SpillWriter) -> Result<(), NodeError> {
        self.spilled_bytes += w.bytes();
        io.add_bytes(w.bytes());
        let r = w.finish().map_err(|e| self.spill_error(e))?;
        self.runs.push(r);
        Ok(())
    }

    /// Merges every run so far into one, keeping their order for stability.
    fn merge_runs(&mut self, io: &mut NodeIo) -> Result<(), NodeError> {
        let sources = std::mem::take(&mut self.runs).into_iter().map(Source::Run).collect();
        let mut w = self.new_run()?;
        let mut n = 0u64;
        merge(&self.keys, sources, |e| {
            n += 1;
            if n % 65_536 == 0 {
                io.check_cancelled()?;
            }
            w.write(e.schema, &e.row).map_err(|err| self.spill_error(err))
        })?;
        self.finish_run(io, w)
    }
}

impl BlockingNode for SortTask {
    fn run(self: Box<Self>, io: &mut NodeIo) -> Result<(), NodeError> {
        let keys = Keys {
            specs: self.config.fields.iter().map(|f| (f.order, f.nulls)).collect(),
            names: self.config.fields.iter().map(|f| f.field.clone()).collect(),
            schemas: Vec::new(),
            idx: Vec::new(),
        };
        let mut s = Sorter {
            keys,
            held: Vec::new(),
            held_bytes: 0,
            budget: ((self.config.memory_budget_mb * 1024.0 * 1024.0) as usize).max(1),
            runs: Vec::new(),
            spill_dir: self.spill_dir.as_deref(),
            spilled_bytes: 0,
            spill_count: 0,
        };
        let mut rows_in = 0u64;
        while let Some(batch) = io.recv("in")? {
            let schema = s.keys.schema_id(&batch.schema)?;
            rows_in += batch.len() as u64;
            for row in batch.rows {
                s.held_bytes += approx_row_bytes(&row) + std::mem::size_of::<Entry>();
                s.held.push(Entry { schema, row });
                if s.held_bytes > s.budget {
                    s.spill(io)?;
                }
            }
        }
        let mut held = std::mem::take(&mut s.held);
        sort_entries(&s.keys, &mut held);
        let mut out = RowSender::new(io, "out");
        if s.runs.is_empty() {
            for e in held {
                out.push(io, &s.keys.schemas[e.schema as usize], e.row)?;
            }
        } else {
            io.log(
                LogLevel::Info,
                format!(
                    "sorted {rows_in} rows with {} spills to disk ({:.1} MB written); raise memory_budget_mb to sort in memory",
                    s.spill_count,
                    s.spilled_bytes as f64 / 1_048_576.0
                ),
            );
            // Runs hold earlier rows than the ones still in memory: memory goes last.
            let mut sources: Vec<Source> = std::mem::take(&mut s.runs).into_iter().map(Source::Run).collect();
            sources.push(Source::Memory(held.into_iter()));
            let keys = &s.keys;
            merge(keys, sources, |e| out.push(io, &keys.schemas[e.schema as usize], e.row))?;
        }
        out.flush(io)
    }
}

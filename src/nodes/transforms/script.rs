//! `script`: a Rhai script per row, for what the fixed nodes cannot say — several steps at
//! once, rows that become several rows, rows sent to named outputs, counters across rows.
//!
//! The script sees the row as the map `row` and the flow's params as the constant map
//! `params`. What it gives back decides what leaves `out`: the row map keeps the row (with
//! the script's changes), `()` drops it, an array of maps gives several rows. A map that
//! leaves a field out keeps the input's value for it. `emit("port", map)` sends one more row
//! to `out` or to a port listed under `outputs`. Each section is compiled once when the node
//! is built; a section that does not compile stops the flow at load time, with its line and
//! column. A failing row (script error, the operation limit, a value that does not fit its
//! field) leaves by `error` with the message and place; what it emitted is discarded.
//!
//! Stateless scripts run on several threads, keeping row order. `init`/`finish` and the
//! `state` map make a script stateful, and then it runs on one thread. Left out on purpose:
//! file, network and process access (the shared engine has none) and `eval`.

use crate::exec::{BlockingNode, LogLevel, NodeError, NodeIo, RowError};
use crate::flow::did_you_mean;
use crate::nodes::transforms::route::port_name_problem;
use crate::nodes::{Category, ConfigProblem, NodeContext, NodeKind, NodeMeta, NodeTask, PortSchemas, PortSpec, Ports, ERROR_PORT};
use crate::script::lint::ScriptText;
use crate::script::parallel::map_in_order;
use crate::script::row_script::{params_map, Emitted};
use crate::script::{OutputShape, RowKeys, RowProgram, ScriptError};
use crate::value::{Batch, Field, Row, Schema, SchemaRef};
use rhai::{Dynamic, Map, Scope};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Runs a Rhai script for each row. The row is the map `row`; give it back to keep it,
/// give `()` to drop it, or an array of maps to emit several rows.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScriptConfig {
    /// The script run for each row. It reads and changes the map `row` (`row.phone`,
    /// `row["first name"]`; a null field is `()`), reads the flow's params from `params`,
    /// and ends with what leaves `out`: `row` keeps the row, `()` drops it (so
    /// `if row.priority == "urgent" { row }` keeps urgent rows only), an array of maps gives
    /// several rows. Mind the last line: `row.x = 1;` alone gives `()` and drops the row —
    /// end with `row`. `emit("port", map)` sends one more row to `out` or to a port under
    /// `outputs`. With `init`/`finish` (or `parallel: false`) the map `state` keeps values
    /// from row to row. In a flow file `${…}` means a flow param, so write Rhai's string
    /// interpolation as `$${…}`, and read params from `params`, not as `${name}`.
    #[schemars(extend("x-editor" = "rhai-script"))]
    pub script: String,
    /// Runs once before the first row, e.g. `state.seen = 0;`. Its value is not used; it may
    /// `emit` rows. Its `let` variables end with it: keep what the rows need in `state`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-editor" = "rhai-script"))]
    pub init: Option<String>,
    /// Runs once after the last row, with `state`. What it gives (a map, an array of maps, or
    /// `()`) leaves by `out` after the rows, e.g. `#{total: state.seen}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-editor" = "rhai-script"))]
    pub finish: Option<String>,
    /// More outputs the script can send rows to with `emit("name", map)`; each becomes an
    /// output port of the node (letters, digits and `_`).
    #[serde(default)]
    pub outputs: Vec<String>,
    /// Fields the script sets, with their types: a field of the input changes type, a new
    /// one is added at the end. Values are converted to these types. Empty: the output
    /// has the input's fields.
    #[serde(default)]
    pub fields: Vec<Field>,
    /// Whether the output starts with the input's fields (then `fields` adds to them). When
    /// false, the output has exactly the fields listed under `fields`.
    #[serde(default = "yes")]
    pub keep_input_fields: bool,
    /// Run rows on several threads (the default when there is no `init` or `finish`). Row
    /// order is kept either way. Not possible with `init`, `finish` or `state`, which share
    /// values between rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel: Option<bool>,
}

fn yes() -> bool {
    true
}

/// The name of the port a script's own result leaves by.
const OUT: &str = "out";

impl ScriptConfig {
    fn stateful_sections(&self) -> bool {
        self.init.as_deref().is_some_and(|s| !s.trim().is_empty()) || self.finish.as_deref().is_some_and(|s| !s.trim().is_empty())
    }

    /// Whether rows run on several threads.
    fn runs_parallel(&self) -> bool {
        self.parallel.unwrap_or(true) && !self.stateful_sections()
    }

    /// The script's sections that are given: (config field, source).
    fn sections(&self) -> Vec<(&'static str, &str)> {
        let mut s = vec![("script", self.script.as_str())];
        s.extend(self.init.as_deref().filter(|t| !t.trim().is_empty()).map(|t| ("init", t)));
        s.extend(self.finish.as_deref().filter(|t| !t.trim().is_empty()).map(|t| ("finish", t)));
        s
    }

    /// `out`, then the extra outputs.
    fn port_names(&self) -> Vec<&str> {
        std::iter::once(OUT).chain(self.outputs.iter().map(String::as_str)).collect()
    }

    /// The output fields, when they can be known: the declared fields alone, or the input's
    /// with the declared ones laid over them.
    fn output_schema(&self, input: Option<&Schema>) -> Option<SchemaRef> {
        if !self.keep_input_fields {
            return Some(Arc::new(Schema::new(self.fields.clone())));
        }
        let mut fields = input?.fields().to_vec();
        for f in &self.fields {
            match fields.iter_mut().find(|g| g.name == f.name) {
                Some(g) => g.data_type = f.data_type,
                None => fields.push(f.clone()),
            }
        }
        Some(Arc::new(Schema::new(fields)))
    }
}

fn compile_problem(field: &str, e: &ScriptError) -> ConfigProblem {
    let what = if field == "script" { "the script" } else { field };
    ConfigProblem::new(field, format!("{what} does not compile: {e}"))
}

pub struct Script;

impl NodeKind for Script {
    type Config = ScriptConfig;

    fn meta(&self) -> NodeMeta {
        NodeMeta {
            kind: "script",
            category: Category::Transform,
            title: "Script",
            description: "Runs a Rhai script for each row: change, drop or split rows, send them to named outputs, keep counters across rows.",
            keywords: &["rhai", "code", "custom", "program", "logic", "emit", "state"],
            icon: "code",
        }
    }

    fn static_ports(&self) -> Ports {
        Ports {
            inputs: vec![PortSpec::input("in", "rows to run the script on")],
            outputs: vec![
                PortSpec::output(OUT, "what the script gives back for each row, then what `finish` gives"),
                PortSpec::output(ERROR_PORT, "rows where the script failed, with the message and its line and column"),
            ],
        }
    }

    fn ports(&self, config: &Self::Config) -> Ports {
        let mut ports = self.static_ports();
        let extra = config.outputs.iter().map(|o| PortSpec::output(o, &format!("rows the script sends with emit(\"{o}\", …)")));
        ports.outputs.splice(1..1, extra);
        ports
    }

    fn check(&self, config: &Self::Config, _ctx: &NodeContext, inputs: &PortSchemas) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        for (field, source) in config.sections() {
            if let Err(e) = RowProgram::compile(source) {
                problems.push(compile_problem(field, &e).hint("see the Rhai book (rhai.rs/book) for the syntax"));
            }
        }
        for (i, o) in config.outputs.iter().enumerate() {
            if let Some(p) = port_name_problem(o, &[OUT, ERROR_PORT]) {
                problems.push(ConfigProblem::new(format!("outputs/{i}"), p));
            } else if config.outputs[..i].contains(o) {
                problems.push(ConfigProblem::new(format!("outputs/{i}"), format!("the output '{o}' is listed twice")));
            }
        }
        for (i, f) in config.fields.iter().enumerate() {
            if f.name.trim().is_empty() {
                problems.push(ConfigProblem::new(format!("fields/{i}/name"), "the field name is empty"));
            } else if config.fields[..i].iter().any(|g| g.name == f.name) {
                problems.push(ConfigProblem::new(format!("fields/{i}/name"), format!("the field '{}' is listed twice", f.name)));
            }
        }
        if !config.keep_input_fields && config.fields.is_empty() {
            problems.push(
                ConfigProblem::new("fields", "keep_input_fields is false and no field is listed, so rows would have no fields")
                    .hint("list the output fields with their types, or set keep_input_fields to true"),
            );
        }
        if config.parallel == Some(true) && config.stateful_sections() {
            problems.push(
                ConfigProblem::new("parallel", "a script with init or finish shares `state` between rows, so it cannot run on several threads")
                    .hint("remove parallel (it then runs on one thread), or drop init and finish"),
            );
        }
        let parallel = config.runs_parallel();
        let ports = config.port_names();
        for (field, source) in config.sections() {
            let text = ScriptText::new(source);
            // A script's own `let state` is a local variable, not the shared map.
            if parallel && !text.declares("state") {
                if let Some(m) = text.variable("state") {
                    problems.push(
                        ConfigProblem::new(field, format!("the script uses `state`{}, which rows running on several threads cannot share", m.place()))
                            .hint("set parallel to false, or add an init section (e.g. state.count = 0;)"),
                    );
                }
            }
            for m in text.emit_ports() {
                if !ports.contains(&m.name.as_str()) {
                    let hint = match did_you_mean(&m.name, ports.iter().copied()) {
                        Some(s) => format!("did you mean '{s}'? Outputs: {}", ports.join(", ")),
                        None => format!("add '{}' under outputs; outputs now: {}", m.name, ports.join(", ")),
                    };
                    problems.push(ConfigProblem::new(field, format!("emit(\"{}\", …){}: the node has no output '{}'", m.name, m.place(), m.name)).hint(hint));
                }
            }
        }
        // `row.x` must be an input field or a declared one; a misspelt name would read ()
        // on every row without a word.
        if let Some(input) = inputs.get("in") {
            let known: Vec<&str> = input.names().chain(config.fields.iter().map(|f| f.name.as_str())).collect();
            for m in ScriptText::new(&config.script).row_fields() {
                if !known.contains(&m.name.as_str()) {
                    let hint = match did_you_mean(&m.name, known.iter().copied()) {
                        Some(s) => format!("did you mean '{s}'? A new field must be listed under fields, with its type"),
                        None => "a new field must be listed under fields, with its type".to_string(),
                    };
                    problems.push(
                        ConfigProblem::new("script", format!("the script uses row.{}{}, but there is no field '{}'", m.name, m.place(), m.name)).hint(hint),
                    );
                }
            }
        }
        problems
    }

    fn output_schemas(&self, config: &Self::Config, _ctx: &NodeContext, inputs: &PortSchemas) -> Result<PortSchemas, ConfigProblem> {
        let Some(out) = config.output_schema(inputs.get("in").map(|s| &**s)) else { return Ok(PortSchemas::new()) };
        Ok(config.port_names().into_iter().map(|p| (p.to_string(), out.clone())).collect())
    }

    fn build(&self, config: Self::Config, ctx: &NodeContext) -> Result<NodeTask, ConfigProblem> {
        let compile = |field: &str, source: Option<&str>| -> Result<Option<RowProgram>, ConfigProblem> {
            match source.filter(|s| !s.trim().is_empty()) {
                Some(s) => RowProgram::compile(s).map(Some).map_err(|e| compile_problem(field, &e)),
                None => Ok(None),
            }
        };
        let row = compile("script", Some(&config.script))?.expect("the script is given");
        let init = compile("init", config.init.as_deref())?;
        let finish = compile("finish", config.finish.as_deref())?;
        let usage = ScriptText::new(&config.script).row_usage(true);
        Ok(NodeTask::Blocking(Box::new(ScriptTask {
            row,
            bind: (!usage.whole).then_some(usage.fields),
            init,
            finish,
            parallel: config.runs_parallel(),
            ports: config.port_names().into_iter().map(str::to_string).collect(),
            params: params_map(&ctx.params),
            config,
        })))
    }
}

struct ScriptTask {
    row: RowProgram,
    /// The fields to put in the `row` map, when the script cannot tell the map lacks the
    /// others (`None`: all of them). Converting only what a script reads is most of the
    /// saving on wide rows.
    bind: Option<Vec<String>>,
    init: Option<RowProgram>,
    finish: Option<RowProgram>,
    parallel: bool,
    /// `out`, then the extra outputs.
    ports: Vec<String>,
    params: Dynamic,
    config: ScriptConfig,
}

/// Conversions for one input schema.
struct Shape {
    input: SchemaRef,
    keys: RowKeys,
    out: OutputShape,
}

/// What one row gave.
#[derive(Default)]
struct RowResult {
    /// Rows for `out`.
    out: Vec<Row>,
    /// Rows sent with `emit`: (port index, row).
    emitted: Vec<(usize, Row)>,
    /// Boxed: results are moved around per row, and errors are rare.
    error: Option<Box<RowError>>,
    dropped: bool,
}

/// Rows waiting to leave, per port (index into `ScriptTask::ports`).
struct Outgoing(Vec<Vec<Row>>);

impl ScriptTask {
    /// A scope with `params`, and `state` when rows run one after another. Rows start at
    /// its length.
    fn new_scope(&self) -> Scope<'static> {
        let mut scope = Scope::new();
        scope.push_constant_dynamic("params", self.params.clone());
        if !self.parallel {
            scope.push_dynamic("state", Dynamic::from_map(Map::new()));
        }
        scope
    }

    fn shape(&self, input: &SchemaRef) -> Shape {
        let out = self.config.output_schema(Some(input)).expect("known with the input");
        Shape { input: input.clone(), keys: RowKeys::select(input, self.bind.as_deref()), out: OutputShape::new(out, Some(input.clone())) }
    }

    /// Rows a script sent with `emit`, as (port index, row).
    fn emitted_rows(&self, out: &OutputShape, emitted: Vec<Emitted>, base: Option<&Row>) -> Result<Vec<(usize, Row)>, String> {
        emitted
            .into_iter()
            .map(|(port, map)| {
                let Some(p) = self.ports.iter().position(|n| *n == *port) else {
                    return Err(format!("emit(\"{port}\", …): the node has no output '{port}' (outputs: {})", self.ports.join(", ")));
                };
                out.row_from_map(map, base).map(|r| (p, r)).map_err(|e| format!("emit(\"{port}\", …): {e}"))
            })
            .collect()
    }

    fn run_row(&self, shape: &Shape, scope: &mut Scope<'static>, base: usize, mut row: Row) -> RowResult {
        scope.rewind(base);
        scope.push_dynamic("row", Dynamic::from_map(shape.keys.to_map(&row)));
        let fail = |message: String, row: Row| RowResult { error: Some(Box::new(RowError::new(message, row).field("script"))), ..Default::default() };
        let (value, emitted) = match self.row.run(scope) {
            Ok(r) => r,
            Err(e) => return fail(format!("script: {e}"), row),
        };
        // Let the script's variables go now rather than at the next row.
        scope.rewind(base);
        let emitted = if emitted.is_empty() {
            Vec::new()
        } else {
            match self.emitted_rows(&shape.out, emitted, Some(&row)) {
                Ok(e) => e,
                Err(e) => return fail(format!("script: {e}"), row),
            }
        };
        let dropped = value.is_unit();
        // The usual case, one map back: the fields it leaves out move over from the input
        // row instead of being copied.
        let out = if value.is_map() {
            shape.out.row_from_map_taking(value.cast::<Map>(), &mut row).map(|r| vec![r])
        } else {
            shape.out.rows_from_value(value, Some(&row))
        };
        match out {
            Ok(out) => RowResult { out, emitted, error: None, dropped },
            Err(e) => fail(format!("script: {e}"), row),
        }
    }

    /// Runs `init` or `finish` (on the node's thread, with `state`) and puts the rows it
    /// emitted, and for `finish` the rows it gave, into `outgoing`. A failure stops the
    /// node: there is no row to blame.
    fn run_section(&self, field: &str, program: &RowProgram, scope: &mut Scope<'static>, out: &OutputShape, outgoing: &mut Outgoing) -> Result<(), NodeError> {
        let fail = |m: String| NodeError::msg(format!("{field}: {m}")).with_field(field);
        let (value, emitted) = program.run(scope).map_err(|e| fail(e.to_string()))?;
        for (p, r) in self.emitted_rows(out, emitted, None).map_err(fail)? {
            outgoing.0[p].push(r);
        }
        if field == "finish" {
            outgoing.0[0].extend(out.rows_from_value(value, None).map_err(fail)?);
        }
        Ok(())
    }

    fn send(&self, io: &mut NodeIo, schema: &SchemaRef, outgoing: Outgoing) -> Result<(), NodeError> {
        for (p, rows) in outgoing.0.into_iter().enumerate() {
            if !rows.is_empty() {
                io.send(&self.ports[p], Batch::new(schema.clone(), rows))?;
            }
        }
        Ok(())
    }

    fn outgoing(&self) -> Outgoing {
        Outgoing(vec![Vec::new(); self.ports.len()])
    }
}

impl BlockingNode for ScriptTask {
    fn run(self: Box<Self>, io: &mut NodeIo) -> Result<(), NodeError> {
        let mut scope = self.new_scope();
        let base = scope.len();
        let mut shape: Option<Shape> = None;
        let mut init_done = self.init.is_none();
        let mut dropped = 0u64;
        while let Some(batch) = io.recv("in")? {
            if !shape.as_ref().is_some_and(|s| Arc::ptr_eq(&s.input, &batch.schema)) {
                shape = Some(self.shape(&batch.schema));
            }
            let sh = shape.as_ref().expect("made above");
            if !init_done {
                init_done = true;
                let mut outgoing = self.outgoing();
                let init = self.init.as_ref().expect("init is given");
                self.run_section("init", init, &mut scope, &sh.out, &mut outgoing)?;
                scope.rewind(base);
                self.send(io, &sh.out.schema, outgoing)?;
            }
            let results = map_in_order(batch.rows, self.parallel, &mut scope, || self.new_scope(), |scope, row| self.run_row(sh, scope, base, row));
            let mut outgoing = self.outgoing();
            let mut errors = Vec::new();
            for r in results {
                if let Some(e) = r.error {
                    errors.push(*e);
                    continue;
                }
                dropped += r.dropped as u64;
                outgoing.0[0].extend(r.out);
                for (p, row) in r.emitted {
                    outgoing.0[p].push(row);
                }
            }
            self.send(io, &sh.out.schema, outgoing)?;
            io.send_errors(&sh.input, errors)?;
        }
        if !init_done || self.finish.is_some() {
            // When no row came at all, the output has the declared fields only.
            let fallback;
            let out = match &shape {
                Some(s) => &s.out,
                None => {
                    fallback = OutputShape::new(Arc::new(Schema::new(self.config.fields.clone())), None);
                    &fallback
                }
            };
            let mut outgoing = self.outgoing();
            scope.rewind(base);
            if !init_done {
                self.run_section("init", self.init.as_ref().expect("init is given"), &mut scope, out, &mut outgoing)?;
                scope.rewind(base);
            }
            if let Some(finish) = &self.finish {
                self.run_section("finish", finish, &mut scope, out, &mut outgoing)?;
            }
            self.send(io, &out.schema, outgoing)?;
        }
        if dropped > 0 {
            io.log(LogLevel::Info, format!("{dropped} rows dropped: the script gave () for them"));
        }
        Ok(())
    }
}

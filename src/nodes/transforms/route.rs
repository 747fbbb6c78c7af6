//! `route`: sends each row to the output named by the first rule (or every rule) whose
//! condition it meets — "if priority is urgent, send to the urgent group". Rows meeting no
//! rule leave by `default`.
//!
//! The output ports are the rule names, so the planner checks edges against them like any
//! other port (a misspelt port gets a "did you mean"). Conditions are evaluated on several
//! threads; rows keep their input order on every port. Left out: rules that transform rows
//! (put a `compute` after the port) and routing on state across rows.

use crate::exec::{BlockingNode, LogLevel, NodeError, NodeIo, RowError};
use crate::flow::did_you_mean;
use crate::nodes::{Category, ConfigProblem, NodeContext, NodeKind, NodeMeta, NodeTask, PortSchemas, PortSpec, Ports, ERROR_PORT};
use crate::script::lint::ScriptText;
use crate::script::parallel::map_in_order;
use crate::script::CompiledExpr;
use crate::value::{Batch, Row, SchemaRef};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Name of the output for rows that meet no rule.
pub const DEFAULT_PORT: &str = "default";

/// Sends rows to named outputs by conditions tested in order. Rows meeting no rule leave by
/// `default`; rows where a condition fails leave by `error`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// The rules, tested in order. Each rule is an output of the node, named after it.
    pub rules: Vec<RouteRule>,
    /// `first_match`: a row goes to the first rule it meets only. `all_matches`: a row goes
    /// to every rule it meets (one copy each).
    #[serde(default)]
    pub mode: RouteMode,
}

/// One rule: an output port and the condition that sends a row there.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteRule {
    /// Name of the output port (letters, digits and `_`), e.g. `urgent`. Not `default` or
    /// `error`, which every route node has.
    pub name: String,
    /// A Rhai condition over the row's fields, e.g. `priority == "urgent"`. A null field is
    /// `()`; a condition giving `()` counts as false.
    #[schemars(extend("x-editor" = "rhai-expression"))]
    pub condition: String,
}

/// How many rules a row may go to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RouteMode {
    /// The first rule the row meets.
    #[default]
    FirstMatch,
    /// Every rule the row meets.
    AllMatches,
}

/// Why `name` cannot name an output port of a node whose fixed ports are `reserved`, if it
/// cannot.
pub(crate) fn port_name_problem(name: &str, reserved: &[&str]) -> Option<String> {
    if name.is_empty() {
        Some("the name is empty".into())
    } else if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        Some(format!("'{name}' is not a valid port name: use letters, digits and _ only"))
    } else if reserved.contains(&name) {
        Some(format!("'{name}' is an output every node of this kind has already"))
    } else {
        None
    }
}

pub struct Route;

impl NodeKind for Route {
    type Config = RouteConfig;

    fn meta(&self) -> NodeMeta {
        NodeMeta {
            kind: "route",
            category: Category::Transform,
            title: "Route rows",
            description: "Sends each row to the output of the first (or every) rule it meets, e.g. urgent tickets to the urgent group; the rest leave by `default`.",
            keywords: &["switch", "case", "split", "branch", "if", "rules", "dispatch", "condition"],
            icon: "route",
        }
    }

    fn static_ports(&self) -> Ports {
        Ports {
            inputs: vec![PortSpec::input("in", "rows to route")],
            outputs: vec![
                PortSpec::output(DEFAULT_PORT, "rows that meet no rule (each rule adds an output named after it)"),
                PortSpec::output(ERROR_PORT, "rows where a condition failed, with the error"),
            ],
        }
    }

    fn ports(&self, config: &Self::Config) -> Ports {
        let mut outputs: Vec<PortSpec> =
            config.rules.iter().map(|r| PortSpec::output(&r.name, &format!("rows where {}", r.condition))).collect();
        outputs.extend(self.static_ports().outputs);
        Ports { inputs: self.static_ports().inputs, outputs }
    }

    fn check(&self, config: &Self::Config, _ctx: &NodeContext, inputs: &PortSchemas) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if config.rules.is_empty() {
            problems.push(ConfigProblem::new("rules", "there are no rules, so every row would go to `default`").hint("add a rule: a name and a condition"));
        }
        let names: Option<Vec<&str>> = inputs.get("in").map(|s| s.names().collect());
        for (i, rule) in config.rules.iter().enumerate() {
            if let Some(p) = port_name_problem(&rule.name, &[DEFAULT_PORT, ERROR_PORT]) {
                problems.push(ConfigProblem::new(format!("rules/{i}/name"), p).hint("name the rule after where its rows go, e.g. urgent"));
            } else if let Some(first) = config.rules[..i].iter().position(|r| r.name == rule.name) {
                problems.push(
                    ConfigProblem::new(format!("rules/{i}/name"), format!("rules {} and {} are both named '{}'", first + 1, i + 1, rule.name))
                        .hint("each rule is an output port; give each its own name, or join the conditions with ||"),
                );
            }
            if let Err(e) = CompiledExpr::check(&rule.condition) {
                problems.push(
                    ConfigProblem::new(format!("rules/{i}/condition"), format!("the condition of rule '{}' does not compile: {e}", rule.name))
                        .hint("write a Rhai expression that gives true or false, e.g. priority == \"urgent\""),
                );
            }
            if let Some(names) = &names {
                for m in ScriptText::new(&rule.condition).row_fields() {
                    if !names.contains(&m.name.as_str()) {
                        let mut p = ConfigProblem::new(
                            format!("rules/{i}/condition"),
                            format!("the condition reads row.{}, but the input has no field '{}'{}", m.name, m.name, m.place()),
                        );
                        if let Some(s) = did_you_mean(&m.name, names.iter().copied()) {
                            p = p.hint(format!("did you mean '{s}'?"));
                        }
                        problems.push(p);
                    }
                }
            }
        }
        problems
    }

    fn output_schemas(&self, config: &Self::Config, _ctx: &NodeContext, inputs: &PortSchemas) -> Result<PortSchemas, ConfigProblem> {
        let Some(s) = inputs.get("in") else { return Ok(PortSchemas::new()) };
        Ok(config.rules.iter().map(|r| r.name.as_str()).chain([DEFAULT_PORT]).map(|p| (p.to_string(), s.clone())).collect())
    }

    fn build(&self, config: Self::Config, _ctx: &NodeContext) -> Result<NodeTask, ConfigProblem> {
        for (i, r) in config.rules.iter().enumerate() {
            CompiledExpr::check(&r.condition).map_err(|e| ConfigProblem::new(format!("rules/{i}/condition"), e.to_string()))?;
        }
        Ok(NodeTask::Blocking(Box::new(RouteTask { config })))
    }
}

struct RouteTask {
    config: RouteConfig,
}

/// The rules a row met: indexes into the rules, in rule order (at most one in first-match
/// mode); empty means `default`.
type Matched = Vec<usize>;

impl RouteTask {
    fn compile(&self, schema: &SchemaRef, before: Option<&[CompiledExpr]>) -> Result<Vec<CompiledExpr>, NodeError> {
        self.config
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| match before {
                Some(b) => Ok(b[i].rebind(schema)),
                None => CompiledExpr::compile(&r.condition, schema)
                    .map_err(|e| NodeError::msg(format!("the condition of rule '{}' does not compile: {e}", r.name)).with_field(format!("rules/{i}/condition"))),
            })
            .collect()
    }

    fn match_row(&self, exprs: &[CompiledExpr], schema: &SchemaRef, scope: &mut rhai::Scope<'static>, row: Row) -> Result<(Row, Matched), RowError> {
        let mut matched = Vec::new();
        for (i, e) in exprs.iter().enumerate() {
            match e.eval_bool(schema, &row, scope) {
                Ok(true) => {
                    matched.push(i);
                    if self.config.mode == RouteMode::FirstMatch {
                        break;
                    }
                }
                Ok(false) => {}
                Err(err) => {
                    let msg = format!("rule '{}': {err}", self.config.rules[i].name);
                    return Err(RowError::new(msg, row).field(format!("rules/{i}/condition")));
                }
            }
        }
        Ok((row, matched))
    }
}

impl BlockingNode for RouteTask {
    fn run(self: Box<Self>, io: &mut NodeIo) -> Result<(), NodeError> {
        let rules = self.config.rules.len();
        // Port per rule, then `default`; rows for a port nobody listens to are not copied.
        let ports: Vec<&str> = self.config.rules.iter().map(|r| r.name.as_str()).chain([DEFAULT_PORT]).collect();
        let wired: Vec<bool> = ports.iter().map(|p| io.is_output_open(p)).collect();
        let mut unheard = vec![0u64; ports.len()];
        let mut compiled: Option<(SchemaRef, Vec<CompiledExpr>)> = None;
        let mut scope = rhai::Scope::new();
        while let Some(batch) = io.recv("in")? {
            if !compiled.as_ref().is_some_and(|(s, _)| Arc::ptr_eq(s, &batch.schema)) {
                let exprs = self.compile(&batch.schema, compiled.as_ref().map(|(_, e)| e.as_slice()))?;
                compiled = Some((batch.schema.clone(), exprs));
            }
            let (schema, exprs) = compiled.as_ref().expect("compiled above");
            let results = map_in_order(batch.rows, true, &mut scope, rhai::Scope::new, |scope, row| self.match_row(exprs, schema, scope, row));
            let mut out: Vec<Vec<Row>> = vec![Vec::new(); ports.len()];
            let mut errors = Vec::new();
            for r in results {
                let (row, matched) = match r {
                    Ok(m) => m,
                    Err(e) => {
                        errors.push(e);
                        continue;
                    }
                };
                if matched.is_empty() {
                    if wired[rules] {
                        out[rules].push(row);
                    } else {
                        unheard[rules] += 1;
                    }
                    continue;
                }
                let mut row = Some(row);
                let last = matched.len() - 1;
                for (k, &i) in matched.iter().enumerate() {
                    if !wired[i] {
                        unheard[i] += 1;
                    } else if k == last {
                        out[i].push(row.take().expect("moved once"));
                    } else {
                        out[i].push(row.clone().expect("still here"));
                    }
                }
            }
            for (i, rows) in out.into_iter().enumerate() {
                if wired[i] {
                    io.send(ports[i], Batch::new(schema.clone(), rows))?;
                }
            }
            io.send_errors(schema, errors)?;
        }
        // Rows that met a rule whose output has no edge went nowhere, by the flow's design;
        // say how many, so it is not a silent loss.
        for (i, n) in unheard.iter().enumerate().filter(|(_, n)| **n > 0) {
            io.log(LogLevel::Info, format!("{n} rows went to '{}', which is not connected", ports[i]));
        }
        Ok(())
    }
}

//! Load → validate → plan. Checks a whole flow at once and reports *every* problem, each
//! naming its node (and config field) and what to do; a flow with no errors becomes a
//! [`Plan`]: nodes in topological order with their substituted configs, ports and
//! design-time schemas, ready for the executor.
//!
//! The graph is a petgraph `DiGraph` of node indexes; cycles are found as strongly
//! connected components so the message can name every node in the loop.

mod config_check;

use crate::exec::error_schema;
use crate::flow::{did_you_mean, substitute_config, Diagnostic, Diagnostics, EdgeSpec, ErrorPolicy, FlowFile, FlowSettings, ParamValues};
use crate::nodes::{registry, Category, NodeContext, PortSchemas, Ports, ERROR_PORT};
use crate::nodes::DynNodeKind;
use petgraph::graph::{DiGraph, NodeIndex};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

/// A node ready to build.
pub struct PlannedNode {
    pub id: String,
    pub kind_name: String,
    pub kind: &'static dyn DynNodeKind,
    pub category: Category,
    pub title: String,
    /// Config with `${...}` substituted.
    pub config: serde_json::Value,
    pub ports: Ports,
    pub error_policy: ErrorPolicy,
    pub ctx: NodeContext,
    /// Fields arriving at each input port, where known at design time.
    pub input_schemas: PortSchemas,
    /// Fields leaving each output port, where known at design time.
    pub output_schemas: PortSchemas,
}

/// A checked flow, nodes in topological order.
pub struct Plan {
    pub flow_name: String,
    pub settings: FlowSettings,
    pub params: ParamValues,
    pub nodes: Vec<PlannedNode>,
    pub edges: Vec<EdgeSpec>,
    /// Warnings found while planning (errors prevent a plan).
    pub warnings: Diagnostics,
}

impl Plan {
    pub fn node(&self, id: &str) -> Option<&PlannedNode> {
        self.nodes.iter().find(|n| n.id == id)
    }

    /// The part of the plan that feeds `node_id`: the node and everything upstream of it.
    /// Used by preview, which must not run sinks or unrelated branches.
    pub fn upstream_of(mut self, node_id: &str) -> Plan {
        let mut keep: HashSet<String> = HashSet::from([node_id.to_string()]);
        // Nodes are in topological order, so one backwards sweep finds every ancestor.
        for n in self.nodes.iter().rev() {
            if keep.contains(&n.id) {
                for e in self.edges.iter().filter(|e| e.to == n.id) {
                    keep.insert(e.from.clone());
                }
            }
        }
        self.nodes.retain(|n| keep.contains(&n.id));
        self.edges.retain(|e| keep.contains(&e.from) && keep.contains(&e.to));
        self
    }
}

/// What the designer needs after a check: every problem, and the fields per port.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FlowCheck {
    pub diagnostics: Diagnostics,
    /// Node id → port name → fields.
    pub schemas: BTreeMap<String, BTreeMap<String, crate::value::Schema>>,
}

/// Checks a flow and plans it. `given` are run-time param values (text).
pub fn plan_flow(flow: &FlowFile, base_dir: &Path, given: &BTreeMap<String, String>) -> Result<Plan, Diagnostics> {
    let (plan, diags) = check_and_plan(flow, base_dir, given);
    match plan {
        Some(p) if !diags.has_errors() => Ok(Plan { warnings: diags, ..p }),
        _ => Err(diags),
    }
}

/// Checks a flow without building anything, returning all diagnostics and the design-time
/// schemas it could work out.
pub fn check_flow(flow: &FlowFile, base_dir: &Path, given: &BTreeMap<String, String>) -> FlowCheck {
    let (plan, diagnostics) = check_and_plan(flow, base_dir, given);
    let mut schemas = BTreeMap::new();
    if let Some(plan) = plan {
        for n in &plan.nodes {
            let ports: BTreeMap<String, crate::value::Schema> =
                n.output_schemas.iter().map(|(k, v)| (k.clone(), (**v).clone())).collect();
            schemas.insert(n.id.clone(), ports);
        }
    }
    FlowCheck { diagnostics, schemas }
}

fn is_valid_id(id: &str) -> bool {
    !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// The planner proper. Returns a plan whenever the graph itself is sound (so the designer
/// still gets schemas while some configs are wrong), plus every diagnostic.
fn check_and_plan(flow: &FlowFile, base_dir: &Path, given: &BTreeMap<String, String>) -> (Option<Plan>, Diagnostics) {
    let mut diags = Diagnostics::default();
    let reg = registry();

    let (params, param_diags) = crate::flow::resolve_params_lenient(&flow.params, given);
    diags.extend(param_diags.0);

    // Ids and kinds.
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut graph_ok = true;
    for (i, n) in flow.nodes.iter().enumerate() {
        if !is_valid_id(&n.id) {
            diags.push(
                Diagnostic::error("invalid_id", format!("node id {:?} is not a valid id", n.id))
                    .node(&n.id)
                    .field(format!("nodes/{i}/id"))
                    .hint("use letters, digits, '_' and '-' only, e.g. read_tickets"),
            );
        }
        if let Some(first) = seen.insert(&n.id, i) {
            graph_ok = false;
            diags.push(
                Diagnostic::error("duplicate_id", format!("node id '{}' is used by nodes {} and {}", n.id, first + 1, i + 1))
                    .node(&n.id)
                    .hint("give each node its own id; edges refer to nodes by id"),
            );
        }
        if reg.get(&n.kind).is_none() {
            let mut d = Diagnostic::error("unknown_kind", format!("unknown node kind '{}'", n.kind)).node(&n.id).field("kind");
            d = match did_you_mean(&n.kind, reg.names()) {
                Some(s) => d.hint(format!("did you mean '{s}'? `sluice nodes` lists every kind")),
                None => d.hint("`sluice nodes` lists every kind"),
            };
            diags.push(d);
        }
    }

    // Configs: substitution, schema, typed parse; ports come from the typed config.
    let mut node_ports: Vec<Option<Ports>> = Vec::new();
    let mut node_configs: Vec<serde_json::Value> = Vec::new();
    // Nodes whose config still holds `${…}` that could not be resolved: their kind's own
    // checks would judge the placeholder text (a URL "${base}/api" is not a URL) and bury
    // the one real problem — the missing param or variable — under false ones.
    let mut unresolved: Vec<bool> = Vec::new();
    for n in &flow.nodes {
        let config = match substitute_config(&n.config, &params) {
            Ok(c) => {
                unresolved.push(false);
                c
            }
            Err(errs) => {
                diags.extend(errs.into_iter().map(|d| d.node(&n.id)));
                unresolved.push(true);
                n.config.clone()
            }
        };
        let ports = match reg.get(&n.kind) {
            Some(kind) => {
                diags.extend(config_check::check_secrets(kind, &n.kind, &n.config).into_iter().map(|d| d.node(&n.id)));
                let problems = config_check::check_config(kind, &n.kind, &config);
                let ok = problems.is_empty();
                diags.extend(problems.into_iter().map(|d| d.node(&n.id)));
                if ok {
                    match kind.ports(&config) {
                        Ok(p) => Some(p),
                        Err(p) => {
                            diags.push(Diagnostic::error("invalid_config", p.message).node(&n.id).field(p.field));
                            None
                        }
                    }
                } else {
                    None
                }
            }
            None => None,
        };
        node_configs.push(config);
        node_ports.push(ports);
    }

    // Edges.
    let mut graph: DiGraph<usize, ()> = DiGraph::new();
    let idx: Vec<NodeIndex> = (0..flow.nodes.len()).map(|i| graph.add_node(i)).collect();
    let mut incoming: HashMap<(usize, &str), usize> = HashMap::new();
    let mut outgoing: HashSet<(usize, &str)> = HashSet::new();
    let mut seen_edges = HashSet::new();
    for (ei, e) in flow.edges.iter().enumerate() {
        let from = seen.get(e.from.as_str()).copied();
        let to = seen.get(e.to.as_str()).copied();
        for (end, id) in [("from", &e.from), ("to", &e.to)] {
            if !seen.contains_key(id.as_str()) {
                graph_ok = false;
                let mut d = Diagnostic::error("missing_node", format!("edge {} refers to node '{id}', which does not exist", ei + 1))
                    .field(format!("edges/{ei}/{end}"));
                if let Some(s) = did_you_mean(id, seen.keys().copied()) {
                    d = d.hint(format!("did you mean '{s}'?"));
                }
                diags.push(d);
            }
        }
        let (Some(from), Some(to)) = (from, to) else { continue };
        if !seen_edges.insert((from, e.from_port.as_str(), to, e.to_port.as_str())) {
            diags.push(Diagnostic::warning("duplicate_edge", format!("edge {} repeats an earlier edge; rows would be sent twice", ei + 1))
                .node(&e.to)
                .field(format!("edges/{ei}")));
            continue;
        }
        if let Some(ports) = &node_ports[from] {
            if ports.output(&e.from_port).is_none() {
                graph_ok = false;
                let names: Vec<&str> = ports.outputs.iter().map(|p| p.name.as_str()).collect();
                diags.push(
                    Diagnostic::error("missing_port", format!("node '{}' has no output port '{}'", e.from, e.from_port))
                        .node(&e.from)
                        .field(format!("edges/{ei}/from_port"))
                        .hint(port_hint(&e.from_port, &names)),
                );
            }
        }
        if let Some(ports) = &node_ports[to] {
            match ports.input(&e.to_port) {
                None => {
                    graph_ok = false;
                    let names: Vec<&str> = ports.inputs.iter().map(|p| p.name.as_str()).collect();
                    let msg = if names.is_empty() {
                        format!("node '{}' is a source and takes no input", e.to)
                    } else {
                        format!("node '{}' has no input port '{}'", e.to, e.to_port)
                    };
                    diags.push(Diagnostic::error("missing_port", msg).node(&e.to).field(format!("edges/{ei}/to_port")).hint(port_hint(&e.to_port, &names)));
                }
                Some(p) => {
                    let count = incoming.entry((to, p.name.as_str())).or_default();
                    *count += 1;
                    if *count > 1 && !p.multiple {
                        diags.push(
                            Diagnostic::error("too_many_inputs", format!("input '{}' of node '{}' takes one edge only", p.name, e.to))
                                .node(&e.to)
                                .field(format!("edges/{ei}"))
                                .hint("put a union node in front to merge several streams"),
                        );
                    }
                }
            }
        }
        outgoing.insert((from, e.from_port.as_str()));
        graph.add_edge(idx[from], idx[to], ());
    }

    // Cycles: every strongly connected component with more than one node, or a self-loop.
    for scc in petgraph::algo::tarjan_scc(&graph) {
        let is_cycle = scc.len() > 1 || graph.contains_edge(scc[0], scc[0]);
        if is_cycle {
            graph_ok = false;
            let mut names: Vec<&str> = scc.iter().map(|&ix| flow.nodes[graph[ix]].id.as_str()).collect();
            names.reverse();
            let first = names[0];
            diags.push(
                Diagnostic::error("cycle", format!("the flow loops back on itself: {} → {first}", names.join(" → ")))
                    .node(first)
                    .hint("rows must flow one way; remove one of the edges between these nodes"),
            );
        }
    }

    // Required inputs; outputs going nowhere.
    for (i, n) in flow.nodes.iter().enumerate() {
        let Some(ports) = &node_ports[i] else { continue };
        for p in &ports.inputs {
            if p.required && !incoming.contains_key(&(i, p.name.as_str())) {
                diags.push(
                    Diagnostic::error("unconnected_input", format!("input '{}' of node '{}' is not connected", p.name, n.id))
                        .node(&n.id)
                        .hint("connect an upstream node's output to it"),
                );
            }
        }
        if let Some(out) = ports.output("out") {
            if !outgoing.contains(&(i, out.name.as_str())) {
                diags.push(
                    Diagnostic::warning("unconnected_output", format!("rows leaving 'out' of node '{}' go nowhere", n.id))
                        .node(&n.id)
                        .hint("connect it to a sink, or remove the node"),
                );
            }
        }
    }

    if !graph_ok || node_ports.iter().zip(&flow.nodes).any(|(p, n)| p.is_none() && reg.get(&n.kind).is_none()) {
        // No plan, but the kinds' own checks still run (with upstream fields unknown), so
        // one pass reports every problem.
        for (i, n) in flow.nodes.iter().enumerate() {
            let (Some(kind), Some(_)) = (reg.get(&n.kind), &node_ports[i]) else { continue };
            if unresolved[i] {
                continue;
            }
            let ctx = node_context(n, base_dir, &params, &flow.settings);
            diags.extend(kind.check(&node_configs[i], &ctx, &PortSchemas::new()).into_iter().map(|p| problem_diag(&n.id, p)));
        }
        return (None, diags);
    }
    let order = match petgraph::algo::toposort(&graph, None) {
        Ok(o) => o,
        Err(_) => return (None, diags),
    };

    // Design-time schemas, in topological order, plus each kind's own checks.
    let mut outputs_by_node: HashMap<usize, PortSchemas> = HashMap::new();
    let mut nodes = Vec::new();
    for ix in order {
        let i = graph[ix];
        let n = &flow.nodes[i];
        let kind = reg.get(&n.kind).expect("kinds checked above");
        let Some(ports) = node_ports[i].clone() else {
            continue;
        };
        let ctx = node_context(n, base_dir, &params, &flow.settings);
        let mut inputs = PortSchemas::new();
        for e in flow.edges.iter().filter(|e| e.to == n.id) {
            let from = seen[e.from.as_str()];
            if let Some(s) = outputs_by_node.get(&from).and_then(|o| o.get(&e.from_port)) {
                inputs.entry(e.to_port.clone()).or_insert_with(|| s.clone());
            }
        }
        let ctx = NodeContext { input_schemas: inputs.clone(), ..ctx };
        if !unresolved[i] {
            diags.extend(kind.check(&node_configs[i], &ctx, &inputs).into_iter().map(|p| problem_diag(&n.id, p)));
        }
        let mut outputs = match kind.output_schemas(&node_configs[i], &ctx, &inputs) {
            Ok(o) => o,
            Err(p) => {
                if !unresolved[i] {
                    diags.push(problem_diag(&n.id, p));
                }
                PortSchemas::new()
            }
        };
        if ports.output(ERROR_PORT).is_some() {
            let base = if kind.meta().category == Category::Source { outputs.get("out") } else { inputs.get("in") };
            if let Some(s) = base {
                outputs.insert(ERROR_PORT.to_string(), error_schema(s));
            }
        }
        outputs_by_node.insert(i, outputs.clone());
        nodes.push(PlannedNode {
            id: n.id.clone(),
            kind_name: n.kind.clone(),
            kind,
            category: kind.meta().category,
            title: if n.title.is_empty() { kind.meta().title.to_string() } else { n.title.clone() },
            config: node_configs[i].clone(),
            ports,
            error_policy: n.error_policy.clone().unwrap_or_else(|| flow.settings.error_policy.clone()),
            ctx,
            input_schemas: inputs,
            output_schemas: outputs,
        });
    }
    let plan = Plan {
        flow_name: flow.name.clone(),
        settings: flow.settings.clone(),
        params,
        nodes,
        edges: flow.edges.clone(),
        warnings: Diagnostics::default(),
    };
    (Some(plan), diags)
}

fn node_context(n: &crate::flow::NodeSpec, base_dir: &Path, params: &ParamValues, settings: &FlowSettings) -> NodeContext {
    NodeContext {
        node_id: n.id.clone(),
        base_dir: base_dir.to_path_buf(),
        params: params.clone(),
        settings: settings.clone(),
        input_schemas: PortSchemas::new(),
    }
}

fn problem_diag(node_id: &str, p: crate::nodes::ConfigProblem) -> Diagnostic {
    let mut d = Diagnostic::error("invalid_config", p.message).node(node_id).field(p.field);
    if let Some(h) = p.hint {
        d = d.hint(h);
    }
    d
}

fn port_hint(wrong: &str, names: &[&str]) -> String {
    match did_you_mean(wrong, names.iter().copied()) {
        Some(s) => format!("did you mean '{s}'? ports: {}", names.join(", ")),
        None if names.is_empty() => "connect it from another node instead".into(),
        None => format!("ports: {}", names.join(", ")),
    }
}

//! Flow documents: open, save, format and check. A flow arrives from the designer as loose
//! JSON and goes through the same reader as a file on disk (`flow::parse_flow_text`), so
//! the designer and `sluice validate` can never disagree about what is valid.

use super::api::{AppError, FlowJson, NodeDesign, Response};
use super::service::{display, AppService};
use crate::flow::{parse_flow_text, resolve_params_lenient, substitute_config, to_canonical_json, Diagnostics, FlowFile};
use crate::nodes::{registry, Ports};
use crate::plan::{check_flow, plan_flow, FlowCheck, Plan};
use crate::value::Field;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

impl AppService {
    pub(super) fn open_flow(&self, path: &str) -> Result<Response, AppError> {
        let abs = self.resolve(path);
        let text = std::fs::read_to_string(&abs).map_err(|e| AppError::io("read flow file", &abs, &e))?;
        let flow = parse_flow_text(&text).map_err(|d| AppError::invalid_flow(&format!("{} is not a valid flow", abs.display()), d))?;
        let check = check_flow(&flow, &folder_of(&abs), &BTreeMap::new());
        self.add_recent(&abs);
        Ok(Response::OpenFlow { path: display(&abs), text, flow, diagnostics: check.diagnostics.0 })
    }

    pub(super) fn save_flow(&self, path: &str, flow: FlowJson) -> Result<Response, AppError> {
        let abs = self.resolve(path);
        let flow = flow_from_json(&flow).map_err(|d| AppError::invalid_flow("the flow cannot be saved", d))?;
        let text = to_canonical_json(&flow);
        write_atomically(&abs, text.as_bytes())?;
        self.add_recent(&abs);
        Ok(Response::SaveFlow { path: display(&abs), text })
    }

    pub(super) fn format_flow(&self, flow: FlowJson) -> Result<Response, AppError> {
        let flow = flow_from_json(&flow).map_err(|d| AppError::invalid_flow("the flow cannot be formatted", d))?;
        Ok(Response::FormatFlow { text: to_canonical_json(&flow) })
    }

    /// Never fails: a half-edited flow is what the designer checks most, and every
    /// problem in it comes back as a diagnostic.
    pub(super) fn check_flow(&self, flow: FlowJson, path: Option<&str>, params: &BTreeMap<String, String>) -> Response {
        let parsed = match flow_from_json(&flow) {
            Ok(f) => f,
            Err(diags) => return Response::CheckFlow { diagnostics: diags.0, nodes: partial_designs(&flow) },
        };
        let base = self.base_dir(path);
        let check = check_flow(&parsed, &base, params);
        let nodes = node_designs(&parsed, &check, params);
        Response::CheckFlow { diagnostics: check.diagnostics.0, nodes }
    }

    /// Reads and plans a flow for a run or a preview; a flow with errors does not run.
    pub(super) fn plan(&self, flow: &FlowJson, path: Option<&str>, params: &BTreeMap<String, String>) -> Result<Plan, AppError> {
        let parsed = flow_from_json(flow).map_err(|d| AppError::invalid_flow("the flow cannot run", d))?;
        plan_flow(&parsed, &self.base_dir(path), params).map_err(|d| AppError::invalid_flow("the flow cannot run", d))
    }

    /// The folder a flow's relative paths resolve against: its file's folder once it has
    /// one, else the working folder.
    pub(super) fn base_dir(&self, path: Option<&str>) -> PathBuf {
        match path {
            Some(p) if !p.trim().is_empty() => folder_of(&self.resolve(p)),
            _ => self.work_dir().to_path_buf(),
        }
    }
}

/// A designer's flow JSON read exactly as a file would be: version, shape (every problem
/// at once, each with its path), then the typed document.
pub fn flow_from_json(flow: &FlowJson) -> Result<FlowFile, Diagnostics> {
    let text = serde_json::to_string(flow).expect("a JSON value serialises");
    parse_flow_text(&text)
}

fn folder_of(file: &Path) -> PathBuf {
    file.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."))
}

/// Writes through a temporary file in the same folder, then renames it over the target, so
/// a crash or a full disk never leaves half a flow file behind.
pub(super) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), AppError> {
    let dir = folder_of(path);
    let mut tmp = tempfile::Builder::new()
        .prefix(".sluice-save-")
        .tempfile_in(&dir)
        .map_err(|e| AppError::io("write to folder", &dir, &e))?;
    tmp.write_all(bytes).and_then(|_| tmp.as_file().sync_all()).map_err(|e| AppError::io("write", path, &e))?;
    tmp.persist(path).map_err(|e| AppError::io("replace", path, &e.error))?;
    Ok(())
}

/// Per node: ports as configured, fields arriving at each input (from the upstream node's
/// output at the other end of the edge) and fields leaving each output.
fn node_designs(flow: &FlowFile, check: &FlowCheck, params: &BTreeMap<String, String>) -> BTreeMap<String, NodeDesign> {
    let (values, _) = resolve_params_lenient(&flow.params, params);
    let outputs: BTreeMap<&str, BTreeMap<String, Vec<Field>>> = check
        .schemas
        .iter()
        .map(|(id, ports)| (id.as_str(), ports.iter().map(|(p, s)| (p.clone(), s.fields().to_vec())).collect()))
        .collect();
    let mut designs = BTreeMap::new();
    for n in &flow.nodes {
        let config = substitute_config(&n.config, &values).unwrap_or_else(|_| n.config.clone());
        let mut inputs: BTreeMap<String, Vec<Field>> = BTreeMap::new();
        for e in flow.edges.iter().filter(|e| e.to == n.id) {
            if let Some(fields) = outputs.get(e.from.as_str()).and_then(|o| o.get(&e.from_port)) {
                // The first edge into a port decides its fields, as in the planner.
                inputs.entry(e.to_port.clone()).or_insert_with(|| fields.clone());
            }
        }
        let design = NodeDesign {
            ports: ports_of(&n.kind, &config),
            inputs,
            outputs: outputs.get(n.id.as_str()).cloned().unwrap_or_default(),
        };
        designs.entry(n.id.clone()).or_insert(design);
    }
    designs
}

/// Ports for a node's config; the kind's static ports while the config is broken, none
/// for an unknown kind.
fn ports_of(kind: &str, config: &serde_json::Value) -> Ports {
    match registry().get(kind) {
        Some(k) => k.ports(config).unwrap_or_else(|_| k.static_ports()),
        None => Ports { inputs: Vec::new(), outputs: Vec::new() },
    }
}

/// What can be said of the nodes of a document that is not a flow yet (a missing name, a
/// node without a kind): ports of every node whose id and kind can be read, so the canvas
/// still draws its handles.
fn partial_designs(flow: &FlowJson) -> BTreeMap<String, NodeDesign> {
    let mut designs = BTreeMap::new();
    let nodes = flow.get("nodes").and_then(|n| n.as_array()).map(Vec::as_slice).unwrap_or_default();
    for n in nodes {
        let (Some(id), Some(kind)) = (n.get("id").and_then(|v| v.as_str()), n.get("kind").and_then(|v| v.as_str())) else {
            continue;
        };
        let config = n.get("config").cloned().unwrap_or_else(|| serde_json::json!({}));
        designs
            .entry(id.to_string())
            .or_insert_with(|| NodeDesign { ports: ports_of(kind, &config), inputs: BTreeMap::new(), outputs: BTreeMap::new() });
    }
    designs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_that_is_not_a_flow_reports_its_path() {
        let err = flow_from_json(&serde_json::json!({"version": 1, "nodes": [{"id": "a"}]})).unwrap_err();
        assert!(err.0.iter().any(|d: &crate::flow::Diagnostic| d.message.contains("name")), "{err}");
        assert!(err.0.iter().any(|d| d.node_id.as_deref() == Some("a")), "{err}");
    }
}

//! The flow a dead-letter replay runs: the node that failed the rows and everything
//! downstream of it, fed by the kept rows instead of its original input. Rows that fail
//! again go back to the dead-letter node through the same wiring, so nothing is lost.

use super::{EdgeSpec, FlowFile, NodeSpec, Position};
use crate::value::Field;
use std::collections::{BTreeSet, VecDeque};

/// Id of the node that feeds the kept rows in.
pub const REPLAY_SOURCE_ID: &str = "_replay_rows";

/// Builds the replay flow of `failed_node` in `flow`. `Err` says in plain words why the rows
/// cannot be sent through that node again.
pub fn replay_flow(
    flow: &FlowFile,
    failed_node: &str,
    fields: &[Field],
    rows: Vec<serde_json::Map<String, serde_json::Value>>,
) -> Result<FlowFile, String> {
    let Some(failed) = flow.nodes.iter().find(|n| n.id == failed_node) else {
        return Err(format!("the rows failed in node '{failed_node}', which is no longer in the flow; purge them or put the node back"));
    };
    let inputs: BTreeSet<&str> = flow.edges.iter().filter(|e| e.to == failed_node).map(|e| e.to_port.as_str()).collect();
    let input_port = match inputs.len() {
        0 => {
            return Err(format!(
                "the rows failed in '{failed_node}', which has no input (a source); they cannot be sent through it again — fix the source data and run the flow"
            ))
        }
        1 => inputs.into_iter().next().unwrap_or("in").to_string(),
        _ => {
            return Err(format!(
                "'{failed_node}' reads from several inputs ({}); a replay feeds one, so its rows cannot be replayed",
                inputs.into_iter().collect::<Vec<_>>().join(", ")
            ))
        }
    };

    // The failed node and everything it feeds, by any port.
    let mut keep: BTreeSet<&str> = BTreeSet::from([failed_node]);
    let mut queue = VecDeque::from([failed_node]);
    while let Some(id) = queue.pop_front() {
        for e in flow.edges.iter().filter(|e| e.from == id) {
            if keep.insert(e.to.as_str()) {
                queue.push_back(e.to.as_str());
            }
        }
    }
    // A downstream node that also reads from outside the replayed part would miss that
    // input (a join's lookup side, a union's other branch).
    if let Some(e) = flow.edges.iter().find(|e| e.to != failed_node && keep.contains(e.to.as_str()) && !keep.contains(e.from.as_str())) {
        return Err(format!(
            "'{}' (downstream of '{failed_node}') also reads from '{}', which a replay does not run; replaying would give it only part of its input",
            e.to, e.from
        ));
    }

    let mut nodes: Vec<NodeSpec> = flow.nodes.iter().filter(|n| keep.contains(n.id.as_str())).cloned().collect();
    nodes.insert(
        0,
        NodeSpec {
            id: REPLAY_SOURCE_ID.into(),
            kind: "inline_rows".into(),
            title: "Dead letters to replay".into(),
            config: serde_json::json!({ "fields": fields, "rows": rows }),
            error_policy: None,
            note: String::new(),
            position: Position { x: failed.position.x - 260.0, y: failed.position.y },
        },
    );
    let mut edges: Vec<EdgeSpec> =
        flow.edges.iter().filter(|e| keep.contains(e.from.as_str()) && keep.contains(e.to.as_str())).cloned().collect();
    edges.insert(0, EdgeSpec { from: REPLAY_SOURCE_ID.into(), from_port: "out".into(), to: failed_node.into(), to_port: input_port });
    Ok(FlowFile { name: format!("{} (replay of {failed_node})", flow.name), nodes, edges, notes: Vec::new(), ..flow.clone() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::DataType;

    fn flow(json: serde_json::Value) -> FlowFile {
        serde_json::from_value(json).unwrap()
    }

    fn sample() -> FlowFile {
        flow(serde_json::json!({
            "version": 1, "name": "to crm",
            "nodes": [
                {"id": "src", "kind": "csv_source", "config": {"path": "a.csv"}},
                {"id": "crm", "kind": "sql_sink", "config": {}},
                {"id": "dlq", "kind": "dead_letter", "config": {}},
                {"id": "audit", "kind": "csv_sink", "config": {"path": "audit.csv"}}
            ],
            "edges": [
                {"from": "src", "from_port": "out", "to": "crm", "to_port": "in"},
                {"from": "src", "from_port": "out", "to": "audit", "to_port": "in"},
                {"from": "crm", "from_port": "error", "to": "dlq", "to_port": "in"}
            ]
        }))
    }

    #[test]
    fn keeps_the_failed_node_and_its_downstream_fed_by_the_rows() {
        let fields = vec![Field::new("id", DataType::Int)];
        let rows = vec![serde_json::json!({"id": 7}).as_object().unwrap().clone()];
        let f = replay_flow(&sample(), "crm", &fields, rows).unwrap();
        let ids: Vec<&str> = f.nodes.iter().map(|n| n.id.as_str()).collect();
        assert_eq!(ids, [REPLAY_SOURCE_ID, "crm", "dlq"]);
        let edges: Vec<String> = f.edges.iter().map(|e| format!("{}.{}->{}.{}", e.from, e.from_port, e.to, e.to_port)).collect();
        assert_eq!(edges, ["_replay_rows.out->crm.in", "crm.error->dlq.in"]);
        assert_eq!(f.nodes[0].config["rows"][0]["id"], 7);
        assert_eq!(f.nodes[0].config["fields"][0]["name"], "id");
    }

    #[test]
    fn explains_what_cannot_be_replayed() {
        let e = replay_flow(&sample(), "src", &[], vec![]).unwrap_err();
        assert!(e.contains("no input (a source)"), "{e}");
        let e = replay_flow(&sample(), "gone", &[], vec![]).unwrap_err();
        assert!(e.contains("no longer in the flow"), "{e}");
        let mut f = sample();
        f.nodes.push(serde_json::from_value(serde_json::json!({"id": "j", "kind": "join", "config": {}})).unwrap());
        f.edges.push(serde_json::from_value(serde_json::json!({"from": "crm", "from_port": "error", "to": "j", "to_port": "left"})).unwrap());
        f.edges.push(serde_json::from_value(serde_json::json!({"from": "src", "from_port": "out", "to": "j", "to_port": "right"})).unwrap());
        let e = replay_flow(&f, "crm", &[], vec![]).unwrap_err();
        assert!(e.contains("'j'") && e.contains("also reads from 'src'"), "{e}");
    }
}

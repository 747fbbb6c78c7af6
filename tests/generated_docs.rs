//! The committed generated docs must match what the code generates: the flow JSON Schema
//! and the node reference. Regenerate with `cargo run -- gen-docs docs`.

use std::path::Path;

fn check(name: &str, generated: String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs").join(name);
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/{name} is stale: run `cargo run -- gen-docs docs` and commit the result"
    );
}

#[test]
fn flow_schema_is_current() {
    check("flow.schema.json", sluice::cli::flow_schema_json());
}

#[test]
fn node_reference_is_current() {
    check("nodes.md", sluice::cli::node_reference_markdown());
}

#[test]
fn flow_schema_checks_node_configs_by_kind() {
    // The published schema must reject a config that the engine rejects.
    let schema: serde_json::Value = serde_json::from_str(&sluice::cli::flow_schema_json()).unwrap();
    let v = jsonschema::validator_for(&schema).unwrap();
    let good = serde_json::json!({"version": 1, "name": "x", "nodes": [{"id": "f", "kind": "filter", "config": {"condition": "true"}}]});
    let bad = serde_json::json!({"version": 1, "name": "x", "nodes": [{"id": "f", "kind": "filter", "config": {"condtion": "true"}}]});
    assert!(v.is_valid(&good));
    assert!(!v.is_valid(&bad));
}

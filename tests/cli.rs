//! The `sluice` binary: exit codes, located errors in plain words, the catalog, preview.
//! Codes: 0 success, 1 the run failed, 2 invalid flow or usage, 130 stopped.

use std::path::Path;
use std::process::{Command, Output};

fn sluice(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sluice")).args(args).current_dir(dir).env("SLUICE_STATE_DIR", std::env::temp_dir().join(format!("sluice-cli-tests-{}", std::process::id()))).output().expect("sluice runs")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn write(dir: &Path, name: &str, body: &str) {
    std::fs::write(dir.join(name), body).unwrap();
}

const DEMO: &str = r#"{
  "version": 1,
  "name": "demo",
  "params": [{"name": "prio", "type": "string"}],
  "nodes": [
    {"id": "rows", "kind": "inline_rows", "config": {"rows": [{"id": 1, "priority": "urgent", "sat": 5}, {"id": 2, "priority": "low", "sat": 1}, {"id": 3, "priority": "low"}]}},
    {"id": "keep", "kind": "filter", "config": {"condition": "priority == \"${prio}\" || (sat != () && sat <= 2)"}},
    {"id": "show", "kind": "log", "config": {}}
  ],
  "edges": [{"from": "rows", "to": "keep"}, {"from": "keep", "to": "show"}]
}
"#;

#[test]
fn malformed_json_names_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "bad.flow.json", "{\n  \"version\": 1,\n  \"name\": \"x\"\n  \"nodes\": []\n}\n");
    let o = sluice(&["validate", "bad.flow.json"], dir.path());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("bad.flow.json:4:3: the file is not valid JSON"), "{}", text(&o));
}

#[test]
fn every_problem_is_reported_at_once_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "bad.flow.json",
        r#"{"version": 1, "name": "x", "nodes": [
            {"id": "a", "kind": "inline_rows", "config": {"rowz": []}},
            {"id": "b", "kind": "filtr", "config": {}},
            {"id": "c", "kind": "filter", "config": {"condition": "x =="}},
            {"id": "d", "kind": "filter", "config": {"condition": "true"}}
          ],
          "edges": [{"from": "a", "to": "c"}, {"from": "c", "to": "d"}, {"from": "d", "to": "c"}, {"from": "d", "to": "zz"}]}"#,
    );
    let o = sluice(&["validate", "bad.flow.json"], dir.path());
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    for needle in [
        "node 'a': unknown field 'rowz'",
        "did you mean 'rows'?",
        "unknown node kind 'filtr'",
        "did you mean 'filter'?",
        "refers to node 'zz', which does not exist",
        "the flow loops back on itself",
        "c → d → c",
    ] {
        assert!(t.contains(needle), "missing {needle:?} in:\n{t}");
    }
}

#[test]
fn script_errors_are_located_at_load_time() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "f.flow.json",
        r#"{"version": 1, "name": "x", "nodes": [
            {"id": "a", "kind": "inline_rows", "config": {"rows": [{"n": 1}]}},
            {"id": "c", "kind": "filter", "config": {"condition": "n >"}},
            {"id": "s", "kind": "log"}],
          "edges": [{"from": "a", "to": "c"}, {"from": "c", "to": "s"}]}"#,
    );
    let o = sluice(&["validate", "f.flow.json"], dir.path());
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(t.contains("node 'c', condition: the condition does not compile") && t.contains("(line 1, column"), "{t}");
}

#[test]
fn params_missing_then_given() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "demo.flow.json", DEMO);
    let o = sluice(&["run", "demo.flow.json"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("param 'prio' has no value") && text(&o).contains("--param prio=VALUE"), "{}", text(&o));
    let o = sluice(&["run", "demo.flow.json", "--param", "prio=urgent"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("show: id=1 priority=urgent sat=5") && t.contains("show: id=2 priority=low sat=1") && !t.contains("id=3"), "{t}");
    assert!(t.contains("run succeeded"), "{t}");
    let o = sluice(&["run", "demo.flow.json", "--param", "prioo=urgent"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("did you mean 'prio'?"), "{}", text(&o));
}

#[test]
fn events_ndjson_is_machine_readable() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "demo.flow.json", DEMO);
    let o = sluice(&["run", "demo.flow.json", "-p", "prio=urgent", "--events", "ndjson"], dir.path());
    assert_eq!(o.status.code(), Some(0));
    let events: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(events.first().unwrap()["type"], "run_started");
    let last = events.last().unwrap();
    assert_eq!(last["type"], "run_finished");
    assert_eq!(last["summary"]["status"], "succeeded");
    let keep = last["summary"]["nodes"].as_array().unwrap().iter().find(|n| n["node_id"] == "keep").unwrap();
    assert_eq!((keep["rows_in"].as_u64(), keep["rows_out"].as_u64()), (Some(3), Some(2)));
}

#[test]
fn a_failing_row_fails_the_run_with_exit_1_or_is_counted_under_continue() {
    let dir = tempfile::tempdir().unwrap();
    let flow = |policy: &str| {
        format!(
            r#"{{"version": 1, "name": "x", {policy} "nodes": [
            {{"id": "a", "kind": "inline_rows", "config": {{"rows": [{{"n": 1}}, {{"n": 0}}, {{"n": 2}}]}}}},
            {{"id": "c", "kind": "filter", "config": {{"condition": "10 / n > 1"}}}},
            {{"id": "s", "kind": "log"}}],
          "edges": [{{"from": "a", "to": "c"}}, {{"from": "c", "to": "s"}}]}}"#
        )
    };
    write(dir.path(), "fail.flow.json", &flow(""));
    let o = sluice(&["run", "fail.flow.json"], dir.path());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("node 'c' failed") && text(&o).contains("Division by zero"), "{}", text(&o));
    write(dir.path(), "cont.flow.json", &flow(r#""settings": {"error_policy": {"mode": "continue"}},"#));
    let o = sluice(&["run", "cont.flow.json"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("2 rows"), "{}", text(&o));
}

#[test]
fn nodes_json_lists_every_kind_with_its_schema() {
    let o = sluice(&["nodes", "--json"], Path::new("."));
    assert_eq!(o.status.code(), Some(0));
    let catalog: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    let kinds: Vec<&str> = catalog.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    for k in sluice::nodes::registry().names() {
        assert!(kinds.contains(&k), "{k} missing from the catalog");
    }
    for e in &catalog {
        assert!(e["config_schema"]["type"] == "object", "{}", e["kind"]);
        assert!(e["category"].is_string() && e["ports"]["outputs"].is_array() && e["description"].as_str().unwrap().len() > 10);
    }
    let o = sluice(&["nodes", "filtr"], Path::new("."));
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("did you mean 'filter'"));
}

#[test]
fn preview_shows_a_nodes_first_rows() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "demo.flow.json", DEMO);
    let o = sluice(&["preview", "demo.flow.json", "--node", "keep", "-p", "prio=urgent", "--json"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["rows"].as_array().unwrap().len(), 2);
    assert_eq!(v["fields"][0], serde_json::json!({"name": "id", "type": "int"}));
    let o = sluice(&["preview", "demo.flow.json", "--node", "kep", "-p", "prio=urgent"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("did you mean 'keep'?"));
}

#[test]
fn help_on_every_command_and_usage_errors_exit_2() {
    for cmd in [vec!["--help"], vec!["run", "--help"], vec!["validate", "--help"], vec!["nodes", "--help"], vec!["preview", "--help"]] {
        let o = sluice(&cmd, Path::new("."));
        assert_eq!(o.status.code(), Some(0), "{cmd:?}");
        assert!(String::from_utf8_lossy(&o.stdout).contains("Usage"), "{cmd:?}");
    }
    let o = sluice(&["frobnicate"], Path::new("."));
    assert_eq!(o.status.code(), Some(2));
    let o = sluice(&["run", "/no/such/file.flow.json"], Path::new("."));
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("cannot read flow file /no/such/file.flow.json"), "{}", text(&o));
}

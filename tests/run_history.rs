//! Run history: `sluice run` records every run with its params, counts and kept failed rows
//! in the state file; `sluice runs list|show|errors` reads them back (CSV and JSON export).

use std::path::Path;
use std::process::{Command, Output};

fn sluice(args: &[&str], dir: &Path, state: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sluice")).args(args).current_dir(dir).env("SLUICE_STATE_DIR", state).output().expect("sluice runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A flow whose validate node fails two of four rows with its error output unwired and the
/// `continue` policy, so the failed rows exist only in the history.
fn write_flow(dir: &Path) -> std::path::PathBuf {
    std::fs::write(dir.join("in.csv"), "id,phone\n1,13812345678\n2,bad\n3,13900001111\n4,\n").unwrap();
    let flow = serde_json::json!({
        "version": 1,
        "name": "history test",
        "params": [{"name": "who", "default": "me"}],
        "settings": {"error_policy": {"mode": "continue"}},
        "nodes": [
            {"id": "read", "kind": "csv_source", "config": {"path": "in.csv", "types": {"phone": "string"}}},
            {"id": "check", "kind": "validate", "config": {"rules": [{"field": "phone", "required": true, "mobile_cn": true}]}},
            {"id": "write", "kind": "csv_sink", "config": {"path": "out.csv"}}
        ],
        "edges": [{"from": "read", "to": "check"}, {"from": "check", "to": "write"}]
    });
    let path = dir.join("h.flow.json");
    std::fs::write(&path, serde_json::to_string_pretty(&flow).unwrap()).unwrap();
    path
}

#[test]
fn runs_are_recorded_with_params_counts_and_failed_rows() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let flow = write_flow(dir.path());
    let out = sluice(&["run", flow.to_str().unwrap(), "--param", "who=ana"], dir.path(), &state);
    assert!(out.status.success(), "{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));

    let list = sluice(&["runs", "list", "--json"], dir.path(), &state);
    let list: serde_json::Value = serde_json::from_str(&stdout(&list)).unwrap();
    let runs = list.as_array().unwrap();
    assert_eq!(runs.len(), 1, "{list}");
    assert_eq!(runs[0]["flow_name"], "history test");
    assert_eq!(runs[0]["status"], "succeeded");
    assert_eq!(runs[0]["rows_error"], 2);
    let id = runs[0]["run_id"].as_str().unwrap().to_string();

    let show = sluice(&["runs", "show", &id, "--json"], dir.path(), &state);
    let show: serde_json::Value = serde_json::from_str(&stdout(&show)).unwrap();
    assert_eq!(show["params"]["who"], "ana");
    assert_eq!(show["kept_error_rows"], 2);
    let check = show["summary"]["nodes"].as_array().unwrap().iter().find(|n| n["node_id"] == "check").unwrap();
    assert_eq!((check["rows_in"].as_u64(), check["rows_out"].as_u64()), (Some(4), Some(2)));

    // A unique prefix of the id is enough; the text view names the kept rows.
    let text = stdout(&sluice(&["runs", "show", &id[..id.len() - 2]], dir.path(), &state));
    assert!(text.contains("2 failed rows kept"), "{text}");

    let csv = stdout(&sluice(&["runs", "errors", &id], dir.path(), &state));
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "_error_node,_error_message,_error_field,_error_line,_error_raw,_error_handled,id,phone");
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[1].starts_with("check,") && lines[1].ends_with(",false,2,bad"), "{}", lines[1]);
    assert!(lines[2].ends_with(",false,4,"), "{}", lines[2]);

    let json_path = dir.path().join("dead.json");
    let out = sluice(&["runs", "errors", &id, "--format", "json", "--output", json_path.to_str().unwrap()], dir.path(), &state);
    assert!(out.status.success());
    let rows: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 2);
    assert_eq!(rows[0]["row"]["phone"], "bad");
    assert_eq!(rows[0]["field"], "phone");
}

#[test]
fn a_failed_run_is_recorded_with_its_error_and_unknown_ids_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let flow = write_flow(dir.path());
    // Without the continue policy the first bad row fails the run.
    let text = std::fs::read_to_string(&flow).unwrap().replace("\"continue\"", "\"fail\"");
    std::fs::write(&flow, text).unwrap();
    let out = sluice(&["run", flow.to_str().unwrap()], dir.path(), &state);
    assert_eq!(out.status.code(), Some(1));

    let list: serde_json::Value = serde_json::from_str(&stdout(&sluice(&["runs", "list", "--json"], dir.path(), &state))).unwrap();
    assert_eq!(list[0]["status"], "failed");
    assert!(list[0]["error"].as_str().unwrap().contains("check"), "{list}");

    let out = sluice(&["runs", "show", "nope"], dir.path(), &state);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("sluice runs list"));
}

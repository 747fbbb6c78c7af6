//! Ctrl-C stops a run cleanly: every node ends, the CSV sink leaves no partial file, the
//! last event says `cancelled`, and the exit code is 130.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

#[test]
fn ctrl_c_stops_cleanly_with_exit_130() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = std::io::BufWriter::new(std::fs::File::create(dir.path().join("in.csv")).unwrap());
    writeln!(csv, "id,text").unwrap();
    for i in 0..2_000_000 {
        writeln!(csv, "{i},row {i}").unwrap();
    }
    drop(csv);
    // Two million rows keep the run busy long enough (seconds) to interrupt it midway.
    std::fs::write(
        dir.path().join("slow.flow.json"),
        r#"{"version": 1, "name": "slow", "nodes": [
            {"id": "read", "kind": "csv_source", "config": {"path": "in.csv"}},
            {"id": "slow", "kind": "filter", "config": {"condition": "id >= 0 && text != \"\""}},
            {"id": "write", "kind": "csv_sink", "config": {"path": "out.csv"}}],
          "edges": [{"from": "read", "to": "slow"}, {"from": "slow", "to": "write"}]}"#,
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["run", "slow.flow.json", "--events", "ndjson"])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut lines = stdout.lines();
    let mut interrupted = false;
    let mut last = serde_json::Value::Null;
    for line in lines.by_ref() {
        let ev: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
        let sink_busy = ev["type"] == "metrics"
            && ev["nodes"].as_array().unwrap().iter().any(|n| n["node_id"] == "write" && n["rows_in"].as_u64() > Some(0));
        if sink_busy && !interrupted {
            let ok = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
            assert!(ok.success());
            interrupted = true;
        }
        last = ev;
    }
    let status = child.wait().unwrap();
    assert!(interrupted, "the run ended before rows reached the sink; give it more rows");
    assert_eq!(status.code(), Some(130));
    assert_eq!(last["type"], "run_finished");
    assert_eq!(last["summary"]["status"], "cancelled");
    assert!(!dir.path().join("out.csv").exists(), "a stopped run must not leave a partial output");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(leftovers.len(), 2, "temporary files left behind: {leftovers:?}");
}

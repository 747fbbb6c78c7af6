//! Golden tests in the product's own format, and the example flows.
//!
//! A golden case is a folder under `tests/golden/`: `flow.flow.json`, its input files, an
//! `expected/` folder holding the files the run must write (compared byte for byte, at the
//! same path relative to the case folder), and an optional `expect.json`:
//! `{"status": "succeeded"|"failed", "error_contains": "...", "nodes": {"id": {"rows_out": N}}}`.
//! Every case runs in a copy of its folder, so outputs never land in the source tree.
//!
//! Every flow in `flows-examples/` is validated and run the same way.

use sluice::exec::{start_run, RunOptions, RunStatus, RunSummary};
use sluice::flow::load_flow_file;
use sluice::plan::plan_flow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_type().unwrap().is_dir() {
                out.extend(files_under(&e.path()));
            } else {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out
}

/// Incremental sources keep watermarks in the local state store; tests keep theirs in a
/// folder of their own instead of the user's.
fn isolate_state() {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    let dir = DIR.get_or_init(|| tempfile::tempdir().unwrap());
    std::env::set_var("SLUICE_STATE_DIR", dir.path());
}

async fn run_flow(path: &Path) -> Result<RunSummary, String> {
    isolate_state();
    let (flow, base) = load_flow_file(path).map_err(|d| d.to_string())?;
    let plan = plan_flow(&flow, &base, &BTreeMap::new()).map_err(|d| d.to_string())?;
    Ok(start_run(plan, RunOptions::default()).wait().await)
}

fn check_expectations(case: &str, summary: &RunSummary, expect: &serde_json::Value) {
    let status = expect.get("status").and_then(|s| s.as_str()).unwrap_or("succeeded");
    let actual = serde_json::to_value(summary.status).unwrap();
    assert_eq!(actual, status, "{case}: run status (error: {:?})", summary.error);
    if let Some(needle) = expect.get("error_contains").and_then(|s| s.as_str()) {
        let err = summary.error.clone().unwrap_or_default();
        assert!(err.contains(needle), "{case}: error {err:?} should contain {needle:?}");
    }
    if let Some(nodes) = expect.get("nodes").and_then(|n| n.as_object()) {
        for (id, counts) in nodes {
            let m = summary.node(id).unwrap_or_else(|| panic!("{case}: no node {id} in the summary"));
            let m = serde_json::to_value(m).unwrap();
            for (k, v) in counts.as_object().unwrap() {
                assert_eq!(&m[k], v, "{case}: node {id} {k}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn golden_cases() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root).unwrap().flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
    cases.sort();
    assert!(!cases.is_empty(), "no golden cases found under {}", root.display());
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let work = tempfile::tempdir().unwrap();
        copy_dir(case, work.path());
        let _ = std::fs::remove_dir_all(work.path().join("expected"));
        let expect: serde_json::Value = std::fs::read_to_string(case.join("expect.json"))
            .map(|t| serde_json::from_str(&t).expect("expect.json is JSON"))
            .unwrap_or(serde_json::json!({}));
        let summary = match run_flow(&work.path().join("flow.flow.json")).await {
            Ok(s) => s,
            Err(e) => {
                failures.push(format!("{name}: did not plan:\n{e}"));
                continue;
            }
        };
        let result = std::panic::catch_unwind(|| check_expectations(&name, &summary, &expect));
        if let Err(p) = result {
            failures.push(p.downcast_ref::<String>().cloned().unwrap_or_else(|| format!("{name}: expectation failed")));
            continue;
        }
        let expected_dir = case.join("expected");
        for exp in files_under(&expected_dir) {
            let rel = exp.strip_prefix(&expected_dir).unwrap();
            let got = work.path().join(rel);
            match std::fs::read(&got) {
                Err(_) => failures.push(format!("{name}: the run did not write {}", rel.display())),
                Ok(bytes) if bytes != std::fs::read(&exp).unwrap() => failures.push(format!(
                    "{name}: {} differs from expected\n--- expected\n{}\n--- got\n{}",
                    rel.display(),
                    String::from_utf8_lossy(&std::fs::read(&exp).unwrap()),
                    String::from_utf8_lossy(&bytes)
                )),
                Ok(_) => {}
            }
        }
    }
    assert!(failures.is_empty(), "{} of {} golden cases failed:\n\n{}", failures.len(), cases.len(), failures.join("\n\n"));
}

#[tokio::test(flavor = "multi_thread")]
async fn every_example_flow_validates_and_runs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("flows-examples");
    let flows: Vec<PathBuf> = files_under(&root).into_iter().filter(|p| p.to_string_lossy().ends_with(".flow.json")).collect();
    assert!(!flows.is_empty(), "no example flows found");
    let work = tempfile::tempdir().unwrap();
    copy_dir(&root, work.path());
    // Needs live APIs and credentials; tests/http_seed_example.rs runs it against local ones.
    const RUN_ELSEWHERE: &[&str] = &["http-ticket-api-to-crm/ticket-api-to-crm.flow.json"];
    let mut failures = Vec::new();
    for flow in &flows {
        let rel = flow.strip_prefix(&root).unwrap();
        if RUN_ELSEWHERE.iter().any(|p| rel == Path::new(p)) {
            continue;
        }
        match run_flow(&work.path().join(rel)).await {
            Err(e) => failures.push(format!("{}: invalid:\n{e}", rel.display())),
            Ok(s) if s.status != RunStatus::Succeeded => failures.push(format!("{}: run {:?}: {:?}", rel.display(), s.status, s.error)),
            Ok(s) if s.nodes.iter().all(|n| n.rows_out == 0 && n.rows_in == 0) => failures.push(format!("{}: moved no rows", rel.display())),
            Ok(_) => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn example_flows_are_in_canonical_form() {
    // Saving an unchanged flow must give the same bytes; the examples are saved that way so
    // a designer round trip leaves them untouched in git.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("flows-examples");
    let mut bad = Vec::new();
    for path in files_under(&root).into_iter().filter(|p| p.to_string_lossy().ends_with(".flow.json")) {
        let text = std::fs::read_to_string(&path).unwrap();
        match sluice::flow::parse_flow_text(&text) {
            Ok(flow) if sluice::flow::to_canonical_json(&flow) == text => {}
            Ok(_) => bad.push(format!("{} is not in canonical form (load and save it with sluice::flow::to_canonical_json)", path.display())),
            Err(d) => bad.push(format!("{}: {d}", path.display())),
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

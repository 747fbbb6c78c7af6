//! The app service over the real engine: catalog, open/save/check, runs and their events,
//! preview, the folder listing, recent files, and the run history with its failed rows.
//! Every test gets its own working folder and state folder.

use serde_json::{json, Value};
use sluice::app::{AppConfig, AppError, AppErrorKind, AppEvent, AppMode, AppService, Request, Response};
use sluice::exec::{RunEvent, RunStatus, RunSummary};
use sluice::flow::to_canonical_json;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use tokio::sync::broadcast;

struct Fixture {
    service: AppService,
    work: tempfile::TempDir,
    _state: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let work = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let service = AppService::new(AppConfig {
        work_dir: work.path().to_path_buf(),
        mode: AppMode::Browser,
        state_dir: Some(state.path().to_path_buf()),
        open_on_start: None,
    });
    Fixture { service, work, _state: state }
}

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("flows-examples")
}

fn example_flows() -> Vec<PathBuf> {
    let mut flows = Vec::new();
    for dir in std::fs::read_dir(examples_dir()).unwrap().flatten() {
        if dir.path().is_dir() {
            for f in std::fs::read_dir(dir.path()).unwrap().flatten() {
                if f.file_name().to_string_lossy().ends_with(".flow.json") {
                    flows.push(f.path());
                }
            }
        }
    }
    flows.sort();
    assert!(flows.len() >= 20, "expected the example flows, found {}", flows.len());
    flows
}

async fn call(service: &AppService, req: Value) -> Result<Response, AppError> {
    let req: Request = serde_json::from_value(req).expect("a valid request");
    service.handle(req).await
}

async fn ok(service: &AppService, req: Value) -> Value {
    match call(service, req.clone()).await {
        Ok(res) => serde_json::to_value(res).unwrap(),
        Err(e) => panic!("{req} failed: {e:?}"),
    }
}

async fn open(service: &AppService, path: &Path) -> Value {
    ok(service, json!({"op": "open_flow", "path": path})).await
}

/// A CSV of `rows` tickets, every third one urgent.
fn write_tickets(path: &Path, rows: usize) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(f, "ticket_id,priority,note").unwrap();
    for i in 0..rows {
        writeln!(f, "{i},{},row {i}", if i % 3 == 0 { "urgent" } else { "low" }).unwrap();
    }
}

fn csv_flow(input: &str, output: &str) -> Value {
    json!({
        "version": 1,
        "name": "urgent only",
        "nodes": [
            {"id": "read", "kind": "csv_source", "config": {"path": input}},
            {"id": "urgent", "kind": "filter", "config": {"condition": "priority == \"urgent\""}},
            {"id": "write", "kind": "csv_sink", "config": {"path": output}}
        ],
        "edges": [{"from": "read", "to": "urgent"}, {"from": "urgent", "to": "write"}]
    })
}

/// Events of one run, up to and including `run_finished`.
async fn events_until_finished(rx: &mut broadcast::Receiver<AppEvent>, run_id: &str) -> (Vec<RunEvent>, RunSummary) {
    let mut events = Vec::new();
    loop {
        let ev = rx.recv().await.expect("the event stream stays open");
        if ev.run_id != run_id {
            continue;
        }
        if let RunEvent::RunFinished { summary } = &ev.event {
            let summary = summary.clone();
            events.push(ev.event);
            return (events, summary);
        }
        events.push(ev.event);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_lists_every_registered_kind_with_its_schema() {
    let fx = fixture();
    let res = ok(&fx.service, json!({"op": "catalog"})).await;
    let kinds = res["kinds"].as_array().unwrap();
    let names: Vec<&str> = kinds.iter().map(|k| k["kind"].as_str().unwrap()).collect();
    let registered: Vec<&str> = sluice::nodes::registry().names().collect();
    assert_eq!(names, registered);
    for k in kinds {
        assert!(k["config_schema"]["properties"].is_object() || k["config_schema"]["type"].is_string(), "{k}");
        assert!(!k["title"].as_str().unwrap().is_empty());
        assert!(k["ports"]["outputs"].is_array());
    }
    let csv = kinds.iter().find(|k| k["kind"] == "csv_source").unwrap();
    assert_eq!(csv["category"], "source");
    assert_eq!(csv["config_schema"]["properties"]["path"]["x-path"], "file");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn info_names_the_working_folder_and_mode() {
    let fx = fixture();
    let res = ok(&fx.service, json!({"op": "info"})).await;
    assert_eq!(res["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(res["mode"], "browser");
    assert_eq!(res["work_dir"], fx.work.path().canonicalize().unwrap().to_string_lossy().as_ref());
    assert_eq!(res["platform"], std::env::consts::OS);
    assert!(res.get("open_on_start").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_example_flow_opens_and_saves_byte_identical() {
    let fx = fixture();
    for path in example_flows() {
        let original = std::fs::read_to_string(&path).unwrap();
        let opened = open(&fx.service, &path).await;
        assert_eq!(opened["text"], original.as_str(), "{}", path.display());
        let copy = fx.work.path().join(path.file_name().unwrap());
        let saved = ok(&fx.service, json!({"op": "save_flow", "path": copy, "flow": opened["flow"]})).await;
        let written = std::fs::read_to_string(&copy).unwrap();
        assert_eq!(written, original, "saving {} changed it", path.display());
        assert_eq!(saved["text"], original.as_str());
        let formatted = ok(&fx.service, json!({"op": "format_flow", "flow": opened["flow"]})).await;
        assert_eq!(formatted["text"], original.as_str());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn save_writes_canonical_text_atomically() {
    let fx = fixture();
    // Keys out of order, no indentation: saving gives the canonical form.
    let flow = json!({"nodes": [{"position": {"y": 2.0, "x": 1.0}, "kind": "inline_rows", "id": "rows",
        "config": {"fields": [{"name": "a", "type": "int"}], "rows": [[1]]}}], "name": "tidy", "version": 1});
    let res = ok(&fx.service, json!({"op": "save_flow", "path": "tidy.flow.json", "flow": flow})).await;
    let target = fx.work.path().join("tidy.flow.json");
    let written = std::fs::read_to_string(&target).unwrap();
    let expected = to_canonical_json(&sluice::flow::parse_flow_text(&flow.to_string()).unwrap());
    assert_eq!(written, expected);
    assert_eq!(res["text"], written.as_str());
    assert!(written.starts_with("{\n  \"version\": 1,\n  \"name\": \"tidy\""), "{written}");
    assert_eq!(res["path"], target.canonicalize().unwrap().to_string_lossy().as_ref());
    let files: Vec<String> = std::fs::read_dir(fx.work.path()).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(files, vec!["tidy.flow.json"], "no temporary file may be left behind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saving_a_flow_that_is_not_one_names_the_problem() {
    let fx = fixture();
    let bad = json!({"version": 1, "name": "x", "nodes": [{"id": "a", "kind": "filter", "confg": {}}]});
    let err = call(&fx.service, json!({"op": "save_flow", "path": "x.flow.json", "flow": bad})).await.unwrap_err();
    assert_eq!(err.kind, AppErrorKind::InvalidFlow);
    assert_eq!(err.node_id.as_deref(), Some("a"));
    assert!(err.diagnostics.iter().any(|d| d.field.as_deref() == Some("nodes/0") && d.hint.as_deref() == Some("did you mean 'config'?")), "{err:?}");
    assert!(!fx.work.path().join("x.flow.json").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_json_fails_to_open_with_its_line() {
    let fx = fixture();
    let path = fx.work.path().join("broken.flow.json");
    std::fs::write(&path, "{\n  \"version\": 1,\n  \"name\": \"x\"\n  \"nodes\": []\n}\n").unwrap();
    let err = call(&fx.service, json!({"op": "open_flow", "path": "broken.flow.json"})).await.unwrap_err();
    assert_eq!(err.kind, AppErrorKind::InvalidFlow);
    assert_eq!(err.diagnostics[0].line, Some(4));
    assert!(err.message.contains("line 4"), "{}", err.message);
    let missing = call(&fx.service, json!({"op": "open_flow", "path": "nope.flow.json"})).await.unwrap_err();
    assert_eq!(missing.kind, AppErrorKind::NotFound);
    assert!(missing.message.contains("nope.flow.json"), "{}", missing.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_edges_and_unknown_kinds_are_diagnostics_naming_the_node() {
    let fx = fixture();
    let flow = json!({"version": 1, "name": "broken", "nodes": [
        {"id": "rows", "kind": "inline_rows", "config": {"fields": [{"name": "a", "type": "int"}], "rows": [[1]]}},
        {"id": "mystery", "kind": "csv_sauce", "config": {}},
        {"id": "show", "kind": "log"}
    ], "edges": [{"from": "rows", "to": "show"}, {"from": "rows", "to": "nowhere"}]});
    // It parses, so it opens, carrying its diagnostics.
    let path = fx.work.path().join("broken.flow.json");
    std::fs::write(&path, to_canonical_json(&sluice::app::flow_from_json(&flow).unwrap())).unwrap();
    let opened = open(&fx.service, &path).await;
    let diags = opened["diagnostics"].as_array().unwrap();
    let unknown = diags.iter().find(|d| d["code"] == "unknown_kind").expect("unknown kind reported");
    assert_eq!(unknown["node_id"], "mystery");
    assert!(diags.iter().any(|d| d["code"] == "missing_node" && d["message"].as_str().unwrap().contains("nowhere")), "{diags:?}");

    let checked = ok(&fx.service, json!({"op": "check_flow", "flow": flow})).await;
    assert_eq!(checked["diagnostics"], opened["diagnostics"]);
    assert_eq!(checked["nodes"]["mystery"]["ports"]["inputs"], json!([]));
    assert_eq!(checked["nodes"]["show"]["ports"]["inputs"][0]["name"], "in");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_flow_never_fails_on_a_half_edited_flow() {
    let fx = fixture();
    // No name, a node without a kind: not a flow yet.
    let flow = json!({"version": 1, "nodes": [{"id": "read", "kind": "csv_source", "config": {}}, {"id": "x"}]});
    let checked = ok(&fx.service, json!({"op": "check_flow", "flow": flow})).await;
    let diags = checked["diagnostics"].as_array().unwrap();
    assert!(diags.iter().any(|d| d["message"].as_str().unwrap().contains("name")), "{diags:?}");
    assert!(diags.iter().any(|d| d["node_id"] == "x"), "{diags:?}");
    assert_eq!(checked["nodes"]["read"]["ports"]["outputs"][0]["name"], "out");

    // A param without a value is a diagnostic too, not an error of the call.
    let flow = json!({"version": 1, "name": "p", "params": [{"name": "input", "type": "path"}],
        "nodes": [{"id": "read", "kind": "csv_source", "config": {"path": "${input}"}}]});
    let checked = ok(&fx.service, json!({"op": "check_flow", "flow": flow})).await;
    assert!(checked["diagnostics"].as_array().unwrap().iter().any(|d| d["code"] == "missing_param"), "{checked}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_flow_gives_the_csv_header_as_the_next_nodes_input_fields() {
    let fx = fixture();
    let path = examples_dir().join("tickets-urgent/urgent.flow.json");
    let opened = open(&fx.service, &path).await;
    let checked = ok(&fx.service, json!({"op": "check_flow", "flow": opened["flow"], "path": path})).await;
    assert_eq!(checked["diagnostics"], json!([]), "{checked}");
    let source_out = &checked["nodes"]["tickets"]["outputs"]["out"];
    let names: Vec<&str> = source_out.as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(&names[..4], ["ticket_id", "created_at", "channel", "priority"]);
    assert_eq!(&checked["nodes"]["urgent"]["inputs"]["in"], source_out);
    assert_eq!(checked["nodes"]["urgent"]["ports"]["inputs"][0]["name"], "in");
    // The error port carries the source's fields plus the error fields.
    let error_fields = checked["nodes"]["tickets"]["outputs"]["error"].as_array().unwrap();
    assert!(error_fields.iter().any(|f| f["name"] == "_error_message"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_streams_its_events_to_the_end_with_row_counts() {
    let fx = fixture();
    write_tickets(&fx.work.path().join("in.csv"), 9);
    let mut rx = fx.service.subscribe();
    let res = ok(&fx.service, json!({"op": "start_run", "flow": csv_flow("in.csv", "out.csv"), "path": "urgent.flow.json"})).await;
    let run_id = res["run_id"].as_str().unwrap().to_string();
    let (events, summary) = events_until_finished(&mut rx, &run_id).await;

    assert!(matches!(&events[0], RunEvent::RunStarted { run_id: r, .. } if *r == run_id), "{:?}", events[0]);
    assert!(events.iter().any(|e| matches!(e, RunEvent::Metrics { .. })));
    assert_eq!(summary.status, RunStatus::Succeeded, "{summary:?}");
    assert_eq!(summary.node("read").unwrap().rows_out, 9);
    assert_eq!(summary.node("urgent").unwrap().rows_out, 3);
    assert_eq!(summary.node("write").unwrap().rows_in, 3);
    let out = std::fs::read_to_string(fx.work.path().join("out.csv")).unwrap();
    assert_eq!(out.lines().count(), 4, "{out}");
    let active = ok(&fx.service, json!({"op": "active_runs"})).await;
    assert_eq!(active["runs"], json!([]), "a finished run is no longer active");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flow_with_errors_does_not_start() {
    let fx = fixture();
    let err = call(&fx.service, json!({"op": "start_run", "flow": csv_flow("missing.csv", "out.csv")})).await.unwrap_err();
    assert_eq!(err.kind, AppErrorKind::InvalidFlow);
    assert_eq!(err.node_id.as_deref(), Some("read"));
    assert!(!err.diagnostics.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_run_ends_a_long_run_as_cancelled() {
    let fx = fixture();
    // Two million rows keep the run busy for seconds, long enough to stop it midway.
    write_tickets(&fx.work.path().join("big.csv"), 2_000_000);
    let mut rx = fx.service.subscribe();
    let res = ok(&fx.service, json!({"op": "start_run", "flow": csv_flow("big.csv", "out.csv")})).await;
    let run_id = res["run_id"].as_str().unwrap().to_string();

    let mut stopped = false;
    let summary = loop {
        let ev = rx.recv().await.unwrap();
        match ev.event {
            RunEvent::Metrics { nodes, .. } if !stopped && nodes.iter().any(|n| n.node_id == "write" && n.rows_in > 0) => {
                let active = ok(&fx.service, json!({"op": "active_runs"})).await;
                assert_eq!(active["runs"][0]["run_id"], run_id.as_str());
                assert_eq!(active["runs"][0]["flow_name"], "urgent only");
                assert_eq!(active["runs"][0]["node_states"]["read"], "running");
                assert!(!active["runs"][0]["metrics"].as_array().unwrap().is_empty());
                ok(&fx.service, json!({"op": "stop_run", "run_id": run_id})).await;
                stopped = true;
            }
            RunEvent::RunFinished { summary } => break summary,
            _ => {}
        }
    };
    assert!(stopped, "the run ended before rows reached the sink; give it more rows");
    assert_eq!(summary.status, RunStatus::Cancelled);
    assert!(!fx.work.path().join("out.csv").exists(), "a stopped run leaves no partial output");
    let again = call(&fx.service, json!({"op": "stop_run", "run_id": run_id})).await.unwrap_err();
    assert_eq!(again.kind, AppErrorKind::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preview_returns_rows_with_fields_and_never_writes() {
    let fx = fixture();
    write_tickets(&fx.work.path().join("in.csv"), 50);
    let res = ok(&fx.service, json!({"op": "preview", "flow": csv_flow("in.csv", "out.csv"), "node_id": "urgent", "rows": 4})).await;
    assert_eq!(res["node_id"], "urgent");
    assert_eq!(res["port"], "out");
    assert_eq!(res["fields"], json!([{"name": "ticket_id", "type": "int"}, {"name": "priority", "type": "string"}, {"name": "note", "type": "string"}]));
    assert_eq!(res["rows"], json!([[0, "urgent", "row 0"], [3, "urgent", "row 3"], [6, "urgent", "row 6"], [9, "urgent", "row 9"]]));
    assert_eq!(res["truncated"], true);
    assert!(!fx.work.path().join("out.csv").exists());

    let err = call(&fx.service, json!({"op": "preview", "flow": csv_flow("in.csv", "out.csv"), "node_id": "urgnet", "rows": 4})).await.unwrap_err();
    assert_eq!(err.kind, AppErrorKind::NotFound);
    assert!(err.message.contains("did you mean 'urgent'"), "{}", err.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_dir_puts_folders_first_and_filters_files() {
    let fx = fixture();
    let w = fx.work.path();
    std::fs::create_dir(w.join("Zeta")).unwrap();
    std::fs::create_dir(w.join("alpha")).unwrap();
    std::fs::create_dir(w.join(".git")).unwrap();
    std::fs::write(w.join("b.flow.json"), "{}").unwrap();
    std::fs::write(w.join("A.FLOW.JSON"), "{}").unwrap();
    std::fs::write(w.join("data.csv"), "a,b\n").unwrap();
    std::fs::write(w.join(".hidden.flow.json"), "{}").unwrap();

    let res = ok(&fx.service, json!({"op": "list_dir", "extensions": [".flow.json"]})).await;
    let names: Vec<&str> = res["entries"].as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["alpha", "Zeta", "A.FLOW.JSON", "b.flow.json"]);
    assert_eq!(res["entries"][0]["is_dir"], true);
    assert_eq!(res["entries"][3]["size"], 2);
    assert_eq!(res["path"], w.canonicalize().unwrap().to_string_lossy().as_ref());
    assert_eq!(res["parent"], w.canonicalize().unwrap().parent().unwrap().to_string_lossy().as_ref());

    let all = ok(&fx.service, json!({"op": "list_dir", "path": "."})).await;
    assert_eq!(all["entries"].as_array().unwrap().len(), 5);
    let inside = ok(&fx.service, json!({"op": "list_dir", "path": "alpha"})).await;
    assert_eq!(inside["entries"], json!([]));
    let missing = call(&fx.service, json!({"op": "list_dir", "path": "nope"})).await.unwrap_err();
    assert_eq!(missing.kind, AppErrorKind::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recent_files_are_newest_first_without_missing_ones() {
    let fx = fixture();
    let flow = json!({"version": 1, "name": "r", "nodes": []});
    for name in ["a", "b", "c"] {
        ok(&fx.service, json!({"op": "save_flow", "path": format!("{name}.flow.json"), "flow": flow})).await;
    }
    open(&fx.service, &fx.work.path().join("a.flow.json")).await;
    std::fs::remove_file(fx.work.path().join("b.flow.json")).unwrap();
    let res = ok(&fx.service, json!({"op": "recent_files"})).await;
    let names: Vec<&str> = res["files"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["a.flow.json", "c.flow.json"]);
    assert!(res["files"][0]["opened_at"].as_str().unwrap() >= res["files"][1]["opened_at"].as_str().unwrap());

    for i in 0..25 {
        ok(&fx.service, json!({"op": "save_flow", "path": format!("many{i}.flow.json"), "flow": flow})).await;
    }
    let res = ok(&fx.service, json!({"op": "recent_files"})).await;
    let files = res["files"].as_array().unwrap();
    assert_eq!(files.len(), sluice::app::MAX_RECENT_FILES);
    assert_eq!(files[0]["name"], "many24.flow.json");

    // A second service on the same state folder sees the same list.
    let other = AppService::new(AppConfig {
        work_dir: fx.work.path().to_path_buf(),
        mode: AppMode::Desktop,
        state_dir: Some(fx.service.state_dir().to_path_buf()),
        open_on_start: None,
    });
    let again = ok(&other, json!({"op": "recent_files"})).await;
    assert_eq!(again, res);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_decode_from_the_documented_json() {
    // The shapes in docs/app-api.md, as the UI sends them.
    let req: Request = serde_json::from_value(json!({"op": "check_flow", "flow": {"version": 1}})).unwrap();
    assert!(matches!(req, Request::CheckFlow { path: None, ref params, .. } if params == &BTreeMap::new()));
    let req: Request = serde_json::from_value(json!({"op": "list_dir"})).unwrap();
    assert!(matches!(req, Request::ListDir { path: None, ref extensions } if extensions.is_empty()));
    let req: Request = serde_json::from_value(json!({"op": "list_runs"})).unwrap();
    assert_eq!(req, Request::ListRuns { flow_path: None, limit: None });
    let req: Request = serde_json::from_value(json!({"op": "export_run_errors", "run_id": "r", "format": "json", "path": "x.json"})).unwrap();
    assert!(matches!(req, Request::ExportRunErrors { node_id: None, format: sluice::app::ExportFormat::Json, .. }));
}

/// Phones checked by a validate node: rows 2 and 4 fail. With `dead_letters` the node's
/// error output goes to a CSV of its own; without it the `fail` policy ends the run at the
/// first bad row.
fn phone_flow(name: &str, dead_letters: bool) -> Value {
    let mut nodes = vec![
        json!({"id": "rows", "kind": "inline_rows", "config": {
            "fields": [{"name": "id", "type": "int"}, {"name": "phone", "type": "string"}],
            "rows": [{"id": 1, "phone": "13812345678"}, {"id": 2, "phone": "bad"}, {"id": 3, "phone": "13900001111"}, {"id": 4, "phone": null}]}}),
        json!({"id": "check", "kind": "validate", "config": {"rules": [{"field": "phone", "required": true, "mobile_cn": true}]}}),
        json!({"id": "write", "kind": "csv_sink", "config": {"path": "out.csv"}}),
    ];
    let mut edges = vec![json!({"from": "rows", "to": "check"}), json!({"from": "check", "to": "write"})];
    if dead_letters {
        nodes.push(json!({"id": "dead", "kind": "csv_sink", "config": {"path": "dead.csv"}}));
        edges.push(json!({"from": "check", "from_port": "error", "to": "dead"}));
    }
    json!({"version": 1, "name": name, "params": [{"name": "who", "default": "me"}], "nodes": nodes, "edges": edges})
}

/// Starts a run and waits for its `run_finished` event: by then it is in the history.
async fn run_to_end(fx: &Fixture, req: Value) -> RunSummary {
    let mut rx = fx.service.subscribe();
    let res = ok(&fx.service, req).await;
    let run_id = res["run_id"].as_str().unwrap().to_string();
    events_until_finished(&mut rx, &run_id).await.1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_history_lists_shows_and_pages_a_runs_failed_rows() {
    let fx = fixture();
    let flow = phone_flow("phones", true);
    ok(&fx.service, json!({"op": "save_flow", "path": "phones.flow.json", "flow": flow})).await;
    let flow_file = fx.work.path().join("phones.flow.json").canonicalize().unwrap();
    let first = run_to_end(&fx, json!({"op": "start_run", "flow": flow, "path": "phones.flow.json", "params": {"who": "ana"}})).await;
    assert_eq!(first.status, RunStatus::Succeeded, "{first:?}");
    // A second run, of a flow never saved, that fails at the first bad row.
    let second = run_to_end(&fx, json!({"op": "start_run", "flow": phone_flow("unsaved", false)})).await;
    assert_eq!(second.status, RunStatus::Failed, "{second:?}");

    // Every flow, newest first; the saved flow's runs by its (relative) path.
    let all = ok(&fx.service, json!({"op": "list_runs"})).await;
    let ids: Vec<&str> = all["runs"].as_array().unwrap().iter().map(|r| r["run_id"].as_str().unwrap()).collect();
    assert_eq!(ids, [second.run_id.as_str(), first.run_id.as_str()]);
    let failed = &all["runs"][0];
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["flow_name"], "unsaved");
    assert!(failed.get("flow_path").is_none(), "{failed}");
    assert!(failed["error"].as_str().unwrap().contains("check"), "{failed}");
    let one = ok(&fx.service, json!({"op": "list_runs", "flow_path": "phones.flow.json"})).await;
    let runs = one["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "{one}");
    let run = &runs[0];
    assert_eq!(run["run_id"], first.run_id.as_str());
    assert_eq!(run["flow_name"], "phones");
    assert_eq!(run["flow_path"], flow_file.to_string_lossy().as_ref());
    assert_eq!(run["status"], "succeeded");
    assert_eq!((run["rows_in"].as_u64(), run["rows_out"].as_u64(), run["rows_error"].as_u64()), (Some(4), Some(2), Some(2)), "{run}");
    assert_eq!(run["started_at"], first.started_at.as_str());
    assert_eq!(run["duration_ms"], first.duration_ms);
    assert!(run.get("error").is_none());
    let limited = ok(&fx.service, json!({"op": "list_runs", "limit": 1})).await;
    assert_eq!(limited["runs"].as_array().unwrap().len(), 1);
    assert_eq!(limited["runs"][0]["run_id"], second.run_id.as_str());

    // One run by a prefix of its id (up to its random suffix: the runs were a moment apart).
    let prefix = &first.run_id[..first.run_id.len() - 4];
    let shown = ok(&fx.service, json!({"op": "get_run", "run_id": prefix})).await;
    let detail = &shown["run"];
    assert_eq!(detail["run_id"], first.run_id.as_str());
    assert_eq!(detail["params"], json!({"who": "ana"}));
    assert_eq!(detail["kept_error_rows"], 2);
    assert_eq!(detail["rows_error"], 2);
    let node = |id: &str| detail["nodes"].as_array().unwrap().iter().find(|n| n["node_id"] == id).cloned().unwrap_or_else(|| panic!("no node {id}: {detail}"));
    assert_eq!(detail["nodes"].as_array().unwrap().len(), 4);
    assert_eq!(detail["nodes"][0]["node_id"], "rows", "upstream first");
    let check = &node("check");
    assert_eq!(check["state"], "done");
    assert_eq!((check["rows_in"].as_u64(), check["rows_out"].as_u64(), check["rows_error"].as_u64()), (Some(4), Some(2), Some(2)));
    assert_eq!((check["kept_error_rows"].as_u64(), check["not_kept_error_rows"].as_u64()), (Some(2), Some(0)));
    assert_eq!(check["rows_error_unhandled"], 0, "the error output took them");
    assert_eq!(node("dead")["rows_in"], 2, "the dead letters reached their sink");
    assert_eq!(node("write")["rows_in"], 2);
    assert_eq!(node("rows")["kept_error_rows"], 0);

    // The failed run: its error on the node it failed in.
    let shown = ok(&fx.service, json!({"op": "get_run", "run_id": second.run_id})).await;
    assert_eq!(shown["run"]["status"], "failed");
    assert_eq!(shown["run"]["failed_node"], "check");
    let check = shown["run"]["nodes"].as_array().unwrap().iter().find(|n| n["node_id"] == "check").unwrap();
    assert_eq!(check["state"], "failed");
    assert_eq!(check["error"], shown["run"]["error"]);
    assert!(check["error"].as_str().unwrap().contains("wire the node's error output"), "{check}");

    // The kept rows, with their errors, page by page.
    let page = ok(&fx.service, json!({"op": "run_error_rows", "run_id": prefix, "node_id": "check"})).await;
    assert_eq!(page["run_id"], first.run_id.as_str());
    assert_eq!(page["node_id"], "check");
    assert_eq!(page["fields"], json!(["id", "phone"]));
    assert_eq!((page["total"].as_u64(), page["offset"].as_u64(), page["not_kept"].as_u64()), (Some(2), Some(0), Some(0)));
    let rows = page["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["row"], json!({"id": 2, "phone": "bad"}));
    assert_eq!(rows[0]["node_id"], "check");
    assert_eq!(rows[0]["field"], "phone");
    assert_eq!(rows[0]["handled"], true);
    assert!(!rows[0]["message"].as_str().unwrap().is_empty());
    assert_eq!(rows[1]["row"], json!({"id": 4, "phone": null}));
    let second_page = ok(&fx.service, json!({"op": "run_error_rows", "run_id": first.run_id, "limit": 1, "offset": 1})).await;
    assert_eq!(second_page["total"], 2);
    assert_eq!(second_page["offset"], 1);
    assert_eq!(second_page["rows"], json!([rows[1]]));
    assert_eq!(second_page["fields"], json!(["id", "phone"]), "the columns of every row, not only the page's");
    let none = ok(&fx.service, json!({"op": "run_error_rows", "run_id": first.run_id, "node_id": "write"})).await;
    assert_eq!((none["total"].as_u64(), none["rows"].clone()), (Some(0), json!([])));
    let unhandled = ok(&fx.service, json!({"op": "run_error_rows", "run_id": second.run_id})).await;
    assert_eq!(unhandled["rows"][0]["handled"], false, "{unhandled}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_rows_export_to_csv_and_json_files() {
    let fx = fixture();
    let summary = run_to_end(&fx, json!({"op": "start_run", "flow": phone_flow("phones", true)})).await;
    let id = summary.run_id.as_str();

    let res = ok(&fx.service, json!({"op": "export_run_errors", "run_id": id, "node_id": "check", "format": "csv", "path": "errors.csv"})).await;
    let csv_file = fx.work.path().join("errors.csv");
    assert_eq!(res["path"], csv_file.canonicalize().unwrap().to_string_lossy().as_ref());
    assert_eq!(res["rows"], 2);
    let csv = std::fs::read_to_string(&csv_file).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "_error_node,_error_message,_error_field,_error_line,_error_raw,_error_handled,id,phone");
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[1].starts_with("check,") && lines[1].ends_with(",phone,,,true,2,bad"), "{}", lines[1]);
    assert!(lines[2].ends_with(",true,4,"), "{}", lines[2]);

    // JSON: the kept rows as `run_error_rows` gives them. An existing file is replaced, as
    // saving a flow replaces it.
    let json_file = fx.work.path().join("errors.json");
    std::fs::write(&json_file, "old").unwrap();
    let res = ok(&fx.service, json!({"op": "export_run_errors", "run_id": id, "format": "json", "path": json_file})).await;
    assert_eq!(res["rows"], 2);
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&json_file).unwrap()).unwrap();
    let page = ok(&fx.service, json!({"op": "run_error_rows", "run_id": id})).await;
    assert_eq!(written, page["rows"]);
    let mut names: Vec<String> = std::fs::read_dir(fx.work.path()).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names, ["dead.csv", "errors.csv", "errors.json", "out.csv"], "no temporary file may be left behind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_requests_that_cannot_be_answered_say_why() {
    let fx = fixture();
    // An empty history is an empty list, not an error.
    assert_eq!(ok(&fx.service, json!({"op": "list_runs"})).await["runs"], json!([]));
    let summary = run_to_end(&fx, json!({"op": "start_run", "flow": phone_flow("phones", true)})).await;
    let id = summary.run_id.as_str();

    let err = call(&fx.service, json!({"op": "get_run", "run_id": "nope"})).await.unwrap_err();
    assert_eq!(err.kind, AppErrorKind::NotFound);
    assert!(err.message.contains("'nope'") && err.message.contains("list_runs"), "{}", err.message);
    let err = call(&fx.service, json!({"op": "run_error_rows", "run_id": "nope"})).await.unwrap_err();
    assert_eq!(err.kind, AppErrorKind::NotFound);
    let err = call(&fx.service, json!({"op": "get_run", "run_id": " "})).await.unwrap_err();
    assert_eq!(err.kind, AppErrorKind::BadRequest);

    let err = call(&fx.service, json!({"op": "run_error_rows", "run_id": id, "node_id": "chek"})).await.unwrap_err();
    assert_eq!(err.kind, AppErrorKind::NotFound);
    assert_eq!(err.node_id.as_deref(), Some("chek"));
    assert!(err.message.contains("did you mean 'check'"), "{}", err.message);
    let err = call(&fx.service, json!({"op": "run_error_rows", "run_id": id, "limit": 0})).await.unwrap_err();
    assert_eq!(err.kind, AppErrorKind::BadRequest);
    assert!(err.message.contains("10000"), "{}", err.message);
    let err = call(&fx.service, json!({"op": "list_runs", "limit": 5000})).await.unwrap_err();
    assert_eq!(err.kind, AppErrorKind::BadRequest);

    std::fs::create_dir(fx.work.path().join("exports")).unwrap();
    let err = call(&fx.service, json!({"op": "export_run_errors", "run_id": id, "format": "csv", "path": "exports"})).await.unwrap_err();
    assert_eq!(err.kind, AppErrorKind::BadRequest);
    assert!(err.message.contains("folder"), "{}", err.message);
    let err = call(&fx.service, json!({"op": "export_run_errors", "run_id": id, "format": "csv", "path": "missing/errors.csv"})).await.unwrap_err();
    assert!(matches!(err.kind, AppErrorKind::NotFound | AppErrorKind::Io), "{err:?}");
    assert!(err.message.contains("missing"), "{}", err.message);
    let err = call(&fx.service, json!({"op": "export_run_errors", "run_id": "nope", "format": "json", "path": "x.json"})).await.unwrap_err();
    assert_eq!(err.kind, AppErrorKind::NotFound);
    assert!(!fx.work.path().join("x.json").exists());
}

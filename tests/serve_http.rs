//! `sluice serve` as a user's browser meets it: the real binary on 127.0.0.1, the printed
//! address and token, `POST /api/call`, the `GET /api/events` stream and the designer's
//! files.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A running `sluice serve`, stopped when dropped.
struct Server {
    child: Child,
    base: String,
    token: String,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(work_dir: &Path, ui_dir: &Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["serve", "--port", "0", "--ui-dir"])
        .arg(ui_dir)
        .current_dir(work_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.trim().strip_prefix("Sluice designer: ").unwrap_or_else(|| panic!("unexpected first line {line:?}")).to_string();
    let rest = url.strip_prefix("http://127.0.0.1:").unwrap_or_else(|| panic!("not a 127.0.0.1 address: {url}"));
    let (port, query) = rest.split_once("/?token=").unwrap();
    assert_eq!(query.len(), 32, "token of 32 hex digits: {query}");
    assert!(query.chars().all(|c| c.is_ascii_hexdigit()));
    let port: u16 = port.parse().unwrap();
    Server { child, base: format!("http://127.0.0.1:{port}"), token: query.to_string(), port }
}

struct Setup {
    work: tempfile::TempDir,
    _ui: tempfile::TempDir,
    server: Server,
    http: reqwest::Client,
}

fn setup() -> Setup {
    let work = tempfile::tempdir().unwrap();
    let ui = tempfile::tempdir().unwrap();
    std::fs::write(ui.path().join("index.html"), "<!doctype html><title>designer</title>").unwrap();
    std::fs::create_dir(ui.path().join("assets")).unwrap();
    std::fs::write(ui.path().join("assets/app.js"), "console.log('designer')").unwrap();
    let server = start_server(work.path(), ui.path());
    // reqwest is built with rustls and no provider of its own (see connectors::http).
    sluice::connectors::http::install_crypto_provider();
    Setup { work, _ui: ui, server, http: reqwest::Client::new() }
}

impl Setup {
    async fn call(&self, req: Value) -> (u16, Value) {
        let res = self
            .http
            .post(format!("{}/api/call", self.server.base))
            .bearer_auth(&self.server.token)
            .json(&req)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap())
    }
}

#[tokio::test]
async fn api_calls_need_the_token() {
    let s = setup();
    let url = format!("{}/api/call", s.server.base);
    let none = s.http.post(&url).json(&json!({"op": "catalog"})).send().await.unwrap();
    assert_eq!(none.status().as_u16(), 401);
    let body: Value = none.json().await.unwrap();
    assert_eq!(body["kind"], "unauthorized");
    assert!(body["message"].as_str().unwrap().contains("token"));

    let wrong = s.http.post(&url).bearer_auth("0".repeat(32)).json(&json!({"op": "catalog"})).send().await.unwrap();
    assert_eq!(wrong.status().as_u16(), 401);
    let wrong_query = s.http.get(format!("{}/api/events?token=abc", s.server.base)).send().await.unwrap();
    assert_eq!(wrong_query.status().as_u16(), 401);

    let (status, body) = s.call(json!({"op": "catalog"})).await;
    assert_eq!(status, 200);
    assert_eq!(body["op"], "catalog");
    assert!(body["kinds"].as_array().unwrap().iter().any(|k| k["kind"] == "csv_source"));

    // The token also works in the query (EventSource cannot set headers).
    let by_query = s.http.post(format!("{url}?token={}", s.server.token)).json(&json!({"op": "info"})).send().await.unwrap();
    assert_eq!(by_query.status().as_u16(), 200);
    let info: Value = by_query.json().await.unwrap();
    assert_eq!(info["mode"], "browser");
    assert_eq!(info["work_dir"], s.work.path().canonicalize().unwrap().to_string_lossy().as_ref());
}

#[tokio::test]
async fn errors_come_back_as_app_errors_with_their_status() {
    let s = setup();
    let (status, body) = s.call(json!({"op": "no_such_op"})).await;
    assert_eq!(status, 400);
    assert_eq!(body["kind"], "bad_request");

    let (status, body) = s.call(json!({"op": "open_flow", "path": "missing.flow.json"})).await;
    assert_eq!(status, 404);
    assert_eq!(body["kind"], "not_found");

    std::fs::write(s.work.path().join("bad.flow.json"), "{\"version\": 1,\n\"name\": }").unwrap();
    let (status, body) = s.call(json!({"op": "open_flow", "path": "bad.flow.json"})).await;
    assert_eq!(status, 400);
    assert_eq!(body["kind"], "invalid_flow");
    assert_eq!(body["diagnostics"][0]["line"], 2);

    let (status, body) = s.call(json!({"op": "stop_run", "run_id": "nope"})).await;
    assert_eq!(status, 404);
    assert_eq!(body["kind"], "not_found");
}

#[tokio::test]
async fn run_events_arrive_over_sse_until_the_run_finishes() {
    let s = setup();
    std::fs::write(s.work.path().join("in.csv"), "id,priority\n1,urgent\n2,low\n3,urgent\n").unwrap();
    let flow = json!({"version": 1, "name": "sse", "nodes": [
        {"id": "read", "kind": "csv_source", "config": {"path": "in.csv"}},
        {"id": "write", "kind": "csv_sink", "config": {"path": "out.csv"}}],
        "edges": [{"from": "read", "to": "write"}]});

    let mut events = s.http.get(format!("{}/api/events?token={}", s.server.base, s.server.token)).send().await.unwrap();
    assert_eq!(events.status().as_u16(), 200);
    assert!(events.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));

    let (status, body) = s.call(json!({"op": "start_run", "flow": flow})).await;
    assert_eq!(status, 200, "{body}");
    let run_id = body["run_id"].as_str().unwrap().to_string();

    let mut buffer = String::new();
    let mut seen = Vec::new();
    let summary = 'outer: loop {
        let chunk = events.chunk().await.unwrap().expect("the stream stays open until the run finishes");
        buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = buffer.find("\n\n") {
            let frame: String = buffer.drain(..end + 2).collect();
            let mut name = "";
            let mut data = String::new();
            for line in frame.lines() {
                if let Some(n) = line.strip_prefix("event: ") {
                    name = n;
                } else if let Some(d) = line.strip_prefix("data: ") {
                    data.push_str(d);
                }
            }
            if name != "run-event" {
                continue;
            }
            let ev: Value = serde_json::from_str(&data).unwrap();
            assert_eq!(ev["run_id"], run_id.as_str());
            seen.push(ev["event"]["type"].as_str().unwrap().to_string());
            if ev["event"]["type"] == "run_finished" {
                break 'outer ev["event"]["summary"].clone();
            }
        }
    };
    assert_eq!(seen.first().map(String::as_str), Some("run_started"), "{seen:?}");
    assert!(seen.iter().any(|t| t == "metrics"), "{seen:?}");
    assert_eq!(summary["status"], "succeeded");
    let write = summary["nodes"].as_array().unwrap().iter().find(|n| n["node_id"] == "write").unwrap();
    assert_eq!(write["rows_in"], 3);
    assert_eq!(std::fs::read_to_string(s.work.path().join("out.csv")).unwrap().lines().count(), 4);
}

#[tokio::test]
async fn the_designer_files_are_served_with_index_html_for_unknown_paths() {
    let s = setup();
    let get = |path: &str| s.http.get(format!("{}{path}", s.server.base)).send();
    let root = get("/").await.unwrap();
    assert_eq!(root.status().as_u16(), 200);
    assert!(root.text().await.unwrap().contains("<title>designer</title>"));
    let asset = get("/assets/app.js").await.unwrap();
    assert_eq!(asset.status().as_u16(), 200);
    assert!(asset.headers()["content-type"].to_str().unwrap().contains("javascript"));
    assert_eq!(asset.text().await.unwrap(), "console.log('designer')");
    let deep = get("/flows/some/route").await.unwrap();
    assert_eq!(deep.status().as_u16(), 200);
    assert!(deep.text().await.unwrap().contains("<title>designer</title>"));
    // Unknown API paths are API errors, not the page (and need the token like the rest).
    let api = s.http.get(format!("{}/api/nothing", s.server.base)).bearer_auth(&s.server.token).send().await.unwrap();
    assert_eq!(api.status().as_u16(), 404);
    assert_eq!(api.json::<Value>().await.unwrap()["kind"], "not_found");
}

#[test]
#[cfg(target_os = "linux")]
fn it_listens_on_127_0_0_1_only() {
    let s = setup();
    // /proc/net/tcp lists listening sockets (state 0A) as hex address:port.
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let port = format!("{:04X}", s.server.port);
    let listening: Vec<&str> = table
        .lines()
        .skip(1)
        .filter_map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            (cols[3] == "0A" && cols[1].ends_with(&format!(":{port}"))).then_some(cols[1])
        })
        .collect();
    assert_eq!(listening, vec![format!("0100007F:{port}")], "bound to 127.0.0.1 and nothing else");
    let v6 = std::fs::read_to_string("/proc/net/tcp6").unwrap_or_default();
    assert!(!v6.lines().skip(1).any(|l| l.split_whitespace().nth(1).is_some_and(|a| a.ends_with(&format!(":{port}")))));
}

#[tokio::test]
#[cfg(unix)]
async fn ctrl_c_stops_the_server_cleanly_even_with_an_event_stream_open() {
    let mut s = setup();
    let mut events = s.http.get(format!("{}/api/events?token={}", s.server.base, s.server.token)).send().await.unwrap();
    assert_eq!(events.status().as_u16(), 200);
    let ok = Command::new("kill").args(["-INT", &s.server.child.id().to_string()]).status().unwrap();
    assert!(ok.success());
    // The open stream ends instead of keeping the server alive.
    while let Ok(Some(_)) = events.chunk().await {}
    let status = s.server.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

#[test]
fn a_ui_dir_without_index_html_is_refused_with_how_to_build_it() {
    let work = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["serve", "--port", "0", "--ui-dir"])
        .arg(work.path().join("no-such-build"))
        .current_dir(work.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(2));
    assert!(err.contains("npm --prefix ui ci && npm --prefix ui run build"), "{err}");
}

#[tokio::test]
async fn without_any_designer_build_the_root_page_says_how_to_build_it() {
    // A binary whose `../../ui/dist` and working folder hold no build: a hard link in a
    // fresh folder of the target directory (same file system, so no 100 MB copy).
    let root = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let bin_dir = root.path().join("target/debug");
    std::fs::create_dir_all(&bin_dir).unwrap();
    let exe = bin_dir.join("sluice");
    if std::fs::hard_link(env!("CARGO_BIN_EXE_sluice"), &exe).is_err() {
        std::fs::copy(env!("CARGO_BIN_EXE_sluice"), &exe).unwrap();
    }
    let mut child = Command::new(&exe)
        .args(["serve", "--port", "0"])
        .env_remove("SLUICE_UI_DIR")
        .current_dir(root.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let server = Server { base: String::new(), token: String::new(), port: 0, child };
    let url = line.trim().strip_prefix("Sluice designer: ").unwrap().to_string();
    let page = reqwest::get(&url).await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("npm --prefix ui ci &amp;&amp; npm --prefix ui run build"), "{html}");
    drop(server);
}

#[tokio::test]
async fn serve_with_listen_takes_webhooks_for_a_flow_beside_the_designer() {
    sluice::connectors::http::install_crypto_provider();
    let work = tempfile::tempdir().unwrap();
    let flow = json!({
        "version": 1,
        "name": "hook",
        "nodes": [
            {"id": "hook", "kind": "webhook_source", "config": {
                "path": "/hooks/tickets",
                "auth": {"type": "token", "secret_env": "SERVE_HOOK_TOKEN", "header": "X-Token"},
                "fields": [{"name": "ticket_id", "type": "int"}, {"name": "status", "type": "string"}]
            }},
            {"id": "out", "kind": "csv_sink", "config": {"path": "out/events.csv", "if_exists": "append"}}
        ],
        "edges": [{"from": "hook", "from_port": "out", "to": "out", "to_port": "in"}]
    });
    std::fs::write(work.path().join("hook.flow.json"), serde_json::to_string_pretty(&flow).unwrap()).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["serve", "--port", "0", "--listen", "hook.flow.json", "--listen-port", "0"])
        .current_dir(work.path())
        .env("SERVE_HOOK_TOKEN", "s3cret")
        .env("SLUICE_STATE_DIR", work.path().join("state"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let hook_url = lines.next().unwrap().unwrap();
    let hook_url = hook_url.strip_prefix("Sluice listening: ").unwrap_or_else(|| panic!("first line names the webhook: {hook_url}")).to_string();
    assert!(hook_url.starts_with("http://127.0.0.1:") && hook_url.ends_with("/hooks/tickets"), "{hook_url}");
    let designer = lines.next().unwrap().unwrap();
    assert!(designer.starts_with("Sluice designer: http://127.0.0.1:"), "{designer}");

    let http = reqwest::Client::new();
    let refused = http.post(&hook_url).header("X-Token", "guess").json(&json!({"ticket_id": 1, "status": "open"})).send().await.unwrap();
    assert_eq!(refused.status().as_u16(), 401);
    let taken = http.post(&hook_url).header("X-Token", "s3cret").json(&json!({"ticket_id": 7, "status": "solved"})).send().await.unwrap();
    assert_eq!(taken.status().as_u16(), 202);

    let out = work.path().join("out/events.csv");
    let mut text = String::new();
    for _ in 0..200 {
        text = std::fs::read_to_string(&out).unwrap_or_default();
        if text.lines().count() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows.len(), 2, "a header and the one accepted event: {text}");
    assert!(rows[1].starts_with("7,solved,"), "{}", rows[1]);
    let _ = child.kill();
    let _ = child.wait();
}

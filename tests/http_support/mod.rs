//! What the HTTP node tests share: a real axum server on 127.0.0.1 (port 0) that each test
//! scripts, a request log, and flows built around one HTTP node. No mocks: the nodes talk
//! to the server over TCP exactly as they would to a real API.
#![allow(dead_code)]

use axum::body::Body;
use axum::http::{HeaderMap, Response, StatusCode};
use serde_json::{json, Value as J};
use std::sync::{Arc, Mutex};

/// Starts `router` on 127.0.0.1 with a free port; returns `http://127.0.0.1:PORT`. The
/// server lives until the test's runtime ends.
pub async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    format!("http://{addr}")
}

/// A port with nothing listening on it (bound, then closed): connections are refused.
pub async fn dead_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

/// A response with a status, headers and a body.
pub fn reply(status: u16, headers: &[(&str, String)], body: impl Into<String>) -> Response<Body> {
    let mut b = Response::builder().status(StatusCode::from_u16(status).unwrap());
    for (k, v) in headers {
        b = b.header(*k, v.as_str());
    }
    b.body(Body::from(body.into())).unwrap()
}

pub fn json_reply(status: u16, body: &J) -> Response<Body> {
    reply(status, &[("content-type", "application/json".into())], body.to_string())
}

/// Every request the server saw: method, path and query, and chosen headers.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    pub uri: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

#[derive(Clone, Default)]
pub struct Log(pub Arc<Mutex<Vec<Seen>>>);

impl Log {
    pub fn record(&self, uri: &axum::http::Uri, headers: &HeaderMap, body: &[u8]) {
        let headers = headers.iter().map(|(k, v)| (k.to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned())).collect();
        self.0.lock().unwrap().push(Seen { uri: uri.to_string(), headers, body: String::from_utf8_lossy(body).into_owned() });
    }
    pub fn all(&self) -> Vec<Seen> {
        self.0.lock().unwrap().clone()
    }
    pub fn uris(&self) -> Vec<String> {
        self.all().into_iter().map(|s| s.uri).collect()
    }
    pub fn count(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Incremental sources keep watermarks in the local state store; tests keep theirs in a
/// folder of their own instead of the user's.
pub fn isolate_state() {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    let dir = DIR.get_or_init(|| tempfile::tempdir().unwrap());
    std::env::set_var("SLUICE_STATE_DIR", dir.path());
}

/// Retries that wait a millisecond, so that retry tests take no time.
pub fn fast_retry(attempts: u32) -> J {
    json!({"max_attempts": attempts, "base_delay_ms": 1, "max_delay_ms": 5, "max_retry_after_ms": 50})
}

/// A flow: `src` (an http_source with `config`) → `sink` (log).
pub fn source_flow(config: J) -> String {
    json!({
        "version": 1,
        "name": "http source test",
        "nodes": [
            {"id": "src", "kind": "http_source", "config": config},
            {"id": "sink", "kind": "log", "config": {}}
        ],
        "edges": [
            {"from": "src", "from_port": "out", "to": "sink", "to_port": "in"}
        ]
    })
    .to_string()
}

/// A flow: `src` (inline rows) → `node` (`kind` with `config`) with its `error` output
/// wired to a log sink too, so failed rows are kept rather than failing the run.
pub fn node_flow(fields: J, rows: J, kind: &str, config: J) -> String {
    let mut nodes = vec![
        json!({"id": "src", "kind": "inline_rows", "config": {"fields": fields, "rows": rows}}),
        json!({"id": "node", "kind": kind, "config": config}),
        json!({"id": "errors", "kind": "log", "config": {}}),
    ];
    let mut edges = vec![
        json!({"from": "src", "from_port": "out", "to": "node", "to_port": "in"}),
        json!({"from": "node", "from_port": "error", "to": "errors", "to_port": "in"}),
    ];
    if kind != "http_sink" {
        nodes.push(json!({"id": "sink", "kind": "log", "config": {}}));
        edges.push(json!({"from": "node", "from_port": "out", "to": "sink", "to_port": "in"}));
    }
    json!({"version": 1, "name": "http node test", "nodes": nodes, "edges": edges}).to_string()
}

//! The example `flows-examples/http-tickets-to-crm` run against a stand-in CRM served on
//! 127.0.0.1 by the test (the example needs a server, so it is tested here with one; the
//! golden test runs it without, where every ticket must land in `out/lookup_failed.csv`).

mod http_support;

use axum::http::{HeaderMap, Uri};
use axum::routing::{get, post};
use http_support::*;
use serde_json::{json, Value as J};
use sluice::exec::{start_run, RunOptions, RunStatus, RunSummary};
use sluice::flow::load_flow_file;
use sluice::plan::plan_flow;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

fn example_copy() -> (tempfile::TempDir, PathBuf) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("flows-examples/http-tickets-to-crm");
    let dir = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(&src).unwrap().flatten() {
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), dir.path().join(e.file_name())).unwrap();
        }
    }
    let flow = dir.path().join("tickets-to-crm.flow.json");
    (dir, flow)
}

async fn run_example(flow: &Path, crm_url: &str) -> RunSummary {
    let (flow, base) = load_flow_file(flow).unwrap_or_else(|d| panic!("{d}"));
    let params = BTreeMap::from([("crm_url".to_string(), crm_url.to_string())]);
    let plan = plan_flow(&flow, &base, &params).unwrap_or_else(|d| panic!("{d}"));
    start_run(plan, RunOptions::default()).wait().await
}

/// Data lines of a CSV the flow wrote (none if it wrote no file).
fn data_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path).map(|t| t.lines().skip(1).map(str::to_string).collect()).unwrap_or_default()
}

#[derive(Default)]
struct Crm {
    tickets: Mutex<BTreeMap<String, J>>,
    posts: Mutex<HashMap<String, u32>>,
    customer_calls: Mutex<Vec<String>>,
}

#[tokio::test(flavor = "multi_thread")]
async fn the_example_delivers_every_ticket_once_to_a_crm() {
    let crm = Arc::new(Crm::default());
    let (c1, c2) = (crm.clone(), crm.clone());
    let app = axum::Router::new()
        .route(
            "/api/customers/{id}",
            get(move |uri: Uri| {
                let crm = c1.clone();
                async move {
                    let id = uri.path().rsplit('/').next().unwrap().to_string();
                    crm.customer_calls.lock().unwrap().push(id.clone());
                    match id.strip_prefix("C1") {
                        Some(n) if id != "C9999" => json_reply(
                            200,
                            &json!({"data": {"id": format!("crm-{n}"), "tier": if n == "001" { "gold" } else { "standard" }, "name": "…"}}),
                        ),
                        _ => json_reply(404, &json!({"error": "unknown customer"})),
                    }
                }
            }),
        )
        .route(
            "/api/tickets",
            post(move |h: HeaderMap, body: String| {
                let crm = c2.clone();
                async move {
                    let key = h.get("idempotency-key").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                    let n = {
                        let mut p = crm.posts.lock().unwrap();
                        let e = p.entry(key.clone()).or_default();
                        *e += 1;
                        *e
                    };
                    // The urgent refund ticket meets a busy CRM once.
                    if key == "10000004" && n == 1 {
                        return reply(503, &[("retry-after", "0".into())], "busy");
                    }
                    let mut t = crm.tickets.lock().unwrap();
                    if t.contains_key(&key) {
                        return json_reply(409, &json!({"error": "exists"}));
                    }
                    t.insert(key, serde_json::from_str(&body).unwrap());
                    json_reply(201, &json!({"ok": true}))
                }
            }),
        );
    let base = serve(app).await;
    let (dir, flow) = example_copy();
    let s = run_example(&flow, &base).await;
    assert_eq!(s.status, RunStatus::Succeeded, "{:?}", s.error);
    let tickets = crm.tickets.lock().unwrap().clone();
    assert_eq!(tickets.keys().cloned().collect::<Vec<_>>(), (1..=8).map(|i| format!("1000000{i}")).collect::<Vec<_>>());
    assert_eq!(
        tickets["10000001"],
        json!({
            "external_id": 10000001, "customer": "crm-001", "tier": "gold", "channel": "phone", "priority": "high",
            "status": "open", "title": "账户被冻结，请尽快处理", "opened_at": "2024-03-01T09:12:00+08:00", "source": "sluice"
        })
    );
    assert_eq!(tickets["10000007"]["customer"], J::Null, "an unknown customer leaves the CRM fields empty");
    assert_eq!(crm.posts.lock().unwrap()["10000004"], 2, "the 503 was retried");
    let mut calls = crm.customer_calls.lock().unwrap().clone();
    calls.sort();
    assert_eq!(calls, ["C1001", "C1002", "C1003", "C1004", "C1005", "C9999"], "one lookup per customer");
    assert!(data_lines(&dir.path().join("out/lookup_failed.csv")).is_empty());
    assert!(data_lines(&dir.path().join("out/not_delivered.csv")).is_empty());

    // Run again: the CRM answers 409 for tickets it has, which counts as delivered.
    let s = run_example(&flow, &base).await;
    assert_eq!(s.status, RunStatus::Succeeded, "{:?}", s.error);
    assert_eq!(crm.tickets.lock().unwrap().len(), 8);
    assert!(data_lines(&dir.path().join("out/not_delivered.csv")).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn with_the_crm_down_every_ticket_lands_in_a_failure_file() {
    let (dir, flow) = example_copy();
    let s = run_example(&flow, &dead_url().await).await;
    assert_eq!(s.status, RunStatus::Succeeded, "{:?}", s.error);
    let failed = data_lines(&dir.path().join("out/lookup_failed.csv"));
    assert_eq!(failed.len(), 8, "{failed:?}");
    assert!(failed[0].contains("cannot connect") && failed[0].contains("after 3 attempts"), "{}", failed[0]);
}

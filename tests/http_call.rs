//! `http_call` against a real HTTP server on 127.0.0.1: enrichment by path, the cache,
//! the concurrency limit, POST bodies, and failures that send rows to the error output.

mod common;
mod http_support;

use axum::http::Uri;
use axum::routing::{get, post};
use common::{column, run_capture, Captured};
use http_support::*;
use serde_json::{json, Value as J};
use sluice::exec::{RunStatus, RunSummary};
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;

async fn run(flow: &str) -> (RunSummary, Captured, Captured) {
    let (summary, mut caps) = run_capture(flow, Path::new("."), &[("node", "out"), ("node", "error")]).await;
    let err = caps.pop().unwrap();
    let out = caps.pop().unwrap();
    (summary, out, err)
}

fn tickets(customers: &[i64]) -> (J, J) {
    let fields = json!([{"name": "ticket_id", "type": "int"}, {"name": "customer_id", "type": "int"}, {"name": "subject", "type": "string"}]);
    let rows = J::Array(
        customers.iter().enumerate().map(|(i, c)| json!({"ticket_id": i + 1, "customer_id": c, "subject": format!("问题 {}", i + 1)})).collect(),
    );
    (fields, rows)
}

/// Requests in flight now and at most.
#[derive(Default)]
struct InFlight {
    now: AtomicU32,
    max: AtomicU32,
}

#[tokio::test(flavor = "multi_thread")]
async fn rows_are_enriched_in_order_with_one_call_per_customer_and_bounded_concurrency() {
    let log = Log::default();
    let flight = Arc::new(InFlight::default());
    let (l, f) = (log.clone(), flight.clone());
    let app = axum::Router::new().route(
        "/customers/{id}",
        get(move |uri: Uri| {
            let (l, f) = (l.clone(), f.clone());
            async move {
                l.record(&uri, &Default::default(), b"");
                let now = f.now.fetch_add(1, SeqCst) + 1;
                f.max.fetch_max(now, SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
                f.now.fetch_sub(1, SeqCst);
                let id: i64 = uri.path().rsplit('/').next().unwrap().parse().unwrap();
                if id == 9 {
                    return json_reply(404, &json!({"error": "no such customer"}));
                }
                let tier = ["bronze", "silver", "gold"][(id % 3) as usize];
                json_reply(200, &json!({"data": {"tier": tier, "since": format!("202{id}-01-15"), "tags": ["vip"], "profile": {"name": format!("客户{id}")}}}))
            }
        }),
    );
    let base = serve(app).await;
    let customers = [1, 2, 3, 1, 2, 9, 4, 5, 1, 3, 6, 2];
    let (fields, rows) = tickets(&customers);
    let flow = node_flow(
        fields,
        rows,
        "http_call",
        json!({
            "url": format!("{base}/customers/{{customer_id}}"),
            "response_path": "data",
            "fields": [
                {"name": "crm_tier", "path": "tier", "type": "string"},
                {"name": "crm_since", "path": "since", "type": "date"},
                {"name": "crm_name", "path": "profile.name", "type": "string"}
            ],
            "response_field": "crm",
            "on_not_found": "null",
            "limits": {"concurrency": 2}
        }),
    );
    let (s, out, err) = run(&flow).await;
    assert_eq!(s.status, RunStatus::Succeeded, "{:?}", s.error);
    assert!(err.rows.is_empty(), "{:?}", err.json());
    assert_eq!(out.field_names(), vec!["ticket_id", "customer_id", "subject", "crm_tier", "crm_since", "crm_name", "crm"]);
    let ticket_ids: Vec<i64> = column(&out, "ticket_id").iter().map(|v| v.as_i64().unwrap()).collect();
    assert_eq!(ticket_ids, (1..=12).collect::<Vec<_>>(), "rows keep their order");
    let first = &out.json()[0];
    assert_eq!(first["crm_tier"], json!("silver"));
    assert_eq!(first["crm_since"], json!("2021-01-15"));
    assert_eq!(first["crm_name"], json!("客户1"));
    assert_eq!(first["crm"]["tags"], json!(["vip"]));
    let missing = &out.json()[5];
    assert_eq!((missing["customer_id"].clone(), missing["crm_tier"].clone(), missing["crm"].clone()), (json!(9), J::Null, J::Null));
    let mut called = log.uris();
    called.sort();
    assert_eq!(called, ["/customers/1", "/customers/2", "/customers/3", "/customers/4", "/customers/5", "/customers/6", "/customers/9"]);
    assert!(flight.max.load(SeqCst) <= 2, "at most 2 calls in flight, saw {}", flight.max.load(SeqCst));
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_calls_send_their_rows_to_the_error_output() {
    let flaky = Arc::new(AtomicU32::new(0));
    let fl = flaky.clone();
    let app = axum::Router::new()
        .route(
            "/customers/{id}",
            get(move |uri: Uri| {
                let fl = fl.clone();
                async move {
                    let id: i64 = uri.path().rsplit('/').next().unwrap().parse().unwrap();
                    match id {
                        7 => reply(200, &[("content-type", "application/json".into())], "{\"tier\": "),
                        8 => reply(500, &[], "database exploded"),
                        9 => json_reply(404, &json!({"error": "no such customer"})),
                        5 => json_reply(200, &json!({"tier": "gold", "since": true})),
                        // Two 503s, then an answer: retried, not failed.
                        4 if fl.fetch_add(1, SeqCst) < 2 => reply(503, &[("retry-after", "0".into())], "busy"),
                        _ => json_reply(200, &json!({"tier": "silver", "since": "2023-06-01"})),
                    }
                }
            }),
        )
        .route(
            "/classify",
            post(|body: String| async move {
                let b: J = serde_json::from_str(&body).unwrap();
                let text = b["text"].as_str().unwrap_or("");
                json_reply(200, &json!({"label": if text.contains('3') { "refund" } else { "other" }, "echo": b}))
            }),
        );
    let base = serve(app).await;
    let (fields, rows) = tickets(&[1, 7, 8, 9, 5, 4, 2]);
    let flow = node_flow(
        fields.clone(),
        rows.clone(),
        "http_call",
        json!({
            "url": format!("{base}/customers/{{customer_id}}"),
            "fields": [{"name": "tier", "type": "string"}, {"name": "since", "type": "date"}],
            "retry": fast_retry(3)
        }),
    );
    let (s, out, err) = run(&flow).await;
    assert_eq!(s.status, RunStatus::Succeeded, "{:?}", s.error);
    assert_eq!(column(&out, "customer_id"), vec![json!(1), json!(4), json!(2)]);
    assert_eq!(flaky.load(SeqCst), 3, "customer 4 took three attempts");
    let errs = err.json();
    let by_customer = |c: i64| errs.iter().find(|e| e["customer_id"] == json!(c)).unwrap_or_else(|| panic!("no error row for {c}")).clone();
    assert!(by_customer(7)["_error_message"].as_str().unwrap().contains("not valid JSON"));
    let e8 = by_customer(8);
    assert!(e8["_error_message"].as_str().unwrap().contains("500") && e8["_error_message"].as_str().unwrap().contains("after 3 attempts"));
    assert_eq!(e8["_error_raw"], json!("database exploded"));
    assert!(by_customer(9)["_error_message"].as_str().unwrap().contains("404"));
    let e5 = by_customer(5);
    assert_eq!(e5["_error_field"], json!("since"));
    assert_eq!(e5["subject"], json!("问题 5"), "the row leaves with its own fields");
    assert_eq!(errs.len(), 4);

    // A POST with a body template; the typed placeholder keeps its type.
    let flow = node_flow(
        fields,
        rows,
        "http_call",
        json!({
            "url": format!("{base}/classify"),
            "method": "POST",
            "body": {"text": "{subject}", "ticket": "{ticket_id}"},
            "fields": [{"name": "label", "type": "string"}, {"name": "sent_ticket", "path": "echo.ticket", "type": "int"}]
        }),
    );
    let (s, out, err) = run(&flow).await;
    assert_eq!(s.status, RunStatus::Succeeded, "{:?}", s.error);
    assert!(err.rows.is_empty());
    assert_eq!(column(&out, "label")[2], json!("refund"));
    assert_eq!(column(&out, "sent_ticket"), (1..=7).map(|i| json!(i)).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread")]
async fn oauth2_tokens_are_refreshed_for_calls_too() {
    std::env::set_var("HTTP_CALL_TEST_SECRET", "abc");
    let issued = Arc::new(AtomicU32::new(0));
    let valid: Arc<Mutex<String>> = Arc::default();
    let (i1, v1, v2) = (issued.clone(), valid.clone(), valid.clone());
    let app = axum::Router::new()
        .route(
            "/token",
            post(move |h: axum::http::HeaderMap| {
                let (i, v) = (i1.clone(), v1.clone());
                async move {
                    // client_auth: basic → the id and secret come as HTTP basic auth.
                    if h.get("authorization").map(|x| x.as_bytes()) != Some(b"Basic c2x1aWNlOmFiYw==") {
                        return json_reply(401, &json!({"error": "invalid_client"}));
                    }
                    let t = format!("t{}", i.fetch_add(1, SeqCst) + 1);
                    *v.lock().unwrap() = t.clone();
                    json_reply(200, &json!({"access_token": t, "expires_in": "3600"}))
                }
            }),
        )
        .route(
            "/customers/{id}",
            get(move |h: axum::http::HeaderMap, uri: Uri| {
                let v = v2.clone();
                async move {
                    let current = format!("Bearer {}", v.lock().unwrap());
                    if h.get("authorization").and_then(|x| x.to_str().ok()) != Some(current.as_str()) {
                        return reply(401, &[], "expired");
                    }
                    // Customer 3's call makes the server rotate its key: the next call's
                    // token is stale.
                    if uri.path().ends_with("/3") {
                        *v.lock().unwrap() = "rotated".into();
                    }
                    json_reply(200, &json!({"tier": "gold"}))
                }
            }),
        );
    let base = serve(app).await;
    let (fields, rows) = tickets(&[1, 2, 3, 4, 5]);
    let flow = node_flow(
        fields,
        rows,
        "http_call",
        json!({
            "url": format!("{base}/customers/{{customer_id}}"),
            "fields": [{"name": "tier", "type": "string"}],
            "auth": {"type": "oauth2", "token_url": format!("{base}/token"), "client_id": "sluice", "secret": "${env:HTTP_CALL_TEST_SECRET}", "client_auth": "basic"},
            "limits": {"concurrency": 1},
            "retry": fast_retry(2)
        }),
    );
    let (s, out, err) = run(&flow).await;
    assert_eq!(s.status, RunStatus::Succeeded, "{:?}", s.error);
    assert!(err.rows.is_empty(), "{:?}", err.json());
    assert_eq!(out.rows.len(), 5);
    assert_eq!(issued.load(SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_token_is_fetched_again_before_the_call() {
    std::env::set_var("HTTP_CALL_TEST_SECRET_2", "abc");
    let issued = Arc::new(AtomicU32::new(0));
    let refused = Arc::new(AtomicU32::new(0));
    let (i1, i2, r) = (issued.clone(), issued.clone(), refused.clone());
    let app = axum::Router::new()
        .route(
            "/token",
            post(move || {
                let i = i1.clone();
                async move {
                    // A lifetime shorter than the client's safety margin: already "expired".
                    let n = i.fetch_add(1, SeqCst) + 1;
                    json_reply(200, &json!({"access_token": format!("t{n}"), "expires_in": 5}))
                }
            }),
        )
        .route(
            "/customers/{id}",
            get(move |h: axum::http::HeaderMap| {
                let (i, r) = (i2.clone(), r.clone());
                async move {
                    // Only the newest token is accepted.
                    let newest = format!("Bearer t{}", i.load(SeqCst));
                    if h.get("authorization").and_then(|x| x.to_str().ok()) != Some(newest.as_str()) {
                        r.fetch_add(1, SeqCst);
                        return reply(401, &[], "expired");
                    }
                    json_reply(200, &json!({"tier": "gold"}))
                }
            }),
        );
    let base = serve(app).await;
    let (fields, rows) = tickets(&[1, 2, 3]);
    let flow = node_flow(
        fields,
        rows,
        "http_call",
        json!({
            "url": format!("{base}/customers/{{customer_id}}"),
            "fields": [{"name": "tier", "type": "string"}],
            "auth": {"type": "oauth2", "token_url": format!("{base}/token"), "client_id": "sluice", "secret": "${env:HTTP_CALL_TEST_SECRET_2}"},
            "limits": {"concurrency": 1}
        }),
    );
    let (s, out, err) = run(&flow).await;
    assert_eq!(s.status, RunStatus::Succeeded, "{:?}", s.error);
    assert!(err.rows.is_empty());
    assert_eq!(out.rows.len(), 3);
    assert_eq!(issued.load(SeqCst), 3, "a fresh token before each call");
    assert_eq!(refused.load(SeqCst), 0, "no call went out with an expired token");
}

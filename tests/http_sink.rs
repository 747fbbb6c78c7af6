//! `http_sink` against a real HTTP server on 127.0.0.1 that throttles, fails, loses answers
//! and stays down: every row must arrive exactly once, or end at the error output.

mod common;
mod http_support;

use axum::http::{HeaderMap, Uri};
use axum::routing::post;
use common::{run_capture, Captured};
use http_support::*;
use serde_json::{json, Value as J};
use sluice::exec::{RunStatus, RunSummary};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::sync::{Arc, Mutex};

fn fields() -> J {
    json!([
        {"name": "ticket_id", "type": "string"},
        {"name": "subject", "type": "string"},
        {"name": "priority", "type": "int"}
    ])
}

fn rows(n: usize) -> J {
    J::Array((1..=n).map(|i| json!({"ticket_id": format!("T-{i}"), "subject": format!("工单 {i}"), "priority": i % 5})).collect())
}

async fn run(flow: &str) -> (RunSummary, Captured) {
    let (summary, mut caps) = run_capture(flow, Path::new("."), &[("node", "error")]).await;
    (summary, caps.pop().unwrap())
}

/// A CRM that applies each idempotency key once, and counts attempts per key.
#[derive(Default)]
struct Crm {
    applied: Mutex<BTreeMap<String, J>>,
    attempts: Mutex<HashMap<String, u32>>,
    requests: AtomicU32,
}

impl Crm {
    fn attempt(&self, key: &str) -> u32 {
        self.requests.fetch_add(1, SeqCst);
        let mut a = self.attempts.lock().unwrap();
        let e = a.entry(key.to_string()).or_default();
        *e += 1;
        *e
    }
    fn apply(&self, key: &str, body: J) {
        self.applied.lock().unwrap().entry(key.to_string()).or_insert(body);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_row_arrives_exactly_once_through_429s_500s_and_lost_answers() {
    std::env::set_var("HTTP_SINK_TEST_TOKEN", "crm-token");
    let crm = Arc::new(Crm::default());
    let c = crm.clone();
    let app = axum::Router::new().route(
        "/api/tickets",
        post(move |h: HeaderMap, body: String| {
            let crm = c.clone();
            async move {
                if h.get("authorization").map(|v| v.as_bytes()) != Some(b"Bearer crm-token") {
                    return reply(401, &[], "who are you");
                }
                let key = h.get("idempotency-key").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                let n: u32 = key.trim_start_matches("T-").parse().unwrap();
                let body: J = serde_json::from_str(&body).unwrap();
                match (crm.attempt(&key), n % 3, n % 5) {
                    (1, 0, _) => reply(429, &[("retry-after", "0".into())], "too many requests"),
                    // Applied, but the answer is lost: the retry must not apply it twice.
                    (1, 1, _) => {
                        crm.apply(&key, body);
                        reply(500, &[], "internal error")
                    }
                    (2, _, 0) => reply(503, &[], "busy"),
                    _ => {
                        crm.apply(&key, body);
                        json_reply(201, &json!({"ok": true}))
                    }
                }
            }
        }),
    );
    let base = serve(app).await;
    let flow = node_flow(
        fields(),
        rows(30),
        "http_sink",
        json!({
            "url": format!("{base}/api/tickets"),
            "body": {"external_id": "{ticket_id}", "title": "{subject}", "priority": "{priority}", "source": "sluice"},
            "idempotency": {"field": "ticket_id"},
            "auth": {"type": "bearer", "secret": "${env:HTTP_SINK_TEST_TOKEN}"},
            "retry": fast_retry(5),
            "limits": {"concurrency": 4}
        }),
    );
    let (s, errors) = run(&flow).await;
    assert_eq!(s.status, RunStatus::Succeeded, "{:?}", s.error);
    assert!(errors.rows.is_empty(), "{:?}", errors.json());
    let applied = crm.applied.lock().unwrap().clone();
    assert_eq!(applied.len(), 30, "every row exactly once");
    assert_eq!(applied["T-7"], json!({"external_id": "T-7", "title": "工单 7", "priority": 2, "source": "sluice"}));
    // 30 first attempts, a retry for the 20 that failed first, and a third attempt for the
    // retries that hit a 503 (keys 10, 15, 25, 30: n % 5 == 0 and n % 3 != 2).
    let attempts = crm.attempts.lock().unwrap().clone();
    assert_eq!(attempts["T-2"], 1);
    assert_eq!(attempts["T-3"], 2);
    assert_eq!(attempts["T-4"], 2);
    assert_eq!(attempts["T-10"], 3);
    assert_eq!(crm.requests.load(SeqCst), 30 + 20 + 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn batches_go_as_one_json_array_with_a_stable_hash_key() {
    let crm = Arc::new(Crm::default());
    let c = crm.clone();
    let app = axum::Router::new().route(
        "/bulk",
        post(move |h: HeaderMap, body: String| {
            let crm = c.clone();
            async move {
                let key = h.get("x-idem").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                let body: J = serde_json::from_str(&body).unwrap();
                if crm.attempt(&key) == 1 {
                    // Every batch: applied, answer lost.
                    crm.apply(&key, body);
                    return reply(502, &[], "bad gateway");
                }
                crm.apply(&key, body);
                json_reply(200, &json!({"accepted": true}))
            }
        }),
    );
    let base = serve(app).await;
    let flow = node_flow(
        fields(),
        rows(25),
        "http_sink",
        json!({
            "url": format!("{base}/bulk"),
            "fields": ["ticket_id", "priority"],
            "batch_rows": 10,
            "batch_key": "records",
            "idempotency": {"header": "X-Idem"},
            "retry": fast_retry(3)
        }),
    );
    let (s, errors) = run(&flow).await;
    assert_eq!(s.status, RunStatus::Succeeded, "{:?}", s.error);
    assert!(errors.rows.is_empty());
    let applied = crm.applied.lock().unwrap().clone();
    assert_eq!(applied.len(), 3, "three batches: 10, 10 and 5 rows");
    let mut ids: Vec<String> = Vec::new();
    for (key, body) in &applied {
        assert_eq!(key.len(), 64, "a SHA-256 in hex");
        for r in body["records"].as_array().unwrap() {
            assert_eq!(r.as_object().unwrap().keys().collect::<Vec<_>>(), vec!["ticket_id", "priority"]);
            ids.push(r["ticket_id"].as_str().unwrap().to_string());
        }
    }
    ids.sort_by_key(|t| t[2..].parse::<u32>().unwrap());
    assert_eq!(ids, (1..=25).map(|i| format!("T-{i}")).collect::<Vec<_>>());
    assert!(crm.attempts.lock().unwrap().values().all(|&n| n == 2), "the retry carried the same key");
}

#[tokio::test(flavor = "multi_thread")]
async fn when_the_target_stays_down_every_row_ends_at_the_error_output() {
    let hits = Arc::new(AtomicU32::new(0));
    let h = hits.clone();
    let app = axum::Router::new().route(
        "/api/tickets",
        post(move || {
            let h = h.clone();
            async move {
                h.fetch_add(1, SeqCst);
                reply(503, &[], "down for maintenance")
            }
        }),
    );
    let base = serve(app).await;
    for (url, batch_rows) in [(format!("{base}/api/tickets"), 1), (format!("{base}/api/tickets"), 5), (format!("{}/api/tickets", dead_url().await), 1)] {
        let flow = node_flow(fields(), rows(12), "http_sink", json!({"url": url, "batch_rows": batch_rows, "retry": fast_retry(3)}));
        let (s, errors) = run(&flow).await;
        assert_eq!(s.status, RunStatus::Succeeded, "{:?}", s.error);
        assert_eq!(s.node("node").unwrap().rows_error, 12);
        let mut got: Vec<String> = errors.json().iter().map(|r| r["ticket_id"].as_str().unwrap().to_string()).collect();
        got.sort_by_key(|t| t[2..].parse::<u32>().unwrap());
        assert_eq!(got, (1..=12).map(|i| format!("T-{i}")).collect::<Vec<_>>(), "no row lost ({url}, {batch_rows} per request)");
        let e = &errors.json()[0];
        assert_eq!(e["_error_node"], json!("node"));
        assert!(e["subject"].as_str().unwrap().starts_with("工单"), "the row travels with its error");
        let msg = e["_error_message"].as_str().unwrap();
        assert!(msg.contains("after 3 attempts"), "{msg}");
        if url.starts_with(&base) {
            assert!(msg.contains("503 Service Unavailable"), "{msg}");
            assert_eq!(e["_error_raw"], json!("down for maintenance"));
        }
    }
    assert_eq!(hits.load(SeqCst), 12 * 3 + 3 * 3, "12 single rows and 3 batches, 3 attempts each");
}

#[tokio::test(flavor = "multi_thread")]
async fn rows_the_api_rejects_are_not_retried_and_accepted_statuses_count_as_delivered() {
    let crm = Arc::new(Crm::default());
    let c = crm.clone();
    let app = axum::Router::new().route(
        "/api/tickets/{id}",
        axum::routing::put(move |uri: Uri, body: String| {
            let crm = c.clone();
            async move {
                let id = uri.path().rsplit('/').next().unwrap().to_string();
                crm.attempt(&id);
                let body: J = serde_json::from_str(&body).unwrap();
                if body["priority"].as_i64().unwrap() >= 4 {
                    return json_reply(422, &json!({"error": "priority out of range"}));
                }
                if id == "T-1" {
                    return json_reply(409, &json!({"error": "already exists"}));
                }
                crm.apply(&id, body);
                reply(204, &[], "")
            }
        }),
    );
    let base = serve(app).await;
    let flow = node_flow(
        fields(),
        rows(10),
        "http_sink",
        json!({"url": format!("{base}/api/tickets/{{ticket_id}}"), "method": "PUT", "accept_status": [409], "retry": fast_retry(4)}),
    );
    let (s, errors) = run(&flow).await;
    assert_eq!(s.status, RunStatus::Succeeded, "{:?}", s.error);
    let rejected: Vec<J> = errors.json().iter().map(|r| r["ticket_id"].clone()).collect();
    assert_eq!(rejected, vec![json!("T-4"), json!("T-9")]);
    let msg = errors.json()[0]["_error_message"].as_str().unwrap().to_string();
    assert!(msg.contains("422") && msg.contains("priority out of range") && !msg.contains("attempts"), "{msg}");
    assert_eq!(crm.requests.load(SeqCst), 10, "nothing was retried");
    assert_eq!(crm.applied.lock().unwrap().len(), 7, "T-1 answered 409 (accepted), T-4 and T-9 were refused");
}

#[test]
fn sink_configs_are_checked_against_the_input() {
    let e = common::plan_errors(
        &node_flow(
            fields(),
            rows(1),
            "http_sink",
            json!({
                "url": "https://crm.example.com/t/{ticket}",
                "batch_rows": 5,
                "fields": ["subjet"],
                "idempotency": {"field": "ticket_id"},
                "body": {"a": "{priority}"}
            }),
        ),
        Path::new("."),
    );
    for needle in [
        "{ticket}: with several rows per request",
        "with several rows per request the key is a hash of the body",
        "fields apply without a body template",
        "{ticket} names a field the input does not have",
        "the input has no field 'subjet'",
    ] {
        assert!(e.contains(needle), "missing {needle:?} in:\n{e}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn basic_auth_and_a_query_api_key_reach_the_api_and_keys_stay_out_of_messages() {
    std::env::set_var("HTTP_SINK_TEST_PASSWORD", "pa:ss");
    std::env::set_var("HTTP_SINK_TEST_QUERY_KEY", "qk-secret");
    let log = Log::default();
    let l = log.clone();
    let app = axum::Router::new().route(
        "/in",
        post(move |uri: Uri, h: HeaderMap, body: String| {
            let l = l.clone();
            async move {
                l.record(&uri, &h, body.as_bytes());
                // Everything is refused, so the messages can be checked for the key.
                reply(400, &[], "rejected")
            }
        }),
    );
    let base = serve(app).await;
    let flow = node_flow(
        fields(),
        rows(1),
        "http_sink",
        json!({"url": format!("{base}/in"), "auth": {"type": "basic", "username": "etl", "secret": "${env:HTTP_SINK_TEST_PASSWORD}"}}),
    );
    let (s, errors) = run(&flow).await;
    assert_eq!(s.status, RunStatus::Succeeded, "{:?}", s.error);
    assert_eq!(errors.rows.len(), 1);
    // base64("etl:pa:ss")
    assert_eq!(log.all()[0].header("authorization"), Some("Basic ZXRsOnBhOnNz"));

    let flow = node_flow(
        fields(),
        rows(1),
        "http_sink",
        json!({"url": format!("{base}/in"), "auth": {"type": "api_key", "name": "key", "location": "query", "secret": "${env:HTTP_SINK_TEST_QUERY_KEY}"}}),
    );
    let (s, errors) = run(&flow).await;
    assert_eq!(s.status, RunStatus::Succeeded, "{:?}", s.error);
    assert_eq!(log.all()[1].uri, "/in?key=qk-secret");
    let msg = errors.json()[0]["_error_message"].as_str().unwrap().to_string();
    assert!(msg.contains("400") && !msg.contains("qk-secret"), "{msg}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_rate_limit_spaces_requests_out() {
    // A lower bound only: a limited sink can never be faster than its rate, however slow
    // the machine, so this cannot flake; how fast an unlimited one is belongs to bench/.
    let arrivals: Arc<Mutex<Vec<std::time::Instant>>> = Arc::default();
    let a = arrivals.clone();
    let app = axum::Router::new().route(
        "/tickets",
        post(move || {
            let a = a.clone();
            async move {
                a.lock().unwrap().push(std::time::Instant::now());
                json_reply(201, &json!({"ok": true}))
            }
        }),
    );
    let base = serve(app).await;
    let flow = node_flow(
        fields(),
        rows(6),
        "http_sink",
        json!({
            "url": format!("{base}/tickets"),
            "retry": fast_retry(1),
            "limits": {"concurrency": 4, "requests_per_second": 20, "burst": 1}
        }),
    );
    let (s, errors) = run(&flow).await;
    assert_eq!(s.status, RunStatus::Succeeded, "{:?}", s.error);
    assert!(errors.rows.is_empty());
    let arrivals = arrivals.lock().unwrap().clone();
    assert_eq!(arrivals.len(), 6, "one request per row");
    let span = *arrivals.iter().max().unwrap() - *arrivals.iter().min().unwrap();
    // Six requests at 20/s with a burst of 1: five gaps of 50 ms (with slack for the
    // clocks of two tasks).
    assert!(span >= std::time::Duration::from_millis(200), "six requests at 20/s arrived within {span:?}");
}

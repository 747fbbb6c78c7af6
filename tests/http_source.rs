//! `http_source` against a real HTTP server on 127.0.0.1: pagination of every kind, JSON and
//! CSV answers, retries on 429/5xx/timeouts, malformed answers, OAuth2 tokens that expire,
//! wrong credentials, and incremental reads with a stored watermark.

mod common;
mod http_support;

use axum::extract::Query;
use axum::http::{HeaderMap, Uri};
use axum::routing::{get, post};
use common::{column, plan_errors, run_capture, Captured};
use http_support::*;
use serde_json::{json, Value as J};
use sluice::exec::{RunStatus, RunSummary};
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering::SeqCst};
use std::sync::{Arc, Mutex};

type Q = Query<HashMap<String, String>>;

fn ticket(i: u32) -> J {
    json!({
        "id": i,
        "subject": format!("ticket {i}"),
        "customer": {"id": 100 + i % 3, "name": format!("客户{}", i % 3)},
        "updated_at": format!("2024-03-{i:02}T10:00:00Z")
    })
}

fn tickets(n: u32) -> Vec<J> {
    (1..=n).map(ticket).collect()
}

fn page_of(all: &[J], page: usize, size: usize) -> Vec<J> {
    all.iter().skip(page.saturating_sub(1) * size).take(size).cloned().collect()
}

fn num(q: &HashMap<String, String>, k: &str, default: usize) -> usize {
    q.get(k).and_then(|v| v.parse().ok()).unwrap_or(default)
}

async fn run(flow: &str) -> (RunSummary, Captured, Captured) {
    run_in(flow, Path::new(".")).await
}

async fn run_in(flow: &str, base: &Path) -> (RunSummary, Captured, Captured) {
    let (summary, mut caps) = run_capture(flow, base, &[("src", "out"), ("src", "error")]).await;
    let err = caps.pop().unwrap();
    let out = caps.pop().unwrap();
    (summary, out, err)
}

fn ids(c: &Captured) -> Vec<i64> {
    let mut v: Vec<i64> = column(c, "id").iter().map(|v| v.as_i64().unwrap()).collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread")]
async fn page_numbers_with_declared_fields_and_an_api_key() {
    std::env::set_var("HTTP_SOURCE_TEST_KEY", "k-123");
    let log = Log::default();
    let l = log.clone();
    let app = axum::Router::new().route(
        "/tickets",
        get(move |uri: Uri, h: HeaderMap, Query(q): Q| {
            let l = l.clone();
            async move {
                l.record(&uri, &h, b"");
                if h.get("x-api-key").map(|v| v.as_bytes()) != Some(b"k-123") {
                    return json_reply(401, &json!({"error": "bad key"}));
                }
                let items = page_of(&tickets(7), num(&q, "page", 1), num(&q, "per_page", 10));
                json_reply(200, &json!({"data": {"items": items}, "total": 7}))
            }
        }),
    );
    let base = serve(app).await;
    let flow = source_flow(json!({
        "url": format!("{base}/tickets"),
        "query": {"status": "open"},
        "records_path": "data.items",
        "fields": [
            {"name": "id", "type": "int"},
            {"name": "customer_name", "path": "customer.name", "type": "string"},
            {"name": "updated_at", "type": "datetime"}
        ],
        "pagination": {"type": "page", "size_param": "per_page", "size": 3},
        "auth": {"type": "api_key", "secret": "${env:HTTP_SOURCE_TEST_KEY}"}
    }));
    let (summary, out, err) = run(&flow).await;
    assert_eq!(summary.status, RunStatus::Succeeded, "{:?}", summary.error);
    assert_eq!(out.field_names(), vec!["id", "customer_name", "updated_at"]);
    assert_eq!(ids(&out), vec![1, 2, 3, 4, 5, 6, 7]);
    assert_eq!(out.json()[0]["customer_name"], json!("客户1"));
    assert_eq!(out.json()[0]["updated_at"], json!("2024-03-01T10:00:00Z"));
    assert!(err.rows.is_empty());
    // The third page is short: no fourth request.
    assert_eq!(
        log.uris(),
        vec![
            "/tickets?status=open&page=1&per_page=3",
            "/tickets?status=open&page=2&per_page=3",
            "/tickets?status=open&page=3&per_page=3"
        ]
    );

    // max_pages stops early.
    let flow = source_flow(json!({
        "url": format!("{base}/tickets"),
        "records_path": "data.items",
        "pagination": {"type": "page", "size_param": "per_page", "size": 3},
        "max_pages": 2,
        "auth": {"type": "api_key", "secret": "${env:HTTP_SOURCE_TEST_KEY}"}
    }));
    let (summary, out, _) = run(&flow).await;
    assert_eq!(summary.status, RunStatus::Succeeded, "{:?}", summary.error);
    assert_eq!(ids(&out), vec![1, 2, 3, 4, 5, 6]);
}

#[tokio::test(flavor = "multi_thread")]
async fn cursor_link_offset_and_next_url_pages_are_all_read() {
    let log = Log::default();
    let (l1, l2, l3, l4) = (log.clone(), log.clone(), log.clone(), log.clone());
    let app = axum::Router::new()
        .route(
            "/cursor",
            get(move |uri: Uri, h: HeaderMap, Query(q): Q| {
                let l = l1.clone();
                async move {
                    l.record(&uri, &h, b"");
                    // Cursors are opaque: "c3" means "start after 3 records".
                    let start: usize = q.get("cursor").map(|c| c[1..].parse().unwrap()).unwrap_or(0);
                    let items: Vec<J> = tickets(7).into_iter().skip(start).take(3).collect();
                    let next = if start + 3 < 7 { json!(format!("c{}", start + 3)) } else { J::Null };
                    json_reply(200, &json!({"items": items, "meta": {"next_cursor": next}}))
                }
            }),
        )
        .route(
            "/link",
            get(move |uri: Uri, h: HeaderMap, Query(q): Q| {
                let l = l2.clone();
                async move {
                    l.record(&uri, &h, b"");
                    let page = num(&q, "page", 1);
                    let mut headers = Vec::new();
                    if page < 3 {
                        headers.push((
                            "link",
                            format!("</link?page={}>; rel=\"next\", </link?page=3>; rel=\"last\"", page + 1),
                        ));
                    }
                    headers.push(("content-type", "application/json".to_string()));
                    reply(200, &headers, J::Array(page_of(&tickets(7), page, 3)).to_string())
                }
            }),
        )
        .route(
            "/offset",
            get(move |uri: Uri, h: HeaderMap, Query(q): Q| {
                let l = l3.clone();
                async move {
                    l.record(&uri, &h, b"");
                    let items: Vec<J> = tickets(7).into_iter().skip(num(&q, "offset", 0)).take(num(&q, "limit", 100)).collect();
                    json_reply(200, &J::Array(items))
                }
            }),
        )
        .route(
            "/next",
            get(move |uri: Uri, h: HeaderMap, Query(q): Q| {
                let l = l4.clone();
                async move {
                    l.record(&uri, &h, b"");
                    let page = num(&q, "page", 1);
                    // Exactly 6 records: the third page is empty and has no next link.
                    let next = if page <= 2 { json!(format!("/next?page={}", page + 1)) } else { J::Null };
                    json_reply(200, &json!({"results": page_of(&tickets(6), page, 3), "links": {"next": next}}))
                }
            }),
        );
    let base = serve(app).await;

    // Cursor, fields learnt from the first page.
    let (s, out, _) = run(&source_flow(json!({
        "url": format!("{base}/cursor"),
        "records_path": "items",
        "pagination": {"type": "cursor", "path": "meta.next_cursor"}
    })))
    .await;
    assert_eq!(s.status, RunStatus::Succeeded, "{:?}", s.error);
    assert_eq!(out.field_names(), vec!["id", "subject", "customer", "updated_at"]);
    assert_eq!(ids(&out), vec![1, 2, 3, 4, 5, 6, 7]);
    assert_eq!(out.json()[0]["customer"], json!({"id": 101, "name": "客户1"}));
    assert_eq!(log.uris(), vec!["/cursor", "/cursor?cursor=c3", "/cursor?cursor=c6"]);

    let (s, out, _) = run(&source_flow(json!({"url": format!("{base}/link"), "pagination": {"type": "link_header"}}))).await;
    assert_eq!(s.status, RunStatus::Succeeded, "{:?}", s.error);
    assert_eq!(ids(&out), vec![1, 2, 3, 4, 5, 6, 7]);
    assert_eq!(log.uris()[3..], ["/link", "/link?page=2", "/link?page=3"]);

    let (s, out, _) = run(&source_flow(json!({"url": format!("{base}/offset"), "pagination": {"type": "offset", "limit": 3}}))).await;
    assert_eq!(s.status, RunStatus::Succeeded, "{:?}", s.error);
    assert_eq!(ids(&out), vec![1, 2, 3, 4, 5, 6, 7]);
    assert_eq!(log.uris()[6..], ["/offset?offset=0&limit=3", "/offset?offset=3&limit=3", "/offset?offset=6&limit=3"]);

    let (s, out, _) = run(&source_flow(json!({
        "url": format!("{base}/next"),
        "records_path": "results",
        "pagination": {"type": "next_url", "path": "links.next"}
    })))
    .await;
    assert_eq!(s.status, RunStatus::Succeeded, "{:?}", s.error);
    assert_eq!(ids(&out), vec![1, 2, 3, 4, 5, 6]);
    // Stopped at the empty third page.
    assert_eq!(log.uris()[9..], ["/next", "/next?page=2", "/next?page=3"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn csv_answers_are_read_with_types_learnt_or_declared() {
    let app = axum::Router::new().route(
        "/export.csv",
        get(|Query(q): Q| async move {
            let body = match num(&q, "page", 1) {
                1 => "id,phone,amount,opened\n1,13800138000,12.50,2024-03-01\n2,,3.00,2024-03-02\n",
                2 => "id,phone,amount,opened\n3,13900139000,x,2024-03-03\n",
                _ => "id,phone,amount,opened\n",
            };
            reply(200, &[("content-type", "text/csv".into())], body)
        }),
    );
    let base = serve(app).await;
    let (s, out, err) = run(&source_flow(json!({
        "url": format!("{base}/export.csv"),
        "format": "csv",
        "pagination": {"type": "page"}
    })))
    .await;
    assert_eq!(s.status, RunStatus::Succeeded, "{:?}", s.error);
    // Types come from the first page; "x" on page 2 does not read as a decimal.
    assert_eq!(out.json(), vec![
        json!({"id": 1, "phone": "13800138000", "amount": "12.50", "opened": "2024-03-01"}),
        json!({"id": 2, "phone": null, "amount": "3.00", "opened": "2024-03-02"}),
    ]);
    assert_eq!(err.rows.len(), 1);
    let e = &err.json()[0];
    assert_eq!(e["_error_field"], json!("amount"));
    assert!(e["_error_message"].as_str().unwrap().contains("page 2, record 1"), "{e}");
    assert_eq!(e["_error_raw"], json!("3,13900139000,x,2024-03-03"));
}

#[tokio::test(flavor = "multi_thread")]
async fn throttling_server_errors_and_timeouts_are_retried_and_every_record_arrives_once() {
    let log = Log::default();
    let hits: Arc<Mutex<HashMap<usize, u32>>> = Arc::default();
    let (l, h2) = (log.clone(), hits.clone());
    let slow_hits = Arc::new(AtomicU32::new(0));
    let sh = slow_hits.clone();
    let app = axum::Router::new()
        .route(
            "/flaky",
            get(move |uri: Uri, h: HeaderMap, Query(q): Q| {
                let (l, hits) = (l.clone(), h2.clone());
                async move {
                    l.record(&uri, &h, b"");
                    let page = num(&q, "page", 1);
                    let n = {
                        let mut m = hits.lock().unwrap();
                        let e = m.entry(page).or_default();
                        *e += 1;
                        *e
                    };
                    match n {
                        // A 429 storm: seconds, then a date in the past (both mean "now").
                        1 => reply(429, &[("retry-after", "0".into())], "slow down"),
                        2 => reply(429, &[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT".into())], "slow down"),
                        3 => reply(503, &[], "maintenance"),
                        _ => json_reply(200, &json!({"items": page_of(&tickets(7), page, 3)})),
                    }
                }
            }),
        )
        .route(
            "/slow",
            get(move || {
                let sh = sh.clone();
                async move {
                    if sh.fetch_add(1, SeqCst) == 0 {
                        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
                    }
                    json_reply(200, &J::Array(tickets(7)))
                }
            }),
        );
    let base = serve(app).await;
    let (s, out, err) = run(&source_flow(json!({
        "url": format!("{base}/flaky"),
        "records_path": "items",
        "pagination": {"type": "page", "size": 3},
        "retry": fast_retry(5)
    })))
    .await;
    assert_eq!(s.status, RunStatus::Succeeded, "{:?}", s.error);
    assert_eq!(ids(&out), vec![1, 2, 3, 4, 5, 6, 7], "every record exactly once");
    assert!(err.rows.is_empty());
    assert_eq!(log.count(), 12, "3 pages × (2 × 429 + 1 × 503 + 1 × 200)");

    let (s, out, _) = run(&source_flow(json!({
        "url": format!("{base}/slow"),
        "retry": fast_retry(3),
        "limits": {"timeout_ms": 200}
    })))
    .await;
    assert_eq!(s.status, RunStatus::Succeeded, "{:?}", s.error);
    assert_eq!(ids(&out), vec![1, 2, 3, 4, 5, 6, 7]);
    assert_eq!(slow_hits.load(SeqCst), 2, "the slow answer timed out and the retry got the records");
}

#[tokio::test(flavor = "multi_thread")]
async fn broken_and_failing_answers_fail_the_run_clearly() {
    let down_hits = Arc::new(AtomicU32::new(0));
    let missing_hits = Arc::new(AtomicU32::new(0));
    let (d, m) = (down_hits.clone(), missing_hits.clone());
    let app = axum::Router::new()
        .route(
            "/broken",
            get(|Query(q): Q| async move {
                match num(&q, "page", 1) {
                    1 => json_reply(200, &json!({"items": page_of(&tickets(7), 1, 3)})),
                    _ => reply(200, &[("content-type", "application/json".into())], r#"{"items": [{"id": 4}, "#),
                }
            }),
        )
        .route(
            "/down",
            get(move || {
                let d = d.clone();
                async move {
                    d.fetch_add(1, SeqCst);
                    reply(503, &[], "upstream unavailable")
                }
            }),
        )
        .route(
            "/missing",
            get(move || {
                let m = m.clone();
                async move {
                    m.fetch_add(1, SeqCst);
                    reply(404, &[], "no such list")
                }
            }),
        )
        .route("/wrong-shape", get(|| async { json_reply(200, &json!({"data": {"rows": []}})) }));
    let base = serve(app).await;

    let (s, out, _) = run(&source_flow(json!({
        "url": format!("{base}/broken"),
        "records_path": "items",
        "pagination": {"type": "page", "size": 3}
    })))
    .await;
    assert_eq!(s.status, RunStatus::Failed);
    let e = s.error.unwrap();
    assert!(e.contains("page 2") && e.contains("not valid JSON"), "{e}");
    assert_eq!(ids(&out), vec![1, 2, 3], "the first page was read before the broken one");

    let (s, _, _) = run(&source_flow(json!({"url": format!("{base}/down"), "retry": fast_retry(3)}))).await;
    assert_eq!(s.status, RunStatus::Failed);
    let e = s.error.unwrap();
    assert!(e.contains("503") && e.contains("upstream unavailable") && e.contains("after 3 attempts"), "{e}");
    assert_eq!(down_hits.load(SeqCst), 3);

    let (s, _, _) = run(&source_flow(json!({"url": format!("{base}/missing"), "retry": fast_retry(3)}))).await;
    assert_eq!(s.status, RunStatus::Failed);
    assert!(s.error.unwrap().contains("404"));
    assert_eq!(missing_hits.load(SeqCst), 1, "a 404 is not retried");

    let (s, _, _) = run(&source_flow(json!({"url": format!("{base}/wrong-shape"), "records_path": "data.items"}))).await;
    assert_eq!(s.status, RunStatus::Failed);
    let e = s.error.unwrap();
    assert!(e.contains("nothing at records_path 'data.items'") && e.contains("keys there: rows"), "{e}");

    let (s, _, _) = run(&source_flow(json!({"url": format!("{}/x", dead_url().await), "retry": fast_retry(2)}))).await;
    assert_eq!(s.status, RunStatus::Failed);
    let e = s.error.unwrap();
    assert!(e.contains("after 2 attempts"), "{e}");
}

/// An OAuth2 server whose tokens the API stops accepting after two pages.
struct OAuthState {
    issued: AtomicU32,
    revoked: Mutex<Vec<String>>,
    pages_served: AtomicU32,
    wrong_secret: AtomicBool,
}

#[tokio::test(flavor = "multi_thread")]
async fn oauth2_tokens_are_cached_and_fetched_again_after_a_401() {
    std::env::set_var("HTTP_SOURCE_TEST_CLIENT_SECRET", "s3cret");
    let st = Arc::new(OAuthState { issued: AtomicU32::new(0), revoked: Mutex::new(vec![]), pages_served: AtomicU32::new(0), wrong_secret: AtomicBool::new(false) });
    let log = Log::default();
    let (s1, s2, l) = (st.clone(), st.clone(), log.clone());
    let app = axum::Router::new()
        .route(
            "/oauth/token",
            post(move |body: String| {
                let st = s1.clone();
                async move {
                    let form: HashMap<String, String> = url_decode(&body);
                    if form.get("grant_type").map(String::as_str) != Some("client_credentials")
                        || form.get("client_id").map(String::as_str) != Some("sluice")
                        || form.get("client_secret").map(String::as_str) != Some("s3cret")
                        || st.wrong_secret.load(SeqCst)
                    {
                        return json_reply(401, &json!({"error": "invalid_client"}));
                    }
                    let n = st.issued.fetch_add(1, SeqCst) + 1;
                    json_reply(200, &json!({"access_token": format!("tok-{n}"), "token_type": "Bearer", "expires_in": 3600}))
                }
            }),
        )
        .route(
            "/api/tickets",
            get(move |uri: Uri, h: HeaderMap, Query(q): Q| {
                let (st, l) = (s2.clone(), l.clone());
                async move {
                    l.record(&uri, &h, b"");
                    let token = h.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("").trim_start_matches("Bearer ").to_string();
                    let valid = token.starts_with("tok-") && !st.revoked.lock().unwrap().contains(&token);
                    if !valid {
                        return json_reply(401, &json!({"error": "invalid_token"}));
                    }
                    // The token "expires" once two pages were served with it.
                    if st.pages_served.fetch_add(1, SeqCst) == 1 {
                        st.revoked.lock().unwrap().push(token);
                    }
                    json_reply(200, &J::Array(page_of(&tickets(7), num(&q, "page", 1), 3)))
                }
            }),
        );
    let base = serve(app).await;
    let config = json!({
        "url": format!("{base}/api/tickets"),
        "pagination": {"type": "page", "size": 3},
        "auth": {"type": "oauth2", "token_url": format!("{base}/oauth/token"), "client_id": "sluice", "secret": "${env:HTTP_SOURCE_TEST_CLIENT_SECRET}", "scope": "tickets:read"},
        "retry": fast_retry(3)
    });
    let (s, out, _) = run(&source_flow(config.clone())).await;
    assert_eq!(s.status, RunStatus::Succeeded, "{:?}", s.error);
    assert_eq!(ids(&out), vec![1, 2, 3, 4, 5, 6, 7]);
    assert_eq!(st.issued.load(SeqCst), 2, "one token at the start, one after the 401");
    let auths: Vec<String> = log.all().iter().map(|s| s.header("authorization").unwrap_or("").to_string()).collect();
    assert_eq!(auths, vec!["Bearer tok-1", "Bearer tok-1", "Bearer tok-1", "Bearer tok-2"]);

    // The token endpoint refusing the client: the run stops at once, saying why.
    st.wrong_secret.store(true, SeqCst);
    let before = st.issued.load(SeqCst);
    let (s, out, _) = run(&source_flow(config)).await;
    assert_eq!(s.status, RunStatus::Failed);
    let e = s.error.unwrap();
    assert!(e.contains("refused (401)") && e.contains("invalid_client") && e.contains("client_id"), "{e}");
    assert!(out.rows.is_empty());
    assert_eq!(st.issued.load(SeqCst), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_bearer_token_fails_without_retrying() {
    std::env::set_var("HTTP_SOURCE_TEST_WRONG_TOKEN", "nope");
    let hits = Arc::new(AtomicU32::new(0));
    let h2 = hits.clone();
    let app = axum::Router::new().route(
        "/t",
        get(move |h: HeaderMap| {
            let hits = h2.clone();
            async move {
                hits.fetch_add(1, SeqCst);
                if h.get("authorization").map(|v| v.as_bytes()) == Some(b"Bearer right") {
                    json_reply(200, &J::Array(tickets(2)))
                } else {
                    json_reply(401, &json!({"error": "invalid token"}))
                }
            }
        }),
    );
    let base = serve(app).await;
    let (s, _, _) = run(&source_flow(json!({
        "url": format!("{base}/t"),
        "auth": {"type": "bearer", "secret": "${env:HTTP_SOURCE_TEST_WRONG_TOKEN}"},
        "retry": fast_retry(4)
    })))
    .await;
    assert_eq!(s.status, RunStatus::Failed);
    assert!(s.error.unwrap().contains("401 Unauthorized"));
    assert_eq!(hits.load(SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn incremental_reads_send_the_stored_watermark_after_a_successful_run() {
    isolate_state();
    let log = Log::default();
    let data: Arc<Mutex<Vec<J>>> = Arc::new(Mutex::new(tickets(7)));
    let down = Arc::new(AtomicBool::new(false));
    let (l, d, dn) = (log.clone(), data.clone(), down.clone());
    let app = axum::Router::new().route(
        "/changes",
        get(move |uri: Uri, h: HeaderMap, Query(q): Q| {
            let (l, d, dn) = (l.clone(), d.clone(), dn.clone());
            async move {
                l.record(&uri, &h, b"");
                let since = q.get("updated_since").cloned().unwrap_or_default();
                let all: Vec<J> = d.lock().unwrap().iter().filter(|t| t["updated_at"].as_str().unwrap() > since.as_str()).cloned().collect();
                let page = num(&q, "page", 1);
                // The run fails on its second page while the API is "down".
                if dn.load(SeqCst) && page == 2 {
                    return reply(500, &[], "boom");
                }
                json_reply(200, &json!({"items": page_of(&all, page, 2)}))
            }
        }),
    );
    let base = serve(app).await;
    let dir = tempfile::tempdir().unwrap();
    let flow = source_flow(json!({
        "url": format!("{base}/changes"),
        "records_path": "items",
        "fields": [{"name": "id", "type": "int"}, {"name": "updated_at", "type": "datetime"}],
        "pagination": {"type": "page", "size": 2},
        "incremental": {"param": "updated_since", "field": "updated_at", "start": "2024-03-02T00:00:00Z"},
        "retry": fast_retry(2)
    }));

    let (s, out, _) = run_in(&flow, dir.path()).await;
    assert_eq!(s.status, RunStatus::Succeeded, "{:?}", s.error);
    assert_eq!(ids(&out), vec![2, 3, 4, 5, 6, 7]);
    assert!(log.uris()[0].contains("updated_since=2024-03-02T00%3A00%3A00Z"), "{:?}", log.uris());

    // Two new changes; the next run asks only for what is newer than the last one read.
    data.lock().unwrap().push(ticket(8));
    data.lock().unwrap().push(ticket(9));
    let before = log.count();
    let (s, out, _) = run_in(&flow, dir.path()).await;
    assert_eq!(s.status, RunStatus::Succeeded, "{:?}", s.error);
    assert_eq!(ids(&out), vec![8, 9]);
    assert!(log.uris()[before].contains("updated_since=2024-03-07T10%3A00%3A00Z"), "{:?}", log.uris());

    // A failed run leaves the watermark where it was.
    data.lock().unwrap().extend([ticket(10), ticket(11), ticket(12)]);
    down.store(true, SeqCst);
    let (s, _, _) = run_in(&flow, dir.path()).await;
    assert_eq!(s.status, RunStatus::Failed);
    down.store(false, SeqCst);
    let before = log.count();
    let (s, out, _) = run_in(&flow, dir.path()).await;
    assert_eq!(s.status, RunStatus::Succeeded, "{:?}", s.error);
    assert_eq!(ids(&out), vec![10, 11, 12]);
    assert!(log.uris()[before].contains("updated_since=2024-03-09T10%3A00%3A00Z"), "{:?}", log.uris());
}

#[test]
fn configs_are_checked_before_anything_is_sent() {
    // A secret typed into the flow file.
    let e = plan_errors(&source_flow(json!({"url": "https://api.example.com/t", "auth": {"type": "bearer", "secret": "abc"}})), Path::new("."));
    assert!(e.contains("holds a secret written into the flow file"), "{e}");
    // A source has no row for {field}; pagination and paths are checked; oauth2 needs its URL.
    let e = plan_errors(
        &source_flow(json!({
            "url": "https://api.example.com/t/{id}",
            "pagination": {"type": "cursor", "path": ""},
            "auth": {"type": "oauth2", "secret": "${env:HOME}"},
            "fields": [{"name": "a", "type": "int"}, {"name": "a", "type": "int"}],
            "incremental": {"param": "since", "field": "updatd_at"}
        })),
        Path::new("."),
    );
    for needle in [
        "{id}: a source has no input row",
        "say where the answer carries the next page",
        "oauth2 auth needs token_url",
        "oauth2 auth needs client_id",
        "field 'a' is declared twice",
        "'updatd_at' is not among the fields",
    ] {
        assert!(e.contains(needle), "missing {needle:?} in:\n{e}");
    }
    let e = plan_errors(&source_flow(json!({"url": "not a url"})), Path::new("."));
    assert!(e.contains("is not a URL"), "{e}");
    // An unset variable is the one problem named: the placeholder text is not judged as a
    // URL as well.
    let e = plan_errors(&source_flow(json!({"url": "${env:SLUICE_TEST_SURELY_UNSET_BASE}/tickets"})), Path::new("."));
    assert!(e.contains("SLUICE_TEST_SURELY_UNSET_BASE is not set"), "{e}");
    assert!(!e.contains("is not a URL"), "{e}");
}

fn url_decode(body: &str) -> HashMap<String, String> {
    body.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

fn decode(s: &str) -> String {
    let s = s.replace('+', " ");
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}
